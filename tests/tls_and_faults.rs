//! Certificate verification and misbehaving servers (issue #9).
//!
//! TLS: a token endpoint and an IMAPS/SMTPS server on 127.0.0.1 with a self-signed certificate
//! are refused by default, with the untrusted-certificate diagnosis; the same servers answer
//! normally, so accepting the certificate would make the tests fail.
//!
//! Faults: the token endpoint closing mid-reply, answering too slowly, answering HTML or broken
//! JSON; the mail server greeting with garbage, closing after AUTHENTICATE/AUTH, stalling. Each
//! must end within a bound in a typed error with a diagnosis, never hang or panic.

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::ConfigFixture;
use mailoauth::oauth::{refresh_if_needed, AccountAuth, OAuthError};
use mailoauth::probe::{
    check, CheckReport, CheckRequest, Endpoint, FailureKind, MechanismChoice, Timeouts, TlsTrust,
};
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose, Security};
use mailoauth::secret::Secret;
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenSet;
use mailoauth::store::TokenStore;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

const UNTRUSTED: &str = "net-tls-untrusted-certificate";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailoauth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A self-signed certificate for 127.0.0.1 made with the openssl CLI: (cert PEM, key PEM,
/// SHA-256 fingerprint as the probe's pin wants it).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fp = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl x509");
    let fp = String::from_utf8_lossy(&fp.stdout);
    let hex = fp.trim().rsplit('=').next().unwrap().to_string();
    (cert, key, hex)
}

fn acceptor(cert: &Path, key: &Path) -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut std::fs::read(cert).unwrap().as_slice())
            .collect::<Result<_, _>>()
            .unwrap();
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut std::fs::read(key).unwrap().as_slice())
            .unwrap()
            .unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// How a fake server behaves on each connection (after TLS, when it has TLS).
#[derive(Clone, Copy, Debug)]
enum Script {
    /// A token endpoint that answers a valid token response.
    TokenOk,
    /// Promises 400 bytes of JSON, sends 20, closes.
    TokenCutMidReply,
    /// Reads the request and never answers.
    TokenStall,
    /// A proxy's or login page's HTML instead of JSON.
    TokenHtml(u16),
    /// JSON that breaks off.
    TokenBrokenJson,
    /// IMAP: a normal greeting and capabilities, then closes on AUTHENTICATE.
    ImapCloseOnAuth,
    /// IMAP/SMTP: a line of garbage as greeting.
    GarbageGreeting,
    /// IMAP: greets, then never answers a command.
    ImapStallAfterGreeting,
    /// SMTP: greets and answers EHLO, then closes on AUTH.
    SmtpCloseOnAuth,
    /// SMTP: greets, then never answers EHLO.
    SmtpStallAfterGreeting,
}

