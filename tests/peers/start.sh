#!/bin/bash
# Starts the real peers for mailoauth's tests, all on 127.0.0.1:
#   A  OAuth2/OIDC provider (npm oidc-provider, pinned by op/package-lock.json)
#   B  Dovecot IMAP (STARTTLS + implicit TLS), validating bearer tokens by introspection at A
#   C  Dovecot submission (STARTTLS + implicit TLS) -> Postfix relay -> Dovecot LMTP -> Maildir read by B
#
# usage: start.sh [RUN_DIR]
#   RUN_DIR holds this run's rendered configs, keys, test CA, mail and logs (default: a new
#   folder /tmp/mailoauth-peers.XXXXXX; Dovecot's mail processes run as nobody, so every folder
#   above RUN_DIR must be world-traversable, which /tmp is). Ports are picked free at start unless given in the environment
#   (OP_PORT IMAP_PORT IMAPS_PORT SUBMISSION_PORT SUBMISSIONS_PORT LMTP_PORT RELAY_PORT), so two
#   runs never collide. Writes RUN_DIR/peers.env (KEY=value lines the tests read) and prints its path.
#   PEERS_OWNER_PID=<pid>: stop the peers by themselves when that process ends.
#   OP_AUTO_LOGIN / OP_ALWAYS_REFRESH / OP_SHORT_TTL are passed to the provider (see op/op.mjs).
# stop: stop.sh RUN_DIR
set -euo pipefail
SRC=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then RUN=$1; mkdir -p "$RUN"; else RUN=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-peers.XXXXXX"); fi
RUN=$(cd "$RUN" && pwd)
chmod 755 "$RUN"   # Dovecot's mail processes run as nobody and must reach RUN/mail

fail() {
  echo "peers: $*" >&2
  for log in "$RUN/op.log" "$RUN/dovecot.log" "$RUN/maillog"; do
    [ -f "$log" ] && { echo "---- tail $log" >&2; tail -n 15 "$log" >&2; }
  done
  "$SRC/stop.sh" "$RUN" >/dev/null 2>&1 || true
  exit 1
}
for tool in node dovecot postfix openssl curl python3; do
  command -v "$tool" >/dev/null || fail "'$tool' is missing: run scripts/setup.sh (it installs the peers' packages)"
done
[ -d "$SRC/op/node_modules/oidc-provider" ] || fail "oidc-provider is not installed: run scripts/setup.sh (npm ci in tests/peers/op)"

