#!/usr/bin/env bash
# The API contract, checked from outside: docs/openapi.json validates as
# OpenAPI 3.1 (openapi-spec-validator), and Schemathesis generates requests
# from it for every operation against the dev server on a fresh in-memory
# DynamoDB Local, checking that no answer is a 5xx, every status, content type
# and body is one the document declares, and input the document rules out is
# refused. A fixed seed and bounded examples per operation (infra/schemathesis.toml).
# Then the MCP endpoint through the official Python MCP client (infra/mcp-test.sh).
#
# Tools (infra/contract-tools.txt, every package pinned) are installed once
# into .cache/contract-tools. test.sh runs this as its `contract` pass, with
# the dev server already built; extra arguments go to `schemathesis run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/devserver.sh

source infra/python-tools.sh
python_tools contract
tools=.cache/contract-tools

"$tools/bin/openapi-spec-validator" docs/openapi.json

cargo build --locked --quiet -p hal-devserver --bin hal-dev
trap dev_server_stop EXIT
dev_server_start

# docs/api-tour.md, every block in order in one shell, on the fresh demo
# project: an example that fails fails the suite.
echo "== docs/api-tour.md" >&2
tour=$(mktemp)
awk '/^```sh$/ { on = 1; n++; printf "echo \"-- example %d\" >&2\n", n; next }
     /^```$/ { on = 0; next }
     on' docs/api-tour.md > "$tour"
grep -q 'example 10' "$tour" || { echo "docs/api-tour.md: examples missing" >&2; exit 1; }
(set -euo pipefail; source "$tour") > "$tour.out" || { cat "$tour.out" >&2; exit 1; }

# Widget and v1 requests act in a project of their own, which another user
# owns: the account operations (as the demo user) cannot switch on identity
# verification or rotate the secret under them.
widget_owner=$("$tools/bin/python" - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
now = int(time.time())
claims = {"sub": "contract-widget-owner", "iss": "hal-local", "aud": "hal-api", "iat": now, "exp": now + 3600}
signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
secret = os.environ.get("HAL_DEV_JWT_SECRET", "hal-dev-secret").encode()
print(signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest()))
PY
)
json_field() { "$tools/bin/python" -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
HAL_WIDGET_PROJECT=$(curl -fsS -X POST "$HAL_BASE/api/projects" -H "Authorization: Bearer $widget_owner" \
  -H 'Content-Type: application/json' -d '{"name": "Contract widget"}' | json_field id)
HAL_API_KEY=$(curl -fsS -X POST "$HAL_BASE/api/api-keys" -H "Authorization: Bearer $widget_owner" \
  -H "X-Project-Id: $HAL_WIDGET_PROJECT" -H 'Content-Type: application/json' \
  -d '{"name": "contract", "scopes": ["contacts:read", "contacts:write", "conversations:read", "conversations:write"]}' \
  | json_field key)
export HAL_WIDGET_PROJECT HAL_API_KEY
echo "== contract pass: schemathesis against the dev server at $HAL_BASE" >&2

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection
st() {
  "$tools/bin/schemathesis" --config-file infra/schemathesis.toml run docs/openapi.json \
    --checks "$checks" "$@"
}

# Every operation, every phase.
st "$@"

# Stateful runs through each family of links on its own: in one run
# Schemathesis starts scenarios only from the operations it judges reliable
# (here creating a project or a v1 contact), never reaching the others'.
chains=(
  "create-contact get-contact update-contact list-contact-events list-contact-companies link-company delete-contact"
  "create-company get-company update-company list-company-events list-company-contacts delete-company"
  "create-stage update-stage delete-stage create-api-key delete-api-key"
  "put-member delete-member"
  "widget-identify get-contact get-visitor"
  "widget-post-message v1-get-conversation v1-reply v1-update-conversation"
)
for chain in "${chains[@]}"; do
  include=()
  for id in $chain; do include+=(--include-operation-id "$id"); done
  echo "== stateful: $chain" >&2
  st --phases stateful "${include[@]}" "$@"
done

# The MCP endpoint (not in the OpenAPI document: it describes itself) through
# the official Python MCP client, on this dev server.
infra/mcp-test.sh
