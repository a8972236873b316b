#!/usr/bin/env bash
# The whole test suite, built once and run in four passes against real
# DynamoDB Local (in memory, on free loopback ports, stopped on exit):
#
#   control     unit tests and integration tests straight against DynamoDB Local
#               (among them the flows through every route's own binary, the
#               dev server's binaries mode)
#   production  the integration tests again, through the production-semantics
#               harness (infra/dynamodb-harness): eventually consistent and
#               index reads trail writes by HAL_LAG_MS, overlapping
#               transactions are cancelled, and throttling, 500s, stalls and
#               lost answers are injected at fixed rates under a fixed seed
#   contract    the API from outside (infra/contract.sh): docs/openapi.json
#               validated, docs/api-tour.md's examples run, Schemathesis
#               against the dev server, fixed seed and bounded examples; the
#               MCP endpoint through the official Python MCP client
#   widget      the browser SDK (infra/widget-test.sh): node unit tests, then
#               headless Chromium against the dev server from another origin
#
# Each test creates its own table, so tests run in parallel without sharing
# data. Extra arguments go to `cargo test` (e.g. `infra/test.sh -p
# hal-crm-tests --test store`) and then only the first two passes run;
# HAL_TEST_PASSES picks the passes.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/dynamodb-local.sh

# With cargo test arguments (one test binary, a filter), the cargo passes only.
if [ $# -gt 0 ]; then default_passes="control production"; else default_passes="control production contract widget"; fi
passes=${HAL_TEST_PASSES:-$default_passes}
# The production pass's fault model (docs/decisions.md, "Testing against
# production semantics"). Rates are per request; a request is faulted once at most.
harness_args=(
  --seed "${HAL_HARNESS_SEED:-20261129}"
  --lag-ms "${HAL_LAG_MS:-300}"
  --conflicts on --hold-ms "${HAL_HOLD_MS:-15}"
  --throttle 0.02 --error 0.02 --lost 0.02 --stall 0.02 --stall-ms 150
)
# Tests wait on DynamoDB, not on the CPU: run more of them than there are cores.
threads=${HAL_TEST_THREADS:-8}

# The route binaries too, in this one invocation: the binaries mode's tests
# (tests/binaries.rs) run the flows through them.
cargo build --locked -p hal-dynamodb-harness -p hal-devserver -p hal-crm-functions
cargo test --workspace --locked --no-run "$@"

HARNESS_PID=
cleanup() {
  [ -n "${HARNESS_PID:-}" ] && kill "$HARNESS_PID" 2>/dev/null || true
  ddb_stop
}
trap cleanup EXIT

ddb_start "$(ddb_free_port)" -inMemory
primary=$DYNAMODB_ENDPOINT

for pass in $passes; do
  case $pass in
    control)
      echo "== control pass: DynamoDB Local at $primary" >&2
      DYNAMODB_ENDPOINT=$primary HAL_TEST_PASS=control \
        cargo test --workspace --locked "$@" -- --test-threads "$threads"
      ;;
    production)
      ddb_start "$(ddb_free_port)" -inMemory
      replica=$DYNAMODB_ENDPOINT
      coproc HARNESS { exec target/debug/dynamodb-harness --listen 127.0.0.1:0 \
        --primary "$primary" --replica "$replica" "${harness_args[@]}"; }
      address=
      read -r address <&"${HARNESS[0]}" || true
      [ -n "$address" ] || { echo "the harness did not start" >&2; exit 1; }
      echo "== production pass: harness at $address (primary $primary, replica $replica)" >&2
      DYNAMODB_ENDPOINT="http://$address" HAL_TEST_PASS=production \
        cargo test -p hal-crm-tests --locked "$@" -- --test-threads "$threads"
      echo "harness: $(curl -s "http://$address/harness/stats")" >&2
      ;;
    contract)
      # These two start their own DynamoDB Local and dev server; cargo test
      # arguments do not apply to them.
      infra/contract.sh
      ;;
    widget)
      infra/widget-test.sh
      ;;
    *) echo "unknown pass $pass (control, production, contract, widget)" >&2; exit 2 ;;
  esac
done
