#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), builds the UI and the app, and starts the app.
#   scripts/run.sh            debug build (shares its build with the tests: fastest)
#   scripts/run.sh --release  optimised build
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
[ "${1:-}" = "--release" ] && profile=(--release)
bash scripts/setup.sh
(cd ui && npm run --silent build)
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "mailoauth: no display (DISPLAY and WAYLAND_DISPLAY are empty). Run it from a desktop session," >&2
  echo "  or in a virtual one: xvfb-run -a scripts/run.sh" >&2
  exit 1
fi
exec cargo run "${profile[@]}" --package mailoauth-app