# Free ports, chosen by the OS (bind to port 0), unless the caller fixed them.
free_ports() { python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"; }
read -r p1 p2 p3 p4 p5 p6 p7 <<<"$(free_ports 7)"
OP_PORT=${OP_PORT:-$p1}; IMAP_PORT=${IMAP_PORT:-$p2}; IMAPS_PORT=${IMAPS_PORT:-$p3}
SUBMISSION_PORT=${SUBMISSION_PORT:-$p4}; SUBMISSIONS_PORT=${SUBMISSIONS_PORT:-$p5}
LMTP_PORT=${LMTP_PORT:-$p6}; RELAY_PORT=${RELAY_PORT:-$p7}
INSTANCE="mailoauth-peers-$(basename "$RUN")"

render() {  # template -> output, with every placeholder filled
  sed -e "s|@ROOT@|$RUN|g" -e "s|@OP_PORT@|$OP_PORT|g" -e "s|@IMAP_PORT@|$IMAP_PORT|g" \
      -e "s|@IMAPS_PORT@|$IMAPS_PORT|g" -e "s|@SUBMISSION_PORT@|$SUBMISSION_PORT|g" \
      -e "s|@SUBMISSIONS_PORT@|$SUBMISSIONS_PORT|g" -e "s|@LMTP_PORT@|$LMTP_PORT|g" \
      -e "s|@RELAY_PORT@|$RELAY_PORT|g" -e "s|@INSTANCE@|$INSTANCE|g" "$1" > "$2"
}
mkdir -p "$RUN/dovecot" "$RUN/postfix/etc" "$RUN/tls" "$RUN/keys"
render "$SRC/dovecot/dovecot.conf.in" "$RUN/dovecot/dovecot.conf"
render "$SRC/dovecot/dovecot-oauth2.conf.ext.in" "$RUN/dovecot/dovecot-oauth2.conf.ext"
render "$SRC/postfix/etc/main.cf.in" "$RUN/postfix/etc/main.cf"
render "$SRC/postfix/etc/master.cf.in" "$RUN/postfix/etc/master.cf"
# Dovecot and Postfix logs at the top of RUN, where a failed start shows them.
sed -i -e "s|^log_path = .*|log_path = $RUN/dovecot.log|" -e "s|^info_log_path = .*|info_log_path = $RUN/dovecot.log|" \
       -e "s|^debug_log_path = .*|debug_log_path = $RUN/dovecot.log|" "$RUN/dovecot/dovecot.conf"
sed -i -e "s|^maillog_file = .*|maillog_file = $RUN/maillog|" -e "s|^maillog_file_prefixes = .*|maillog_file_prefixes = $RUN|" "$RUN/postfix/etc/main.cf"

# Test CA and server certificate, private_key_jwt client key: new for every run.
[ -f "$RUN/tls/server.key" ] || sh "$SRC/tls/mkcerts.sh" "$RUN/tls" || fail "making the test CA failed"
[ -f "$RUN/keys/client-pkjwt.key.pem" ] || openssl ecparam -name prime256v1 -genkey -noout -out "$RUN/keys/client-pkjwt.key.pem"

# A: authorization server
OP_PORT=$OP_PORT OP_KEYS_DIR="$RUN/keys" nohup node "$SRC/op/op.mjs" </dev/null > "$RUN/op.log" 2>&1 &
echo $! > "$RUN/op.pid"
# B + C: Dovecot
mkdir -p "$RUN/dovecot/run" "$RUN/dovecot/state" "$RUN/dovecot/mail" && chown nobody:nogroup "$RUN/dovecot/mail"
# (its own output to a file: a daemon holding our stdout would block callers that read it to EOF)
dovecot -c "$RUN/dovecot/dovecot.conf" </dev/null >"$RUN/dovecot-start.log" 2>&1 || fail "dovecot did not start: $(cat "$RUN/dovecot-start.log")"
# C: Postfix relay (dovecot-submission -> postfix -> dovecot-lmtp)
mkdir -p "$RUN/postfix/queue" "$RUN/postfix/data" && chown postfix "$RUN/postfix/data"
postfix -c "$RUN/postfix/etc" check >/dev/null 2>&1 || true   # creates the queue folders
postfix -c "$RUN/postfix/etc" start </dev/null >/dev/null 2>&1 || fail "postfix did not start"

for p in $OP_PORT $IMAP_PORT $IMAPS_PORT $SUBMISSION_PORT $SUBMISSIONS_PORT $LMTP_PORT $RELAY_PORT; do
  for _ in $(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
  (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || fail "port $p did not come up"
done
curl -sf "http://127.0.0.1:$OP_PORT/.well-known/openid-configuration" >/dev/null || fail "the provider does not answer discovery"

cat > "$RUN/peers.env" <<ENV
PEERS_DIR=$RUN
OP_ISSUER=http://127.0.0.1:$OP_PORT
OP_PORT=$OP_PORT
IMAP_PORT=$IMAP_PORT
IMAPS_PORT=$IMAPS_PORT
SUBMISSION_PORT=$SUBMISSION_PORT
SUBMISSIONS_PORT=$SUBMISSIONS_PORT
LMTP_PORT=$LMTP_PORT
RELAY_PORT=$RELAY_PORT
CA_FILE=$RUN/tls/ca.crt
PKJWT_KEY=$RUN/keys/client-pkjwt.key.pem
ENV

if [ -n "${PEERS_OWNER_PID:-}" ]; then
  # Watchdog: when the owner (a test process, the sandboxed app) ends, however it ends, the
  # peers go with it. It runs in a session of its own: Ctrl+C in the terminal, or `timeout`,
  # signal the owner's whole process group, and the watchdog must outlive the owner to stop
  # the servers (Dovecot and Postfix run as daemons and would stay).
  setsid nohup bash -c "while kill -0 $PEERS_OWNER_PID 2>/dev/null && [ -f '$RUN/peers.env' ]; do sleep 0.5; done; '$SRC/stop.sh' '$RUN'" \
    </dev/null >/dev/null 2>&1 &
fi
echo "$RUN/peers.env"
