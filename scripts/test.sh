#!/usr/bin/env bash
# Runs every test of mailoauth, after installing what is missing (scripts/setup.sh):
#   UI type check + unit tests (Vitest) + build (once per run), cargo fmt, cargo clippy,
#   Rust unit tests, the fuzz targets built and their committed inputs replayed (no random
#   exploration: the same commit gives the same verdict), the integration tests against the real
#   peers (started once, stopped at the end even on failure), and the GUI
#   end-to-end tests in a real window under Xvfb.
# Ends with a count per kind and a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-test.XXXXXX")

section() { printf '\n==== %s\n' "$*"; }

section "setup"
bash scripts/setup.sh

# name -> "passed failed"
declare -A COUNTS=()
ORDER=()
record() { # kind passed failed
  ORDER+=("$1"); COUNTS[$1]="$2 $3"
}
# Sums the "test result:" lines of cargo test output.
cargo_counts() {
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
       END { printf "%d %d", p, f }' "$1"
}

# Runs a cargo test command, shows its output, and records its counts even when it fails.
counted() { # kind, then the command
  local kind=$1 st=0 log p f
  shift
  log="$LOG_DIR/$(printf '%s' "$kind" | tr -c 'a-zA-Z0-9' _).log"
  "$@" 2>&1 | tee "$log" || st=$?
  record "$kind" $(cargo_counts "$log")
  if [ $st -ne 0 ]; then
    read -r p f <<<"${COUNTS[$kind]}"
    # A stage that failed before any test failed (a build error) counts as one failure.
    [ "$f" -eq 0 ] && COUNTS[$kind]="$p 1"
  fi
  return $st
}

summary() {
  local status=$?
  section "summary"
  local tp=0 tf=0
  for k in "${ORDER[@]}"; do
    read -r p f <<<"${COUNTS[$k]}"
    printf '  %-34s %4d passed, %d failed\n' "$k" "$p" "$f"
    tp=$((tp + p)); tf=$((tf + f))
  done
  [ $status -ne 0 ] && [ $tf -eq 0 ] && tf=1 && echo "  (a step failed before its tests could be counted: see above)"
  echo "  (took $((SECONDS / 60)) min $((SECONDS % 60)) s)"
  echo "$tp passed, $tf failed"
  [ -n "${PEERS_RUN:-}" ] && tests/peers/stop.sh "$PEERS_RUN"
  exit $status
}
trap summary EXIT

section "UI: type check, unit tests (Vitest), build"
(cd ui && npm run --silent check)
vst=0
(cd ui && npx vitest run 2>&1) | tee "$LOG_DIR/vitest.log" || vst=$?
vp=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG_DIR/vitest.log" | awk '/Tests +[0-9]+ passed/ { for (i=1;i<=NF;i++) if ($(i) == "passed") print $(i-1) }' | tail -1)
vf=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG_DIR/vitest.log" | awk '/Tests +.*failed/ { for (i=1;i<=NF;i++) if ($(i) == "failed") print $(i-1) }' | tail -1)
record "UI unit tests (Vitest)" "${vp:-0}" "${vf:-0}"
[ $vst -eq 0 ] || exit $vst
(cd ui && npm run --silent build)

section "GitHub workflows: valid against the workflow schema (they cannot run here)"
wp=0; wf=0
for w in .github/workflows/*.yml; do
  if python3 -m check_jsonschema --builtin-schema vendor.github-workflows "$w"; then
    wp=$((wp + 1))
  else
    wf=$((wf + 1)); echo "invalid workflow: $w"
  fi
done
record "GitHub workflows (schema)" "$wp" "$wf"
[ $wf -eq 0 ]

section "cargo fmt --check"
cargo fmt --all --check

section "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

section "Rust unit tests (core, CLI, app commands, bindings)"
# From here on a failing stage does not stop the others: every count is shown, and the run
# fails at the end (so two runs of one commit can be compared count for count).
stage_failed=0
counted "Rust unit tests" cargo test --no-fail-fast --workspace --lib --bins || stage_failed=1

section "fuzz targets: they build (cargo check), and every committed input is replayed"
# Deterministic: no random exploration here (that is scripts/fuzz.sh, run on purpose). The
# committed corpora, seeds and regression-* inputs, go through each target's own check as cargo
# tests (tests/fuzz_replay.rs, counted with the integration tests); this step only makes sure
# the targets themselves still compile.
cargo check --quiet --manifest-path fuzz/Cargo.toml --bins --target-dir "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/fuzz-check"

section "Windows build: unit tests cross-built (x86_64-pc-windows-gnu) and run under Wine; the app cross-built; the service smoke and the installer under Wine"
counted "Windows unit tests (under Wine)" bash scripts/windows-tests.sh || stage_failed=1

section "real peers: OpenID provider, Dovecot IMAP + submission, Postfix"
PEERS_ENV=$(tests/peers/start.sh)
PEERS_RUN=$(dirname "$PEERS_ENV")
export MAILOAUTH_PEERS_ENV=$PEERS_ENV
echo "peers up ($PEERS_ENV)"

section "integration tests against the real peers"
counted "integration tests (real peers)" cargo test --no-fail-fast --package mailoauth --test '*' || stage_failed=1

section "GUI end-to-end tests (real window: Xvfb + tauri-driver + WebKitWebDriver)"
counted "GUI end-to-end tests" cargo test --no-fail-fast --package mailoauth-app --test gui_e2e || stage_failed=1
echo "screenshots: $(cd "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/screenshots" && pwd)"
[ $stage_failed -eq 0 ]
