#!/usr/bin/env bash
# Resource API throughput on SQLite and PostgreSQL: GET of one 30-panel dashboard under 64
# connections, and the metadata-only list of 5,000 dashboards under a few connections.
#
#   bench/resource-api.sh          needs target/release/pharos (cargo build --release -p pharos)
#
# Both backends get their own Pharos (SQLite in a temp dir; PostgreSQL from `peers.sh start
# postgres` on a free port, in a fresh database) and the same data; the measured runs then
# alternate between them round by round so drift on a shared machine hits both alike.
#
# Environment (all optional):
#   BENCH_BACKENDS="sqlite postgres"
#   BENCH_DURATION=15s  BENCH_WARMUP=5s  BENCH_ROUNDS=3  BENCH_THREADS=2
#   BENCH_GET_CONNECTIONS=64   connections for the single-dashboard GET
#   BENCH_LIST_CONNECTIONS=4   connections for the list
#   BENCH_LIST_COUNT=5000      dashboards in the listed project
#   BENCH_LIST_PANELS=10       panels in each of those (the stored documents are realistic, not empty)
#   BENCH_CREATE_WORKERS=8     client threads creating them
#   PHAROS_BIN, BENCH_KEEP_TMP see bench/lib/common.sh
#
# Writes bench/results/resource-api.txt (summary tables, then every wrk report).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
GET_CONNECTIONS=${BENCH_GET_CONNECTIONS:-64}
LIST_CONNECTIONS=${BENCH_LIST_CONNECTIONS:-4}
LIST_COUNT=${BENCH_LIST_COUNT:-5000}
LIST_PANELS=${BENCH_LIST_PANELS:-10}
CREATE_WORKERS=${BENCH_CREATE_WORKERS:-8}
DASHBOARD_PROJECT=bench
DASHBOARD=big
DASHBOARD_PANELS=30
LIST_PROJECT=bench-list

require_tools wrk curl python3 psql
pharos_binary >/dev/null
RAW=$BENCH_TMP/raw.txt
RECORDS=$BENCH_TMP/records.txt
SETUP=$BENCH_TMP/setup.txt
: >"$RAW"
: >"$RECORDS"
: >"$SETUP"

# A new, empty database on the peer for this run; prints its URL.
fresh_postgres_database() {
  local name
  name=pharos_bench_$(date +%s)_$$
  psql "$PHAROS_TEST_DATABASE_URL" -XAtqc "create database $name" >/dev/null ||
    die "cannot create database $name on $PHAROS_TEST_DATABASE_URL"
  echo "${PHAROS_TEST_DATABASE_URL%/*}/$name"
}

project_json() { echo "{\"kind\":\"Project\",\"metadata\":{\"name\":\"$1\"},\"spec\":{}}"; }

declare -A URL_OF
# populate BACKEND URL: the projects, the 30-panel dashboard and the LIST_COUNT dashboards, checked.
populate() {
  local backend=$1 url=$2 created
  api POST "$url/api/v1/projects" "$(project_json "$DASHBOARD_PROJECT")" >/dev/null
  api POST "$url/api/v1/projects" "$(project_json "$LIST_PROJECT")" >/dev/null
  api POST "$url/api/v1/projects/$DASHBOARD_PROJECT/dashboards" "$(python3 "$BENCH_HELPER" dashboard \
    --project "$DASHBOARD_PROJECT" --name "$DASHBOARD" --panels "$DASHBOARD_PANELS")" >/dev/null
  python3 "$BENCH_HELPER" check-dashboard --panels "$DASHBOARD_PANELS" \
    --url "$url/api/v1/projects/$DASHBOARD_PROJECT/dashboards/$DASHBOARD" | sed "s/^/$backend: /" >>"$SETUP"
  created=$(python3 "$BENCH_HELPER" create-dashboards --url "$url" --project "$LIST_PROJECT" \
    --count "$LIST_COUNT" --panels "$LIST_PANELS" --workers "$CREATE_WORKERS") || die "creating dashboards failed"
  echo "$backend: $created" >>"$SETUP"
  python3 "$BENCH_HELPER" check-list --count "$LIST_COUNT" \
    --url "$url/api/v1/projects/$LIST_PROJECT/dashboards?metadata_only=true" | sed "s/^/$backend: /" >>"$SETUP"
  say "$backend: $created"
}

