//! The OAuth engine: getting, checking, storing and refreshing the tokens a mail service uses.
//!
//! Every flow goes through the `oauth2` crate; only the JWT assertions (private_key_jwt, Google
//! service accounts) are made here. [`authorize`] runs the flow an [`AccountAuth`] names, checks
//! the result (granted scopes, refresh token, signed-in account) and only then saves it through a
//! [`TokenStore`]. [`refresh_if_needed`] is what the consumer side calls before every use.
//!
//! Long flows report [`FlowEvent`]s to a callback and stop on a [`CancellationToken`]; opening
//! the browser and sleeping between device-code polls are injected through [`FlowHooks`], so the
//! app, the CLI and the tests each supply their own.

mod checks;
pub(crate) mod client;
mod error;
mod flows;
pub mod hold;
pub mod identity;
mod jwt;
pub mod loopback;
mod metadata;
mod refresh;

pub use checks::{check_grant, required_scopes};
pub use client::{set_proxy, HTTP_TIMEOUT_SECS};
pub use error::{find_aadsts, Endpoint, OAuthError, OfflineAccess, ProviderReply};
pub use flows::authorize;
pub use hold::hold_termination_signals;
pub use jwt::x5t_thumbprint;
pub use loopback::LoopbackOptions;
pub use refresh::{refresh_if_needed, CLOCK_SKEW_SECS};
pub use tokio_util::sync::CancellationToken;

use crate::config::SecretRef;
use crate::provider::{ClientAuth, Cloud, EndpointOverrides, Flow, Purpose};
use crate::secret::Secret;
use crate::store::TokenSet;
use crate::store::TokenStore;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use ts_rs::TS;

/// An access token, as [`refresh_if_needed`] hands it out.
pub type AccessToken = Secret<String>;

/// Seconds since the Unix epoch, the clock every expiry is measured on.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A referenced secret that cannot be read, as the engine reports it: the setting and why.
pub(crate) fn secret_unreadable(
    field: &'static str,
    e: crate::store::SecretReadError,
) -> OAuthError {
    OAuthError::Config {
        field,
        problem: e.to_string(),
    }
}

/// Everything needed to obtain and refresh one account's tokens; the config side embeds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "OAuthAccountAuth")]
pub struct AccountAuth {
    /// Provider profile id (`google`, `microsoft`, `generic`).
    pub provider: String,
    /// The provider's cloud.
    #[serde(default)]
    pub cloud: Cloud,
    /// Microsoft tenant (ID or domain); absent for the profile's default.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The OAuth client ID.
    pub client_id: String,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// The client secret (`client_secret_basic`/`_post`) or the PEM private key (`private_key_jwt`),
    /// or the Google service account key JSON (`service_account`).
    #[serde(default)]
    #[ts(type = "string | null")]
    pub client_secret: Option<SecretRef>,
    /// Key id (`kid`) of the private_key_jwt key, when the provider needs one.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The certificate (PEM) whose SHA-1 thumbprint goes into `x5t` (Entra certificate credentials).
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// The flow that obtains the first tokens.
    pub flow: Flow,
    /// What the mail service does with the token.
    pub purpose: Purpose,
    /// Scopes to request; empty means the profile's scopes for the purpose and flow.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Endpoints replacing the profile's (generic providers, proxies, the local test provider).
    #[serde(default)]
    pub endpoints: EndpointOverrides,
    /// The mailbox the service signs in as.
    pub mailbox: String,
    /// The fixed loopback port of an exact redirect URI (a Google Web-application client, a
    /// product that registered `http://localhost:9191/`); absent: the OS picks a free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub redirect_port: Option<u16>,
}

/// What the GUI shows while a flow runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(rename = "OAuthFlowEvent")]
pub enum FlowEvent {
    /// The loopback listener is up and waits for the browser at this redirect URI.
    #[serde(rename_all = "camelCase")]
    ListeningOn {
        /// The redirect URI sent to the provider.
        redirect_uri: String,
    },
    /// The authorization URL was handed to the browser.
    #[serde(rename_all = "camelCase")]
    BrowserOpened {
        /// The URL, for a "copy link" fallback.
        url: String,
    },
    /// The browser could not be opened; the user must open the URL by hand.
    #[serde(rename_all = "camelCase")]
    BrowserNotOpened {
        /// The URL to open.
        url: String,
        /// Why the browser did not start.
        reason: String,
    },
    /// A request reached the listener that is not this sign-in's redirect (wrong path or `state`).
    #[serde(rename_all = "camelCase")]
    RedirectIgnored {
        /// Why it was ignored.
        reason: String,
    },
    /// No loopback port could be bound: after signing in, the user pastes the address the
    /// browser ended on (its page will not load).
    #[serde(rename_all = "camelCase")]
    PasteRedirect {
        /// Why the listener could not start.
        reason: String,
    },
    /// The device code to show: the user opens the URI and types the code.
    #[serde(rename_all = "camelCase")]
    DeviceCode {
        /// The code the user types.
        user_code: String,
        /// Where the user goes.
        verification_uri: String,
        /// The URI with the code filled in, when the provider sends one.
        verification_uri_complete: Option<String>,
        /// When the code expires, in Unix seconds (for the countdown).
        expires_at: u64,
    },
    /// Waiting before the next poll of the token endpoint.
    #[serde(rename_all = "camelCase")]
    Polling {
        /// Seconds until the next poll.
        interval_secs: u64,
    },
    /// The provider asked to poll more slowly; every later poll waits this long.
    #[serde(rename_all = "camelCase")]
    SlowDown {
        /// The new interval in seconds.
        interval_secs: u64,
    },
    /// The provider issued tokens; the checks run next.
    TokenReceived,
    /// The signed-in account is the mailbox.
    #[serde(rename_all = "camelCase")]
    IdentityChecked {
        /// The account that signed in.
        account: String,
    },
    /// The tokens are saved.
    #[serde(rename_all = "camelCase")]
    Stored {
        /// Where (`file store /var/lib/...`, `OS keyring`).
        store: String,
    },
}

