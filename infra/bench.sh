#!/usr/bin/env bash
# Benchmarks that print figures (never timed tests), against an in-memory
# DynamoDB Local like test.sh:
#   infra/bench.sh [costs]    DynamoDB calls, sequential calls, capacity and price per widget operation
#   infra/bench.sh cold-start a route binary (ROUTE_BINARY, default widget-identify) and the
#                             DynamoDB floor (client set-up + one GetItem, no domain code) against
#                             a hello-world lambda_http binary, per release profile in PROFILES
#                             (default "release"): init, first response, peak RSS, size
#   infra/bench.sh sizes      every route binary's stripped size (builds them all: slow)
#   infra/bench.sh scale      every listing, filter, search and the pipeline summary over a
#                             project of 100 000 contacts and 20 000 companies (SCALE_CONTACTS,
#                             SCALE_COMPANIES): items evaluated per item returned, read units,
#                             calls in sequence, time per page (loading takes minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/dynamodb-local.sh

what=${1:-costs}
route=${ROUTE_BINARY:-widget-identify}
profiles=${PROFILES:-release}

case "$what" in
  costs | cold-start | scale) ;;
  sizes)
    cargo build --release --locked -p hal-crm-functions
    for bin in $(sed -n 's/^name = "\(.*\)"$/\1/p' functions/Cargo.toml | tail -n +2); do
      printf '%s %s\n' "$(stat -c %s "target/release/$bin")" "$bin"
    done | sort -n | awk '{ printf "%-28s %6.2f MB\n", $2, $1 / 1000000 }'
    exit 0 ;;
  *) echo "usage: $0 [costs|cold-start|sizes|scale]" >&2; exit 2 ;;
esac

groups=()
if [ "$what" = cold-start ]; then
  for profile in $profiles; do
    # Apart, so that the route gets none of the test crate's features
    # (hal-crm's `openapi`), as cargo-lambda builds it.
    cargo build --profile "$profile" --locked -p hal-crm-functions --bin "$route"
    cargo build --profile "$profile" --locked -p hal-crm-tests --bin dynamodb-floor
    # On its own, so that the baseline gets none of the routes' features.
    cargo build --profile "$profile" --locked -p hello-lambda
    [ ${#groups[@]} -eq 0 ] || groups+=(---)
    groups+=("target/$profile/hello-lambda" "target/$profile/dynamodb-floor" "target/$profile/$route")
  done
fi

ddb_start "$(ddb_free_port)" -inMemory
trap ddb_stop EXIT
case "$what" in
  costs) cargo run --locked --quiet -p hal-crm-tests --bin widget-costs ;;
  cold-start) cargo run --locked --quiet -p hal-crm-tests --bin cold-start -- "${groups[@]}" ;;
  # Release: loading 120 000 records through the domain is the slow part.
  scale) cargo run --release --locked --quiet -p hal-crm-tests --bin scale ;;
esac
