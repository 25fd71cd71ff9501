//! The loopback listener of the authorization code flow (RFC 8252 section 7.3).
//!
//! It binds `127.0.0.1` on a port the OS picks (or the fixed ports a Web-type client registered),
//! falling back to `[::1]`, and answers exactly one matching redirect: stray requests (favicon,
//! other paths, other sign-ins' `state`) get an error page and the wait goes on. The port is
//! closed as soon as the redirect arrived; the browser's page is written once the tokens are
//! checked and saved, so the user sees the real outcome.
//!
//! Other local programs can reach the port too, so it is bounded: each connection is read in its
//! own task, for at most [`READ_TIMEOUT`] and [`MAX_REQUEST`] bytes, and at most
//! [`MAX_CONNECTIONS`] are read at once (a new one evicts the oldest slow one). Slow, oversized or
//! flooding clients therefore cannot delay the browser's redirect nor grow the memory used.

use super::error::{Endpoint, OAuthError, ProviderReply};
use super::FlowEvent;
use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// How the listener binds and how long it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackOptions {
    /// Ports to try in order; empty lets the OS pick one (what native clients should do).
    pub ports: Vec<u16>,
    /// How long to wait for the browser.
    pub timeout: Duration,
    /// The redirect path (`/` unless the client registered another).
    pub path: String,
    /// The host name in the redirect URI when it must be `localhost` (Entra's desktop
    /// registration); `None` uses the bound IP literal, as RFC 8252 section 7.3 recommends.
    pub host: Option<String>,
}

impl Default for LoopbackOptions {
    fn default() -> Self {
        Self {
            ports: Vec::new(),
            timeout: Duration::from_secs(300),
            path: String::from("/"),
            host: None,
        }
    }
}

/// Longest request head read from the browser; the rest of a longer request is never read.
pub const MAX_REQUEST: usize = 16 * 1024;
/// How long one connection may take to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections read at the same time. When another arrives, the oldest that sent only part of
/// its request is dropped (else the oldest, once it had [`SEND_GRACE`] to send anything; until
/// then new connections wait in the OS's queue): a browser sends its request at once, so only
/// stalled or silent clients lose their place, and the
/// listener's memory stays below `MAX_CONNECTIONS * (MAX_REQUEST + 2 KiB)` whatever arrives.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a new connection that sent nothing yet keeps its place when the listener is full.
pub const SEND_GRACE: Duration = Duration::from_millis(200);
/// Ignored requests reported as [`FlowEvent::RedirectIgnored`]; more are answered but not
/// reported, so a flood cannot fill the CLI's output or the wizard's event list.
pub const MAX_REPORTED: usize = 20;

/// A bound listener, waiting for its redirect.
pub struct Listener {
    listener: TcpListener,
    redirect_uri: String,
    path: String,
}

/// The redirect that carried the code; the browser waits for [`PendingReply::finish`].
pub struct Callback {
    /// The authorization code.
    pub code: String,
    /// The browser's open connection.
    pub reply: PendingReply,
}

/// The browser connection of the accepted redirect.
pub struct PendingReply {
    stream: TcpStream,
}

