//! The OAuth engine against the real provider in `tests/peers/`: the test plays the user in the
//! browser (following the provider's redirects to mailoauth's loopback listener) and approves
//! device codes, so every flow runs end to end and ends with tokens in a real store.

mod common;

use common::browser::Browser;
use common::peers::{peers, ALICE, BOB, MAIL_SCOPES, PUBLIC_CLIENT};
use mailoauth::config::SecretRef;
use mailoauth::oauth::{
    authorize, refresh_if_needed, unix_now, AccountAuth, FlowEvent, FlowHooks, LoopbackOptions,
    OAuthError,
};
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose};
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenStore;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use url::Url;

fn overrides() -> EndpointOverrides {
    let issuer = peers().issuer().to_string();
    EndpointOverrides {
        authorization: Some(format!("{issuer}/auth")),
        token: Some(format!("{issuer}/token")),
        device_authorization: Some(format!("{issuer}/device/auth")),
        issuer: Some(issuer),
        ..Default::default()
    }
}

fn account(client_id: &str, mailbox: &str, flow: Flow) -> AccountAuth {
    AccountAuth {
        provider: "generic".into(),
        cloud: Default::default(),
        tenant: None,
        client_id: client_id.into(),
        client_auth: ClientAuth::None,
        client_secret: None,
        key_id: None,
        certificate: None,
        flow,
        purpose: Purpose::Both,
        scopes: MAIL_SCOPES.iter().map(|s| s.to_string()).collect(),
        endpoints: overrides(),
        mailbox: mailbox.into(),
        redirect_port: None,
    }
}

fn temp_store(name: &str) -> (FileStore, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "mailoauth-oauth-peer-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    (FileStore::new(dir.clone()), dir)
}

/// What the test browser does once mailoauth hands it the authorization URL.
#[derive(Clone, Copy)]
enum User {
    /// Signs in as this user; first sends a redirect with a wrong `state` when `stray` is set.
    SignIn((&'static str, &'static str), bool),
    /// Clicks "Cancel" on the login page, which makes the provider answer `access_denied`.
    Abort,
    /// Signs in as this user, and checks (or takes out) the redirect's `iss` (RFC 9207).
    Iss((&'static str, &'static str), IssPlay),
}

/// What the test browser does with the `iss` of the provider's redirect.
#[derive(Clone, Copy)]
enum IssPlay {
    /// The redirect carries `iss` (true) or not (false); it is delivered as it is.
    Expect(bool),
    /// The redirect carries `iss`; it is taken out before the redirect is delivered, as an
    /// attacker's answer from another provider (a mix-up) would lack it.
    Strip,
}

/// Plays the user for one loopback sign-in: returns the page the listener showed at the end.
async fn play(url: String, user: User) -> String {
    let browser = Browser::new();
    let auth_url = Url::parse(&url).expect("authorization URL");
    let redirect = auth_url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri in the authorization URL");
    let is_app = |u: &Url| u.as_str().starts_with(&redirect);
    let (interaction, page) = browser.follow(auth_url, is_app).await;
    assert!(
        page.contains("password"),
        "the provider shows its login form: {page}"
    );
    let landing = match user {
        User::SignIn(who, stray) => {
            if stray {
                let wrong = reqwest::get(format!("{redirect}?code=forged&state=not-this-one"))
                    .await
                    .expect("GET with a wrong state");
                assert_eq!(wrong.status(), 400, "a wrong state is refused");
            }
            browser.login(&interaction, who, is_app).await.0
        }
        User::Iss(who, play) => {
            let mut landing = browser.login(&interaction, who, is_app).await.0;
            let has_iss = landing.query_pairs().any(|(k, _)| k == "iss");
            match play {
                IssPlay::Expect(sent) => {
                    assert_eq!(has_iss, sent, "iss in the provider's redirect: {landing}")
                }
                IssPlay::Strip => {
                    assert!(has_iss, "the provider sent no iss to take out: {landing}");
                    let kept: Vec<(String, String)> = landing
                        .query_pairs()
                        .filter(|(k, _)| k != "iss")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    landing.query_pairs_mut().clear().extend_pairs(kept);
                }
            }
            landing
        }
        User::Abort => {
            let abort = Url::parse(&format!(
                "{}/abort",
                interaction.as_str().trim_end_matches('/')
            ))
            .expect("abort URL");
            browser.follow(abort, is_app).await.0
        }
    };
    assert!(
        is_app(&landing),
        "the provider redirected to the listener: {landing}"
    );
    reqwest::get(landing)
        .await
        .expect("GET the listener")
        .text()
        .await
        .unwrap_or_default()
}

