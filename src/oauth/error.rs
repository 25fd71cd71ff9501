//! [`OAuthError`]: every way getting or refreshing a token fails, with the provider's own code.
//!
//! Provider replies keep their `error`, `error_description`, the Entra `AADSTS` number and the
//! HTTP status, plus the id of the diagnosis catalog entry they match, so the GUI can show the fix
//! next to the failed step. Bodies pass through [`crate::diagnosis::scrub`] before they are kept.

use crate::diagnosis;
use crate::error::{Coded, ErrorCode};
use crate::provider::ProfileError;
use crate::store::StoreError;

/// Which endpoint of the provider answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The authorization endpoint, through the browser redirect.
    Authorization,
    /// The token endpoint.
    Token,
    /// The device authorization endpoint.
    DeviceAuthorization,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Endpoint::Authorization => "authorization endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::DeviceAuthorization => "device authorization endpoint",
        })
    }
}

/// A refusal from the provider, as it sent it (scrubbed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReply {
    /// The endpoint that refused.
    pub endpoint: Endpoint,
    /// The OAuth `error` value (`invalid_grant`, `redirect_uri_mismatch`, ...).
    pub error: String,
    /// The `error_description`, scrubbed of secrets.
    pub description: Option<String>,
    /// The Microsoft Entra code (`AADSTS7000218`), from the description or `error_codes`.
    pub aadsts: Option<String>,
    /// The HTTP status, when the reply came over HTTP (not through the browser redirect).
    pub status: Option<u16>,
    /// The diagnosis catalog entry the reply matches.
    pub diagnosis: Option<String>,
}

impl ProviderReply {
    /// Builds a reply and finds its diagnosis from the scrubbed text.
    pub fn new(
        endpoint: Endpoint,
        error: &str,
        description: Option<&str>,
        status: Option<u16>,
    ) -> Self {
        let description = description.map(diagnosis::scrub);
        let aadsts = description.as_deref().and_then(find_aadsts);
        let text = format!("{error} {}", description.as_deref().unwrap_or_default());
        Self {
            endpoint,
            error: diagnosis::scrub(error),
            diagnosis: first_diagnosis(&text),
            description,
            aadsts,
            status,
        }
    }
}

/// The `AADSTS<digits>` code in a Microsoft error description.
pub fn find_aadsts(text: &str) -> Option<String> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

/// The most specific catalog entry `text` matches.
pub fn first_diagnosis(text: &str) -> Option<String> {
    diagnosis::explain(text, &diagnosis::Context::default())
        .matches
        .first()
        .map(|m| m.diagnosis.id.clone())
}

/// Why a sign-in came back without a refresh token: the two causes need different fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineAccess {
    /// The sign-in did not ask for offline access (no `offline_access` scope).
    NotRequested,
    /// The sign-in asked for offline access (the `offline_access` scope, or Google's
    /// `access_type=offline`), and the provider did not grant it.
    RequestedNotGranted,
}

impl std::fmt::Display for OfflineAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OfflineAccess::NotRequested => "offline_access was not requested",
            OfflineAccess::RequestedNotGranted => "offline access was requested but not granted",
        })
    }
}

