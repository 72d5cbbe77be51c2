#!/usr/bin/env bash
# Dashboard load through Pharos vs straight to Prometheus: the 8 panel queries of a dashboard on
# the peers' tenant data (6 h ending 2026-01-01), loaded at once (one client thread per panel)
# BENCH_LOADS (20) times, cold (a new window each load: no cache can answer) and warm (the same
# window again: the query layer's cache). Goals (issue 10): warm ≥ 5× faster than direct; cold
# ≤ 1.1× the direct time.
#
# The demo dashboard's data lives in the embedded store, which Prometheus does not have; these
# panels stand in for it with the same shape (8 range queries, 5 h window, step 60).
#
#   bench/dashboard-load.sh     needs target/release/pharos (cargo build --release -p pharos)
#
# Writes bench/results/dashboard-load.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

LOADS=${BENCH_LOADS:-20}
require_tools curl python3
pharos_binary >/dev/null
start_peers prometheus
start_pharos "$BENCH_TMP/pharos"
api POST "$PHAROS_URL/api/v1/projects" '{"kind":"Project","metadata":{"name":"load"},"spec":{}}' >/dev/null
api POST "$PHAROS_URL/api/v1/projects/load/datasources" "{\"kind\": \"Datasource\",
  \"metadata\": {\"name\": \"prom\", \"project\": \"load\"},
  \"spec\": {\"default\": true, \"plugin\": {\"kind\": \"PrometheusDatasource\",
  \"spec\": {\"proxy\": {\"kind\": \"HTTPProxy\", \"spec\": {\"url\": \"$PHAROS_TEST_PROMETHEUS_URL\"}}}}}}" >/dev/null
QUERIES='[
  "sum by (namespace) (rate(pharos_test_requests_total[5m]))",
  "sum by (pod) (rate(pharos_test_requests_total[5m]))",
  "max by (namespace) (pharos_test_queue_depth)",
  "avg_over_time(pharos_test_queue_depth[10m])",
  "sum(increase(pharos_test_requests_total[1h]))",
  "quantile_over_time(0.95, pharos_test_queue_depth[15m])",
  "deriv(pharos_test_queue_depth[10m])",
  "topk(3, rate(pharos_test_requests_total[1m]))"
]'
SUMMARY=$(python3 "$BENCH_DIR/lib/live_bench.py" dashboard-load --prometheus "$PHAROS_TEST_PROMETHEUS_URL" \
  --proxied "$PHAROS_URL/proxy/projects/load/datasources/prom/api/v1/query_range" --token "$PHAROS_TOKEN" \
  --queries "$QUERIES" --end "$PHAROS_TEST_TENANT_DATA_END" --loads "$LOADS")

RESULT=$BENCH_DIR/results/dashboard-load.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/dashboard-load.sh"
  machine_info
  echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
  echo "loads: $LOADS per mode and target; 8 queries at once, POST form, 5 h window, step 60"
  echo
  echo "$SUMMARY"
} >"$RESULT"
echo "$SUMMARY"
say "wrote $RESULT"
