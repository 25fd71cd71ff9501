//! The token service mails the admin's notices through another account it holds (`[service]
//! notify_mail`), against the real provider, Dovecot submission, Postfix and Dovecot's Maildir on
//! loopback:
//!
//! - Two accounts held by the service: `alice` (the one that breaks) and `bob` (`via`). The
//!   provider revokes alice's grant: within the check interval a mail arrives in the admin's
//!   mailbox, sent from bob's mailbox over bob's SMTP login, with the mailbox and state in the
//!   subject, the diagnosis, the re-authorization command and the machine's name in the body, and
//!   no token. Exactly one over several check intervals, like the hook.
//! - `mailoauth reauthorize alice` heals it: the hook gets its `ok` run, and the mail its
//!   "works again" one.
//! - Then bob's own grant is revoked: a notice about `via` itself is never sent through it; no
//!   mail, and the service log says why (the hook still runs).
//! - A `notify_mail` naming no usable account or no valid address is refused at load, naming
//!   the key.
#![cfg(target_os = "linux")]

mod common;
#[path = "common/service.rs"]
mod service;

use common::peers::{peers, ALICE, BOB, PUBLIC_CLIENT};
use mailoauth::store::TokenStore;
use service::{config_text, Svc, BIN};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A hook that appends its `MAILOAUTH_*` environment (one line per run) to `out`.
fn hook(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("hook.sh");
    let out = dir.join("hook-runs.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv | grep '^MAILOAUTH_' | LC_ALL=C sort | tr '\\n' '|' >> '{}'\necho >> '{}'\n",
            out.display(),
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, out)
}