/// Runs a loopback authorization with the test browser playing `user`; returns the result, the
/// page the browser ended on and the events.
async fn loopback_run(
    auth: &AccountAuth,
    store: &dyn TokenStore,
    user: User,
) -> (
    Result<mailoauth::store::TokenSet, OAuthError>,
    String,
    Vec<FlowEvent>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let on_event = move |e: FlowEvent| ev.lock().unwrap().push(e);
    let open = move |url: &str| tx.send(url.to_string()).map_err(|e| e.to_string());
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback = LoopbackOptions {
        path: "/callback".into(),
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let browser = tokio::spawn(async move {
        let url = rx.recv().await.expect("mailoauth opened the browser");
        play(url, user).await
    });
    let result = authorize(auth, store, &hooks).await;
    let page = browser.await.expect("the browser finished");
    let events = events.lock().unwrap().clone();
    (result, page, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_authorization_stores_tokens_then_refresh_rotates_and_reuse_is_refused() {
    let (store, dir) = temp_store("loopback");
    let auth = account(PUBLIC_CLIENT, ALICE.0, Flow::Loopback);
    let (result, page, events) = loopback_run(&auth, &store, User::SignIn(ALICE, true)).await;
    let tokens = result.expect("the loopback authorization succeeds");
    assert!(page.contains("Signed in as alice@example.test"), "{page}");
    assert!(tokens.refresh_token.is_some());
    assert!(
        tokens.scopes.iter().any(|s| s == "mail"),
        "{:?}",
        tokens.scopes
    );
    assert!(
        matches!(events.first(), Some(FlowEvent::ListeningOn { redirect_uri }) if redirect_uri.starts_with("http://127.0.0.1:"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FlowEvent::RedirectIgnored { .. })),
        "the wrong state was reported"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, FlowEvent::IdentityChecked { account } if account == ALICE.0)));
    let stored = store.load(ALICE.0).unwrap().expect("tokens are stored");
    assert_eq!(stored.access_token, tokens.access_token);

    // Still fresh: the stored access token comes back without a refresh.
    let at = refresh_if_needed(&auth, &store, unix_now()).await.unwrap();
    assert_eq!(at, tokens.access_token);

    // An hour later: refreshed, and the public client's refresh token rotated and was saved.
    let old_rt = stored.refresh_token.clone().unwrap();
    let later = unix_now() + 24 * 3600;
    let at2 = refresh_if_needed(&auth, &store, later)
        .await
        .expect("refresh");
    assert_ne!(at2, tokens.access_token);
    let rotated = store.load(ALICE.0).unwrap().unwrap();
    assert_eq!(
        rotated.access_token, at2,
        "the new access token was stored before it was returned"
    );
    assert_ne!(
        rotated.refresh_token.as_ref(),
        Some(&old_rt),
        "the refresh token rotated"
    );

    // Someone replays the old refresh token (a copied file, a second process without the lock).
    let (stale_store, stale_dir) = temp_store("stale");
    let mut stale = stored.clone();
    stale.expires_at = Some(0);
    stale_store.save(ALICE.0, &stale).unwrap();
    let e = refresh_if_needed(&auth, &stale_store, later)
        .await
        .unwrap_err();
    assert!(e.needs_reauthorization(), "{e}");
    assert_eq!(
        e.reply().map(|r| r.error.as_str()),
        Some("invalid_grant"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(stale_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_as_another_account_is_stopped_before_saving() {
    let (store, dir) = temp_store("mismatch");
    let auth = account(PUBLIC_CLIENT, ALICE.0, Flow::Loopback);
    let (result, page, _) = loopback_run(&auth, &store, User::SignIn(BOB, false)).await;
    let e = result.unwrap_err();
    assert!(
        matches!(&e, OAuthError::AccountMismatch { signed_in, .. } if signed_in == BOB.0),
        "{e}"
    );
    assert!(
        page.contains("Sign-in failed") && page.contains("not connected"),
        "{page}"
    );
    assert!(store.load(ALICE.0).unwrap().is_none(), "nothing was saved");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_at_the_provider_is_a_typed_error_with_diagnosis() {
    let (store, dir) = temp_store("denied");
    let auth = account(PUBLIC_CLIENT, ALICE.0, Flow::Loopback);
    let (result, page, _) = loopback_run(&auth, &store, User::Abort).await;
    let e = result.unwrap_err();
    assert_eq!(
        e.reply().map(|r| r.error.as_str()),
        Some("access_denied"),
        "{e}"
    );
    assert_eq!(e.diagnosis_id().as_deref(), Some("oauth-access-denied"));
    assert!(page.contains("access_denied"), "{page}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_and_private_key_jwt_clients_authorize() {
    let p = peers();
    let (store, dir) = temp_store("clientauth");
    let secret_file = dir.join("secret");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&secret_file, "mailapp-secret-value\n").unwrap();
    let mut auth = account("mailapp-secret", ALICE.0, Flow::Loopback);
    auth.client_auth = ClientAuth::ClientSecretPost;
    auth.client_secret = Some(SecretRef::File(secret_file));
    let (result, _, _) = loopback_run(&auth, &store, User::SignIn(ALICE, false)).await;
    result.expect("client_secret_post");

    // The provider's key is SEC1; mailoauth reads PKCS#8, as Azure and Google hand them out.
    let sec1 = p
        .ca_file()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("keys/client-pkjwt.key.pem");
    let pkcs8 = dir.join("pkjwt.p8.pem");
    let ok = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
        .arg(&sec1)
        .arg("-out")
        .arg(&pkcs8)
        .status()
        .expect("run openssl");
    assert!(ok.success(), "convert {}", sec1.display());
    let (store2, dir2) = temp_store("pkjwt");
    let mut auth = account("mailapp-pkjwt", BOB.0, Flow::Loopback);
    auth.client_auth = ClientAuth::PrivateKeyJwt;
    auth.client_secret = Some(SecretRef::File(pkcs8));
    auth.key_id = Some("mailapp-pkjwt-1".into());
    let (result, _, _) = loopback_run(&auth, &store2, User::SignIn(BOB, false)).await;
    result.expect("private_key_jwt");
    // The confidential client's refresh also authenticates with a fresh assertion.
    refresh_if_needed(&auth, &store2, unix_now() + 24 * 3600)
        .await
        .expect("refresh with private_key_jwt");
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir2);
}

/// A provider of the test's own, from the same `tests/peers/op` with other settings (the shared
/// one keeps its own), on a free port of 127.0.0.1; stopped when dropped.
struct OwnProvider {
    child: std::process::Child,
    issuer: String,
}

impl OwnProvider {
    fn start(env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The shared run's keys: the signing key exists, the private_key_jwt client's key too.
        let keys = peers().env_file().parent().unwrap().join("keys");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/op/op.mjs");
        let mut child = std::process::Command::new("node")
            .arg(script)
            .env("OP_PORT", port.to_string())
            .env("OP_KEYS_DIR", keys)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs the test provider (scripts/setup.sh installs it)");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains(" ready ") {
                    let _ = tx.send(());
                }
            }
        });
        // Generous: only stops a hang.
        if rx.recv_timeout(Duration::from_secs(120)).is_err() {
            let _ = child.kill();
            panic!("the test's own provider did not start");
        }
        OwnProvider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }

    fn overrides(&self) -> EndpointOverrides {
        let issuer = &self.issuer;
        EndpointOverrides {
            authorization: Some(format!("{issuer}/auth")),
            token: Some(format!("{issuer}/token")),
            device_authorization: Some(format!("{issuer}/device/auth")),
            issuer: Some(issuer.clone()),
            ..Default::default()
        }
    }
}

impl Drop for OwnProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RFC 9207 (issue 13): the provider's metadata says `authorization_response_iss_parameter_supported`
/// (oidc-provider does), so an answer without `iss` is refused: it may be another provider's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_without_iss_is_refused_when_the_provider_says_it_sends_iss() {
    let (store, dir) = temp_store("iss-stripped");
    let auth = account(PUBLIC_CLIENT, ALICE.0, Flow::Loopback);
    let (result, page, _) = loopback_run(&auth, &store, User::Iss(ALICE, IssPlay::Strip)).await;
    let e = result.expect_err("an answer without iss is refused");
    assert!(
        matches!(&e, OAuthError::IssuerMissing { expected } if expected == peers().issuer()),
        "{e}"
    );
    assert!(page.contains("no issuer"), "the browser is told: {page}");
    assert!(store.load(ALICE.0).unwrap().is_none(), "nothing is saved");

    // The same provider's answer as it sent it (with iss) signs in.
    let (result, _, _) = loopback_run(&auth, &store, User::Iss(ALICE, IssPlay::Expect(true))).await;
    result.expect("an answer with the right iss signs in");
    let _ = std::fs::remove_dir_all(dir);
}

