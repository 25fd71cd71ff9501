//! The SASL failure-challenge decoder (`334 eyJ...` / `+ eyJ...`, or JSON a log already decoded):
//! any text decodes without panicking, each challenge it returns has a status or schemes, is
//! returned once, and carries compact JSON that is already scrubbed; a challenge built from the
//! fuzzed strings and sent as a server would is decoded back to the same fields.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use mailoauth::diagnosis::{decode_challenges, scrub};

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let found = decode_challenges(&text);
    for (i, c) in found.iter().enumerate() {
        assert!(c.status.is_some() || c.schemes.is_some(), "{c:?}");
        let json: serde_json::Value = serde_json::from_str(&c.json)
            .unwrap_or_else(|e| panic!("challenge JSON does not parse ({e}): {}", c.json));
        assert!(json.is_object());
        assert_eq!(scrub(&c.json), c.json, "challenge JSON not scrubbed");
        assert!(!found[..i].contains(c), "a challenge returned twice");
        assert!(!c.summary().is_empty());
    }

    // The same bytes as the fields of a challenge a server sends, before the rest of the text.
    let cut = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let (status, scope) = text.split_at(cut);
    let challenge = serde_json::json!({
        "status": status,
        "schemes": "Bearer",
        "scope": scope,
    });
    let line = STANDARD.encode(challenge.to_string());
    for reply in [
        format!("S: 334 {line}\r\n{text}"),
        format!("S: + {line}\r\nS: A1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n{text}"),
    ] {
        let found = decode_challenges(&reply);
        assert!(
            found.iter().any(|c| c.status.as_deref() == Some(status)
                && c.schemes.as_deref() == Some("Bearer")
                && c.scope.as_deref() == Some(scope)),
            "the server's challenge was not decoded: {found:?} from {reply:?}"
        );
    }
}
