//! SASL failure challenges: the base64 JSON a server sends before refusing an OAuth login.
//!
//! Gmail answers a rejected XOAUTH2 token with `334 eyJzdGF0dXMiOiI0MDAi...` (SMTP) or
//! `+ eyJ...` (IMAP), Dovecot and other RFC 7628 servers do the same. The JSON names the status,
//! the schemes and the scope the server wants, which is the most precise hint in the whole
//! exchange, yet products log it undecoded.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A login failure challenge found in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DecodedChallenge {
    /// The `status` the server gave: an HTTP-like code (`400`, `401`) or an RFC 6750 error (`invalid_token`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The token schemes the server accepts (`Bearer`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemes: Option<String>,
    /// The scope the server wants the token to carry (`https://mail.google.com/`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Where the server says its OpenID configuration is, if it said so.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid_configuration: Option<String>,
    /// The decoded JSON, compact.
    pub json: String,
}

impl DecodedChallenge {
    /// One line an admin reads: what the server said about the token.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.status {
            parts.push(format!("status {s}"));
        }
        if let Some(s) = &self.schemes {
            parts.push(format!("schemes {s}"));
        }
        if let Some(s) = &self.scope {
            parts.push(format!("wanted scope {s}"));
        }
        if let Some(s) = &self.openid_configuration {
            parts.push(format!("OpenID configuration {s}"));
        }
        if parts.is_empty() {
            self.json.clone()
        } else {
            parts.join(", ")
        }
    }
}

/// A challenge and the text it was found as (base64 or raw JSON).
pub(super) struct Found {
    pub(super) challenge: DecodedChallenge,
    pub(super) raw: String,
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Every run of base64 characters (standard or URL-safe, with padding) of at least `min` chars,
/// as byte ranges of `text`.
pub(super) fn base64_runs(text: &str, min: usize) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_b64(b[i]) && (i == 0 || !(is_b64(b[i - 1]) || b[i - 1] == b'=' || b[i - 1] == b'.')) {
            let start = i;
            while i < b.len() && is_b64(b[i]) {
                i += 1;
            }
            let mut end = i;
            while end < b.len() && b[end] == b'=' && end - i < 2 {
                end += 1;
            }
            let glued = b.get(end).is_some_and(|&c| is_b64(c) || c == b'=');
            if end - start >= min && !glued {
                runs.push((start, end));
            }
            i = end.max(i);
        } else {
            i += 1;
        }
    }
    runs
}

/// Decodes base64 in any of the four common alphabets/paddings.
pub(super) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()
}

/// The challenge these bytes hold, if they are a JSON object with a challenge's fields.
pub(super) fn parse(bytes: &[u8]) -> Option<DecodedChallenge> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let obj = value.as_object()?;
    let field = |name: &str| {
        obj.get(name).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let status = field("status");
    let schemes = field("schemes");
    let scope = field("scope");
    if status.is_none() && schemes.is_none() {
        return None;
    }
    Some(DecodedChallenge {
        status,
        schemes,
        scope,
        openid_configuration: field("openid-configuration"),
        json: super::scrub::scrub(&value.to_string()),
    })
}

/// Every challenge in an already scrubbed text, each once, in order of appearance.
pub(super) fn find(text: &str) -> Vec<Found> {
    let mut found: Vec<(usize, Found)> = Vec::new();
    for (start, end) in base64_runs(text, 16) {
        let raw = &text[start..end];
        if let Some(challenge) = decode_base64(raw).as_deref().and_then(parse) {
            found.push((
                start,
                Found {
                    challenge,
                    raw: raw.to_string(),
                },
            ));
        }
    }
    // Some products log the challenge already decoded.
    for (start, _) in text.match_indices("{\"status\"") {
        if let Some(len) = text[start..].find('}') {
            let raw = &text[start..=start + len];
            if let Some(challenge) = parse(raw.as_bytes()) {
                found.push((
                    start,
                    Found {
                        challenge,
                        raw: raw.to_string(),
                    },
                ));
            }
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let mut out: Vec<Found> = Vec::new();
    for (_, f) in found {
        if !out.iter().any(|o| o.challenge == f.challenge) {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GMAIL: &str =
        "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

    #[test]
    fn decodes_a_gmail_smtp_challenge() {
        let found = find(&format!("S: 334 {GMAIL}\r\nC: \r\nS: 535-5.7.8 Username"));
        assert_eq!(found.len(), 1);
        let c = &found[0].challenge;
        assert_eq!(c.status.as_deref(), Some("400"));
        assert_eq!(c.schemes.as_deref(), Some("Bearer"));
        assert_eq!(c.scope.as_deref(), Some("https://mail.google.com/"));
        assert_eq!(
            c.summary(),
            "status 400, schemes Bearer, wanted scope https://mail.google.com/"
        );
    }

    #[test]
    fn decodes_unpadded_and_raw_challenges_once_each() {
        let unpadded = GMAIL.trim_end_matches('=');
        let text = format!(
            "+ {unpadded}\n{{\"status\":\"invalid_token\",\"openid-configuration\":\"https://idp.example/.well-known/openid-configuration\"}}"
        );
        let found = find(&text);
        let statuses: Vec<_> = found
            .iter()
            .map(|f| f.challenge.status.clone().unwrap_or_default())
            .collect();
        assert_eq!(statuses, ["400", "invalid_token"]);
        assert_eq!(
            found[1].challenge.openid_configuration.as_deref(),
            Some("https://idp.example/.well-known/openid-configuration")
        );
        assert_eq!(find(&format!("{GMAIL} {GMAIL}")).len(), 1);
    }

    #[test]
    fn ignores_base64_that_is_not_a_challenge() {
        // base64 of {"typ":"JWT"} and of plain text
        assert!(find("eyJ0eXAiOiJKV1QifQ== and SGVsbG8gd29ybGQsIGhlbGxvIQ==").is_empty());
    }
}
