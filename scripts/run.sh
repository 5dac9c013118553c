#!/usr/bin/env bash
# Quick start: install and build what is missing, then run the daemon in the foreground against the
# local Docker engine ($DOCKER_HOST or /var/run/docker.sock). Extra arguments go to `rootwatch run`.
# If no engine is reachable, rootwatch keeps running, says so, and retries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-built.sh
config=()
[ -f /etc/rootwatch/rootwatch.yaml ] || [ -n "${ROOTWATCH_CONFIG:-}" ] || config=(--config config/rootwatch.yaml)
# A 1 MiB young generation, as every launcher (see systemd/rootwatch.service).
exec node --max-semi-space-size=1 dist/src/main.js "${config[@]}" run "$@"
