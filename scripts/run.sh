#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), builds the UI and the app, and starts the app.
#   scripts/run.sh            debug build (shares its build with the tests: fastest)
#   scripts/run.sh --release  optimised build
#   scripts/run.sh --sandbox  (Linux, as root) also starts the local test servers of tests/peers/
#                             and offers them as a "Local test server" provider: the whole
#                             journey without a cloud account. They stop when the app exits.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
sandbox=0
for arg in "$@"; do
  case "$arg" in
    --release) profile=(--release) ;;
    --sandbox) sandbox=1 ;;
    *) echo "usage: scripts/run.sh [--release] [--sandbox]" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh
(cd ui && npm run --silent build)
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "mailoauth: no display (DISPLAY and WAYLAND_DISPLAY are empty). Run it from a desktop session," >&2
  echo "  or in a virtual one: xvfb-run -a scripts/run.sh" >&2
  exit 1
fi
if [ $sandbox = 1 ]; then
  # The servers stop by themselves when this process (the app, after exec) ends.
  MAILOAUTH_SANDBOX=$(PEERS_OWNER_PID=$$ tests/peers/start.sh)
  export MAILOAUTH_SANDBOX
  echo "mailoauth: sandbox servers up ($MAILOAUTH_SANDBOX)" >&2
fi
exec cargo run "${profile[@]}" --package mailoauth-app
