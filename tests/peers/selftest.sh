#!/bin/bash
# end-to-end check of the three peers; exits non-zero on the first unexpected result
set -u
# usage: selftest.sh RUN_DIR   (a run started by start.sh)
RUN=${1:?usage: selftest.sh RUN_DIR}
[ -f "$RUN/peers.env" ] || { echo "no peers running in $RUN"; exit 1; }
set -a; . "$RUN/peers.env"; set +a
export OP=$OP_ISSUER
D=$(cd "$(dirname "$0")" && pwd)/demo; cd $D
pass=0; fail=0
ok()  { echo "PASS $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
jf()  { python3 -c 'import json,sys;print(json.load(sys.stdin).get(sys.argv[1],""))' "$1"; }
mp() { python3 mailprobe.py "$@" 2>&1; }   # full output captured (no early pipe close)
intro() { curl -s -u dovecot:dovecot-secret $OP/token/introspection -d "token=$1"; }

A=$(PROMPT=consent ./authcode-curl.sh mailapp-public alice@example.test alice-pw 2>/dev/null)
AT=$(echo "$A" | jf access_token); ART=$(echo "$A" | jf refresh_token)
[ -n "$AT" ] && [ -n "$ART" ] && ok "authcode+PKCE (public client, random loopback port) -> access+refresh token" || bad "authcode: $A"
intro "$AT" | grep -q '"active":true,"sub":"alice@example.test","email":"alice@example.test"' && ok "introspection active + email" || bad "introspection: $(intro "$AT")"
R2=$(curl -s $OP/token -d grant_type=refresh_token -d client_id=mailapp-public -d refresh_token=$ART)
[ -n "$(echo "$R2" | jf access_token)" ] && ok "refresh_token grant" || bad "refresh: $R2"
AT=$(echo "$R2" | jf access_token)
S=$(PROMPT=consent ./authcode-curl.sh mailapp-secret alice@example.test alice-pw -d client_secret=mailapp-secret-value 2>/dev/null | jf access_token)
[ -n "$S" ] && ok "client_secret_post" || bad "client_secret_post"
P=$(PROMPT=consent ./authcode-curl.sh mailapp-pkjwt alice@example.test alice-pw -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer -d client_assertion=$(node client-assertion.mjs) 2>/dev/null | jf access_token)
[ -n "$P" ] && ok "private_key_jwt" || bad "private_key_jwt"
BT=$(./device-curl.sh mailapp-public bob@example.test bob-pw 2>/dev/null | jf access_token)
[ -n "$BT" ] && ok "device authorization grant (bob)" || bad "device grant"

mp imap tls alice@example.test "$AT" >/dev/null && ok "IMAPS AUTHENTICATE XOAUTH2" || bad "imaps xoauth2"
mp imap starttls alice@example.test "$AT" --mech oauthbearer >/dev/null && ok "IMAP STARTTLS + OAUTHBEARER" || bad "imap starttls oauthbearer"
grep -q 'a4 NO \[AUTHENTICATIONFAILED\] Authentication failed.' <<<"$(mp imap tls alice@example.test bogus)" && ok "bad token rejected" || bad "bad token"
grep -q 'a4 NO \[AUTHENTICATIONFAILED\]' <<<"$(mp imap tls alice@example.test "$BT")" && ok "token of another user rejected" || bad "wrong user"
grep -q 'a4 NO \[PRIVACYREQUIRED\] Plaintext authentication disabled.' <<<"$(mp imap plain alice@example.test "$AT" --src 127.0.0.2)" && ok "no-TLS auth refused (client from 127.0.0.2)" || bad "plaintext"
SUBJ="selftest $$ $(date +%s)"
grep -q '^S: 250 2.0.0 Ok: .* queued as' <<<"$(mp smtp starttls alice@example.test "$AT" --rcpt bob@example.test --subject "$SUBJ")" && ok "SMTP submission STARTTLS AUTH XOAUTH2 + MAIL/RCPT/DATA" || bad "smtp send"
grep -q '^S: 235 2.7.0 Logged in.' <<<"$(mp smtp tls alice@example.test "$AT" --mech oauthbearer)" && ok "SMTPS AUTH OAUTHBEARER" || bad "smtps"
grep -q '^S: 535 5.7.8 Authentication failed.' <<<"$(mp smtp tls alice@example.test bogus)" && ok "SMTP bad token -> 535" || bad "smtp bad token"
for _ in $(seq 30); do grep -q "Subject: $SUBJ" <<<"$(mp imap tls bob@example.test "$BT" --fetch)" && break; sleep 0.2; done
grep -q "Subject: $SUBJ" <<<"$(mp imap tls bob@example.test "$BT" --fetch)" && ok "message delivered, read back over IMAP as bob" || bad "delivery"
SH=$(./device-curl.sh mailapp-short 2>/dev/null | jf access_token); sleep 6
grep -q 'a4 NO \[AUTHENTICATIONFAILED\]' <<<"$(mp imap tls alice@example.test "$SH")" && ok "expired token (5 s TTL) rejected" || bad "expired"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