impl PendingReply {
    /// Shows the user the outcome: `Ok(message)` or `Err(message)`.
    pub async fn finish(mut self, outcome: Result<&str, &str>) {
        let (status, title, text) = match outcome {
            Ok(t) => ("200 OK", "Signed in", t),
            Err(t) => ("400 Bad Request", "Sign-in failed", t),
        };
        respond(&mut self.stream, status, title, text).await;
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The whole HTTP response the browser gets: status line, headers and a small HTML page with
/// `title` and `text` escaped, so nothing from a request can add markup to it.
pub fn page(status: &str, title: &str, text: &str) -> String {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mailoauth: {t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\"><h1>{t}</h1><p>{x}</p>\
         <p>You can close this window and return to mailoauth.</p></body></html>",
        t = escape(title),
        x = escape(text).replace('\n', "<br>")
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn respond(stream: &mut TcpStream, status: &str, title: &str, text: &str) {
    // The browser may already be gone; the flow's outcome does not depend on this write.
    let _ = stream.write_all(page(status, title, text).as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Binds the listener; the error says why and what to do instead.
pub async fn bind(opts: &LoopbackOptions) -> Result<Listener, OAuthError> {
    let path = if opts.path.starts_with('/') {
        opts.path.clone()
    } else {
        format!("/{}", opts.path)
    };
    let ports: Vec<u16> = if opts.ports.is_empty() {
        vec![0]
    } else {
        opts.ports.clone()
    };
    let mut last: Option<(SocketAddr, std::io::Error)> = None;
    for host in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        for &port in &ports {
            let addr = SocketAddr::new(host, port);
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    let local = listener.local_addr().map_err(|e| OAuthError::Bind {
                        address: addr.to_string(),
                        detail: e.to_string(),
                    })?;
                    let host = match (&opts.host, local.ip()) {
                        (Some(name), _) => name.clone(),
                        (None, IpAddr::V4(ip)) => ip.to_string(),
                        (None, IpAddr::V6(ip)) => format!("[{ip}]"),
                    };
                    return Ok(Listener {
                        listener,
                        redirect_uri: format!("http://{host}:{}{path}", local.port()),
                        path,
                    });
                }
                Err(e) => last = Some((addr, e)),
            }
        }
        // IPv4 loopback works but the ports are taken: IPv6 would not help, and for a fixed port
        // its redirect URI is not the registered one.
        if matches!(&last, Some((_, e)) if e.kind() == std::io::ErrorKind::AddrInUse) {
            break;
        }
    }
    let (addr, e) = last.unwrap_or_else(|| {
        (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            std::io::Error::other("no address to bind"),
        )
    });
    Err(OAuthError::Bind {
        address: addr.to_string(),
        detail: e.to_string(),
    })
}

/// The redirect URI when no listener runs: the fixed port if one was asked for, else none.
pub fn unbound_redirect_uri(opts: &LoopbackOptions) -> String {
    let host = opts.host.as_deref().unwrap_or("127.0.0.1");
    let path = if opts.path.starts_with('/') {
        opts.path.clone()
    } else {
        format!("/{}", opts.path)
    };
    match opts.ports.first() {
        Some(port) => format!("http://{host}:{port}{path}"),
        None => format!("http://{host}{path}"),
    }
}

/// The code from an address the user pasted, with the same checks the listener makes.
pub fn parse_pasted<'a>(
    text: &str,
    redirect_uri: &str,
    state: &str,
    issuer: impl Into<IssuerCheck<'a>>,
) -> Result<String, OAuthError> {
    let issuer = issuer.into();
    let bad = |problem: &str| OAuthError::Config {
        field: "pasted address",
        problem: problem.to_string(),
    };
    let url = url::Url::parse(text.trim()).map_err(|_| {
        bad("not an address: copy the whole address from the browser's address bar")
    })?;
    let expected = url::Url::parse(redirect_uri).map_err(|_| bad("the redirect URI is invalid"))?;
    if url.path() != expected.path() || url.host_str() != expected.host_str() {
        return Err(bad("this is not the page the sign-in ended on: copy the address of the page that did not load"));
    }
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    match redirect_outcome(&params, state, issuer) {
        RedirectOutcome::OtherSignIn => Err(OAuthError::StateMismatch),
        RedirectOutcome::Failed(e) => Err(e),
        RedirectOutcome::Code(code) if !code.is_empty() => Ok(code),
        RedirectOutcome::Code(_) => Err(bad(
            "the address carries no code: finish the sign-in first, then copy the address",
        )),
    }
}

/// What the query parameters of a redirect mean for the sign-in waiting with `state`.
#[derive(Debug)]
pub enum RedirectOutcome {
    /// The `state` is missing or another sign-in's: not this sign-in's redirect.
    OtherSignIn,
    /// This sign-in failed: the provider's `error`, or an `iss` that is not the expected issuer.
    Failed(OAuthError),
    /// The authorization code (empty when the redirect carried `code=` without a value).
    Code(String),
}

/// What RFC 9207 asks of a redirect's `iss` parameter. `Option<&str>` converts to it: `None` is
/// [`IssuerCheck::Unknown`], `Some(issuer)` is [`IssuerCheck::IfPresent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerCheck<'a> {
    /// No issuer is known: `iss` is not looked at.
    Unknown,
    /// The provider does not send `iss` (or does not say that it does): checked against this
    /// issuer when present, its absence accepted.
    IfPresent(&'a str),
    /// The provider sends `iss` in every authorization response (its metadata says
    /// `authorization_response_iss_parameter_supported`, or its profile says so): a redirect
    /// without it is refused, like one naming another issuer (a mix-up attack).
    Required(&'a str),
}

impl<'a> From<Option<&'a str>> for IssuerCheck<'a> {
    fn from(issuer: Option<&'a str>) -> Self {
        issuer.map_or(IssuerCheck::Unknown, IssuerCheck::IfPresent)
    }
}

/// Checks a redirect's query parameters: `state` first, then `iss` against the issuer as `issuer`
/// says (RFC 9207), then the provider's `error`, then the `code`. The first occurrence of a
/// repeated parameter counts.
pub fn redirect_outcome<'a>(
    params: &[(String, String)],
    state: &str,
    issuer: impl Into<IssuerCheck<'a>>,
) -> RedirectOutcome {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("state") != Some(state) {
        return RedirectOutcome::OtherSignIn;
    }
    let (expected, required) = match issuer.into() {
        IssuerCheck::Unknown => (None, false),
        IssuerCheck::IfPresent(i) => (Some(i), false),
        IssuerCheck::Required(i) => (Some(i), true),
    };
    match (expected, get("iss")) {
        (Some(expected), Some(got))
            if expected.trim_end_matches('/') != got.trim_end_matches('/') =>
        {
            return RedirectOutcome::Failed(OAuthError::IssuerMismatch {
                expected: expected.into(),
                got: got.into(),
            });
        }
        (Some(expected), None) if required => {
            return RedirectOutcome::Failed(OAuthError::IssuerMissing {
                expected: expected.into(),
            });
        }
        _ => {}
    }
    if let Some(error) = get("error") {
        return RedirectOutcome::Failed(OAuthError::Provider(Box::new(ProviderReply::new(
            Endpoint::Authorization,
            error,
            get("error_description"),
            None,
        ))));
    }
    RedirectOutcome::Code(get("code").unwrap_or_default().to_string())
}

/// What one request to the listener was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Not the redirect; answered with this status and text.
    Stray(&'static str, String),
    /// The redirect: its query parameters.
    Redirect(Vec<(String, String)>),
}

/// Parses the head of one request the browser sent to the listener (what arrived up to the blank
/// line, at most [`MAX_REQUEST`] bytes) against the redirect `path`. `None` for a request that
/// is not HTTP at all; it is dropped without an answer.
pub fn parse_request(head: &[u8], path: &str) -> Option<Request> {
    let head = String::from_utf8_lossy(head);
    let mut parts = head.lines().next()?.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    if method != "GET" {
        return Some(Request::Stray(
            "405 Method Not Allowed",
            format!("{method} is not the sign-in redirect"),
        ));
    }
    let url = url::Url::parse(&format!("http://loopback{target}")).ok()?;
    if url.path() != path {
        return Some(Request::Stray(
            "404 Not Found",
            format!("{} is not the sign-in redirect", url.path()),
        ));
    }
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let has = |k: &str| params.iter().any(|(n, _)| n == k);
    if !has("code") && !has("error") {
        return Some(Request::Stray(
            "404 Not Found",
            String::from("a request without code or error is not the sign-in redirect"),
        ));
    }
    Some(Request::Redirect(params))
}

/// Reads and classifies one request; `partial` is set while only part of its head has come.
async fn read_request(stream: &mut TcpStream, path: &str, partial: &AtomicBool) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let read = async {
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return Some(());
            }
            // Only the new bytes (and the 3 before them) can complete the blank line: scanning
            // the whole buffer again would make a one-byte-at-a-time client quadratic.
            let from = buf.len().saturating_sub(3);
            buf.extend_from_slice(&chunk[..n]);
            if buf[from..].windows(4).any(|w| w == b"\r\n\r\n") || buf.len() > MAX_REQUEST {
                return Some(());
            }
            partial.store(true, Ordering::Relaxed);
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read).await.ok()??;
    parse_request(&buf, path)
}

