#!/usr/bin/env bash
# Builds mailoauth's Windows installer (installer/windows/mailoauth.nsi) with makensis (Debian's
# `nsis` package here; NSIS on the release workflow's Windows runner):
#
#   scripts/windows-installer.sh [debug|release] [OUT.exe]
#
# It packages the cross-built x86_64-pc-windows-gnu executables of the given profile (default:
# debug, which scripts/windows-tests.sh builds and installs under Wine); the release workflow
# builds it from the release executables. The version is the crate's (Cargo.toml's
# workspace.package.version, the same as src-tauri/tauri.conf.json's: checked here).
# Prints the installer's path on stdout. NSIS_COMPRESSOR=zlib (the tests' choice) packs in a
# fraction of LZMA's time for a bigger file; the default is LZMA (solid).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-debug}
case "$profile" in debug|release) ;; *) echo "usage: $0 [debug|release] [OUT.exe]" >&2; exit 64 ;; esac
TARGET=x86_64-pc-windows-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')}
bin="$TARGET_DIR/$TARGET/$profile"
version=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "mailoauth"))')
tauri_version=$(python3 -c 'import json;print(json.load(open("src-tauri/tauri.conf.json"))["version"])')
if [ "$version" != "$tauri_version" ]; then
  echo "windows-installer: the crate's version $version differs from tauri.conf.json's $tauri_version" >&2
  exit 1
fi
for exe in mailoauth.exe mailoauth-app.exe WebView2Loader.dll; do
  if [ ! -f "$bin/$exe" ]; then
    echo "windows-installer: $bin/$exe is missing: cargo build --target $TARGET -p mailoauth -p mailoauth-app$([ "$profile" = release ] && echo ' --release')" >&2
    exit 1
  fi
done
# Stripped copies (symbols and debug info out; the resources, among them mailoauth.exe's Event
# Log message table, stay).
stage="$TARGET_DIR/$TARGET/$profile/installer/stage"
mkdir -p "$stage"
for exe in mailoauth.exe mailoauth-app.exe; do
  x86_64-w64-mingw32-strip --strip-all -o "$stage/$exe" "$bin/$exe"
done
# The app (gnu build) imports WebView2Loader.dll, which the webview2-com-sys build leaves beside it.
cp "$bin/WebView2Loader.dll" "$stage/"
out=${2:-$TARGET_DIR/$TARGET/$profile/installer/mailoauth-$version-x64-setup.exe}
mkdir -p "$(dirname "$out")"
makensis -V2 -NOCD -INPUTCHARSET UTF8 \
  "-DVERSION=$version" "-DVERSION_NUM=${version%%[-+]*}" \
  "-DAPP_EXE=$stage/mailoauth-app.exe" \
  "-DCLI_EXE=$stage/mailoauth.exe" "-DWEBVIEW2_LOADER=$stage/WebView2Loader.dll" \
  "-DICON=$PWD/icons/icon.ico" \
  "-DOUTFILE=$out" "-DCOMPRESSOR=${NSIS_COMPRESSOR:-lzma}" \
  installer/windows/mailoauth.nsi >&2
echo "$out"
