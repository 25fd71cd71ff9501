//! What a check reports: the protocols and steps, live progress events, the TLS handshake, each
//! failure and the whole report.

use super::Endpoint;
use crate::diagnosis::{DecodedChallenge, Diagnosis};
use crate::error::ErrorCode;
use crate::provider::SaslMechanism;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
