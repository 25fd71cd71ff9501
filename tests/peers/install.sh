#!/bin/bash
# The peers' packages. scripts/setup.sh installs all of this (and more) for the whole project;
# this script is for using the peers alone.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends \
  dovecot-imapd dovecot-submissiond dovecot-lmtpd postfix openssl curl ca-certificates python3 >/dev/null
(cd op && npm ci --no-audit --no-fund --loglevel=error)
