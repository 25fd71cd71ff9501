//! The tokens of one account as a store keeps them, and their JSON (only stores write it).

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// Tokens as stored: the secrets stay in [`Secret`]s in memory and are written only by a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret<String>,
    /// The refresh token, when one was issued.
    pub refresh_token: Option<Secret<String>>,
    /// When the access token expires, in Unix seconds; `None` when the provider did not say.
    pub expires_at: Option<u64>,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// The account that signed in (from the id_token), when known.
    pub account: Option<String>,
    /// When the tokens were obtained, in Unix seconds.
    pub obtained_at: u64,
}

/// The stored form of a [`TokenSet`]; exists only inside `to_json`/`from_json`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredTokens {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    account: Option<String>,
    obtained_at: u64,
}

impl TokenSet {
    /// The JSON a store writes; contains the secrets, so only stores call it.
    pub fn to_json(&self) -> String {
        let s = StoredTokens {
            access_token: self.access_token.expose().clone(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose().clone()),
            expires_at: self.expires_at,
            scopes: self.scopes.clone(),
            account: self.account.clone(),
            obtained_at: self.obtained_at,
        };
        // A struct of strings and numbers always serialises.
        serde_json::to_string_pretty(&s).unwrap_or_default()
    }

    /// Parses what [`TokenSet::to_json`] wrote; the error never quotes the content.
    pub fn from_json(text: &str) -> Result<TokenSet, String> {
        let s: StoredTokens = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a mailoauth token file (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        Ok(TokenSet {
            access_token: Secret::new(s.access_token),
            refresh_token: s.refresh_token.map(Secret::new),
            expires_at: s.expires_at,
            scopes: s.scopes,
            account: s.account,
            obtained_at: s.obtained_at,
        })
    }

    /// True when the access token is still good for `margin` seconds after `now`.
    pub fn fresh_at(&self, now: u64, margin: u64) -> bool {
        self.expires_at
            .is_some_and(|e| e > now.saturating_add(margin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_set_json_round_trips_and_debug_hides_secrets() {
        let t = TokenSet {
            access_token: Secret::new("at-secret".into()),
            refresh_token: Some(Secret::new("rt-secret".into())),
            expires_at: Some(100),
            scopes: vec!["mail".into()],
            account: Some("alice@example.test".into()),
            obtained_at: 40,
        };
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains("at-secret") && !dbg.contains("rt-secret"),
            "{dbg}"
        );
        let back = TokenSet::from_json(&t.to_json()).unwrap();
        assert_eq!(back, t);
        assert!(t.fresh_at(39, 60) && !t.fresh_at(41, 60));
        let err = TokenSet::from_json("{\"accessToken\": \"leak-me\"").unwrap_err();
        assert!(!err.contains("leak-me"));
    }
}
