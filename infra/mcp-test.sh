#!/usr/bin/env bash
# The MCP endpoint from outside: the official Python MCP client
# (tests/mcp_client.py) against the dev server, in the 2025-11-25 handshake
# mode and the 2026-07-28 mode, calling every tool. Tools (infra/mcp-tools.txt,
# every package pinned) are installed once into .cache/mcp-tools.
#
# contract.sh runs it on its dev server (HAL_BASE and HAL_TOKEN set); alone,
# it starts its own (after building it).
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/python-tools.sh
python_tools mcp
tools=.cache/mcp-tools

if [ -z "${HAL_BASE:-}" ]; then
  source infra/devserver.sh
  cargo build --locked --quiet -p hal-devserver --bin hal-dev
  trap dev_server_stop EXIT
  dev_server_start
fi
echo "== mcp: the Python MCP client against $HAL_BASE/mcp" >&2
"$tools/bin/python" tests/mcp_client.py
