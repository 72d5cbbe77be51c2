#!/usr/bin/env bash
# Disk and memory footprint: one day of 15 s data for 10k series in Pharos' embedded store and in
# Prometheus 2.42 (scripts/peers.sh), the same data in both.
#
# 1. Disk: the `footprint` profile of bench/lib/tsdb_data.py (10,000 series, realistic values)
#    for the day ending at a 2 h boundary 2-4 h ago, as OpenMetrics; backfilled with
#    `promtool tsdb create-blocks-from openmetrics` (24 h blocks, as scripts/peers.sh does) into
#    the stopped Prometheus and with `pharos tsdb import` into a stopped Pharos (remote-write in
#    time order when the binary has no import). Both are started and left until their background
#    compaction settles; then bytes per sample on disk = bytes of the blocks holding the day /
#    samples in them (from every block's meta.json), and the RSS of each server.
# 2. Head: the same 10k series for the last 50 minutes (200 samples each) by remote-write into
#    both; RSS before and after, and the WAL (plus Prometheus' memory-mapped head chunks) on disk.
#
#   bench/tsdb-footprint.sh     needs target/release/pharos; ~6 GB in the temp dir while running
#
# Environment (all optional):
#   BENCH_FOOTPRINT_HEAD_STEPS=200   samples per series written into the heads
#   BENCH_FOOTPRINT_HOURS=24         length of the backfilled data (shorter only to try the script)
#   BENCH_TSDB_CACHE, PHAROS_BIN, BENCH_KEEP_TMP see bench/tsdb-common.sh and bench/lib/common.sh
#
# Writes bench/results/tsdb-footprint.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tsdb-common.sh"

HEAD_STEPS=${BENCH_FOOTPRINT_HEAD_STEPS:-200}
HOURS=${BENCH_FOOTPRINT_HOURS:-24}
PROFILE=footprint
DAY_STEPS=$((HOURS * 3600 / STEP_S))
END=$(tsdb_data_end)
# [START, END): END is a block boundary for both stores, so the whole day lands in blocks.
START=$((END - DAY_STEPS * STEP_S))

require_tools curl python3 prometheus promtool
pharos_binary >/dev/null
PHAROS_DIR=$BENCH_TMP/pharos
SERIES=$(python3 "$TSDB_DATA" describe --profile "$PROFILE")
EXPECTED_SAMPLES=$((SERIES * DAY_STEPS))
FILE=$(generate_data "$PROFILE" "$START" "$DAY_STEPS")

start_prometheus_peer
load_prometheus "$FILE"
load_pharos "$FILE" "$PHAROS_DIR" "$PROFILE" "$START" "$DAY_STEPS"
start_pharos_tsdb "$PHAROS_DIR"
settle_compaction "$PROM_DATA" "$PHAROS_DIR/tsdb"

# The same data in both: every sample in the blocks, same series, same sums.
declare -A BLOCKS
BLOCKS[prometheus]=$(check_blocks Prometheus "$PROM_DATA" "$START" "$END" "$EXPECTED_SAMPLES")
BLOCKS[pharos]=$(check_blocks Pharos "$PHAROS_DIR/tsdb" "$START" "$END" "$EXPECTED_SAMPLES")
say "Prometheus blocks: ${BLOCKS[prometheus]}"
say "Pharos blocks:     ${BLOCKS[pharos]}"
for query in 'count({__name__=~"bench_.+"})' 'sum(bench_requests_total)' 'sum(bench_cpu_seconds_total)'; do
  prom_value=$(measure scalar "$PROM_URL" "$query" "$END")
  pharos_value=$(measure scalar "$PHAROS_URL" "$query" "$END")
  python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > 1e-9 * max(1, abs(a)))" \
    "$prom_value" "$pharos_value" || die "$query at $END: Prometheus $prom_value, Pharos $pharos_value"
  say "$query = $prom_value on both"
done

field() { sed -E "s/.*( |^)$2=([^ ]+).*/\2/" <<<"$1"; }
PROM_IDLE=$(measure proc "$PROM_PID")
PHAROS_IDLE=$(measure proc "$PHAROS_PID")

# Head: the last 50 minutes, written by remote-write (what a head holds is ingested data).
HEAD_START=$(($(date +%s) - HEAD_STEPS * STEP_S - 60))
HEAD_SAMPLES=$((SERIES * HEAD_STEPS))
declare -A HEAD_LOAD
for target in prometheus pharos; do
  url=$PROM_URL
  [[ $target == pharos ]] && url=$PHAROS_URL
  HEAD_LOAD[$target]=$(python3 "$TSDB_REMOTE_WRITE" replay --url "$url" --profile "$PROFILE" --start "$HEAD_START" \
    --steps "$HEAD_STEPS" --step "$STEP_S") || die "remote-write into $target failed: ${HEAD_LOAD[$target]}"
  say "$target: ${HEAD_LOAD[$target]}"
