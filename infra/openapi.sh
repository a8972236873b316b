#!/usr/bin/env bash
# Writes docs/openapi.json, this API's OpenAPI 3.1 description, from the code
# (lib/src/openapi.rs and the types it names); GET /api/openapi.json serves
# that file. Run it after changing a route, a request or a response type: the
# test suite fails while the committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --locked --quiet -p hal-crm-tests --bin openapi > docs/openapi.json.new
mv docs/openapi.json.new docs/openapi.json
echo "wrote docs/openapi.json" >&2
