#!/usr/bin/env bash
# Benchmark of the customer list, on loopback only, bounded in time.
#
# Starts cmd/vendorsim (the four simulators and an OIDC issuer, in their
# own process) at each dataset size, then the gateway in production mode
# against it, and drives it with scripts/benchdriver:
#
#   list              GET /v1/customers?page_size=50 (snapshot reads; on a
#                     build without snapshots, its default 5 s read cache)
#   fresh             the same with Cache-Control: no-cache and the read
#                     cache off (GATEWAY_CACHE_TTL=0): a fan-out per request
#   *, gdap hanging   the same while GDAP never answers (HANG_SIZES only)
#   direct gdap       GDAP's simulator called directly: the floor
#
# each at every concurrency in CONCURRENCY, for DURATION. Prints req/s,
# p50/p99 latency (ms), errors (non-200/304 answers and transport errors)
# and the gateway's peak RSS during the row (VmHWM, MiB). With BASE set to
# a commit, that build runs too, on the same simulators, and the ratios
# (this build / BASE) are printed.
#
#   scripts/bench.sh
#   BASE=9129fef BASE_SIZES="50 500 2000" DURATION=5s scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"50 500 2000 5000"}
CONCURRENCY=${CONCURRENCY:-"50 200"}
DURATION=${DURATION:-5s}
HANG_SIZES=${HANG_SIZES:-"500"}
LATENCY=${LATENCY:-0ms}
BASE=${BASE:-}
BASE_SIZES=${BASE_SIZES:-$SIZES} # sizes the BASE build runs at (an old build may need GiBs at 5,000)
PORT=${PORT:-18480}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

here="this($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+dirty'))"
go build -o "$work/vendorsim" ./cmd/vendorsim
go build -o "$work/driver" ./scripts/benchdriver
go build -o "$work/gw-this" ./cmd/gateway
builds=(this)
if [ -n "$BASE" ]; then
  mkdir "$work/base"
  git archive "$BASE" | tar -x -C "$work/base"
  (cd "$work/base" && go build -o "$work/gw-base" ./cmd/gateway)
  builds=(base this)
fi

wait_for() { # url, seconds
  for _ in $(seq $(( $2 * 20 ))); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2
  return 1
}

start_vendorsim() { # size
  : > "$work/env"
  "$work/vendorsim" -customers "$1" -latency "$LATENCY" > "$work/env" 2> "$work/vendorsim.log" &
  vs_pid=$!
  pids+=("$vs_pid")
  for _ in $(seq 200); do grep -q '^# token' "$work/env" && break; sleep 0.05; done
  # shellcheck disable=SC1091
  . "$work/env"
  TOKEN=$(curl -fs -u dev-reader:dev-reader-secret -d grant_type=client_credentials "$GATEWAY_OIDC_ISSUER/token" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
}

start_gateway() { # build, extra VAR=value...
  local build=$1
  shift
  env GATEWAY_ADDR="127.0.0.1:$PORT" GATEWAY_DATABASE_URL="sqlite:$work/gw-$RANDOM.db" GATEWAY_RATE_LIMIT=0 "$@" \
    "$work/gw-$build" > /dev/null 2> "$work/gateway.log" &
  gw_pid=$!
  pids+=("$gw_pid")
  wait_for "http://127.0.0.1:$PORT/readyz" 20
  # The first list read waits for the first snapshot (or fills the cache).
  curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/customers?page_size=1"
}

stop_gateway() {
  kill "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
}

fault() { # vendor base URL, json or "" to clear
  local root=${1%%/api/*}
  root=${root%/}
  if [ -n "$2" ]; then
    curl -fs -o /dev/null -X PUT -d "$2" "$root/_sim/faults"
  else
    curl -fs -o /dev/null -X DELETE "$root/_sim/faults"
  fi
}

row() { # build size scenario c [driver args]
  local build=$1 size=$2 scenario=$3 c=$4
  shift 4
  "$work/driver" -c "$c" -d "$DURATION" -label "$build	$size	$scenario	$c" "$@" | tee -a "$work/results"
}

list_url="http://127.0.0.1:$PORT/v1/customers?page_size=50"
: > "$work/results"
echo "GET /v1/customers?page_size=50, $DURATION per row, vendor latency $LATENCY, $(nproc) cores; this = $here${BASE:+, base = $BASE}"
printf 'build\tper vendor\tscenario\tC\treq/s\tp50 ms\tp99 ms\terrors\tpeak RSS MiB\tstatuses\n'
for size in $SIZES; do
  start_vendorsim "$size"
  hang=false
  case " $HANG_SIZES " in *" $size "*) hang=true ;; esac
  for c in $CONCURRENCY; do
    row sim "$size" "direct gdap" "$c" -url "${GATEWAY_GDAP_BASE_URL}Customers?providerId=$GATEWAY_GDAP_PARTNER_ID" -token "$GATEWAY_GDAP_TOKEN"
  done
  for build in "${builds[@]}"; do
    if [ "$build" = base ]; then
      case " $BASE_SIZES " in *" $size "*) ;; *) continue ;; esac
    fi
    start_gateway "$build"
    for c in $CONCURRENCY; do row "$build" "$size" list "$c" -url "$list_url" -token "$TOKEN" -pid "$gw_pid"; done
    if $hang; then
      fault "$GATEWAY_GDAP_BASE_URL" '{"hang":true}'
      for c in $CONCURRENCY; do row "$build" "$size" "list, gdap hanging" "$c" -url "$list_url" -token "$TOKEN" -pid "$gw_pid"; done
      fault "$GATEWAY_GDAP_BASE_URL" ""
    fi
    stop_gateway

    start_gateway "$build" GATEWAY_CACHE_TTL=0
    for c in $CONCURRENCY; do
      row "$build" "$size" fresh "$c" -url "$list_url" -token "$TOKEN" -pid "$gw_pid" -H "Cache-Control: no-cache"
    done
    if $hang; then
      fault "$GATEWAY_GDAP_BASE_URL" '{"hang":true}'
      for c in $CONCURRENCY; do
        row "$build" "$size" "fresh, gdap hanging" "$c" -url "$list_url" -token "$TOKEN" -pid "$gw_pid" -H "Cache-Control: no-cache"
      done
      fault "$GATEWAY_GDAP_BASE_URL" ""
    fi
    stop_gateway
  done
  kill "$vs_pid" 2>/dev/null || true
  wait "$vs_pid" 2>/dev/null || true
done

if [ -n "$BASE" ]; then
  echo
  echo "this / base ($BASE):"
  printf 'per vendor\tscenario\tC\treq/s ratio\tp99 ratio (base/this)\n'
  awk -F'\t' '$1=="base"{k=$2 FS $3 FS $4; r[k]=$5; p[k]=$7}
    $1=="this"{k=$2 FS $3 FS $4; if (k in r && r[k]>0 && $7>0) printf "%s\t%.1fx\t%.1fx\n", k, $5/r[k], p[k]/$7}' "$work/results"
fi
echo
echo "size independence (this build, list req/s at the largest size / at the smallest):"
awk -F'\t' -v sizes="$SIZES" 'BEGIN{n=split(sizes,s," "); lo=s[1]; hi=s[n]}
  $1=="this" && $3=="list"{r[$2 FS $4]=$5}
  END{for (k in r) {split(k,a,FS); if (a[1]==hi && (lo FS a[2]) in r) printf "C=%s\t%.0f / %.0f = %.2fx\n", a[2], r[k], r[lo FS a[2]], r[k]/r[lo FS a[2]]}}' "$work/results"
