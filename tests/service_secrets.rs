//! Client secrets in the service's custody (issue #15, item 9), run as root against the real
//! provider in `tests/peers/` with its confidential client (`client_secret_post`): `service
//! adopt` moves the secret of an account from its file (or the admin's keyring) into custody
//! and writes `client_secret = "service"`; the service then refreshes with the secret it alone
//! reads; a reader gets the token and nothing returns the secret; a manager hands a new secret
//! over with `put_secret`, which the service uses at once. Also: a keyring secret (the entry is
//! deleted), an `env:` secret (left, and said), a private_key_jwt key, the wizard's hand-over
//! of a typed secret, and the direct path with the service stopped.

#![cfg(unix)]
mod common;
#[path = "common/service.rs"]
mod service;

use common::peers::ALICE;
use mailoauth::secret::Secret;
use mailoauth::service::protocol::{Request, SecretKind};
use mailoauth::store::TokenStore;
use service::{printed, OsUser, Svc, BIN};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The test provider's confidential client and its secret (tests/peers/op/op.mjs).
const SECRET_CLIENT: &str = "mailapp-secret";
const SECRET_VALUE: &str = "mailapp-secret-value";

/// A service test whose account is the confidential client, its secret kept at `client_secret`
/// (`None`: a file `<dir>/alice.secret` written here, mode 0600).
fn confidential(name: &str, readers: &[&str], client_secret: Option<&str>) -> (Svc, PathBuf) {
    let svc = Svc::new(name, SECRET_CLIENT, readers, "");
    let file = svc.dir.join("alice.secret");
    let reference = match client_secret {
        Some(r) => r.to_string(),
        None => {
            std::fs::write(&file, format!("{SECRET_VALUE}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            format!("file:{}", file.display())
        }
    };
    let text = std::fs::read_to_string(&svc.config).unwrap().replace(
        "client_auth = \"none\"\n",
        &format!("client_auth = \"client_secret_post\"\nclient_secret = \"{reference}\"\n"),
    );
    std::fs::write(&svc.config, text).unwrap();
    (svc, file)
}

/// `mailoauth service adopt alice`, its output.
fn adopt(svc: &Svc) -> std::process::Output {
    Command::new(BIN)
        .args(["service", "adopt", "--config"])
        .arg(&svc.config)
        .arg("--socket")
        .arg(&svc.socket)
        .arg("alice")
        .output()
        .unwrap()
}

/// The custody file of alice's secret.
fn held_secret(svc: &Svc) -> PathBuf {
    mailoauth::service::custody::secret_path(&svc.state, ALICE.0).unwrap()
}

/// Asks the service as root (a manager), from a thread of its own.
fn ask(socket: &Path, req: Request) -> Result<serde_json::Value, String> {
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match rt.block_on(mailoauth::service::client::ask(
            &socket,
            &req,
            Duration::from_secs(60),
        )) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("{}: {}", e.code, e.message)),
            Err(e) => Err(e.to_string()),
        }
    })
    .join()
    .unwrap()
}

