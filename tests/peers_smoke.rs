//! Smoke test of the real peers with the crates mailoauth is built on: a token from the OpenID
//! provider by a device-code grant (`oauth2`), then XOAUTH2 logins to Dovecot IMAP over implicit
//! TLS (`async-imap`) and to submission over STARTTLS (`lettre`), and the message sent through
//! submission read back over IMAP. The full flows are the OAuth engine's and the mail tests' job;
//! this proves the peers and the crates work together.

mod common;

use common::peers::{peers, ALICE};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use tokio_rustls::TlsConnector;

/// XOAUTH2 as Gmail and Microsoft define it; answers a failure challenge with an empty line.
struct XOAuth2 {
    user: String,
    token: String,
    sent: bool,
}

impl async_imap::Authenticator for &mut XOAuth2 {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        if self.sent {
            return Vec::new();
        }
        self.sent = true;
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token).into_bytes()
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut peers().ca_pem().as_slice()) {
        roots.add(cert.expect("CA certificate")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Logs in over IMAPS with XOAUTH2 and returns the number of messages in INBOX.
async fn imap_inbox_count(user: &str, token: &str) -> u32 {
    let tcp = TcpStream::connect(("127.0.0.1", peers().imaps_port()))
        .await
        .unwrap();
    let tls = TlsConnector::from(tls_config())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the test CA");
    let mut client = async_imap::Client::new(tls);
    client
        .read_response()
        .await
        .unwrap()
        .expect("IMAP greeting");
    let mut auth = XOAuth2 {
        user: user.into(),
        token: token.into(),
        sent: false,
    };
    let mut session = client
        .authenticate("XOAUTH2", &mut auth)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP AUTHENTICATE XOAUTH2");
    let inbox = session.examine("INBOX").await.expect("EXAMINE INBOX");
    session.logout().await.ok();
    inbox.exists
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_token_logs_in_to_imap_and_smtp_and_mail_goes_round() {
    let p = peers();
    // The device-code grant through the oauth2 crate, the harness playing the user.
    let token = common::tokens::device_token(ALICE).await;

    let before = imap_inbox_count(ALICE.0, &token).await;

    let tls = TlsParameters::builder("localhost".into())
        .add_root_certificate(Certificate::from_pem(&p.ca_pem()).unwrap())
        .build_rustls()
        .unwrap();
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(p.submission_port())
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(ALICE.0.into(), token.clone()))
        .authentication(vec![Mechanism::Xoauth2])
        .timeout(Some(Duration::from_secs(15)))
        .build();
    assert!(
        smtp.test_connection()
            .await
            .expect("SMTP STARTTLS + AUTH XOAUTH2 + NOOP"),
        "submission accepted the XOAUTH2 login"
    );
    let me: Mailbox = ALICE.0.parse().unwrap();
    let msg = Message::builder()
        .from(me.clone())
        .to(me)
        .subject("mailoauth peers smoke test")
        .body(String::from("sent through submission, read back over IMAP"))
        .unwrap();
    smtp.send(msg).await.expect("send through submission");

    let mut after = before;
    for _ in 0..50 {
        after = imap_inbox_count(ALICE.0, &token).await;
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        after,
        before + 1,
        "the message went through Postfix to Dovecot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_refuses_a_bogus_token() {
    let p = peers();
    let tcp = TcpStream::connect(("127.0.0.1", p.imaps_port()))
        .await
        .unwrap();
    let tls = TlsConnector::from(tls_config())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tls);
    client.read_response().await.unwrap().unwrap();
    let mut auth = XOAuth2 {
        user: ALICE.0.into(),
        token: "not-a-token".into(),
        sent: false,
    };
    let err = match client.authenticate("XOAUTH2", &mut auth).await {
        Ok(_) => panic!("a bogus token must not log in"),
        Err((err, _client)) => err,
    };
    assert!(
        err.to_string().contains("AUTHENTICATIONFAILED")
            || err.to_string().contains("Authentication failed"),
        "unexpected error: {err}"
    );
}