/// What one connection turned out to be, once read (and a stray answered).
enum Seen {
    /// Closed, timed out or unreadable; or already answered.
    Nothing,
    /// Not the redirect; answered, with this reason.
    Stray(String),
    /// A redirect (`code` or `error`): the open connection and the query parameters.
    Redirect(TcpStream, Vec<(String, String)>),
}

/// Reads one connection; strays are answered here, in the connection's own task. `partial` is
/// set while bytes arrived that did not complete the request head: such a slow client is
/// evicted before connections that have not been read yet.
async fn read_one(mut stream: TcpStream, path: String, partial: Arc<AtomicBool>) -> Seen {
    match read_request(&mut stream, &path, &partial).await {
        None => Seen::Nothing,
        Some(Request::Stray(status, why)) => {
            let _ = tokio::time::timeout(
                READ_TIMEOUT,
                respond(&mut stream, status, "Not found", &why),
            )
            .await;
            Seen::Stray(why)
        }
        Some(Request::Redirect(params)) => Seen::Redirect(stream, params),
    }
}

/// The connections being read, oldest first.
#[derive(Default)]
struct Conns {
    tasks: JoinSet<Seen>,
    live: VecDeque<Live>,
}

/// One connection's task.
struct Live {
    task: AbortHandle,
    /// It sent part of a request and waits for the rest (or is being answered).
    partial: Arc<AtomicBool>,
    accepted: tokio::time::Instant,
}

