//! The flows that obtain the first tokens, each ending in the checks and the save.

use super::checks::{check_grant, scopes_for};
use super::client::{
    configured, prepare, request_error, Http, Prepared, TokenResp, ASSERTION_TYPE,
};
use super::error::{Endpoint, OAuthError};
use super::{jwt, loopback, store_key, AccountAuth, FlowEvent, FlowHooks, TokenSet};
use crate::provider::{ClientType, Flow};
use crate::secret::Secret;
use crate::store::TokenStore;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, StandardDeviceAuthorizationResponse,
};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Adds the private_key_jwt client assertion (when the client uses one) to a token request of
/// any grant type, sends it, stoppable through the hooks' cancel signal, and types the error.
/// A macro because the crate's request builders share these methods but no trait.
macro_rules! send_token_request {
    ($req:expr, $prepared:expr, $http:expr, $hooks:expr) => {{
        let mut req = $req;
        if let Some(a) = &$prepared.assertion {
            req = req
                .add_extra_param("client_assertion_type", ASSERTION_TYPE)
                .add_extra_param("client_assertion", a.expose().clone());
        }
        cancellable($hooks, async {
            req.request_async(&$http)
                .await
                .map_err(|e| request_error(e, Endpoint::Token, &$http))
        })
        .await?
    }};
}

/// Runs `auth.flow`, checks the result and saves it in `store`; returns what was saved.
///
/// Nothing is saved unless every check passed: the scopes the purpose needs, a refresh token
/// for delegated flows, and the mailbox as the signed-in account.
pub async fn authorize(
    auth: &AccountAuth,
    store: &dyn TokenStore,
    hooks: &FlowHooks<'_>,
) -> Result<TokenSet, OAuthError> {
    obtain(auth, Some(store), hooks).await
}

/// Saves `tokens` under the account's lock.
fn save(store: &dyn TokenStore, auth: &AccountAuth, tokens: &TokenSet) -> Result<(), OAuthError> {
    let key = store_key(auth);
    let _lock = store.lock(&key)?;
    store.save(&key, tokens)?;
    Ok(())
}

fn scopes_of(list: &[String]) -> impl Iterator<Item = Scope> + '_ {
    list.iter().map(|s| Scope::new(s.clone()))
}

/// Awaits `fut` unless the flow is cancelled first.
async fn cancellable<T>(
    hooks: &FlowHooks<'_>,
    fut: impl Future<Output = Result<T, OAuthError>>,
) -> Result<T, OAuthError> {
    tokio::select! {
        r = fut => r,
        _ = hooks.cancel.cancelled() => Err(OAuthError::Cancelled),
    }
}

/// Runs the flow; saves through `store` when given (refresh of app-only tokens saves itself).
pub(crate) async fn obtain(
    auth: &AccountAuth,
    store: Option<&dyn TokenStore>,
    hooks: &FlowHooks<'_>,
) -> Result<TokenSet, OAuthError> {
    let now = (hooks.now)();
    let prepared = prepare(auth, auth.flow)?;
    let scopes = scopes_for(auth, prepared.profile, auth.flow)?;
    let http = Http::new()?;
    let finish = |resp: &TokenResp| -> Result<TokenSet, OAuthError> {
        (hooks.events)(FlowEvent::TokenReceived);
        let tokens = check_grant(auth, prepared.profile, &scopes, resp, (hooks.now)())?;
        if auth.flow.is_delegated() {
            if let Some(a) = &tokens.account {
                (hooks.events)(FlowEvent::IdentityChecked { account: a.clone() });
            }
        }
        if let Some(store) = store {
            save(store, auth, &tokens)?;
            (hooks.events)(FlowEvent::Stored {
                store: store.describe(),
            });
        }
        Ok(tokens)
    };
    match auth.flow {
        Flow::Loopback => loopback_flow(auth, &prepared, &scopes, &http, hooks, finish).await,
        Flow::DeviceCode => {
            let resp = device_flow(auth, &prepared, &scopes, &http, hooks, now).await?;
            finish(&resp)
        }
        Flow::ClientCredentials => {
            let req = configured(prepared.client.exchange_client_credentials())?
                .add_scopes(scopes_of(&scopes));
            let resp = send_token_request!(req, prepared, http, hooks);
            finish(&resp)
        }
        Flow::Password => {
            tracing::warn!("resource owner password grant: RFC 9700 forbids it and MFA or Security Defaults break it; use it only for products that require it");
            let password: &Secret<String> = hooks.password.as_ref().ok_or(OAuthError::Config {
                field: "password",
                problem: String::from("the password flow needs the mailbox password: give --password-env or --password-file"),
            })?;
            let user = ResourceOwnerUsername::new(auth.mailbox.trim().to_string());
            let pass = ResourceOwnerPassword::new(password.expose().clone());
            let req = configured(prepared.client.exchange_password(&user, &pass))?
                .add_scopes(scopes_of(&scopes));
            let resp = send_token_request!(req, prepared, http, hooks);
            finish(&resp)
        }
        Flow::ServiceAccount => {
            let (access, expires_in, scope) =
                cancellable(hooks, jwt::service_account_token(auth, &scopes, &http, now)).await?;
            let mut resp = TokenResp::new(
                oauth2::AccessToken::new(access.expose().clone()),
                oauth2::basic::BasicTokenType::Bearer,
                Default::default(),
            );
            resp.set_expires_in(expires_in.map(Duration::from_secs).as_ref());
            resp.set_scopes(
                scope.map(|s| s.split_whitespace().map(|s| Scope::new(s.into())).collect()),
            );
            finish(&resp)
        }
    }
}

