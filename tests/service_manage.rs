//! Managing the token service without root (issue #15 item 8, #16 "the wizard on Windows"): the
//! wizard's one elevated `mailoauth service install --manager USER` makes the desktop user a
//! member of the group `mailoauth`, after which that user saves the service's accounts into the
//! machine config over the socket (`save_account`), with no second prompt. Run as root against
//! a `service run` in the foreground, with OS users made by the test.
//!
//! - The membership counts at once, for a process started before it was granted (the service
//!   reads the group database, not the peer process's supplementary groups).
//! - The account saved by the manager is in the file the service reads, and the service holds it.
//! - A user who is not a manager is refused; nobody, root included, changes the `[service]`
//!   table (its hook runs as root) or names a file the service would read as root, over the
//!   socket.

#![cfg(unix)]
mod common;
#[path = "common/service.rs"]
mod service;

use common::peers::PUBLIC_CLIENT;
use mailoauth::service::protocol::Request;
use service::{config_text, output_bounded, OsGroup, OsUser, Svc, BIN};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Asks the service at `socket` as this process (root), from a thread of its own.
fn ask_as_root(
    socket: &Path,
    req: Request,
) -> Result<serde_json::Value, mailoauth::service::protocol::ErrorBody> {
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(mailoauth::service::client::ask(
            &socket,
            &req,
            Duration::from_secs(10),
        ))
        .expect("the service answers")
    })
    .join()
    .unwrap()
}

