#!/usr/bin/env bash
# Remote-write ingestion throughput for 10k active series: Pharos' embedded store against
# Prometheus 2.42 (`--web.enable-remote-write-receiver`, from scripts/peers.sh), same requests.
#
# The 10,000 series of the `footprint` profile (bench/lib/tsdb_data.py) get one sample per batch,
# batches BENCH_INGEST_STEP_MS apart in time, in requests of about BENCH_SERIES_PER_REQUEST series
# sent by BENCH_INGEST_WORKERS processes (each owns its series, so every series stays in time
# order). Each round's requests are built before the clock starts and then sent to both servers,
# one after the other, the order alternating between rounds. Afterwards both must hold every
# sample sent and agree on sum(bench_requests_total).
#
#   bench/tsdb-ingest.sh        needs target/release/pharos (cargo build --release -p pharos)
#
# Environment (all optional):
#   BENCH_ROUNDS=3                    measured rounds per server; the report uses the medians
#   BENCH_INGEST_BATCHES=300          batches per round (x 10,000 samples)
#   BENCH_INGEST_WARMUP_BATCHES=50    one unrecorded round first
#   BENCH_INGEST_WORKERS=4            client processes (one keep-alive connection each)
#   BENCH_SERIES_PER_REQUEST=500      series (= samples) per request
#   BENCH_INGEST_STEP_MS=1000         time between batches; all batches must fit into the last
#                                     hour, which is all a Prometheus head accepts
#   PHAROS_BIN, BENCH_KEEP_TMP see bench/lib/common.sh
#
# Writes bench/results/tsdb-ingest.txt (summary table, then every round).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tsdb-common.sh"

ROUNDS=${BENCH_ROUNDS:-3}
BATCHES=${BENCH_INGEST_BATCHES:-300}
WARMUP_BATCHES=${BENCH_INGEST_WARMUP_BATCHES:-50}
WORKERS=${BENCH_INGEST_WORKERS:-4}
SERIES_PER_REQUEST=${BENCH_SERIES_PER_REQUEST:-500}
STEP_MS=${BENCH_INGEST_STEP_MS:-1000}

require_tools curl python3 prometheus promtool
pharos_binary >/dev/null
RECORDS=$BENCH_TMP/records.txt

SPAN_S=$(((WARMUP_BATCHES + ROUNDS * BATCHES) * STEP_MS / 1000))
((SPAN_S <= 2400)) || die "the batches span ${SPAN_S}s; keep (warm-up + rounds x batches) x step under 40 min"
# End a minute before now: the whole run then stays within the hour both heads accept.
START_MS=$((($(date +%s) - SPAN_S - 60) * 1000))

start_prometheus_peer
start_pharos_tsdb "$BENCH_TMP/pharos"

COMMAND=(python3 "$TSDB_REMOTE_WRITE" ingest --target "pharos=$PHAROS_URL@$PHAROS_PID"
  --target "prometheus=$PROM_URL@$PROM_PID" --profile footprint --rounds "$ROUNDS" --batches "$BATCHES"
  --warmup-batches "$WARMUP_BATCHES" --workers "$WORKERS" --series-per-request "$SERIES_PER_REQUEST"
  --start-ms "$START_MS" --step-ms "$STEP_MS")
status=0
"${COMMAND[@]}" | tee "$RECORDS" >&2 || status=$?

SUMMARY=$(measure summarize-ingest "$RECORDS")
RESULT=$BENCH_DIR/results/tsdb-ingest.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/tsdb-ingest.sh"
  tsdb_machine_info
  echo "settings: rounds=$ROUNDS batches=$BATCHES warmup_batches=$WARMUP_BATCHES workers=$WORKERS" \
    "series_per_request=$SERIES_PER_REQUEST step_ms=$STEP_MS"
  echo "command: ${COMMAND[*]}"
  echo
  echo "$SUMMARY"
  echo
  echo "## records"
  cat "$RECORDS"
} >"$RESULT"
echo "$SUMMARY"
say "wrote $RESULT"
((status == 0)) || die "failed requests or missing samples (see $RESULT)"