/// Asks the user for the address the browser ended on; `None` when the user gives up.
pub type PasteFn = dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync;

/// A sleep the device flow waits with; tests pass one that returns at once.
pub type SleepFn = dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// What a running flow needs from its front end.
pub struct FlowHooks<'a> {
    /// Receives progress.
    pub events: &'a (dyn Fn(FlowEvent) + Send + Sync),
    /// Opens the system browser (never a webview: Google refuses embedded sign-in).
    pub open_browser: &'a (dyn Fn(&str) -> Result<(), String> + Send + Sync),
    /// Stops the flow when cancelled.
    pub cancel: CancellationToken,
    /// Waits between device-code polls.
    pub sleep: &'a SleepFn,
    /// The loopback listener's ports and timeout.
    pub loopback: LoopbackOptions,
    /// The mailbox password, for the resource owner password flow only.
    pub password: Option<Secret<String>>,
    /// The clock, in Unix seconds.
    pub now: &'a (dyn Fn() -> u64 + Send + Sync),
    /// The fallback when no loopback port can be bound: the browser's last page fails to load
    /// and the user pastes its address. `None`: a bind failure ends the flow.
    pub paste_redirect: Option<&'a PasteFn>,
}

fn tokio_sleep(d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(tokio::time::sleep(d))
}

fn no_events(_: FlowEvent) {}

impl<'a> FlowHooks<'a> {
    /// Hooks with a real clock and sleep, the default loopback options and no password.
    pub fn new(
        events: &'a (dyn Fn(FlowEvent) + Send + Sync),
        open_browser: &'a (dyn Fn(&str) -> Result<(), String> + Send + Sync),
    ) -> Self {
        Self {
            events,
            open_browser,
            cancel: CancellationToken::new(),
            sleep: &tokio_sleep,
            loopback: LoopbackOptions::default(),
            password: None,
            now: &unix_now,
            paste_redirect: None,
        }
    }

    /// Hooks for a flow without browser or progress (app-only flows, refresh).
    pub fn silent() -> FlowHooks<'static> {
        FlowHooks {
            events: &no_events,
            open_browser: &|_| Err(String::from("no browser in this flow")),
            cancel: CancellationToken::new(),
            sleep: &tokio_sleep,
            loopback: LoopbackOptions::default(),
            password: None,
            now: &unix_now,
            paste_redirect: None,
        }
    }
}

/// The result of a successful [`authorize`]: what was granted, never the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "OAuthGrant")]
pub struct Granted {
    /// The account the tokens act for.
    pub account: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// Whether a refresh token was stored.
    pub refresh_token: bool,
    /// When the access token expires, in Unix seconds.
    pub expires_at: Option<u64>,
    /// Where the tokens were saved.
    pub store: String,
}

/// The key an account's tokens are stored under: the mailbox.
pub fn store_key(auth: &AccountAuth) -> String {
    auth.mailbox.trim().to_ascii_lowercase()
}

/// Runs [`authorize`] and returns what was granted; a shorthand for front ends.
pub async fn authorize_and_store(
    auth: &AccountAuth,
    store: &dyn TokenStore,
    hooks: &FlowHooks<'_>,
) -> Result<Granted, OAuthError> {
    tracing::info!(
        provider = %auth.provider,
        flow = ?auth.flow,
        mailbox = %auth.mailbox,
        store = %store.describe(),
        "authorization started"
    );
    let tokens = match authorize(auth, store, hooks).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(
                mailbox = %auth.mailbox,
                diagnosis = e.diagnosis_id().as_deref().unwrap_or("-"),
                "authorization failed: {e}"
            );
            return Err(e);
        }
    };
    tracing::info!(
        mailbox = %auth.mailbox,
        account = tokens.account.as_deref().unwrap_or("-"),
        scopes = %tokens.scopes.join(" "),
        refresh_token = tokens.refresh_token.is_some(),
        "authorization succeeded, tokens stored"
    );
    Ok(Granted {
        account: tokens.account.clone().unwrap_or_else(|| store_key(auth)),
        scopes: tokens.scopes.clone(),
        refresh_token: tokens.refresh_token.is_some(),
        expires_at: tokens.expires_at,
        store: store.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_events_serialise_for_the_gui() {
        let e = FlowEvent::DeviceCode {
            user_code: "ABCD-EFGH".into(),
            verification_uri: "https://microsoft.com/devicelogin".into(),
            verification_uri_complete: None,
            expires_at: 10,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "deviceCode");
        assert_eq!(v["userCode"], "ABCD-EFGH");
        assert_eq!(
            serde_json::to_value(FlowEvent::TokenReceived).unwrap()["kind"],
            "tokenReceived"
        );
    }

    #[test]
    fn account_auth_reads_from_config_json() {
        let a: AccountAuth = serde_json::from_value(serde_json::json!({
            "provider": "microsoft", "tenant": "contoso.com", "clientId": "abc",
            "clientAuth": "client_secret_post",
            "clientSecret": "env:MAILOAUTH_SECRET",
            "flow": "client_credentials", "purpose": "send", "mailbox": "scan@contoso.com"
        }))
        .unwrap();
        assert_eq!(
            a.client_secret,
            Some(SecretRef::Env("MAILOAUTH_SECRET".into()))
        );
        assert!(a.scopes.is_empty());
    }
}
