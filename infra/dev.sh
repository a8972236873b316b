#!/usr/bin/env bash
# Local development: DynamoDB Local (data kept in .data/dynamodb) and the dev
# server, which mounts every route's handler behind an API Gateway emulation,
# creates the table, seeds a demo project and prints a dev token and curls.
#
# `infra/dev.sh --binaries`: the same API, each request answered by its
# route's own binary (built first) under a local Lambda Runtime API, with the
# environment and timeout template.yaml gives its function: what
# `sam local start-api` runs, without Docker.
#
# Environment: HAL_LISTEN (127.0.0.1:3000), TABLE_NAME (hal-crm),
# HAL_DEV_JWT_SECRET (hal-dev-secret), DYNAMODB_PORT (8000; a free one if busy).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/dynamodb-local.sh

mkdir -p .data/dynamodb
port=${DYNAMODB_PORT:-8000}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  port=$(ddb_free_port)
fi
ddb_start "$port" -dbPath "$PWD/.data/dynamodb"
trap ddb_stop EXIT
echo "DynamoDB Local at $DYNAMODB_ENDPOINT (data in .data/dynamodb)" >&2

if [ "${1:-}" = --binaries ]; then
  # Every route binary, in one cargo invocation, before the first request.
  cargo build --locked --quiet -p hal-crm-functions -p hal-devserver
  target/debug/hal-dev --binaries
  exit
fi
cargo run --locked --quiet -p hal-devserver --bin hal-dev
