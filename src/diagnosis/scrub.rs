//! [`scrub`]: removes tokens, secrets and passwords from pasted text before anything reads it.
//!
//! Admins paste whole log excerpts, and products log what they send: `Authorization: Bearer`
//! headers, XOAUTH2 initial responses, token responses, config lines with `client_secret=`.
//! Everything that looks like a credential is replaced by [`REDACTED`]; server challenges, error
//! codes and messages stay, because they are what the diagnosis needs.

use super::challenge::{base64_runs, decode_base64, parse};
use crate::secret::REDACTED;

/// `text` with every token, secret and password it recognises replaced by `[redacted]`.
///
/// Recognised: bearer tokens, JWTs, Basic credentials, XOAUTH2/OAUTHBEARER and PLAIN initial
/// responses (also truncated), the password line of AUTH LOGIN, IMAP LOGIN passwords, Google
/// access/refresh tokens, codes and client secrets, Microsoft refresh tokens and client secrets,
/// `key=value`, JSON, YAML and XML values of secret-like keys, passwords in URLs, bare lowercase
/// hex of 40 characters or more (see [`MIN_BARE_HEX`]), and any other long opaque mixed-case
/// string. Scrubbing scrubbed text changes nothing.
pub fn scrub(text: &str) -> String {
    // One pass can uncover another secret: with a token redacted from the middle of a longer
    // run, what is left of the run stands alone and is recognised on the next pass. So passes
    // repeat until nothing changes (each pass that changes something replaces text by the
    // marker, so this ends; the bound is only a guard).
    let mut out = scrub_once(text);
    if out == text {
        return out;
    }
    for _ in 0..8 {
        let next = scrub_once(&out);
        if next == out {
            break;
        }
        out = next;
    }
    out
}

fn scrub_once(text: &str) -> String {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let keep = challenge_spans(text);
    let mut spans = Vec::new();
    bearer_and_basic(b, &lower, &mut spans);
    jwts(text, &mut spans);
    prefixed_tokens(text, &mut spans);
    key_values(b, &lower, &mut spans);
    url_passwords(text, &mut spans);
    sasl_responses(text, &lower, &keep, &mut spans);
    auth_login_passwords(text, &mut spans);
    imap_login_passwords(text, &mut spans);
    long_opaque(text, &keep, &mut spans);
    bare_hex(text, &mut spans);
    rebuild(text, spans)
}

fn tok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=*!$".contains(&b)
}

fn b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+/=-_".contains(&b)
}

/// A test of one byte: is it part of the token being scanned?
type ByteClass = fn(u8) -> bool;

fn run_end(b: &[u8], mut i: usize, pred: ByteClass) -> usize {
    while i < b.len() && pred(b[i]) {
        i += 1;
    }
    i
}

fn left_free(b: &[u8], i: usize) -> bool {
    i == 0 || !b[i - 1].is_ascii_alphanumeric()
}

fn all_lowercase_word(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_lowercase)
}

/// Base64 runs that decode to a server challenge: these must survive every rule.
fn challenge_spans(text: &str) -> Vec<(usize, usize)> {
    base64_runs(text, 16)
        .into_iter()
        .filter(|&(s, e)| {
            decode_base64(&text[s..e])
                .as_deref()
                .and_then(parse)
                .is_some()
        })
        .collect()
}

fn overlaps(spans: &[(usize, usize)], s: usize, e: usize) -> bool {
    spans.iter().any(|&(a, z)| s < z && a < e)
}

fn bearer_and_basic(b: &[u8], lower: &str, spans: &mut Vec<(usize, usize)>) {
    for (i, _) in lower.match_indices("bearer") {
        if !left_free(b, i) {
            continue;
        }
        let mut j = i + "bearer".len();
        let sep_start = j;
        loop {
            if j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            } else if lower[j..].starts_with("%20") {
                j += 3;
            } else if j == sep_start && b.get(j) == Some(&b'+') {
                j += 1;
            } else {
                break;
            }
        }
        let end = run_end(b, j, tok);
        if j > sep_start && end - j >= 8 && !all_lowercase_word(&b[j..end]) {
            spans.push((j, end));
        }
    }
    for (i, _) in lower.match_indices("basic ") {
        if !left_free(b, i) {
            continue;
        }
        let j = run_end(b, i + "basic ".len(), |c| c == b' ');
        let end = run_end(b, j, b64);
        let decoded = std::str::from_utf8(&b[j..end]).ok().and_then(decode_base64);
        if end - j >= 8 && decoded.is_some_and(|d| d.contains(&b':')) {
            spans.push((j, end));
        }
    }
}

