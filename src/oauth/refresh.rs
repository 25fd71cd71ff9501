//! Fresh access tokens for the mail service, safe against crashes and concurrent refreshes.
//!
//! The account's store lock is held from reading the tokens to saving the refreshed ones, so a
//! second process waits and then finds the new tokens instead of spending a rotated refresh token
//! (which at some providers revokes the whole grant). The rotated refresh token is saved before
//! the access token is handed out: a crash after the save loses nothing. Termination signals are
//! held from sending the refresh request until the save ([`super::hold`]); only SIGKILL (or a
//! power cut) in that window can still lose a strictly rotated grant.

use super::client::{configured, prepare, request_error, Http, ASSERTION_TYPE};
use super::error::{Endpoint, OAuthError};
use super::flows::obtain;
use super::{store_key, AccessToken, AccountAuth, FlowHooks, TokenSet};
use crate::secret::Secret;
use crate::store::TokenStore;
use oauth2::{RefreshToken, TokenResponse};

/// Refresh this long before the access token expires, for clock skew and slow networks.
pub const CLOCK_SKEW_SECS: u64 = 120;

/// A valid access token for `auth`, refreshing and saving first when it expires within
/// [`CLOCK_SKEW_SECS`] of `now` (Unix seconds).
pub async fn refresh_if_needed(
    auth: &AccountAuth,
    store: &dyn TokenStore,
    now: u64,
) -> Result<AccessToken, OAuthError> {
    let result = refresh_locked(auth, store, now).await;
    if let Err(e) = &result {
        tracing::warn!(
            mailbox = %auth.mailbox,
            diagnosis = e.diagnosis_id().as_deref().unwrap_or("-"),
            needs_reauthorization = matches!(e, OAuthError::NeedsReauthorization { .. }),
            "no fresh access token: {e}"
        );
    }
    result
}

async fn refresh_locked(
    auth: &AccountAuth,
    store: &dyn TokenStore,
    now: u64,
) -> Result<AccessToken, OAuthError> {
    let key = store_key(auth);
    let _lock = crate::store::lock_async(store, &key).await?;
    let Some(tokens) = store.load(&key)? else {
        return Err(OAuthError::NeedsReauthorization {
            reason: format!(
                "no tokens for {key} in the {}: the account has not signed in with this store yet",
                store.describe()
            ),
            reply: None,
        });
    };
    if tokens.fresh_at(now, CLOCK_SKEW_SECS) {
        tracing::debug!(mailbox = %key, expires_at = ?tokens.expires_at, "cached access token still valid");
        return Ok(tokens.access_token);
    }
    let Some(refresh) = &tokens.refresh_token else {
        if auth.flow.is_delegated() {
            return Err(OAuthError::NeedsReauthorization {
                reason: String::from("the access token expired and no refresh token is stored"),
                reply: None,
            });
        }
        // App-only flows have no refresh token: the application simply asks again.
        let clock = move || now;
        let mut hooks = FlowHooks::silent();
        hooks.now = &clock;
        let fresh = obtain(auth, None, &hooks).await?;
        store.save(&key, &fresh)?;
        tracing::info!(mailbox = %key, flow = ?auth.flow, "new app-only access token stored");
        return Ok(fresh.access_token);
    };
    let prepared = prepare(auth, auth.flow)?;
    let http = Http::new()?;
    let rt = RefreshToken::new(refresh.expose().clone());
    let mut req = configured(prepared.client.exchange_refresh_token(&rt))?;
    if let Some(a) = &prepared.assertion {
        req = req
            .add_extra_param("client_assertion_type", ASSERTION_TYPE)
            .add_extra_param("client_assertion", a.expose().clone());
    }
    // From sending the request until the rotated tokens are saved, a termination signal waits
    // (when the program opted in, as `mailoauth token` does): the provider may have revoked the
    // token we sent, and the new one exists only in the reply. Bounded by the request's time-out.
    let held = super::hold::hold();
    let resp = match req.request_async(&http).await {
        Ok(r) => r,
        Err(e) => {
            let e = request_error(e, Endpoint::Token, &http);
            return Err(if e.needs_reauthorization() {
                OAuthError::NeedsReauthorization {
                    reason: e.to_string(),
                    reply: e.reply().cloned().map(Box::new),
                }
            } else {
                e
            });
        }
    };
    let new = TokenSet {
        access_token: Secret::new(resp.access_token().secret().clone()),
        refresh_token: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()))
            .or_else(|| tokens.refresh_token.clone()),
        expires_at: resp.expires_in().map(|d| now + d.as_secs()),
        scopes: resp
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| tokens.scopes.clone()),
        account: tokens.account.clone(),
        obtained_at: now,
    };
    store.save(&key, &new)?;
    drop(held);
    tracing::info!(
        mailbox = %key,
        rotated = resp.refresh_token().is_some(),
        expires_at = ?new.expires_at,
        "access token refreshed and stored"
    );
    Ok(new.access_token)
}
