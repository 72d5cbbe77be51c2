# shellcheck shell=bash disable=SC2034  # sourced; the variables are used by the scripts
# Shared by the bench/*.sh scripts (sourced, not run). Starts and stops only what it started:
# peers in a private PHAROS_PEERS_DIR on free ports, and Pharos processes by their recorded PID.
#
# Environment (all optional):
#   PHAROS_BIN        the server binary (default: <target dir>/release/pharos; build it with
#                     `cargo build --release -p pharos`)
#   BENCH_KEEP_TMP=1  keep the temp dir (Pharos logs, databases, peer logs) after the run

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BENCH_DIR=$REPO_ROOT/bench
BENCH_HELPER=$BENCH_DIR/lib/bench_helper.py
WRK_SCRIPT=$BENCH_DIR/lib/wrk-report.lua
PEERS=$REPO_ROOT/scripts/peers.sh

BENCH_TMP=$(mktemp -d /tmp/pharos-bench.XXXXXX)
# A private peers state dir: `peers.sh stop` with it can only ever stop the peers we started.
export PHAROS_PEERS_DIR=$BENCH_TMP/peers
PEERS_STARTED=0
PHAROS_PIDS=()
USED_PORTS=" "
BENCH_START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

say() { echo "bench: $*" >&2; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}

# ---------------------------------------------------------------- cleanup