fn jwts(text: &str, spans: &mut Vec<(usize, usize)>) {
    fn seg(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
    }
    let b = text.as_bytes();
    for (i, _) in text.match_indices("eyJ") {
        if i > 0 && (seg(b[i - 1]) || b[i - 1] == b'.') {
            continue;
        }
        let j = run_end(b, i, seg);
        if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(|&c| seg(c)) {
            let end = run_end(b, j, |c| seg(c) || c == b'.');
            spans.push((i, end.min(b.len())));
        }
    }
}

/// Token formats with a known prefix: Google `ya29.`, `1//`, `4/0`, `GOCSPX-`; Microsoft `0.A`,
/// `M.C`/`M.R`.
fn prefixed_tokens(text: &str, spans: &mut Vec<(usize, usize)>) {
    fn google(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
    }
    fn google_dot(c: u8) -> bool {
        google(c) || c == b'.'
    }
    fn ms(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"-_.*!$".contains(&c)
    }
    let b = text.as_bytes();
    let rules: [(&str, usize, ByteClass); 7] = [
        ("ya29.", 10, google_dot),
        ("1//", 10, google),
        ("4/0", 10, google),
        ("GOCSPX-", 10, google),
        ("0.A", 30, ms),
        ("M.C", 30, ms),
        ("M.R", 30, ms),
    ];
    for (prefix, min, pred) in rules {
        for (i, _) in text.match_indices(prefix) {
            let free = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b"./_-".contains(&b[i - 1]));
            let start = i + prefix.len();
            let end = run_end(b, start, pred);
            if free && end - start >= min {
                spans.push((i, end));
            }
        }
    }
}

/// Values of secret-like keys in `key=value`, `"key": "value"`, `key: value` and `<key>value<`.
fn key_values(b: &[u8], lower: &str, spans: &mut Vec<(usize, usize)>) {
    // (key, shortest value worth hiding, whether `key: value` counts besides `key=value`)
    const KEYS: [(&str, usize, bool); 13] = [
        ("password", 1, true),
        ("passwd", 1, true),
        ("pwd", 1, true),
        ("passphrase", 1, true),
        ("secret", 1, true),
        ("api_key", 1, true),
        ("apikey", 1, true),
        ("api-key", 1, true),
        ("token", 12, true),
        ("assertion", 12, true),
        ("device_code", 12, true),
        ("code_verifier", 12, true),
        ("code", 20, false),
    ];
    let quote = |c: u8| c == b'"' || c == b'\'' || c == b'\\';
    for (key, min, colon) in KEYS {
        for (i, _) in lower.match_indices(key) {
            if !left_free(b, i) {
                continue;
            }
            let mut j = i + key.len();
            let mut skipped = 0;
            while j < b.len() && quote(b[j]) && skipped < 2 {
                j += 1;
                skipped += 1;
            }
            j = run_end(b, j, |c| c == b' ' || c == b'\t');
            let xml = i > 0 && b[i - 1] == b'<' && b.get(j) == Some(&b'>');
            match b.get(j) {
                Some(b'=') => {}
                Some(b':') if colon => {}
                Some(b'>') if xml => {}
                _ => continue,
            }
            j = run_end(b, j + 1, |c| c == b' ' || c == b'\t');
            let mut q = None;
            let mut skipped = 0;
            while j < b.len() && quote(b[j]) && skipped < 3 {
                if b[j] != b'\\' {
                    q = Some(b[j]);
                }
                j += 1;
                skipped += 1;
            }
            let mut end = j;
            match q {
                Some(q) => {
                    while end < b.len() && b[end] != q && b[end] != b'\n' && b[end] != b'\\' {
                        end += 1;
                    }
                }
                None => {
                    while end < b.len()
                        && !b[end].is_ascii_whitespace()
                        && !b"&,;\"'<>)]}\\".contains(&b[end])
                    {
                        end += 1;
                    }
                }
            }
            if end - j >= min && !lower[j..end].starts_with("[redacted") {
                spans.push((j, end));
            }
        }
    }
}

