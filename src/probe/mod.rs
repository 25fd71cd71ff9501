//! Mail login tests: connect, TLS, capabilities, XOAUTH2/OAUTHBEARER login and a real command,
//! over SMTP and IMAP at the same time, each step reported as it happens.
//!
//! The probe takes a ready access token (from the OAuth engine, a file or the environment); it
//! never obtains one. Every failure is a [`ProbeError`] carrying the server's own lines (tokens
//! scrubbed) and the diagnosis catalog's entry for it, so the GUI and `mailoauth check` show the
//! cause and the fix next to the step that failed.
//!
//! Why each protocol is spoken partly by hand: the steps before the login (greeting,
//! capabilities, STARTTLS) must be timed and reported one by one and must detect a wrong security
//! mode within seconds, which neither `lettre` nor `async-imap` expose. The login and what follows
//! go through `lettre` (SMTP) and `async-imap` (IMAP) on the same connection.

mod imap;
mod smtp;
mod stream;
mod tls;

use crate::diagnosis::{self, DecodedChallenge, Diagnosis};
use crate::error::{Coded, ErrorCode};
use crate::provider::{MailProtocol, SaslMechanism, Security};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
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

/// SMTP or IMAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "ProbeProtocol")]
pub enum Protocol {
    /// Sending, over SMTP submission.
    Smtp,
    /// Receiving, over IMAP.
    Imap,
}

impl Protocol {
    /// `SMTP` or `IMAP`.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Smtp => "SMTP",
            Protocol::Imap => "IMAP",
        }
    }
}

/// One step of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "ProbeStep")]
pub enum Step {
    /// Resolving the host name.
    Resolve,
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake (implicit TLS, or after STARTTLS).
    Tls,
    /// The server's greeting.
    Greeting,
    /// EHLO or CAPABILITY: what the server offers, before and after STARTTLS.
    Capabilities,
    /// The STARTTLS command.
    StartTls,
    /// The XOAUTH2 or OAUTHBEARER login.
    Authenticate,
    /// A real command after login: NOOP (SMTP) or NAMESPACE (IMAP).
    Command,
    /// EXAMINE INBOX and its message count.
    Mailbox,
    /// Sending the test message.
    SendTest,
}

impl Step {
    /// The step as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Step::Resolve => "resolve host",
            Step::Connect => "connect",
            Step::Tls => "TLS handshake",
            Step::Greeting => "greeting",
            Step::Capabilities => "capabilities",
            Step::StartTls => "STARTTLS",
            Step::Authenticate => "login",
            Step::Command => "command after login",
            Step::Mailbox => "open INBOX",
            Step::SendTest => "send test message",
        }
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "ProbeStepStatus")]
pub enum StepStatus {
    /// Started, not finished.
    Running,
    /// Finished well.
    Passed,
    /// Failed; the protocol's test stops here.
    Failed,
}

/// Live progress: one step started or finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProbeEvent {
    /// Which test the step belongs to.
    pub protocol: Protocol,
    /// The step.
    pub step: Step,
    /// Started, passed or failed.
    pub status: StepStatus,
    /// What the step found, e.g. `127.0.0.1:993 answered` or the server's refusal.
    pub detail: String,
    /// Milliseconds since this protocol's test began.
    pub at_ms: u32,
}

/// One finished step in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ProbeStepReport")]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// Passed or failed.
    pub status: StepStatus,
    /// What the step found.
    pub detail: String,
    /// How long the step took, in milliseconds.
    pub elapsed_ms: u32,
}

/// What the TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TlsInfo {
    /// Negotiated version (`TLSv1.3`), absent when the handshake failed.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The server certificate's subject, e.g. `CN=outlook.office365.com, O=Microsoft Corporation`.
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// SHA-256 fingerprint of the certificate, the value to pin for an on-premise server.
    pub sha256: String,
    /// Whether it was accepted because it matched the pinned fingerprint.
    pub pinned: bool,
}

/// Which failure a test ended with, for a front end to switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "ProbeFailureKind")]
pub enum FailureKind {
    /// The request itself is unusable (bad CA file, pin, address).
    InvalidRequest,
    /// The check was cancelled.
    Cancelled,
    /// The host name does not resolve.
    Resolve,
    /// Nothing accepted the connection.
    Connect,
    /// A step took longer than its limit.
    Timeout,
    /// Implicit TLS spoken to a port that speaks plain text / STARTTLS.
    PortExpectsStartTls,
    /// Plain text spoken to a port that expects implicit TLS.
    PortExpectsTls,
    /// The certificate is not trusted (chain, name or pin).
    TlsUntrusted,
    /// The TLS handshake failed otherwise.
    TlsHandshake,
    /// The server does not offer STARTTLS or refused it.
    StartTls,
    /// The server refused the login because the connection is not encrypted.
    LoginNeedsTls,
    /// The server does not know the mechanism.
    MechanismUnsupported,
    /// The server rejected the token.
    AuthRejected,
    /// The server could not check the token right now.
    AuthTemporary,
    /// The login passed but a command after it failed.
    CommandFailed,
    /// The test message was refused.
    SendFailed,
    /// The server said something the probe does not understand, or closed the connection.
    Protocol,
}

