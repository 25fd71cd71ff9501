//! Turns what the wizard collected into the settings the OAuth engine and the mail tests run
//! with, so the app and the CLI build accounts the same way.

use crate::error::{Coded, ErrorCode};
use crate::oauth::AccountAuth;
use crate::probe::{CheckRequest, Endpoint};
use crate::provider::{self, ClientAuth, Cloud, Flow, MailProtocol, ProfileError, Purpose};
use crate::sandbox::Sandbox;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The provider id the wizard uses for the sandbox's local test server.
pub const SANDBOX_PROVIDER: &str = "sandbox";

/// What the wizard collected about one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountDraft {
    /// Provider profile id, or `sandbox` for the local test server.
    pub provider: String,
    /// The provider's cloud.
    pub cloud: Cloud,
    /// Microsoft tenant (ID or domain), when the provider has tenants.
    pub tenant: Option<String>,
    /// The OAuth client ID (ignored for the sandbox, whose client is fixed).
    pub client_id: String,
    /// How the first tokens are obtained.
    pub flow: Flow,
    /// What the service does with the mailbox.
    pub purpose: Purpose,
    /// The mailbox address.
    pub mailbox: String,
}

/// Everything the sign-in and the mail tests need, derived from a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountSetup {
    /// The OAuth engine's settings.
    pub auth: AccountAuth,
    /// Where the tokens are kept (`keyring` or `file:<folder>`).
    pub store: String,
    /// The SMTP and IMAP login tests for the purpose, with the provider's servers.
    pub check: CheckRequest,
}

/// Why a draft cannot become an account.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A required field is empty.
    #[error("{field} is empty: {fix}")]
    Missing {
        /// The field.
        field: &'static str,
        /// What to enter.
        fix: &'static str,
    },
    /// The sandbox provider was chosen but the app runs without the local test servers.
    #[error("the local test server is not running: start the app with scripts/run.sh --sandbox")]
    NoSandbox,
    /// The provider profile refused the choice.
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

impl Coded for SetupError {
    fn code(&self) -> ErrorCode {
        match self {
            SetupError::Profile(e) => e.code(),
            _ => ErrorCode::InvalidInput,
        }
    }
}

/// Builds the account settings for `draft`; `sandbox` is the running local test server, if any.
pub fn plan(draft: &AccountDraft, sandbox: Option<&Sandbox>) -> Result<AccountSetup, SetupError> {
    let mailbox = draft.mailbox.trim();
    if mailbox.is_empty() {
        return Err(SetupError::Missing {
            field: "Mailbox address",
            fix: "enter the address the service sends as or reads",
        });
    }
    if draft.provider == SANDBOX_PROVIDER {
        let s = sandbox.ok_or(SetupError::NoSandbox)?;
        return Ok(AccountSetup {
            auth: s.account_auth(mailbox, draft.flow, draft.purpose),
            store: s.token_store(),
            check: s.check_request(mailbox, draft.purpose),
        });
    }
    let profile = provider::require_profile(&draft.provider)?;
    if draft.client_id.trim().is_empty() {
        return Err(SetupError::Missing {
            field: "Client ID",
            fix: "copy it from the provider's console (see the registration checklist)",
        });
    }
    let server = |protocol| -> Result<Option<Endpoint>, SetupError> {
        let d = profile.mail(protocol, draft.cloud)?;
        Ok(d.host.map(|host| Endpoint {
            host,
            port: d.port,
            security: d.security,
        }))
    };
    let sends = matches!(draft.purpose, Purpose::Send | Purpose::Both);
    let receives = matches!(draft.purpose, Purpose::Receive | Purpose::Both);
    Ok(AccountSetup {
        auth: AccountAuth {
            provider: draft.provider.clone(),
            cloud: draft.cloud,
            tenant: draft
                .tenant
                .as_ref()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            client_id: draft.client_id.trim().to_string(),
            client_auth: ClientAuth::None,
            client_secret: None,
            key_id: None,
            certificate: None,
            flow: draft.flow,
            purpose: draft.purpose,
            scopes: Vec::new(),
            endpoints: Default::default(),
            mailbox: mailbox.to_string(),
        },
        store: String::from("keyring"),
        check: CheckRequest {
            mailbox: mailbox.to_string(),
            smtp: if sends {
                server(MailProtocol::Smtp)?
            } else {
                None
            },
            imap: if receives {
                server(MailProtocol::Imap)?
            } else {
                None
            },
            mechanism: Default::default(),
            tls: Default::default(),
            send_test_to: None,
            source_address: None,
            timeouts: Default::default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Security;

    fn draft(provider: &str, purpose: Purpose) -> AccountDraft {
        AccountDraft {
            provider: provider.into(),
            cloud: Cloud::Worldwide,
            tenant: Some(" contoso.com ".into()),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            flow: Flow::DeviceCode,
            purpose,
            mailbox: " scanner@contoso.com ".into(),
        }
    }

    #[test]
    fn microsoft_draft_gets_the_profile_s_mail_servers() {
        let s = plan(&draft("microsoft", Purpose::Both), None).unwrap();
        assert_eq!(s.auth.tenant.as_deref(), Some("contoso.com"));
        assert_eq!(s.auth.mailbox, "scanner@contoso.com");
        let smtp = s.check.smtp.expect("smtp for sending");
        assert_eq!((smtp.port, smtp.security), (587, Security::StartTls));
        let imap = s.check.imap.expect("imap for receiving");
        assert_eq!((imap.port, imap.security), (993, Security::Tls));
        let send_only = plan(&draft("microsoft", Purpose::Send), None).unwrap();
        assert!(send_only.check.imap.is_none());
    }

    #[test]
    fn empty_fields_and_a_missing_sandbox_are_named() {
        let mut d = draft("google", Purpose::Receive);
        d.client_id = "  ".into();
        assert!(plan(&d, None)
            .unwrap_err()
            .to_string()
            .starts_with("Client ID is empty"));
        d.mailbox = String::new();
        assert!(plan(&d, None)
            .unwrap_err()
            .to_string()
            .starts_with("Mailbox address is empty"));
        let err = plan(&draft(SANDBOX_PROVIDER, Purpose::Both), None).unwrap_err();
        assert!(matches!(err, SetupError::NoSandbox));
        assert!(plan(&draft("yahoo", Purpose::Both), None).is_err());
    }
}