impl Conns {
    /// Reads `stream` in a task of its own.
    fn read(&mut self, stream: TcpStream, path: &str) {
        let partial = Arc::new(AtomicBool::new(false));
        let task = self
            .tasks
            .spawn(read_one(stream, path.to_string(), partial.clone()));
        self.live.push_back(Live {
            task,
            partial,
            accepted: tokio::time::Instant::now(),
        });
    }

    /// Runs `task` for a connection (answering it).
    fn add(&mut self, task: impl Future<Output = Seen> + Send + 'static) {
        let task = self.tasks.spawn(task);
        self.live.push_back(Live {
            task,
            partial: Arc::new(AtomicBool::new(false)),
            accepted: tokio::time::Instant::now(),
        });
    }

    /// Makes room for one more connection, evicting the oldest slow client, else the oldest
    /// connection once it had [`SEND_GRACE`] to send its request. `None` when there is room,
    /// else the moment the oldest may be evicted.
    fn make_room(&mut self) -> Option<tokio::time::Instant> {
        self.live.retain(|l| !l.task.is_finished());
        if self.live.len() < MAX_CONNECTIONS {
            return None;
        }
        let victim = match self
            .live
            .iter()
            .position(|l| l.partial.load(Ordering::Relaxed))
        {
            Some(at) => at,
            None => {
                let until = self.live.front()?.accepted + SEND_GRACE;
                if until > tokio::time::Instant::now() {
                    return Some(until);
                }
                0
            }
        };
        if let Some(l) = self.live.remove(victim) {
            l.task.abort();
        }
        None
    }
}

