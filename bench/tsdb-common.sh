# shellcheck shell=bash disable=SC2034  # sourced; the variables are used by the scripts
# Shared by bench/tsdb-*.sh (sourced, not run), on top of lib/common.sh: Pharos with its embedded
# metrics store, the peer Prometheus' process (restart, kill -9, backfill), the synthetic data
# sets of lib/tsdb_data.py and the loading of the same data into both stores.
#
# Environment (all optional, besides those of lib/common.sh):
#   BENCH_TSDB_CACHE=DIR   keep generated OpenMetrics files in DIR and reuse them (they are
#                          several GB and take a minute or two each to generate)

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# The peer Prometheus keeps data for 100 years, which makes its largest compacted block 31 days
# (a tenth of the retention, capped); Pharos gets the same retention, so both compact a week
# into blocks of the same sizes and bytes/sample compares the stores, not their settings.
export PHAROS_TSDB_RETENTION=${PHAROS_TSDB_RETENTION:-100y}

TSDB_DATA=$BENCH_DIR/lib/tsdb_data.py
TSDB_REMOTE_WRITE=$BENCH_DIR/lib/tsdb_remote_write.py
TSDB_QUERY=$BENCH_DIR/lib/tsdb_query.py
TSDB_MEASURE=$BENCH_DIR/lib/tsdb_measure.py
STEP_S=15

measure() { python3 "$TSDB_MEASURE" "$@"; }
now_ns() { date +%s%N; }
seconds_since_ns() { python3 -c "import sys; print(f'{($(now_ns) - $1) / 1e9:.1f}')"; }

# The end of the backfilled data sets: a 2 h boundary 2 to 4 hours ago. Old enough that both
# heads accept the recent samples written later (Prometheus takes nothing older than an hour
# behind its newest sample, and its self-scrape is at "now"), recent enough for retention.
tsdb_data_end() {
  local now
  now=$(date +%s)
  echo $((now / 7200 * 7200 - 7200))
}

tsdb_machine_info() {
  machine_info | grep -v '^wrk version'
  echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
  echo "python: $(python3 --version 2>&1)"
}

# ---------------------------------------------------------------- data sets

# generate_data PROFILE START_S STEPS: prints the path of the OpenMetrics file (cached when
# BENCH_TSDB_CACHE is set).
generate_data() {
  local profile=$1 start=$2 steps=$3 dir file started
  dir=${BENCH_TSDB_CACHE:-$BENCH_TMP/data}
  mkdir -p "$dir"
  file=$dir/$profile-$start-$steps-$STEP_S.om
  if [[ ! -s $file ]]; then
    started=$(now_ns)
    say "generating $profile data: $(python3 "$TSDB_DATA" describe --profile "$profile") series x $steps samples"
    python3 "$TSDB_DATA" openmetrics --profile "$profile" --start "$start" --steps "$steps" --step "$STEP_S" \
      >"$file.part" || die "tsdb_data.py failed"
    mv "$file.part" "$file"
    say "generated $file ($(du -h "$file" | cut -f1)) in $(seconds_since_ns "$started") s"
  fi
  echo "$file"
}

# ---------------------------------------------------------------- Pharos

pharos_has_flag() { "$(pharos_binary)" serve --help 2>/dev/null | grep -q -- "$1"; }
pharos_has_import() { "$(pharos_binary)" tsdb import --help >/dev/null 2>&1; }

# launch_pharos DATA_DIR [PORT]: starts Pharos without waiting; sets PHAROS_PID and PHAROS_URL.
# The simulator is turned off when the binary knows --no-demo (the data must be ours alone).
# Logins are off (`--auth disabled`): these benchmarks compare the store with Prometheus, which
# has none either; the cost of identity is measured by proxy-overhead.sh.
launch_pharos() {
  local data_dir=$1 port=${2:-} args
  [[ -n $port ]] || port=$(free_port)
  mkdir -p "$data_dir"
  args=(serve --listen "127.0.0.1:$port" --data-dir "$data_dir")
  if pharos_has_flag --no-demo; then args+=(--no-demo); fi
  if pharos_has_flag --auth; then args+=(--auth disabled); fi
  PHAROS_CMD=("$(pharos_binary)" "${args[@]}")
  PHAROS_LOG=$data_dir/log
  PHAROS_PORT=$port
  PHAROS_URL=http://127.0.0.1:$port
  relaunch_pharos
}

# relaunch_pharos: the last launch_pharos command line again (same port and data), without
# its checks: a timed restart measures Pharos, not the flag checks and the port search, just
# as launch_prometheus re-runs Prometheus' command line.
relaunch_pharos() {
  "${PHAROS_CMD[@]}" >>"$PHAROS_LOG" 2>&1 </dev/null &
  PHAROS_PID=$!
  PHAROS_PIDS+=("$PHAROS_PID")
}

