//! Error codes: the stable, machine-readable half of every error that leaves the core.
//!
//! Front ends (the app's UI, the CLI's `--json` output and exit statuses, next the token
//! service) switch on an [`ErrorCode`], never on a message string. A code exists only when some
//! consumer acts on it differently: each says what to do next, not where the error came from.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What went wrong, as a front end needs to know it to choose what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Something the user typed or chose is not valid, or does not fit the server; the message
    /// names the field and the fix. The UI keeps the form and points back to it.
    InvalidInput,
    /// The requested thing (provider, account, file) does not exist. The UI reloads its list.
    NotFound,
    /// Temporary: a server or the network did not answer (in time), the provider or the mail
    /// server said "try again later", or the token store was busy. The same request may work
    /// later unchanged: the UI offers to try again, the CLI exits `EX_TEMPFAIL`.
    Network,
    /// The stored authorization is gone or unusable (revoked, expired, damaged, sealed by
    /// another account): only a new sign-in as the mailbox helps. The UI offers it.
    NeedsReauthorization,
    /// The OAuth provider refused (a console setting, a consent, the wrong account, a reply
    /// that does not match the sign-in): the fix is in the provider's console or in who signs
    /// in. The UI shows the diagnosis beside the sign-in.
    ProviderRefused,
    /// The mail server (SMTP or IMAP) refused the login or a command with a valid token: the
    /// fix is on the mail side (mailbox permissions, SMTP AUTH). The UI shows the diagnosis
    /// beside the failed step.
    MailServerRefused,
    /// The user or the app cancelled a running flow. The UI says so and shows no error.
    Cancelled,
    /// A bug or an unexpected state inside mailoauth (or the OS refused something it should
    /// not); the message says what to report.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::InvalidInput,
        ErrorCode::NotFound,
        ErrorCode::Network,
        ErrorCode::NeedsReauthorization,
        ErrorCode::ProviderRefused,
        ErrorCode::MailServerRefused,
        ErrorCode::Cancelled,
        ErrorCode::Internal,
    ];

    /// Whether the same request may well succeed later without anyone changing anything.
    pub fn is_temporary(self) -> bool {
        self == ErrorCode::Network
    }
}

/// Implemented by every error enum of the core, so a front end can get its code.
pub trait Coded {
    /// The code a front end switches on.
    fn code(&self) -> ErrorCode;

    /// The diagnosis catalog entry (`crate::diagnosis::entry`) that explains this error, when
    /// the core knows it: front ends show it as it is instead of searching the message again.
    fn diagnosis_id(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire_and_read_back() {
        let names: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "invalid_input",
                "not_found",
                "network",
                "needs_reauthorization",
                "provider_refused",
                "mail_server_refused",
                "cancelled",
                "internal"
            ]
        );
        for c in ErrorCode::ALL {
            let back: ErrorCode = serde_json::from_value(serde_json::to_value(c).unwrap()).unwrap();
            assert_eq!(back, c);
        }
        assert!(ErrorCode::Network.is_temporary());
        assert!(!ErrorCode::NeedsReauthorization.is_temporary());
    }
}
