//! The mail login tests (`mailoauth::probe`) against the real peers: Dovecot IMAP and
//! submission with XOAUTH2/OAUTHBEARER, tokens from the test provider. Every failure case
//! asserts the typed failure and the diagnosis catalog entry the admin is shown.

mod common;

use common::peers::{peers, ALICE, BOB, PUBLIC_CLIENT};
use common::tokens::{device_token, device_token_at};
use mailoauth::probe::{
    check, CheckReport, CheckRequest, Endpoint, FailureKind, MechanismChoice, ProbeEvent,
    ProtocolReport, Step, StepStatus, Timeouts, TlsTrust,
};
use mailoauth::provider::{SaslMechanism, Security};
use mailoauth::secret::Secret;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

const SHORT_CLIENT: &str = "mailapp-short";

fn ep(port: u16, security: Security) -> Endpoint {
    Endpoint {
        host: "localhost".into(),
        port,
        security,
    }
}

fn trusted() -> TlsTrust {
    TlsTrust {
        extra_ca_pem: Some(String::from_utf8_lossy(&peers().ca_pem()).into_owned()),
        pinned_sha256: None,
    }
}

fn request(smtp: Option<Endpoint>, imap: Option<Endpoint>) -> CheckRequest {
    CheckRequest {
        mailbox: ALICE.0.into(),
        smtp,
        imap,
        mechanism: MechanismChoice::Auto,
        tls: trusted(),
        send_test_to: None,
        source_address: None,
        timeouts: Timeouts::default(),
    }
}

async fn run(req: &CheckRequest, token: &str) -> CheckReport {
    let cancel = mailoauth::oauth::CancellationToken::new();
    check(req, &Secret::new(token.to_string()), &|_| {}, &cancel).await
}

/// The failure kind and diagnosis id of a protocol's report, or a panic with the report.
fn failed(r: &Option<ProtocolReport>) -> (FailureKind, String) {
    let r = r.as_ref().expect("the protocol was tested");
    assert!(!r.ok, "expected a failure: {r:#?}");
    let f = r.failure.as_ref().expect("a failed report has a failure");
    (
        f.kind,
        f.diagnosis
            .as_ref()
            .map(|d| d.id.clone())
            .unwrap_or_default(),
    )
}

fn passed(r: &Option<ProtocolReport>) -> &ProtocolReport {
    let r = r.as_ref().expect("the protocol was tested");
    assert!(r.ok, "expected success: {r:#?}");
    assert!(r.steps.iter().all(|s| s.status == StepStatus::Passed));
    r
}

fn challenge_status(r: &Option<ProtocolReport>) -> Option<String> {
    r.as_ref()?
        .failure
        .as_ref()?
        .challenge
        .as_ref()?
        .status
        .clone()
}

/// Tokens that take a device flow each, fetched together once (the provider polls every 5 s).
struct Tokens {
    alice: String,
    bob: String,
    short: String,
    short_issued: Instant,
    no_mail_scope: String,
}

