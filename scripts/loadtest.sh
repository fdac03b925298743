#!/usr/bin/env bash
# Load test of GET /v1/customers against the gateway in -dev mode, on
# loopback only, bounded in count and time. Every simulator gets a realistic
# latency (LATENCY_MS, default 50); three scenarios run on a fresh gateway
# each: all vendors healthy, GDAP hanging, Crayon's breaker open.
#
# Prints requests/s, p50/p99 latency, status codes and the gateway
# process's peak resident memory (VmHWM; the dev simulators share the
# process, so it is an upper bound for the gateway alone).
#
# The read cache is off (GATEWAY_CACHE_TTL=0) so every request fans out to
# the vendors; a last scenario repeats the healthy one with the default
# 5 s cache to show the cached path.
#
#   scripts/loadtest.sh            # N=2000 requests, C=50 concurrent
#   N=5000 C=100 scripts/loadtest.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
C=${C:-50}
LATENCY_MS=${LATENCY_MS:-50}
PORT=${PORT:-18080}
HEY=${HEY:-$(command -v hey || echo "$(go env GOPATH)/bin/hey")}
if [ ! -x "$HEY" ]; then
  go install github.com/rakyll/hey@v0.1.5
  HEY="$(go env GOPATH)/bin/hey"
fi

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/gateway" ./cmd/gateway

fault() { # fault <simulator url> <json>
  curl -fsS -X PUT -H 'Content-Type: application/json' -d "$2" "$1/_sim/faults" >/dev/null
}

scenario() { # scenario <name> <setup function> [cache ttl]
  local name=$1 setup=$2 ttl=${3:-0}
  GATEWAY_ADDR=127.0.0.1:$PORT GATEWAY_CACHE_TTL=$ttl GATEWAY_DATABASE_URL="sqlite:$work/gateway.db" \
    "$work/gateway" -dev >"$work/out" 2>"$work/log" &
  local pid=$!
  for _ in $(seq 100); do grep -q "curl -s -H" "$work/out" 2>/dev/null && break; sleep 0.1; done
  local token sims
  token=$(grep -o "Bearer [^']*" "$work/out" | head -1 | cut -d' ' -f2)
  declare -gA SIM
  for v in gdap bokamera crayon dbsync; do
    SIM[$v]=$(awk -v v="$v" '$1 == v {print $2}' "$work/out")
    fault "${SIM[$v]}" "{\"latency_ms\": $LATENCY_MS}"
  done
  $setup "$token"
  "$HEY" -n "$N" -c "$C" -t 20 -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$PORT/v1/customers?page_size=50" >"$work/hey"
  local rps p50 p99 codes hwm
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/hey")
  p50=$(awk '/ 50%% in/ {print $3}' "$work/hey")
  p99=$(awk '/ 99%% in/ {print $3}' "$work/hey")
  codes=$(awk '/^ *\[[0-9]+\]/ {printf "%s%s ", $1, $2}' "$work/hey")
  hwm=$(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$pid/status")
  printf '%-22s %9s req/s   p50 %6ss   p99 %6ss   peak RSS %8s   %s\n' "$name" "$rps" "$p50" "$p99" "$hwm" "$codes"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

healthy() { :; }
gdap_hanging() { fault "${SIM[gdap]}" '{"hang": true}'; }
crayon_breaker_open() {
  fault "${SIM[crayon]}" '{"status": 503}'
  # Trip the breaker (default: 10 requests, 50 % failures), then measure.
  for _ in $(seq 12); do
    curl -s -o /dev/null -H "Authorization: Bearer $1" "http://127.0.0.1:$PORT/v1/customers"
  done
}

echo "GET /v1/customers, $N requests, $C concurrent, vendor latency ${LATENCY_MS} ms ($(nproc) cores)"
scenario "all vendors healthy" healthy
scenario "gdap hanging" gdap_hanging
scenario "crayon breaker open" crayon_breaker_open
scenario "healthy, 5 s read cache" healthy 5s