/// Sends one raw request frame as OS user `user` (python3 through runuser) and returns the
/// answer's JSON text.
fn ask_as(user: &str, socket: &Path, body: &str) -> String {
    let script = r#"
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
b = sys.argv[2].encode()
s.sendall(struct.pack('>I', len(b)) + b)
n = struct.unpack('>I', s.recv(4, socket.MSG_WAITALL))[0]
print(s.recv(n, socket.MSG_WAITALL).decode())
"#;
    let out = Command::new("runuser")
        .args(["-u", user, "--", "python3", "-c", script])
        .arg(socket)
        .arg(body)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 as {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adopt moves the file secret into custody (owner-only) and the config names `service`; the
/// service refreshes with it (the old file is gone, so custody is the only copy), a reader gets
/// the token, nothing returns the secret, a reader cannot hand one over, and a manager's new
/// secret is used at once (a wrong one makes the provider refuse the refresh).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_moves_a_file_secret_into_custody_and_the_service_refreshes_with_it() {
    let reader = OsUser::new("mosecret", &[]);
    let (mut svc, file) = confidential("service-secret-file", &[&reader.0], None);
    svc.sign_in().await;
    svc.start();
    let out = adopt(&svc);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "adopt: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("client secret moved from file:"),
        "adopt says where the secret came from: {stdout}"
    );

    // The config names the service and holds no secret; the old file is gone; custody holds it
    // owner-only, written by the service.
    let config = std::fs::read_to_string(&svc.config).unwrap();
    assert!(
        config.contains("client_secret = \"service\"")
            && config.contains("token_store = \"service\""),
        "{config}"
    );
    assert!(!config.contains(SECRET_VALUE), "no secret in the config");
    assert!(!file.exists(), "the old secret file was removed");
    assert!(
        svc.file_store().load(ALICE.0).unwrap().is_none(),
        "the old token file was removed"
    );
    let held = held_secret(&svc);
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(&held).expect("custody holds the secret");
    assert_eq!(meta.permissions().mode() & 0o077, 0, "owner-only");
    assert_eq!(meta.uid(), 0, "written by the service (root)");
    assert_eq!(std::fs::read_to_string(&held).unwrap().trim(), SECRET_VALUE);
    let listed = mailoauth::service::custody::contents(&svc.state).unwrap();
    assert!(
        listed
            .iter()
            .any(|h| h.kind == mailoauth::service::custody::HeldKind::Secret && h.path == held),
        "{listed:?}"
    );
    // The reader cannot read the custody file.
    let cat = Command::new("runuser")
        .args(["-u", &reader.0, "--", "cat"])
        .arg(&held)
        .output()
        .unwrap();
    assert!(!cat.status.success(), "the reader read the custody file");

    // The service refreshes (the reader's report forces it) with the secret from custody.
    let before = svc.held();
    let reported = printed(
        &svc.token(Some(&reader.0), &["--rejected", "535 5.7.8 no"]),
        "the reader's report",
    );
    assert_ne!(
        reported,
        before.access_token.expose().as_str(),
        "refreshed with the held secret"
    );
    assert_eq!(
        printed(&svc.token(Some(&reader.0), &[]), "the reader's token"),
        reported
    );

    // No answer carries the secret, to the reader or to a manager.
    for body in [
        r#"{"v":1,"op":"status"}"#,
        r#"{"v":1,"op":"hello"}"#,
        r#"{"v":1,"op":"token","account":"alice"}"#,
    ] {
        let answer = ask_as(&reader.0, &svc.socket, body);
        assert!(!answer.contains(SECRET_VALUE), "{body}: {answer}");
        assert!(answer.contains("\"ok\""), "{body}: {answer}");
    }
    let status = ask(&svc.socket, Request::Status).unwrap();
    assert!(!status.to_string().contains(SECRET_VALUE), "{status}");
    // A reader may not hand a secret over (it could point the account at another client).
    let answer = ask_as(
        &reader.0,
        &svc.socket,
        r#"{"v":1,"op":"put_secret","account":"alice","kind":"client_secret","value":"evil"}"#,
    );
    assert!(answer.contains("refused"), "{answer}");
    assert_eq!(
        std::fs::read_to_string(&held).unwrap().trim(),
        SECRET_VALUE,
        "the reader changed the held secret"
    );

    // A manager hands a wrong secret over: the answer does not echo it, and the next refresh is
    // refused by the provider (the service uses what custody holds); the right one again works.
    let put = |value: &str| {
        ask(
            &svc.socket,
            Request::PutSecret {
                account: "alice".into(),
                kind: SecretKind::ClientSecret,
                value: Secret::new(value.to_string()),
            },
        )
    };
    let answer = put("not-the-secret-value").unwrap();
    assert!(!answer.to_string().contains("not-the-secret"), "{answer}");
    let wrong = ask(
        &svc.socket,
        Request::Refresh {
            account: "alice".into(),
        },
    );
    assert!(wrong.is_err(), "a refresh with a wrong secret: {wrong:?}");
    // A private key for a client-secret account is refused (the kind is checked).
    let kind = ask(
        &svc.socket,
        Request::PutSecret {
            account: "alice".into(),
            kind: SecretKind::PrivateKey,
            value: Secret::new("-----BEGIN PRIVATE KEY-----".into()),
        },
    )
    .unwrap_err();
    assert!(kind.contains("needs client secret"), "{kind}");
    put(SECRET_VALUE).unwrap();
    let again = ask(
        &svc.socket,
        Request::Refresh {
            account: "alice".into(),
        },
    )
    .expect("a refresh with the right secret");
    assert!(again["access_token"].as_str().is_some());

    svc.stop();
    let log = svc.log_text() + &svc.stderr_all();
    assert!(
        log.contains("secret taken into the service's custody"),
        "{log}"
    );
    assert!(
        !log.contains(SECRET_VALUE) && !log.contains("not-the-secret"),
        "no secret in the log"
    );
}

