#!/usr/bin/env bash
# Benchmarks that print figures (never timed tests), against an in-memory
# DynamoDB Local like test.sh:
#   infra/bench.sh [costs]    DynamoDB calls, sequential calls, capacity and price per widget operation
#   infra/bench.sh cold-start a route binary vs a hello-world lambda_http binary (release builds):
#                             init, first response, peak RSS, size; then every route binary's size
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/dynamodb-local.sh

what=${1:-costs}
route=${ROUTE_BINARY:-widget-identify}
if [ "$what" = cold-start ]; then
  cargo build --release --locked -p hal-crm-functions -p hal-crm-tests --bin hello-lambda --bins
fi

ddb_start "$(ddb_free_port)" -inMemory
trap ddb_stop EXIT
case "$what" in
  costs) cargo run --locked --quiet -p hal-crm-tests --bin widget-costs ;;
  cold-start)
    cargo run --locked --quiet -p hal-crm-tests --bin cold-start -- target/release/hello-lambda "target/release/$route"
    echo
    echo "Route binaries, stripped (release profile):"
    for bin in $(sed -n 's/^name = "\(.*\)"$/\1/p' functions/Cargo.toml | tail -n +2); do
      printf '%s %s\n' "$(stat -c %s "target/release/$bin")" "$bin"
    done | sort -n | awk '{ printf "  %-28s %6.2f MB\n", $2, $1 / 1000000 }' | tail -n 5
    ;;
  *) echo "usage: $0 [costs|cold-start]" >&2; exit 2 ;;
esac
