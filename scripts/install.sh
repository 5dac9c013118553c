#!/usr/bin/env bash
# Install or upgrade rootwatch as a systemd service. Run as root, from a clone or from an unpacked
# `npm pack` tarball (`tar xzf rootwatch-*.tgz && cd package`); running it again upgrades in place.
#
#   $PREFIX (/opt/rootwatch)   dist/src, config/ (shipped data such as cves.yaml: replaced on
#                              upgrade), package.json, package-lock.json, production node_modules,
#                              the unit template and uninstall.sh
#   /etc/rootwatch/rootwatch.yaml   the operator's config: installed only when absent, never
#                              overwritten; a newer default lands next to it as rootwatch.yaml.dist
#   /etc/systemd/system/rootwatch.service   systemd/rootwatch.service, ExecStart pointing at this
#                              machine's node (`command -v node`) and at $PREFIX
#
# Environment:
#   DESTDIR=/some/dir      stage everything under this root (packaging, tests); nothing touches
#                          systemd then, and root is not required
#   PREFIX=/opt/rootwatch  where the program goes
#   ROOTWATCH_NODE=/path   node binary for ExecStart (default: `command -v node`)
#   ROOTWATCH_SKIP_BUILD=1 in a clone, install dist/ as it is instead of running ensure-built.sh
#   ROOTWATCH_SKIP_NPM=1   do not install node_modules (you provide the dependencies yourself)
#
# Dependencies: a fresh `npm ci --omit=dev --ignore-scripts --prefix <new tree>` from the lockfile:
# exactly the locked production versions, no dev tools, no install scripts run as root (the only
# packages with install scripts are ssh2's optional native bindings, which have a JS fallback).
# When the lockfile is unchanged since the installed version, the installed node_modules is reused,
# so re-running or upgrading without dependency changes needs no network. npm never puts
# package-lock.json into a tarball, so from a tarball the production dependencies are resolved from
# package.json's ranges with `npm install --omit=dev` instead (a warning says so).
#
# The new tree is assembled next to $PREFIX and swapped in with two renames once complete, so a
# failed build or npm run leaves the installed version untouched.
set -euo pipefail
umask 022

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/rootwatch}
CONFDIR=/etc/rootwatch
UNITDIR=/etc/systemd/system
UNIT=rootwatch.service

say() { printf 'rootwatch install: %s\n' "$*"; }
die() { printf 'rootwatch install: error: %s\n' "$*" >&2; exit 1; }

# Paths end up in a sed expression and in the unit file: keep them to plain characters.
safe_path() { [[ $1 =~ ^/[A-Za-z0-9._+/-]*[A-Za-z0-9._+-]$ ]]; }

safe_path "$PREFIX" || die "PREFIX must be an absolute path of plain characters, not \"$PREFIX\""
[ -z "$DESTDIR" ] || safe_path "$DESTDIR" || die "DESTDIR must be an absolute path of plain characters, not \"$DESTDIR\""
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  die "run as root (or set DESTDIR to stage the files somewhere else)"
fi

NODE_BIN=${ROOTWATCH_NODE:-$(command -v node || true)}
[ -n "$NODE_BIN" ] || die "node not found in PATH; install Node.js >= 20.19 or set ROOTWATCH_NODE"
safe_path "$NODE_BIN" || die "node path \"$NODE_BIN\" must be absolute (plain characters): systemd does not search PATH"
[ -x "$NODE_BIN" ] || die "$NODE_BIN is not executable"
"$NODE_BIN" -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1);' ||
  die "$NODE_BIN is Node.js $("$NODE_BIN" --version); rootwatch needs >= 20.19"

[ ! "$SRC" -ef "$DESTDIR$PREFIX" ] || die "run install.sh from a clone or an unpacked tarball outside $PREFIX (it replaces $PREFIX)"

# 1. A built dist/: a clone builds (or rebuilds when stale); a tarball ships it built.
if [ -d "$SRC/src" ] && [ -f "$SRC/scripts/ensure-built.sh" ] && [ "${ROOTWATCH_SKIP_BUILD:-}" != 1 ]; then
  say "checking the build in $SRC (scripts/ensure-built.sh)"
  bash "$SRC/scripts/ensure-built.sh"
fi
[ -f "$SRC/dist/src/main.js" ] || die "$SRC/dist/src/main.js missing and no sources to build it from"
for f in package.json config/rootwatch.yaml config/cves.yaml systemd/$UNIT; do
  [ -f "$SRC/$f" ] || die "$SRC/$f missing: incomplete source tree or tarball"
done

target=$DESTDIR$PREFIX
conf=$DESTDIR$CONFDIR
unit_path=$DESTDIR$UNITDIR/$UNIT
first_install=1
[ -e "$unit_path" ] && first_install=0

# 2. The program tree, assembled beside the target.
mkdir -p "$(dirname "$target")"
stage=$(mktemp -d "$(dirname "$target")/.rootwatch-install.XXXXXX")
old=""
cleanup() { rm -rf "$stage"; [ -z "$old" ] || rm -rf "$old"; }
trap cleanup EXIT
chmod 755 "$stage"

