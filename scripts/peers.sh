#!/usr/bin/env bash
# Start and stop the real services Pharos is tested against, on 127.0.0.1 only.
#
#   scripts/peers.sh start NAME...    install missing Debian packages, start, wait until really usable
#   scripts/peers.sh stop [NAME...]   stop by recorded PID (default: every peer)
#   scripts/peers.sh env              `export` lines for the running peers: eval "$(scripts/peers.sh env)"
#   scripts/peers.sh status [NAME...] one line per peer; with NAMEs, exit 0 only if all of them run
#
# NAME: prometheus postgres alertmanager pushgateway redis cluster_a cluster_b cluster_c, or `all`.
#
# Environment (all optional):
#   PHAROS_PEERS_DIR=<repo>/.peers      state: one dir per peer with pid, log, config, data
#   PHAROS_PEERS_PROMETHEUS_PORT=19090  PHAROS_PEERS_POSTGRES_PORT=15432
#   PHAROS_PEERS_ALERTMANAGER_PORT=19093  PHAROS_PEERS_PUSHGATEWAY_PORT=19091  PHAROS_PEERS_REDIS_PORT=16379
#   PHAROS_PEERS_TIMEOUT=60             seconds each peer may take to become usable
#   PHAROS_PEERS_STOP_TIMEOUT=20        seconds to wait for a clean exit before forcing it
#   PHAROS_PEERS_PG_BIN=/usr/lib/postgresql/15/bin
#   PHAROS_PEERS_PROMETHEUS_ARGS="..."  extra Prometheus flags
#   PHAROS_PEERS_ALERTMANAGER_CONFIG=F  use F instead of the generated alertmanager.yml
#   PHAROS_PEERS_ALERTMANAGER_WEBHOOK_PORT=19094  where the generated config sends its webhooks
#   PHAROS_PEERS_CLUSTER_A_PORT=19101  PHAROS_PEERS_CLUSTER_B_PORT=19102  PHAROS_PEERS_CLUSTER_C_PORT=19103
#
# Every start begins with empty data. Prometheus gets the deterministic data set of
# testdata/peers/gen-tenant-data.py backfilled (6 h ending 2026-01-01T00:00:00Z) and scrapes itself
# as jobs `prometheus`, `tenant-a` (namespace=team-a) and `tenant-b` (namespace=team-b), with one
# alerting rule, TenantTargetUp (`up{job="tenant-a"} > 0.5`), that fires from the first evaluation.
#
# Alertmanager (generated config) sends every alert, and its resolution, by webhook to a Pharos
# the test runs at 127.0.0.1:$PHAROS_PEERS_ALERTMANAGER_WEBHOOK_PORT/api/v1/alerts/webhook.
#
# cluster_a, cluster_b and cluster_c are three more, empty Prometheus servers that play the
# clusters of a fleet: each scrapes only itself (job `cluster`, external label cluster=<name>) and
# takes remote-write, so a test writes its own series into each. A test may stop one (say
# cluster_c) to see the fleet report it unreachable; `start` brings it back empty.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TENANT_DATA_GENERATOR="$REPO_ROOT/testdata/peers/gen-tenant-data.py"
TENANT_DATA_END=1767225600        # must match FIXED_END in the generator
TENANT_DATA_SERIES_PER_METRIC=6   # 3 namespaces x 2 pods

STATE_DIR=${PHAROS_PEERS_DIR:-$REPO_ROOT/.peers}
# Absolute, so the markers recorded at start match whatever directory stop is run from.
[[ ! -d $STATE_DIR ]] || STATE_DIR=$(cd "$STATE_DIR" && pwd -P)
READY_TIMEOUT=${PHAROS_PEERS_TIMEOUT:-60}
STOP_TIMEOUT=${PHAROS_PEERS_STOP_TIMEOUT:-20}
export DEBIAN_FRONTEND=noninteractive

# Start order: Prometheus last, so its generated config can point at whatever else runs.
ALL_PEERS=(alertmanager pushgateway redis postgres prometheus cluster_a cluster_b cluster_c)
CLUSTER_PEERS=(cluster_a cluster_b cluster_c)
declare -A DEFAULT_PORT=([prometheus]=19090 [postgres]=15432 [alertmanager]=19093 [pushgateway]=19091 [redis]=16379
  [cluster_a]=19101 [cluster_b]=19102 [cluster_c]=19103)