async fn play<S: AsyncRead + AsyncWrite + Unpin>(s: S, script: Script) {
    let mut s = BufReader::new(s);
    let mut line = String::new();
    let http = |status: u16, ctype: &str, body: &str| {
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    // Reads an HTTP request head (the small form body is not needed).
    macro_rules! read_head {
        () => {
            loop {
                line.clear();
                if s.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
        };
    }
    match script {
        Script::TokenOk => {
            read_head!();
            let body = r#"{"access_token":"at-new","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-new"}"#;
            let _ = s
                .write_all(http(200, "application/json", body).as_bytes())
                .await;
        }
        Script::TokenCutMidReply => {
            read_head!();
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"access_token\":\"at-")
                .await;
            let _ = s.flush().await;
        }
        Script::TokenStall => {
            read_head!();
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        Script::TokenHtml(status) => {
            read_head!();
            let body = "<!DOCTYPE html><html><head><title>Proxy Authorization Required</title></head><body><h1>Access denied by the web proxy</h1></body></html>";
            let _ = s
                .write_all(http(status, "text/html; charset=utf-8", body).as_bytes())
                .await;
        }
        Script::TokenBrokenJson => {
            read_head!();
            let _ = s
                .write_all(
                    http(
                        200,
                        "application/json",
                        r#"{"access_token": "at", "expires_in": "#,
                    )
                    .as_bytes(),
                )
                .await;
        }
        Script::GarbageGreeting => {
            let _ = s
                .write_all(b"\x16\x03garbage \xff\xfe no protocol here\r\n")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Script::ImapCloseOnAuth | Script::ImapStallAfterGreeting => {
            let _ = s
                .write_all(
                    b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER] ready\r\n",
                )
                .await;
            loop {
                line.clear();
                if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if matches!(script, Script::ImapStallAfterGreeting) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let tag = line.split(' ').next().unwrap_or("*").to_string();
                let upper = line.to_ascii_uppercase();
                if upper.contains("AUTHENTICATE") {
                    return; // closes the connection
                }
                let reply = if upper.contains("CAPABILITY") {
                    format!("* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\n{tag} OK done\r\n")
                } else {
                    format!("{tag} OK done\r\n")
                };
                let _ = s.write_all(reply.as_bytes()).await;
            }
        }
        Script::SmtpCloseOnAuth | Script::SmtpStallAfterGreeting => {
            let _ = s.write_all(b"220 fake.test ESMTP ready\r\n").await;
            loop {
                line.clear();
                if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if matches!(script, Script::SmtpStallAfterGreeting) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("AUTH") {
                    return;
                }
                let reply = if upper.starts_with("EHLO") {
                    "250-fake.test\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n"
                } else if upper.starts_with("QUIT") {
                    "221 bye\r\n"
                } else {
                    "250 ok\r\n"
                };
                let _ = s.write_all(reply.as_bytes()).await;
            }
        }
    }
}

/// A fake server on 127.0.0.1 running `script` on every connection, behind TLS when given.
async fn serve(script: Script, tls: Option<TlsAcceptor>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(a) => {
                        if let Ok(s) = a.accept(tcp).await {
                            play(s, script).await;
                        }
                    }
                    None => play(tcp, script).await,
                }
            });
        }
    });
    port
}

fn account(token_url: &str) -> AccountAuth {
    AccountAuth {
        provider: "generic".into(),
        cloud: Default::default(),
        tenant: None,
        client_id: "mailapp-public".into(),
        client_auth: ClientAuth::None,
        client_secret: None,
        key_id: None,
        certificate: None,
        flow: Flow::DeviceCode,
        purpose: Purpose::Both,
        scopes: vec!["openid".into(), "offline_access".into(), "mail".into()],
        endpoints: EndpointOverrides {
            token: Some(token_url.to_string()),
            authorization: Some("https://127.0.0.1:9/auth".into()),
            device_authorization: Some("https://127.0.0.1:9/device".into()),
            ..Default::default()
        },
        mailbox: "alice@example.test".into(),
        redirect_port: None,
    }
}

