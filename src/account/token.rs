//! The consumer side in one call: a fresh access token for a configured account, with the
//! outcome recorded in the status file.

use crate::config::{ConfigDocument, ConfigError};
use crate::error::{Coded, ErrorCode};
use crate::oauth::{self, AccessToken, OAuthError};
use crate::status::{record_failure, record_success};

/// Why no token could be handed out.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The account or its settings are not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The engine could not produce a token (refresh refused, provider unreachable, ...).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
}

impl Coded for TokenError {
    fn code(&self) -> ErrorCode {
        match self {
            TokenError::Config(e) => e.code(),
            TokenError::OAuth(e) => e.code(),
        }
    }

    fn diagnosis_id(&self) -> Option<String> {
        TokenError::diagnosis_id(self)
    }
}

/// What a front end does about a failed token request: the CLI turns it into its exit status,
/// a service into a retry or a report to the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    /// Try again later; nothing needs changing (network, provider busy, store busy).
    Temporary,
    /// An admin must sign in again (revoked or expired grant, no refresh token).
    NeedsReauthorization,
    /// No account of that name in the config.
    UnknownAccount,
    /// The config file cannot be used: missing, damaged, or an account it describes is invalid.
    Config,
    /// Anything else: the message says what.
    Other,
}

impl TokenFailure {
    /// The kind of a config error: an unknown account, or a file that cannot be used.
    pub fn of_config(e: &ConfigError) -> Self {
        match e {
            ConfigError::UnknownAccount { .. } => TokenFailure::UnknownAccount,
            _ => TokenFailure::Config,
        }
    }
}

impl TokenError {
    /// The kind of failure, for the caller to act on.
    pub fn failure(&self) -> TokenFailure {
        match self {
            TokenError::Config(e) => TokenFailure::of_config(e),
            TokenError::OAuth(e) if e.needs_reauthorization() => TokenFailure::NeedsReauthorization,
            TokenError::OAuth(e) if e.is_temporary() => TokenFailure::Temporary,
            TokenError::OAuth(OAuthError::Config { .. } | OAuthError::Profile(_)) => {
                TokenFailure::Config
            }
            TokenError::OAuth(_) => TokenFailure::Other,
        }
    }

    /// True when only signing in again helps.
    pub fn needs_reauthorization(&self) -> bool {
        matches!(self, TokenError::OAuth(e) if e.needs_reauthorization())
    }

    /// The diagnosis catalog entry that explains the error, if one does.
    pub fn diagnosis_id(&self) -> Option<String> {
        match self {
            TokenError::OAuth(e) => e.diagnosis_id(),
            TokenError::Config(_) => None,
        }
    }
}

/// A valid access token for account `name` of `doc`, refreshed (and the rotated refresh token
/// saved) when it expires within the engine's margin of `now`. The outcome is recorded in the
/// status file beside the config; a status file that cannot be written is reported on `warn`
/// but never costs the caller its token.
pub async fn token(
    doc: &ConfigDocument,
    name: &str,
    now: u64,
    warn: super::Warn<'_>,
) -> Result<AccessToken, TokenError> {
    token_forced(doc, name, now, false, warn).await
}

/// [`token`], refreshing even a still-valid token when `force` is set (a consumer reported it
/// rejected, or asked for a refresh).
pub async fn token_forced(
    doc: &ConfigDocument,
    name: &str,
    now: u64,
    force: bool,
    warn: super::Warn<'_>,
) -> Result<AccessToken, TokenError> {
    let result = async {
        let account = doc.account(name)?;
        let auth = super::convert::auth_settings(account);
        let store = super::convert::open_store(account, &doc.path)?;
        let token = if force {
            let expired = crate::store::Expired(store.as_ref());
            oauth::refresh_if_needed(&auth, &expired, now).await?
        } else {
            oauth::refresh_if_needed(&auth, store.as_ref(), now).await?
        };
        Ok::<_, TokenError>(token)
    }
    .await;
    let recorded = match &result {
        Ok(_) => record_success(&doc.path, name, now),
        // An unknown account has no status to record.
        Err(TokenError::Config(ConfigError::UnknownAccount { .. })) => Ok(()),
        Err(e) => record_failure(
            &doc.path,
            name,
            &e.to_string(),
            e.diagnosis_id().as_deref(),
            e.needs_reauthorization(),
            now,
        ),
    };
    if let Err(e) = recorded {
        warn(&e.to_string());
    }
    result
}
