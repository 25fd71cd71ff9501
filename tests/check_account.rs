//! `mailoauth check <account>`: servers, TLS trust and a fresh token come from the config file
//! the wizard writes (here: the sandbox's account, saved through the same core calls as the app),
//! against the real peers.

mod common;

use common::peers::{peers, ALICE};
use mailoauth::account::{plan, save_account, to_config, AccountDraft, SaveMode};
use mailoauth::oauth::{store_key, unix_now};
use mailoauth::provider::SANDBOX_PROVIDER;
use mailoauth::provider::{Cloud, Flow, Purpose};
use mailoauth::sandbox::Sandbox;
use mailoauth::secret::Secret;
use mailoauth::store::TokenSet;
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
        client_secret: None,
        redirect_port: None,
        readers: Vec::new(),
    };
    let setup = plan(&draft, Some(&sandbox)).expect("plan");
    let dir = std::env::temp_dir().join(format!("mailoauth-check-account-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = dir.join("mailoauth.toml");
    let account = to_config("alice", &setup, Some(&sandbox.ca_file));
    save_account(&config, account, SaveMode::Write { base: None }).expect("save");

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

    // An account that is not in the file is named, and it is not a usage error: EX_NOUSER.
    let missing = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["check", "--config"])
        .arg(&config)
        .arg("bob")
        .output()
        .expect("run mailoauth check");
    assert_eq!(missing.status.code(), Some(67));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account named \"bob\""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wizard's path for a confidential client with an exact redirect (a Google Web client):
/// the secret typed in the wizard is kept in the token store, the sign-in listens on the fixed
/// port, the saved config names only where the secret is, and the service's refresh reads it
/// from there (the provider refuses a refresh without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_and_fixed_redirect_port_survive_save_and_refresh() {
    use common::browser::Browser;
    use mailoauth::config::SecretRef;
    use mailoauth::oauth::{authorize, FlowHooks};
    use mailoauth::provider::ClientAuth;
    use url::Url;

    let sandbox = Sandbox::load(&peers().env_file()).expect("the peers' sandbox file");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let secret = Sandbox::CONFIDENTIAL_CLIENT.1;
    let draft = AccountDraft {
        provider: SANDBOX_PROVIDER.into(),
        cloud: Cloud::Worldwide,
        tenant: None,
        client_id: String::new(),
        flow: Flow::Loopback,
        purpose: Purpose::Both,
        mailbox: ALICE.0.into(),
        smtp: None,
        imap: None,
        client_secret: Some(Secret::new(format!(" {secret} "))),
        redirect_port: Some(port),
        readers: Vec::new(),
    };
    let mut setup = mailoauth::account::plan_and_keep(&draft, Some(&sandbox)).expect("plan");
    let dir = std::env::temp_dir().join(format!("mailoauth-secret-port-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    setup.store = mailoauth::config::StoreSpec::File(dir.join("tokens").to_path_buf());
    // Kept again in this test's own store folder, as plan_and_keep did in the sandbox's.
    let kept = mailoauth::store::keep_client_secret(
        &setup.store,
        ALICE.0,
        &Secret::new(secret.to_string()),
    )
    .expect("keep the secret");
    setup.auth.client_secret = Some(kept.clone());
    assert_eq!(setup.auth.client_auth, ClientAuth::ClientSecretPost);
    let SecretRef::File(secret_file) = &kept else {
        panic!("{kept:?}")
    };

    let store = mailoauth::store::open(&setup.store).expect("store");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let on_event = |_e: mailoauth::oauth::FlowEvent| {};
    let open = move |url: &str| tx.send(url.to_string()).map_err(|e| e.to_string());
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback.timeout = std::time::Duration::from_secs(30);
    let browser = tokio::spawn(async move {
        let url = Url::parse(&rx.recv().await.expect("the browser is opened")).unwrap();
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("redirect_uri");
        let b = Browser::new();
        let is_app = |u: &Url| u.as_str().starts_with(&redirect);
        let (interaction, page) = b.follow(url.clone(), is_app).await;
        assert!(
            page.contains("password"),
            "the login form: {interaction} {page}"
        );
        let (landing, _) = b.login(&interaction, ALICE, is_app).await;
        reqwest::get(landing).await.expect("GET the listener");
        redirect
    });
    let tokens = authorize(&setup.auth, store.as_ref(), &hooks)
        .await
        .expect("sign-in with the client secret");
    let redirect = browser.await.unwrap();
    assert!(
        redirect.contains(&format!(":{port}")),
        "the fixed port was used: {redirect}"
    );

    let config = dir.join("mailoauth.toml");
    let account = to_config("alice", &setup, Some(&sandbox.ca_file));
    save_account(&config, account, SaveMode::Write { base: None }).expect("save");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains(secret), "no secret in the config:\n{text}");
    assert!(
        text.contains(&format!("file:{}", secret_file.display())),
        "{text}"
    );
    assert!(text.contains(&format!("redirect_port = {port}")), "{text}");

    // An expired access token: the service refreshes with the secret read from its file.
    let key = store_key(&setup.auth);
    let mut stale = store.load(&key).unwrap().expect("stored");
    stale.expires_at = Some(1);
    store.save(&key, &stale).unwrap();
    let doc = mailoauth::config::load(&config).expect("load");
    let fresh = mailoauth::account::token(&doc, "alice", unix_now(), &|_| {})
        .await
        .expect("refresh with the kept secret");
    assert_ne!(fresh.expose(), tokens.access_token.expose());

    // Without the secret file the provider refuses the refresh, so the secret was really used.
    std::fs::remove_file(secret_file).unwrap();
    let mut stale = store.load(&key).unwrap().expect("stored");
    stale.expires_at = Some(1);
    store.save(&key, &stale).unwrap();
    let err = mailoauth::account::token(&doc, "alice", unix_now(), &|_| {})
        .await
        .expect_err("no secret, no refresh");
    assert!(err.to_string().contains("client secret"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