/// Refreshes an expired token set against `token_url`; returns the outcome and how long it took.
async fn refresh(name: &str, token_url: &str) -> (Result<String, OAuthError>, Duration) {
    let dir = temp_dir(name);
    let store = FileStore::new(dir.clone());
    store
        .save(
            "alice@example.test",
            &TokenSet {
                access_token: Secret::new("at-old".into()),
                refresh_token: Some(Secret::new("rt-old".into())),
                expires_at: Some(1),
                scopes: vec!["mail".into()],
                account: Some("alice@example.test".into()),
                obtained_at: 1,
            },
        )
        .unwrap();
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(40),
        refresh_if_needed(&account(token_url), &store, 1_000_000),
    )
    .await
    .expect("the refresh ended within 40 s");
    let _ = std::fs::remove_dir_all(dir);
    (r.map(|t| t.expose().clone()), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_token_endpoint_is_refused_with_the_certificate_named() {
    let dir = temp_dir("tls-token");
    let (cert, key, _) = self_signed(&dir);
    let port = serve(Script::TokenOk, Some(acceptor(&cert, &key))).await;
    let (r, took) = refresh(
        "tls-token-store",
        &format!("https://127.0.0.1:{port}/token"),
    )
    .await;
    let e = r.expect_err("a self-signed certificate must not be accepted");
    eprintln!("{e} ({took:?})");
    assert!(matches!(e, OAuthError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert_eq!(e.diagnosis_id().as_deref(), Some(UNTRUSTED), "{e}");

    // The same server over plain HTTP answers a token: the refusal above is the certificate's.
    let plain = serve(Script::TokenOk, None).await;
    let (r, _) = refresh(
        "tls-token-plain",
        &format!("http://127.0.0.1:{plain}/token"),
    )
    .await;
    assert_eq!(r.expect("plain HTTP on loopback works"), "at-new");
    let _ = std::fs::remove_dir_all(dir);
}

/// A config in `dir` whose account `alice` has an expired access token and a refresh token in
/// a file store, and whose provider endpoints are at `base` (`scheme://host:port`): the next
/// `mailoauth token alice` refreshes there.
fn expired_account(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let tokens = dir.join("tokens");
    FileStore::new(tokens.clone())
        .save(
            "alice@example.test",
            &TokenSet {
                access_token: Secret::new("at-old".into()),
                refresh_token: Some(Secret::new("rt-old".into())),
                expires_at: Some(1),
                scopes: vec!["mail".into()],
                account: Some("alice@example.test".into()),
                obtained_at: 1,
            },
        )
        .unwrap();
    let config = dir.join("mailoauth.toml");
    ConfigFixture::file_store("alice", "alice@example.test", &tokens, base)
        .smtp("127.0.0.1", 465, "tls")
        .scopes(&["openid", "offline_access", "mail"])
        .without_issuer()
        .device_endpoint(&format!("{base}/device"))
        .write(&config);
    config
}

/// The CLI an admin runs shows the untrusted certificate and its diagnosis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailoauth_token_says_the_token_endpoint_certificate_is_untrusted() {
    let dir = temp_dir("tls-token-cli");
    let (cert, key, _) = self_signed(&dir);
    let port = serve(Script::TokenOk, Some(acceptor(&cert, &key))).await;
    let config = expired_account(&dir, &format!("https://127.0.0.1:{port}"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mailoauth"))
            .args(["token", "--config"])
            .arg(&config)
            .arg("alice")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(stderr.contains(&format!("[{UNTRUSTED}]")), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

fn probe_request(smtp: Option<u16>, imap: Option<u16>, tls: TlsTrust) -> CheckRequest {
    let ep = |port| Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::Tls,
    };
    CheckRequest {
        mailbox: "alice@example.test".into(),
        smtp: smtp.map(ep),
        imap: imap.map(ep),
        mechanism: MechanismChoice::Auto,
        tls,
        send_test_to: None,
        source_address: None,
        timeouts: Timeouts {
            connect_ms: 2_000,
            greeting_ms: 1_500,
            tls_ms: 2_000,
            command_ms: 1_500,
        },
    }
}

async fn probe(req: &CheckRequest) -> (CheckReport, Duration) {
    let cancel = mailoauth::oauth::CancellationToken::new();
    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        check(req, &Secret::new("token".into()), &|_| {}, &cancel),
    )
    .await
    .expect("the check ended within 30 s");
    (report, started.elapsed())
}

/// (kind, diagnosis id, message) of a failed protocol report.
fn failure(r: &Option<mailoauth::probe::ProtocolReport>) -> (FailureKind, String, String) {
    let r = r.as_ref().expect("tested");
    assert!(!r.ok, "expected a failure: {r:#?}");
    let f = r.failure.as_ref().expect("a failure");
    (
        f.kind,
        f.diagnosis
            .as_ref()
            .map(|d| d.id.clone())
            .unwrap_or_default(),
        f.message.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_imaps_and_smtps_are_refused_until_pinned() {
    let dir = temp_dir("tls-mail");
    let (cert, key, pin) = self_signed(&dir);
    let a = acceptor(&cert, &key);
    let imap = serve(Script::ImapCloseOnAuth, Some(a.clone())).await;
    let smtp = serve(Script::SmtpCloseOnAuth, Some(a)).await;
    let (report, _) = probe(&probe_request(Some(smtp), Some(imap), TlsTrust::default())).await;
    for r in [&report.smtp, &report.imap] {
        let (kind, id, message) = failure(r);
        assert_eq!((kind, id.as_str()), (FailureKind::TlsUntrusted, UNTRUSTED));
        assert!(message.contains("certificate"), "{message}");
    }
    // Pinned, the handshake passes and the servers' own behaviour shows: the refusal above was
    // the certificate's.
    let pinned = TlsTrust {
        extra_ca_pem: None,
        pinned_sha256: Some(pin),
    };
    let (report, _) = probe(&probe_request(Some(smtp), Some(imap), pinned)).await;
    for r in [&report.smtp, &report.imap] {
        assert_ne!(failure(r).0, FailureKind::TlsUntrusted);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_breaks_off_stalls_or_answers_garbage_is_diagnosed() {
    for (script, what) in [
        (Script::TokenCutMidReply, "closes mid-reply"),
        (Script::TokenHtml(200), "HTML with 200"),
        (Script::TokenHtml(502), "HTML with 502"),
        (Script::TokenBrokenJson, "broken JSON"),
    ] {
        let port = serve(script, None).await;
        let (r, took) = refresh("fault", &format!("http://127.0.0.1:{port}/token")).await;
        let e = r.expect_err(what);
        eprintln!("{what}: {e} [{:?}] ({took:?})", e.diagnosis_id());
        assert!(
            matches!(
                e,
                OAuthError::Unreachable { .. } | OAuthError::UnexpectedReply { .. }
            ),
            "{what}: {e:?}"
        );
        assert!(e.diagnosis_id().is_some(), "{what}: no diagnosis for {e}");
        assert!(!e.needs_reauthorization(), "{what}: {e}");
    }
}

/// A token endpoint that never answers: `mailoauth token` gives up after its HTTP timeout
/// (shortened here with MAILOAUTH_HTTP_TIMEOUT_SECS) with a diagnosis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_token_endpoint_times_out_with_a_diagnosis() {
    let port = serve(Script::TokenStall, None).await;
    let dir = temp_dir("fault-stall");
    let config = expired_account(&dir, &format!("http://127.0.0.1:{port}"));
    // The command's own time-out must end it ("timed out" below); the test's bound, far
    // longer, only stops a hang.
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mailoauth"))
            .args(["token", "--config"])
            .arg(&config)
            .arg("alice")
            .env("MAILOAUTH_HTTP_TIMEOUT_SECS", "2")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mailoauth token ended by its own time-out")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("mailoauth: ") && l.ends_with(']')),
        "no diagnosis: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_with_garbage_a_dropped_login_or_a_stall_is_diagnosed_in_time() {
    let dir = temp_dir("mail-faults");
    let (cert, key, pin) = self_signed(&dir);
    let a = acceptor(&cert, &key);
    let trust = TlsTrust {
        extra_ca_pem: None,
        pinned_sha256: Some(pin),
    };
    for (smtp, imap, what) in [
        (
            Script::GarbageGreeting,
            Script::GarbageGreeting,
            "garbage greeting",
        ),
        (
            Script::SmtpCloseOnAuth,
            Script::ImapCloseOnAuth,
            "closes on login",
        ),
        (
            Script::SmtpStallAfterGreeting,
            Script::ImapStallAfterGreeting,
            "stalls after greeting",
        ),
    ] {
        let smtp = serve(smtp, Some(a.clone())).await;
        let imap = serve(imap, Some(a.clone())).await;
        let (report, took) = probe(&probe_request(Some(smtp), Some(imap), trust.clone())).await;
        for (proto, r) in [("SMTP", &report.smtp), ("IMAP", &report.imap)] {
            let (kind, id, message) = failure(r);
            eprintln!("{what} {proto}: {kind:?} [{id}] {message} ({took:?})");
            assert!(!id.is_empty(), "{what} {proto}: no diagnosis: {message}");
            assert!(
                matches!(
                    kind,
                    FailureKind::Protocol | FailureKind::Timeout | FailureKind::AuthTemporary
                ),
                "{what} {proto}: {kind:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