/// Every way an authorization or a refresh fails.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider refused with an OAuth error.
    #[error("the {} refused: {}{}{}", .0.endpoint, .0.error,
        .0.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        .0.status.map(|s| format!(" [HTTP {s}]")).unwrap_or_default())]
    Provider(Box<ProviderReply>),
    /// The provider could not be reached.
    #[error("the {endpoint} could not be reached: {detail}; check the endpoint URL, the proxy and the firewall")]
    Unreachable {
        /// The endpoint called.
        endpoint: Endpoint,
        /// What the HTTP client said.
        detail: String,
    },
    /// The provider answered with something that is not an OAuth reply.
    #[error(
        "the {endpoint} answered HTTP {status} with a body that is not an OAuth reply: {body}"
    )]
    UnexpectedReply {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status.
        status: u16,
        /// The start of the body, scrubbed.
        body: String,
    },
    /// The redirect carried a `state` this sign-in did not send.
    #[error("state mismatch: the browser returned from a different sign-in than the one started; close old sign-in tabs and start again")]
    StateMismatch,
    /// The redirect named another issuer than the one the sign-in went to (RFC 9207).
    #[error("the redirect names issuer {got:?} but the sign-in went to {expected:?}: a mix-up attack or a wrong issuer setting")]
    IssuerMismatch {
        /// The issuer configured.
        expected: String,
        /// The `iss` the redirect carried.
        got: String,
    },
    /// The redirect carried no `iss` although the provider sends it in every authorization
    /// response (RFC 9207): it may come from another provider (a mix-up attack).
    #[error("the redirect carries no issuer (iss) but {expected:?} sends one in every authorization response (RFC 9207): the answer may come from another provider (a mix-up attack); start the sign-in again from mailoauth, and check the issuer setting if it keeps happening")]
    IssuerMissing {
        /// The issuer configured.
        expected: String,
    },
    /// The browser did not come back in time.
    #[error("timed out waiting for the browser after {seconds} s: no authorization response; start the sign-in again and finish it in the window opened")]
    Timeout {
        /// How long mailoauth waited.
        seconds: u64,
    },
    /// The user or the app cancelled the flow.
    #[error("the sign-in was cancelled")]
    Cancelled,
    /// The loopback listener could not be started.
    #[error("cannot listen on {address} for the sign-in redirect: {detail}; close the program using it, choose another port, or use --flow device-code")]
    Bind {
        /// The address tried.
        address: String,
        /// What the OS said (`Address already in use`).
        detail: String,
    },
    /// The token does not carry every scope the purpose needs.
    #[error("the provider granted {granted:?} but the mail service needs {missing:?} as well: grant these permissions (API permissions / consent screen) and sign in again")]
    MissingScopes {
        /// The scopes not granted.
        missing: Vec<String>,
        /// The scopes granted.
        granted: Vec<String>,
    },
    /// No refresh token came back although the service needs one.
    #[error("the provider returned no refresh token ({offline}); {hint}")]
    NoRefreshToken {
        /// Whether offline access was asked for at all.
        offline: OfflineAccess,
        /// Which parameter or permission is missing.
        hint: String,
    },
    /// Someone else than the mailbox signed in.
    #[error("signed in as {signed_in} but the mailbox is {mailbox}: sign in as the mailbox itself, not as an administrator; a token of another account fails at the mail server with 'User is authenticated but not connected'")]
    AccountMismatch {
        /// The mailbox configured.
        mailbox: String,
        /// The account in the id_token.
        signed_in: String,
    },
    /// The token response did not say who signed in.
    #[error("the token response names no account (no id_token with {claims}); add the openid and email scopes")]
    NoIdentity {
        /// The claims looked for.
        claims: String,
    },
    /// A setting is missing or invalid.
    #[error("{field}: {problem}")]
    Config {
        /// The setting, as the CLI or form names it.
        field: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The provider profile refused the settings.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Reading or writing the tokens failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A client assertion or service-account JWT could not be made.
    #[error("cannot sign the {what}: {detail}")]
    Signing {
        /// Which JWT (`client assertion`, `service account assertion`).
        what: &'static str,
        /// What went wrong, never the key.
        detail: String,
    },
    /// The stored authorization cannot be refreshed any more.
    #[error("the account must be authorized again: {reason}")]
    NeedsReauthorization {
        /// Why, in the provider's words.
        reason: String,
        /// The provider's refusal, when there was one.
        reply: Option<Box<ProviderReply>>,
    },
}

/// OAuth `error` values after which only a new sign-in helps.
const REAUTHORIZE_ERRORS: [&str; 5] = [
    "invalid_grant",
    "interaction_required",
    "consent_required",
    "login_required",
    "expired_token",
];

impl OAuthError {
    /// True when the account has to sign in again (the GUI shows "authorize again").
    pub fn needs_reauthorization(&self) -> bool {
        match self {
            OAuthError::NeedsReauthorization { .. } | OAuthError::NoRefreshToken { .. } => true,
            OAuthError::Provider(r) => REAUTHORIZE_ERRORS.contains(&r.error.as_str()),
            _ => false,
        }
    }

    /// Whether the same request may well succeed later without anyone changing anything: the
    /// provider could not be reached or timed out, answered with a server error, throttled, or
    /// said `temporarily_unavailable`/`server_error`; or the token store was busy. A service
    /// retries these; it does not bother an admin with them.
    pub fn is_temporary(&self) -> bool {
        match self {
            OAuthError::Unreachable { .. }
            | OAuthError::UnexpectedReply { .. }
            | OAuthError::Timeout { .. } => true,
            OAuthError::Store(StoreError::LockTimeout { .. }) => true,
            OAuthError::Provider(r) => {
                matches!(r.error.as_str(), "temporarily_unavailable" | "server_error")
                    || r.status.is_some_and(|s| s == 429 || s >= 500)
            }
            _ => false,
        }
    }

    /// The provider's refusal, when the error is one.
    pub fn reply(&self) -> Option<&ProviderReply> {
        match self {
            OAuthError::Provider(r) => Some(r),
            OAuthError::NeedsReauthorization { reply, .. } => reply.as_deref(),
            _ => None,
        }
    }

