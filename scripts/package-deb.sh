#!/usr/bin/env bash
# `npm run package`: build rootwatch_<version>_<arch>.deb, a package that installs on a Debian 12
# (bookworm) or newer host with no Node.js and no build tools. Prints the .deb's path as its last line.
#
# What it holds:
#   /usr/lib/rootwatch/node                 the Node.js runtime this build machine runs (not on PATH)
#   /usr/lib/rootwatch/app/                 dist/src, config/ (shipped data such as cves.yaml),
#                                           package.json, production node_modules, the prebuilt addon
#   /usr/bin/rootwatch                      a two-line wrapper: exec the bundled node on the app
#   /lib/systemd/system/rootwatch.service   systemd/rootwatch.service with ExecStart=/usr/bin/rootwatch
#   /etc/rootwatch/rootwatch.yaml           conffile: dpkg keeps the operator's edits on upgrade
#   /usr/share/doc/rootwatch/               README, copyright, changelog
# Maintainer scripts (debian/maintscript/ in this repo): enable and start the service on install,
# restart it on upgrade, stop it on remove; purge deletes /etc/rootwatch and /var/lib/rootwatch.
#
# Environment: ROOTWATCH_PKG_OUT=dir (default build/package), ROOTWATCH_PKG_NODE=/path/to/node
# (default: the node running this script), ROOTWATCH_PKG_SKIP_BUILD=1 (use dist/ and the addon as built).
set -euo pipefail
umask 022
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRC"

