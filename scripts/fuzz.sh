#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz + libFuzzer) for SECONDS each (default 8):
# builds them once, runs each from its committed seeds (fuzz/corpus/<target>) plus a scratch
# corpus (fuzz/corpus-run/<target>, git-ignored, kept between runs), and prints one line per
# target: "fuzz <target>: ok (<execs> execs in <s> s)" or "fuzz <target>: CRASH (<artifact>)".
# Exits non-zero if any target crashed; the crashing input is in fuzz/artifacts/<target>/.
#   scripts/fuzz.sh            # the short run of scripts/test.sh
#   scripts/fuzz.sh 600        # ten minutes per target
#   FUZZ_TARGETS="explain config_parse" scripts/fuzz.sh 60
# The toolchain is stable: cargo-fuzz needs nightly flags (-Zsanitizer), so RUSTC_BOOTSTRAP=1.
# FUZZ_SANITIZER (default: address) is passed to cargo fuzz --sanitizer; `none` builds faster.
# Builds go to <cargo target dir>/fuzz, not fuzz/target. Details: docs/FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-8}
SANITIZER=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/fuzz"
cd fuzz
if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building ${#targets[@]} targets (sanitizer $SANITIZER, $TARGET_DIR)"
cargo fuzz build --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR"

failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t"
  log="corpus-run/$t.log"
  st=0
  # -timeout: one input taking over 10 s is a hang, reported like a crash.
  cargo fuzz run --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR" "$t" \
    "corpus-run/$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || st=$?
  execs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -1)
  if [ $st -eq 0 ]; then
    echo "fuzz $t: ok (${execs:-?} execs in ${SECONDS_PER_TARGET} s)"
  else
    failed=$((failed + 1))
    artifact=$(grep -ao 'artifacts/[^ ]*' "$log" | tail -1 || true)
    echo "fuzz $t: CRASH (exit $st, input fuzz/${artifact:-artifacts/$t}; log fuzz/$log)"
    grep -a -m 20 -E 'panicked|ERROR|SUMMARY|assert' "$log" | sed 's/^/    /' || true
  fi
done
[ $failed -eq 0 ]
