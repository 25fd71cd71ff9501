//! Who signed in, from the id_token's claims.
//!
//! The id_token comes straight from the token endpoint over the connection mailoauth opened, so
//! its signature is not checked (OpenID Connect Core 3.1.3.7: TLS server validation may stand in
//! for it); it is only read to stop a wrong account before tokens are saved. Access tokens are
//! opaque at most providers and are never decoded.

use base64::Engine;
use serde_json::Value;

/// The claims of an id_token (its payload), or `None` when it is not a JWT.
pub fn claims(id_token: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The signed-in account: the first of `claim_names` that holds a string, lowercased.
pub fn account(id_token: &str, claim_names: &[String]) -> Option<String> {
    let c = claims(id_token)?;
    claim_names
        .iter()
        .find_map(|n| c.get(n).and_then(Value::as_str))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

/// The `iss` claim, for the issuer check.
pub fn issuer(id_token: &str) -> Option<String> {
    claims(id_token)?
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
pub(crate) fn fake_id_token(payload: &Value) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        e.encode(br#"{"alg":"RS256"}"#),
        e.encode(payload.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_present_claim_names_the_account() {
        let names = vec![
            "email".to_string(),
            "preferred_username".into(),
            "upn".into(),
        ];
        let t = fake_id_token(&json!({"preferred_username": "Scan@Contoso.com", "upn": "x@y"}));
        assert_eq!(account(&t, &names).as_deref(), Some("scan@contoso.com"));
        let t = fake_id_token(&json!({"email": "alice@example.test", "iss": "https://op"}));
        assert_eq!(account(&t, &names).as_deref(), Some("alice@example.test"));
        assert_eq!(issuer(&t).as_deref(), Some("https://op"));
        assert_eq!(account("not-a-jwt", &names), None);
        assert_eq!(account(&fake_id_token(&json!({"sub": "1"})), &names), None);
    }
}