# The program name that must appear in /proc/PID/cmdline before we signal a recorded PID.
declare -A PROGRAM=([prometheus]=prometheus [postgres]=postgres [alertmanager]=prometheus-alertmanager
  [pushgateway]=prometheus-pushgateway [redis]=redis-server
  [cluster_a]=prometheus [cluster_b]=prometheus [cluster_c]=prometheus)
ALERTMANAGER_WEBHOOK_PORT=${PHAROS_PEERS_ALERTMANAGER_WEBHOOK_PORT:-19094}

say() { echo "peers: $*" >&2; }
fail() {
  echo "peers: error: $*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
seconds_since() { local t=$(($(now_ms) - $1)); printf '%d.%02d' $((t / 1000)) $((t % 1000 / 10)); }

is_known_peer() { [[ -n ${DEFAULT_PORT[$1]:-} ]]; }
port_variable() { echo "PHAROS_PEERS_${1^^}_PORT"; }
configured_port() {
  local var port
  var=$(port_variable "$1")
  port=${!var:-${DEFAULT_PORT[$1]}}
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port == 0 || port > 65535)); then
    fail "$var=$port is not a TCP port number"
  fi
  echo "$port"
}
peer_dir() { echo "$STATE_DIR/$1"; }
# The port a running peer was started with (the environment may have changed since).
recorded_port() { cat "$(peer_dir "$1")/port" 2>/dev/null || configured_port "$1"; }

# ---------------------------------------------------------------- processes