impl Listener {
    /// The redirect URI to send to the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The bound address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Waits for the redirect of the sign-in with `state`, checking `iss` as `issuer` says
    /// (RFC 9207). Closes the port before returning.
    pub async fn wait(
        self,
        state: &str,
        issuer: IssuerCheck<'_>,
        timeout: Duration,
        cancel: &CancellationToken,
        events: &(dyn Fn(FlowEvent) + Send + Sync),
    ) -> Result<Callback, OAuthError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut saw_wrong_state = false;
        let mut reported = 0;
        let mut report = |reason: String| {
            if reported < MAX_REPORTED {
                reported += 1;
                events(FlowEvent::RedirectIgnored { reason });
            }
        };
        // Every connection is read in its own task, so a slow or silent client cannot hold up
        // the browser's redirect.
        let mut conns = Conns::default();
        loop {
            // When full, new connections wait in the OS's queue until a slot frees or the oldest
            // connection may be evicted.
            let full_until = conns.make_room();
            let seen = tokio::select! {
                accepted = self.listener.accept(), if full_until.is_none() => {
                    match accepted {
                        Ok((stream, _)) => {
                            conns.read(stream, &self.path);
                            // Let the new task read what already arrived before the next accept.
                            tokio::task::yield_now().await;
                        }
                        // Out of file descriptors and the like: wait instead of spinning.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(full_until.unwrap_or(deadline)), if full_until.is_some() => continue,
                Some(done) = conns.tasks.join_next(), if !conns.tasks.is_empty() => match done {
                    Ok(seen) => seen,
                    // Evicted.
                    Err(_) => continue,
                },
                _ = cancel.cancelled() => return Err(OAuthError::Cancelled),
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(if saw_wrong_state { OAuthError::StateMismatch } else {
                        OAuthError::Timeout { seconds: timeout.as_secs() }
                    });
                }
            };
            let (mut stream, params) = match seen {
                Seen::Nothing => continue,
                Seen::Stray(why) => {
                    report(why);
                    continue;
                }
                Seen::Redirect(stream, params) => (stream, params),
            };
            let code = match redirect_outcome(&params, state, issuer) {
                RedirectOutcome::OtherSignIn => {
                    saw_wrong_state = true;
                    report(String::from("the redirect carries another sign-in's state (an old tab?): ignored, still waiting for this sign-in"));
                    conns.add(async move {
                        let text = "This page belongs to a different or older sign-in (state mismatch). Finish the sign-in in the window mailoauth opened last.";
                        let _ = tokio::time::timeout(
                            READ_TIMEOUT,
                            respond(&mut stream, "400 Bad Request", "Not this sign-in", text),
                        )
                        .await;
                        Seen::Nothing
                    });
                    continue;
                }
                RedirectOutcome::Failed(OAuthError::Provider(reply)) => {
                    let mut text = format!(
                        "The provider answered {}{}.",
                        reply.error,
                        reply
                            .description
                            .as_deref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    );
                    if let Some(entry) =
                        reply.diagnosis.as_deref().and_then(crate::diagnosis::entry)
                    {
                        let d = entry.diagnosis(&Default::default());
                        text.push_str(&format!(
                            "\n\n{}\n{}\nFix: {}",
                            d.title,
                            d.cause,
                            d.fix.join(" ")
                        ));
                    }
                    respond(&mut stream, "400 Bad Request", "Sign-in failed", &text).await;
                    return Err(OAuthError::Provider(reply));
                }
                RedirectOutcome::Failed(e) => {
                    respond(
                        &mut stream,
                        "400 Bad Request",
                        "Sign-in failed",
                        &e.to_string(),
                    )
                    .await;
                    return Err(e);
                }
                RedirectOutcome::Code(code) => code,
            };
            // Dropping the listener here closes the port before the code is even exchanged.
            drop(self.listener);
            return Ok(Callback {
                code,
                reply: PendingReply { stream },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(uri: &str) -> String {
        let url = url::Url::parse(uri).unwrap();
        let mut s = TcpStream::connect((
            url.host_str().unwrap().trim_matches(['[', ']']),
            url.port().unwrap(),
        ))
        .await
        .unwrap();
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn stray_requests_and_wrong_state_do_not_consume_the_flow() {
        let l = bind(&LoopbackOptions::default()).await.unwrap();
        let base = l.redirect_uri().to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let b = base.clone();
        let browser = tokio::spawn(async move {
            let fav = get(&format!("{}favicon.ico", b)).await;
            let wrong = get(&format!("{b}?code=c1&state=other")).await;
            let right = get(&format!("{b}?code=c2&state=s1&iss=http%3A%2F%2Fop")).await;
            (fav, wrong, right)
        });
        let cb = l
            .wait(
                "s1",
                IssuerCheck::IfPresent("http://op"),
                Duration::from_secs(10),
                &CancellationToken::new(),
                &|_| {},
            )
            .await
            .unwrap();
        assert_eq!(cb.code, "c2");
        cb.reply.finish(Ok("done")).await;
        let (fav, wrong, right) = browser.await.unwrap();
        assert!(fav.starts_with("HTTP/1.1 404"), "{fav}");
        assert!(
            wrong.starts_with("HTTP/1.1 400") && wrong.contains("state mismatch"),
            "{wrong}"
        );
        assert!(
            right.starts_with("HTTP/1.1 200") && right.contains("done"),
            "{right}"
        );
        assert!(
            TcpStream::connect(base.trim_start_matches("http://").trim_end_matches('/'))
                .await
                .is_err(),
            "port closed"
        );
    }

    #[tokio::test]
    async fn error_reply_wrong_issuer_timeout_and_cancel() {
        let l = bind(&LoopbackOptions::default()).await.unwrap();
        let b = l.redirect_uri().to_string();
        let page =
            tokio::spawn(async move { get(&format!("{b}?error=access_denied&state=s")).await });
        let e = l
            .wait(
                "s",
                IssuerCheck::Unknown,
                Duration::from_secs(10),
                &CancellationToken::new(),
                &|_| {},
            )
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&e, OAuthError::Provider(r) if r.error == "access_denied"),
            "{e}"
        );
        assert!(page.await.unwrap().contains("access_denied"));

        let l = bind(&LoopbackOptions::default()).await.unwrap();
        let b = l.redirect_uri().to_string();
        tokio::spawn(
            async move { get(&format!("{b}?code=x&state=s&iss=https%3A%2F%2Fevil")).await },
        );
        let e = l
            .wait(
                "s",
                IssuerCheck::IfPresent("https://op"),
                Duration::from_secs(10),
                &CancellationToken::new(),
                &|_| {},
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(e, OAuthError::IssuerMismatch { .. }), "{e}");

        let l = bind(&LoopbackOptions::default()).await.unwrap();
        let e = l
            .wait(
                "s",
                IssuerCheck::Unknown,
                Duration::from_millis(50),
                &CancellationToken::new(),
                &|_| {},
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(e, OAuthError::Timeout { .. }), "{e}");

        let l = bind(&LoopbackOptions::default()).await.unwrap();
        let c = CancellationToken::new();
        c.cancel();
        let e = l
            .wait(
                "s",
                IssuerCheck::Unknown,
                Duration::from_secs(10),
                &c,
                &|_| {},
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(e, OAuthError::Cancelled));
    }

    /// RFC 9207 (issue 13): `iss` is required where the provider sends it, accepted absent only
    /// where it does not, and checked whenever present.
    #[test]
    fn iss_is_required_only_where_the_provider_sends_it() {
        let params = |q: &str| -> Vec<(String, String)> {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        };
        let without = params("code=c&state=s");
        let with = params("code=c&state=s&iss=https%3A%2F%2Fop%2F");
        let other = params("code=c&state=s&iss=https%3A%2F%2Fevil");
        let code = |o: RedirectOutcome| matches!(o, RedirectOutcome::Code(c) if c == "c");
        let required = IssuerCheck::Required("https://op");
        assert!(matches!(
            redirect_outcome(&without, "s", required),
            RedirectOutcome::Failed(OAuthError::IssuerMissing { .. })
        ));
        assert!(code(redirect_outcome(&with, "s", required)));
        assert!(matches!(
            redirect_outcome(&other, "s", required),
            RedirectOutcome::Failed(OAuthError::IssuerMismatch { .. })
        ));
        let optional = IssuerCheck::IfPresent("https://op");
        assert!(code(redirect_outcome(&without, "s", optional)));
        assert!(code(redirect_outcome(&with, "s", optional)));
        assert!(matches!(
            redirect_outcome(&other, "s", optional),
            RedirectOutcome::Failed(OAuthError::IssuerMismatch { .. })
        ));
        assert!(code(redirect_outcome(&without, "s", None)));
        // Another sign-in's redirect stays ignored, with or without iss.
        assert!(matches!(
            redirect_outcome(&params("code=c&state=x"), "s", required),
            RedirectOutcome::OtherSignIn
        ));
        // A pasted address is held to the same rule.
        let e = parse_pasted(
            "http://127.0.0.1:8400/?code=c&state=s",
            "http://127.0.0.1:8400/",
            "s",
            required,
        )
        .unwrap_err();
        assert!(matches!(e, OAuthError::IssuerMissing { .. }), "{e}");
    }

    #[test]
    fn a_pasted_address_is_checked_like_a_redirect() {
        let opts = LoopbackOptions {
            ports: vec![8400],
            ..Default::default()
        };
        let r = unbound_redirect_uri(&opts);
        assert_eq!(r, "http://127.0.0.1:8400/");
        assert_eq!(
            parse_pasted(" http://127.0.0.1:8400/?code=abc&state=s1 ", &r, "s1", None).unwrap(),
            "abc"
        );
        assert!(matches!(
            parse_pasted("http://127.0.0.1:8400/?code=abc&state=s2", &r, "s1", None),
            Err(OAuthError::StateMismatch)
        ));
        let e = parse_pasted(
            "http://127.0.0.1:8400/?error=access_denied&state=s1",
            &r,
            "s1",
            None,
        )
        .unwrap_err();
        assert_eq!(e.reply().map(|r| r.error.as_str()), Some("access_denied"));
        assert!(parse_pasted(
            "https://accounts.google.com/?code=a&state=s1",
            &r,
            "s1",
            None
        )
        .is_err());
        assert!(parse_pasted("not a url", &r, "s1", None).is_err());
    }

    #[tokio::test]
    async fn the_redirect_names_localhost_when_asked() {
        let l = bind(&LoopbackOptions {
            host: Some("localhost".into()),
            ..Default::default()
        })
        .await
        .unwrap();
        assert!(
            l.redirect_uri().starts_with("http://localhost:"),
            "{}",
            l.redirect_uri()
        );
    }

    #[tokio::test]
    async fn a_taken_fixed_port_says_so() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = bind(&LoopbackOptions {
            ports: vec![port],
            ..Default::default()
        })
        .await
        .err()
        .unwrap();
        assert!(matches!(&e, OAuthError::Bind { .. }), "{e}");
        assert_eq!(
            e.diagnosis_id().as_deref(),
            Some("client-loopback-port-busy")
        );
    }
}