/// `scheme://user:password@host`: the password.
fn url_passwords(text: &str, spans: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    for (i, _) in text.match_indices("://") {
        let start = i + 3;
        let end = run_end(b, start, |c| {
            !c.is_ascii_whitespace() && !b"/@?#\"'<>".contains(&c)
        });
        if b.get(end) == Some(&b'@') {
            if let Some(colon) = text[start..end].find(':') {
                spans.push((start + colon + 1, end));
            }
        }
    }
}

/// XOAUTH2, OAUTHBEARER and PLAIN initial responses, decoded or recognised by their prefix when
/// a log cut them short.
fn sasl_responses(
    text: &str,
    lower: &str,
    keep: &[(usize, usize)],
    spans: &mut Vec<(usize, usize)>,
) {
    let b = text.as_bytes();
    for (s, e) in base64_runs(text, 8) {
        if overlaps(keep, s, e) {
            continue;
        }
        let run = &text[s..e];
        let by_prefix = e - s >= 12
            && ["dXNlcj", "bixhP", "biws"]
                .iter()
                .any(|p| run.starts_with(p));
        let by_content = decode_base64(run).is_some_and(|d| {
            let l = d.to_ascii_lowercase();
            l.windows(11).any(|w| w == b"auth=bearer")
                || l.starts_with(b"user=")
                || l.starts_with(b"n,a=")
                || l.starts_with(b"n,,")
                || is_plain_response(&d, true)
        });
        if by_prefix || by_content {
            spans.push((s, e));
        }
    }
    for (i, _) in lower.match_indices("plain ") {
        if !left_free(b, i) {
            continue;
        }
        let j = run_end(b, i + "plain ".len(), |c| c == b' ');
        let end = run_end(b, j, b64);
        // A PLAIN response a log cut short still decodes, in whole quads, to text with a NUL.
        let run = text[j..end].trim_end_matches('=');
        let whole = &run[..run.len() - run.len() % 4];
        if end - j >= 8 && decode_base64(whole).is_some_and(|d| is_plain_response(&d, false)) {
            spans.push((j, end));
        }
    }
}

/// Whether bytes are a SASL PLAIN response, `authzid NUL authcid NUL password`, all printable
/// but the NULs; `complete` is false for a response a log cut short.
fn is_plain_response(d: &[u8], complete: bool) -> bool {
    let parts: Vec<&[u8]> = d.split(|&c| c == 0).collect();
    let printable = |p: &&[u8]| p.iter().all(|&c| (0x20..0x7f).contains(&c) || c >= 0x80);
    let shape_ok = if complete {
        parts.len() == 3 && !parts[1].is_empty() && !parts[2].is_empty()
    } else {
        (2..=3).contains(&parts.len()) && !parts[1].is_empty()
    };
    shape_ok && parts.iter().all(printable)
}

/// AUTH LOGIN: the line after the server's `334 UGFzc3dvcmQ6` ("Password:") is the password.
fn auth_login_passwords(text: &str, spans: &mut Vec<(usize, usize)>) {
    for prompt in ["UGFzc3dvcmQ6", "cGFzc3dvcmQ6"] {
        for (i, _) in text.match_indices(prompt) {
            let Some(nl) = text[i..].find('\n') else {
                continue;
            };
            let mut line_start = i + nl + 1;
            for line in text[line_start..].split('\n') {
                let trimmed = line.trim_end();
                if let Some(last) = trimmed.split_whitespace().last() {
                    if last.bytes().all(b64) {
                        let at = line_start + trimmed.rfind(last).unwrap_or(0);
                        spans.push((at, at + last.len()));
                    }
                    break;
                }
                line_start += line.len() + 1;
            }
        }
    }
}

