#!/usr/bin/env bash
# Dashboard-like PromQL range queries over 1 h / 24 h / 7 d: Pharos' embedded engine and store
# against Prometheus 2.42 (scripts/peers.sh) on the same data.
#
# Data: the `query` profile of bench/lib/tsdb_data.py (1,000 request counters, 250 memory
# gauges, 20 latency histograms of 10 buckets: 1,490 series) for 7 days at 15 s, ending at a 2 h
# boundary 2-4 h ago; backfilled into both (promtool / `pharos tsdb import`) and left until
# their compaction settles. The query set and ranges are in bench/lib/tsdb_query.py: `rate` over
# 5m on 1,000 series, `sum by`, an error ratio, `histogram_quantile` over buckets,
# `max_over_time` and `avg_over_time` on 24 h; every query over each range with the same step on
# both servers. Every answer is compared (same series, timestamps, values within 1e-6) before
# anything is timed; each time is the median of BENCH_QUERY_RUNS runs, alternating servers.
#
#   bench/tsdb-query.sh     needs target/release/pharos; ~6 GB in the temp dir while running
#
# Environment (all optional):
#   BENCH_QUERY_RUNS=5       timed runs per query and server (after one warm-up each)
#   BENCH_QUERY_ONLY=a,b     only these queries (names in bench/lib/tsdb_query.py)
#   BENCH_WEEK_DAYS=7        days of data (shorter only to try the script)
#   BENCH_TSDB_CACHE, PHAROS_BIN, BENCH_KEEP_TMP see bench/tsdb-common.sh and bench/lib/common.sh
#
# Writes bench/results/tsdb-query.txt; exits 1 if an answer differed (after writing it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tsdb-common.sh"

RUNS=${BENCH_QUERY_RUNS:-5}
ONLY=${BENCH_QUERY_ONLY:-}

require_tools curl python3 prometheus promtool
pharos_binary >/dev/null
RECORDS=$BENCH_TMP/records.txt

prepare_week

COMMAND=(python3 "$TSDB_QUERY" --target "pharos=$PHAROS_URL@$PHAROS_PID" --target "prometheus=$PROM_URL@$PROM_PID"
  --end "$WEEK_END" --runs "$RUNS")
[[ -z $ONLY ]] || COMMAND+=(--only "$ONLY")
status=0
"${COMMAND[@]}" | tee "$RECORDS" >&2 || status=$?

write_query_report tsdb-query "$status" "$RECORDS" "$(
  echo "data: $WEEK_FILE ($(du -h "$WEEK_FILE" | cut -f1)); profile query, $WEEK_SERIES series," \
    "$WEEK_SAMPLES samples, step ${STEP_S}s, $(date -u -d "@$WEEK_START" +%FT%TZ) to $(date -u -d "@$WEEK_END" +%FT%TZ)"
  echo "loading: promtool $PROM_LOAD_SECONDS s; Pharos ($PHAROS_LOAD_METHOD) $PHAROS_LOAD_SECONDS s"
)"