/// Why a test failed: the typed error as the report carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ProbeFailure")]
pub struct Failure {
    /// The error code front ends switch on first.
    pub code: ErrorCode,
    /// Which failure, more precisely.
    pub kind: FailureKind,
    /// The step that failed.
    pub step: Step,
    /// What happened and what to do, in one or two sentences.
    pub message: String,
    /// The server's own lines about it, tokens scrubbed.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_reply: Option<String>,
    /// The decoded login challenge (`+ eyJ...` / `334 eyJ...`), when the server sent one.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<DecodedChallenge>,
    /// The diagnosis catalog's explanation: cause, fix and where.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
}

/// The result of one protocol's test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolReport {
    /// SMTP or IMAP.
    pub protocol: Protocol,
    /// The server tested.
    pub endpoint: Endpoint,
    /// Whether every step passed.
    pub ok: bool,
    /// The steps in order, with status, detail and timing.
    pub steps: Vec<StepReport>,
    /// The address that answered.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// What the TLS handshake showed.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
    /// Whether the server offered XOAUTH2 (after TLS).
    pub offers_xoauth2: bool,
    /// Whether the server offered OAUTHBEARER (after TLS).
    pub offers_oauthbearer: bool,
    /// The mechanism the login used.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<SaslMechanism>,
    /// Messages in INBOX (IMAP only).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_messages: Option<u32>,
    /// Whether the test message was accepted (SMTP, when asked for).
    pub test_message_sent: bool,
    /// Why it failed.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// How long the whole test took, in milliseconds.
    pub elapsed_ms: u32,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Whether every requested test passed.
    pub ok: bool,
    /// The mailbox tested.
    pub mailbox: String,
    /// The SMTP test, if requested.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<ProtocolReport>,
    /// The IMAP test, if requested.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<ProtocolReport>,
    /// A problem with the request itself, before anything connected.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Wall time of the whole check, in milliseconds (both tests run at the same time).
    pub elapsed_ms: u32,
}