async fn loopback_flow(
    auth: &AccountAuth,
    prepared: &Prepared,
    scopes: &[String],
    http: &Http,
    hooks: &FlowHooks<'_>,
    finish: impl Fn(&TokenResp) -> Result<TokenSet, OAuthError>,
) -> Result<TokenSet, OAuthError> {
    let mut options = hooks.loopback.clone();
    if options.ports.is_empty() {
        options.ports.extend(auth.redirect_port);
    }
    if options.host.is_none() {
        // Entra registers desktop redirects as http://localhost: the URI must name that host.
        options.host = prepared
            .profile
            .redirect(Flow::Loopback, ClientType::Desktop, 0)
            .and_then(|r| url::Url::parse(&r.uri).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .filter(|h| h == "localhost");
    }
    let listener = match loopback::bind(&options).await {
        Ok(l) => Some(l),
        Err(e) if hooks.paste_redirect.is_some() => {
            (hooks.events)(FlowEvent::PasteRedirect {
                reason: e.to_string(),
            });
            None
        }
        Err(e) => return Err(e),
    };
    let redirect = match &listener {
        Some(l) => {
            let r = l.redirect_uri().to_string();
            (hooks.events)(FlowEvent::ListeningOn {
                redirect_uri: r.clone(),
            });
            r
        }
        None => loopback::unbound_redirect_uri(&options),
    };
    let client =
        prepared
            .client
            .clone()
            .set_redirect_uri(RedirectUrl::new(redirect.clone()).map_err(|e| {
                OAuthError::Config {
                    field: "redirect URI",
                    problem: e.to_string(),
                }
            })?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = configured(client.authorize_url(CsrfToken::new_random))?
        .add_scopes(scopes_of(scopes))
        .set_pkce_challenge(challenge)
        .add_extra_param("login_hint", auth.mailbox.trim().to_string());
    for p in prepared.profile.auth_params(Flow::Loopback) {
        req = req.add_extra_param(p.name, p.value);
    }
    let (url, state) = req.url();
    // RFC 9207, decided before the browser opens: a redirect without `iss` is refused when the
    // provider sends it in every authorization response.
    let issuer =
        super::metadata::issuer_check(prepared.profile, prepared.endpoints.issuer.as_deref(), http)
            .await;
    match (hooks.open_browser)(url.as_str()) {
        Ok(()) => (hooks.events)(FlowEvent::BrowserOpened {
            url: url.to_string(),
        }),
        Err(reason) => (hooks.events)(FlowEvent::BrowserNotOpened {
            url: url.to_string(),
            reason,
        }),
    }
    let (code, reply) = match (listener, hooks.paste_redirect) {
        (Some(listener), _) => {
            let cb = listener
                .wait(
                    state.secret(),
                    issuer,
                    hooks.loopback.timeout,
                    &hooks.cancel,
                    hooks.events,
                )
                .await?;
            (cb.code, Some(cb.reply))
        }
        (None, Some(paste)) => {
            let text =
                cancellable(hooks, async { paste().await.ok_or(OAuthError::Cancelled) }).await?;
            let code = loopback::parse_pasted(&text, &redirect, state.secret(), issuer)?;
            (code, None)
        }
        (None, None) => return Err(OAuthError::Cancelled),
    };
    let result = async {
        let mut req = configured(client.exchange_code(AuthorizationCode::new(code.clone())))?
            .set_pkce_verifier(verifier);
        if let Some(a) = &prepared.assertion {
            req = req
                .add_extra_param("client_assertion_type", ASSERTION_TYPE)
                .add_extra_param("client_assertion", a.expose().clone());
        }
        let resp = cancellable(hooks, async {
            req.request_async(http)
                .await
                .map_err(|e| request_error(e, Endpoint::Token, http))
        })
        .await?;
        finish(&resp)
    }
    .await;
    let Some(reply) = reply else {
        return result;
    };
    match &result {
        Ok(t) => {
            let who = t.account.as_deref().unwrap_or("the mailbox");
            reply
                .finish(Ok(&format!(
                    "Signed in as {who}. mailoauth has checked and saved the authorization."
                )))
                .await
        }
        Err(e) => reply.finish(Err(&failure_page_text(e))).await,
    }
    result
}

/// The browser page's text after the token endpoint refused or could not be reached: the error,
/// then its diagnosis, like the page after a refused redirect.
fn failure_page_text(e: &OAuthError) -> String {
    let mut text = e.to_string();
    let diagnosis = e
        .diagnosis_id()
        .and_then(|id| crate::diagnosis::diagnose(&id, &text, &Default::default()));
    if let Some(d) = diagnosis {
        text.push_str(&format!(
            "\n\n{}\n{}\nFix: {}",
            d.title,
            d.cause,
            d.fix.join(" ")
        ));
    }
    text
}

async fn device_flow(
    _auth: &AccountAuth,
    prepared: &Prepared,
    scopes: &[String],
    http: &Http,
    hooks: &FlowHooks<'_>,
    now: u64,
) -> Result<TokenResp, OAuthError> {
    let mut req = configured(prepared.client.exchange_device_code())?.add_scopes(scopes_of(scopes));
    if let Some(a) = &prepared.assertion {
        req = req
            .add_extra_param("client_assertion_type", ASSERTION_TYPE)
            .add_extra_param("client_assertion", a.expose().clone());
    }
    let details: StandardDeviceAuthorizationResponse = cancellable(hooks, async {
        req.request_async(http)
            .await
            .map_err(|e| request_error(e, Endpoint::DeviceAuthorization, http))
    })
    .await?;
    (hooks.events)(FlowEvent::DeviceCode {
        user_code: details.user_code().secret().clone(),
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().clone()),
        expires_at: now + details.expires_in().as_secs(),
    });
    // The crate adds 5 s on slow_down; comparing with the last interval tells the GUI.
    let last = Mutex::new(details.interval());
    let sleep = |d: Duration| {
        let slower = last
            .lock()
            .map(|mut l| std::mem::replace(&mut *l, d) < d)
            .unwrap_or(false);
        (hooks.events)(if slower {
            FlowEvent::SlowDown {
                interval_secs: d.as_secs(),
            }
        } else {
            FlowEvent::Polling {
                interval_secs: d.as_secs(),
            }
        });
        (hooks.sleep)(d)
    };
    let mut poll = configured(prepared.client.exchange_device_access_token(&details))?;
    if let Some(a) = &prepared.assertion {
        poll = poll
            .add_extra_param("client_assertion_type", ASSERTION_TYPE)
            .add_extra_param("client_assertion", a.expose().clone());
    }
    cancellable(hooks, async {
        poll.request_async(http, sleep, Some(details.expires_in()))
            .await
            .map_err(|e| request_error(e, Endpoint::Token, http))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_after_a_token_endpoint_failure_shows_the_diagnosis() {
        let e = OAuthError::Unreachable {
            endpoint: Endpoint::Token,
            detail: "error sending request for url (https://login.microsoftonline.com/organizations/oauth2/v2.0/token): client error (Connect): tcp connect error: Connection refused (os error 111)".into(),
        };
        let text = failure_page_text(&e);
        assert!(
            text.starts_with("the token endpoint could not be reached"),
            "{text}"
        );
        assert!(
            text.contains("\n\nCan't reach login.microsoftonline.com\n"),
            "{text}"
        );
        assert!(text.contains("Fix: Check that this machine resolves the name: `nslookup login.microsoftonline.com`"), "{text}");
    }
}
