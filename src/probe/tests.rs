use super::*;
use crate::error::ErrorCode;
use crate::provider::Security;
use tokio_util::sync::CancellationToken;

fn ctx() -> diagnosis::Context {
    diagnosis::Context {
        mailbox: Some("alice@example.test".into()),
        ..Default::default()
    }
}

fn diag_id(e: &ProbeError) -> String {
    e.diagnosis(&ctx()).map(|d| d.id).unwrap_or_default()
}

#[test]
fn endpoints_parse_from_the_command_line() {
    let ep = Endpoint::parse("smtp.office365.com:587:starttls").ok();
    assert_eq!(
        ep,
        Some(Endpoint {
            host: "smtp.office365.com".into(),
            port: 587,
            security: Security::StartTls
        })
    );
    assert_eq!(
        Endpoint::parse("[::1]:993:tls").ok().map(|e| e.host),
        Some("::1".to_string())
    );
    assert_eq!(
        Endpoint::parse("localhost:25:none")
            .ok()
            .map(|e| e.security),
        Some(Security::None)
    );
    for bad in [
        "smtp.office365.com:587",
        "host:0:tls",
        ":993:tls",
        "h:x:tls",
        "h:1:magic",
    ] {
        assert!(
            matches!(
                Endpoint::parse(bad),
                Err(ProbeError::InvalidRequest {
                    field: "server",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

fn request() -> CheckRequest {
    CheckRequest {
        mailbox: "alice@example.test".into(),
        smtp: Endpoint::parse("localhost:587:start_tls").ok(),
        imap: None,
        mechanism: MechanismChoice::Auto,
        tls: TlsTrust::default(),
        send_test_to: None,
        source_address: None,
        timeouts: Timeouts::default(),
    }
}

#[test]
fn requests_are_validated_with_the_field_named() {
    assert!(validate(&request()).is_ok());
    let mut r = request();
    r.mailbox = "not an address".into();
    assert!(matches!(
        validate(&r),
        Err(ProbeError::InvalidRequest {
            field: "mailbox",
            ..
        })
    ));
    let mut r = request();
    r.smtp = None;
    assert!(matches!(
        validate(&r),
        Err(ProbeError::InvalidRequest {
            field: "servers",
            ..
        })
    ));
    let mut r = request();
    r.send_test_to = Some("a@b, c@d".into());
    assert!(matches!(
        validate(&r),
        Err(ProbeError::InvalidRequest {
            field: "test message recipient",
            ..
        })
    ));
    let mut r = request();
    r.timeouts.greeting_ms = 0;
    assert!(matches!(
        validate(&r),
        Err(ProbeError::InvalidRequest {
            field: "timeouts",
            ..
        })
    ));
}

#[tokio::test]
async fn an_invalid_request_fails_before_connecting() {
    let mut r = request();
    r.source_address = Some("not-an-ip".into());
    let cancel = CancellationToken::new();
    let report = check(&r, &Secret::new("t".into()), &|_| {}, &cancel).await;
    assert!(!report.ok);
    assert!(report.smtp.is_none());
    let f = report.failure.as_ref().map(|f| (f.kind, f.code));
    assert_eq!(
        f,
        Some((FailureKind::InvalidRequest, ErrorCode::InvalidInput))
    );
}

#[test]
fn mechanism_choice_prefers_xoauth2_and_tries_it_when_nothing_is_offered() {
    let trust = tls::Trust::new(&TlsTrust::default());
    let Ok(trust) = trust else {
        panic!("default trust builds")
    };
    let token = Secret::new(String::new());
    let job = |m| Job {
        mailbox: "a@b.c",
        token: &token,
        mechanism: m,
        trust: &trust,
        source: None,
        timeouts: Timeouts::default(),
        send_test_to: None,
        message: None,
    };
    assert_eq!(
        job(MechanismChoice::Auto).pick(true, true),
        SaslMechanism::Xoauth2
    );
    assert_eq!(
        job(MechanismChoice::Auto).pick(false, true),
        SaslMechanism::Oauthbearer
    );
    assert_eq!(
        job(MechanismChoice::Auto).pick(false, false),
        SaslMechanism::Xoauth2
    );
    assert_eq!(
        job(MechanismChoice::Oauthbearer).pick(true, false),
        SaslMechanism::Oauthbearer
    );
}

#[test]
fn login_strings_follow_the_specs() {
    assert_eq!(
        imap::login_string(SaslMechanism::Xoauth2, "a@b.c", "tok", "h", 993),
        b"user=a@b.c\x01auth=Bearer tok\x01\x01".to_vec()
    );
    assert_eq!(
        imap::login_string(SaslMechanism::Oauthbearer, "a@b.c", "tok", "h", 993),
        b"n,a=a@b.c,\x01host=h\x01port=993\x01auth=Bearer tok\x01\x01".to_vec()
    );
    assert_eq!(imap::failure_answer(SaslMechanism::Oauthbearer), vec![1]);
    assert!(imap::failure_answer(SaslMechanism::Xoauth2).is_empty());
}

// Dovecot's own answers (tests/peers/README.md) must land on the right catalog entries.

#[test]
fn dovecot_token_rejection_maps_to_the_challenge_entry() {
    // {"status":"invalid_token","schemes":"bearer","scope":"mail"}
    let reply = "+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciIsInNjb3BlIjoibWFpbCJ9\nA1 NO [AUTHENTICATIONFAILED] Authentication failed.";
    let e = ProbeError::AuthRejected {
        server_reply: reply.into(),
        challenge: decode_challenge(reply),
    };
    assert_eq!(diag_id(&e), "mail-token-rejected");
    assert_eq!(
        e.challenge().and_then(|c| c.status.clone()).as_deref(),
        Some("invalid_token")
    );
    let smtp = "334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciIsInNjb3BlIjoibWFpbCJ9\n535 5.7.8 Authentication failed.";
    let e = ProbeError::AuthRejected {
        server_reply: smtp.into(),
        challenge: decode_challenge(smtp),
    };
    assert_eq!(diag_id(&e), "mail-token-rejected");
}

#[test]
fn dovecot_refusals_map_to_their_entries() {
    let cases: [(ProbeError, &str); 6] = [
        (
            ProbeError::LoginNeedsTls {
                server_reply: "A1 NO [PRIVACYREQUIRED] Plaintext authentication disabled.".into(),
            },
            "mail-tls-required",
        ),
        (
            ProbeError::LoginNeedsTls {
                server_reply: "523 5.7.10 Plaintext authentication disabled.".into(),
            },
            "mail-tls-required",
        ),
        (
            ProbeError::AuthTemporary {
                server_reply:
                    "A1 NO [UNAVAILABLE] Temporary authentication failure. [h:2026-01-01 10:00:00]"
                        .into(),
                challenge: None,
            },
            "mail-temporary-failure",
        ),
        (
            ProbeError::AuthTemporary {
                server_reply: "454 4.7.0 Temporary authentication failure. [h:2026-01-01 10:00:00]"
                    .into(),
                challenge: None,
            },
            "mail-temporary-failure",
        ),
        (
            ProbeError::AuthRejected {
                server_reply: "A1 NO [AUTHENTICATIONFAILED] Authentication failed.".into(),
                challenge: None,
            },
            "imap-authentication-failed",
        ),
        (
            ProbeError::CommandFailed {
                command: "EXAMINE INBOX",
                server_reply: "A3 BAD User is authenticated but not connected.".into(),
            },
            "ms-imap-not-connected",
        ),
    ];
    for (e, id) in cases {
        assert_eq!(diag_id(&e), id, "{e}");
    }
}

#[test]
fn local_failures_map_to_network_entries() {
    let port = ProbeError::PortExpectsTls {
        port: 993,
        after_ms: 4000,
    };
    assert_eq!(diag_id(&port), "net-tls-mode-mismatch");
    assert!(port.to_string().contains("wrong security for port 993"));
    let port = ProbeError::PortExpectsStartTls { port: 587 };
    assert_eq!(diag_id(&port), "net-tls-mode-mismatch");
    assert_eq!(
        diag_id(&ProbeError::Connect {
            addresses: "127.0.0.1:1".into(),
            message: "Connection refused (os error 111)".into()
        }),
        "net-mail-host-no-connection"
    );
    assert_eq!(
        diag_id(&ProbeError::TlsUntrusted {
            message: "UnknownIssuer".into()
        }),
        "net-tls-untrusted-certificate"
    );
    assert_eq!(
        diag_id(&ProbeError::Resolve {
            host: "smtp.offce365.com".into(),
            message: "failed to lookup address information".into()
        }),
        "net-mail-host-unreachable"
    );
}

#[test]
fn a_failure_never_carries_the_token() {
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let e = ProbeError::AuthRejected {
        server_reply: diagnosis::scrub(&format!("A1 NO bad token {token}")),
        challenge: None,
    };
    let f = e.failure(Step::Authenticate, &ctx());
    let json = serde_json::to_string(&f).unwrap_or_default();
    assert!(!json.contains(token), "{json}");
}

/// A server that accepts connections and never says anything, like an implicit-TLS port
/// waiting for a client hello.
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
    let Ok(listener) = listener else {
        panic!("bind a local port")
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_silent_port_means_it_expects_implicit_tls() {
    let (port, task) = silent_server().await;
    let mut r = request();
    r.smtp = Some(Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::StartTls,
    });
    r.timeouts.greeting_ms = 300;
    let cancel = CancellationToken::new();
    let report = check(&r, &Secret::new("t".into()), &|_| {}, &cancel).await;
    task.abort();
    let f = report.smtp.and_then(|p| p.failure);
    assert_eq!(
        f.as_ref().map(|f| (f.kind, f.step)),
        Some((FailureKind::PortExpectsTls, Step::Greeting))
    );
    assert_eq!(
        f.and_then(|f| f.diagnosis).map(|d| d.id).as_deref(),
        Some("net-tls-mode-mismatch")
    );
}

#[tokio::test]
async fn cancelling_ends_both_tests_at_once() {
    let (port, task) = silent_server().await;
    let mut r = request();
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::StartTls,
    };
    r.smtp = Some(ep.clone());
    r.imap = Some(ep);
    // Time-outs far beyond the cancel, so only the cancel can end the tests.
    r.timeouts = Timeouts {
        connect_ms: 60_000,
        greeting_ms: 60_000,
        tls_ms: 60_000,
        command_ms: 60_000,
    };
    let stop = CancellationToken::new();
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
    };
    let token = Secret::new(String::from("t"));
    // Both end as Cancelled (asserted below), not by their own time-outs; the bound only stops
    // a hang.
    let (report, ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(check(&r, &token, &|_| {}, &stop), cancel)
    })
    .await
    .expect("the check ended");
    task.abort();
    for p in [&report.smtp, &report.imap] {
        let f = p.as_ref().and_then(|p| p.failure.as_ref());
        assert_eq!(
            f.map(|f| (f.kind, f.code)),
            Some((FailureKind::Cancelled, ErrorCode::Cancelled))
        );
    }
}

#[test]
fn mail_test_failures_say_whether_to_retry_fix_a_setting_or_fix_the_mailbox() {
    use crate::error::{Coded, ErrorCode};
    use crate::probe::ProbeError;
    let reply = || String::from("535 5.7.139 Authentication unsuccessful");
    for (e, code) in [
        (
            ProbeError::Connect {
                addresses: "127.0.0.1:1".into(),
                message: "refused".into(),
            },
            ErrorCode::Network,
        ),
        (
            ProbeError::AuthTemporary {
                server_reply: "454 4.7.0 try later".into(),
                challenge: None,
            },
            ErrorCode::Network,
        ),
        (
            ProbeError::AuthRejected {
                server_reply: reply(),
                challenge: None,
            },
            ErrorCode::MailServerRefused,
        ),
        (
            ProbeError::SendFailed {
                server_reply: "550 5.7.60 not allowed to send as".into(),
            },
            ErrorCode::MailServerRefused,
        ),
        (
            ProbeError::PortExpectsTls {
                port: 465,
                after_ms: 5000,
            },
            ErrorCode::InvalidInput,
        ),
        (
            ProbeError::TlsUntrusted {
                message: "unknown issuer".into(),
            },
            ErrorCode::InvalidInput,
        ),
        (ProbeError::Cancelled, ErrorCode::Cancelled),
        (
            ProbeError::TlsSetup {
                message: "no provider".into(),
            },
            ErrorCode::Internal,
        ),
    ] {
        assert_eq!(e.code(), code, "{e}");
    }
}
