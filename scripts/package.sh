#!/usr/bin/env bash
# Builds the Linux installer: the UI, then the release app bundled as a .deb by the Tauri CLI.
#   scripts/package.sh            -> target/release/bundle/deb/mailoauth_<version>_<arch>.deb
# Needs what scripts/setup.sh installs, plus the Tauri CLI (installed here if missing:
# `cargo install tauri-cli --locked`, a few minutes once). Works offline once the crates are
# fetched. Install the result with: sudo apt-get install ./target/release/bundle/deb/<file>.deb
# Windows and macOS installers are built by .github/workflows/release.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
if ! cargo tauri --version >/dev/null 2>&1; then
  echo "mailoauth package: installing the Tauri CLI (cargo install tauri-cli --locked)" >&2
  cargo install tauri-cli --version '^2' --locked --quiet
fi

# Builds the UI first (tauri.conf.json's beforeBuildCommand: `npm run build` with cwd ../ui,
# which the CLI resolves against src-tauri, so it is ui/ from any starting folder), then the
# release app, then the .deb.
# The package depends on libwebkit2gtk-4.1-0 and libgtk-3-0: the Tauri bundler adds them.
cargo tauri build --bundles deb

target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
version=$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')
deb=$(ls -t "$target_dir"/release/bundle/deb/mailoauth_"${version}"_*.deb | head -n 1)
size=$(stat -c %s "$deb")
echo "mailoauth package: $deb"
echo "mailoauth package: $size bytes ($(numfmt --to=iec-i --suffix=B "$size"))"
