#!/usr/bin/env bash
# The Windows build of mailoauth, checked from Linux: cross-builds the core library's and the
# CLI's unit tests for x86_64-pc-windows-gnu (Debian's mingw-w64 as the linker) and runs them
# under Wine (Debian's wine64), each executable bounded in time; cross-builds the app as well; then
# an end-to-end smoke of the service over its named pipe against the real peers; then the Windows
# installer, built with makensis and run under Wine. Prints the libtest output, so
# scripts/test.sh counts the results like any cargo test. scripts/setup.sh installs the packages
# and the Rust target.
#
# What Wine does not check (docs/SECURITY.md): it runs every process as one Unix user, and
# enforces neither ACLs nor DPAPI scopes nor UAC; it implements DPAPI itself, so the store's
# tests check the FFI, not Windows' key handling. The release workflow runs the same tests on a
# real Windows runner.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-pc-windows-gnu
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
WINE=${WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}
# A prefix of the tests' own, so a developer's ~/.wine is never touched; no Wine debug chatter.
export WINEPREFIX="$TARGET_DIR/wine-prefix" WINEDEBUG=-all
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc

stub="$TARGET_DIR/wine-stub/bcryptprimitives.dll"
mkdir -p "$(dirname "$stub")"
if [ ! -e "$stub" ] || [ scripts/wine/bcryptprimitives.c -nt "$stub" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$stub" scripts/wine/bcryptprimitives.c -ladvapi32
fi

# Every target of the package must compile for Windows (the integration tests too, checked not
# linked): a Windows-only compile error fails here, never silently drops a test executable.
cargo clippy --quiet --target "$TARGET" -p mailoauth --all-targets -- -D warnings

# The test executables, as cargo names them. A build that fails stops here with its errors.
built="$TARGET_DIR/windows-tests-artifacts.json"
if ! cargo test --target "$TARGET" -p mailoauth --lib --bins --no-run \
    --message-format=json >"$built" 2>/dev/null; then
  cargo test --target "$TARGET" -p mailoauth --lib --bins --no-run
  echo "windows-tests: the Windows test executables did not build" >&2
  exit 1
fi
mapfile -t exes < <(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])' "$built")
if [ ${#exes[@]} -lt 2 ]; then
  echo "windows-tests: expected the library's and the CLI's test executables, got: ${exes[*]}" >&2
  exit 1
fi

if [ ! -d "$WINEPREFIX" ]; then
  echo "windows-tests: creating the Wine prefix $WINEPREFIX"
  timeout 300 "$WINE" wineboot --init >/dev/null 2>&1 || true
fi

# The app crate too (it catches Windows-only compile errors there; WebView2 cannot run under
# Wine, so it is built, not started). It embeds ui/dist: scripts/test.sh builds the UI first.
if [ -d ui/dist ]; then
  echo "windows-tests: building the app (mailoauth-app.exe)"
  cargo build --quiet --target "$TARGET" -p mailoauth-app
else
  echo "windows-tests: ui/dist is missing (run 'cd ui && npm run build'): the app was NOT cross-built" >&2
  exit 1
fi

status=0
for exe in "${exes[@]}"; do
  cp "$stub" "$(dirname "$exe")/"
  echo "windows-tests: $(basename "$exe") under Wine"
  # --test-threads=1: Wine serialises much of its server work anyway, and one thread keeps the
  # output in order. The bound only stops a hang.
  # --show-output: a test that cannot check something under Wine says "NOT CHECKED" in its
  # output, which must be seen even when it passes.
  timeout 900 "$WINE" "$exe" --test-threads=1 --show-output || status=$?
done

# The end-to-end smoke (tests/windows_service_wine.rs): the cross-built mailoauth.exe signs an
# account in at the real provider (device flow, approved by the Linux test's scripted browser),
# runs `service run --console` on a named pipe of its own, `service adopt` hands the tokens over
# the pipe, `token -v` must be answered by the service, and Ctrl+C must stop it cleanly. It needs
# the real peers: the caller's (MAILOAUTH_PEERS_ENV, as scripts/test.sh exports it) or its own.
echo "windows-tests: building mailoauth.exe for the service smoke"
cargo build --quiet --target "$TARGET" -p mailoauth --bin mailoauth
win_exe="$TARGET_DIR/$TARGET/debug/mailoauth.exe"
cp "$stub" "$(dirname "$win_exe")/"
own_peers=
if [ -z "${MAILOAUTH_PEERS_ENV:-}" ]; then
  MAILOAUTH_PEERS_ENV=$(tests/peers/start.sh)
  own_peers=$(dirname "$MAILOAUTH_PEERS_ENV")
  trap 'tests/peers/stop.sh "$own_peers" >/dev/null 2>&1 || true' EXIT
  echo "windows-tests: started the peers for the smoke ($MAILOAUTH_PEERS_ENV)"
fi
echo "windows-tests: the service smoke under Wine (mailoauth.exe service run/adopt, token over the pipe)"
smoke_start=$(date +%s)
MAILOAUTH_PEERS_ENV=$MAILOAUTH_PEERS_ENV MAILOAUTH_WINE_EXE=$win_exe WINE=$WINE \
  timeout 900 cargo test --quiet -p mailoauth --test windows_service_wine -- --ignored --nocapture \
  || status=$?
echo "windows-tests: the service smoke took $(( $(date +%s) - smoke_start )) s (bounded by 900 s)"

# The Windows installer (installer/windows/mailoauth.nsi), built with makensis from the debug
# executables built above (the release workflow builds it from the release ones), run silently
# under Wine in this prefix and checked from outside (tests/windows_installer_wine.rs): files,
# machine PATH once (also after an upgrade in place), Add/Remove Programs entry, the service's
# registration and Event Log source, uninstall with and without /PURGE. The service the installer
# starts runs from Program Files, where no stub lies beside it: the stub goes into the prefix's
# system32 (Wine 8 has no bcryptprimitives.dll of its own; a real Windows has it).
echo "windows-tests: the Windows installer (makensis), installed and uninstalled under Wine"
installer_start=$(date +%s)
cp "$stub" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if installer=$(NSIS_COMPRESSOR=zlib CARGO_TARGET_DIR=$TARGET_DIR scripts/windows-installer.sh debug); then
  echo "windows-tests: built $installer ($(( $(stat -c %s "$installer") / 1048576 )) MiB)"
  MAILOAUTH_WINE_INSTALLER=$installer WINE=$WINE \
    timeout 900 cargo test --quiet -p mailoauth --test windows_installer_wine -- --ignored --nocapture \
    || status=$?
else
  echo "windows-tests: the installer did not build" >&2
  status=1
fi
echo "windows-tests: the installer stage took $(( $(date +%s) - installer_start )) s (bounded by 900 s)"
exit $status
