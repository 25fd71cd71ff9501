//! The redirect query: a pasted address (`parse_pasted`) and the listener's query parameters
//! (`redirect_outcome`). Nothing panics; a code is only returned for this sign-in's `state`, and
//! an address built from the fuzzed code and state gives back exactly that code.

use mailoauth::oauth::loopback::{parse_pasted, redirect_outcome, RedirectOutcome};
use mailoauth::oauth::OAuthError;

const REDIRECT: &str = "http://127.0.0.1:8400/";
const STATE: &str = "s1-Zt8hQ";
const ISSUER: &str = "https://op.example/";

fn query_pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);

    // As pasted, against a fixed sign-in.
    for issuer in [None, Some(ISSUER)] {
        if let Ok(code) = parse_pasted(&text, REDIRECT, STATE, issuer) {
            assert!(!code.is_empty());
            let url = url::Url::parse(text.trim()).expect("an accepted address parses");
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            let first = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            assert_eq!(first("state").as_deref(), Some(STATE));
            assert_eq!(first("code").as_deref(), Some(code.as_str()));
            assert!(first("error").is_none());
        }
    }

    // As the listener sees it: the bytes are the query string.
    let params = query_pairs(&text);
    let state = params
        .iter()
        .find(|(n, _)| n == "state")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match redirect_outcome(&params, STATE, Some(ISSUER)) {
        RedirectOutcome::OtherSignIn => assert_ne!(state, STATE),
        RedirectOutcome::Failed(e) => {
            assert_eq!(state, STATE);
            assert!(
                matches!(
                    e,
                    OAuthError::IssuerMismatch { .. } | OAuthError::Provider(_)
                ),
                "{e}"
            );
        }
        RedirectOutcome::Code(_) => assert_eq!(state, STATE),
    }
    // Another sign-in's state never gets this redirect's code.
    if state != "another" {
        assert!(matches!(
            redirect_outcome(&params, "another", None),
            RedirectOutcome::OtherSignIn
        ));
    }

    // Round trip: an address built from the fuzzed code gives that code back.
    let (code, rest) = text.split_at(
        text.char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i),
    );
    let mut url = url::Url::parse(REDIRECT).expect("fixed");
    url.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", STATE)
        .append_pair("iss", ISSUER)
        .append_pair("note", rest);
    let got = parse_pasted(url.as_str(), REDIRECT, STATE, Some(ISSUER));
    if code.is_empty() {
        assert!(matches!(got, Err(OAuthError::Config { .. })), "{got:?}");
    } else {
        assert_eq!(got.ok().as_deref(), Some(code), "{url}");
    }
    assert!(matches!(
        parse_pasted(url.as_str(), REDIRECT, "another", None),
        Err(OAuthError::StateMismatch)
    ));
}