say() { printf 'rootwatch package: %s\n' "$*" >&2; }
die() { printf 'rootwatch package: error: %s\n' "$*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian's dpkg package)"
command -v strip >/dev/null || die "strip not found (Debian's binutils package)"
NODE=${ROOTWATCH_PKG_NODE:-$(node -p process.execPath)}
[ -x "$NODE" ] || die "$NODE is not an executable node"
OUT=${ROOTWATCH_PKG_OUT:-$SRC/build/package}
VERSION=$(node -p "require('./package.json').version")
ARCH=$(dpkg --print-architecture)
NAME=rootwatch_${VERSION}_${ARCH}

# 1. Build: TypeScript and the addon. `npm run build` fails when the addon cannot be built, and a
#    package without it would quietly poll only.
if [ "${ROOTWATCH_PKG_SKIP_BUILD:-}" != 1 ]; then
  say "npm run build"
  npm run --silent build >&2
fi
[ -f dist/src/main.js ] || die "dist/src/main.js missing: run npm run build"
ADDON=native/build/Release/proc_events.node
[ -f "$ADDON" ] || die "$ADDON missing: the package ships the prebuilt process-connector addon"

# 2. The tree, staged under build/.
mkdir -p "$OUT"
STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/$NAME
LIB=$ROOT/usr/lib/rootwatch
APP=$LIB/app
DOC=$ROOT/usr/share/doc/rootwatch
mkdir -p "$APP/dist" "$APP/native/build/Release" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/etc/rootwatch" "$DOC" "$ROOT/DEBIAN"

say "staging $NAME"
install -m 755 "$NODE" "$LIB/node"
cp -R dist/src "$APP/dist/src"
cp -R config "$APP/config"
install -m 644 package.json package-lock.json "$APP/"
install -m 644 "$ADDON" "$APP/native/build/Release/"
# The audit source's addon (breakout.audit, off by default) is built by the same node-gyp run.
AUDIT_ADDON=native/build/Release/audit_events.node
[ -f "$AUDIT_ADDON" ] || die "$AUDIT_ADDON missing: npm run build:native builds it beside the process-connector addon"
install -m 644 "$AUDIT_ADDON" "$APP/native/build/Release/"
# Exactly the locked production versions, no dev tools, no install scripts run.
say "production dependencies: npm ci --omit=dev --ignore-scripts"
npm ci --prefix "$APP" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
rm -f "$APP/node_modules/.package-lock.json"
# npm packaging leftovers that lintian rightly flags in a .deb; rootwatch runs none of node_modules'
# files directly (node loads them), so none needs an executable bit or a node on PATH.
find "$APP/node_modules" \( -name .npmignore -o -name '.eslintrc*' -o -name .gitattributes -o -name .gitignore \
  -o -name .editorconfig -o -name '.travis.yml' -o -name .jshintrc -o -name '.prettierrc*' \) -delete
find "$APP/node_modules" -type f -exec chmod 644 {} +

# Symbols are for debugging node itself; Debian ships its binaries stripped (and they halve the size).
strip --strip-unneeded "$LIB/node" "$APP/native/build/Release/proc_events.node" "$APP/native/build/Release/audit_events.node"

cat > "$ROOT/usr/bin/rootwatch" <<'EOF'
#!/bin/sh
# rootwatch runs on the Node.js runtime its package ships, whatever node the host has (or not).
# A 1 MiB young generation: see the unit's NODE_OPTIONS.
exec /usr/lib/rootwatch/node --max-semi-space-size=1 /usr/lib/rootwatch/app/dist/src/main.js "$@"
EOF
chmod 755 "$ROOT/usr/bin/rootwatch"

sed -e 's#^ExecStart=/usr/bin/node /opt/rootwatch/dist/src/main.js #ExecStart=/usr/bin/rootwatch #' \
    -e 's#^Documentation=file:/opt/rootwatch/README.md#Documentation=file:/usr/share/doc/rootwatch/README.md#' \
    systemd/rootwatch.service > "$ROOT/lib/systemd/system/rootwatch.service"
grep -qx 'ExecStart=/usr/bin/rootwatch --config /etc/rootwatch/rootwatch.yaml run' "$ROOT/lib/systemd/system/rootwatch.service" ||
  die "could not set ExecStart in the unit (unexpected systemd/rootwatch.service)"
chmod 644 "$ROOT/lib/systemd/system/rootwatch.service"

install -m 640 config/rootwatch.yaml "$ROOT/etc/rootwatch/rootwatch.yaml"
chmod 750 "$ROOT/etc/rootwatch"

install -m 644 README.md "$DOC/README.md"
# A native package (no Debian revision): its changelog is changelog.gz.
gzip -9n -c debian/changelog > "$DOC/changelog.gz"
mkdir -p "$ROOT/usr/share/man/man1"
gzip -9n -c debian/rootwatch.1 > "$ROOT/usr/share/man/man1/rootwatch.1.gz"
install -m 644 debian/copyright "$DOC/copyright"
mkdir -p "$ROOT/usr/share/lintian/overrides"
install -m 644 debian/lintian-overrides "$ROOT/usr/share/lintian/overrides/rootwatch"

# 3. Control data. Depends: the shared libraries the bundled node and the addon link against.
libs=$( { ldd "$LIB/node"; ldd "$APP/native/build/Release/proc_events.node"; ldd "$APP/native/build/Release/audit_events.node"; } | awk '$3 ~ /^\// { print $3 }' | sort -u)
depends=$(for l in $libs; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null || true; done |
  cut -d: -f1 | sort -u | grep -v '^rootwatch$' | paste -sd, | sed 's/,/, /g')
[ -n "$depends" ] || die "could not work out the package's library dependencies (ldd/dpkg -S)"
# deb-systemd-helper (maintainer scripts) comes from init-system-helpers, which every Debian system has.
size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat > "$ROOT/DEBIAN/control" <<EOF
Package: rootwatch
Version: $VERSION
Architecture: $ARCH
Maintainer: rootwatch maintainers <rootwatch@users.noreply.github.com>
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: https://github.com/rootwatch/rootwatch
Description: Docker host breakout and exposure monitor
 rootwatch audits every running container and docker exec for escape-prone
 configuration, detects processes that break out of their container (host
 namespaces, host root, kernel helpers running container files, tampering with
 core_pattern, release_agent, uevent_helper and modprobe), reports the host's
 exposure to known container-escape CVEs, and exports it all as Prometheus
 metrics and JSON logs. It ships its own Node.js runtime.
EOF
echo /etc/rootwatch/rootwatch.yaml > "$ROOT/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 755 "debian/$s" "$ROOT/DEBIAN/$s"; done

# 4. Build. --root-owner-group: every file root:root whoever builds.
deb=$OUT/$NAME.deb
say "dpkg-deb --build"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$deb" >&2
if command -v lintian >/dev/null; then
  say "lintian (findings that remain are explained in debian/lintian-overrides)"
  lintian --fail-on error "$deb" >&2 || die "lintian reports errors"
fi
echo "$deb"