/// What went wrong in a test.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// A value of the request cannot be used.
    #[error("the {field} cannot be used: {fix}")]
    InvalidRequest {
        /// The field, as the admin knows it.
        field: &'static str,
        /// What a valid value looks like.
        fix: &'static str,
    },
    /// `security` none to a host that is not this machine: the token would travel in clear text.
    #[error("the {field} cannot be used: {refused}")]
    Cleartext {
        /// The field, as the admin knows it (`SMTP server`, `IMAP server`).
        field: &'static str,
        /// What is wrong and what to choose instead.
        refused: crate::validate::input::CleartextRefused,
    },
    /// The check was cancelled.
    #[error("the check was cancelled")]
    Cancelled,
    /// The host name does not resolve.
    #[error("the host name {host} does not resolve ({message}): check its spelling and the DNS of this machine")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's message.
        message: String,
    },
    /// No address accepted the connection.
    #[error("nothing accepted the connection at {addresses} ({message}): check host and port, and that a firewall lets this machine through")]
    Connect {
        /// The addresses tried.
        addresses: String,
        /// The system's message for the last one.
        message: String,
    },
    /// A step took longer than its limit.
    #[error("{step} took longer than {after_ms} ms: the server or a firewall does not answer")]
    Timeout {
        /// The step, as a person reads it.
        step: &'static str,
        /// The limit.
        after_ms: u32,
    },
    /// TLS was spoken to a port whose server speaks first in plain text.
    #[error("wrong security for port {port}: the server answered the TLS handshake in plain text, so this port wants STARTTLS (or no TLS), not implicit TLS")]
    PortExpectsStartTls {
        /// The port.
        port: u16,
    },
    /// Plain text was spoken to a port that waits for a TLS handshake.
    #[error("wrong security for port {port}: no greeting within {after_ms} ms, so this port most likely expects implicit TLS (SSL/TLS) from the first byte, not STARTTLS or plain text")]
    PortExpectsTls {
        /// The port.
        port: u16,
        /// How long the probe waited.
        after_ms: u32,
    },
    /// The server's certificate is not trusted.
    #[error("the server certificate is not trusted ({message}): trust its CA with an extra CA file, or pin its fingerprint if it is your own server; a proxy that inspects TLS can also cause this")]
    TlsUntrusted {
        /// What the verifier said.
        message: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("the TLS handshake failed: {message}")]
    TlsHandshake {
        /// What rustls said.
        message: String,
    },
    /// The TLS configuration could not be built.
    #[error("the TLS settings could not be prepared: {message}")]
    TlsSetup {
        /// What rustls said.
        message: String,
    },
    /// The server does not offer STARTTLS, or refused it.
    #[error("the server does not allow STARTTLS on this port ({server_reply}): use implicit TLS on the TLS port (993 / 465) or ask the server's admin")]
    StartTls {
        /// The server's answer, scrubbed.
        server_reply: String,
    },
    /// The login was refused because the connection is not encrypted.
    #[error("the server refuses to log in over an unencrypted connection: use TLS or STARTTLS ({server_reply})")]
    LoginNeedsTls {
        /// The server's answer, scrubbed.
        server_reply: String,
    },
    /// The server does not know the mechanism.
    #[error("the server does not accept {mechanism} here ({server_reply})")]
    MechanismUnsupported {
        /// XOAUTH2 or OAUTHBEARER.
        mechanism: &'static str,
        /// The server's answer, scrubbed.
        server_reply: String,
    },
    /// The server rejected the token.
    #[error("the server rejected the login with the token ({server_reply})")]
    AuthRejected {
        /// The server's answer, with the challenge line, scrubbed.
        server_reply: String,
        /// The decoded challenge, if any (boxed: it is large and rare).
        challenge: Option<Box<DecodedChallenge>>,
    },
    /// The server could not check the token right now.
    #[error("the server could not check the login right now; try again later ({server_reply})")]
    AuthTemporary {
        /// The server's answer, scrubbed.
        server_reply: String,
        /// The decoded challenge, if any (boxed: it is large and rare).
        challenge: Option<Box<DecodedChallenge>>,
    },
    /// A command after the login failed.
    #[error("the login passed but {command} failed ({server_reply})")]
    CommandFailed {
        /// The command.
        command: &'static str,
        /// The server's answer, scrubbed.
        server_reply: String,
    },
    /// The test message was refused.
    #[error("the test message was refused ({server_reply})")]
    SendFailed {
        /// The server's answer, scrubbed.
        server_reply: String,
    },
    /// The server said something unexpected or closed the connection.
    #[error("{message}")]
    Protocol {
        /// What happened, with the server's line if any (scrubbed).
        message: String,
    },
}

impl Coded for ProbeError {
    fn code(&self) -> ErrorCode {
        match self {
            ProbeError::Cancelled => ErrorCode::Cancelled,
            ProbeError::TlsSetup { .. } => ErrorCode::Internal,
            // No answer (in time), or "try again later": the same test may pass later.
            ProbeError::Resolve { .. }
            | ProbeError::Connect { .. }
            | ProbeError::Timeout { .. }
            | ProbeError::Protocol { .. }
            | ProbeError::AuthTemporary { .. } => ErrorCode::Network,
            // The server refused the mailbox with a token it was sent: fixed on the mail side.
            ProbeError::AuthRejected { .. }
            | ProbeError::CommandFailed { .. }
            | ProbeError::SendFailed { .. } => ErrorCode::MailServerRefused,
            // A setting of the request (host, port, security, trust, mechanism) does not fit
            // this server; `FailureKind` and the diagnosis say which.
            ProbeError::InvalidRequest { .. }
            | ProbeError::Cleartext { .. }
            | ProbeError::PortExpectsStartTls { .. }
            | ProbeError::PortExpectsTls { .. }
            | ProbeError::TlsUntrusted { .. }
            | ProbeError::TlsHandshake { .. }
            | ProbeError::StartTls { .. }
            | ProbeError::LoginNeedsTls { .. }
            | ProbeError::MechanismUnsupported { .. } => ErrorCode::InvalidInput,
        }
    }
}

