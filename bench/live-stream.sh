#!/usr/bin/env bash
# Live dashboards: BENCH_VIEWERS (200) Server-Sent-Events viewers of one 8-panel dashboard for
# BENCH_SECONDS (120), refresh BENCH_REFRESH (15s), against the real Prometheus of
# scripts/peers.sh (panels on Prometheus' own live metrics). Reports the backend range queries per
# interval (goal: the number of panel queries, whatever the number of viewers — shared polling),
# the delivery delay after each tick (p50/p99), and Pharos' CPU and RSS.
#
#   bench/live-stream.sh        needs target/release/pharos (cargo build --release -p pharos)
#
# Writes bench/results/live-stream.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

VIEWERS=${BENCH_VIEWERS:-200}
SECONDS_RUN=${BENCH_SECONDS:-120}
REFRESH=${BENCH_REFRESH:-15s}
PROJECT=live
DASHBOARD=overview

require_tools curl python3
pharos_binary >/dev/null
start_peers prometheus
# 200 viewers from one user and one address: raise the per-user and per-address stream limits.
BENCH_CONFIG=$BENCH_TMP/pharos.yaml
cat >"$BENCH_CONFIG" <<EOF
query_layer:
  max_streams_per_user: 1000
  max_streams_per_address: 1000
EOF
export BENCH_CONFIG
start_pharos "$BENCH_TMP/pharos"

api POST "$PHAROS_URL/api/v1/projects" \
  "{\"kind\":\"Project\",\"metadata\":{\"name\":\"$PROJECT\"},\"spec\":{}}" >/dev/null
api POST "$PHAROS_URL/api/v1/projects/$PROJECT/datasources" "{\"kind\": \"Datasource\",
  \"metadata\": {\"name\": \"prom\", \"project\": \"$PROJECT\"},
  \"spec\": {\"default\": true, \"plugin\": {\"kind\": \"PrometheusDatasource\",
  \"spec\": {\"proxy\": {\"kind\": \"HTTPProxy\", \"spec\": {\"url\": \"$PHAROS_TEST_PROMETHEUS_URL\"}}}}}}" >/dev/null
QUERIES=(
  'sum by (job) (rate(prometheus_http_requests_total[1m]))'
  'up'
  'rate(process_cpu_seconds_total[1m])'
  'process_resident_memory_bytes'
  'sum by (job) (scrape_duration_seconds)'
  'rate(prometheus_tsdb_head_samples_appended_total[1m])'
  'prometheus_tsdb_head_series'
  'sum by (handler) (rate(prometheus_http_request_duration_seconds_count[1m]))'
)
DASHBOARD_JSON=$(python3 - "$DASHBOARD" "${QUERIES[@]}" <<'PY'
import json, sys
name, queries = sys.argv[1], sys.argv[2:]
panels = {f"p{i}": {"kind": "Panel", "spec": {"display": {"name": q},
    "plugin": {"kind": "TimeSeriesChart", "spec": {}},
    "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
        "spec": {"query": q}}}}]}} for i, q in enumerate(queries)}
print(json.dumps({"kind": "Dashboard", "metadata": {"name": name},
    "spec": {"duration": "1h", "panels": panels, "layouts": []}}))
PY
)
api POST "$PHAROS_URL/api/v1/projects/$PROJECT/dashboards" "$DASHBOARD_JSON" >/dev/null

say "$VIEWERS viewers for ${SECONDS_RUN}s, refresh $REFRESH"
SUMMARY=$(python3 "$BENCH_DIR/lib/live_bench.py" viewers --pharos "$PHAROS_URL" \
  --prometheus "$PHAROS_TEST_PROMETHEUS_URL" --token "$PHAROS_TOKEN" --project "$PROJECT" \
  --dashboard "$DASHBOARD" --range 1h --refresh "$REFRESH" --pid "$PHAROS_PID" \
  --viewers "$VIEWERS" --panels "${#QUERIES[@]}" --seconds "$SECONDS_RUN")

RESULT=$BENCH_DIR/results/live-stream.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/live-stream.sh"
  machine_info
  echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
  echo "dashboard: ${#QUERIES[@]} panels on Prometheus' live metrics, range 1h, refresh $REFRESH"
  echo "viewers: $VIEWERS SSE connections (one user, one address) for ${SECONDS_RUN}s"
  echo "delay: event arrival minus its tick (ticks after the first round)"
  echo
  echo "$SUMMARY"
} >"$RESULT"
echo "$SUMMARY"
say "wrote $RESULT"