    /// The diagnosis catalog entry that explains this error, for [`crate::diagnosis::entry`].
    pub fn diagnosis_id(&self) -> Option<String> {
        let fixed = match self {
            OAuthError::StateMismatch => "client-state-mismatch",
            OAuthError::Timeout { .. } => "client-browser-timeout",
            OAuthError::Bind { .. } => "client-loopback-port-busy",
            OAuthError::AccountMismatch { .. } => "client-account-mismatch",
            OAuthError::NoRefreshToken {
                offline: OfflineAccess::NotRequested,
                ..
            } => "client-no-refresh-token-not-requested",
            OAuthError::NoRefreshToken {
                offline: OfflineAccess::RequestedNotGranted,
                ..
            } => "client-no-refresh-token-not-granted",
            OAuthError::Provider(r) => return r.diagnosis.clone(),
            OAuthError::NeedsReauthorization { reply, reason } => {
                return match reply {
                    Some(r) => r.diagnosis.clone(),
                    None => first_diagnosis(reason),
                }
            }
            _ => return first_diagnosis(&self.to_string()),
        };
        Some(fixed.to_string())
    }
}

impl Coded for OAuthError {
    fn code(&self) -> ErrorCode {
        match self {
            OAuthError::Cancelled => ErrorCode::Cancelled,
            OAuthError::Store(e) => e.code(),
            OAuthError::Profile(e) => e.code(),
            _ if self.needs_reauthorization() => ErrorCode::NeedsReauthorization,
            // Unreachable, a reply that is not OAuth, a throttled or unavailable provider, no
            // browser answer in time: the same sign-in or refresh may work later.
            _ if self.is_temporary() => ErrorCode::Network,
            OAuthError::Provider(_)
            | OAuthError::StateMismatch
            | OAuthError::IssuerMismatch { .. }
            | OAuthError::IssuerMissing { .. }
            | OAuthError::MissingScopes { .. }
            | OAuthError::AccountMismatch { .. }
            | OAuthError::NoIdentity { .. } => ErrorCode::ProviderRefused,
            OAuthError::Config { .. } | OAuthError::Bind { .. } | OAuthError::Signing { .. } => {
                ErrorCode::InvalidInput
            }
            // Covered by the guards above; listed so a new variant is placed on purpose.
            OAuthError::Unreachable { .. }
            | OAuthError::UnexpectedReply { .. }
            | OAuthError::Timeout { .. }
            | OAuthError::NoRefreshToken { .. }
            | OAuthError::NeedsReauthorization { .. } => ErrorCode::Internal,
        }
    }