impl ProbeError {
    /// The kind a front end switches on.
    pub fn kind(&self) -> FailureKind {
        match self {
            ProbeError::InvalidRequest { .. } | ProbeError::Cleartext { .. } => {
                FailureKind::InvalidRequest
            }
            ProbeError::Cancelled => FailureKind::Cancelled,
            ProbeError::Resolve { .. } => FailureKind::Resolve,
            ProbeError::Connect { .. } => FailureKind::Connect,
            ProbeError::Timeout { .. } => FailureKind::Timeout,
            ProbeError::PortExpectsStartTls { .. } => FailureKind::PortExpectsStartTls,
            ProbeError::PortExpectsTls { .. } => FailureKind::PortExpectsTls,
            ProbeError::TlsUntrusted { .. } => FailureKind::TlsUntrusted,
            ProbeError::TlsHandshake { .. } | ProbeError::TlsSetup { .. } => {
                FailureKind::TlsHandshake
            }
            ProbeError::StartTls { .. } => FailureKind::StartTls,
            ProbeError::LoginNeedsTls { .. } => FailureKind::LoginNeedsTls,
            ProbeError::MechanismUnsupported { .. } => FailureKind::MechanismUnsupported,
            ProbeError::AuthRejected { .. } => FailureKind::AuthRejected,
            ProbeError::AuthTemporary { .. } => FailureKind::AuthTemporary,
            ProbeError::CommandFailed { .. } => FailureKind::CommandFailed,
            ProbeError::SendFailed { .. } => FailureKind::SendFailed,
            ProbeError::Protocol { .. } => FailureKind::Protocol,
        }
    }

    /// The server's own lines, when the failure came from the server.
    pub fn server_reply(&self) -> Option<&str> {
        match self {
            ProbeError::StartTls { server_reply }
            | ProbeError::LoginNeedsTls { server_reply }
            | ProbeError::MechanismUnsupported { server_reply, .. }
            | ProbeError::AuthRejected { server_reply, .. }
            | ProbeError::AuthTemporary { server_reply, .. }
            | ProbeError::CommandFailed { server_reply, .. }
            | ProbeError::SendFailed { server_reply } => Some(server_reply),
            _ => None,
        }
    }

    /// The decoded login challenge, if the server sent one.
    pub fn challenge(&self) -> Option<&DecodedChallenge> {
        match self {
            ProbeError::AuthRejected { challenge, .. }
            | ProbeError::AuthTemporary { challenge, .. } => challenge.as_deref(),
            _ => None,
        }
    }

    /// The catalog entry that explains this failure: from the server's words when it said
    /// something the catalog knows, else the entry for the kind of failure.
    pub fn diagnosis(&self, ctx: &diagnosis::Context) -> Option<Diagnosis> {
        if let Some(reply) = self.server_reply() {
            if let Some(m) = diagnosis::explain(reply, ctx).matches.into_iter().next() {
                return Some(m.diagnosis);
            }
        }
        let id = match self {
            // With the host, port and role in `ctx` (the report of one server), these name the
            // server that could not be reached instead of listing the usual mail hosts.
            ProbeError::Resolve { .. } => "net-mail-host-unreachable",
            ProbeError::Connect { .. } => "net-mail-host-no-connection",
            ProbeError::Timeout { .. } => "net-connection-failed",
            ProbeError::PortExpectsStartTls { .. } | ProbeError::PortExpectsTls { .. } => {
                "net-tls-mode-mismatch"
            }
            ProbeError::TlsUntrusted { .. } => "net-tls-untrusted-certificate",
            ProbeError::TlsHandshake { .. } => "net-tls-handshake-failed",
            ProbeError::LoginNeedsTls { .. } => "mail-tls-required",
            ProbeError::MechanismUnsupported { .. } => "mail-mechanism-not-supported",
            ProbeError::AuthTemporary { .. } => "mail-temporary-failure",
            ProbeError::Protocol { .. } => "net-reply-broken-off",
            _ => return None,
        };
        diagnosis::entry(id).map(|e| e.diagnosis(ctx))
    }

    fn failure(&self, step: Step, ctx: &diagnosis::Context) -> Failure {
        Failure {
            code: self.code(),
            kind: self.kind(),
            step,
            message: self.to_string(),
            server_reply: self.server_reply().map(str::to_string),
            challenge: self.challenge().cloned(),
            diagnosis: self.diagnosis(ctx),
        }
    }
}

/// Where a check can be cancelled from: the sender side sets `true`.
pub type CancelSignal = tokio::sync::watch::Receiver<bool>;

/// A progress callback, called from both tests as they run.
pub type Progress<'a> = &'a (dyn Fn(ProbeEvent) + Send + Sync);

/// Records the steps of one protocol's test and reports them as they happen.
pub(crate) struct Recorder<'a> {
    protocol: Protocol,
    started: Instant,
    progress: Progress<'a>,
    steps: Vec<StepReport>,
    failed: Option<(Step, ProbeError)>,
}

impl<'a> Recorder<'a> {
    fn new(protocol: Protocol, progress: Progress<'a>) -> Self {
        Self {
            protocol,
            started: Instant::now(),
            progress,
            steps: Vec::new(),
            failed: None,
        }
    }

