#!/usr/bin/env bash
# Writes the API's descriptions from the code: docs/openapi.json, its OpenAPI
# 3.1 description (lib/src/openapi.rs and the types it names), which
# GET /api/openapi.json serves, and docs/mcp-tools.json, the MCP tool list
# (lib/src/mcp/tools.rs and shapes.rs), which POST /mcp serves. Run it after
# changing a route, a tool, a request or a response type: the test suite
# fails while a committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet -p hal-crm-tests --bin openapi
bin=target/debug/openapi
"$bin" > docs/openapi.json.new
mv docs/openapi.json.new docs/openapi.json
"$bin" mcp-tools > docs/mcp-tools.json.new
mv docs/mcp-tools.json.new docs/mcp-tools.json
echo "wrote docs/openapi.json and docs/mcp-tools.json" >&2
