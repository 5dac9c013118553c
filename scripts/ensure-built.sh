#!/usr/bin/env bash
# Install npm dependencies and build dist/ when they are missing or older than the sources.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "rootwatch: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/src/main.js ] || [ -n "$(find src package.json tsconfig.json tsconfig.build.json -newer dist/src/main.js -print -quit 2>/dev/null)" ]; then
  echo "rootwatch: building" >&2
  npx tsc -p tsconfig.build.json
fi
# The process-connector addon is optional: when it cannot be built, rootwatch polls /proc instead.
addon=native/build/Release/proc_events.node
if [ ! -f "$addon" ] || [ native/proc_events.c -nt "$addon" ] || [ ! -f native/build/Release/audit_events.node ] || [ native/audit_events.c -nt native/build/Release/audit_events.node ] || [ native/addon_util.h -nt "$addon" ]; then
  echo "rootwatch: building the native process-event addon" >&2
  npm run --silent build:native >/dev/null 2>&1 || echo "rootwatch: native addon not built (needs g++, make, python3); falling back to /proc polling" >&2
fi
