#!/usr/bin/env bash
# Benchmarks that print figures (never timed tests). Starts an in-memory
# DynamoDB Local like test.sh, then runs the widget cost benchmark: DynamoDB
# calls, sequential calls, capacity units and price per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/dynamodb-local.sh

ddb_start "$(ddb_free_port)" -inMemory
trap ddb_stop EXIT
cargo run --locked --quiet -p hal-crm-tests --bin widget-costs