/// With the service stopped, `token` (the direct path) never needs the held secret (it never
/// refreshes an account the service holds): it serves the cached token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_direct_path_never_reads_a_held_secret() {
    let (mut svc, _) = confidential("service-secret-direct", &[], None);
    svc.sign_in().await;
    svc.start();
    assert!(adopt(&svc).status.success());
    let held = svc.held();
    svc.stop();
    let out = svc.token(None, &[]);
    assert_eq!(
        printed(&out, "the cached token, service stopped"),
        held.access_token.expose().as_str()
    );
}

/// A private_key_jwt client: adopt moves its PEM private key into custody (reported as a private
/// key), and the service signs its client assertions with the held key when it refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_moves_a_private_key_and_the_service_signs_with_it() {
    let mut svc = Svc::new("service-secret-pkjwt", "mailapp-pkjwt", &[], "");
    // The provider's key is SEC1; mailoauth reads PKCS#8, as Azure and Google hand them out.
    let sec1 = common::peers::peers()
        .ca_file()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("keys/client-pkjwt.key.pem");
    let key = svc.dir.join("alice.key.pem");
    let ok = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
        .arg(&sec1)
        .arg("-out")
        .arg(&key)
        .status()
        .expect("run openssl");
    assert!(ok.success(), "convert {}", sec1.display());
    let pem = std::fs::read_to_string(&key).unwrap();
    let text = std::fs::read_to_string(&svc.config).unwrap().replace(
        "client_auth = \"none\"\n",
        &format!(
            "client_auth = \"private_key_jwt\"\nclient_secret = \"file:{}\"\nkey_id = \"mailapp-pkjwt-1\"\n",
            key.display()
        ),
    )
    // Signed in through the browser (loopback): the provider wants the client's assertion at
    // the token endpoint, which the loopback flow sends.
    .replace("flow = \"device_code\"", "flow = \"loopback\"");
    std::fs::write(&svc.config, text).unwrap();
    sign_in_loopback(&svc).await;
    svc.start();
    let out = adopt(&svc);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "adopt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("private key moved from file:"), "{stdout}");
    assert!(!key.exists(), "the old key file was removed");
    assert_eq!(
        std::fs::read_to_string(held_secret(&svc)).unwrap().trim(),
        pem.trim()
    );
    let before = svc.held();
    let refreshed = ask(
        &svc.socket,
        Request::Refresh {
            account: "alice".into(),
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "a refresh signed with the held key: {e}\n{}",
            svc.stderr_all()
        )
    });
    assert_ne!(
        refreshed["access_token"].as_str(),
        Some(before.access_token.expose().as_str())
    );
    svc.stop();
    assert!(!(svc.log_text() + &svc.stderr_all()).contains("PRIVATE KEY"));
}

/// An account adopted before secrets moved (its tokens held, its secret still in a file): a
/// second `adopt` moves only the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_of_a_held_account_moves_only_its_secret() {
    let (mut svc, file) = confidential("service-secret-again", &[], None);
    svc.sign_in().await;
    let tokens = svc.file_store().load(ALICE.0).unwrap().unwrap();
    service::make_service_held(&svc.config);
    svc.start();
    ask(
        &svc.socket,
        Request::PutTokens {
            account: "alice".into(),
            tokens: tokens.to_json(),
        },
    )
    .unwrap();
    let out = adopt(&svc);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("client secret moved from file:"),
        "{stdout}"
    );
    assert!(!file.exists());
    assert!(std::fs::read_to_string(&svc.config)
        .unwrap()
        .contains("client_secret = \"service\""));
    assert_eq!(
        svc.held().access_token.expose(),
        tokens.access_token.expose(),
        "the held tokens are untouched"
    );
    // Nothing left to move: said plainly.
    let again = adopt(&svc);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already held"));
    svc.stop();
}

/// The wizard's path for a new account with readers (src-tauri `authorize` then `save_setup`):
/// the typed secret is kept in the sign-in's private hand-over folder, used for the sign-in,
/// and given to the service after the tokens; the folder is gone afterwards, and the service
/// refreshes with the secret it now holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_hand_over_gives_the_typed_secret_to_the_service() {
    let (mut svc, _) = confidential("service-secret-wizard", &[], Some("service"));
    service::make_service_held(&svc.config);
    svc.start();
    let doc = mailoauth::config::load(&svc.config).unwrap();
    let mut auth = mailoauth::account::convert::auth_settings(doc.account("alice").unwrap());
    assert_eq!(
        auth.client_secret,
        Some(mailoauth::config::SecretRef::Service)
    );
    let mut handover = mailoauth::service::client::HandOver::new().unwrap();
    handover
        .keep_secret(&mut auth, &Secret::new(format!(" {SECRET_VALUE}\n")))
        .unwrap();
    let Some(mailoauth::config::SecretRef::File(kept)) = auth.client_secret.clone() else {
        panic!("{:?}", auth.client_secret)
    };
    common::browser::sign_in_device(&auth, handover.store(), ALICE).await;
    handover
        .give(&svc.socket, "alice", &mailoauth::oauth::store_key(&auth))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", svc.stderr_all()));
    drop(handover);
    assert!(!kept.exists(), "the hand-over folder is removed");
    assert_eq!(
        std::fs::read_to_string(held_secret(&svc)).unwrap().trim(),
        SECRET_VALUE
    );
    let refreshed = ask(
        &svc.socket,
        Request::Refresh {
            account: "alice".into(),
        },
    );
    assert!(refreshed.is_ok(), "{refreshed:?}");
    svc.stop();
}