async fn tokens() -> &'static Tokens {
    static TOKENS: OnceCell<Tokens> = OnceCell::const_new();
    TOKENS
        .get_or_init(|| async {
            let issuer = peers().issuer();
            let (alice, bob, short, no_mail_scope) = tokio::join!(
                device_token(ALICE),
                device_token(BOB),
                device_token_at(
                    issuer,
                    SHORT_CLIENT,
                    ALICE,
                    &["openid", "email", "offline_access", "mail"]
                ),
                device_token_at(issuer, PUBLIC_CLIENT, ALICE, &["openid", "email"]),
            );
            Tokens {
                alice,
                bob,
                short,
                short_issued: Instant::now(),
                no_mail_scope,
            }
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_993_and_submission_587_pass_in_parallel_and_the_test_message_arrives() {
    let p = peers();
    let t = tokens().await;
    let inbox = request(None, Some(ep(p.imaps_port(), Security::Tls)));
    let before = run(&inbox, &t.alice).await;
    let before = passed(&before.imap).inbox_messages.expect("INBOX count");

    let mut req = request(
        Some(ep(p.submission_port(), Security::StartTls)),
        Some(ep(p.imaps_port(), Security::Tls)),
    );
    req.send_test_to = Some(ALICE.0.into());
    let events = Mutex::new(Vec::<ProbeEvent>::new());
    let cancel = mailoauth::oauth::CancellationToken::new();
    let progress = |e: ProbeEvent| events.lock().expect("events").push(e);
    let report = check(&req, &Secret::new(t.alice.clone()), &progress, &cancel).await;
    assert!(report.ok, "{report:#?}");

    let smtp = passed(&report.smtp);
    let steps: Vec<Step> = smtp.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            Step::Resolve,
            Step::Connect,
            Step::Greeting,
            Step::Capabilities,
            Step::StartTls,
            Step::Tls,
            Step::Capabilities,
            Step::Authenticate,
            Step::Command,
            Step::SendTest
        ]
    );
    assert!(smtp.offers_xoauth2);
    assert_eq!(smtp.mechanism, Some(SaslMechanism::Xoauth2));
    assert!(smtp.test_message_sent);
    let tls = smtp.tls.as_ref().expect("TLS info");
    assert!(tls.version.as_deref().unwrap_or("").starts_with("TLSv1."));
    assert!(tls.subject.contains("CN="), "{tls:?}");
    assert!(smtp
        .address
        .as_deref()
        .unwrap_or("")
        .starts_with("127.0.0.1:"));

    let imap = passed(&report.imap);
    let steps: Vec<Step> = imap.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            Step::Resolve,
            Step::Connect,
            Step::Tls,
            Step::Greeting,
            Step::Capabilities,
            Step::Authenticate,
            Step::Command,
            Step::Mailbox
        ]
    );
    assert!(imap.offers_xoauth2);

    // Live progress: every step was announced before it finished, for both protocols.
    let events = events.into_inner().expect("events");
    for proto in [&smtp.protocol, &imap.protocol] {
        let mine: Vec<&ProbeEvent> = events.iter().filter(|e| &e.protocol == proto).collect();
        assert_eq!(mine.len(), 2 * if *proto == smtp.protocol { 10 } else { 8 });
        assert!(mine
            .chunks(2)
            .all(|c| c[0].status == StepStatus::Running && c[1].status == StepStatus::Passed));
    }

    let mut after = before;
    for _ in 0..50 {
        let r = run(&inbox, &t.alice).await;
        after = passed(&r.imap).inbox_messages.expect("INBOX count");
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(after > before, "the test message reached INBOX over IMAP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_143_starttls_and_submissions_465_pass() {
    let p = peers();
    let t = tokens().await;
    let req = request(
        Some(ep(p.submissions_port(), Security::Tls)),
        Some(ep(p.imap_port(), Security::StartTls)),
    );
    let report = run(&req, &t.alice).await;
    let imap = passed(&report.imap);
    let steps: Vec<Step> = imap.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps[2..6],
        [
            Step::Greeting,
            Step::Capabilities,
            Step::StartTls,
            Step::Tls
        ]
    );
    let smtp = passed(&report.smtp);
    assert_eq!(smtp.steps[2].step, Step::Tls);
    assert!(report.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_logs_in_where_offered() {
    let p = peers();
    let t = tokens().await;
    let mut req = request(
        Some(ep(p.submission_port(), Security::StartTls)),
        Some(ep(p.imaps_port(), Security::Tls)),
    );
    req.mechanism = MechanismChoice::Oauthbearer;
    let report = run(&req, &t.alice).await;
    for r in [&report.smtp, &report.imap] {
        let r = passed(r);
        assert!(r.offers_oauthbearer);
        assert_eq!(r.mechanism, Some(SaslMechanism::Oauthbearer));
    }
}

fn both(p: &common::peers::Peers) -> CheckRequest {
    request(
        Some(ep(p.submission_port(), Security::StartTls)),
        Some(ep(p.imaps_port(), Security::Tls)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_token_is_rejected_with_the_decoded_challenge() {
    let report = run(&both(peers()), "not-a-valid-token").await;
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::AuthRejected, "mail-token-rejected".into())
        );
        assert_eq!(challenge_status(r).as_deref(), Some("401"), "{r:#?}");
        let f = r
            .as_ref()
            .and_then(|r| r.failure.as_ref())
            .expect("failure");
        assert_eq!(f.step, Step::Authenticate);
        assert!(!f
            .server_reply
            .as_deref()
            .unwrap_or("")
            .contains("not-a-valid-token"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_rejected() {
    let t = tokens().await;
    // mailapp-short's tokens live 5 s.
    let expired_at = t.short_issued + Duration::from_millis(6_000);
    tokio::time::sleep(expired_at.saturating_duration_since(Instant::now())).await;
    let report = run(&both(peers()), &t.short).await;
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::AuthRejected, "mail-token-rejected".into())
        );
        assert_eq!(challenge_status(r).as_deref(), Some("401"), "{r:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bobs_token_does_not_log_in_as_alice() {
    let t = tokens().await;
    let report = run(&both(peers()), &t.bob).await;
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::AuthRejected, "mail-token-rejected".into())
        );
        // Dovecot maps the token to bob, not the `user=` alice: the challenge says 401.
        assert_eq!(challenge_status(r).as_deref(), Some("401"));
    }
    // The same token is fine for its own mailbox.
    let mut bob = both(peers());
    bob.mailbox = BOB.0.into();
    assert!(run(&bob, &t.bob).await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_the_mail_scope_is_rejected() {
    let t = tokens().await;
    let report = run(&both(peers()), &t.no_mail_scope).await;
    for r in [&report.smtp, &report.imap] {
        let (kind, id) = failed(r);
        assert_eq!(kind, FailureKind::AuthRejected, "{r:#?}");
        assert_eq!(id, "mail-token-rejected", "{r:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_from_another_address_is_refused_before_login() {
    let p = peers();
    let t = tokens().await;
    let mut req = request(
        Some(ep(p.submission_port(), Security::None)),
        Some(ep(p.imap_port(), Security::None)),
    );
    // Dovecot treats 127.0.0.1 -> 127.0.0.1 as secure; from 127.0.0.2 it is a remote client.
    req.source_address = Some("127.0.0.2".into());
    for r in [&req.smtp, &req.imap] {
        assert_eq!(r.as_ref().map(|e| e.host.as_str()), Some("localhost"));
    }
    let report = run(&req, &t.alice).await;
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::LoginNeedsTls, "mail-tls-required".into())
        );
        let r = r.as_ref().expect("report");
        assert!(!r.offers_xoauth2, "no mechanisms are offered in clear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_until_its_ca_or_pin_is_given() {
    let p = peers();
    let t = tokens().await;
    let mut req = both(p);
    req.tls = TlsTrust::default();
    let report = run(&req, &t.alice).await;
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (
                FailureKind::TlsUntrusted,
                "net-tls-untrusted-certificate".into()
            )
        );
    }
    // The refused certificate is shown with the fingerprint to pin.
    let seen = report
        .imap
        .as_ref()
        .and_then(|r| r.tls.clone())
        .expect("the refused certificate is reported");
    assert_eq!(seen.sha256.len(), 95);

    req.tls = trusted();
    assert!(run(&req, &t.alice).await.ok);

    req.tls = TlsTrust {
        extra_ca_pem: None,
        pinned_sha256: Some(seen.sha256.clone()),
    };
    let pinned = run(&req, &t.alice).await;
    assert!(pinned.ok, "{pinned:#?}");
    assert!(pinned.imap.and_then(|r| r.tls).is_some_and(|t| t.pinned));

    req.tls.pinned_sha256 = Some("00".repeat(32));
    let report = run(&req, &t.alice).await;
    assert_eq!(
        failed(&report.imap),
        (
            FailureKind::TlsUntrusted,
            "net-tls-untrusted-certificate".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_security_for_a_port_fails_fast_and_clearly() {
    let p = peers();
    let t = tokens().await;
    // Implicit TLS to the STARTTLS ports, STARTTLS to the implicit TLS ports.
    let tls_to_plain = request(
        Some(ep(p.submission_port(), Security::Tls)),
        Some(ep(p.imap_port(), Security::Tls)),
    );
    let plain_to_tls = request(
        Some(ep(p.submissions_port(), Security::StartTls)),
        Some(ep(p.imaps_port(), Security::StartTls)),
    );
    // What it failed on is asserted below (a mode mismatch, not a time-out); the bound only
    // stops a hang.
    let (a, b) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(run(&tls_to_plain, &t.alice), run(&plain_to_tls, &t.alice))
    })
    .await
    .expect("both checks ended");
    for r in [&a.smtp, &a.imap] {
        assert_eq!(
            failed(r),
            (
                FailureKind::PortExpectsStartTls,
                "net-tls-mode-mismatch".into()
            )
        );
    }
    for r in [&b.smtp, &b.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::PortExpectsTls, "net-tls-mode-mismatch".into())
        );
        let msg = r
            .as_ref()
            .and_then(|r| r.failure.as_ref())
            .map(|f| f.message.clone())
            .unwrap_or_default();
        assert!(msg.contains("wrong security for port"), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_where_nothing_listens_is_reported_quickly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("address").port()
    };
    let req = request(
        Some(ep(port, Security::StartTls)),
        Some(ep(port, Security::Tls)),
    );
    // A refused connection, not a time-out (asserted below); the bound only stops a hang.
    let report = tokio::time::timeout(Duration::from_secs(120), run(&req, "unused"))
        .await
        .expect("the check ended");
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::Connect, "net-mail-host-no-connection".into())
        );
        // The diagnosis names the server and port that refused, not the usual mail hosts.
        let d = r
            .as_ref()
            .and_then(|r| r.failure.as_ref())
            .and_then(|f| f.diagnosis.as_ref())
            .expect("a diagnosis");
        assert_eq!(d.title, "Can't connect to localhost", "{d:?}");
        let fix = d.fix.join(" ");
        assert!(fix.contains(&format!("nc -vz localhost {port}")), "{fix}");
    }
}