# A PID counts as running unless it is gone or a zombie: daemons reparented to PID 1 can stay
# zombies for a while here, and `kill -0` still succeeds on those.
is_running() {
  local stat state
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  state=${stat##*) } # the command name in field 2 may itself contain spaces or ')'
  state=${state%% *}
  [[ $state != Z && $state != X ]]
}

# Print the recorded PID of NAME if it is alive and still our process: the program name and the
# peer's own marker (config path, data dir or listen address) must be in its command line, so a
# reused PID or somebody else's Prometheus on the same machine is never signalled.
owned_pid() {
  local dir pid marker cmdline
  dir=$(peer_dir "$1")
  pid=$(cat "$dir/pid" 2>/dev/null) || return 1
  marker=$(cat "$dir/marker" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && is_running "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"${PROGRAM[$1]}"* && $cmdline == *"$marker"* ]] || return 1
  echo "$pid"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Run a peer in the background in its own session (so a Ctrl-C in the caller's terminal does not
# reach it; the caller's trap stops it), detached from our stdout so `$(peers.sh ...)` cannot hang.
launch() {
  local name=$1 dir
  shift
  dir=$(peer_dir "$name")
  setsid "$@" >"$dir/log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
}

signal_and_wait() {
  local pid=$1 signal=$2 deadline=$((SECONDS + STOP_TIMEOUT))
  kill -s "$signal" "$pid" 2>/dev/null || true
  while is_running "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# PostgreSQL: SIGINT is its fast shutdown (SIGTERM waits for every client to disconnect) and SIGQUIT
# its immediate one. Everything else exits cleanly on SIGTERM.
terminate() {
  local name=$1 pid=$2 first=TERM second=KILL
  [[ $name == postgres ]] && first=INT second=QUIT
  signal_and_wait "$pid" "$first" && return 0
  say "$name (pid $pid) still running ${STOP_TIMEOUT}s after SIG$first; sending SIG$second"
  signal_and_wait "$pid" "$second" && return 0
  kill -KILL "$pid" 2>/dev/null || true
  signal_and_wait "$pid" KILL || fail "$name (pid $pid) survived SIGKILL"
}

# wait_until NAME PID WHAT CHECK...: poll CHECK until it succeeds; give up if the process exits or
# READY_TIMEOUT passes (the log tail then says why).
wait_until() {
  local name=$1 pid=$2 what=$3 deadline=$((SECONDS + READY_TIMEOUT))
  shift 3
  until "$@"; do
    if ! is_running "$pid"; then
      tail -n 25 "$(peer_dir "$name")/log" >&2 || true
      fail "$name exited before it was $what; full log: $(peer_dir "$name")/log"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 25 "$(peer_dir "$name")/log" >&2 || true
      fail "$name was not $what within ${READY_TIMEOUT}s (PHAROS_PEERS_TIMEOUT); log: $(peer_dir "$name")/log"
    fi
    sleep 0.1
  done
}

# Empty a data dir; refuses anything outside the state dir so a bad variable cannot delete elsewhere.
fresh_dir() {
  [[ $1 == "$STATE_DIR"/* ]] || fail "internal: refusing to empty $1 (outside $STATE_DIR)"
  rm -rf -- "$1"
  mkdir -p "$1"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# ---------------------------------------------------------------- packages

missing_packages() {
  local name
  command -v curl >/dev/null || echo curl
  command -v setsid >/dev/null || echo util-linux
  for name in "$@"; do
    case $name in
      cluster_a | cluster_b | cluster_c) command -v prometheus >/dev/null || echo prometheus ;;
      prometheus)
        command -v prometheus >/dev/null && command -v promtool >/dev/null || echo prometheus
        command -v python3 >/dev/null || echo python3
        ;;
      alertmanager) command -v prometheus-alertmanager >/dev/null || echo prometheus-alertmanager ;;
      pushgateway) command -v prometheus-pushgateway >/dev/null || echo prometheus-pushgateway ;;
      redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null || echo redis-server ;;
      postgres) [[ -n $(postgres_bin_dir) ]] || echo postgresql-15 ;;
    esac
  done
}

# apt-get, retried while another apt/dpkg run holds its lock (DPkg::Lock::Timeout covers the dpkg
# lock of `install` but not the lists lock of `update`, which fails at once).
apt_get() {
  local deadline=$((SECONDS + 300)) output status
  while :; do
    status=0
    output=$("${AS_ROOT[@]}" apt-get -o DPkg::Lock::Timeout=300 "$@" 2>&1) || status=$?
    echo "$output" >>"$STATE_DIR/apt.log"
    ((status == 0)) && return 0
    if [[ $output == *"Could not get lock"* ]] && ((SECONDS < deadline)); then
      say "apt is busy in another process; retrying in 3s"
      sleep 3
      continue
    fi
    return "$status"
  done
}

install_packages() {
  local packages=() started made_policy=0 status=0
  mapfile -t packages < <(missing_packages "$@" | sort -u)
  ((${#packages[@]} > 0)) || return 0
  AS_ROOT=()
  if ((EUID != 0)); then
    sudo -n true 2>/dev/null ||
      fail "missing packages ${packages[*]}; as root run: apt-get install -y --no-install-recommends ${packages[*]}"
    AS_ROOT=(sudo -n)
  fi
  # Package scripts must not start system-wide daemons on the default ports; policy-rc.d says no.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${AS_ROOT[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${AS_ROOT[@]}" chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  started=$(now_ms)
  say "installing ${packages[*]} (log: $STATE_DIR/apt.log)"
  apt_get update -qq && apt_get install -y -qq --no-install-recommends "${packages[@]}" || status=$?
  ((made_policy)) && "${AS_ROOT[@]}" rm -f /usr/sbin/policy-rc.d
  if ((status != 0)); then
    tail -n 20 "$STATE_DIR/apt.log" >&2
    fail "apt-get could not install ${packages[*]} (exit $status)"
  fi
  say "installed ${packages[*]} in $(seconds_since "$started")s"
  mapfile -t packages < <(missing_packages "$@")
  ((${#packages[@]} == 0)) || fail "still missing after apt-get install: ${packages[*]}"
}

# ---------------------------------------------------------------- PostgreSQL

postgres_bin_dir() {
  local dir
  for dir in "${PHAROS_PEERS_PG_BIN:-/usr/lib/postgresql/15/bin}" /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && { echo "$dir"; return 0; }
  done
  return 0
}

# The cluster lives in a short temp dir under /tmp: the state dir may sit below a path the
# `postgres` user cannot enter (e.g. /root), and unix socket paths must stay under 108 bytes.
start_postgres() {
  local dir bin cluster port as_owner=()
  dir=$(peer_dir postgres)
  bin=$(postgres_bin_dir)
  port=$(configured_port postgres)
  if ((EUID == 0)); then # postgres refuses to run as root
    id postgres >/dev/null 2>&1 || fail "user 'postgres' does not exist; install postgresql-15 (it creates it)"
    as_owner=(runuser -u postgres --)
  fi
  cluster=$(mktemp -d /tmp/pharos-pg.XXXXXX)
  echo "$cluster" >"$dir/cluster"
  echo "$cluster/data" >"$dir/marker"
  ((${#as_owner[@]} == 0)) || chown postgres: "$cluster"
  # cd /: the postgres user may not be allowed to stay in the caller's working directory
  (cd / && "${as_owner[@]}" "$bin/initdb" -D "$cluster/data" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C.UTF-8) >"$dir/initdb.log" 2>&1 || {
    tail -n 20 "$dir/initdb.log" >&2
    fail "initdb failed; log: $dir/initdb.log"
  }
  (cd / && setsid "${as_owner[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/postgres.log" -w \
    -t "$READY_TIMEOUT" -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off" start) >"$dir/pg_ctl.log" 2>&1 || {
    tail -n 20 "$cluster/postgres.log" >&2 || true
    fail "pg_ctl could not start PostgreSQL; see $dir/pg_ctl.log"
  }
  ln -sfn "$cluster/postgres.log" "$dir/log"
  head -n 1 "$cluster/data/postmaster.pid" >"$dir/pid"
}

postgres_answers() {
  local psql
  psql=$(postgres_bin_dir)/psql
  [[ -x $psql ]] || psql=psql
  [[ $("$psql" -h 127.0.0.1 -p "$(configured_port postgres)" -U postgres -d postgres -XAtqc 'select 1' \
    2>/dev/null) == 1 ]]
}

# Keep the server log (copied into the state dir), drop the cluster.
remove_postgres_cluster() {
  local dir cluster
  dir=$(peer_dir postgres)
  cluster=$(cat "$dir/cluster" 2>/dev/null) || return 0
  [[ $cluster == /tmp/pharos-pg.* ]] || fail "internal: $dir/cluster names an unexpected path: $cluster"
  rm -f "$dir/log"
  cp "$cluster/postgres.log" "$dir/log" 2>/dev/null || true
  rm -rf -- "$cluster"
  rm -f "$dir/cluster"
}

# ---------------------------------------------------------------- Prometheus

prometheus_config() {
  local port=$1
  cat <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
# One alerting rule that fires while tenant-a's target is up (the alert overlay tests draw it).
rule_files: [rules.yml]
EOF
  if owned_pid alertmanager >/dev/null; then
    cat <<EOF
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$(recorded_port alertmanager)']}]
EOF
  fi
  # Three jobs on the same target give `up` one series per tenant plus one without a namespace.
  cat <<EOF
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$port']}]
  - job_name: tenant-a
    static_configs: [{targets: ['127.0.0.1:$port'], labels: {namespace: team-a}}]
  - job_name: tenant-b
    static_configs: [{targets: ['127.0.0.1:$port'], labels: {namespace: team-b}}]
EOF
  if owned_pid pushgateway >/dev/null; then
    cat <<EOF
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ['127.0.0.1:$(recorded_port pushgateway)']}]
EOF
  fi
}

prometheus_rules() {
  cat <<'EOF'
groups:
  - name: pharos-test
    rules:
      - alert: TenantTargetUp
        expr: up{job="tenant-a"} > 0.5
        labels: {severity: info}
        annotations: {summary: "tenant-a's scrape target is up (a test rule that always fires)"}
EOF
}

start_prometheus() {
  local dir port started extra=()
  dir=$(peer_dir prometheus)
  port=$(configured_port prometheus)
  # The head only accepts samples newer than the last backfilled block, so with a clock before the
  # data set's end Prometheus would silently drop all its own scrapes.
  (($(date +%s) > TENANT_DATA_END + 60)) ||
    fail "the system clock ($(date -u +%FT%TZ)) is before the backfilled data end (2026-01-01T00:00:00Z)"
  fresh_dir "$dir/data"
  prometheus_config "$port" >"$dir/prometheus.yml"
  prometheus_rules >"$dir/rules.yml"
  echo "$dir/prometheus.yml" >"$dir/marker"
  promtool check config "$dir/prometheus.yml" >"$dir/check-config.log" 2>&1 || {
    cat "$dir/check-config.log" >&2
    fail "generated $dir/prometheus.yml is invalid"
  }

  started=$(now_ms)
  python3 "$TENANT_DATA_GENERATOR" --output "$dir/tenant-data.om" || fail "$TENANT_DATA_GENERATOR failed"
  # 24h is the largest block size that promtool accepts here; bigger blocks mean fewer passes.
  promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$dir/tenant-data.om" "$dir/data" \
    >"$dir/backfill.log" 2>&1 || {
    tail -n 20 "$dir/backfill.log" >&2
    fail "promtool could not backfill $dir/tenant-data.om; log: $dir/backfill.log"
  }
  say "backfilled the tenant data set in $(seconds_since "$started")s"

  read -r -a extra <<<"${PHAROS_PEERS_PROMETHEUS_ARGS:-}"
  launch prometheus prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --web.external-url="http://127.0.0.1:$port" \
    --storage.tsdb.retention.time=100y --web.enable-remote-write-receiver --web.enable-lifecycle "${extra[@]}"
}

# prometheus_has_result QUERY [TIME]: the instant query returns at least one series.
prometheus_has_result() {
  local args=(--data-urlencode "query=$1")
  [[ -n ${2:-} ]] && args+=(--data-urlencode "time=$2")
  curl -fsS --max-time 5 -G "http://127.0.0.1:$(configured_port prometheus)/api/v1/query" "${args[@]}" \
    2>/dev/null | grep -q '"result":\[{'
}

prometheus_ready() { http_ok "http://127.0.0.1:$(configured_port prometheus)/-/ready"; }

# /-/ready answers long before the first scrape (target discovery waits ~5 s), so wait for data.
prometheus_scraped_every_job() {
  local jobs
  jobs=$(grep -c '^  - job_name:' "$(peer_dir prometheus)/prometheus.yml")
  prometheus_has_result "count(up == 1) == $jobs"
}

prometheus_has_tenant_data() {
  prometheus_has_result "count(pharos_test_requests_total) == $TENANT_DATA_SERIES_PER_METRIC" "$TENANT_DATA_END"
}

# ---------------------------------------------------------------- the fleet's cluster Prometheus servers

start_cluster() {
  local name=$1 dir port
  dir=$(peer_dir "$name")
  port=$(configured_port "$name")
  fresh_dir "$dir/data"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  external_labels: {cluster: ${name#cluster_}}
scrape_configs:
  - job_name: cluster
    static_configs: [{targets: ['127.0.0.1:$port']}]
EOF
  echo "$dir/prometheus.yml" >"$dir/marker"
  launch "$name" prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --web.external-url="http://127.0.0.1:$port" \
    --web.enable-remote-write-receiver --web.enable-lifecycle
}
start_cluster_a() { start_cluster cluster_a; }
start_cluster_b() { start_cluster cluster_b; }
start_cluster_c() { start_cluster cluster_c; }
# Ready, not yet scraped (the first scrape comes ~5 s later): tests write their own series.
cluster_ready() { http_ok "http://127.0.0.1:$(configured_port "$1")/-/ready"; }
cluster_a_ready() { cluster_ready cluster_a; }
cluster_b_ready() { cluster_ready cluster_b; }
cluster_c_ready() { cluster_ready cluster_c; }

# ---------------------------------------------------------------- Alertmanager, Pushgateway, Redis

start_alertmanager() {
  local dir port
  dir=$(peer_dir alertmanager)
  port=$(configured_port alertmanager)
  fresh_dir "$dir/data"
  if [[ -n ${PHAROS_PEERS_ALERTMANAGER_CONFIG:-} ]]; then
    cp "$PHAROS_PEERS_ALERTMANAGER_CONFIG" "$dir/alertmanager.yml"
  else
    [[ $ALERTMANAGER_WEBHOOK_PORT =~ ^[0-9]+$ ]] ||
      fail "PHAROS_PEERS_ALERTMANAGER_WEBHOOK_PORT=$ALERTMANAGER_WEBHOOK_PORT is not a TCP port number"
    # One group per alert, sent at once and again on every change, so a test sees each fire and
    # resolve within about a second. While no Pharos listens there, Alertmanager retries and logs.
    cat >"$dir/alertmanager.yml" <<EOF
route:
  receiver: pharos
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: pharos
    webhook_configs:
      - url: http://127.0.0.1:$ALERTMANAGER_WEBHOOK_PORT/api/v1/alerts/webhook
        send_resolved: true
EOF
  fi
  echo "$dir/alertmanager.yml" >"$dir/marker"
  # An empty cluster address turns off HA gossip, which would otherwise bind 0.0.0.0:9094.
  launch alertmanager prometheus-alertmanager --config.file="$dir/alertmanager.yml" \
    --storage.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
    --web.external-url="http://127.0.0.1:$port" --cluster.listen-address=
}
alertmanager_ready() { http_ok "http://127.0.0.1:$(configured_port alertmanager)/-/ready"; }

start_pushgateway() {
  local port
  port=$(configured_port pushgateway)
  echo "127.0.0.1:$port" >"$(peer_dir pushgateway)/marker"
  launch pushgateway prometheus-pushgateway --web.listen-address="127.0.0.1:$port" \
    --web.enable-admin-api --web.enable-lifecycle
}
pushgateway_ready() { http_ok "http://127.0.0.1:$(configured_port pushgateway)/-/ready"; }

start_redis() {
  local dir port
  dir=$(peer_dir redis)
  port=$(configured_port redis)
  fresh_dir "$dir/data"
  # Redis rewrites its process title to "redis-server 127.0.0.1:PORT"; that is what owned_pid sees.
  echo "127.0.0.1:$port" >"$dir/marker"
  launch redis redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/data" --save '' \
    --appendonly no --daemonize no
}
redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$(configured_port redis)" ping 2>/dev/null) == PONG ]]; }

# ---------------------------------------------------------------- commands

# Set SELECTED to the named peers (all of them without names or with `all`) in start order;
# unknown names are an error. A global, not output, so that `fail` here ends the script.
SELECTED=()
select_peers() {
  local requested=" $* " name
  [[ $# -gt 0 && $requested != *" all "* ]] || requested=" ${ALL_PEERS[*]} "
  for name in $requested; do
    is_known_peer "$name" || fail "unknown peer '$name' (known: ${ALL_PEERS[*]}, all)"
  done
  SELECTED=()
  for name in "${ALL_PEERS[@]}"; do
    [[ $requested != *" $name "* ]] || SELECTED+=("$name")
  done
}

# On a failed start, stop what this call started so nothing is left half-running.
STARTED_NOW=()
undo_partial_start() {
  local status=$? name
  ((status != 0)) || return 0
  for name in "${STARTED_NOW[@]}"; do stop_peer "$name"; done
}

start_peer() {
  local name=$1 dir port pid started
  dir=$(peer_dir "$name")
  if pid=$(owned_pid "$name"); then
    say "$name already running (pid $pid, port $(recorded_port "$name")); stop it first to restart"
    return 0
  fi
  stop_peer "$name" # clears a stale pid file or a PostgreSQL cluster left by a crash
  port=$(configured_port "$name")
  port_in_use "$port" &&
    fail "$name: 127.0.0.1:$port is already taken by another process; choose a free one with $(port_variable "$name")=PORT"
  mkdir -p "$dir"
  echo "$port" >"$dir/port"
  started=$(now_ms)
  STARTED_NOW+=("$name")
  "start_$name"
  pid=$(cat "$dir/pid")
  wait_until "$name" "$pid" "ready" "${name}_ready"
  if [[ $name == prometheus ]]; then
    wait_until prometheus "$pid" "scraping all its jobs" prometheus_scraped_every_job
    wait_until prometheus "$pid" "serving the backfilled data" prometheus_has_tenant_data
  fi
  owned_pid "$name" >/dev/null || fail "$name (pid $pid) is ready but its command line does not match; see $dir/log"
  say "$name ready on 127.0.0.1:$port (pid $pid) in $(seconds_since "$started")s"
}
postgres_ready() { postgres_answers; }

cmd_start() {
  local names=() name started
  (($# > 0)) || fail "usage: peers.sh start NAME... (${ALL_PEERS[*]}, all)"
  select_peers "$@"
  names=("${SELECTED[@]}")
  started=$(now_ms)
  mkdir -p "$STATE_DIR"
  STATE_DIR=$(cd "$STATE_DIR" && pwd -P)
  install_packages "${names[@]}"
  trap undo_partial_start EXIT
  for name in "${names[@]}"; do start_peer "$name"; done
  trap - EXIT
  say "started ${names[*]} in $(seconds_since "$started")s (state: $STATE_DIR)"
}

stop_peer() {
  local name=$1 dir pid
  dir=$(peer_dir "$name")
  if pid=$(owned_pid "$name"); then
    terminate "$name" "$pid"
    say "stopped $name (pid $pid)"
  elif [[ -f $dir/pid ]]; then
    say "$name: pid $(cat "$dir/pid") is no longer our $name; forgetting it"
  fi
  rm -f "$dir/pid"
  [[ $name != postgres ]] || remove_postgres_cluster
  # Data is per start; logs and configs stay for reading after a failed run.
  [[ ! -d $dir/data ]] || rm -rf -- "$dir/data"
  rm -f "$dir/tenant-data.om"
}

cmd_stop() {
  local names=() i
  select_peers "$@"
  names=("${SELECTED[@]}")
  [[ -d $STATE_DIR ]] || return 0
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do stop_peer "${names[i]}"; done
}

cmd_env() {
  local port
  if owned_pid prometheus >/dev/null; then
    port=$(recorded_port prometheus)
    printf 'export %s=%q\n' PHAROS_TEST_PROMETHEUS_URL "http://127.0.0.1:$port" \
      PHAROS_TEST_TENANT_DATA_END "$TENANT_DATA_END"
  fi
  if owned_pid postgres >/dev/null; then
    port=$(recorded_port postgres)
    printf 'export %s=%q\n' PHAROS_TEST_DATABASE_URL "postgres://postgres@127.0.0.1:$port/postgres"
  fi
  if owned_pid alertmanager >/dev/null; then
    printf 'export %s=%q\n' PHAROS_TEST_ALERTMANAGER_URL "http://127.0.0.1:$(recorded_port alertmanager)" \
      PHAROS_TEST_ALERTMANAGER_WEBHOOK_PORT "$ALERTMANAGER_WEBHOOK_PORT"
  fi
  local name
  for name in "${CLUSTER_PEERS[@]}"; do
    # Also while stopped (once started), so a test that stopped one can still name it.
    [[ -f $(peer_dir "$name")/port ]] || continue
    printf 'export %s=%q\n' "PHAROS_TEST_${name^^}_URL" "http://127.0.0.1:$(recorded_port "$name")"
  done
  if owned_pid pushgateway >/dev/null; then
    printf 'export %s=%q\n' PHAROS_TEST_PUSHGATEWAY_URL "http://127.0.0.1:$(recorded_port pushgateway)"
  fi
  if owned_pid redis >/dev/null; then
    printf 'export %s=%q\n' PHAROS_TEST_REDIS_URL "redis://127.0.0.1:$(recorded_port redis)/0"
  fi
}

cmd_status() {
  local name pid missing=0
  select_peers "$@"
  for name in "${SELECTED[@]}"; do
    if pid=$(owned_pid "$name"); then
      echo "$name running pid=$pid port=$(recorded_port "$name")"
    else
      echo "$name stopped"
      missing=1
    fi
  done
  # Without names this is a listing; with names, callers use the exit code as "are they all up?"
  (($# > 0)) || return 0
  return "$missing"
}

main() {
  local command=${1:-help}
  (($# == 0)) || shift
  case $command in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    env) cmd_env ;;
    status) cmd_status "$@" ;;
    help | -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" ;;
    *) fail "unknown command '$command' (start, stop, env, status, help)" ;;
  esac
}

main "$@"
