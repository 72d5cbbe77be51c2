#!/usr/bin/env bash
# The demo dashboard's own panel queries over 1 h / 24 h / 7 d: Pharos' embedded engine and
# store against Prometheus 2.42 (scripts/peers.sh) on the same data, the simulator's.
#
# Data: `pharos demo export` (the built-in simulator's samples, ~3,600 series at 15 s) for 7
# days ending at a 2 h boundary 2-4 h ago, 7 s off the 15 s grid (see prepare_week in
# tsdb-common.sh: Prometheus 2 and 3 differ on samples exactly on a window edge). A week of it
# is ~46 GB of OpenMetrics, so it is exported in pieces of BENCH_DEMO_CHUNK_HOURS, each one
# simulated from the start of the week (one continuous history), backfilled into both
# (promtool into the stopped peer, `pharos tsdb import` into the stopped Pharos) and deleted
# before the next; then both start and are left until their compaction settles, and both must
# hold every exported sample in blocks.
#
# Queries: every PrometheusTimeSeriesQuery of the dashboard `pharos demo dashboard` prints (the
# one the demo creates), variables replaced as the UI's default selection does (see
# bench/lib/tsdb_dashboard.py), each over 1 h (step 15 s), 24 h (300 s) and 7 d (2100 s) ending
# at the data's end, compared and timed by bench/lib/tsdb_query.py: same series, timestamps and
# values within 1e-6 first; then one warm-up per server and BENCH_QUERY_RUNS runs alternating
# servers, median wall time and server CPU per run.
#
#   bench/tsdb-dashboard.sh   needs target/release/pharos with `demo export` (or BENCH_EXPORT_BIN);
#                             ~2 GB in the temp dir at a time; promtool takes ~7 min per day of data
#
# Environment (all optional):
#   BENCH_QUERY_RUNS=5          timed runs per query and server (after one warm-up each)
#   BENCH_QUERY_ONLY=a,b        only these panels (keys of the dashboard's panels)
#   BENCH_WEEK_DAYS=7           days of data (shorter only to try the script; the 7 d range then
#                               reaches before the data)
#   BENCH_DEMO_CHUNK_HOURS=6    hours of data per exported piece (~1.7 GB of OpenMetrics at 6)
#   BENCH_EXPORT_BIN=PATH       the binary that runs `pharos demo export` / `pharos demo dashboard`
#                               (default: PHAROS_BIN), e.g. a debug build newer than the release one
#   PHAROS_BIN, BENCH_KEEP_TMP  see bench/lib/common.sh (BENCH_TSDB_CACHE is not used: a week of
#                               the demo does not fit on disk at once)
#
# Writes bench/results/tsdb-dashboard.txt; exits 1 if an answer differed (after writing it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tsdb-common.sh"

TSDB_DASHBOARD=$BENCH_DIR/lib/tsdb_dashboard.py
RUNS=${BENCH_QUERY_RUNS:-5}
ONLY=${BENCH_QUERY_ONLY:-}
DAYS=${BENCH_WEEK_DAYS:-7}
CHUNK_HOURS=${BENCH_DEMO_CHUNK_HOURS:-6}

require_tools curl python3 prometheus promtool
pharos_binary >/dev/null
EXPORT_BIN=${BENCH_EXPORT_BIN:-$(pharos_binary)}
"$EXPORT_BIN" demo export --help >/dev/null 2>&1 ||
  die "$EXPORT_BIN has no 'demo export': rebuild it (cargo build --release -p pharos), or set BENCH_EXPORT_BIN to a newer build (cargo build -p pharos; BENCH_EXPORT_BIN=target/debug/pharos)"
pharos_has_import || die "$(pharos_binary) has no 'tsdb import'; rebuild it (cargo build --release -p pharos)"
[[ $CHUNK_HOURS =~ ^[1-9][0-9]*$ ]] || die "BENCH_DEMO_CHUNK_HOURS must be a positive whole number"

DASHBOARD=$BENCH_TMP/dashboard.json
"$EXPORT_BIN" demo dashboard >"$DASHBOARD" || die "pharos demo dashboard failed"
QUERY_COUNT=$(python3 "$TSDB_DASHBOARD" --dashboard "$DASHBOARD" --list | wc -l)
say "the demo dashboard has $QUERY_COUNT panel queries"

# ---------------------------------------------------------------- data: export, load, settle

STEPS=$((DAYS * 86400 / STEP_S))
DATA_END=$(tsdb_data_end)
# 7 s past the 15 s grid, as prepare_week: no sample exactly on a window edge.
DATA_START=$((DATA_END - STEPS * STEP_S + 7))
CHUNK_S=$((CHUNK_HOURS * 3600))
PHAROS_DIR=$BENCH_TMP/pharos
CHUNK_DIR=$BENCH_TMP/data
mkdir -p "$CHUNK_DIR"

