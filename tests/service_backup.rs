//! `mailoauth service backup` / `restore` (issue #15, life cycle) and `mailoauth check NAME`
//! through the service, against the real provider, Postfix and Dovecot on loopback, with the
//! service run in the foreground as root:
//!
//! - An account held by the service is backed up while the service runs; the backup is `0600`,
//!   holds no token in clear, and a link at the output path is refused. The state folder and
//!   the config are wiped; a wrong passphrase and a truncated backup are refused (nothing
//!   written, the file unchanged); a service is started with no config (a fresh install), the
//!   restore puts both back and the service reloads them; the reader user gets the token with
//!   `mailoauth token`, and a forced refresh succeeds at the strictly rotating provider (the
//!   grant is alive). A non-manager may not back up (77); a restore under a service that holds
//!   the account is refused (75).
//! - `mailoauth check alice` on the held account: the service runs the check (SMTP and IMAP
//!   logins pass); a non-manager is refused naming the rule (77); after the provider revoked
//!   the grant the check says the account must sign in again (80).
#![cfg(target_os = "linux")]

mod common;
#[path = "common/service.rs"]
mod service;

use common::peers::{peers, PUBLIC_CLIENT};
use service::{printed, OsUser, Svc, BIN};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const PASSPHRASE: &str = "correct horse battery staple";

/// The account's config gets an IMAP server too (Dovecot), so a check logs in to both.
fn with_imap(svc: &Svc) {
    let text = std::fs::read_to_string(&svc.config).unwrap();
    let text = text.replace("purpose = \"send\"", "purpose = \"both\"");
    let text = format!(
        "{text}\n[account.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"tls\"\nsasl = \"xoauth2\"\n",
        peers().imaps_port()
    );
    std::fs::write(&svc.config, text).unwrap();
}

