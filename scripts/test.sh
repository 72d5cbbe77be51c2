#!/usr/bin/env bash
# The project's test command: formatting, lints, then every test against real peers.
#
#   scripts/test.sh [--no-lint] [--only-unit] [--keep-going]
#
#   --no-lint     skip `cargo fmt --check` and clippy
#   --only-unit   do not start peers; tests that need one skip themselves (nothing PHAROS_TEST_*
#                 or PHAROS_REQUIRE_* from the caller's environment is passed on)
#   --keep-going  run the remaining steps after a failure (the exit status still reports it)
#
# Peers (scripts/peers.sh) are started here and stopped on exit, also after a failure or Ctrl-C;
# peers that were already running before are reused and left running. With peers, the tests see
# PHAROS_TEST_* URLs plus PHAROS_REQUIRE_PEERS=1 and PHAROS_REQUIRE_POSTGRES=1, so a test that
# cannot reach its peer fails instead of skipping. Prints a timing summary per step; exits
# non-zero if any step failed.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO_ROOT"
PEERS_SCRIPT="$REPO_ROOT/scripts/peers.sh"
PEERS=(prometheus postgres)

lint=1
with_peers=1
keep_going=0
for arg in "$@"; do
  case $arg in
    --no-lint) lint=0 ;;
    --only-unit) with_peers=0 ;;
    --keep-going) keep_going=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *)
      echo "test.sh: unknown option '$arg' (--no-lint, --only-unit, --keep-going, --help)" >&2
      exit 2
      ;;
  esac
done

# ---------------------------------------------------------------- steps and summary

STEP_NAMES=()
STEP_SECONDS=()
STEP_RESULTS=()
failed_steps=0
peers_to_stop=()
current_step=""
current_step_started=0

