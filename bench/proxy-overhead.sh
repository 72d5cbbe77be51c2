#!/usr/bin/env bash
# Datasource proxy overhead: the same query_range load straight to Prometheus and through
# /proxy/projects/team-a/datasources/prom (tenant rewrite included), alternating, on loopback.
#
# Targets per round:
#   direct           Prometheus, the query as the client sends it (all three namespaces)
#   direct-enforced  Prometheus, the query as the proxy forwards it (namespace="team-a" added): the
#                    same upstream work as `proxied`, so the difference is the proxy alone
#   proxied          Pharos proxy → Prometheus with `Cache-Control: no-cache`: every request reaches
#                    Prometheus, so this is the proxy's cost (query layer, enforcement, auth)
#   proxied-auth-disabled  the same against a server started with --auth disabled
#   proxied-cached   Pharos proxy without the header: repeated identical queries are answered from
#                    the query layer's cache (what 50 viewers of one dashboard get)
# The goals (≥ 0.9x requests/s, < 1 ms added p99) are judged against direct-enforced.
#
#   bench/proxy-overhead.sh        needs target/release/pharos (cargo build --release -p pharos)
#
# Environment (all optional):
#   BENCH_CONNECTIONS="1 16"   wrk connection counts; every count runs for both targets
#   BENCH_THREADS=1            wrk threads (≤ connections)
#   BENCH_DURATION=15s         each measured run
#   BENCH_WARMUP=5s            one unrecorded run per target and count before measuring
#   BENCH_ROUNDS=3             alternating direct/proxied rounds; the report uses the medians
#   PHAROS_BIN, BENCH_KEEP_TMP see bench/lib/common.sh
#
# Writes bench/results/proxy-overhead.txt (summary table, then every wrk report).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CONNECTIONS=${BENCH_CONNECTIONS:-1 16}
THREADS=${BENCH_THREADS:-1}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
PROJECT=team-a
DATASOURCE=prom
QUERY='sum by (namespace) (rate(pharos_test_requests_total[5m]))'
ENFORCED_QUERY='sum by (namespace) (rate(pharos_test_requests_total{namespace="team-a"}[5m]))'
# Through the proxy this must still only see team-a (the rewrite replaces the conflicting matcher).
FOREIGN_QUERY='pharos_test_requests_total{namespace="team-b"}'
STEP=60
# team-a's pods grow by 1/s and 2/s (scripts/README.md), so the sum of their rates is 3/s.
TEAM_A_RATE=3

require_tools wrk curl python3
pharos_binary >/dev/null
RAW=$BENCH_TMP/raw.txt
RECORDS=$BENCH_TMP/records.txt
: >"$RAW"
: >"$RECORDS"

start_peers prometheus
END=$PHAROS_TEST_TENANT_DATA_END
START=$((END - 6 * 3600))
# Two servers with the same project and datasource: one with logins and RBAC (the default), one
# with --auth disabled, so the cost of authentication and authorization is their ratio.
setup_tenant() {
  api POST "$PHAROS_URL/api/v1/projects" \
    "{\"kind\":\"Project\",\"metadata\":{\"name\":\"$PROJECT\"},\"spec\":{\"namespaces\":[\"$PROJECT\"]}}" >/dev/null
  api POST "$PHAROS_URL/api/v1/projects/$PROJECT/datasources" "{\"kind\": \"Datasource\",
    \"metadata\": {\"name\": \"$DATASOURCE\", \"project\": \"$PROJECT\"},
    \"spec\": {\"default\": true, \"plugin\": {\"kind\": \"PrometheusDatasource\",
    \"spec\": {\"proxy\": {\"kind\": \"HTTPProxy\", \"spec\": {\"url\": \"$PHAROS_TEST_PROMETHEUS_URL\"}}}}}}" >/dev/null
}
BENCH_AUTH=disabled start_pharos "$BENCH_TMP/pharos-auth-disabled"
setup_tenant
NOAUTH_URL=$PHAROS_URL
start_pharos "$BENCH_TMP/pharos"
setup_tenant

DIRECT_URL=$PHAROS_TEST_PROMETHEUS_URL/api/v1/query_range
PROXIED_URL=$PHAROS_URL/proxy/projects/$PROJECT/datasources/$DATASOURCE/api/v1/query_range
python3 "$BENCH_HELPER" check-proxy --direct "$DIRECT_URL" --proxied "$PROXIED_URL" --query "$QUERY" \
  --foreign-query "$FOREIGN_QUERY" --start "$START" --end "$END" --step "$STEP" --namespace "$PROJECT" \
  --expected-value "$TEAM_A_RATE" --window-seconds 300 | tee -a "$BENCH_TMP/checks.txt" >&2

