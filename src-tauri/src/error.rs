//! The one error shape that crosses IPC: `{ code, message, diagnosis?, reauthorize }`.
//!
//! The UI switches on `code` (generated as a TypeScript union), shows `message`, which is written
//! for the admin, and shows `diagnosis` (the catalog entry the core chose for this very error,
//! with its cause and fix) as it is: it never searches the message for one again. Core errors
//! convert with `?` through [`mailoauth::error::Coded`].

use mailoauth::diagnosis::{self, Diagnosis};
use mailoauth::error::{Coded, ErrorCode};
use serde::Serialize;
use ts_rs::TS;

/// An error as the UI receives it from any command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    /// What went wrong, for the UI to switch on.
    pub code: ErrorCode,
    /// What went wrong and what to do, in words an admin understands.
    pub message: String,
    /// The core's diagnosis of this error (catalog id, title, cause, fix), when it has one.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Box<Diagnosis>>,
    /// Whether the mailbox must sign in again (now, or after the diagnosis's fix).
    pub reauthorize: bool,
}

impl IpcError {
    /// An error of the app layer itself, with this code and message and no diagnosis.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let code_says = code == ErrorCode::NeedsReauthorization;
        Self {
            code,
            message: message.into(),
            diagnosis: None,
            reauthorize: code_says,
        }
    }

    /// Converts any coded core error: its code, its message, and the diagnosis the core chose
    /// for it (filled in with what the message says, such as the host that was not reached).
    pub fn from_core<E: Coded + std::fmt::Display + ?Sized>(err: &E) -> Self {
        Self::new(err.code(), err.to_string()).diagnosed(err.diagnosis_id(), &Default::default())
    }

    /// The same error with `ctx` (the mailbox, tenant, client ID the admin gave) filled into
    /// its diagnosis's fixes and links.
    pub fn with_context(self, ctx: &diagnosis::Context) -> Self {
        let id = self.diagnosis.as_ref().map(|d| d.id.clone());
        self.diagnosed(id, ctx)
    }

    fn diagnosed(mut self, id: Option<String>, ctx: &diagnosis::Context) -> Self {
        self.diagnosis = id
            .and_then(|id| diagnosis::diagnose(&id, &self.message, ctx))
            .map(Box::new);
        self.reauthorize = self.code == ErrorCode::NeedsReauthorization
            || self.diagnosis.as_ref().is_some_and(|d| d.reauthorize);
        self
    }
}

/// Lets a command return any core error with `?`.
impl<E: Coded + std::fmt::Display> From<E> for IpcError {
    fn from(err: E) -> Self {
        Self::from_core(&err)
    }
}

/// What every command returns.
pub type CmdResult<T> = Result<T, IpcError>;

#[cfg(test)]
mod tests {
    use super::*;
    use mailoauth::oauth::{Endpoint, OAuthError, ProviderReply};

    fn refused(error: &str, description: &str) -> OAuthError {
        OAuthError::Provider(Box::new(ProviderReply::new(
            Endpoint::Token,
            error,
            Some(description),
            Some(400),
        )))
    }

    #[test]
    fn a_core_error_keeps_its_code_and_the_diagnosis_the_core_chose() {
        let e = refused("invalid_grant", "Token has been expired or revoked.");
        let ipc = IpcError::from(e);
        assert_eq!(ipc.code, ErrorCode::NeedsReauthorization);
        assert!(ipc.reauthorize);
        let d = ipc.diagnosis.as_ref().expect("diagnosed");
        assert_eq!(d.id, "g-token-expired-or-revoked");
        assert!(!d.title.is_empty() && !d.fix.is_empty());
        // On the wire: the fields the UI reads, camelCase-free snake codes.
        let json = serde_json::to_value(&ipc).unwrap();
        assert_eq!(json["code"], "needs_reauthorization");
        assert_eq!(json["reauthorize"], true);
        assert_eq!(json["diagnosis"]["id"], "g-token-expired-or-revoked");
    }

    #[test]
    fn an_unreachable_provider_is_a_network_error_naming_the_host() {
        let e = OAuthError::Unreachable {
            endpoint: Endpoint::Token,
            detail: "error sending request for url (https://login.microsoftonline.com/organizations/oauth2/v2.0/token): dns error".into(),
        };
        let ipc = IpcError::from(e);
        assert_eq!(ipc.code, ErrorCode::Network);
        assert!(!ipc.reauthorize);
        let d = ipc.diagnosis.expect("diagnosed");
        assert_eq!(d.id, "net-host-unreachable");
        assert_eq!(d.host.as_deref(), Some("login.microsoftonline.com"));
    }

    #[test]
    fn the_context_is_filled_into_the_diagnosis() {
        let e = OAuthError::AccountMismatch {
            mailbox: "scanner@contoso.com".into(),
            signed_in: "admin@contoso.com".into(),
        };
        let ctx = diagnosis::Context {
            mailbox: Some("scanner@contoso.com".into()),
            ..Default::default()
        };
        let ipc = IpcError::from(e).with_context(&ctx);
        assert_eq!(ipc.code, ErrorCode::ProviderRefused);
        let d = ipc.diagnosis.expect("diagnosed");
        assert_eq!(d.id, "client-account-mismatch");
        assert_eq!(
            Some(*d),
            diagnosis::entry("client-account-mismatch").map(|e| e.diagnosis(&ctx))
        );
    }

    #[test]
    fn an_error_without_a_diagnosis_has_none() {
        let ipc = IpcError::from(OAuthError::Cancelled);
        assert_eq!(ipc.code, ErrorCode::Cancelled);
        assert_eq!(ipc.diagnosis, None);
        assert!(!ipc.reauthorize);
        let json = serde_json::to_value(&ipc).unwrap();
        assert!(json.get("diagnosis").is_none(), "{json}");
    }
}