/// The user's own config file: the account `scanner`, held by the service, read by `lp`.
fn user_file(svc: &Svc, extra: &str) -> std::path::PathBuf {
    let text = config_text("service", PUBLIC_CLIENT, &["lp"], "")
        .replace("name = \"alice\"", "name = \"scanner\"");
    let path = svc.dir.join("user.toml");
    std::fs::write(&path, format!("{text}{extra}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path
}

#[test]
fn a_manager_made_by_install_saves_accounts_through_the_service_and_others_are_refused() {
    let group = OsGroup::ensure(mailoauth::service::peer::MANAGER_GROUP);
    let manager = OsUser::new("momgr", &[]);
    let stranger = OsUser::new("moother", &[]);
    let mut svc = Svc::new("service-manage", PUBLIC_CLIENT, &[], "");
    svc.start();
    let mine = user_file(&svc, "");
    let stage = svc.dir.join("stage");

    // The manager's process starts before the membership exists (like a wizard opened before
    // the install): its supplementary groups do not have `mailoauth`.
    let mut waiting = Command::new("runuser")
        .args(["-u", &manager.0, "--", "sh", "-c"])
        .arg(r#"read go; id -Gn; exec "$0" service save-account --from "$1" --socket "$2" scanner"#)
        .arg(BIN)
        .arg(&mine)
        .arg(&svc.socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The one elevated step: install (staged here: no systemd in CI) and make the user a manager.
    let out = Command::new(BIN)
        .args(["service", "install", "--for", "linux", "--root"])
        .arg(&stage)
        .args(["--manager", &manager.0])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "install --manager: {:?} {said} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("added {} to the group {}", manager.0, group.name)),
        "{said}"
    );
    assert!(stage.join("etc/systemd/system/mailoauth.service").is_file());

    // An option, not a user name, is refused before anything changes.
    let out = Command::new(BIN)
        .args(["service", "install", "--for", "linux", "--root"])
        .arg(&stage)
        .args(["--manager=-x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{out:?}");

    waiting.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = output_bounded(waiting, "the manager's save-account");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let groups_at_start = stdout.lines().next().unwrap_or_default();
    assert!(
        !groups_at_start.split_whitespace().any(|g| g == group.name),
        "the manager's process was started before the membership: {groups_at_start}"
    );
    assert!(
        out.status.success(),
        "the manager saves through the service: {:?} {stdout} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&svc.config.display().to_string()),
        "it names the machine config: {stdout}"
    );

    // The account is in the file the service reads, and the service holds it now.
    let doc = mailoauth::config::load(&svc.config).unwrap();
    let saved = doc.account("scanner").expect("scanner saved");
    assert!(mailoauth::service::is_service_owned(saved));
    assert_eq!(saved.readers, vec!["lp".to_string()]);
    assert!(doc.account("alice").is_ok(), "the other account stays");
    let status = ask_as_root(&svc.socket, Request::Status).unwrap();
    assert!(
        status["accounts"].to_string().contains("scanner"),
        "the service holds the saved account: {status}"
    );

    // The wizard's save (the account façade, from its draft) goes the same way: a Microsoft
    // 365 mailbox for the service, saved into the file the service reads.
    let draft = mailoauth::account::AccountDraft {
        provider: "microsoft".into(),
        cloud: mailoauth::provider::Cloud::Worldwide,
        tenant: Some("contoso.com".into()),
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        flow: mailoauth::provider::Flow::DeviceCode,
        purpose: mailoauth::provider::Purpose::Send,
        mailbox: "printer@contoso.com".into(),
        smtp: None,
        imap: None,
        client_secret: None,
        redirect_port: None,
        readers: vec!["lp".into()],
    };
    let socket = svc.socket.clone();
    let report = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(mailoauth::service::client::save_draft(
                &draft, "printer", None, &socket,
            ))
    })
    .join()
    .unwrap()
    .expect("the wizard's save through the service");
    assert!(report.saved);
    assert_eq!(report.path, svc.config.display().to_string());
    let doc = mailoauth::config::load(&svc.config).unwrap();
    let printer = doc.account("printer").expect("printer saved");
    assert!(mailoauth::service::is_service_owned(printer));
    assert_eq!(printer.mailbox, "printer@contoso.com");

    // The admin's home screen shows its own file: the accounts the service holds in the machine
    // config that this file does not name are listed too, marked with the file they are in.
    let (socket, own) = (svc.socket.clone(), mine.clone());
    let (all, overview) = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(mailoauth::service::client::home_status(
                &own,
                mailoauth::date::CivilDate::today(),
                &socket,
            ))
    })
    .join()
    .unwrap()
    .expect("the home screen's status");
    assert!(overview.running, "{overview:?}");
    let machine = svc.config.display().to_string();
    let shown = |name: &str| all.iter().find(|a| a.name == name).cloned();
    let printer = shown("printer").expect("the service's printer account on the home screen");
    assert_eq!(printer.mailbox, "printer@contoso.com");
    assert_eq!(printer.provider, "microsoft");
    assert_eq!(printer.held_in.as_deref(), Some(machine.as_str()));
    assert!(printer.service.is_some(), "with the service's times");
    let scanner = shown("scanner").expect("scanner, in the admin's own file");
    assert_eq!(
        scanner.held_in, None,
        "an account of the file shown is not elsewhere"
    );
    assert_eq!(
        all.iter().filter(|a| a.name == "scanner").count(),
        1,
        "listed once"
    );

    // A user who is not a manager is refused (77), and the file is not touched.
    let before = std::fs::read(&svc.config).unwrap();
    let other = {
        let mut c = Command::new("runuser");
        c.args([
            "-u",
            &stranger.0,
            "--",
            BIN,
            "service",
            "save-account",
            "--from",
        ])
        .arg(&mine)
        .arg("--socket")
        .arg(&svc.socket)
        .arg("scanner")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        output_bounded(c.spawn().unwrap(), "the stranger's save-account")
    };
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(77), "{stderr}");
    assert!(stderr.contains("manage"), "{stderr}");
    assert_eq!(std::fs::read(&svc.config).unwrap(), before);

    // Over the socket, not even root changes the [service] table: its hook runs as root.
    let with_hook = std::fs::read_to_string(user_file(
        &svc,
        "\n[service]\nhook = \"/usr/bin/touch /tmp/mailoauth-owned\"\n",
    ))
    .unwrap();
    let err = ask_as_root(
        &svc.socket,
        Request::SaveAccount {
            account_toml: with_hook,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "root_only", "{err:?}");
    assert!(err.message.contains("[service]"), "{err:?}");
    // Nor a client secret read from a file as root (and sent to the account's token endpoint).
    let with_file_secret = config_text("service", PUBLIC_CLIENT, &["lp"], "")
        .replace("name = \"alice\"", "name = \"scanner\"")
        .replace(
            "client_auth = \"none\"",
            "client_auth = \"client_secret_post\"\nclient_secret = \"file:/etc/shadow\"",
        );
    let err = ask_as_root(
        &svc.socket,
        Request::SaveAccount {
            account_toml: with_file_secret,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "root_only", "{err:?}");
    assert!(err.message.contains("auth.client_secret"), "{err:?}");
    // Nor an account the service would not hold.
    let direct = config_text("file:/tmp/x", PUBLIC_CLIENT, &[], "");
    let err = ask_as_root(
        &svc.socket,
        Request::SaveAccount {
            account_toml: direct,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "bad_request", "{err:?}");
    assert_eq!(
        std::fs::read(&svc.config).unwrap(),
        before,
        "nothing written"
    );
    let doc = mailoauth::config::load(&svc.config).unwrap();
    assert!(doc.config.service.is_none(), "no [service] table appeared");

    svc.stop();
    // The membership goes with the test's users (userdel), the group with OsGroup if made here.
    drop(manager);
}