/// A second set of peers whose provider this test stops, so the mail servers cannot check tokens.
fn start_extra_peers() -> (HashMap<String, String>, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(root.join("tests/peers/start.sh"))
        .env("PEERS_OWNER_PID", std::process::id().to_string())
        .output()
        .expect("run tests/peers/start.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env_file = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or_default(),
    );
    let text = std::fs::read_to_string(&env_file).expect("peers.env");
    let vars = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let run_dir = env_file.parent().expect("run dir").to_path_buf();
    (vars, run_dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_down_during_login_is_a_temporary_failure() {
    let (vars, run_dir) = tokio::task::spawn_blocking(start_extra_peers)
        .await
        .expect("start peers");
    let issuer = vars["OP_ISSUER"].clone();
    let token = device_token_at(
        &issuer,
        PUBLIC_CLIENT,
        ALICE,
        &["openid", "email", "offline_access", "mail"],
    )
    .await;
    let op_pid = std::fs::read_to_string(run_dir.join("op.pid")).expect("op.pid");
    let killed = std::process::Command::new("kill")
        .arg(op_pid.trim())
        .status()
        .expect("kill");
    assert!(killed.success());
    let port = |k: &str| vars[k].parse::<u16>().expect("port");
    let mut req = request(
        Some(ep(port("SUBMISSION_PORT"), Security::StartTls)),
        Some(ep(port("IMAPS_PORT"), Security::Tls)),
    );
    // Each run makes its own CA.
    req.tls.extra_ca_pem = Some(std::fs::read_to_string(&vars["CA_FILE"]).expect("CA file"));
    let report = run(&req, &token).await;
    std::process::Command::new("bash")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/stop.sh"))
        .arg(&run_dir)
        .status()
        .ok();
    for r in [&report.smtp, &report.imap] {
        assert_eq!(
            failed(r),
            (FailureKind::AuthTemporary, "mail-temporary-failure".into())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_an_actionable_report_and_never_the_token() {
    let p = peers();
    let t = tokens().await;
    let run_cli = |token: &str, extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mailoauth"));
        cmd.args([
            "check",
            "--mailbox",
            ALICE.0,
            "--token-env",
            "PROBE_TEST_TOKEN",
        ])
        .arg("--smtp")
        .arg(format!("localhost:{}:starttls", p.submission_port()))
        .arg("--imap")
        .arg(format!("localhost:{}:tls", p.imaps_port()))
        .arg("--ca-file")
        .arg(p.ca_file())
        .args(extra)
        .env("PROBE_TEST_TOKEN", token);
        cmd.output().expect("run mailoauth check")
    };
    let good = tokio::task::block_in_place(|| run_cli(&t.alice, &["--json"]));
    assert!(good.status.success());
    let report: serde_json::Value = serde_json::from_slice(&good.stdout).expect("JSON report");
    assert_eq!(report["ok"], true);
    assert_eq!(report["imap"]["steps"][2]["step"], "tls");
    assert!(!String::from_utf8_lossy(&good.stdout).contains(&t.alice));

    let bad_token = "a3f1c0ffee.not-a-valid-token";
    let bad = tokio::task::block_in_place(|| run_cli(bad_token, &[]));
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    let err = String::from_utf8_lossy(&bad.stderr);
    for needle in [
        "SMTP localhost",
        "FAIL login",
        "535 5.7.8",
        "decoded challenge: status 401",
        "[mail-token-rejected]",
        "fix:",
        "FAILED in",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    assert!(
        err.contains("IMAP FAIL login"),
        "live progress on stderr:\n{err}"
    );
    assert!(!out.contains(bad_token) && !err.contains(bad_token));
}
