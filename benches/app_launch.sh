#!/usr/bin/env bash
# Launch to content: the release app under Xvfb, from the moment the bench starts the process
# to the moment the first screen (home or provider choice) is painted with its data in the
# visible window, as the app logs it ("first content shown": the page's first frame after the
# window, created hidden, is shown with the providers or accounts; a run whose screen had none
# fails). RUNS launches
# (default 10), median and spread. Usage: benches/app_launch.sh [path-to-release-binary] [RUNS]
#   (build first: npm --prefix ui run build && cargo build --release -p mailoauth-app)
set -euo pipefail
BIN=${1:-target/release/mailoauth-app}
RUNS=${2:-10}
if [ "${3:-}" != "--inner" ]; then
  [ -x "$BIN" ] || { echo "no release binary at $BIN" >&2; exit 1; }
  exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash "$0" "$BIN" "$RUNS" --inner
fi
results=()
for i in $(seq 1 "$RUNS"); do
  logs=$(mktemp -d)
  cfg=$(mktemp -d)
  start=$(date +%s.%N)
  MAILOAUTH_LOG_DIR=$logs MAILOAUTH_CONFIG=$cfg/mailoauth.toml XDG_CONFIG_HOME=$cfg NO_AT_BRIDGE=1 \
    "$BIN" >/dev/null 2>&1 &
  app=$!
  line=
  for _ in $(seq 1 300); do
    line=$(grep -h "first content shown" "$logs"/*.log 2>/dev/null | head -1 || true)
    [ -n "$line" ] && break
    sleep 0.05
  done
  kill "$app" 2>/dev/null; wait "$app" 2>/dev/null || true
  sleep 1 # let the previous instance's WebKit processes and D-Bus name go before the next launch
  [ -n "$line" ] || { echo "run $i: no content within 15 s" >&2; exit 1; }
  items=$(echo "$line" | sed -n 's/.*items=\([0-9]*\).*/\1/p')
  [ "${items:-0}" -gt 0 ] || { echo "run $i: the first screen had no providers or accounts when timed: $line" >&2; exit 1; }
  shown=$(date -d "$(echo "$line" | awk '{print $1}')" +%s.%N)
  inner=$(echo "$line" | sed -n 's/.*ms_since_start=\([0-9]*\).*/\1/p')
  ms=$(awk -v a="$shown" -v b="$start" 'BEGIN { printf "%d", (a - b) * 1000 }')
  results+=("$ms")
  printf '  run %2d: %4d ms from launch (%d ms after main), %d items on screen\n' "$i" "$ms" "$inner" "$items"
  rm -rf "$logs" "$cfg"
done
sorted=$(printf '%s\n' "${results[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}')
echo "launch to content: median $median ms, min $(echo "$sorted" | head -1) ms, max $(echo "$sorted" | tail -1) ms over $RUNS runs"
