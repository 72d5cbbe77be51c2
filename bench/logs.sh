#!/usr/bin/env bash
# The access-log intake (issue 13, "Performance"), in one run:
#   1. ingest: BENCH_LOGS_LINES (2,000,000) nginx `combined` + `$request_time` lines of
#      BENCH_LOGS_SERVICES (200) services (seed T026), half in the previous and half in the
#      current 5-minute bucket, pre-built as Loki push bodies of BENCH_LOGS_BODY_LINES (50,000)
#      lines: JSON+gzip over 1 connection, JSON+gzip over 2 connections, protobuf+snappy over 1
#      connection, BENCH_ROUNDS (3) rounds, each run into its own source; lines/s, Pharos CPU
#      seconds (/proc/PID/stat) and lines per CPU-second (goal >= 300,000 on one core);
#   2. accuracy: every (source, service, bucket) read back from the store — counts and errors
#      exact, P50/P95/P99 against numpy's nearest-rank values (goal <= 1 % on every bucket with
#      >= 100 requests) — and /api/services/{id}/latency for every service; numpy's rate of exact
#      per-bucket quantiles on the same data is the reference of the ratio;
#   3. memory: a fresh Pharos per scale in BENCH_LOGS_MEMORY_SCALES (200 2000 20000 services),
#      BENCH_LOGS_LINES_PER_SERVICE (200) lines per service in one bucket: RSS growth over idle.
#
#   bench/logs.sh      needs target/release/pharos (cargo build --release -p pharos); creates
#                      target/bench-venv (numpy, python-snappy) with pip when it is missing
#
# Writes bench/results/logs.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SERVICES=${BENCH_LOGS_SERVICES:-200}
LINES=${BENCH_LOGS_LINES:-2000000}
BODY_LINES=${BENCH_LOGS_BODY_LINES:-50000}
ROUNDS=${BENCH_ROUNDS:-3}
SCALES=${BENCH_LOGS_MEMORY_SCALES:-200 2000 20000}
LINES_PER_SERVICE=${BENCH_LOGS_LINES_PER_SERVICE:-200}
VENV=${BENCH_VENV:-$REPO_ROOT/target/bench-venv}
LOGS_BENCH=$BENCH_DIR/lib/logs_bench.py
MODES=(json-seq json-par2 proto-seq)
# Shorter than the defaults (15 s, 1 min) so the check after the runs need not wait long; the
# lateness at its maximum so the previous bucket stays open whatever the run's length.
PUBLISH_INTERVAL=5
SETTLE=5

require_tools curl python3
pharos_binary >/dev/null
START_UPTIME=$(uptime)

if ! "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
  say "creating $VENV (numpy, python-snappy)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy python-snappy || die "pip install numpy python-snappy failed"
fi
PY=$VENV/bin/python

export PHAROS_NO_DEMO=true
RAW=$BENCH_TMP/raw.txt
: >"$RAW"

# ---------------------------------------------------------------- 1-2. ingest and accuracy

BENCH_CONFIG=$BENCH_TMP/ingest.yaml
{
  echo "logs:"
  echo "  publish_interval: ${PUBLISH_INTERVAL}s"
  echo "  settle: ${SETTLE}s"
  echo "  lateness: 30m"
  echo "  sources:"
  echo "    - name: bench-check"
  for ((r = 1; r <= ROUNDS; r++)); do
    for mode in "${MODES[@]}"; do
      echo "    - name: bench-$mode-r$r"
    done
  done
} >"$BENCH_CONFIG"
export BENCH_CONFIG
start_pharos "$BENCH_TMP/ingest"
say "1-2/3 ingest: $LINES lines x $ROUNDS rounds x ${#MODES[@]} modes, then accuracy"
MODE_ARGS="json-seq:json:1,json-par2:json:2,proto-seq:proto:1"
"$PY" "$LOGS_BENCH" ingest --pharos "$PHAROS_URL" --pid "$PHAROS_PID" --services "$SERVICES" \
  --lines "$LINES" --body-lines "$BODY_LINES" --rounds "$ROUNDS" --modes "$MODE_ARGS" \
  --settle "$SETTLE" --publish-interval "$PUBLISH_INTERVAL" >"$BENCH_TMP/ingest.out" ||
  die "ingest failed: $(tail -n 5 "$BENCH_TMP/ingest.out")"
INGEST_RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$PHAROS_PID/status")
stop_pharos "$PHAROS_PID"
grep '^RAW ' "$BENCH_TMP/ingest.out" >>"$RAW"

# ---------------------------------------------------------------- 3. memory per service

BENCH_CONFIG=$BENCH_TMP/memory.yaml
cat >"$BENCH_CONFIG" <<EOF
logs:
  publish_interval: ${PUBLISH_INTERVAL}s
  settle: ${SETTLE}s
  max_services_per_source: 25000
  max_services_total: 25000
  sources:
    - name: bench-mem
EOF
for scale in $SCALES; do
  say "3/3 memory: $scale services x $LINES_PER_SERVICE lines (fresh Pharos)"
  start_pharos "$BENCH_TMP/memory-$scale"
  "$PY" "$LOGS_BENCH" memory --pharos "$PHAROS_URL" --pid "$PHAROS_PID" --services "$scale" \
    --lines-per-service "$LINES_PER_SERVICE" --publish-interval "$PUBLISH_INTERVAL" >>"$RAW" ||
    die "memory at $scale services failed"
  stop_pharos "$PHAROS_PID"
done

# ---------------------------------------------------------------- results

RESULT=$BENCH_DIR/results/logs.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/logs.sh"
  echo "command: BENCH_LOGS_SERVICES=$SERVICES BENCH_LOGS_LINES=$LINES BENCH_LOGS_BODY_LINES=$BODY_LINES BENCH_ROUNDS=$ROUNDS BENCH_LOGS_MEMORY_SCALES=\"$SCALES\" BENCH_LOGS_LINES_PER_SERVICE=$LINES_PER_SERVICE bench/logs.sh"
  machine_info | grep -v '^wrk version'
  [[ -z ${BENCH_BUILD_NOTE:-} ]] || echo "build: $BENCH_BUILD_NOTE"
  echo "nproc: $(nproc)"
  echo "uptime at start: $START_UPTIME"
  echo "uptime at end:   $(uptime)"
  echo "python: $("$PY" --version 2>&1), numpy $("$PY" -c 'import numpy; print(numpy.__version__)'), python-snappy $("$PY" -c 'import snappy, importlib.metadata as m; print(m.version("python-snappy"))' 2>/dev/null || echo 'absent (one-literal snappy blocks)')"
  echo "settings: logs.publish_interval ${PUBLISH_INTERVAL}s, logs.settle ${SETTLE}s, logs.lateness 30m (ingest); services limits 25,000 (memory)"
  echo "Pharos RSS at the end of the ingest phase ($((ROUNDS * ${#MODES[@]})) sources x $SERVICES services): $((INGEST_RSS / 1024)) MiB"
  echo
  echo "## 1-2. ingest and accuracy"
  grep -v '^RAW ' "$BENCH_TMP/ingest.out"
  echo
  echo "## 3. memory per active service ($LINES_PER_SERVICE lines per service in one bucket; RSS after every service was published)"
  echo
  "$PY" "$LOGS_BENCH" memory-table "$RAW"
  echo
  echo "## raw records"
  cat "$RAW"
} >"$RESULT"
cat "$RESULT" >&2
say "wrote $RESULT"
