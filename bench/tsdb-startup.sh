#!/usr/bin/env bash
# Startup: time to ready with 7 days of data, and WAL replay after kill -9, for Pharos' embedded
# store and Prometheus 2.42 (scripts/peers.sh) holding the same data.
#
# 1. Both hold the 7-day `query` data set of bench/tsdb-query.sh in blocks (backfilled, compaction
#    settled). Each is stopped cleanly (SIGTERM) and started again BENCH_STARTUP_RUNS times,
#    alternating which goes first. Two times from the launch: `health` (Prometheus `/-/ready`,
#    Pharos `/ready` answer 200) and `data` (count(bench_requests_total) at the data's end answers
#    1000, polled every 10 ms).
# 2. WAL: the 10k series of the `footprint` profile, BENCH_WAL_STEPS samples each, 7 s apart
#    (inside the last hour, which is all a Prometheus head accepts) by remote-write into both.
#    Then each is killed with SIGKILL and started again, BENCH_STARTUP_RUNS times: `health`, and
#    `data` once count(bench_requests_total) at the last written timestamp answers 2000; after
#    every restart every written sample must be there (counted with count_over_time).
#
#   bench/tsdb-startup.sh     needs target/release/pharos; ~6 GB in the temp dir while running
#
# Environment (all optional):
#   BENCH_STARTUP_RUNS=3     restarts of each kind per server; the report uses the medians
#   BENCH_WAL_STEPS=480      samples per series in the WAL (480 x 10k = 4.8M, like 2 h of 15 s
#                            scrapes, which is what a head holds before it is cut into a block)
#   BENCH_WEEK_DAYS=7        days of block data (shorter only to try the script)
#   BENCH_TSDB_CACHE, PHAROS_BIN, BENCH_KEEP_TMP see bench/tsdb-common.sh and bench/lib/common.sh
#
# Writes bench/results/tsdb-startup.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tsdb-common.sh"

RUNS=${BENCH_STARTUP_RUNS:-3}
WAL_STEPS=${BENCH_WAL_STEPS:-480}
WAL_STEP_S=7
((WAL_STEPS * WAL_STEP_S <= 3400)) || die "BENCH_WAL_STEPS x 7 s must stay under 3400 s (the head's one-hour window)"

require_tools curl python3 prometheus promtool
pharos_binary >/dev/null
RECORDS=$BENCH_TMP/records.txt
: >"$RECORDS"

prepare_week

# restart NAME KIND SIGNAL QUERY_TIME EXPECTED: stops NAME with SIGNAL, starts it again and
# records the times to health and to the expected answer of count(bench_requests_total).
restart() {
  local name=$1 kind=$2 signal=$3 at=$4 expected=$5 t0 times health pid url
  if [[ $name == prometheus ]]; then
    stop_prometheus "$signal"
    t0=$(now_ns)
    launch_prometheus
    pid=$PROM_PID url=$PROM_URL health=$PROM_URL/-/ready
  else
    kill_pharos "$signal"
    t0=$(now_ns)
    relaunch_pharos
    pid=$PHAROS_PID url=$PHAROS_URL health=$PHAROS_URL/ready
  fi
  times=$(measure wait-ready --t0-ns "$t0" --health "$health" --url "$url" --query 'count(bench_requests_total)' \
    --time "$at" --expect "$expected" --timeout 900 --pid "$pid") || die "$name did not come back after SIG$signal"
  echo "STARTUP kind=$kind target=$name $times rss_bytes_after=$(measure proc "$pid" | sed -E 's/rss_bytes=([0-9]+).*/\1/')" |
    tee -a "$RECORDS" >&2
}

# 1. Clean restarts with a week in blocks.
for ((run = 1; run <= RUNS; run++)); do
  order=(prometheus pharos)
  ((run % 2)) || order=(pharos prometheus)
  for name in "${order[@]}"; do restart "$name" clean TERM "$WEEK_END" 1000; done
done

# 2. A head's worth of samples in the WAL, then kill -9.
WAL_START=$(($(date +%s) - WAL_STEPS * WAL_STEP_S - 60))
WAL_LAST=$((WAL_START + (WAL_STEPS - 1) * WAL_STEP_S))
WAL_SERIES=$(python3 "$TSDB_DATA" describe --profile footprint)
WAL_SAMPLES=$((WAL_SERIES * WAL_STEPS))
# The window covers the written samples only: the week's data ends at least 2 h earlier.
WAL_QUERY=$(python3 "$TSDB_DATA" count-query --profile footprint --window $((WAL_STEPS * WAL_STEP_S + 30)))
for name in prometheus pharos; do
  url=$PROM_URL
  [[ $name == pharos ]] && url=$PHAROS_URL
  line=$(python3 "$TSDB_REMOTE_WRITE" replay --url "$url" --profile footprint --start "$WAL_START" \
    --steps "$WAL_STEPS" --step "$WAL_STEP_S") || die "remote-write into $name failed: $line"
  echo "WAL target=$name $line" | tee -a "$RECORDS" >&2
done
read -r PROM_WAL PROM_HEAD_CHUNKS PHAROS_WAL < <(measure dirsize "$PROM_DATA/wal" "$PROM_DATA/chunks_head" "$PHAROS_DIR/tsdb/wal")
echo "WALSIZE prometheus_wal=$PROM_WAL prometheus_chunks_head=$PROM_HEAD_CHUNKS pharos_wal=$PHAROS_WAL" | tee -a "$RECORDS" >&2

for ((run = 1; run <= RUNS; run++)); do
  order=(prometheus pharos)
  ((run % 2)) || order=(pharos prometheus)
  for name in "${order[@]}"; do
    # 2,000 request counters (4 per pod) carry samples at WAL_LAST.
    restart "$name" kill-9 KILL "$WAL_LAST" 2000
    url=$PROM_URL
    [[ $name == pharos ]] && url=$PHAROS_URL
    stored=$(measure scalar "$url" "$WAL_QUERY" "$WAL_LAST")
    ((stored == WAL_SAMPLES)) || die "$name holds $stored of the $WAL_SAMPLES samples written before kill -9"
    echo "CHECK kind=kill-9 run=$run target=$name samples=$stored of $WAL_SAMPLES" | tee -a "$RECORDS" >&2
  done
done

SUMMARY=$(measure summarize-startup "$RECORDS")
RESULT=$BENCH_DIR/results/tsdb-startup.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/tsdb-startup.sh"
  tsdb_machine_info
  echo "data: $WEEK_FILE ($(du -h "$WEEK_FILE" | cut -f1)); profile query, $WEEK_SERIES series," \
    "$WEEK_SAMPLES samples, step ${STEP_S}s, $(date -u -d "@$WEEK_START" +%FT%TZ) to $(date -u -d "@$WEEK_END" +%FT%TZ)"
  echo "loading: promtool $PROM_LOAD_SECONDS s; Pharos ($PHAROS_LOAD_METHOD) $PHAROS_LOAD_SECONDS s"
  echo "prometheus blocks: $PROM_BLOCKS"
  echo "pharos blocks:     $PHAROS_BLOCKS"
  echo "WAL: $WAL_SERIES series x $WAL_STEPS samples ($WAL_SAMPLES), $WAL_STEP_S s apart, $WAL_START..$WAL_LAST"
  echo
  echo "$SUMMARY"
  echo
  echo "## records"
  cat "$RECORDS"
} >"$RESULT"
echo "$SUMMARY"
say "wrote $RESULT"
