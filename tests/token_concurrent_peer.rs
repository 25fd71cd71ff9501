//! Several service processes call `mailoauth token` for one account at the same moment, against
//! the real provider in `tests/peers/`, whose public-client refresh tokens rotate: re-using a
//! rotated refresh token revokes the whole grant there. Every process must get a token and the
//! grant must survive, round after round.

mod common;
#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{assert_matches_schema, ConfigFixture};

use common::peers::{peers, ALICE, MAIL_SCOPES, PUBLIC_CLIENT};
use mailoauth::oauth::AccountAuth;
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose};
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenStore;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROCESSES: usize = 3;
const ROUNDS: usize = 3;

fn config_text(tokens: &Path) -> String {
    ConfigFixture::file_store("alice", ALICE.0, tokens, peers().issuer())
        .purpose("both")
        .client_id(PUBLIC_CLIENT)
        .smtp("127.0.0.1", peers().submission_port(), "start_tls")
        .imap("127.0.0.1", peers().imaps_port(), "tls")
        .scopes(&MAIL_SCOPES)
        .text()
}

/// Signs alice in once with the device flow (the provider's 5 s poll interval, accepted once).
async fn sign_in(config: &Path, store: &FileStore) {
    let doc = mailoauth::config::load(config).unwrap();
    let auth: AccountAuth = doc
        .account("alice")
        .unwrap()
        .oauth_settings(config)
        .unwrap();
    assert_eq!(auth.client_auth, ClientAuth::None);
    assert_eq!(auth.purpose, Purpose::Both);
    assert_eq!(auth.flow, Flow::DeviceCode);
    assert_ne!(auth.endpoints, EndpointOverrides::default());
    common::browser::sign_in_device(&auth, store, ALICE).await;
}

/// Marks the stored access token as expired, so the next `mailoauth token` must refresh.
fn expire(store: &FileStore) -> Option<String> {
    let mut tokens = store.load(ALICE.0).unwrap().expect("tokens stored");
    tokens.expires_at = Some(1);
    store.save(ALICE.0, &tokens).unwrap();
    tokens.refresh_token.map(|r| r.expose().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_processes_refresh_one_account_without_losing_the_grant() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("mailoauth-token-concurrent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens");
    let config = dir.join("mailoauth.toml");
    std::fs::write(&config, config_text(&tokens)).unwrap();
    assert_matches_schema(&config_text(&tokens));
    let store = FileStore::new(tokens.clone());
    sign_in(&config, &store).await;

    let mut spent = String::new();
    for round in 0..ROUNDS {
        let before = expire(&store).expect("the public client got a refresh token");
        spent.clone_from(&before);
        // One thread per process, so all of them start at the same moment.
        let handles: Vec<_> = (0..PROCESSES)
            .map(|_| {
                let config = config.clone();
                std::thread::spawn(move || {
                    Command::new(env!("CARGO_BIN_EXE_mailoauth"))
                        .args(["token", "--config"])
                        .arg(&config)
                        .arg("alice")
                        .output()
                        .unwrap()
                })
            })
            .collect();
        let outputs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut printed = Vec::new();
        for out in &outputs {
            assert!(
                out.status.success(),
                "round {round}: a process got no token: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            printed.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        assert!(printed.iter().all(|t| !t.is_empty()));
        let stored = store.load(ALICE.0).unwrap().unwrap();
        let after = stored.refresh_token.as_ref().unwrap().expose().clone();
        assert_ne!(before, after, "round {round}: the refresh token rotated");
        // The last refresh's access token is the one stored, and every process handed out a
        // token of this grant; a revoked grant would fail the next round's refresh.
        assert!(
            printed.contains(stored.access_token.expose()),
            "round {round}"
        );
    }
    let status = mailoauth::status::read(&config).unwrap();
    assert!(status.accounts["alice"].last_success.is_some());
    assert!(status.accounts["alice"].last_failure.is_none());

    // A stale copy of the tokens (a restored backup) replays a rotated refresh token: the
    // provider refuses it with invalid_grant and revokes the grant, and status says why.
    let mut stale = store.load(ALICE.0).unwrap().unwrap();
    stale.refresh_token = Some(mailoauth::secret::Secret::new(spent));
    stale.expires_at = Some(1);
    store.save(ALICE.0, &stale).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["token", "--config"])
        .arg(&config)
        .arg("alice")
        .output()
        .unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    let shown = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["status", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(json[0]["state"], "needs_reauthorization", "{json}");
    assert_eq!(json[0]["lastFailure"]["reauthorize"], true, "{json}");
    assert!(
        json[0]["lastFailure"]["error"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{json}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
