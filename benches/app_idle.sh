#!/usr/bin/env bash
# Measures the release app at idle on its first screen, under Xvfb: release binary size, and
# memory as PSS summed over the app and its WebKit processes (from /proc/PID/smaps_rollup),
# 10 s after launch. Usage: benches/app_idle.sh [path-to-release-binary]
#   (build first: cargo build --release -p mailoauth-app, after npm --prefix ui run build)
set -euo pipefail
BIN=${1:-target/release/mailoauth-app}
if [ "${2:-}" != "--inner" ]; then
  [ -x "$BIN" ] || { echo "no release binary at $BIN" >&2; exit 1; }
  echo "binary: $(stat -c %s "$BIN") bytes ($(du -h "$BIN" | cut -f1))"
  exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash "$0" "$BIN" --inner
fi
run() {
  NO_AT_BRIDGE=1 "$BIN" >/dev/null 2>&1 &
  app=$!
  sleep 10
  total=0
  for pid in $app $(pgrep -P $app) $(pgrep -f WebKitWebProcess) $(pgrep -f WebKitNetworkProcess); do
    [ -r /proc/$pid/smaps_rollup ] || continue
    kb=$(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup)
    printf '  %-28s %6d kB\n' "$(tr -d '\0' < /proc/$pid/comm)" "$kb"
    total=$((total + kb))
  done | sort -u
  total=0
  for pid in $(echo $app $(pgrep -P $app) $(pgrep -f WebKitWebProcess) $(pgrep -f WebKitNetworkProcess) | tr ' ' '\n' | sort -u); do
    [ -r /proc/$pid/smaps_rollup ] && total=$((total + $(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup)))
  done
  echo "idle PSS, app + WebKit: $((total / 1024)) MB"
  kill $app; wait $app 2>/dev/null || true
}
run