start_prometheus_peer
stop_prometheus TERM
SAMPLES=0 SERIES=0 BYTES=0 CHUNKS=0 EXPORT_NS=0 LOAD_NS=0
for ((from = DATA_START; from < DATA_END; from += CHUNK_S)); do
  to=$((from + CHUNK_S))
  ((to <= DATA_END)) || to=$DATA_END
  file=$CHUNK_DIR/demo-$from.om
  started=$(now_ns)
  "$EXPORT_BIN" demo export --simulate-from "$DATA_START" --start "$from" --end "$to" --out "$file" \
    2>"$file.log" || die "pharos demo export failed: $(tail -n 5 "$file.log")"
  EXPORT_NS=$((EXPORT_NS + $(now_ns) - started))
  samples='' series=''
  read -r samples series < <(sed -nE 's/^exported ([0-9]+) samples of ([0-9]+) series.*/\1 \2/p' "$file.log") || true
  [[ -n ${series:-} ]] || die "unexpected export summary: $(cat "$file.log")"
  SAMPLES=$((SAMPLES + samples))
  ((series <= SERIES)) || SERIES=$series
  BYTES=$((BYTES + $(stat -c %s "$file")))
  CHUNKS=$((CHUNKS + 1))
  # Both stores load the piece at the same time (one CPU each): the week takes half as long,
  # and these loading times are not a comparison (bench/tsdb-query.sh has one).
  started=$(now_ns)
  backfill_prometheus "$file" &
  prom_loader=$!
  # The profile/start/steps arguments only matter to load_pharos' remote-write fallback, which a
  # binary with `tsdb import` (checked above) never takes.
  load_pharos "$file" "$PHAROS_DIR" demo "$from" 0
  wait "$prom_loader" || die "promtool failed on $file"
  LOAD_NS=$((LOAD_NS + $(now_ns) - started))
  rm -f "$file"
  say "piece $CHUNKS: $(date -u -d "@$from" +%FT%TZ) to $(date -u -d "@$to" +%FT%TZ), $samples samples of $series series"
done
ns_to_s() { python3 -c "print(f'{$1 / 1e9:.1f}')"; }
EXPORT_SECONDS=$(ns_to_s "$EXPORT_NS")
LOAD_SECONDS=$(ns_to_s "$LOAD_NS")
say "exported $SAMPLES samples of $SERIES series in $CHUNKS pieces ($((BYTES / 1000000)) MB) in $EXPORT_SECONDS s;" \
  "loaded into both (promtool and pharos tsdb import side by side) in $LOAD_SECONDS s"

start_prometheus
say "Prometheus ready at $PROM_URL (pid $PROM_PID)"
start_pharos_tsdb "$PHAROS_DIR"
settle_compaction "$PROM_DATA" "$PHAROS_DIR/tsdb"
PROM_BLOCKS=$(check_blocks Prometheus "$PROM_DATA" "$((DATA_START - 7))" "$DATA_END" "$SAMPLES")
PHAROS_BLOCKS=$(check_blocks Pharos "$PHAROS_DIR/tsdb" "$((DATA_START - 7))" "$DATA_END" "$SAMPLES")
say "Prometheus blocks: $PROM_BLOCKS"
say "Pharos blocks:     $PHAROS_BLOCKS"

# ---------------------------------------------------------------- queries

RECORDS=$BENCH_TMP/records.txt
COMMAND=(python3 "$TSDB_DASHBOARD" --dashboard "$DASHBOARD" --target "pharos=$PHAROS_URL@$PHAROS_PID"
  --target "prometheus=$PROM_URL@$PROM_PID" --end "$DATA_END" --runs "$RUNS")
[[ -z $ONLY ]] || COMMAND+=(--only "$ONLY")
status=0
"${COMMAND[@]}" | tee "$RECORDS" >&2 || status=$?

write_query_report tsdb-dashboard "$status" "$RECORDS" "$(
  echo "export binary: $EXPORT_BIN ($("$EXPORT_BIN" --version 2>/dev/null || echo '?'), built $(date -u -r "$EXPORT_BIN" +%FT%TZ))"
  echo "data: pharos demo export, $SERIES series, $SAMPLES samples, step ${STEP_S}s," \
    "$(date -u -d "@$DATA_START" +%FT%TZ) to $(date -u -d "@$DATA_END" +%FT%TZ) ($DAYS days);" \
    "$CHUNKS pieces of ${CHUNK_HOURS} h, $((BYTES / 1000000)) MB of OpenMetrics in all, exported in $EXPORT_SECONDS s"
  echo "loading: promtool and Pharos ($PHAROS_LOAD_METHOD) side by side, $LOAD_SECONDS s"
)"