now_ms() { date +%s%3N; }
format_ms() { printf '%d.%01d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# run_step NAME COMMAND...: run and time one step; stop at the first failure unless --keep-going.
run_step() {
  local name=$1 started status=0
  shift
  echo "==> $name: $*" >&2
  started=$(now_ms)
  current_step=$name current_step_started=$started
  "$@" || status=$?
  current_step=""
  STEP_NAMES+=("$name")
  STEP_SECONDS+=("$(format_ms $(($(now_ms) - started)))")
  if ((status == 0)); then
    STEP_RESULTS+=(ok)
  else
    STEP_RESULTS+=("FAILED (exit $status)")
    failed_steps=$((failed_steps + 1))
    echo "==> $name failed (exit $status)" >&2
    ((keep_going)) || exit "$status"
  fi
}

print_summary() {
  local i
  ((${#STEP_NAMES[@]} > 0)) || return 0
  echo >&2
  echo "test.sh summary (seconds):" >&2
  for i in "${!STEP_NAMES[@]}"; do
    printf '  %-28s %8s  %s\n' "${STEP_NAMES[i]}" "${STEP_SECONDS[i]}" "${STEP_RESULTS[i]}" >&2
  done
  printf '  %-28s %8s\n' total "$(format_ms $(($(now_ms) - SCRIPT_STARTED)))" >&2
}

# Runs on every exit: normal end, failed step, Ctrl-C or kill.
finish() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $current_step ]]; then # interrupted (Ctrl-C, kill) in the middle of a step
    STEP_NAMES+=("$current_step")
    STEP_SECONDS+=("$(format_ms $(($(now_ms) - current_step_started)))")
    STEP_RESULTS+=("INTERRUPTED")
  fi
  if ((${#peers_to_stop[@]} > 0)); then
    "$PEERS_SCRIPT" stop "${peers_to_stop[@]}" || status=1
  fi
  print_summary
  if ((status == 0 && failed_steps > 0)); then status=1; fi
  if ((status == 0)); then
    echo "test.sh: all steps passed" >&2
  else
    echo "test.sh: FAILED (exit $status)" >&2
  fi
  exit "$status"
}
SCRIPT_STARTED=$(now_ms)
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require_cargo_tool() {
  cargo "$1" --version >/dev/null 2>&1 ||
    { echo "test.sh: 'cargo $1' is not installed; run: rustup component add $2" >&2 && return 1; }
}

start_peers() {
  local name
  # Remember which peers this run starts, so the exit trap stops exactly those.
  for name in "${PEERS[@]}"; do
    if "$PEERS_SCRIPT" status "$name" >/dev/null; then
      echo "test.sh: reusing the running $name" >&2
    else
      peers_to_stop+=("$name")
    fi
  done
  "$PEERS_SCRIPT" start "${PEERS[@]}"
}

# ---------------------------------------------------------------- the steps

if ((lint)); then
  run_step "rustfmt available" require_cargo_tool fmt rustfmt
  run_step "cargo fmt --check" cargo fmt --all -- --check
  run_step "clippy available" require_cargo_tool clippy clippy
  run_step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
fi

if ((with_peers)); then
  run_step "start peers" start_peers
  peer_env=$("$PEERS_SCRIPT" env)
  eval "$peer_env"
  export PHAROS_REQUIRE_PEERS=1 PHAROS_REQUIRE_POSTGRES=1
  printf 'test.sh: peers for the tests:\n%s\n' "$peer_env" >&2
else
  # Unit-only must not reach peers the caller happens to have configured.
  while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^PHAROS_(TEST|REQUIRE)_' || true)
fi

run_step "cargo test" cargo test --workspace --all-targets
run_step "cargo test --doc" cargo test --workspace --doc

# ---------------------------------------------------------------- later steps
# Steps added by other parts of the project go HERE, each as one `run_step "NAME" COMMAND...`
# so it is timed, summarised and stops the run on failure; peers and their env are still up.
# Planned: `bench/` smoke run.
# ------------------------------------------------ web UI (issue 4): bundle check + browser tests
# The UI bundle is committed (crates/pharos-server/ui-dist, decision 0006) so that cargo builds need
# no Node; this checks that rebuilding it from ui/ gives exactly the committed files. The browser
# tests then drive Debian's Chromium against the real binary and the peers' Prometheus; their
# screenshots and figures are in ui/e2e/artifacts/. PHAROS_SKIP_UI=1 skips this section.
ui_bundle_matches_sources() {
  local rebuilt log status=0
  rebuilt=$(mktemp -d)
  log=$(mktemp)
  if ! (cd ui && PHAROS_UI_OUT_DIR="$rebuilt" npm run --silent build >"$log" 2>&1); then
    tail -n 40 "$log" >&2
    echo "test.sh: building the UI from ui/ failed (output above)" >&2
    status=1
  elif ! diff -r "$rebuilt" crates/pharos-server/ui-dist >/dev/null; then
    diff -rq "$rebuilt" crates/pharos-server/ui-dist | sed "s|$rebuilt|<rebuilt>|" >&2 || true
    echo "test.sh: crates/pharos-server/ui-dist does not match ui/: run 'npm ci && npm run build' in ui/ and commit ui-dist" >&2
    status=1
  fi
  rm -rf "$rebuilt" "$log"
  return "$status"
}
if [[ ${PHAROS_SKIP_UI:-0} != 1 ]]; then
  run_step "ui: npm ci" npm --prefix ui ci --no-audit --no-fund --loglevel=error
  run_step "ui: bundle matches ui/" ui_bundle_matches_sources
  # The validator accepts exactly the units and options the bundled Perses code can draw (decision 0012).
  run_step "ui: validator contract matches the bundled UI" npm --prefix ui run --silent test:options
  if ((with_peers)); then
    run_step "ui: cargo build -p pharos" cargo build -p pharos
    run_step "ui: browser tests" npm --prefix ui run --silent test:e2e
  fi
fi
# ------------------------------------------------ end of web UI
# ---------------------------------------------------------------- end of later steps
