//! `explain` and its matcher, on anything an admin may paste: no panic; the scrubbed input is the
//! scrubbed text and scrubbing is idempotent; a bearer token in the text never reaches the
//! explanation; something matched or there are suggestions, never both.

use mailoauth::diagnosis::{explain, scrub, Context, MAX_INPUT_BYTES};

/// An access token no catalog entry or real log holds.
const TOKEN: &str = "ya29.a0FuzzSentinelTok3nQ7vKp2Lm9Rt4Wz8Yb3Nc6Hd1Jf5";

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let ctx = if data.len() % 2 == 0 {
        Context::default()
    } else {
        Context {
            mailbox: Some("scanner@contoso.com".into()),
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_id: Some("9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into()),
            app_name: Some("mailoauth relay".into()),
            redirect_uri: Some("http://localhost".into()),
            ..Context::default()
        }
    };
    let e = explain(&text, &ctx);
    if text.len() <= MAX_INPUT_BYTES {
        assert_eq!(e.scrubbed_input, scrub(&text));
    }
    assert_eq!(
        scrub(&e.scrubbed_input),
        e.scrubbed_input,
        "scrub is not idempotent"
    );
    assert_eq!(e.matches.is_empty(), !e.suggestions.is_empty());
    for m in &e.matches {
        assert!(!m.matched_by.is_empty(), "{}", m.diagnosis.id);
    }

    // A log line with a bearer token, before whatever the admin pasted with it.
    let pasted = format!("Authorization: Bearer {TOKEN}\r\n{text}");
    if pasted.matches("a0FuzzSentinel").count() == 1 {
        let e = explain(&pasted, &ctx);
        let json = serde_json::to_string(&e).expect("explanations serialize");
        assert!(!json.contains("a0FuzzSentinel"), "the token leaked: {json}");
        assert!(e
            .scrubbed_input
            .starts_with("Authorization: Bearer [redacted]"));
    }
}
