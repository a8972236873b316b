#!/usr/bin/env bash
# Deployment checks, printing each result: cfn-lint and `sam validate --lint`
# on template.yaml; with --build also `sam build` of every function (cargo-lambda
# with zig, cross-compiling to arm64; slow: a release build per function).
# Tools come from infra/deploy-tools.txt, installed once into .cache/.
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/python-tools.sh
python_tools deploy
tools=.cache/deploy-tools
export PATH="$PWD/$tools/bin:$PATH" SAM_CLI_TELEMETRY=0

status=0
check() {
  local name=$1; shift
  if "$@"; then echo "$name: ok"; else echo "$name: FAILED"; status=1; fi
}
check "cfn-lint template.yaml" cfn-lint template.yaml
check "sam validate --lint" sam validate --lint --region us-east-1

if [ "${1:-}" = "--build" ]; then
  if ! rustc --print target-libdir --target aarch64-unknown-linux-gnu >/dev/null 2>&1 \
     || [ ! -d "$(rustc --print target-libdir --target aarch64-unknown-linux-gnu)" ]; then
    rustup target add aarch64-unknown-linux-gnu
  fi
  check "sam build (every function, arm64)" sam build --parallel
fi
exit $status