# Perses panels POST query_range as a form; wrk-report.lua sends BENCH_FORM_BODY.
form_body() {
  python3 -c 'import sys, urllib.parse as u
print(u.urlencode({"query": sys.argv[1], "start": sys.argv[2], "end": sys.argv[3], "step": sys.argv[4]}))' \
    "$1" "$START" "$END" "$STEP"
}
NOAUTH_PROXIED_URL=$NOAUTH_URL/proxy/projects/$PROJECT/datasources/$DATASOURCE/api/v1/query_range
TARGETS=(direct direct-enforced proxied proxied-auth-disabled proxied-cached)
declare -A TARGET_URL=([direct]=$DIRECT_URL [direct-enforced]=$DIRECT_URL [proxied]=$PROXIED_URL
  [proxied-auth-disabled]=$NOAUTH_PROXIED_URL [proxied-cached]=$PROXIED_URL)
declare -A TARGET_BODY=([direct]=$(form_body "$QUERY") [direct-enforced]=$(form_body "$ENFORCED_QUERY")
  [proxied]=$(form_body "$QUERY") [proxied-auth-disabled]=$(form_body "$QUERY")
  [proxied-cached]=$(form_body "$QUERY"))
# Only the server with logins gets the admin's token (what a browser session sends).
declare -A TARGET_TOKEN=([proxied]=$PHAROS_TOKEN [proxied-cached]=$PHAROS_TOKEN)
# The overhead targets skip the query layer's cache; `proxied-cached` shows what it saves.
declare -A TARGET_NOCACHE=([proxied]=1 [proxied-auth-disabled]=1)
target_args() {
  wrk_auth_args "${TARGET_TOKEN[$1]:-}"
  if [[ -n ${TARGET_NOCACHE[$1]:-} ]]; then
    echo -H
    echo "Cache-Control: no-cache"
  fi
}

for connections in $CONNECTIONS; do
  threads=$((THREADS < connections ? THREADS : connections))
  for target in "${TARGETS[@]}"; do
    say "warm-up: $target, $connections connections, $WARMUP"
    mapfile -t auth < <(target_args "$target")
    BENCH_FORM_BODY=${TARGET_BODY[$target]} wrk -t"$threads" -c"$connections" -d"$WARMUP" \
      "${auth[@]}" --script "$WRK_SCRIPT" "${TARGET_URL[$target]}" >/dev/null
  done
done

for ((round = 1; round <= ROUNDS; round++)); do
  # Reverse the order every other round so no target always runs right after the same one.
  order=("${TARGETS[@]}")
  ((round % 2 == 1)) || order=(proxied-cached proxied-auth-disabled proxied direct-enforced direct)
  for connections in $CONNECTIONS; do
    threads=$((THREADS < connections ? THREADS : connections))
    for target in "${order[@]}"; do
      export BENCH_FORM_BODY=${TARGET_BODY[$target]}
      mapfile -t auth < <(target_args "$target")
      run_wrk "$RAW" "$RECORDS" "round=$round connections=$connections target=$target" \
        -t"$threads" -c"$connections" -d"$DURATION" --latency "${auth[@]}" "${TARGET_URL[$target]}"
    done
  done
done

SUMMARY=$(python3 "$BENCH_HELPER" summarize-proxy "$RECORDS")
RESULT=$BENCH_DIR/results/proxy-overhead.txt
mkdir -p "$(dirname "$RESULT")"
{
  echo "# bench/proxy-overhead.sh"
  machine_info
  echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
  echo "load: POST form query_range over the 6 h ending $END, step $STEP"
  echo "query (direct, proxied): $QUERY"
  echo "query (direct-enforced): $ENFORCED_QUERY"
  echo "wrk: threads=$THREADS duration=$DURATION warmup=$WARMUP rounds=$ROUNDS connections=[$CONNECTIONS]"
  echo "direct:  $DIRECT_URL"
  echo "proxied: $PROXIED_URL (admin session token; RBAC and audit on; Cache-Control: no-cache)"
  echo "proxied-cached: the same without Cache-Control (answers from the query layer's cache)"
  echo "proxied-auth-disabled: $NOAUTH_PROXIED_URL (--auth disabled)"
  echo "check: $(cat "$BENCH_TMP/checks.txt")"
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