declare -A TOKEN_OF=()
for backend in $BACKENDS; do
  case $backend in
    sqlite) start_pharos "$BENCH_TMP/sqlite" ;;
    postgres)
      start_peers postgres
      start_pharos "$BENCH_TMP/postgres" "$(fresh_postgres_database)"
      ;;
    *) die "unknown backend '$backend' in BENCH_BACKENDS (sqlite, postgres)" ;;
  esac
  URL_OF[$backend]=$PHAROS_URL
  TOKEN_OF[$backend]=$PHAROS_TOKEN
  populate "$backend" "$PHAROS_URL"
done

# scenario name → connections and path
SCENARIOS=(get-dashboard-30-panels list-dashboards-metadata-only)
declare -A CONNECTIONS_OF=([get-dashboard-30-panels]=$GET_CONNECTIONS [list-dashboards-metadata-only]=$LIST_CONNECTIONS)
declare -A PATH_OF=(
  [get-dashboard-30-panels]=/api/v1/projects/$DASHBOARD_PROJECT/dashboards/$DASHBOARD
  [list-dashboards-metadata-only]="/api/v1/projects/$LIST_PROJECT/dashboards?metadata_only=true"
)

for backend in $BACKENDS; do
  for scenario in "${SCENARIOS[@]}"; do
    connections=${CONNECTIONS_OF[$scenario]}
    say "warm-up: $backend $scenario, $connections connections, $WARMUP"
    mapfile -t auth < <(wrk_auth_args "${TOKEN_OF[$backend]}")
    wrk -t"$((THREADS < connections ? THREADS : connections))" -c"$connections" -d"$WARMUP" \
      "${auth[@]}" --script "$WRK_SCRIPT" "${URL_OF[$backend]}${PATH_OF[$scenario]}" >/dev/null
  done
done

read -r -a backend_list <<<"$BACKENDS"
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${backend_list[@]}")
  if ((round % 2 == 0)); then # reverse every other round
    order=()
    for ((i = ${#backend_list[@]} - 1; i >= 0; i--)); do order+=("${backend_list[i]}"); done
  fi
  for scenario in "${SCENARIOS[@]}"; do
    connections=${CONNECTIONS_OF[$scenario]}
    for backend in "${order[@]}"; do
      mapfile -t auth < <(wrk_auth_args "${TOKEN_OF[$backend]}")
      run_wrk "$RAW" "$RECORDS" "round=$round scenario=$scenario connections=$connections backend=$backend" \
        -t"$((THREADS < connections ? THREADS : connections))" -c"$connections" -d"$DURATION" --latency \
        "${auth[@]}" "${URL_OF[$backend]}${PATH_OF[$scenario]}"
    done
  done
done

SUMMARY=$(python3 "$BENCH_HELPER" summarize-resource "$RECORDS")
RESULT=$BENCH_DIR/results/resource-api.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/resource-api.sh"
  machine_info
  [[ $BACKENDS != *postgres* ]] || echo "postgres: $(psql "$PHAROS_TEST_DATABASE_URL" -XAtqc 'show server_version')"
  echo "wrk: threads=$THREADS duration=$DURATION warmup=$WARMUP rounds=$ROUNDS"
  echo "data: 1 dashboard with $DASHBOARD_PANELS panels; $LIST_COUNT dashboards with $LIST_PANELS panels each"
  cat "$SETUP"
  echo
  echo "$SUMMARY"
  echo
  echo "## records"
  cat "$RECORDS"
  echo
  echo "## wrk reports"
  cat "$RAW"
} >"$RESULT"
echo "$SUMMARY"
say "wrote $RESULT"
