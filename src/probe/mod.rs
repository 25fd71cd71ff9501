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

mod error;
mod imap;
mod report;
mod request;
mod smtp;
mod stream;
mod tls;

pub use error::ProbeError;
pub use report::{
    CheckReport, Failure, FailureKind, ProbeEvent, Protocol, ProtocolReport, Step, StepReport,
    StepStatus, TlsInfo,
};
pub use request::{CheckRequest, Endpoint, MechanismChoice, OutgoingMessage, Timeouts, TlsTrust};

use crate::diagnosis::{self, DecodedChallenge};
use crate::provider::{MailProtocol, SaslMechanism};
use crate::secret::Secret;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

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
    /// A message to send after the login, instead of the test message.
    message: Option<&'a OutgoingMessage>,
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

async fn run_protocol(
    protocol: Protocol,
    ep: &Endpoint,
    job: &Job<'_>,
    progress: Progress<'_>,
    cancel: &CancellationToken,
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
            _ = cancel.cancelled() => None,
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
/// steps with timings, and each failure with the server's words and its diagnosis. Cancelling
/// `cancel` ends both tests at once (the same token type the OAuth flows stop on).
pub async fn check(
    req: &CheckRequest,
    token: &Secret<String>,
    progress: Progress<'_>,
    cancel: &CancellationToken,
) -> CheckReport {
    check_and_send(req, token, progress, cancel, None).await
}

/// Logs in to `req`'s SMTP server with `token` (every step as [`check`] does it, with the same
/// diagnoses) and sends `message` from the mailbox. The IMAP server of `req`, if any, is not
/// touched. The service sends its notices to the admin this way: one SMTP client for the check
/// and the notices.
pub async fn send_message(
    req: &CheckRequest,
    token: &Secret<String>,
    message: &OutgoingMessage,
    cancel: &CancellationToken,
) -> CheckReport {
    let req = CheckRequest {
        imap: None,
        send_test_to: None,
        ..req.clone()
    };
    check_and_send(&req, token, &|_| {}, cancel, Some(message)).await
}

async fn check_and_send(
    req: &CheckRequest,
    token: &Secret<String>,
    progress: Progress<'_>,
    cancel: &CancellationToken,
    message: Option<&OutgoingMessage>,
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
        message,
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
