#!/usr/bin/env bash
# Run the unit tests and the integration tests that load the most of rootwatch (CLI, daemon, the
# native addon) on the other supported Node.js LTS lines, 22 and 24, fetched from the npm registry's
# `node` package into a temporary prefix. The suite's own run (npm test) covers the machine's node.
# Used by CI; `bash scripts/test-node-lines.sh 24` runs one line.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=("$@")
[ ${#lines[@]} -gt 0 ] || lines=(22 24)
for v in "${lines[@]}"; do
  prefix=$(mktemp -d)
  trap 'rm -rf "$prefix"' EXIT
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "node@$v" >/dev/null
  bin="$prefix/node_modules/node/bin"
  echo "== Node.js $("$bin/node" --version)"
  PATH="$bin:$PATH" npx mocha --no-config -n import=tsx --extension ts --recursive --timeout 120000 \
    --require test/harness/rootHooks.ts test/unit test/integration/cli.test.ts test/integration/daemon.test.ts test/integration/procConnector.test.ts
  rm -rf "$prefix"
  trap - EXIT
done
