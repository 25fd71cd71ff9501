#!/usr/bin/env bash
# `mailoauth token` with a cached token, whole process, three ways side by side in one run:
#   service  - through the mailoauth token service (non-root mode, its own socket)
#   direct   - the direct path (file store, token valid: nothing written, no network)
#   mutt     - mutt_oauth2.py from Debian's neomutt package, its gpg pipe replaced by `cat`
# beside two floors: `mailoauth --version` (the binary's start alone) and /bin/true,
# and, with `idle`, the service's resident memory with 10 accounts and its CPU ticks over an idle
# minute (no refresh or check due).
#
# Usage: benches/token_service.sh [RUNS]      (default 200; p50 and p99 in milliseconds)
#        benches/token_service.sh idle
#        benches/token_service.sh hold   (the set-up stays up, for profiling by hand)
# Needs a release build (cargo build --release -p mailoauth) or MAILOAUTH_BIN, python3, and
# neomutt's docs (/usr/share/doc/neomutt/oauth2/mutt_oauth2.py.gz). No network: every token is
# valid for a day, so nothing is refreshed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MAILOAUTH_BIN:-${CARGO_TARGET_DIR:-target}/release/mailoauth}
[ -x "$bin" ] || { echo "build it first: cargo build --release -p mailoauth (or set MAILOAUTH_BIN)" >&2; exit 69; }
mode=${1:-200}
dir=$(mktemp -d)
svc_pid=
cleanup() { [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/tokens" "$dir/run"
now=$(date +%s)
accounts=1
[ "$mode" = idle ] && accounts=10

# Accounts n1..nN kept by the service, and "direct" on the direct path; a generic provider whose
# endpoints nobody answers (nothing here may need them).
{
  echo 'version = 1'
  for n in $(seq 1 "$accounts") direct; do
    cat <<EOF

[[account]]
name = "n$n"
purpose = "send"
mailbox = "n$n@example.test"
token_store = "file:$dir/tokens"

[account.smtp]
host = "127.0.0.1"
port = 587
security = "start_tls"
sasl = "xoauth2"

[account.auth]
provider = "generic"
client_id = "bench"
client_auth = "none"
flow = "device_code"
scopes = ["openid"]

[account.auth.endpoints]
authorization = "http://127.0.0.1:9/auth"
token = "http://127.0.0.1:9/token"
device_authorization = "http://127.0.0.1:9/device"
EOF
    printf '{"accessToken":"at-%s-%s","refreshToken":"rt-%s","expiresAt":%s,"scopes":["openid"],"obtainedAt":%s}\n' \
      "$n" "$now" "$n" $((now + 86400)) "$now" > "$dir/tokens/n$n@example.test.json"
    chmod 600 "$dir/tokens/n$n@example.test.json"
  done
} > "$dir/mailoauth.toml"
sed -i 's/name = "ndirect"/name = "direct"/' "$dir/mailoauth.toml"
chmod 600 "$dir/mailoauth.toml"

export MAILOAUTH_LOG_DIR="$dir/logs" MAILOAUTH_SERVICE_SOCKET="$dir/run/mailoauth.sock"
"$bin" service run --config "$dir/mailoauth.toml" --state-dir "$dir/state" --socket "$MAILOAUTH_SERVICE_SOCKET" 2>"$dir/service.err" &
svc_pid=$!
for _ in $(seq 100); do [ -S "$MAILOAUTH_SERVICE_SOCKET" ] && break; sleep 0.1; done
for n in $(seq 1 "$accounts"); do
  "$bin" service adopt --config "$dir/mailoauth.toml" "n$n" >/dev/null
done
"$bin" token --config "$dir/mailoauth.toml" direct >/dev/null   # records the first success once

if [ "$mode" = hold ]; then  # for profiling by hand: the set-up stays until killed
  echo "config $dir/mailoauth.toml, socket $MAILOAUTH_SERVICE_SOCKET, service pid $svc_pid"
  wait "$svc_pid"
  exit 0
fi
if [ "$mode" = idle ]; then
  sleep 5
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$svc_pid/status")
  ticks() { awk '{print $14 + $15}' "/proc/$svc_pid/stat"; }
  before=$(ticks); sleep 60; after=$(ticks)
  echo "service with $accounts accounts: resident ${rss} kB; CPU ticks over 60 s idle: $((after - before)) (of $(getconf CLK_TCK)/s)"
  exit 0
fi

# mutt_oauth2.py with a valid cached token; its gpg pipes replaced by cat.
zcat /usr/share/doc/neomutt/oauth2/mutt_oauth2.py.gz \
  | sed "s/^ENCRYPTION_PIPE = .*/ENCRYPTION_PIPE = ['cat']/; s/^DECRYPTION_PIPE = .*/DECRYPTION_PIPE = ['cat']/" > "$dir/mutt_oauth2.py"
python3 - "$dir/mutt.token" <<'EOF'
import json, sys, datetime
exp = (datetime.datetime.now() + datetime.timedelta(days=1)).isoformat()
json.dump({"registration": "microsoft", "authflow": "devicecode", "email": "n1@example.test",
           "access_token": "at-mutt", "access_token_expiration": exp, "refresh_token": "rt"},
          open(sys.argv[1], "w"))
EOF
chmod 600 "$dir/mutt.token"

python3 - "$mode" "$bin" "$dir" <<'EOF'
import subprocess, sys, time
runs, binary, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cfg = f"{d}/mailoauth.toml"
cmds = {
    "service": [binary, "token", "--config", cfg, "n1"],
    "direct": [binary, "token", "--config", cfg, "direct"],
    "mutt_oauth2.py": ["python3", f"{d}/mutt_oauth2.py", f"{d}/mutt.token"],
    # The floors: this binary's start alone, and a process that does nothing.
    "--version": [binary, "--version"],
    "/bin/true": ["/bin/true"],
}
for name, c in cmds.items():  # each must print something (a token; true prints nothing)
    out = subprocess.run(c, capture_output=True, text=True)
    assert out.returncode == 0 and (out.stdout.strip() or name == "/bin/true"), (name, out.stderr)
times = {k: [] for k in cmds}
for _ in range(runs):
    for name, c in cmds.items():  # interleaved, so drift hits all three alike
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[name].append((time.perf_counter() - t) * 1000)
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
base = pct(times["mutt_oauth2.py"], 50)
print(f"{runs} runs each, interleaved; whole process, wall milliseconds")
print(f"{'':16} {'p50':>8} {'p99':>8} {'p50 / mutt_oauth2.py':>22}")
for name, v in times.items():
    print(f"{name:16} {pct(v, 50):8.2f} {pct(v, 99):8.2f} {pct(v, 50) / base:22.3f}")
EOF
