#!/usr/bin/env bash
# The full test suite (`npm test`): unit tests, and integration tests against a private dockerd that
# the harness starts itself. Installs what is missing first (npm deps; Docker, busybox and promtool
# with apt when running as root on Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  bash scripts/setup-system.sh
fi
bash scripts/ensure-built.sh
exec npx mocha "$@"
