#!/usr/bin/env bash
# The fleet, against real peers, in one run:
#   1. fan-out: federated POST /api/v1/metrics/query over 10 clusters — 9 healthy on the Prometheus
#      of scripts/peers.sh, one behind a proxy that holds every answer BENCH_SLOW_DELAY (2) s — for
#      all 10, all 10 with "timeout": "1s", the 9 healthy, and straight to Prometheus; then 4 more
#      clusters on the delay proxy and the 5 slow ones asked at once (2 s, or 10 s if summed);
#      every answer's `clusters` section is checked (the bench fails on a wrong one);
#   2. BENCH_WS_SUBSCRIBERS (1000) WebSocket subscribers of topic `alerts` on /ws, then
#      BENCH_WS_EVENTS (300) webhooks at BENCH_WS_RATE (20)/s: delivery delay, loss, Pharos RSS
#      (when /ws cannot subscribe, that is a failure, and the subscribers use the SSE stream);
#   3. webhooks at BENCH_WEBHOOK_RATE (1200)/s for BENCH_WEBHOOK_SECONDS (15) s, each a new firing
#      alert: every answer 2xx and every alert in the book (fleet.alerts.max_alerts raised).
#
#   bench/fleet.sh        needs target/release/pharos (cargo build --release -p pharos)
#
# Writes bench/results/fleet.txt (also when a check failed; the exit status is then 1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SLOW_DELAY=${BENCH_SLOW_DELAY:-2}
FANOUT_RUNS=${BENCH_FANOUT_RUNS:-50}
FANOUT_CONCURRENCY=${BENCH_FANOUT_CONCURRENCY:-10}
WS_SUBSCRIBERS=${BENCH_WS_SUBSCRIBERS:-1000}
WS_EVENTS=${BENCH_WS_EVENTS:-300}
WS_RATE=${BENCH_WS_RATE:-20}
WEBHOOK_RATE=${BENCH_WEBHOOK_RATE:-1200}
WEBHOOK_SECONDS=${BENCH_WEBHOOK_SECONDS:-15}
WEBHOOK_CONNECTIONS=${BENCH_WEBHOOK_CONNECTIONS:-16}
# Afterwards, this many more clusters on the delay proxy: all the slow ones asked at once.
EXTRA_SLOW=${BENCH_EXTRA_SLOW:-4}
# Alerts kept in memory: the flood plus the WebSocket events must fit (default bound 10,000).
MAX_ALERTS=${BENCH_MAX_ALERTS:-100000}
FLEET_BENCH=$BENCH_DIR/lib/fleet_bench.py

require_tools curl python3
pharos_binary >/dev/null

# 1,000 sockets for the subscribers plus Pharos' own: raise the open-files limit for this shell
# (Pharos and the clients inherit it) as far as the hard limit allows.
NOFILE_NOTE=
if ! ulimit -n 65536 2>/dev/null; then
  hard=$(ulimit -Hn)
  ulimit -n "$hard" 2>/dev/null || true
  NOFILE_NOTE=" (65536 refused: hard limit $hard)"
fi
NOFILE=$(ulimit -n)
[[ $NOFILE == unlimited ]] || ((NOFILE >= WS_SUBSCRIBERS + 1024)) ||
  die "ulimit -n is $NOFILE, too low for $WS_SUBSCRIBERS WebSocket subscribers"
say "open files limit: $NOFILE$NOFILE_NOTE"

start_peers prometheus

# The slow cluster: a delaying reverse proxy in front of the same Prometheus. Stopped on exit with
# the Pharos processes (stop_pid of common.sh's cleanup).
SLOW_PORT=$(free_port)
python3 "$FLEET_BENCH" delay-proxy --port "$SLOW_PORT" --upstream "$PHAROS_TEST_PROMETHEUS_URL" \
  --delay "$SLOW_DELAY" >"$BENCH_TMP/delay-proxy.log" 2>&1 </dev/null &
PHAROS_PIDS+=("$!")
SLOW_URL=http://127.0.0.1:$SLOW_PORT
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null --max-time 5 "$SLOW_URL/-/ready" 2>/dev/null; do
  ((SECONDS < deadline)) || die "the delay proxy did not answer; log: $BENCH_TMP/delay-proxy.log"
  sleep 0.2
done

BENCH_CONFIG=$BENCH_TMP/pharos.yaml
cat >"$BENCH_CONFIG" <<EOF
fleet:
  alerts:
    max_alerts: $MAX_ALERTS
EOF
export BENCH_CONFIG
# No simulator: its demo clusters would join every fan-out, and its load would skew the numbers.
export PHAROS_NO_DEMO=true
start_pharos "$BENCH_TMP/pharos"

