//! What a check is asked to do: the servers, the mechanism, the trusted certificates and the
//! time limits.

use super::ProbeError;
use crate::provider::Security;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A mail server to test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ProbeEndpoint")]
pub struct Endpoint {
    /// Host name or address, e.g. `smtp.office365.com`; also the name the certificate must carry.
    pub host: String,
    /// TCP port, e.g. 587 or 993.
    pub port: u16,
    /// How the connection is secured: implicit TLS, STARTTLS or none.
    pub security: Security,
}

impl Endpoint {
    /// Parses `host:port:security` as typed on the command line (`smtp.office365.com:587:starttls`).
    pub fn parse(text: &str) -> Result<Self, ProbeError> {
        let bad = || {
            ProbeError::InvalidRequest {
            field: "server",
            fix: "write host:port:security, e.g. smtp.office365.com:587:start_tls or outlook.office365.com:993:tls",
        }
        };
        let mut parts = text.trim().rsplitn(3, ':');
        let (Some(sec), Some(port), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let security = match sec.trim().to_ascii_lowercase().as_str() {
            "starttls" => Security::StartTls,
            "ssl" | "implicit" => Security::Tls,
            other => other.parse::<Security>().map_err(|_| bad())?,
        };
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.trim().parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_string(),
            port,
            security,
        })
    }
}

/// Which SASL mechanism to log in with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MechanismChoice {
    /// XOAUTH2 when offered (Microsoft accepts only this), else OAUTHBEARER, else XOAUTH2 anyway
    /// to hear the server's reason.
    #[default]
    Auto,
    /// Always XOAUTH2.
    Xoauth2,
    /// Always OAUTHBEARER (RFC 7628).
    Oauthbearer,
}

/// Which server certificates are trusted besides the system's roots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct TlsTrust {
    /// PEM text of an extra CA to trust, for an on-premise server with its own CA.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_ca_pem: Option<String>,
    /// SHA-256 fingerprint of the one server certificate to accept whatever its chain (hex).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_sha256: Option<String>,
}

/// Time limits of the steps, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(rename = "ProbeTimeouts")]
pub struct Timeouts {
    /// Name resolution and TCP connect, per address tried.
    pub connect_ms: u32,
    /// Waiting for the server's greeting; short, because a silent server usually means the port
    /// expects implicit TLS.
    pub greeting_ms: u32,
    /// The TLS handshake.
    pub tls_ms: u32,
    /// Each command: capabilities, STARTTLS, login, NOOP, NAMESPACE, EXAMINE, sending.
    pub command_ms: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect_ms: 10_000,
            greeting_ms: 4_000,
            tls_ms: 10_000,
            command_ms: 20_000,
        }
    }
}

/// Everything one check needs except the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckRequest {
    /// The mailbox the token belongs to; the login's `user=`.
    pub mailbox: String,
    /// The SMTP server to send through, if the service sends.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Endpoint>,
    /// The IMAP server to read from, if the service receives.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<Endpoint>,
    /// The SASL mechanism to log in with.
    #[serde(default)]
    pub mechanism: MechanismChoice,
    /// Certificates trusted besides the system's roots.
    #[serde(default)]
    pub tls: TlsTrust,
    /// Send a test message to this address after the SMTP login.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_test_to: Option<String>,
    /// Local address to connect from, for a machine with several (empty: the system chooses).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    /// Time limits of the steps.
    #[serde(default)]
    pub timeouts: Timeouts,
}

/// A plain-text message sent after the SMTP login instead of the test message: the service's
/// notice to the admin ([`crate::probe::send_message`]). Not part of the wizard's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The one recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The text (plain, UTF-8).
    pub body: String,
}