# wait_query URL PID NAME: until the Prometheus API at URL answers `1`.
wait_query() {
  local url=$1 pid=$2 name=$3 deadline=$((SECONDS + 600))
  until curl -fsS -o /dev/null --max-time 5 "$url/api/v1/query?query=1" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited during start"
    ((SECONDS < deadline)) || die "$name was not answering queries within 600 s"
    sleep 0.05
  done
}

start_pharos_tsdb() {
  launch_pharos "$@"
  wait_query "$PHAROS_URL" "$PHAROS_PID" Pharos
  say "Pharos ready at $PHAROS_URL (pid $PHAROS_PID)"
}

# kill_pharos SIGNAL: stops the running Pharos with SIGNAL (TERM waits for the clean exit).
kill_pharos() {
  local signal=$1 pid=$PHAROS_PID
  if [[ $signal == KILL ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  stop_pharos "$pid"
}

# load_pharos FILE DATA_DIR PROFILE START_S STEPS: the data set into a stopped Pharos' data dir,
# with `pharos tsdb import` when the binary has it, else by remote-write in time order through
# a temporary server. Sets PHAROS_LOAD_METHOD and PHAROS_LOAD_SECONDS.
load_pharos() {
  local file=$1 data_dir=$2 profile=$3 start=$4 steps=$5 started
  mkdir -p "$data_dir"
  started=$(now_ns)
  if pharos_has_import; then
    PHAROS_LOAD_METHOD="pharos tsdb import"
    "$(pharos_binary)" --data-dir "$data_dir" tsdb import "$file" >>"$data_dir/import.log" 2>&1 ||
      die "pharos tsdb import failed; log: $data_dir/import.log"
  else
    PHAROS_LOAD_METHOD="remote-write in time order (this binary has no 'tsdb import')"
    start_pharos_tsdb "$data_dir"
    python3 "$TSDB_REMOTE_WRITE" replay --url "$PHAROS_URL" --profile "$profile" --start "$start" \
      --steps "$steps" --step "$STEP_S" >>"$data_dir/import.log" 2>&1 ||
      die "remote-write load into Pharos failed: $(tail -n 3 "$data_dir/import.log")"
    kill_pharos TERM
  fi
  PHAROS_LOAD_SECONDS=$(seconds_since_ns "$started")
  say "loaded $profile into Pharos ($PHAROS_LOAD_METHOD) in $PHAROS_LOAD_SECONDS s"
}

# ---------------------------------------------------------------- the peer Prometheus

# peers.sh can only start Prometheus on empty data. To restart it on its data (backfill, startup
# time, kill -9) we relaunch the exact command line it was started with and record the new PID
# in the peer's state, so `peers.sh stop` (run by the cleanup trap) still stops it.
PROM_CMD=()
start_prometheus_peer() {
  start_peers prometheus
  PROM_DIR=$PHAROS_PEERS_DIR/prometheus
  PROM_DATA=$PROM_DIR/data
  PROM_URL=$PHAROS_TEST_PROMETHEUS_URL
  PROM_PID=$(cat "$PROM_DIR/pid")
  mapfile -d '' -t PROM_CMD <"/proc/$PROM_PID/cmdline"
  [[ ${PROM_CMD[0]} == *prometheus* ]] || die "unexpected Prometheus command line: ${PROM_CMD[*]}"
  say "Prometheus ready at $PROM_URL (pid $PROM_PID)"
}

# stop_prometheus TERM|KILL: waits until the process is gone.
stop_prometheus() {
  local signal=$1 deadline=$((SECONDS + 60))
  kill "-$signal" "$PROM_PID" 2>/dev/null || true
  while kill -0 "$PROM_PID" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$PROM_PID/stat" 2>/dev/null) != Z ]]; do
    ((SECONDS < deadline)) || die "Prometheus (pid $PROM_PID) did not exit within 60 s of SIG$signal"
    sleep 0.05
  done
  wait "$PROM_PID" 2>/dev/null || true # reaps it when this shell launched it
}

# launch_prometheus: the same command line again, without waiting.
launch_prometheus() {
  setsid "${PROM_CMD[@]}" >>"$PROM_DIR/log" 2>&1 </dev/null &
  PROM_PID=$!
  echo "$PROM_PID" >"$PROM_DIR/pid"
}

start_prometheus() {
  launch_prometheus
  wait_query "$PROM_URL" "$PROM_PID" Prometheus
}

# load_prometheus FILE: `promtool tsdb create-blocks-from openmetrics` into the stopped peer's
# data dir (24 h blocks, as scripts/peers.sh backfills), then Prometheus again. Sets
# PROM_LOAD_SECONDS (promtool alone).
load_prometheus() {
  local file=$1 started
  stop_prometheus TERM
  started=$(now_ns)
  backfill_prometheus "$file"
  PROM_LOAD_SECONDS=$(seconds_since_ns "$started")
  say "loaded $(basename "$file") into Prometheus (promtool) in $PROM_LOAD_SECONDS s"
  start_prometheus
}

# backfill_prometheus FILE: promtool alone, into the data dir of the stopped peer (load_prometheus
# stops and restarts it around this; a script loading several files calls it once per file).
backfill_prometheus() {
  promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$1" "$PROM_DATA" \
    >>"$PROM_DIR/bench-backfill.log" 2>&1 || die "promtool failed; log: $PROM_DIR/bench-backfill.log"
}

# settle_compaction DIR...: both stores compact freshly loaded blocks in the background (every
# minute); timing queries or sizes during that would measure the compaction.
settle_compaction() {
  say "waiting for block compaction to finish (no change for 75 s)"
  measure settle "$@" --quiet 75 --timeout 1800 >&2 || die "blocks still changing after 30 min"
}

# check_blocks NAME DIR FROM_S TO_S EXPECTED: the blocks of DIR overlapping [FROM_S, TO_S) hold
# exactly EXPECTED samples; prints their `measure blocks` line.
check_blocks() {
  local name=$1 dir=$2 from=$3 to=$4 expected=$5 line samples
  line=$(measure blocks "$dir" --from-ms $((from * 1000)) --to-ms $((to * 1000 - 1)))
  samples=$(sed -E 's/.* samples=([0-9]+).*/\1/' <<<"$line")
  ((samples == expected)) || die "$name holds $samples samples of the data set in blocks, expected $expected"
  echo "$line"
}

# prepare_week: the `query` profile (1,490 series) for BENCH_WEEK_DAYS (7) days of 15 s samples
# ending at tsdb_data_end, loaded into the peer Prometheus and a Pharos in $BENCH_TMP/pharos, both
# running and done compacting. Sets WEEK_START, WEEK_END (exclusive), WEEK_FILE, WEEK_SERIES,
# WEEK_SAMPLES, PHAROS_DIR and the *_BLOCKS lines.
prepare_week() {
  local days=${BENCH_WEEK_DAYS:-7} steps
  steps=$((days * 86400 / STEP_S))
  WEEK_END=$(tsdb_data_end)
  # 7 s past the 15 s grid: no sample sits exactly on a window edge of the step-aligned queries.
  # There Prometheus 2 (closed [t-5m, t]) and 3 (left-open (t-5m, t], Pharos' semantics) differ;
  # real scrapes almost never land on those exact milliseconds.
  WEEK_START=$((WEEK_END - steps * STEP_S + 7))
  WEEK_SERIES=$(python3 "$TSDB_DATA" describe --profile query)
  WEEK_SAMPLES=$((WEEK_SERIES * steps))
  WEEK_FILE=$(generate_data query "$WEEK_START" "$steps")
  PHAROS_DIR=$BENCH_TMP/pharos
  start_prometheus_peer
  load_prometheus "$WEEK_FILE"
  load_pharos "$WEEK_FILE" "$PHAROS_DIR" query "$WEEK_START" "$steps"
  start_pharos_tsdb "$PHAROS_DIR"
  settle_compaction "$PROM_DATA" "$PHAROS_DIR/tsdb"
  PROM_BLOCKS=$(check_blocks Prometheus "$PROM_DATA" "$((WEEK_START - 7))" "$WEEK_END" "$WEEK_SAMPLES")
  PHAROS_BLOCKS=$(check_blocks Pharos "$PHAROS_DIR/tsdb" "$((WEEK_START - 7))" "$WEEK_END" "$WEEK_SAMPLES")
  say "Prometheus blocks: $PROM_BLOCKS"
  say "Pharos blocks:     $PHAROS_BLOCKS"
}

# write_query_report NAME STATUS RECORDS DETAILS: bench/results/NAME.txt for a run of COMMAND
# (tsdb_query.py, its output in the file RECORDS): machine, DETAILS (the script's own data and
# loading lines), both stores' blocks and processes, the command, the summary table and every
# record. Prints the table; fails when STATUS, the run's exit status, is not 0.
write_query_report() {
  local name=$1 status=$2 records=$3 details=$4 result summary
  result=$BENCH_DIR/results/$name.txt
  mkdir -p "$(dirname "$result")"
  summary=$(sed -n '/^| query /,$p' "$records")
  {
    echo "# bench/$name.sh"
    tsdb_machine_info
    echo "$details"
    echo "prometheus blocks: $PROM_BLOCKS"
    echo "pharos blocks:     $PHAROS_BLOCKS"
    echo "prometheus after the queries: $(measure proc "$PROM_PID"); pharos: $(measure proc "$PHAROS_PID")"
    echo "command: ${COMMAND[*]}"
    echo
    echo "$summary"
    echo
    echo "## records"
    cat "$records"
  } >"$result"
  echo "$summary"
  say "wrote $result"
  ((status == 0)) || die "answers differed or a query failed (see $result)"
}
