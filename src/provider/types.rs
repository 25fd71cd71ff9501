//! The shared vocabulary of provider profiles: what the token is for, how it is obtained, how the
//! mail connection is secured.
//!
//! Every enum here crosses IPC and appears in files, so each one serialises as `snake_case` and
//! parses from the same text (`"device_code"`, or `device-code` as typed on the command line).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// Parses a snake_case enum value the way serde spells it; `-` is accepted for `_` so the command
/// line can say `device-code`. The error lists the accepted values.
fn parse_snake<T: DeserializeOwned>(text: &str, what: &str, all: &[&str]) -> Result<T, String> {
    let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
    serde_json::from_value(serde_json::Value::String(wanted)).map_err(|_| {
        format!(
            "{what} {text:?} is not known: use one of {}",
            all.join(", ")
        )
    })
}

/// The serde name of an enum value (`DeviceCode` -> `device_code`).
fn snake_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Every enum of this module is a unit enum, which serde writes as a string.
        _ => String::from("?"),
    }
}

macro_rules! snake_enum_impls {
    ($ty:ty, $what:literal) => {
        impl $ty {
            /// The value as it is written in files, JSON and on the command line.
            pub fn as_str(self) -> String {
                snake_name(&self)
            }

            /// Every value, in declaration order.
            pub fn all() -> &'static [$ty] {
                Self::ALL
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let names: Vec<String> = Self::ALL.iter().map(|v| v.as_str()).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                parse_snake(s, $what, &names)
            }
        }
    };
}

/// What the mail service does with the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The service sends mail over SMTP.
    Send,
    /// The service reads a mailbox over IMAP.
    Receive,
    /// The service both sends and reads; one authorization covers both.
    Both,
}

impl Purpose {
    const ALL: &'static [Purpose] = &[Purpose::Send, Purpose::Receive, Purpose::Both];

    /// True when the service sends mail.
    pub fn sends(self) -> bool {
        matches!(self, Purpose::Send | Purpose::Both)
    }

    /// True when the service reads mail.
    pub fn receives(self) -> bool {
        matches!(self, Purpose::Receive | Purpose::Both)
    }
}
snake_enum_impls!(Purpose, "purpose");

/// How mailoauth obtains the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Authorization code with PKCE, the browser redirecting to a listener on this machine.
    Loopback,
    /// Device authorization grant: the admin signs in on any device with a short code.
    DeviceCode,
    /// Client credentials: the application itself, no user (Microsoft app-only access).
    ClientCredentials,
    /// A Google service account acting for a mailbox through domain-wide delegation.
    ServiceAccount,
    /// Resource owner password grant, for servers that still offer it.
    Password,
}

impl Flow {
    const ALL: &'static [Flow] = &[
        Flow::Loopback,
        Flow::DeviceCode,
        Flow::ClientCredentials,
        Flow::ServiceAccount,
        Flow::Password,
    ];

    /// True when a user signs in and the token acts for that user (delegated permissions).
    pub fn is_delegated(self) -> bool {
        matches!(self, Flow::Loopback | Flow::DeviceCode | Flow::Password)
    }

    /// True when the flow opens an authorization page in a browser.
    pub fn uses_browser(self) -> bool {
        matches!(self, Flow::Loopback | Flow::DeviceCode)
    }
}
snake_enum_impls!(Flow, "flow");

/// How the mail connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// A plain connection upgraded with STARTTLS before authenticating (IMAP 143, SMTP 587).
    StartTls,
    /// No encryption: only ever acceptable to a server on this machine.
    None,
}

impl Security {
    const ALL: &'static [Security] = &[Security::Tls, Security::StartTls, Security::None];

    /// The name an admin sees in mail client settings.
    pub fn label(self) -> &'static str {
        match self {
            Security::Tls => "TLS",
            Security::StartTls => "STARTTLS",
            Security::None => "no encryption",
        }
    }
}
snake_enum_impls!(Security, "security");

/// How the client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A public client: no secret, PKCE protects the code.
    None,
    /// The secret in an HTTP Basic `Authorization` header.
    ClientSecretBasic,
    /// The secret as a `client_secret` form field.
    ClientSecretPost,
    /// A JWT signed with the client's private key (a certificate in Azure, a key file at Google).
    PrivateKeyJwt,
}

impl ClientAuth {
    const ALL: &'static [ClientAuth] = &[
        ClientAuth::None,
        ClientAuth::ClientSecretBasic,
        ClientAuth::ClientSecretPost,
        ClientAuth::PrivateKeyJwt,
    ];
}
snake_enum_impls!(ClientAuth, "client authentication");