    fn emit(&self, step: Step, status: StepStatus, detail: &str) {
        (self.progress)(ProbeEvent {
            protocol: self.protocol,
            step,
            status,
            detail: detail.to_string(),
            at_ms: self.started.elapsed().as_millis().min(u32::MAX as u128) as u32,
        });
    }

    /// Runs one step within `limit`; `on_timeout` says what running out of time means here.
    pub(crate) async fn step<T, F>(
        &mut self,
        step: Step,
        limit_ms: u32,
        on_timeout: impl FnOnce() -> ProbeError,
        fut: F,
    ) -> Result<T, ProbeError>
    where
        F: std::future::Future<Output = Result<(T, String), ProbeError>>,
    {
        self.emit(step, StepStatus::Running, "");
        let t0 = Instant::now();
        let res = match tokio::time::timeout(Duration::from_millis(u64::from(limit_ms)), fut).await
        {
            Ok(r) => r,
            Err(_) => Err(on_timeout()),
        };
        let elapsed_ms = t0.elapsed().as_millis().min(u32::MAX as u128) as u32;
        match res {
            Ok((value, detail)) => {
                self.emit(step, StepStatus::Passed, &detail);
                self.steps.push(StepReport {
                    step,
                    status: StepStatus::Passed,
                    detail,
                    elapsed_ms,
                });
                Ok(value)
            }
            Err(e) => {
                let detail = e.to_string();
                self.emit(step, StepStatus::Failed, &detail);
                self.steps.push(StepReport {
                    step,
                    status: StepStatus::Failed,
                    detail,
                    elapsed_ms,
                });
                self.failed = Some((step, e.clone()));
                Err(e)
            }
        }
    }
}

/// What a protocol's test found besides its steps.
#[derive(Default)]
pub(crate) struct Findings {
    address: Option<String>,
    tls: Option<TlsInfo>,
    offers_xoauth2: bool,
    offers_oauthbearer: bool,
    mechanism: Option<SaslMechanism>,
    inbox_messages: Option<u32>,
    test_message_sent: bool,
}

/// What a test needs besides its endpoint.
pub(crate) struct Job<'a> {
    mailbox: &'a str,
    token: &'a Secret<String>,
    mechanism: MechanismChoice,
    trust: &'a tls::Trust,
    source: Option<IpAddr>,
    timeouts: Timeouts,
    send_test_to: Option<&'a str>,
}

impl Job<'_> {
    /// The mechanism to log in with, given what the server offers.
    fn pick(&self, xoauth2: bool, oauthbearer: bool) -> SaslMechanism {
        match self.mechanism {
            MechanismChoice::Xoauth2 => SaslMechanism::Xoauth2,
            MechanismChoice::Oauthbearer => SaslMechanism::Oauthbearer,
            MechanismChoice::Auto if !xoauth2 && oauthbearer => SaslMechanism::Oauthbearer,
            MechanismChoice::Auto => SaslMechanism::Xoauth2,
        }
    }
}

/// The addresses `localhost` stands for, IPv4 first (where local servers usually listen).
const LOCALHOST: [IpAddr; 2] = [
    IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
];