/// IMAP `tag LOGIN user password`: the password.
fn imap_login_passwords(text: &str, spans: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    for (i, _) in text.match_indices(" LOGIN ") {
        // Only a client command: `<tag> LOGIN user password`, not `AUTH LOGIN` or `NO LOGIN failed`.
        let tag = text[..i].rsplit([' ', '\n']).next().unwrap_or_default();
        let tag_ok = !tag.is_empty()
            && tag.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.')
            && !["AUTH", "NO", "OK", "BAD", "C:", "S:"].contains(&tag);
        if !tag_ok {
            continue;
        }
        let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n);
        let mut args = Vec::new();
        let mut j = i + " LOGIN ".len();
        while j < line_end && args.len() < 3 {
            j = run_end(b, j, |c| c == b' ' || c == b'\t');
            if j >= line_end || b[j] == b'\r' {
                break;
            }
            let start = j;
            if b[j] == b'"' {
                j += 1;
                while j < line_end && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                j = (j + 1).min(line_end);
            } else {
                while j < line_end && !b[j].is_ascii_whitespace() {
                    j += 1;
                }
            }
            args.push((start, j));
        }
        if args.len() == 2 {
            spans.push(args[1]);
        }
    }
}

/// Any other long opaque string with upper case, lower case and digits: refresh tokens,
/// device codes, cookies and client secrets of formats not listed above.
fn long_opaque(text: &str, keep: &[(usize, usize)], spans: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !tok(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let end = run_end(b, i, tok);
        i = end;
        let run = &text[start..end];
        let mixed = run.bytes().any(|c| c.is_ascii_uppercase())
            && run.bytes().any(|c| c.is_ascii_lowercase())
            && run.bytes().any(|c| c.is_ascii_digit());
        if !mixed || overlaps(keep, start, end) {
            continue;
        }
        let lower = run.to_ascii_lowercase();
        let looks_like_name = run.starts_with('/')
            || [
                ".com",
                ".net",
                ".org",
                "googleapis",
                "microsoft",
                "office",
                "outlook",
                "windows",
            ]
            .iter()
            .any(|m| lower.contains(m))
            || (run.matches('.').count() >= 2 && run.split('.').all(|s| s.len() <= 30));
        let ms_secret = run.len() >= 30 && run.contains('~') && !run.contains('/');
        if ms_secret || (run.len() >= 40 && !looks_like_name) {
            spans.push((start, end));
        }
    }
}

/// The shortest bare lowercase hex word [`scrub`] redacts.
///
/// Secrets are often hex with no key in front: API keys, session IDs and webhook secrets of 160
/// or 256 bits (40 or 64 characters), pasted alone or in a log line. What else is long hex in a
/// pasted log decides the bound:
/// - 32 characters (128 bits) stay: trace and request IDs (W3C `traceparent`, Google's and
///   Microsoft's request IDs without dashes) are what a diagnosis and the provider's support need,
///   and UUIDs with dashes are never one hex word anyway.
/// - 40 characters and more go, commit hashes (40) and SHA-256 digests (64) included: a
///   lowercase 40-character hex word cannot be told from a 160-bit secret, and a commit hash in a
///   pasted mail log is not what a diagnosis reads.
/// - Upper-case hex stays: that is how Windows and the Entra portal show certificate thumbprints,
///   which are public and which the certificate diagnoses name. Mixed-case runs of 40 or more are
///   covered by the opaque-string rule.
pub const MIN_BARE_HEX: usize = 40;

/// Bare lowercase hex words of [`MIN_BARE_HEX`] characters or more, with a digit and a letter
/// (a long number is not a secret): whole words only, so a hex tail of a longer name stays.
fn bare_hex(text: &str, spans: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    let mut i = 0;
    while i < b.len() {
        if !hex(b[i]) || !left_free(b, i) {
            i += 1;
            continue;
        }
        let end = run_end(b, i, hex);
        let whole = end == b.len() || !b[end].is_ascii_alphanumeric();
        let run = &b[i..end];
        if whole
            && run.len() >= MIN_BARE_HEX
            && run.iter().any(u8::is_ascii_digit)
            && run.iter().any(u8::is_ascii_lowercase)
        {
            spans.push((i, end));
        }
        i = end.max(i + 1);
    }
}