fn service_cmd(svc: &Svc, args: &[&str], passphrase_file: &Path) -> Output {
    Command::new(BIN)
        .arg("service")
        .args(args)
        .arg("--config")
        .arg(&svc.config)
        .arg("--state-dir")
        .arg(&svc.state)
        .arg("--passphrase-file")
        .arg(passphrase_file)
        .env("MAILOAUTH_SERVICE_SOCKET", &svc.socket)
        .env_remove("MAILOAUTH_CONFIG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn check(svc: &Svc, user: Option<&str>) -> Output {
    let mut c = match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--", BIN]);
            c
        }
        None => Command::new(BIN),
    };
    c.arg("check")
        .arg("--config")
        .arg(&svc.config)
        .arg("--socket")
        .arg(&svc.socket)
        .arg("alice")
        .env_remove("MAILOAUTH_CONFIG")
        .env_remove("MAILOAUTH_LOG_DIR")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_the_config_and_the_custody_and_the_grant_lives() {
    let reader = OsUser::new("mobackr", &[]);
    let mut svc = Svc::new("service-backup", PUBLIC_CLIENT, &[&reader.0], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let held = svc.held();
    let config_before = std::fs::read_to_string(&svc.config).unwrap();
    let config_mode_before = std::fs::metadata(&svc.config).unwrap().permissions().mode() & 0o7777;

    let secrets = svc.dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    let pass = secrets.join("pass");
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
    let wrong = secrets.join("wrong");
    std::fs::write(&wrong, "not the passphrase at all\n").unwrap();

    // A link at the output path is refused, and its target is untouched.
    let target = svc.dir.join("elsewhere");
    std::fs::write(&target, "keep me").unwrap();
    let link = svc.dir.join("linked.age");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for force in [false, true] {
        let mut args = vec!["backup", link.to_str().unwrap()];
        if force {
            args.push("--force");
        }
        let out = service_cmd(&svc, &args, &pass);
        assert_eq!(out.status.code(), Some(73), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("symbolic link"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");

    // The backup, taken while the service runs.
    let file = svc.dir.join("machine.age");
    let before = svc.held();
    let out = service_cmd(&svc, &["backup", file.to_str().unwrap()], &pass);
    assert!(out.status.success(), "backup: {}", text(&out.stderr));
    let after = svc.held();
    let said = text(&out.stdout);
    assert!(said.contains("1 custody file"), "{said}");
    assert!(said.contains("rotates refresh tokens strictly"), "{said}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "the backup is owner-only");
    let bytes = std::fs::read(&file).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    for secret in [&held, &before, &after].iter().flat_map(|t| {
        [
            t.access_token.expose().as_str(),
            t.refresh_token.as_ref().unwrap().expose().as_str(),
        ]
    }) {
        assert!(!raw.contains(secret), "a token in clear in the backup");
    }
    assert!(
        !raw.contains(&peers().issuer().to_string()),
        "the config in clear"
    );
    // An existing file is not overwritten without --force.
    let out = service_cmd(&svc, &["backup", file.to_str().unwrap()], &pass);
    assert_eq!(out.status.code(), Some(73), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // Restore refuses to run under a running service that holds the account (it would write
    // its tokens from memory over the restored ones).
    let out = service_cmd(&svc, &["restore", "--force", file.to_str().unwrap()], &pass);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Stop it first") && err.contains("\"alice\""),
        "{err}"
    );

    // A user who does not manage the service may not back up, and is told the rule.
    let out = Command::new("runuser")
        .args(["-u", &reader.0, "--", BIN, "service", "backup"])
        .arg(svc.dir.join("by-reader.age"))
        .arg("--config")
        .arg(&svc.config)
        .arg("--passphrase-env")
        .arg("HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("root") && err.contains("mailoauth"), "{err}");
    assert!(!svc.dir.join("by-reader.age").exists());

    // The machine is lost: the service stops, its state folder and the config are gone.
    assert!(svc.stop().success());
    std::fs::remove_dir_all(&svc.state).unwrap();
    std::fs::remove_file(&svc.config).unwrap();

    // A wrong passphrase: refused (77), nothing written, the backup unchanged.
    let out = service_cmd(&svc, &["restore", file.to_str().unwrap()], &wrong);
    assert_eq!(out.status.code(), Some(77), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("passphrase does not open"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !svc.config.exists() && !svc.state.exists(),
        "nothing written"
    );
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "the backup unchanged");

    // A truncated backup: refused as damaged (65), nothing written.
    let cut = svc.dir.join("cut.age");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let out = service_cmd(&svc, &["restore", cut.to_str().unwrap()], &pass);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("damaged"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !svc.config.exists() && !svc.state.exists(),
        "nothing written"
    );

    // An existing config is not replaced without --force.
    std::fs::write(&svc.config, "# another machine's\n").unwrap();
    let out = service_cmd(&svc, &["restore", file.to_str().unwrap()], &pass);
    assert_eq!(out.status.code(), Some(73), "{}", text(&out.stderr));
    assert!(!svc.state.exists(), "nothing written");
    std::fs::remove_file(&svc.config).unwrap();

    // The new machine: the service is installed and running, with no config yet; the restore
    // writes the files and the service reloads them.
    svc.start();
    let out = service_cmd(&svc, &["restore", file.to_str().unwrap()], &pass);
    assert!(
        out.status.success(),
        "restore: {}\n{}",
        text(&out.stderr),
        svc.stderr_all()
    );
    assert!(
        text(&out.stdout).contains("(reload)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read_to_string(&svc.config).unwrap(), config_before);
    let config_mode = std::fs::metadata(&svc.config).unwrap().permissions().mode() & 0o7777;
    assert_eq!(config_mode, config_mode_before, "the config's mode is kept");
    let tokens_dir = svc.state.join("tokens");
    let dir_mode = std::fs::metadata(&tokens_dir).unwrap().permissions().mode() & 0o7777;
    assert_eq!(dir_mode, 0o700, "the custody folder is owner-only");
    for e in std::fs::read_dir(&tokens_dir).unwrap().flatten() {
        let m = e.metadata().unwrap().permissions().mode() & 0o7777;
        assert_eq!(m, 0o600, "{:?} is owner-only", e.file_name());
    }
    let restored = svc.held();
    assert!(
        restored == before || restored == after,
        "the custody holds the backed-up tokens"
    );
    // A second restore, now that the service holds the account, is refused.
    let out = service_cmd(&svc, &["restore", "--force", file.to_str().unwrap()], &pass);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));

    // The reader gets the token from the reloaded service, and a forced refresh (the reader's
    // report of a rejected token) succeeds at the strictly rotating provider with the restored
    // refresh token.
    let out = svc.token(Some(&reader.0), &[]);
    let served = printed(&out, "the reader after the restore");
    assert!(!served.is_empty());
    let fresh = printed(
        &svc.token(Some(&reader.0), &["--rejected", "535 5.7.8 rejected"]),
        "a forced refresh after the restore",
    );
    assert_ne!(fresh, served);
    assert_ne!(
        svc.held().refresh_token,
        restored.refresh_token,
        "the provider rotated the restored refresh token: the grant is alive"
    );
    svc.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_of_a_held_account_runs_in_the_service() {
    let stranger = OsUser::new("mochkno", &[]);
    let mut svc = Svc::new("service-check", PUBLIC_CLIENT, &[&stranger.0], "");
    with_imap(&svc);
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    // Others may read the machine config (it holds no secret), so the refusal below is the
    // service's, not the file's.
    std::fs::set_permissions(&svc.config, std::fs::Permissions::from_mode(0o644)).unwrap();

    let out = check(&svc, None);
    let said = text(&out.stdout);
    assert!(
        out.status.success(),
        "check: {said}\n{}\n{}",
        text(&out.stderr),
        svc.stderr_all()
    );
    assert!(said.contains("PASSED"), "{said}");
    assert!(
        said.contains("SMTP 127.0.0.1") && said.contains("IMAP 127.0.0.1"),
        "{said}"
    );
    assert!(text(&out.stderr).contains("held by the mailoauth service"));

    // A reader who is not a manager may not run checks: refused, naming the rule.
    let out = check(&svc, Some(&stranger.0));
    assert_eq!(out.status.code(), Some(77), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("group") && err.contains("mailoauth") && err.contains("manage"),
        "{err}"
    );

    // The provider revokes the grant: the check's refresh shows it.
    let rt = svc.held().refresh_token.unwrap();
    service::revoke_at_provider(rt.expose(), PUBLIC_CLIENT).await;
    let out = check(&svc, None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(80), "{err}");
    assert!(err.contains("mailoauth reauthorize"), "{err}");
    svc.stop();
}
