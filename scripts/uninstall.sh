#!/usr/bin/env bash
# Remove rootwatch installed by scripts/install.sh: stops and disables the service (when systemd
# runs), removes the unit and $PREFIX (/opt/rootwatch). /etc/rootwatch (the operator's config) and
# drop-ins in /etc/systemd/system/rootwatch.service.d and /var/lib/rootwatch (the state directory:
# evidence bundles of breakout responses) are kept unless --purge is given.
# Same DESTDIR and PREFIX environment as install.sh; safe to run again. Also installed as
# $PREFIX/scripts/uninstall.sh.
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/rootwatch}
CONFDIR=/etc/rootwatch
STATEDIR=/var/lib/rootwatch
UNITDIR=/etc/systemd/system
UNIT=rootwatch.service

say() { printf 'rootwatch uninstall: %s\n' "$*"; }
die() { printf 'rootwatch uninstall: error: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: [DESTDIR=dir] [PREFIX=/opt/rootwatch] $0 [--purge]" >&2; exit 2; }

purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    -h|--help) usage ;;
    *) echo "rootwatch uninstall: unknown argument \"$arg\"" >&2; usage ;;
  esac
done

safe_path() { [[ $1 =~ ^/[A-Za-z0-9._+/-]*[A-Za-z0-9._+-]$ ]]; }
safe_path "$PREFIX" || die "PREFIX must be an absolute path of plain characters, not \"$PREFIX\""
[ -z "$DESTDIR" ] || safe_path "$DESTDIR" || die "DESTDIR must be an absolute path of plain characters, not \"$DESTDIR\""
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  die "run as root (or set DESTDIR)"
fi

target=$DESTDIR$PREFIX
conf=$DESTDIR$CONFDIR
state=$DESTDIR$STATEDIR
unit_path=$DESTDIR$UNITDIR/$UNIT
systemd_live=0
[ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && systemd_live=1

# Refuse to rm -rf a directory that is not ours (a mistyped PREFIX).
if [ -e "$target" ] && ! { [ -f "$target/package.json" ] && grep -q '"name": *"rootwatch"' "$target/package.json"; }; then
  die "$target is not a rootwatch install (no rootwatch package.json); not removing it"
fi
if [ -e "$target/.git" ] || [ -d "$target/src" ]; then
  die "$target looks like a source checkout, not an installed tree; not removing it"
fi

if [ "$systemd_live" = 1 ] && [ -e "$unit_path" ]; then
  say "systemctl disable --now $UNIT"
  systemctl disable --now "$UNIT" || say "warning: could not stop/disable $UNIT (continuing)"
fi

if [ -e "$unit_path" ]; then
  rm -f "$unit_path"
  say "removed $UNITDIR/$UNIT"
else
  say "$UNITDIR/$UNIT already absent"
fi
if [ -d "$unit_path.d" ]; then
  if [ "$purge" = 1 ]; then
    rm -rf "$unit_path.d"
    say "removed drop-ins $UNITDIR/$UNIT.d"
  else
    say "kept drop-ins $UNITDIR/$UNIT.d (--purge removes them)"
  fi
fi
if [ "$systemd_live" = 1 ]; then
  say "systemctl daemon-reload"
  systemctl daemon-reload
  systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
fi

if [ -e "$target" ]; then
  rm -rf "$target"
  say "removed $PREFIX"
else
  say "$PREFIX already absent"
fi

if [ "$purge" = 1 ]; then
  if [ -e "$conf" ]; then
    rm -rf "$conf"
    say "removed $CONFDIR (--purge)"
  else
    say "$CONFDIR already absent"
  fi
elif [ -e "$conf" ]; then
  say "kept $CONFDIR (your config; --purge removes it)"
fi
if [ "$purge" = 1 ] && [ -e "$state" ]; then
  rm -rf "$state"
  say "removed $STATEDIR (--purge)"
elif [ -e "$state" ]; then
  say "kept $STATEDIR (evidence of breakout responses; --purge removes it)"
fi
say "done"
