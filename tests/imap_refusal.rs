//! The failed IMAP login step quotes the server's tagged NO line (issue 18), not the SASL
//! continuation (`+ eyJ...`) the server sent before it; what the continuation said is kept
//! decoded, and the diagnosis is still the token rejection. Against the real Dovecot peer.

mod common;

use common::peers::{peers, ALICE};
use mailoauth::probe::{
    check, CheckRequest, Endpoint, FailureKind, MechanismChoice, Step, StepStatus, Timeouts,
    TlsTrust,
};
use mailoauth::provider::Security;
use mailoauth::secret::Secret;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_quoted_by_its_tagged_line() {
    let p = peers();
    for mechanism in [MechanismChoice::Xoauth2, MechanismChoice::Oauthbearer] {
        let req = CheckRequest {
            mailbox: ALICE.0.into(),
            smtp: None,
            imap: Some(Endpoint {
                host: "localhost".into(),
                port: p.imaps_port(),
                security: Security::Tls,
            }),
            mechanism,
            tls: TlsTrust {
                extra_ca_pem: Some(String::from_utf8_lossy(&p.ca_pem()).into_owned()),
                pinned_sha256: None,
            },
            send_test_to: None,
            source_address: None,
            timeouts: Timeouts::default(),
        };
        let cancel = mailoauth::oauth::CancellationToken::new();
        let report = check(
            &req,
            &Secret::new("not-a-valid-token".to_string()),
            &|_| {},
            &cancel,
        )
        .await;
        let imap = report.imap.expect("IMAP was tested");
        let f = imap.failure.as_ref().expect("the login fails");
        assert_eq!(f.kind, FailureKind::AuthRejected, "{imap:#?}");
        assert_eq!(f.step, Step::Authenticate);
        let quoted = f.server_reply.as_deref().expect("the server's reply");
        // The tagged line first: `<tag> NO [AUTHENTICATIONFAILED] ...`, never the continuation.
        let first = quoted.lines().next().unwrap_or_default();
        let mut words = first.split_whitespace();
        let (tag, status) = (words.next(), words.next());
        assert!(
            tag.is_some_and(|t| t != "+") && status == Some("NO"),
            "{mechanism:?}: {quoted:?}"
        );
        assert!(first.contains("[AUTHENTICATIONFAILED]"), "{quoted:?}");
        assert!(!quoted.contains("+ eyJ"), "{mechanism:?}: {quoted:?}");
        assert!(!f.message.contains("+ eyJ"), "{}", f.message);
        // What the continuation said is still there, decoded, and still drives the diagnosis.
        assert!(f
            .challenge
            .as_ref()
            .and_then(|c| c.status.clone())
            .is_some());
        assert_eq!(
            f.diagnosis.as_ref().map(|d| d.id.as_str()),
            Some("mail-token-rejected")
        );
        let step = imap
            .steps
            .iter()
            .find(|s| s.step == Step::Authenticate)
            .expect("AUTHENTICATE step");
        assert_eq!(step.status, StepStatus::Failed);
        assert!(!step.detail.contains("+ eyJ"), "{}", step.detail);
    }
}