/// Resolves the host and connects to the first address that answers.
pub(crate) async fn resolve_and_connect(
    ep: &Endpoint,
    job: &Job<'_>,
    rec: &mut Recorder<'_>,
    found: &mut Findings,
) -> Result<stream::MailStream, ProbeError> {
    let limit = job.timeouts.connect_ms;
    let host = ep.host.clone();
    let port = ep.port;
    let addrs: Vec<SocketAddr> = rec
        .step(
            Step::Resolve,
            limit,
            || ProbeError::Timeout {
                step: Step::Resolve.label(),
                after_ms: limit,
            },
            async {
                // `localhost` is this machine's loopback and nothing else (RFC 6761): it is
                // not looked up, so a hosts file or resolver cannot send a login allowed only
                // for loopback (no encryption) elsewhere.
                let resolved: Vec<SocketAddr> = if host.eq_ignore_ascii_case("localhost") {
                    LOCALHOST
                        .iter()
                        .map(|ip| SocketAddr::new(*ip, port))
                        .collect()
                } else {
                    tokio::net::lookup_host((host.as_str(), port))
                        .await
                        .map_err(|e| ProbeError::Resolve {
                            host: host.clone(),
                            message: e.to_string(),
                        })?
                        .collect()
                };
                let addrs: Vec<SocketAddr> = resolved
                    .into_iter()
                    // With a source address only its family can connect.
                    .filter(|a| job.source.is_none_or(|s| s.is_ipv4() == a.is_ipv4()))
                    .collect();
                if addrs.is_empty() {
                    return Err(ProbeError::Resolve {
                        host: host.clone(),
                        message: "no address of a usable family".into(),
                    });
                }
                let list = addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                Ok((addrs, format!("{host} is {list}")))
            },
        )
        .await?;
    let all = addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let source = job.source;
    let (tcp, peer) = rec
        .step(
            Step::Connect,
            limit.saturating_mul(u32::try_from(addrs.len()).unwrap_or(u32::MAX)),
            || ProbeError::Timeout {
                step: Step::Connect.label(),
                after_ms: limit,
            },
            async {
                let mut last = String::new();
                for addr in &addrs {
                    match connect_one(*addr, source, limit).await {
                        Ok(tcp) => {
                            let from = tcp
                                .local_addr()
                                .map(|a| format!(" from {}", a.ip()))
                                .unwrap_or_default();
                            return Ok(((tcp, *addr), format!("{addr} answered{from}")));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(ProbeError::Connect {
                    addresses: all.clone(),
                    message: last,
                })
            },
        )
        .await?;
    found.address = Some(peer.to_string());
    Ok(stream::MailStream::plain(tcp, peer))
}

async fn connect_one(
    addr: SocketAddr,
    source: Option<IpAddr>,
    limit_ms: u32,
) -> Result<TcpStream, String> {
    let fut = async {
        match source {
            None => TcpStream::connect(addr).await,
            Some(ip) => {
                let sock = if addr.is_ipv4() {
                    TcpSocket::new_v4()?
                } else {
                    TcpSocket::new_v6()?
                };
                sock.bind(SocketAddr::new(ip, 0))?;
                sock.connect(addr).await
            }
        }
    };
    match tokio::time::timeout(Duration::from_millis(u64::from(limit_ms)), fut).await {
        Ok(Ok(tcp)) => Ok(tcp),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {limit_ms} ms")),
    }
}

/// Runs the TLS handshake on the stream's TCP connection and records what it showed.
pub(crate) async fn handshake(
    s: &mut stream::MailStream,
    ep: &Endpoint,
    job: &Job<'_>,
    rec: &mut Recorder<'_>,
    found: &mut Findings,
) -> Result<(), ProbeError> {
    use tokio_rustls::rustls::pki_types::ServerName;
    let limit = job.timeouts.tls_ms;
    let (config, seen) = job.trust.connection()?;
    let name = ServerName::try_from(ep.host.clone()).map_err(|_| ProbeError::InvalidRequest {
        field: "host",
        fix: "give a host name or an IP address",
    })?;
    let port = ep.port;
    let Some(tcp) = s.take_tcp() else {
        return Err(ProbeError::Protocol {
            message: "TLS was started twice on one connection".into(),
        });
    };
    let result = rec
        .step(
            Step::Tls,
            limit,
            || ProbeError::Timeout {
                step: Step::Tls.label(),
                after_ms: limit,
            },
            async {
                match tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                {
                    Ok(tls) => {
                        let (_, conn) = tls.get_ref();
                        let version = conn.protocol_version().map(tls::version_label);
                        let leaf = conn
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| c.to_vec())
                            .unwrap_or_default();
                        let pinned = seen.get().is_some_and(|(_, p)| p);
                        let info = tls::info(&leaf, version.as_deref(), pinned);
                        let detail = format!(
                            "{} with {}{}",
                            info.version.as_deref().unwrap_or("TLS"),
                            info.subject,
                            if pinned { " (pinned)" } else { "" }
                        );
                        Ok(((tls, info), detail))
                    }
                    Err(e) => Err(classify_tls_error(&e, port)),
                }
            },
        )
        .await;
    match result {
        Ok((tls, info)) => {
            found.tls = Some(info);
            s.set_tls(tls);
            Ok(())
        }
        Err(e) => {
            if let Some((der, pinned)) = seen.get() {
                found.tls = Some(tls::info(&der, None, pinned));
            }
            Err(e)
        }
    }
}

/// No greeting in time: on a port spoken to in plain text first, that silence means the port
/// waits for a TLS handshake (implicit TLS); otherwise it is a plain timeout.
pub(crate) fn greeting_timeout(plain_first: bool, port: u16, after_ms: u32) -> ProbeError {
    if plain_first {
        ProbeError::PortExpectsTls { port, after_ms }
    } else {
        ProbeError::Timeout {
            step: Step::Greeting.label(),
            after_ms,
        }
    }
}

fn classify_tls_error(e: &std::io::Error, port: u16) -> ProbeError {
    use tokio_rustls::rustls::Error as TlsError;
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<TlsError>())
        .cloned();
    match inner {
        Some(TlsError::InvalidCertificate(c)) => ProbeError::TlsUntrusted {
            message: format!("{c:?}"),
        },
        Some(TlsError::General(m)) if m == tls::PIN_MISMATCH => {
            ProbeError::TlsUntrusted { message: m }
        }
        // A plain-text greeting read as a TLS record: the port speaks plain text first.
        Some(TlsError::InvalidMessage(_)) => ProbeError::PortExpectsStartTls { port },
        Some(other) => ProbeError::TlsHandshake {
            message: other.to_string(),
        },
        None => ProbeError::TlsHandshake {
            message: e.to_string(),
        },
    }
}

/// The server's lines since the last mark, scrubbed, or `what` when it said nothing.
pub(crate) fn reply(tap: &stream::TapHandle, what: &str) -> String {
    let seen = tap.since_mark();
    if seen.is_empty() {
        what.to_string()
    } else {
        diagnosis::scrub(&seen)
    }
}

/// The decoded challenge in a scrubbed server reply, if any.
pub(crate) fn decode_challenge(reply: &str) -> Option<Box<DecodedChallenge>> {
    diagnosis::decode_challenges(reply)
        .into_iter()
        .next()
        .map(Box::new)
}

impl Recorder<'_> {
    fn finish(self, ep: &Endpoint, found: Findings, ctx: &diagnosis::Context) -> ProtocolReport {
        // The server this report is about, so a diagnosis can name it.
        let ctx = diagnosis::Context {
            host: Some(ep.host.clone()),
            host_role: Some(match self.protocol {
                Protocol::Smtp => diagnosis::HostRole::Smtp,
                Protocol::Imap => diagnosis::HostRole::Imap,
            }),
            port: Some(ep.port),
            ..ctx.clone()
        };
        let failure = self.failed.as_ref().map(|(step, e)| e.failure(*step, &ctx));
        ProtocolReport {
            protocol: self.protocol,
            endpoint: ep.clone(),
            ok: failure.is_none(),
            steps: self.steps,
            address: found.address,
            tls: found.tls,
            offers_xoauth2: found.offers_xoauth2,
            offers_oauthbearer: found.offers_oauthbearer,
            mechanism: found.mechanism,
            inbox_messages: found.inbox_messages,
            test_message_sent: found.test_message_sent,
            failure,
            elapsed_ms: self.started.elapsed().as_millis().min(u32::MAX as u128) as u32,
        }
    }

    /// Records an error that happened outside any step (cancellation).
    fn fail_outside(&mut self, step: Step, e: ProbeError) {
        if self.failed.is_none() {
            self.emit(step, StepStatus::Failed, &e.to_string());
            self.steps.push(StepReport {
                step,
                status: StepStatus::Failed,
                detail: e.to_string(),
                elapsed_ms: 0,
            });
            self.failed = Some((step, e));
        }
    }
}

