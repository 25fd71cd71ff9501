#!/bin/bash
# RFC 8628 device authorization grant: device side + a curl "user" approving in the browser role.
set -euo pipefail
OP=${OP:-http://127.0.0.1:9090}; CLIENT=${1:-mailapp-public}; USER_=${2:-alice@example.test}; PASS=${3:-alice-pw}
JAR=$(mktemp); LAST_PAGE=$(mktemp); trap 'rm -f $JAR $LAST_PAGE' EXIT; C="curl -s -c $JAR -b $JAR"
j() { python3 -c 'import json,sys;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
DA=$(curl -s $OP/device/auth -d client_id=$CLIENT --data-urlencode "scope=${SCOPE:-openid email offline_access mail}")
echo "device/auth: $DA" >&2
DEVICE_CODE=$(echo "$DA" | j device_code); VURI=$(echo "$DA" | j verification_uri_complete)
echo "first poll: $(curl -s $OP/token -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=$CLIENT -d device_code=$DEVICE_CODE)" >&2
# --- user in a browser ---
PAGE=$($C "$VURI")                                                    # auto-submitting form with xsrf
XSRF=$(echo "$PAGE" | sed -n 's/.*name="xsrf" value="\([^"]*\)".*/\1/p' | head -1)
UCODE=$(echo "$PAGE" | sed -n 's/.*name="user_code" value="\([^"]*\)".*/\1/p' | head -1)
$C -o /dev/null $OP/device --data-urlencode xsrf=$XSRF --data-urlencode user_code=$UCODE        # confirm page
NEXT=$($C -o /dev/null -w '%{redirect_url}' $OP/device --data-urlencode xsrf=$XSRF --data-urlencode user_code=$UCODE -d confirm=yes)
echo "confirm -> $NEXT" >&2
NEXT=$($C -o /dev/null -w '%{redirect_url}' --data-urlencode "login=$USER_" --data-urlencode "password=$PASS" "$NEXT/login")
while [ -n "$NEXT" ]; do echo "  -> $NEXT" >&2; LAST=$NEXT; NEXT=$($C -o "$LAST_PAGE" -w '%{redirect_url}' "$NEXT"); done
echo "final page: $(grep -o '<h1>[^<]*</h1>' "$LAST_PAGE") $(grep -o '<p>[^<]*</p>' "$LAST_PAGE" | head -1)" >&2
# --- device polls again ---
curl -s $OP/token -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=$CLIENT -d device_code=$DEVICE_CODE; echo