/// RFC 9207 the other way: a provider that neither sends `iss` nor says it does (OP_ISS=0) still
/// signs in through the generic profile, whose setting comes from the metadata; the Google
/// profile, which says Google always sends `iss`, refuses the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_without_iss_signs_in_unless_its_profile_says_it_sends_iss() {
    let op = OwnProvider::start(&[("OP_ISS", "0")]);
    let (store, dir) = temp_store("iss-not-sent");
    let mut auth = account(PUBLIC_CLIENT, ALICE.0, Flow::Loopback);
    auth.endpoints = op.overrides();
    let (result, page, _) =
        loopback_run(&auth, &store, User::Iss(ALICE, IssPlay::Expect(false))).await;
    result.expect("a provider that sends no iss signs in");
    assert!(page.contains("Signed in as alice@example.test"), "{page}");

    let (store2, dir2) = temp_store("iss-google-profile");
    let secret_file = dir2.join("secret");
    std::fs::create_dir_all(&dir2).unwrap();
    std::fs::write(&secret_file, "mailapp-secret-value\n").unwrap();
    let mut google = account("mailapp-secret", ALICE.0, Flow::Loopback);
    google.provider = "google".into();
    google.client_auth = ClientAuth::ClientSecretPost;
    google.client_secret = Some(SecretRef::File(secret_file));
    google.endpoints = op.overrides();
    let (result, _, _) =
        loopback_run(&google, &store2, User::Iss(ALICE, IssPlay::Expect(false))).await;
    let e = result.expect_err("the Google profile requires iss");
    assert!(matches!(e, OAuthError::IssuerMissing { .. }), "{e}");
    assert!(store2.load(ALICE.0).unwrap().is_none(), "nothing is saved");
    drop(op);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_authorization_stores_tokens() {
    let (store, dir) = temp_store("device");
    let auth = account(PUBLIC_CLIENT, BOB.0, Flow::DeviceCode);
    let events = Arc::new(Mutex::new(Vec::<FlowEvent>::new()));
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let ev = events.clone();
    let on_event = move |e: FlowEvent| {
        if let FlowEvent::DeviceCode {
            verification_uri_complete: Some(u),
            ..
        } = &e
        {
            let _ = tx.send(u.clone());
        }
        ev.lock().unwrap().push(e);
    };
    let open = |_: &str| Err(String::from("the device flow opens no browser"));
    let hooks = FlowHooks::new(&on_event, &open);
    let user = tokio::spawn(async move {
        let complete = rx.recv().await.expect("the device code was shown");
        Browser::new().approve_device(&complete, BOB).await;
    });
    let tokens = authorize(&auth, &store, &hooks)
        .await
        .expect("device code authorization");
    user.await.unwrap();
    assert_eq!(tokens.account.as_deref(), Some(BOB.0));
    assert!(store.load(BOB.0).unwrap().is_some());
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FlowEvent::Polling { interval_secs: 5 })),
        "authorization_pending polls at the provider's interval: {events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, FlowEvent::Stored { .. })));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_cancel_and_a_taken_port_end_the_loopback_flow() {
    let (store, dir) = temp_store("timeouts");
    let auth = account(PUBLIC_CLIENT, ALICE.0, Flow::Loopback);
    let open = |_: &str| Ok(());
    let on_event = |_: FlowEvent| {};

    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback.path = "/callback".into();
    hooks.loopback.timeout = Duration::from_millis(300);
    let e = authorize(&auth, &store, &hooks).await.unwrap_err();
    assert!(matches!(e, OAuthError::Timeout { .. }), "{e}");

    let mut hooks = FlowHooks::new(&on_event, &open);
    let cancel = hooks.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    hooks.loopback.path = "/callback".into();
    let e = authorize(&auth, &store, &hooks).await.unwrap_err();
    assert!(matches!(e, OAuthError::Cancelled), "{e}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback.ports = vec![taken.local_addr().unwrap().port()];
    let e = authorize(&auth, &store, &hooks).await.unwrap_err();
    assert!(matches!(e, OAuthError::Bind { .. }), "{e}");
    assert!(
        e.to_string().contains("device"),
        "offers the device code instead: {e}"
    );
    assert!(store.load(ALICE.0).unwrap().is_none());
    let _ = std::fs::remove_dir_all(dir);
}
