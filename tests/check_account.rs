//! `mailoauth check <account>`: servers, TLS trust and a fresh token come from the config file
//! the wizard writes (here: the sandbox's account, saved through the same core calls as the app),
//! against the real peers.

mod common;

use common::peers::{peers, ALICE};
use mailoauth::oauth::{store_key, unix_now, TokenSet};
use mailoauth::provider::{Cloud, Flow, Purpose};
use mailoauth::sandbox::Sandbox;
use mailoauth::secret::Secret;
use mailoauth::setup::{config_account, plan, save_account, AccountDraft, SANDBOX_PROVIDER};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_the_saved_account_and_tests_both_protocols() {
    let sandbox = Sandbox::load(&peers().env_file()).expect("the peers' sandbox file");
    let draft = AccountDraft {
        provider: SANDBOX_PROVIDER.into(),
        cloud: Cloud::Worldwide,
        tenant: None,
        client_id: String::new(),
        flow: Flow::DeviceCode,
        purpose: Purpose::Both,
        mailbox: ALICE.0.into(),
        smtp: None,
        imap: None,
    };
    let setup = plan(&draft, Some(&sandbox)).expect("plan");
    let dir = std::env::temp_dir().join(format!("mailoauth-check-account-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = dir.join("mailoauth.toml");
    let account = config_account("alice", &setup, Some(&sandbox.ca_file)).expect("account");
    save_account(&config, account, false, false).expect("save");

    // A valid access token in the account's store, as a sign-in leaves it.
    let store = mailoauth::store::open(&setup.store).expect("store");
    let now = unix_now();
    let tokens = TokenSet {
        access_token: Secret::new(common::tokens::device_token(ALICE).await),
        refresh_token: None,
        expires_at: Some(now + 1800),
        scopes: vec!["mail".into()],
        account: Some(ALICE.0.into()),
        obtained_at: now,
    };
    store
        .save(&store_key(&setup.auth), &tokens)
        .expect("store tokens");

    let out = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["check", "--config"])
        .arg(&config)
        .arg("alice")
        .output()
        .expect("run mailoauth check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("SMTP") && stdout.contains("IMAP"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(tokens.access_token.expose())
            && !stderr.contains(tokens.access_token.expose())
    );

    // An account that is not in the file is named, and it is not a usage error.
    let missing = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["check", "--config"])
        .arg(&config)
        .arg("bob")
        .output()
        .expect("run mailoauth check");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account named \"bob\""));
    let _ = std::fs::remove_dir_all(&dir);
}