# relogin: a fresh access token (they live 15 minutes; the run may take longer).
relogin() {
  PHAROS_TOKEN=$(curl -fsS -X POST -H 'content-type: application/json' \
    --data "{\"login\":\"admin\",\"password\":\"$BENCH_ADMIN_PASSWORD\"}" \
    "$PHAROS_URL/api/auth/providers/native/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') ||
    die "cannot log in to Pharos at $PHAROS_URL"
}

# register NAME TYPE URL: POST /api/v1/clusters must answer 201.
register() {
  local status
  status=$(curl -sS -o "$BENCH_TMP/register-answer" -w '%{http_code}' -X POST \
    -H "authorization: Bearer $PHAROS_TOKEN" -H 'content-type: application/json' \
    --data "{\"name\":\"$1\",\"type\":\"$2\",\"prometheus_url\":\"$3\",\"labels\":{\"bench\":\"fleet\"}}" \
    "$PHAROS_URL/api/v1/clusters")
  [[ $status == 201 ]] || die "registering $1 answered $status: $(head -c 400 "$BENCH_TMP/register-answer")"
}

HEALTHY=(hub-1 hub-2 hub-3 spoke-1 spoke-2 spoke-3 spoke-4 spoke-5 spoke-6)
SLOW=spoke-slow
for name in "${HEALTHY[@]}"; do
  register "$name" "${name%%-*}" "$PHAROS_TEST_PROMETHEUS_URL"
done
register "$SLOW" spoke "$SLOW_URL"
# Wait for the first health check of every cluster (none may be skipped as unreachable).
deadline=$((SECONDS + 60))
until [[ $(api GET "$PHAROS_URL/api/v1/fleet/summary" |
  python3 -c 'import json, sys; s = json.load(sys.stdin)["clusters"]["by_status"]; print(s["healthy"] + s["degraded"])') == 10 ]]; do
  ((SECONDS < deadline)) || die "the 10 clusters were not all checked within 60 s: $(api GET "$PHAROS_URL/api/v1/clusters")"
  sleep 1
done
say "10 clusters registered and checked; slow one at $SLOW_URL (${SLOW_DELAY}s)"

FAILED=()

say "1/3 fan-out: $FANOUT_RUNS sequential queries per scenario, then $FANOUT_CONCURRENCY concurrent clients"
if ! FANOUT=$(python3 "$FLEET_BENCH" fanout --pharos "$PHAROS_URL" --prometheus "$PHAROS_TEST_PROMETHEUS_URL" \
  --token "$PHAROS_TOKEN" --healthy "$(
    IFS=,
    echo "${HEALTHY[*]}"
  )" --slow "$SLOW" --slow-url "$SLOW_URL" --extra-slow "$EXTRA_SLOW" \
  --delay "$SLOW_DELAY" --runs "$FANOUT_RUNS" --concurrency "$FANOUT_CONCURRENCY" 2>&1); then
  FAILED+=("fan-out")
fi
echo "$FANOUT"

relogin
# /ws first: one client must get its `subscribed` answer. When it cannot, the 1,000 subscribers
# still measure the event bus, on the Server-Sent-Events stream of the same events.
WS_TRANSPORT=ws
if ! WS_PROBE=$(python3 "$FLEET_BENCH" ws-probe --pharos "$PHAROS_URL" --token "$PHAROS_TOKEN" 2>&1); then
  FAILED+=("/ws does not work (${WS_PROBE#RAW ws-probe })")
  WS_TRANSPORT=sse
fi
echo "$WS_PROBE"
say "2/3 subscribers ($WS_TRANSPORT): $WS_SUBSCRIBERS subscribers, $WS_EVENTS events at $WS_RATE/s"
if ! WS=$(python3 "$FLEET_BENCH" ws --transport "$WS_TRANSPORT" --pharos "$PHAROS_URL" \
  --token "$PHAROS_TOKEN" --pid "$PHAROS_PID" --subscribers "$WS_SUBSCRIBERS" --events "$WS_EVENTS" \
  --rate "$WS_RATE" 2>&1); then
  FAILED+=("subscribers ($WS_TRANSPORT)")
fi
echo "$WS"

relogin
say "3/3 webhooks: $WEBHOOK_RATE/s for ${WEBHOOK_SECONDS}s"
if ! WEBHOOKS=$(python3 "$FLEET_BENCH" webhooks --pharos "$PHAROS_URL" --token "$PHAROS_TOKEN" \
  --pid "$PHAROS_PID" --rate "$WEBHOOK_RATE" --seconds "$WEBHOOK_SECONDS" \
  --connections "$WEBHOOK_CONNECTIONS" 2>&1); then
  FAILED+=("webhooks")
fi
echo "$WEBHOOKS"

RESULT=$BENCH_DIR/results/fleet.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/fleet.sh"
  machine_info
  echo "uptime at end: $(uptime)"
  echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
  echo "open files limit: $NOFILE$NOFILE_NOTE; fleet.alerts.max_alerts raised to $MAX_ALERTS for the run"
  echo "clusters: ${HEALTHY[*]} -> $PHAROS_TEST_PROMETHEUS_URL; $SLOW -> $SLOW_URL (+${SLOW_DELAY}s)"
  echo
  echo "## 1. fan-out"
  echo "$FANOUT"
  echo
  echo "## 2. WebSocket subscribers"
  echo "$WS_PROBE"
  echo "$WS"
  echo
  echo "## 3. webhooks"
  echo "$WEBHOOKS"
  echo
  if ((${#FAILED[@]})); then
    printf 'FAILED: %s\n' "${FAILED[@]}"
  else
    echo "every check passed"
  fi
} >"$RESULT"
say "wrote $RESULT"
if ((${#FAILED[@]})); then
  printf 'bench: FAILED: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