stop_pid() {
  local pid=$1 deadline=$((SECONDS + 15))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local status=$? pid
  trap - EXIT INT TERM
  for pid in "${PHAROS_PIDS[@]}"; do stop_pid "$pid"; done
  if ((PEERS_STARTED)); then
    "$PEERS" stop >/dev/null 2>&1 || say "peers.sh stop failed; check $PHAROS_PEERS_DIR"
  fi
  if ((status != 0)) || [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then
    say "logs and data kept in $BENCH_TMP"
  else
    rm -rf -- "$BENCH_TMP"
  fi
  exit "$status"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- ports, binaries, machine

# A free loopback port, different from every port this run already handed out.
free_port() {
  local port
  while :; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    [[ $USED_PORTS == *" $port "* ]] || break
  done
  USED_PORTS+="$port "
  echo "$port"
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install $tool)"
  done
}

pharos_binary() {
  local binary=${PHAROS_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/pharos}
  [[ -x $binary ]] || die "no Pharos release binary at $binary; run: cargo build --release -p pharos"
  echo "$binary"
}

machine_info() {
  local cpu
  cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "date: $(date -u +%FT%TZ)"
  echo "machine: $(nproc) CPUs (${cpu:-unknown model}), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr)"
  local binary
  binary=$(pharos_binary 2>/dev/null) || binary=
  # The binary may predate the tree's HEAD: give both.
  echo "pharos: $("$binary" --version 2>/dev/null || echo unknown), built $(date -u -r "$binary" +%FT%TZ 2>/dev/null || echo '?'); tree at $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_ROOT" diff --quiet HEAD -- crates 2>/dev/null || echo ' with uncommitted changes')"
  echo "wrk version: $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
  # Shared machines: other work during the run skews the numbers, so say how busy it was.
  echo "load average at start: $BENCH_START_LOAD; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---------------------------------------------------------------- peers

# start_peers NAME...: the named peers on free ports in the private state dir, then their
# PHAROS_TEST_* variables exported.
start_peers() {
  local name var
  for name in "$@"; do
    var="PHAROS_PEERS_${name^^}_PORT"
    export "$var=$(free_port)"
  done
  PEERS_STARTED=1
  "$PEERS" start "$@" || die "peers.sh start $* failed (log: $PHAROS_PEERS_DIR)"
  eval "$("$PEERS" env)"
}

# ---------------------------------------------------------------- Pharos

# The first administrator's password in every Pharos a bench starts.
BENCH_ADMIN_PASSWORD=bench-admin-password

# start_pharos DATA_DIR [DATABASE_URL]: sets PHAROS_URL, PHAROS_PID and PHAROS_TOKEN (the admin's
# access token, sent by `api` and by `wrk_auth_args`); the log goes to DATA_DIR/log. With
# BENCH_AUTH=disabled the server runs with `--auth disabled` and PHAROS_TOKEN is empty.
start_pharos() {
  local data_dir=$1 database_url=${2:-} port args deadline
  port=$(free_port)
  mkdir -p "$data_dir"
  args=(serve --listen "127.0.0.1:$port" --data-dir "$data_dir" --auth "${BENCH_AUTH:-native}")
  # BENCH_CONFIG: a config file for this server (limits a bench must raise).
  [[ -z ${BENCH_CONFIG:-} ]] || args+=(--config "$BENCH_CONFIG")
  [[ -z $database_url ]] || args+=(--database-url "$database_url")
  PHAROS_ADMIN_PASSWORD=$BENCH_ADMIN_PASSWORD "$(pharos_binary)" "${args[@]}" >"$data_dir/log" 2>&1 </dev/null &
  PHAROS_PID=$!
  PHAROS_PIDS+=("$PHAROS_PID")
  PHAROS_URL=http://127.0.0.1:$port
  deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null --max-time 2 "$PHAROS_URL/ready" 2>/dev/null; do
    if ! kill -0 "$PHAROS_PID" 2>/dev/null; then
      tail -n 20 "$data_dir/log" >&2
      die "Pharos exited during start; log: $data_dir/log"
    fi
    ((SECONDS < deadline)) || die "Pharos was not ready within 60 s; log: $data_dir/log"
    sleep 0.1
  done
  PHAROS_TOKEN=
  if [[ ${BENCH_AUTH:-native} != disabled ]]; then
    PHAROS_TOKEN=$(curl -fsS -X POST -H 'content-type: application/json' \
      --data "{\"login\":\"admin\",\"password\":\"$BENCH_ADMIN_PASSWORD\"}" \
      "$PHAROS_URL/api/auth/providers/native/login" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') ||
      die "cannot log in to Pharos at $PHAROS_URL; log: $data_dir/log"
  fi
  export PHAROS_TOKEN
  say "Pharos ready at $PHAROS_URL (pid $PHAROS_PID, auth ${BENCH_AUTH:-native})"
}

# wrk_auth_args TOKEN: the header arguments that make wrk send TOKEN, one per line (none for an
# empty one).
wrk_auth_args() {
  [[ -z $1 ]] || printf '%s\n' -H "authorization: Bearer $1"
}

stop_pharos() {
  local pid=$1 kept=() other
  stop_pid "$pid"
  for other in "${PHAROS_PIDS[@]}"; do [[ $other == "$pid" ]] || kept+=("$other"); done
  PHAROS_PIDS=("${kept[@]}")
}

# api METHOD URL [JSON]: a JSON request (as the admin, with PHAROS_TOKEN) that must answer 200;
# prints the body.
api() {
  local method=$1 url=$2 body=${3:-} status out auth=()
  out=$BENCH_TMP/api-answer
  [[ -z ${PHAROS_TOKEN:-} ]] || auth=(-H "authorization: Bearer $PHAROS_TOKEN")
  if [[ -n $body ]]; then
    status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "${auth[@]}" -H 'content-type: application/json' \
      --data-binary "$body" "$url")
  else
    status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "${auth[@]}" "$url")
  fi
  [[ $status == 200 ]] || die "$method $url answered $status: $(head -c 400 "$out")"
  cat "$out"
}

# ---------------------------------------------------------------- wrk

# run_wrk RAW_LOG RECORDS "TAGS" WRK_ARGS...: one wrk run with the report script. wrk's own output
# is appended to RAW_LOG; "TAGS" plus the BENCH line go to RECORDS. Any non-2xx answer or socket
# error fails the run: a benchmark of error responses measures nothing.
run_wrk() {
  local raw_log=$1 records=$2 tags=$3 output line
  shift 3
  output=$(wrk --script "$WRK_SCRIPT" "$@") || die "wrk $* failed: $output"
  {
    echo "### $tags: wrk $*"
    grep -v '^BENCH ' <<<"$output"
    echo
  } >>"$raw_log"
  line=$(grep '^BENCH ' <<<"$output") || die "wrk printed no BENCH line (is $WRK_SCRIPT intact?)"
  [[ $line == *" non2xx=0 socket_errors=0" ]] || die "errors during the run ($tags): $line; see $raw_log"
  echo "$tags ${line#BENCH }" >>"$records"
  say "$tags: ${line#BENCH }"
}