async fn cancelled(cancel: &CancelSignal) {
    let mut c = cancel.clone();
    if c.wait_for(|v| *v).await.is_err() {
        // The sender is gone: nobody can cancel any more.
        std::future::pending::<()>().await;
    }
}

async fn run_protocol(
    protocol: Protocol,
    ep: &Endpoint,
    job: &Job<'_>,
    progress: Progress<'_>,
    cancel: &CancelSignal,
    ctx: &diagnosis::Context,
) -> ProtocolReport {
    let mut rec = Recorder::new(protocol, progress);
    let mut found = Findings::default();
    let done = {
        let test = async {
            match protocol {
                Protocol::Smtp => smtp::run(ep, job, &mut rec, &mut found).await,
                Protocol::Imap => imap::run(ep, job, &mut rec, &mut found).await,
            }
        };
        tokio::select! {
            r = test => Some(r),
            _ = cancelled(cancel) => None,
        }
    };
    if done.is_none() {
        let step = rec.steps.last().map_or(Step::Resolve, |s| s.step);
        rec.fail_outside(step, ProbeError::Cancelled);
    }
    rec.finish(ep, found, ctx)
}

/// Tests the SMTP and IMAP logins of `req` with `token`, both at the same time.
///
/// Every step is reported through `progress` as it starts and ends; the report holds the same
/// steps with timings, and each failure with the server's words and its diagnosis. Setting the
/// cancel signal to `true` ends both tests at once.
pub async fn check(
    req: &CheckRequest,
    token: &Secret<String>,
    progress: Progress<'_>,
    cancel: &CancelSignal,
) -> CheckReport {
    let started = Instant::now();
    let ctx = diagnosis::Context {
        mailbox: Some(req.mailbox.clone()),
        ..Default::default()
    };
    let fail = |e: ProbeError| CheckReport {
        ok: false,
        mailbox: req.mailbox.clone(),
        smtp: None,
        imap: None,
        failure: Some(e.failure(Step::Resolve, &ctx)),
        elapsed_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
    };
    if let Err(e) = validate(req) {
        return fail(e);
    }
    let source = match req.source_address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match s.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                return fail(ProbeError::InvalidRequest {
                    field: "source address",
                    fix: "give an IP address of this machine, e.g. 192.0.2.10, or leave it empty",
                })
            }
        },
    };
    let trust = match tls::Trust::new(&req.tls) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let job = Job {
        mailbox: req.mailbox.trim(),
        token,
        mechanism: req.mechanism,
        trust: &trust,
        source,
        timeouts: req.timeouts,
        send_test_to: req.send_test_to.as_deref().map(str::trim),
    };
    let smtp = async {
        match &req.smtp {
            Some(ep) => Some(run_protocol(Protocol::Smtp, ep, &job, progress, cancel, &ctx).await),
            None => None,
        }
    };
    let imap = async {
        match &req.imap {
            Some(ep) => Some(run_protocol(Protocol::Imap, ep, &job, progress, cancel, &ctx).await),
            None => None,
        }
    };
    let (smtp, imap) = tokio::join!(smtp, imap);
    for r in smtp.iter().chain(imap.iter()) {
        match &r.failure {
            None => tracing::info!(
                protocol = r.protocol.label(),
                server = %format!("{}:{}", r.endpoint.host, r.endpoint.port),
                mailbox = %req.mailbox,
                elapsed_ms = r.elapsed_ms,
                "login test passed"
            ),
            Some(f) => tracing::warn!(
                protocol = r.protocol.label(),
                server = %format!("{}:{}", r.endpoint.host, r.endpoint.port),
                mailbox = %req.mailbox,
                step = f.step.label(),
                diagnosis = f.diagnosis.as_ref().map(|d| d.id.as_str()).unwrap_or("-"),
                server_reply = f.server_reply.as_deref().unwrap_or("-"),
                "login test failed: {}",
                f.message
            ),
        }
    }
    CheckReport {
        ok: smtp.iter().chain(imap.iter()).all(|r| r.ok),
        mailbox: req.mailbox.clone(),
        smtp,
        imap,
        failure: None,
        elapsed_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
    }
}