done
sleep 15 # let both settle after the burst (allocator, Go GC) before reading RSS
HEAD_QUERY=$(python3 "$TSDB_DATA" count-query --profile "$PROFILE" --window $((HEAD_STEPS * STEP_S + 30)))
HEAD_END=$((HEAD_START + (HEAD_STEPS - 1) * STEP_S))
for url in "$PROM_URL" "$PHAROS_URL"; do
  stored=$(measure scalar "$url" "$HEAD_QUERY" "$HEAD_END")
  ((stored == HEAD_SAMPLES)) || die "$url holds $stored of the $HEAD_SAMPLES head samples"
done
PROM_HEAD=$(measure proc "$PROM_PID")
PHAROS_HEAD=$(measure proc "$PHAROS_PID")
read -r PROM_WAL PROM_HEAD_CHUNKS PHAROS_WAL < <(measure dirsize "$PROM_DATA/wal" "$PROM_DATA/chunks_head" "$PHAROS_DIR/tsdb/wal")

mib() { python3 -c "print(f'{$1 / 1048576:.1f}')"; }
per() { python3 -c "print(f'{$1 / $2:.3f}')"; }
row() { measure row "$@"; }
prom_rss_idle=$(field "$PROM_IDLE" rss_bytes)
pharos_rss_idle=$(field "$PHAROS_IDLE" rss_bytes)
prom_rss_head=$(field "$PROM_HEAD" rss_bytes)
pharos_rss_head=$(field "$PHAROS_HEAD" rss_bytes)
SUMMARY=$(
  echo "$HOURS h of 15 s data, $SERIES series ($EXPECTED_SAMPLES samples), $(date -u -d "@$START" +%FT%TZ) to $(date -u -d "@$END" +%FT%TZ):"
  echo
  echo "| | Prometheus | Pharos | Pharos / Prometheus |"
  echo "|---|---|---|---|"
  row "blocks holding the day" "$(field "${BLOCKS[prometheus]}" blocks)" "$(field "${BLOCKS[pharos]}" blocks)" info
  row "bytes on disk (those blocks)" "$(field "${BLOCKS[prometheus]}" bytes)" "$(field "${BLOCKS[pharos]}" bytes)" lower
  row "**bytes per sample on disk** (goal ≤ Prometheus)" "$(field "${BLOCKS[prometheus]}" bytes_per_sample)" \
    "$(field "${BLOCKS[pharos]}" bytes_per_sample)" lower
  row "backfill seconds (promtool / $PHAROS_LOAD_METHOD)" "$PROM_LOAD_SECONDS" "$PHAROS_LOAD_SECONDS" lower
  row "RSS MiB, idle with the day in blocks" "$(mib "$prom_rss_idle")" "$(mib "$pharos_rss_idle")" lower
  echo
  echo "Head: the same $SERIES series for the last $((HEAD_STEPS * STEP_S / 60)) minutes ($HEAD_SAMPLES samples) by remote-write:"
  echo
  echo "| | Prometheus | Pharos | Pharos / Prometheus |"
  echo "|---|---|---|---|"
  row "RSS MiB after" "$(mib "$prom_rss_head")" "$(mib "$pharos_rss_head")" lower
  row "RSS growth MiB" "$(mib $((prom_rss_head - prom_rss_idle)))" "$(mib $((pharos_rss_head - pharos_rss_idle)))" lower
  row "RSS growth bytes per head sample" "$(per $((prom_rss_head - prom_rss_idle)) "$HEAD_SAMPLES")" \
    "$(per $((pharos_rss_head - pharos_rss_idle)) "$HEAD_SAMPLES")" lower
  row "RSS growth bytes per series" "$(per $((prom_rss_head - prom_rss_idle)) "$SERIES")" \
    "$(per $((pharos_rss_head - pharos_rss_idle)) "$SERIES")" lower
  row "WAL bytes on disk (+ Prometheus chunks_head)" "$((PROM_WAL + PROM_HEAD_CHUNKS))" "$PHAROS_WAL" lower
)
RESULT=$BENCH_DIR/results/tsdb-footprint.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/tsdb-footprint.sh"
  tsdb_machine_info
  echo "data: $FILE ($(du -h "$FILE" | cut -f1)); profile $PROFILE, $SERIES series, step ${STEP_S}s, $START..$END"
  echo "prometheus blocks: ${BLOCKS[prometheus]}"
  echo "pharos blocks:     ${BLOCKS[pharos]}"
  echo "prometheus idle: $PROM_IDLE; after head load: $PROM_HEAD; wal=$PROM_WAL chunks_head=$PROM_HEAD_CHUNKS"
  echo "pharos idle:     $PHAROS_IDLE; after head load: $PHAROS_HEAD; wal=$PHAROS_WAL"
  echo "head load prometheus: ${HEAD_LOAD[prometheus]}"
  echo "head load pharos:     ${HEAD_LOAD[pharos]}"
  echo "pharos load: $PHAROS_LOAD_METHOD, $PHAROS_LOAD_SECONDS s; promtool: $PROM_LOAD_SECONDS s"
  echo
  echo "$SUMMARY"
} >"$RESULT"
echo "$SUMMARY"
say "wrote $RESULT"
