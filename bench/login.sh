#!/usr/bin/env bash
# Native login under load: 64 concurrent connections POSTing the first administrator's login to
# one Pharos (release build, SQLite), for BENCH_DURATION after a warm-up. Reports requests/s and
# the latency percentiles; a login costs one argon2id verification (m = 19 MiB, t = 2, p = 1, on
# a blocking thread) plus one session row, so throughput is bounded by the CPU on purpose.
# There is no peer to compare with (Perses uses bcrypt at cost 10); the number is absolute.
#
# Writes bench/results/login.txt.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

CONNECTIONS=${BENCH_LOGIN_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-5s}

require_tools wrk curl python3
pharos_binary >/dev/null
RAW=$BENCH_TMP/raw.txt
RECORDS=$BENCH_TMP/records.txt
: >"$RAW"
: >"$RECORDS"

start_pharos "$BENCH_TMP/pharos"
URL=$PHAROS_URL/api/auth/providers/native/login
export BENCH_JSON_BODY="{\"login\":\"admin\",\"password\":\"$BENCH_ADMIN_PASSWORD\"}"
# The answer must be a token, not a refusal, before it is measured.
curl -fsS -X POST -H 'content-type: application/json' --data "$BENCH_JSON_BODY" "$URL" |
  python3 -c 'import json, sys; assert json.load(sys.stdin)["token_type"] == "Bearer"' ||
  die "the login to be measured does not answer a token"

say "warm-up: $CONNECTIONS connections, $WARMUP"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --script "$WRK_SCRIPT" "$URL" >/dev/null
run_wrk "$RAW" "$RECORDS" "connections=$CONNECTIONS target=native-login" \
  -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency --timeout 30s "$URL"

RESULT=$BENCH_DIR/results/login.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/login.sh"
  machine_info
  echo "load: $CONNECTIONS connections, wrk threads=$THREADS duration=$DURATION warmup=$WARMUP"
  echo "argon2id: m=19456 KiB, t=2, p=1 (pharos-auth PasswordCost::default)"
  echo
  echo "## records"
  cat "$RECORDS"
  echo
  echo "## wrk report"
  cat "$RAW"
} >"$RESULT"
tail -n 1 "$RECORDS"
say "wrote $RESULT"