fn validate(req: &CheckRequest) -> Result<(), ProbeError> {
    let mailbox = req.mailbox.trim();
    let ok_address = |s: &str| {
        let mut p = s.split('@');
        matches!((p.next(), p.next(), p.next()), (Some(l), Some(d), None) if !l.is_empty() && !d.is_empty())
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    };
    if !ok_address(mailbox) {
        return Err(ProbeError::InvalidRequest {
            field: "mailbox",
            fix: "give the mailbox the token belongs to, e.g. scanner@contoso.com",
        });
    }
    if let Some(to) = &req.send_test_to {
        if !ok_address(to.trim()) {
            return Err(ProbeError::InvalidRequest {
                field: "test message recipient",
                fix: "give one email address, e.g. it@contoso.com",
            });
        }
    }
    if req.smtp.is_none() && req.imap.is_none() {
        return Err(ProbeError::InvalidRequest {
            field: "servers",
            fix: "give an SMTP server, an IMAP server, or both",
        });
    }
    for ep in req.smtp.iter().chain(req.imap.iter()) {
        if ep.host.trim().is_empty()
            || ep.port == 0
            || ep.host.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ProbeError::InvalidRequest {
                field: "server",
                fix: "give a host name without spaces and a port between 1 and 65535",
            });
        }
    }
    // The token must never travel in clear text to another machine: refused before anything
    // resolves or connects, whatever the front end let through.
    for (field, protocol, ep) in [
        ("SMTP server", MailProtocol::Smtp, &req.smtp),
        ("IMAP server", MailProtocol::Imap, &req.imap),
    ] {
        if let Some(ep) = ep {
            crate::validate::input::check_cleartext(protocol, &ep.host, ep.port, ep.security)
                .map_err(|refused| ProbeError::Cleartext { field, refused })?;
        }
    }
    let t = req.timeouts;
    if [t.connect_ms, t.greeting_ms, t.tls_ms, t.command_ms]
        .iter()
        .any(|v| *v == 0 || *v > 600_000)
    {
        return Err(ProbeError::InvalidRequest {
            field: "timeouts",
            fix: "give each time limit between 1 ms and 600000 ms (10 minutes)",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