/// The kind of client registered at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// A native client: Google "Desktop app", Azure "Mobile and desktop applications".
    Desktop,
    /// A confidential client with exact redirect URIs: Google or Azure "Web application".
    Web,
    /// No user and no redirect: Azure app-only access or a Google service account.
    Daemon,
}

impl ClientType {
    const ALL: &'static [ClientType] = &[ClientType::Desktop, ClientType::Web, ClientType::Daemon];
}
snake_enum_impls!(ClientType, "client type");

/// Which isolated instance of a provider's cloud the account lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    /// The global cloud, which also serves Microsoft's GCC (moderate) tenants.
    #[default]
    Worldwide,
    /// Microsoft 365 U.S. Government GCC High.
    UsGovGccHigh,
    /// Microsoft 365 U.S. Government DoD.
    UsGovDod,
    /// Microsoft 365 operated by 21Vianet in China.
    China,
}

impl Cloud {
    const ALL: &'static [Cloud] = &[
        Cloud::Worldwide,
        Cloud::UsGovGccHigh,
        Cloud::UsGovDod,
        Cloud::China,
    ];

    /// The name an admin recognises.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Worldwide => "worldwide (including GCC)",
            Cloud::UsGovGccHigh => "US Government GCC High",
            Cloud::UsGovDod => "US Government DoD",
            Cloud::China => "China (operated by 21Vianet)",
        }
    }
}
snake_enum_impls!(Cloud, "cloud");

/// A mail protocol mailoauth configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MailProtocol {
    /// Reading mail.
    Imap,
    /// Sending mail.
    Smtp,
}

impl MailProtocol {
    const ALL: &'static [MailProtocol] = &[MailProtocol::Imap, MailProtocol::Smtp];

    /// The protocol's name as admins write it.
    pub fn label(self) -> &'static str {
        match self {
            MailProtocol::Imap => "IMAP",
            MailProtocol::Smtp => "SMTP",
        }
    }
}
snake_enum_impls!(MailProtocol, "protocol");

/// A SASL mechanism that carries an OAuth2 token to a mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SaslMechanism {
    /// Google's and Microsoft's `XOAUTH2`.
    Xoauth2,
    /// RFC 7628 `OAUTHBEARER`.
    Oauthbearer,
}

impl SaslMechanism {
    const ALL: &'static [SaslMechanism] = &[SaslMechanism::Xoauth2, SaslMechanism::Oauthbearer];

    /// The mechanism name as servers advertise it.
    pub fn label(self) -> &'static str {
        match self {
            SaslMechanism::Xoauth2 => "XOAUTH2",
            SaslMechanism::Oauthbearer => "OAUTHBEARER",
        }
    }
}
snake_enum_impls!(SaslMechanism, "SASL mechanism");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_text() {
        for f in Flow::all() {
            assert_eq!(f.as_str().parse::<Flow>(), Ok(*f));
        }
        for c in Cloud::all() {
            assert_eq!(c.as_str().parse::<Cloud>(), Ok(*c));
        }
        assert_eq!("device-code".parse::<Flow>(), Ok(Flow::DeviceCode));
        assert_eq!(" Start_TLS ".parse::<Security>(), Ok(Security::StartTls));
        assert_eq!(
            ClientAuth::ClientSecretPost.to_string(),
            "client_secret_post"
        );
        assert_eq!(Cloud::UsGovGccHigh.to_string(), "us_gov_gcc_high");
    }

    #[test]
    fn unknown_text_lists_the_choices() {
        let err = "magic".parse::<Flow>().unwrap_err();
        assert!(err.contains("\"magic\""), "{err}");
        assert!(
            err.contains("loopback, device_code, client_credentials"),
            "{err}"
        );
    }

    #[test]
    fn purpose_and_flow_predicates() {
        assert!(Purpose::Both.sends() && Purpose::Both.receives());
        assert!(Purpose::Send.sends() && !Purpose::Send.receives());
        assert!(!Purpose::Receive.sends() && Purpose::Receive.receives());
        assert!(Flow::Loopback.is_delegated() && Flow::Loopback.uses_browser());
        assert!(!Flow::ClientCredentials.is_delegated());
        assert!(!Flow::ServiceAccount.is_delegated());
        assert!(Flow::Password.is_delegated() && !Flow::Password.uses_browser());
    }
}
