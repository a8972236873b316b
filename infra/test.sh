#!/usr/bin/env bash
# The whole test suite: unit tests, and integration tests against a real
# DynamoDB Local (in memory, on a free loopback port, stopped on exit). Each
# test creates its own table, so tests run in parallel without sharing data.
# Extra arguments go to `cargo test` (e.g. `infra/test.sh -p hal-crm-tests store`).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/dynamodb-local.sh

ddb_start "$(ddb_free_port)" -inMemory
trap ddb_stop EXIT
echo "DynamoDB Local at $DYNAMODB_ENDPOINT" >&2

# Tests wait on DynamoDB, not on the CPU: run more of them than there are cores.
cargo test --workspace --locked "$@" -- --test-threads "${HAL_TEST_THREADS:-8}"