say "assembling $target"
mkdir -p "$stage/dist" "$stage/scripts" "$stage/systemd"
cp -R "$SRC/dist/src" "$stage/dist/src"
cp -R "$SRC/config" "$stage/config"
cp "$SRC/package.json" "$stage/"
[ ! -f "$SRC/package-lock.json" ] || cp "$SRC/package-lock.json" "$stage/"
[ ! -f "$SRC/README.md" ] || cp "$SRC/README.md" "$stage/"
cp "$SRC/systemd/$UNIT" "$stage/systemd/"
cp "$SRC/scripts/uninstall.sh" "$stage/scripts/"
# The optional process-connector addon: without it rootwatch polls /proc (and says so at start).
if [ -f "$SRC/native/build/Release/proc_events.node" ]; then
  mkdir -p "$stage/native/build/Release"
  cp "$SRC/native/build/Release/proc_events.node" "$stage/native/build/Release/"
  # The optional audit source (breakout.audit), built beside it.
  if [ -f "$SRC/native/build/Release/audit_events.node" ]; then cp "$SRC/native/build/Release/audit_events.node" "$stage/native/build/Release/"; fi
else
  say "no native process-event addon built: rootwatch will poll /proc only (build it with npm run build:native)"
fi

if [ "${ROOTWATCH_SKIP_NPM:-}" = 1 ]; then
  say "ROOTWATCH_SKIP_NPM=1: not installing node_modules (provide the production dependencies yourself)"
elif [ -f "$stage/package-lock.json" ] && [ -f "$target/node_modules/.package-lock.json" ] &&
     cmp -s "$stage/package-lock.json" "$target/package-lock.json"; then
  say "dependencies unchanged: reusing $target/node_modules"
  cp -R "$target/node_modules" "$stage/node_modules"
elif [ -f "$stage/package-lock.json" ]; then
  say "installing production dependencies: npm ci --omit=dev --ignore-scripts"
  npm ci --prefix "$stage" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
else
  say "warning: no package-lock.json (npm never packs it): resolving dependencies from package.json ranges"
  npm install --prefix "$stage" --omit=dev --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error
fi

if [ -e "$target" ]; then
  [ -f "$target/package.json" ] && grep -q '"name": *"rootwatch"' "$target/package.json" ||
    die "$target exists and is not a rootwatch install; refusing to replace it"
  old=$(mktemp -d "$(dirname "$target")/.rootwatch-old.XXXXXX")
  mv "$target" "$old/tree"
fi
mv "$stage" "$target" || { [ -z "$old" ] || mv "$old/tree" "$target"; die "could not move the new tree into $target"; }
say "installed $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$target/package.json" | head -1) into $target"

# 3. The operator's config: never overwritten.
mkdir -p "$conf"
chmod 750 "$conf"
if [ ! -e "$conf/rootwatch.yaml" ]; then
  install -m 640 "$SRC/config/rootwatch.yaml" "$conf/rootwatch.yaml"
  say "installed the default config as $CONFDIR/rootwatch.yaml"
elif cmp -s "$SRC/config/rootwatch.yaml" "$conf/rootwatch.yaml"; then
  rm -f "$conf/rootwatch.yaml.dist"
  say "kept $CONFDIR/rootwatch.yaml (same as the shipped default)"
else
  install -m 640 "$SRC/config/rootwatch.yaml" "$conf/rootwatch.yaml.dist"
  say "kept your $CONFDIR/rootwatch.yaml; the shipped default is $CONFDIR/rootwatch.yaml.dist (diff them)"
fi

# 4. The unit, pointing at this node and this prefix.
mkdir -p "$(dirname "$unit_path")"
unit_new=$(mktemp "$(dirname "$unit_path")/.$UNIT.XXXXXX")
sed -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" -e "s#/opt/rootwatch#$PREFIX#g" \
  "$SRC/systemd/$UNIT" > "$unit_new"
grep -qx "ExecStart=$NODE_BIN $PREFIX/dist/src/main.js --config $CONFDIR/rootwatch.yaml run" "$unit_new" ||
  { rm -f "$unit_new"; die "could not set ExecStart in the unit (unexpected systemd/$UNIT)"; }
chmod 644 "$unit_new"
mv "$unit_new" "$unit_path"
say "installed $UNITDIR/$UNIT (ExecStart=$NODE_BIN $PREFIX/dist/src/main.js ...)"

# 5. systemd: only for a real install on a machine that runs it.
if [ -n "$DESTDIR" ]; then
  say "DESTDIR set: not touching systemd"
elif [ ! -d /run/systemd/system ]; then
  say "systemd is not running here: unit installed but not started"
else
  say "systemctl daemon-reload"
  systemctl daemon-reload
  if [ "$first_install" = 1 ]; then
    say "systemctl enable --now $UNIT"
    systemctl enable --now "$UNIT"
  else
    # Not try-reload-or-restart: reload (SIGHUP) only re-reads the config; new code needs a restart.
    # A stopped or disabled service is left as the operator left it.
    say "systemctl try-restart $UNIT (upgrade: restarts it if it is running)"
    systemctl try-restart "$UNIT"
  fi
  systemctl --no-pager --lines=0 status "$UNIT" || true
fi
say "done"
