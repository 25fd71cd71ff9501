//! What went wrong in a test: [`ProbeError`], its kind, the server's words and its diagnosis.

use super::{Failure, FailureKind, Step};
use crate::diagnosis::{self, DecodedChallenge, Diagnosis};
use crate::error::{Coded, ErrorCode};

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

    pub(crate) fn failure(&self, step: Step, ctx: &diagnosis::Context) -> Failure {
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
