#!/usr/bin/env bash
# Installs what mailoauth needs to build, run and test on Debian/Ubuntu:
# apt packages (only the missing ones), npm packages (ui/ and tests/peers/op), tauri-driver.
# (cargo-fuzz is installed by scripts/fuzz.sh when exploring: the test command does not fuzz.)
# Idempotent: a second run on a ready machine does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(
  # Tauri v2 on Linux
  libwebkit2gtk-4.1-dev build-essential pkg-config curl file libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev
  # GUI end-to-end tests in a real window
  xvfb xauth webkit2gtk-driver dbus-x11
  # keyring backends on headless Linux
  keyutils
  # real peers for the tests: IMAP/submission/LMTP + relay, and the test CA
  dovecot-imapd dovecot-submissiond dovecot-lmtpd postfix openssl ca-certificates
  # the real clients that use the exports unchanged (tests/exports_real_clients.rs): msmtp,
  # mbsync with Cyrus SASL XOAUTH2, NeoMutt, driven in a pseudo-terminal by tmux
  msmtp isync libsasl2-modules-kdexoauth2 neomutt tmux
  # the Windows build, checked from Linux (scripts/windows-tests.sh): mingw-w64 links it, Wine
  # runs its tests
  gcc-mingw-w64-x86-64-win32 wine64
  # the Windows installer (installer/windows/mailoauth.nsi, scripts/windows-installer.sh), built
  # with makensis and run under Wine by scripts/windows-tests.sh
  nsis
  # `systemd-analyze verify` of the unit `mailoauth service install --root` stages
  # (tests/service_install.rs); no systemd needs to run as PID 1
  systemd
  # screenshots, JSON in scripts; ip for the loopback test's private network namespace
  imagemagick python3 iproute2
)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mailoauth setup: missing system packages. Run this, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  # The mail packages would start system-wide daemons on 143/993/25: forbid service starts
  # while installing (the tests start their own instances on free loopback ports).
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  echo "mailoauth setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=600
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# Node packages, pinned by their lockfiles; reinstalled only when the lockfile changed.
npm_ci() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.lock-stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.lock-stamp"
  fi
}
[ -f ui/package-lock.json ] && npm_ci ui
[ -f tests/peers/op/package-lock.json ] && npm_ci tests/peers/op

# tauri-driver (WebDriver bridge for the GUI tests)
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --quiet
fi
# Rust's Windows (GNU) target for the cross-build (rustup is how the machine's toolchain came).
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  rustup target add x86_64-pc-windows-gnu
fi
# check-jsonschema (PyPI) validates .github/workflows/*.yml against the GitHub workflow schema it
# ships (scripts/test.sh): the workflows cannot run here, so they are at least linted.
if ! python3 -c "import check_jsonschema" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check check-jsonschema==0.39.0
fi
echo "mailoauth setup: ready" >&2
