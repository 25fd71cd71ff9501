#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/) from the repository's real samples:
test fixtures, docs examples and the diagnosis catalog's examples. Run from anywhere; it
replaces the seed-* files, so the corpus stays a handful of files per target, and keeps the
regression-* files (inputs that once made a target fail, replayed by every run)."""
import base64, glob, json, os, re, tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def write(target, seeds):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    # regression-* files are inputs that once crashed a target: kept, never regenerated.
    for old in glob.glob(os.path.join(d, "seed-*")):
        os.remove(old)
    for i, s in enumerate(seeds):
        with open(os.path.join(d, f"seed-{i:02}"), "wb") as f:
            f.write(s.encode() if isinstance(s, str) else s)


GMAIL = "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="

write("loopback_request", [
    "GET /?code=4%2F0AeanS0bTestOnlyCode&scope=https%3A%2F%2Fmail.google.com%2F&state=s1 HTTP/1.1\r\nHost: 127.0.0.1:8400\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
    "GET /?code=0.AXEAtestonly&state=s1&session_state=abc&iss=https%3A%2F%2Flogin.microsoftonline.com%2Fcontoso%2Fv2.0 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "GET /?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state=s1 HTTP/1.1\r\n\r\n",
    "GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1:8400\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    "\x01GET /callback?code=x&state=y HTTP/1.0\r\n\r\n",
])

write("redirect_query", [
    "http://127.0.0.1:8400/?code=4%2F0AeanS0bTestOnlyCode&scope=https%3A%2F%2Fmail.google.com%2F&state=s1-Zt8hQ",
    " http://127.0.0.1:8400/?code=abc&state=s1-Zt8hQ&iss=https%3A%2F%2Fop.example ",
    "http://127.0.0.1:8400/?error=access_denied&error_description=AADSTS65004&state=s1-Zt8hQ",
    "http://127.0.0.1:8400/?code=abc&state=s1-Zt8hQ&iss=https%3A%2F%2Fevil.example",
    "code=x&state=s1-Zt8hQ&state=other&iss=https%3A%2F%2Fop.example%2F",
    "https://accounts.google.com/?code=a&state=s1-Zt8hQ",
])

sample = re.search(r'SAMPLE: &str = r#"(.*?)"#;', read("src/config/tests.rs"), re.S).group(1)
doc = re.search(r"```toml\n(.*?)```", read("docs/CONFIG.md"), re.S).group(1)
write("config_parse", [
    sample,
    doc,
    "version = 1\n",
    "\ufeffversion = 2\n[[account]]\nname = \"x\"\n",
    "version = \"1\"\n",
    "version = 1\n[[account]]\nname = \"bad name\"\npurpose = \"send\"\nmailbox = \"a@b\"\n",
])

sa = json.dumps({
    "type": "service_account",
    "project_id": "mail-relay-4711",
    "private_key_id": "0123456789abcdef0123456789abcdef01234567",
    "private_key": "-----BEGIN PRIVATE KEY-----\nTESTONLY\n-----END PRIVATE KEY-----\n",
    "client_email": "mail-relay@mail-relay-4711.iam.gserviceaccount.com",
    "client_id": "113456789012345678901",
    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    "token_uri": "https://oauth2.googleapis.com/token",
})
write("google_client_json", [
    read("src/validate/testdata/google_installed.json"),
    read("src/validate/testdata/google_web.json"),
    read("src/validate/testdata/google_web_mistakes.json"),
    sa,
    "{\"client_secret\": \"hunter2\", ",
])

write("azure_manifest", [
    read(p) for p in sorted(glob.glob(os.path.join(ROOT, "src/validate/testdata/azure_*.json")))
])

dovecot = base64.b64encode(json.dumps({
    "status": "invalid_token",
    "schemes": "bearer",
    "scope": "mail",
    "openid-configuration": "https://idp.example/.well-known/openid-configuration",
}, separators=(",", ":")).encode()).decode()
write("sasl_challenge", [
    f"S: 334 {GMAIL}\r\nC: \r\nS: 535-5.7.8 Username and Password not accepted.\r\n",
    f"S: + {GMAIL.rstrip('=')}\r\nS: A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n",
    f"+ {dovecot}\n",
    "{\"status\":\"invalid_token\",\"openid-configuration\":\"https://idp.example/.well-known/openid-configuration\"}",
    "C: AUTH XOAUTH2 dXNlcj1zY2FubmVyQGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIHlhMjkuVEVTVE9OTFkBAQ==\r\n",
])

examples = []
for f in sorted(glob.glob(os.path.join(ROOT, "src/diagnosis/entries/*.toml"))):
    if f.endswith("no_match.toml"):
        continue
    with open(f, "rb") as fh:
        entries = tomllib.load(fh)["entry"]
    examples.append(entries[0]["examples"][0])
examples.append(
    "2026-01-10 10:00:01 DEBUG SMTP: C: AUTH XOAUTH2 dXNlcj1zY2FubmVyQGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIHlhMjkuVEVTVE9OTFkBAQ==\n"
    f"S: 334 {GMAIL}\nS: 535-5.7.8 Username and Password not accepted.\n"
    "client_secret=GOCSPX-TestOnlyWeb9876543210zyxwvut&refresh_token=1//0gTestOnlyRefreshToken\n"
)
examples.append("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\",\"error_codes\":[7000215]}")
write("explain", examples)


def frame(body):
    b = body.encode()
    return len(b).to_bytes(4, "big") + b


write("service_frame", [
    frame('{"v":1,"op":"hello"}'),
    frame('{"v":1,"op":"token","account":"scanner"}'),
    frame('{"v":1,"op":"report","account":"scanner","reply":"535-5.7.8 Username and Password not accepted."}'),
    frame('{"v":1,"op":"put_tokens","account":"scanner","tokens":"{\\"accessToken\\":\\"a\\",\\"obtainedAt\\":1}"}'),
    frame('{"v":1,"op":"status"}'),
    frame('{"v":2,"op":"hello"}'),
    b"\xff\xff\xff\xff{",
    '{"v":1,"op":"refresh","account":"a"}',
    frame('{"v":1,"op":"put_secret","account":"scanner","kind":"client_secret","value":"s3cret"}'),
    frame('{"v":1,"op":"put_secret","account":"scanner","kind":"private_key","value":"-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIA==\\n-----END PRIVATE KEY-----\\n"}'),
    frame('{"v":1,"op":"put_secret","account":"scanner","kind":"service_account_key","value":"{\\"type\\":\\"service_account\\"}"}'),
])
