//! `mailoauth token <account>` as a mail service calls it: a cached valid token is printed
//! without any network call; an expired one is refreshed at the configured token endpoint, and
//! a refusal (`invalid_grant`) is recorded in the status file so `mailoauth status` says the
//! account needs re-authorization.
//!
//! The token endpoint is a listener of this test on loopback, which counts connections: no
//! provider is reached.

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{assert_matches_schema, ConfigFixture};

use mailoauth::secret::Secret;
use mailoauth::store::TokenSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const MAILBOX: &str = "svc@example.test";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A token endpoint that answers every request with `invalid_grant` and counts the requests.
fn refusing_token_endpoint() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            // One read holds the small form POST of a refresh; its content does not matter here.
            let _ = s.read(&mut buf);
            let body =
                r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#;
            let reply = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes());
        }
    });
    (port, hits)
}

fn setup(name: &str, port: u16, expires_at: u64) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mailoauth-token-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens");
    let config = dir.join("mailoauth.toml");
    let base = format!("http://127.0.0.1:{port}");
    ConfigFixture::file_store("svc", MAILBOX, &tokens, &base)
        .smtp("127.0.0.1", 10587, "start_tls")
        .write(&config);
    assert_matches_schema(&std::fs::read_to_string(&config).unwrap());
    let store =
        mailoauth::store::open(&mailoauth::config::StoreSpec::File(tokens.to_path_buf())).unwrap();
    store
        .save(
            MAILBOX,
            &TokenSet {
                access_token: Secret::new(String::from("cached-access-token")),
                refresh_token: Some(Secret::new(String::from("stored-refresh-token"))),
                expires_at: Some(expires_at),
                scopes: vec!["mail".into()],
                account: Some(MAILBOX.into()),
                obtained_at: now().saturating_sub(60),
            },
        )
        .unwrap();
    (dir, config)
}

fn mailoauth(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

#[test]
fn a_cached_valid_token_is_printed_without_any_network_call() {
    let (port, hits) = refusing_token_endpoint();
    let (dir, config) = setup("cached", port, now() + 3600);
    let out = mailoauth(&["token", "svc"], &config);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cached-access-token\n"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the token endpoint was called"
    );

    let status = mailoauth::status::read(&config).unwrap();
    assert!(status.accounts["svc"].last_success.is_some());
    let shown = mailoauth(&["status"], &config);
    assert!(shown.status.success());
    assert!(String::from_utf8_lossy(&shown.stdout).contains("svc (svc@example.test, generic): OK"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_expired_token_is_refreshed_and_invalid_grant_asks_for_reauthorization() {
    let (port, hits) = refusing_token_endpoint();
    let (dir, config) = setup("expired", port, now().saturating_sub(10));
    let out = mailoauth(&["token", "svc"], &config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A status of its own, so a service can tell "an admin must sign in again" from "try again
    // later" (src/cli/exit.rs).
    assert_eq!(out.status.code(), Some(80), "{stderr}");
    assert!(out.stdout.is_empty(), "no token may be printed");
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "the refresh never reached the endpoint"
    );
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(!stderr.contains("stored-refresh-token"), "{stderr}");

    let status = mailoauth::status::read(&config).unwrap();
    let failure = status.accounts["svc"].last_failure.clone().unwrap();
    assert_eq!(failure.diagnosis_id.as_deref(), Some("oauth-invalid-grant"));
    assert!(!failure.error.contains("stored-refresh-token"));

    let shown = mailoauth(&["status", "--json"], &config);
    assert_eq!(
        shown.status.code(),
        Some(80),
        "status exits 80 when an account must sign in again"
    );
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(json[0]["state"], "needs_reauthorization");
    assert_eq!(json[0]["diagnosis"]["id"], "oauth-invalid-grant");
    assert!(json[0]["failingSince"].is_u64());

    // Start over: without --yes nothing is deleted; with it, tokens and status are gone.
    let refused = mailoauth(&["status", "--start-over", "svc"], &config);
    assert_eq!(refused.status.code(), Some(2));
    assert!(mailoauth::status::read(&config)
        .unwrap()
        .accounts
        .contains_key("svc"));
    let done = mailoauth(&["status", "--start-over", "svc", "--yes"], &config);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(mailoauth::status::read(&config)
        .unwrap()
        .accounts
        .is_empty());
    let store =
        mailoauth::store::open(&mailoauth::config::StoreSpec::File(dir.join("tokens"))).unwrap();
    assert!(store.load(MAILBOX).unwrap().is_none());
    let shown = mailoauth(&["status"], &config);
    assert!(String::from_utf8_lossy(&shown.stdout)
        .contains("svc (svc@example.test, generic): not used yet"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The exit statuses a service acts on (src/cli/exit.rs): 67 no such account, 78 a config that
/// cannot be used, 75 a provider that cannot be reached (try again later).
#[test]
fn token_exit_statuses_tell_the_causes_apart() {
    let (port, _hits) = refusing_token_endpoint();
    let (dir, config) = setup("statuses", port, now().saturating_sub(10));
    let unknown = mailoauth(&["token", "nobody-here"], &config);
    assert_eq!(
        unknown.status.code(),
        Some(67),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "version = 1\n[[account]\n").unwrap();
    let damaged = mailoauth(&["token", "svc"], &broken);
    assert_eq!(
        damaged.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&damaged.stderr)
    );

    // The same account with its token endpoint on a port where nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{closed}"));
    assert!(text.contains(&format!("127.0.0.1:{closed}")), "{text}");
    std::fs::write(&config, text).unwrap();
    let unreachable = mailoauth(&["token", "svc"], &config);
    assert_eq!(
        unreachable.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&unreachable.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An account whose store holds no tokens (signed in with another `--store`, or never): `token`
/// gives one instruction, the command that fixes it, with the account's name and config filled
/// in; never "run the wizard" nor "authorize first" beside it.
#[test]
fn no_tokens_names_the_one_command_that_fixes_it() {
    let (port, hits) = refusing_token_endpoint();
    let (dir, config) = setup("none", port, now() + 3600);
    std::fs::remove_file(dir.join("tokens").join(format!("{MAILBOX}.json"))).unwrap();
    let out = mailoauth(&["token", "svc"], &config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(80), "{err}");
    assert!(
        err.contains(&format!(
            "run mailoauth reauthorize svc --config {}",
            config.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("wizard") && !err.contains("authorize first"),
        "a second, different instruction: {err}"
    );
    assert!(
        !err.contains("<mailbox>") && !err.contains("<client ID>"),
        "a placeholder where the value is known: {err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
