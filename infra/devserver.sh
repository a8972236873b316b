#!/usr/bin/env bash
# Sourced by contract.sh and widget-test.sh: the dev server (built by the
# caller) on a free port over a fresh in-memory DynamoDB Local, for tests
# from outside. dev_server_start exports HAL_BASE, HAL_TOKEN, HAL_PROJECT
# and HAL_API_KEY (the seeded demo project, as dev.sh prints them) and sets
# SERVER_PID and DDB_PID; dev_server_stop stops both.
source "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"

SERVER_PID=
dev_server_start() {
  local out
  ddb_start "$(ddb_free_port)" -inMemory || return 1
  out=$(mktemp)
  HAL_LISTEN=127.0.0.1:0 TABLE_NAME=hal-crm RUST_LOG=${RUST_LOG:-warn} \
    "$DDB_ROOT/target/debug/hal-dev" >"$out" 2>"$out.log" &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    grep -q '^  export HAL_API_KEY=' "$out" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$out.log" >&2; return 1; }
    sleep 0.2
  done
  eval "$(grep '^  export HAL_' "$out")"
  HAL_BASE=$(sed -n 's/^HAL CRM dev server on \(http[^ ]*\).*/\1/p' "$out")
  [ -n "$HAL_BASE" ] || { cat "$out" "$out.log" >&2; return 1; }
  export HAL_TOKEN HAL_PROJECT HAL_API_KEY HAL_BASE
}

dev_server_stop() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  ddb_stop
}
