//! The OS keyring store on Linux's kernel keyutils. The keyring lives in the session, so the
//! test runs itself again inside a fresh session keyring (`keyctl session -`), as a service
//! would run inside its own login session. (Linux only: elsewhere the file is empty, rather
//! than a file of unused imports.)
#![cfg(target_os = "linux")]

use mailoauth::secret::Secret;
use mailoauth::store::keyring::KeyringStore;
use mailoauth::store::TokenSet;
use mailoauth::store::TokenStore;

const INSIDE: &str = "MAILOAUTH_TEST_IN_KEYCTL_SESSION";

#[test]
fn keyring_store_saves_loads_and_deletes_in_a_session_keyring() {
    if std::env::var_os(INSIDE).is_none() {
        let exe = std::env::current_exe().expect("test binary");
        let out = std::process::Command::new("keyctl")
            .args(["session", "-"])
            .arg(exe)
            .args([
                "--exact",
                "keyring_store_saves_loads_and_deletes_in_a_session_keyring",
                "--nocapture",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("run keyctl (package keyutils)");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "inside the session keyring:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let store = KeyringStore::new();
    let account = "alice@example.test";
    store.delete(account).expect("delete of nothing is fine");
    assert!(store.load(account).expect("load").is_none());
    let tokens = TokenSet {
        access_token: Secret::new("at-keyring".into()),
        refresh_token: Some(Secret::new("rt-keyring".into())),
        expires_at: Some(42),
        scopes: vec!["mail".into()],
        account: Some(account.into()),
        obtained_at: 1,
    };
    store
        .save(account, &tokens)
        .expect("save in the kernel keyring");
    assert_eq!(store.load(account).expect("load").as_ref(), Some(&tokens));
    let _lock = store
        .lock(account)
        .expect("the keyring store locks through a lock file");
    store.delete(account).expect("delete");
    assert!(store.load(account).expect("load after delete").is_none());
}
