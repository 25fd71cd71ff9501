#!/bin/bash
# Stops the peers of one run: stop.sh RUN_DIR. Safe to call twice.
RUN=${1:?usage: stop.sh RUN_DIR}
[ -d "$RUN" ] || exit 0
rm -f "$RUN/peers.env"
[ -f "$RUN/postfix/etc/main.cf" ] && postfix -c "$RUN/postfix/etc" stop >/dev/null 2>&1
[ -f "$RUN/dovecot/run/master.pid" ] && kill "$(cat "$RUN/dovecot/run/master.pid")" 2>/dev/null
[ -f "$RUN/op.pid" ] && kill "$(cat "$RUN/op.pid")" 2>/dev/null
for _ in $(seq 50); do
  alive=0
  [ -f "$RUN/op.pid" ] && kill -0 "$(cat "$RUN/op.pid")" 2>/dev/null && alive=1
  [ -f "$RUN/dovecot/run/master.pid" ] && kill -0 "$(cat "$RUN/dovecot/run/master.pid")" 2>/dev/null && alive=1
  [ $alive = 0 ] && break; sleep 0.1
done
rm -f "$RUN/op.pid"
exit 0