    fn diagnosis_id(&self) -> Option<String> {
        OAuthError::diagnosis_id(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_code_is_taken_from_the_description() {
        assert_eq!(
            find_aadsts("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.").as_deref(),
            Some("AADSTS7000218")
        );
        assert_eq!(find_aadsts("AADSTS: nothing"), None);
        assert_eq!(find_aadsts("invalid_grant"), None);
    }

    #[test]
    fn provider_reply_is_diagnosed_and_scrubbed() {
        let r = ProviderReply::new(
            Endpoint::Token,
            "invalid_client",
            Some("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
            Some(401),
        );
        assert_eq!(r.aadsts.as_deref(), Some("AADSTS7000218"));
        assert!(r.diagnosis.is_some(), "{r:?}");
        let e = OAuthError::Provider(Box::new(r));
        assert!(e.to_string().contains("AADSTS7000218"));
        assert!(e.to_string().contains("HTTP 401"));
        assert!(!e.needs_reauthorization());
    }

    #[test]
    fn invalid_grant_needs_reauthorization() {
        let e = OAuthError::Provider(Box::new(ProviderReply::new(
            Endpoint::Token,
            "invalid_grant",
            Some("Token has been expired or revoked."),
            Some(400),
        )));
        assert!(e.needs_reauthorization());
        assert_eq!(
            e.diagnosis_id().as_deref(),
            Some("g-token-expired-or-revoked")
        );
        assert!(!OAuthError::Cancelled.needs_reauthorization());
        assert_eq!(OAuthError::Cancelled.code(), ErrorCode::Cancelled);
    }

    #[test]
    fn no_refresh_token_says_whether_offline_access_was_requested() {
        let not_asked = OAuthError::NoRefreshToken {
            offline: OfflineAccess::NotRequested,
            hint: "request the offline_access scope".into(),
        };
        assert!(not_asked
            .to_string()
            .contains("offline_access was not requested"));
        assert_eq!(
            not_asked.diagnosis_id().as_deref(),
            Some("client-no-refresh-token-not-requested")
        );
        let refused = OAuthError::NoRefreshToken {
            offline: OfflineAccess::RequestedNotGranted,
            hint: "grant it under API permissions".into(),
        };
        assert!(refused.to_string().contains("requested but not granted"));
        assert_eq!(
            refused.diagnosis_id().as_deref(),
            Some("client-no-refresh-token-not-granted")
        );
        // What the engine says is what `explain` recognises, for a pasted log line too.
        for e in [&not_asked, &refused] {
            assert_eq!(first_diagnosis(&e.to_string()), e.diagnosis_id());
        }
    }

    #[test]
    fn an_unreachable_endpoint_names_its_host_and_role() {
        let e = OAuthError::Unreachable {
            endpoint: Endpoint::Token,
            detail: "error sending request for url (https://login.microsoftonline.com/organizations/oauth2/v2.0/token): client error (Connect): dns error: failed to lookup address information: Temporary failure in name resolution".into(),
        };
        let id = e.diagnosis_id().expect("diagnosed");
        assert_eq!(id, "net-host-unreachable");
        let d = diagnosis::diagnose(&id, &e.to_string(), &diagnosis::Context::default())
            .expect("entry exists");
        assert_eq!(d.title, "Can't reach login.microsoftonline.com");
        assert_eq!(d.host.as_deref(), Some("login.microsoftonline.com"));
        assert_eq!(d.host_role, Some(diagnosis::HostRole::TokenEndpoint));
        assert!(d.cause.contains("token endpoint"), "{}", d.cause);
        let steps = d.fix.join("\n");
        assert!(
            steps.contains("nslookup login.microsoftonline.com"),
            "{steps}"
        );
        assert!(steps.contains("proxy"), "{steps}");
        assert!(
            steps.contains("TCP 443 to login.microsoftonline.com"),
            "{steps}"
        );
        // Not the mail hosts: the admin never typed them and they did not fail.
        for mail_host in ["smtp.office365.com", "imap.gmail.com", "smtp.gmail.com"] {
            assert!(!steps.contains(mail_host), "{steps}");
        }
    }

    #[test]
    fn codes_say_what_to_do_next() {
        let reply = |error: &str, status: u16| {
            OAuthError::Provider(Box::new(ProviderReply::new(
                Endpoint::Token,
                error,
                None,
                Some(status),
            )))
        };
        let unreachable = OAuthError::Unreachable {
            endpoint: Endpoint::Token,
            detail: "connection refused".into(),
        };
        for (e, code) in [
            (unreachable, ErrorCode::Network),
            (reply("temporarily_unavailable", 503), ErrorCode::Network),
            (reply("invalid_request", 429), ErrorCode::Network),
            (OAuthError::Timeout { seconds: 300 }, ErrorCode::Network),
            (reply("invalid_grant", 400), ErrorCode::NeedsReauthorization),
            (
                OAuthError::NeedsReauthorization {
                    reason: "no refresh token stored".into(),
                    reply: None,
                },
                ErrorCode::NeedsReauthorization,
            ),
            (reply("invalid_client", 401), ErrorCode::ProviderRefused),
            (OAuthError::StateMismatch, ErrorCode::ProviderRefused),
            (
                OAuthError::AccountMismatch {
                    mailbox: "a@x".into(),
                    signed_in: "b@x".into(),
                },
                ErrorCode::ProviderRefused,
            ),
            (
                OAuthError::Config {
                    field: "client ID",
                    problem: "empty".into(),
                },
                ErrorCode::InvalidInput,
            ),
            (OAuthError::Cancelled, ErrorCode::Cancelled),
            (
                OAuthError::Store(StoreError::LockTimeout {
                    path: "x".into(),
                    detail: "busy".into(),
                }),
                ErrorCode::Network,
            ),
        ] {
            assert_eq!(e.code(), code, "{e}");
            // The code and the older predicates agree, so the CLI's exit statuses do too.
            assert_eq!(
                e.code() == ErrorCode::NeedsReauthorization,
                e.needs_reauthorization(),
                "{e}"
            );
            assert_eq!(e.code().is_temporary(), e.is_temporary(), "{e}");
        }
        // The trait hands out the same diagnosis as the engine computed.
        let e = reply("invalid_grant", 400);
        assert_eq!(Coded::diagnosis_id(&e), e.diagnosis_id());
    }

    #[test]
    fn client_side_failures_name_their_catalog_entry() {
        for (e, id) in [
            (OAuthError::StateMismatch, "client-state-mismatch"),
            (
                OAuthError::Timeout { seconds: 300 },
                "client-browser-timeout",
            ),
            (
                OAuthError::AccountMismatch {
                    mailbox: "a@x".into(),
                    signed_in: "b@x".into(),
                },
                "client-account-mismatch",
            ),
        ] {
            assert_eq!(e.diagnosis_id().as_deref(), Some(id));
            assert!(diagnosis::entry(id).is_some(), "{id} is in the catalog");
        }
    }
}
