#!/usr/bin/env bash
# The browser SDK (widget/): its unit tests (node's test runner), then its
# end-to-end tests in headless Chromium against the dev server on a fresh
# in-memory DynamoDB Local, from a page on another origin
# (widget/e2e/browser.test.mjs). The demo page's screenshot is left in
# target/widget-e2e/.
#
# Installs what is missing: Debian's chromium (apt, as root) and the pinned
# playwright-core (widget/package-lock.json) into .cache/widget-node; no
# browser is downloaded. test.sh runs this as its `widget` pass.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/devserver.sh

echo "== widget: unit tests" >&2
node --test widget/test/

chromium=${HAL_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "installing Debian's chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

node_cache=.cache/widget-node
if ! cmp -s widget/package-lock.json "$node_cache/package-lock.json" 2>/dev/null; then
  echo "installing playwright-core into $node_cache" >&2
  rm -rf "$node_cache"
  mkdir -p "$node_cache"
  cp widget/package.json widget/package-lock.json "$node_cache/"
  (cd "$node_cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

cargo build --locked --quiet -p hal-devserver --bin hal-dev
trap dev_server_stop EXIT
dev_server_start
echo "== widget: Chromium against the dev server at $HAL_BASE" >&2
HAL_DDB_PID=$DDB_PID HAL_CHROMIUM=$chromium HAL_PLAYWRIGHT="$PWD/$node_cache/node_modules/playwright-core" \
  HAL_ARTEFACTS="$PWD/target/widget-e2e" node --test widget/e2e/