/// Signs alice in with the loopback flow into the account's first store, playing the browser:
/// the provider's login form, then its redirect to mailoauth's listener.
async fn sign_in_loopback(svc: &Svc) {
    use mailoauth::oauth::{FlowEvent, FlowHooks};
    let doc = mailoauth::config::load(&svc.config).unwrap();
    let auth = mailoauth::account::convert::auth_settings(doc.account("alice").unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let on_event = |_: FlowEvent| {};
    let open = move |url: &str| tx.send(url.to_string()).map_err(|e| e.to_string());
    let hooks = FlowHooks::new(&on_event, &open);
    let browser = tokio::spawn(async move {
        let url = url::Url::parse(&rx.recv().await.expect("the browser was opened")).unwrap();
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("redirect_uri");
        let is_app = |u: &url::Url| u.as_str().starts_with(&redirect);
        let b = common::browser::Browser::new();
        let (interaction, _) = b.follow(url, is_app).await;
        let (landing, _) = b.login(&interaction, ALICE, is_app).await;
        reqwest::get(landing)
            .await
            .expect("the redirect to mailoauth");
    });
    mailoauth::oauth::authorize(&auth, &svc.file_store(), &hooks)
        .await
        .expect("loopback sign-in with private_key_jwt");
    browser.await.unwrap();
}

const INSIDE: &str = "MAILOAUTH_TEST_IN_KEYCTL_SESSION";

/// A secret in the admin's keyring (kernel keyutils, inside a fresh session keyring) moves into
/// custody, and the keyring entry is deleted once the service took it.
#[test]
fn adopt_moves_a_keyring_secret_and_deletes_the_entry() {
    if std::env::var_os(INSIDE).is_none() {
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new("keyctl")
            .args(["session", "-"])
            .arg(exe)
            .args([
                "--exact",
                "adopt_moves_a_keyring_secret_and_deletes_the_entry",
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
    let entry = format!("client-secret/test-{}", std::process::id());
    mailoauth::store::keyring::write_secret("mailoauth", &entry, &Secret::new(SECRET_VALUE.into()))
        .expect("the secret in the session keyring");
    let (mut svc, _) = confidential(
        "service-secret-keyring",
        &[],
        Some(&format!("keyring:mailoauth/{entry}")),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(svc.sign_in());
    svc.start();
    let out = adopt(&svc);
    assert!(
        out.status.success(),
        "adopt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        mailoauth::store::keyring::read_secret("mailoauth", &entry).is_err(),
        "the keyring entry was deleted"
    );
    let config = std::fs::read_to_string(&svc.config).unwrap();
    assert!(config.contains("client_secret = \"service\""), "{config}");
    assert_eq!(
        std::fs::read_to_string(held_secret(&svc)).unwrap().trim(),
        SECRET_VALUE
    );
    let refreshed = ask(
        &svc.socket,
        Request::Refresh {
            account: "alice".into(),
        },
    );
    assert!(refreshed.is_ok(), "{refreshed:?}");
    svc.stop();
}

/// A secret in an environment variable is left there, and the admin is told the service must
/// have the variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_leaves_an_env_secret_and_says_so() {
    std::env::set_var("MAILOAUTH_TEST_SECRET", SECRET_VALUE);
    let (mut svc, _) = confidential("service-secret-env", &[], Some("env:MAILOAUTH_TEST_SECRET"));
    svc.sign_in().await;
    svc.start();
    let out = adopt(&svc);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("MAILOAUTH_TEST_SECRET") && stdout.contains("environment"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(&svc.config).unwrap();
    assert!(
        config.contains("client_secret = \"env:MAILOAUTH_TEST_SECRET\""),
        "{config}"
    );
    assert!(!held_secret(&svc).exists());
    svc.stop();
}