fn rebuild(text: &str, mut spans: Vec<(usize, usize)>) -> String {
    spans.retain(|(s, e)| s < e);
    spans.sort();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in spans {
        if e <= at {
            continue;
        }
        let s = s.max(at);
        out.push_str(&text[at..s]);
        out.push_str(REDACTED);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// Each case: the input, and the secret that must be gone after scrubbing.
    fn cases() -> Vec<(String, String)> {
        let xoauth2 =
            b64(b"user=scan@contoso.com\x01auth=Bearer ya29.a0AfB_byC9secretsecret\x01\x01");
        let oauthbearer = b64(
            b"n,a=scan@contoso.com,\x01host=imap.gmail.com\x01auth=Bearer Zm9vYmFyc2VjcmV0\x01\x01",
        );
        let plain = b64(b"\0scan@contoso.com\0Sup3rS3cret!");
        vec![
            ("Authorization: Bearer ya29.a0AfB_byC9secretsecret".into(), "a0AfB_byC9secretsecret".into()),
            ("auth=Bearer EwBwA8l6BAAUs5+HQn0N=\x01\x01".into(), "EwBwA8l6BAAUs5+HQn0N".into()),
            ("token: eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl".into(), "c2lnbmF0dXJl".into()),
            (r#"{"refresh_token":"1//0gLmNoPqRsTuVwXyZ-abcdefghijk","token_type":"Bearer"}"#.into(), "0gLmNoPqRsTuVwXyZ".into()),
            ("client_secret=GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx&grant_type=refresh_token".into(), "AbCdEfGhIjKlMnOpQrStUvWx".into()),
            ("client_secret: abc8Q~AbCdEfGhIjKlMnOpQrStUvWxYz0123456789".into(), "AbCdEfGhIjKlMnOpQrStUvWx".into()),
            ("secret is abc8Q~AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 now".into(), "AbCdEfGhIjKlMnOpQrStUvWx".into()),
            ("mail.smtp.password=hunter2".into(), "hunter2".into()),
            (r#"{"password": "correct horse battery"}"#.into(), "correct horse".into()),
            ("<Password>P@ssw0rd</Password>".into(), "P@ssw0rd".into()),
            ("C: AUTH XOAUTH2 ".to_string() + &xoauth2, "dXNlcj1".into()),
            ("C: AUTH XOAUTH2 ".to_string() + &xoauth2[..30], "dXNlcj1".into()),
            ("a1 AUTHENTICATE OAUTHBEARER ".to_string() + &oauthbearer, "bixhP".into()),
            ("AUTH PLAIN ".to_string() + &plain, plain.clone()),
            ("S: 334 VXNlcm5hbWU6\nC: c2NhbkBjb250b3NvLmNvbQ==\nS: 334 UGFzc3dvcmQ6\nC: U3VwM3JTM2NyZXQh\n".into(), "U3VwM3JTM2NyZXQh".into()),
            ("a1 LOGIN scan@contoso.com \"Sup3r S3cret\"".into(), "Sup3r S3cret".into()),
            ("refresh_token=0.AXYAabcdefGHIJKLmnopQRSTuvwxYZ0123456789-_abcdef*".into(), "AXYAabcdef".into()),
            ("token M.C507_BAY.0.U.-CgAbCdEfGhIjKlMnOpQrStUvWxYz0123456789!".into(), "CgAbCdEfGhIjK".into()),
            ("device_code=HAQABAAEAAAD--DLA3VO7QrddgJg7WevrH4vzpebJBbwZWgG".into(), "DLA3VO7QrddgJg7".into()),
            ("http://localhost:53682/?code=0.AXYA1234567890abcdefABCDEF&state=xyz".into(), "1234567890abcdef".into()),
            ("redirect code=4/0AX4XfWhAbCdEfGhIjKl and 4/0AX4XfWhAbCdEfGhIjKl".into(), "AX4XfWhAbCdEfGhIjKl".into()),
            ("introspection_url = http://dovecot:dovecot-secret@127.0.0.1:9090/x".into(), "dovecot-secret".into()),
            ("Cookie: esctx=AQABAAAAAAD--DLA3VO7QrddgJg7WevrdtcPp0UMwiQf-fWJ0sT36OV7Ib".into(), "QrddgJg7Wevrdtc".into()),
            ("Authorization: Basic c2NhbkBjb250b3NvLmNvbTpodW50ZXIy".into(), "c2NhbkBjb250b3NvLmNvbTpodW50ZXIy".into()),
        ]
    }

    #[test]
    fn every_kind_of_secret_is_removed() {
        for (input, secret) in cases() {
            let out = scrub(&input);
            assert!(
                !out.contains(secret.as_str()),
                "{secret:?} survived in {out:?}"
            );
            assert!(out.contains(REDACTED), "nothing redacted in {out:?}");
            assert_eq!(scrub(&out), out, "scrubbing twice changed {out:?}");
        }
    }

    /// Regression (issue 13, item 10): a bare 64-character lowercase hex token with no key in
    /// front survived; 40-character hex (commit hashes) goes too, shorter or upper-case hex stays.
    #[test]
    fn bare_long_lowercase_hex_is_redacted_and_ordinary_hex_stays() {
        let token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        for text in [
            token.to_string(),
            format!("session {token} expired"),
            format!("x-api-key\t{token}\n"),
            format!("[{token}]"),
        ] {
            let out = scrub(&text);
            assert!(!out.contains(&token[..20]), "{out:?}");
            assert!(out.contains(REDACTED), "{out:?}");
            assert_eq!(scrub(&out), out);
        }
        // The choice for commit hashes: redacted like any other 160-bit hex word.
        assert_eq!(
            scrub("built from 8e348ee0c5b2a9f4d3e1c7b6a5f4e3d2c1b0a9f8 today"),
            "built from [redacted] today"
        );
        for keep in [
            "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "request 0af7651916cd43dd8448eb211c80319c failed",
            "Thumbprint 3F2A9C0D1B4E5F60718293A4B5C6D7E8F9012345",
            "commit 8e348ee (HEAD -> main)",
            "serial 1234567890123456789012345678901234567890123",
            "/var/lib/x/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08zz",
        ] {
            assert_eq!(scrub(keep), keep);
        }
    }

    /// Regression (fuzz, explain): a refresh token glued to the end of a truncated XOAUTH2
    /// response was redacted, and what was left of the response only on a second scrub.
    #[test]
    fn one_scrub_removes_what_a_second_would() {
        let text = "C: AUTH XOAUTH2 dXNlcjct_uen=1//0gTestOnlyRe 10:00:01";
        let out = scrub(text);
        assert_eq!(out, "C: AUTH XOAUTH2 [redacted][redacted] 10:00:01");
        assert_eq!(scrub(&out), out);
    }

    #[test]
    fn error_text_and_challenges_survive() {
        let keep = [
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
            "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked.","token_type":"Bearer"}"#,
            "Trace ID: 0a1b2c3d-4e5f-6789-abcd-ef0123456789 Correlation ID: 11112222-3333-4444-5555-666677778888",
            "scope https://outlook.office365.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
            "a1 NO LOGIN failed.",
            "Bearer authentication failed; the schemes were \"Bearer\"",
            "javax.mail.AuthenticationFailedException at com.sun.mail.smtp.SMTPTransport$Authenticator.authenticate(SMTPTransport.java:947)",
            "The password is expired. Reset it at https://passwordreset.microsoftonline.com",
            "AUTHENTICATE XOAUTH2 Authentication failed",
            "Thumbprint 3F2A9C0D1B4E5F60718293A4B5C6D7E8F9012345",
        ];
        for text in keep {
            assert_eq!(scrub(text), text);
        }
    }
}
