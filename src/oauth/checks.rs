//! The checks a token response passes before anything is saved: the scopes the purpose needs,
//! a refresh token when one is needed, and the mailbox as the signed-in account.

use super::client::TokenResp;
use super::error::{OAuthError, OfflineAccess};
use super::{identity, AccountAuth, TokenSet};
use crate::provider::{Flow, Profile};
use crate::secret::Secret;
use oauth2::TokenResponse;

/// Scopes that only shape the sign-in and are not echoed back by every provider.
const SIGN_IN_SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// The requested scopes a token must carry for the mail service to work.
pub fn required_scopes(requested: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|s| !SIGN_IN_SCOPES.contains(&s.as_str()))
        .cloned()
        .collect()
}

/// What is missing for the provider to issue a refresh token.
fn refresh_hint(profile: &Profile) -> String {
    match profile.id() {
        "google" => String::from("the authorization request needs access_type=offline and prompt=consent; sign in again"),
        "microsoft" => String::from("request the offline_access scope (and grant it under API permissions); sign in again"),
        _ => String::from("request the offline_access scope with prompt=consent, and allow the refresh_token grant for the client"),
    }
}

/// Checks `resp` for `auth` and turns it into the [`TokenSet`] to store.
pub fn check_grant(
    auth: &AccountAuth,
    profile: &Profile,
    requested: &[String],
    resp: &TokenResp,
    now: u64,
) -> Result<TokenSet, OAuthError> {
    // RFC 6749 5.1: no `scope` in the reply means exactly the requested scopes were granted.
    let granted: Vec<String> = match resp.scopes() {
        Some(s) => s.iter().map(|s| s.to_string()).collect(),
        None => requested.to_vec(),
    };
    let missing: Vec<String> = required_scopes(requested)
        .into_iter()
        .filter(|r| !granted.iter().any(|g| g.eq_ignore_ascii_case(r)))
        .collect();
    if !missing.is_empty() {
        return Err(OAuthError::MissingScopes { missing, granted });
    }
    if auth.flow.is_delegated() && resp.refresh_token().is_none() {
        // Google's sign-in always asks with access_type=offline; elsewhere it is the scope.
        let asked = profile.id() == "google" || requested.iter().any(|s| s == "offline_access");
        return Err(OAuthError::NoRefreshToken {
            offline: if asked {
                OfflineAccess::RequestedNotGranted
            } else {
                OfflineAccess::NotRequested
            },
            hint: refresh_hint(profile),
        });
    }
    let account = match (&resp.extra_fields().id_token, auth.flow.is_delegated()) {
        (Some(id), _) => identity::account(id, profile.identity_claims()),
        (None, _) => None,
    };
    let mailbox = auth.mailbox.trim().to_ascii_lowercase();
    if auth.flow.is_delegated() {
        match &account {
            Some(a) if *a == mailbox => {}
            Some(a) => {
                return Err(OAuthError::AccountMismatch {
                    mailbox,
                    signed_in: a.clone(),
                })
            }
            None => {
                return Err(OAuthError::NoIdentity {
                    claims: profile.identity_claims().join(", "),
                })
            }
        }
    }
    Ok(TokenSet {
        access_token: Secret::new(resp.access_token().secret().clone()),
        refresh_token: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
        expires_at: resp.expires_in().map(|d| now + d.as_secs()),
        scopes: granted,
        account: account.or(Some(mailbox)),
        obtained_at: now,
    })
}

/// The scopes to request: the account's own, or the profile's for its purpose and flow.
pub(crate) fn scopes_for(
    auth: &AccountAuth,
    profile: &Profile,
    flow: Flow,
) -> Result<Vec<String>, OAuthError> {
    if !auth.scopes.is_empty() {
        return Ok(auth.scopes.clone());
    }
    Ok(profile.scopes(auth.purpose, flow, auth.cloud)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::IdTokenField;
    use crate::oauth::identity::fake_id_token;
    use crate::provider::{self, ClientAuth, Purpose};
    use oauth2::basic::BasicTokenType;
    use oauth2::{AccessToken, RefreshToken, Scope};
    use serde_json::json;

    fn auth(mailbox: &str) -> AccountAuth {
        AccountAuth {
            provider: "generic".into(),
            cloud: Default::default(),
            tenant: None,
            client_id: "c".into(),
            client_auth: ClientAuth::None,
            client_secret: None,
            key_id: None,
            certificate: None,
            flow: Flow::Loopback,
            purpose: Purpose::Both,
            scopes: vec![
                "openid".into(),
                "email".into(),
                "offline_access".into(),
                "mail".into(),
            ],
            endpoints: Default::default(),
            redirect_port: None,
            mailbox: mailbox.into(),
        }
    }

    fn resp(scope: Option<&str>, refresh: bool, email: Option<&str>) -> TokenResp {
        let mut r = TokenResp::new(
            AccessToken::new("at".into()),
            BasicTokenType::Bearer,
            IdTokenField {
                id_token: email.map(|e| fake_id_token(&json!({ "email": e }))),
            },
        );
        r.set_scopes(scope.map(|s| s.split(' ').map(|s| Scope::new(s.into())).collect()));
        if refresh {
            r.set_refresh_token(Some(RefreshToken::new("rt".into())));
        }
        r.set_expires_in(Some(&std::time::Duration::from_secs(3600)));
        r
    }

    #[test]
    fn a_complete_grant_passes_and_becomes_a_token_set() {
        let p = provider::profile("generic").unwrap();
        let a = auth("Alice@example.test");
        let t = check_grant(
            &a,
            p,
            &a.scopes,
            &resp(Some("openid mail"), true, Some("alice@example.test")),
            10,
        )
        .unwrap();
        assert_eq!(t.expires_at, Some(3610));
        assert_eq!(t.account.as_deref(), Some("alice@example.test"));
    }

    #[test]
    fn missing_scope_refresh_token_and_wrong_account_are_caught() {
        let p = provider::profile("generic").unwrap();
        let a = auth("alice@example.test");
        let e = check_grant(
            &a,
            p,
            &a.scopes,
            &resp(Some("openid email"), true, Some("alice@example.test")),
            0,
        )
        .unwrap_err();
        assert!(
            matches!(e, OAuthError::MissingScopes { ref missing, .. } if missing == &["mail"]),
            "{e}"
        );
        let e = check_grant(
            &a,
            p,
            &a.scopes,
            &resp(None, false, Some("alice@example.test")),
            0,
        )
        .unwrap_err();
        assert!(matches!(e, OAuthError::NoRefreshToken { .. }), "{e}");
        let e = check_grant(
            &a,
            p,
            &a.scopes,
            &resp(None, true, Some("bob@example.test")),
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not connected"), "{e}");
        let e = check_grant(&a, p, &a.scopes, &resp(None, true, None), 0).unwrap_err();
        assert!(matches!(e, OAuthError::NoIdentity { .. }));
    }
}
