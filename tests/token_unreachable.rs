//! `mailoauth token` with an expired token and the token endpoint out of reach (issue 18): the
//! diagnosis names the host that failed and what it is for (the token endpoint), with DNS,
//! proxy and firewall steps for that host, not advice about the mail hosts the admin never
//! typed and that did not fail.
//!
//! The endpoint is a loopback port this test opened and closed again, so the connection is
//! refused at once and no provider is reached.

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{assert_matches_schema, ConfigFixture};

use mailoauth::secret::Secret;
use mailoauth::store::TokenSet;
use std::net::TcpListener;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const MAILBOX: &str = "svc@example.test";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn an_unreachable_token_endpoint_is_named_with_its_role_and_fix() {
    // A port nothing listens on any more.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = std::env::temp_dir().join(format!("mailoauth-unreachable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens");
    let config = dir.join("mailoauth.toml");
    let base = format!("http://127.0.0.1:{port}");
    ConfigFixture::file_store("svc", MAILBOX, &tokens, &base)
        .smtp("smtp.office365.com", 587, "start_tls")
        .write(&config);
    assert_matches_schema(&std::fs::read_to_string(&config).unwrap());
    let store =
        mailoauth::store::open(&mailoauth::config::StoreSpec::File(tokens.to_path_buf())).unwrap();
    store
        .save(
            MAILBOX,
            &TokenSet {
                access_token: Secret::new(String::from("expired-access-token")),
                refresh_token: Some(Secret::new(String::from("stored-refresh-token"))),
                expires_at: Some(now().saturating_sub(10)),
                scopes: vec!["mail".into()],
                account: Some(MAILBOX.into()),
                obtained_at: now().saturating_sub(4000),
            },
        )
        .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["token", "svc", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "no token may be printed");
    // The headline names the host; the steps are for that host and port.
    assert!(
        stderr.contains("Can't reach 127.0.0.1 [net-host-unreachable]"),
        "{stderr}"
    );
    assert!(stderr.contains("nslookup 127.0.0.1"), "{stderr}");
    assert!(stderr.contains("proxy"), "{stderr}");
    assert!(
        stderr.contains(&format!("TCP {port} to 127.0.0.1")),
        "{stderr}"
    );
    // The raw error stays, as the detail.
    assert!(
        stderr.contains("token endpoint could not be reached"),
        "{stderr}"
    );
    // Not the mail hosts: the SMTP server of this account did not fail.
    for mail_host in ["smtp.office365.com", "imap.gmail.com", "smtp.gmail.com"] {
        assert!(!stderr.contains(mail_host), "{mail_host}: {stderr}");
    }
    assert!(!stderr.contains("stored-refresh-token"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
