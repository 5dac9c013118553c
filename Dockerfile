# rootwatch as a container image: Debian 12 slim plus the rootwatch Debian package (its own Node.js
# runtime, the prebuilt process-connector addon). Build the package first, then the image:
#
#   npm run package && docker build -t rootwatch:0.1.0 .
#
# How to run it (host /proc, cgroups and the Docker socket's directory, host PID and network
# namespaces, three capabilities) is in the README, "Running rootwatch in a container".
FROM debian:bookworm-slim

# The package's maintainer scripts start nothing here (no systemd runs in a build).
COPY build/package/rootwatch_*.deb /tmp/
RUN dpkg --install /tmp/rootwatch_*.deb \
 && rm -f /tmp/rootwatch_*.deb \
 && rm -rf /etc/systemd/system/multi-user.target.wants /var/lib/systemd/deb-systemd-helper-enabled
COPY config/container/rootwatch.yaml /etc/rootwatch/rootwatch.yaml

ENV DOCKER_HOST=unix:///var/run/docker-host/docker.sock
EXPOSE 9796
# Metrics answer once the first reconciliation is done; /healthz answers as soon as rootwatch runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["/usr/lib/rootwatch/node", "-e", "fetch('http://127.0.0.1:9796/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/rootwatch"]
CMD ["--config", "/etc/rootwatch/rootwatch.yaml", "run"]