fn runs(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The config of `Svc` with a second account, `bob`, after `alice`.
fn two_accounts(tokens: &Path, service: &str) -> String {
    let text = config_text(
        &format!("file:{}", tokens.display()),
        PUBLIC_CLIENT,
        &[],
        service,
    );
    let at = text.find("[[account]]").expect("an account table");
    let bob = text[at..]
        .replace("name = \"alice\"", "name = \"bob\"")
        .replace(ALICE.0, BOB.0);
    format!("{text}\n{bob}")
}

fn status(svc: &Svc) -> Output {
    Command::new(BIN)
        .args(["status", "--config"])
        .arg(&svc.config)
        .arg("--socket")
        .arg(&svc.socket)
        .env_remove("MAILOAUTH_CONFIG")
        .output()
        .unwrap()
}

/// Polls (every 500 ms, at most 120 s: a bound against a hang, not a timing claim) until
/// `probe` gives a value.
fn wait_for<T>(what: &str, svc: &Svc, mut probe: impl FnMut() -> Option<T>) -> T {
    for _ in 0..240 {
        if let Some(v) = probe() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "gave up waiting for {what}\nstatus: {}\nservice: {}\nlog: {}",
        String::from_utf8_lossy(&status(svc).stdout),
        svc.stderr_all(),
        svc.log_text()
    );
}

/// `mailoauth status`'s lines about `account`, once they contain `want`.
fn wait_line(svc: &Svc, account: &str, want: &str) -> String {
    wait_for(&format!("{account}: {want}"), svc, || {
        let out = status(svc);
        String::from_utf8_lossy(&out.stdout)
            .split("\n\n")
            .find(|block| block.starts_with(&format!("{account} (")) && block.contains(want))
            .map(str::to_string)
    })
}

/// The admin's Maildir (Dovecot delivers to `<run>/dovecot/mail/<address>/Maildir`).
fn maildir(address: &str) -> PathBuf {
    peers()
        .env_file()
        .parent()
        .unwrap()
        .join("dovecot/mail")
        .join(address.to_lowercase())
        .join("Maildir")
}

/// The messages delivered to `dir`, oldest first (by delivery name, which starts with the time).
fn mails(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .collect();
    files.sort_by_key(|p| p.file_name().map(|n| n.to_owned()));
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// The subject, sender and decoded text of a delivered message (lettre writes a plain-text body
/// as 7bit, quoted-printable or base64, whichever fits; the notices are ASCII).
fn parts(raw: &str) -> (String, String, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").expect("headers and a body");
    // Unfolded headers.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let body = match header("Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "quoted-printable" => String::from_utf8(
            quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap(),
        )
        .unwrap(),
        "base64" => panic!("an ASCII notice is not base64: {raw}"),
        _ => body.to_string(),
    };
    (header("Subject"), header("From"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_account_is_mailed_to_the_admin_once_through_another_and_never_through_itself() {
    let service = "[service]\ncheck_every_secs = 3\n";
    let mut svc = Svc::new("notify-mail", PUBLIC_CLIENT, &[], service);
    let (script, out) = hook(&svc.dir);
    let service = format!("{service}hook = \"{}\"\n", script.display());
    std::fs::write(&svc.config, two_accounts(&svc.dir.join("tokens"), &service)).unwrap();
    svc.sign_in().await;
    let doc = mailoauth::config::load(&svc.config).unwrap();
    let bob_auth = mailoauth::account::convert::auth_settings(doc.account("bob").unwrap());
    common::browser::sign_in_device(&bob_auth, &svc.file_store(), BOB).await;
    svc.start();
    svc.adopt();
    let adopted = Command::new(BIN)
        .args(["service", "adopt", "--config"])
        .arg(&svc.config)
        .arg("--socket")
        .arg(&svc.socket)
        .arg("bob")
        .output()
        .unwrap();
    assert!(
        adopted.status.success(),
        "adopt bob: {}",
        String::from_utf8_lossy(&adopted.stderr)
    );
    // Both are held by the service now, so `via = "bob"` passes the config check: the service
    // is restarted with it.
    svc.stop();
    let admin = format!("admin-{}@example.test", std::process::id());
    let text = std::fs::read_to_string(&svc.config).unwrap();
    assert!(text.contains("[service]\n"), "{text}");
    std::fs::write(
        &svc.config,
        text.replacen(
            "[service]\n",
            &format!("[service]\nnotify_mail = {{ to = \"{admin}\", via = \"bob\" }}\n"),
            1,
        ),
    )
    .unwrap();
    svc.start();
    let inbox = maildir(&admin);

    // Both pass a check: nothing to tell about working accounts.
    wait_line(&svc, "alice", "last check 2");
    wait_line(&svc, "bob", "last check 2");
    let alice = svc.held();
    let bob = svc.custody().load(BOB.0).unwrap().expect("bob's tokens");
    assert!(mails(&inbox).is_empty(), "no mail about working accounts");
    assert!(runs(&out).is_empty(), "{:?}", runs(&out));

    // The provider revokes alice's grant, while the service is stopped: a check in flight at
    // that moment would see its fresh token rejected by the mail server ("failing") before the
    // next check sees the revocation, two true state changes a test cannot order. On its start
    // the check is due at once.
    svc.stop();
    service::revoke_at_provider(
        alice.refresh_token.as_ref().unwrap().expose(),
        PUBLIC_CLIENT,
    )
    .await;
    svc.start();
    wait_line(&svc, "alice", "NEEDS RE-AUTHORIZATION");
    let first = wait_for("the admin's mail", &svc, || {
        mails(&inbox).into_iter().next()
    });
    let (subject, from, body) = parts(&first);
    assert_eq!(
        subject,
        format!(
            "mailoauth: {} needs re-authorization (account alice)",
            ALICE.0
        )
    );
    assert!(from.contains(BOB.0), "sent from bob's mailbox: {from}");
    let host = mailoauth::service::notify::host_name();
    for want in [
        "account alice",
        "    mailoauth reauthorize alice",
        &format!("Machine: {host}"),
        "State: needs_reauthorization",
        "Why: ",
        "How to fix it:",
    ] {
        assert!(body.contains(want), "{want:?} not in the mail:\n{body}");
    }
    for token in [
        alice.access_token.expose().as_str(),
        alice.refresh_token.as_ref().unwrap().expose().as_str(),
        bob.access_token.expose().as_str(),
        bob.refresh_token.as_ref().unwrap().expose().as_str(),
    ] {
        assert!(!first.contains(token), "a token in the mail:\n{first}");
    }
    // Several check intervals (3 s each) later: still one mail, one hook run.
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(mails(&inbox).len(), 1, "one mail per state change");
    assert_eq!(runs(&out).len(), 1, "{:?}", runs(&out));

    // Re-authorized: the hook's `ok` run, and its mail.
    svc.reauthorize_device("alice", ALICE).await;
    wait_line(&svc, "alice", ": OK");
    let all = wait_for("the admin's second mail", &svc, || {
        let m = mails(&inbox);
        (m.len() >= 2).then_some(m)
    });
    let (subject, _, body) = parts(&all[1]);
    assert_eq!(
        subject,
        format!("mailoauth: {} works again (account alice)", ALICE.0)
    );
    assert!(body.contains("State: ok"), "{body}");
    let r = wait_for("the hook's second run", &svc, || {
        let r = runs(&out);
        (r.len() >= 2).then_some(r)
    });
    assert!(r[1].contains("MAILOAUTH_STATE=ok|"), "{r:?}");
    // alice is checked every 3 s now, each check observing `ok`: still no more mail.
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(mails(&inbox).len(), 2, "one mail per state change");
    assert_eq!(runs(&out).len(), 2, "{:?}", runs(&out));

    // bob, the account the mail goes through, is revoked: its own notice is not sent through
    // it; the log says why, the hook still runs.
    let bob = svc.custody().load(BOB.0).unwrap().expect("bob's tokens");
    svc.stop();
    service::revoke_at_provider(bob.refresh_token.as_ref().unwrap().expose(), PUBLIC_CLIENT).await;
    svc.start();
    wait_line(&svc, "bob", "NEEDS RE-AUTHORIZATION");
    let line = wait_for("the log line saying why no mail went out", &svc, || {
        svc.log_text()
            .lines()
            .find(|l| l.contains("could not be sent") && l.contains("bob"))
            .map(str::to_string)
    });
    assert!(
        line.contains("the account this notice is about"),
        "the log says why: {line}"
    );
    let r = wait_for("the hook's run for bob", &svc, || {
        let r = runs(&out);
        (r.len() >= 3).then_some(r)
    });
    assert!(r[2].contains("MAILOAUTH_ACCOUNT=bob|"), "{r:?}");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        mails(&inbox).len(),
        2,
        "no mail through the failing account"
    );

    // With bob not working, news about alice is not mailed through it either: the log says so.
    let alice = svc.held();
    svc.stop();
    service::revoke_at_provider(
        alice.refresh_token.as_ref().unwrap().expose(),
        PUBLIC_CLIENT,
    )
    .await;
    svc.start();
    wait_line(&svc, "alice", "NEEDS RE-AUTHORIZATION");
    let line = wait_for("the log line about alice's notice", &svc, || {
        svc.log_text()
            .lines()
            .find(|l| l.contains("could not be sent") && l.contains("account=alice"))
            .map(str::to_string)
    });
    assert!(
        line.contains("not working itself"),
        "the log says why: {line}"
    );
    assert_eq!(mails(&inbox).len(), 2, "no mail through a failing `via`");
    svc.stop();
}

#[test]
fn a_notify_mail_without_a_usable_account_or_address_is_refused_naming_the_key() {
    let dir =
        std::env::temp_dir().join(format!("mailoauth-notify-mail-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("m.toml");
    for (table, key) in [
        (
            "{ to = \"admin@example.test\", via = \"alice\" }",
            "service.notify_mail.via",
        ),
        (
            "{ to = \"admin@example.test\", via = \"nobody\" }",
            "service.notify_mail.via",
        ),
        (
            "{ to = \"not an address\", via = \"alice\" }",
            "service.notify_mail.to",
        ),
    ] {
        // alice's tokens are in a file store, not held by the service: not usable as `via`.
        let text = config_text(
            &format!("file:{}", dir.join("tokens").display()),
            PUBLIC_CLIENT,
            &[],
            &format!("[service]\nnotify_mail = {table}\n"),
        );
        std::fs::write(&config, text).unwrap();
        let out = Command::new(BIN)
            .args(["status", "--config"])
            .arg(&config)
            .env_remove("MAILOAUTH_CONFIG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{table}: accepted");
        assert!(err.contains(key), "{table}: the error names {key}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
