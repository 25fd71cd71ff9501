#![cfg(windows)] // a real Windows runner: the release workflow's `windows-service` job
//! The installed Windows service on a real Windows (what Wine cannot prove), in two steps the
//! release workflow runs around its own steps (.github/workflows/release.yml):
//!
//! 1. `machine_config`, before the installer: writes the machine config
//!    `%ProgramData%\mailoauth\mailoauth.toml` with account `alice` at the real provider
//!    (tests/peers/op on Node, the only peer a Windows runner has; its issuer from the peers
//!    file `MAILOAUTH_PEERS_ENV`), readable by the local user `MAILOAUTH_READER` only.
//! 2. `sign_in_and_adopt`, after our installer ran with /S: the installed `mailoauth.exe` (on
//!    the PATH the installer set) signs `alice` in (device flow, approved by the scripted
//!    browser) and hands the tokens to the running service over `\\.\pipe\mailoauth`
//!    (`service adopt`); `mailoauth token` as the administrator is then answered by the service.
//!
//! The workflow then runs `mailoauth token alice` as the reader (a token) and as another local
//! user (refused, status 77) with PowerShell's `Start-Process -Credential`: the pipe's security
//! descriptor and the reader rule, enforced by Windows itself.
//!
//! Ignored in every plain run (they change the machine); on Linux they do not even compile in.

mod common;

use common::peers::{peers, ALICE, MAIL_SCOPES, PUBLIC_CLIENT};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(180);

fn machine_config() -> PathBuf {
    let data = std::env::var("ProgramData").unwrap_or_else(|_| String::from(r"C:\ProgramData"));
    PathBuf::from(data).join("mailoauth").join("mailoauth.toml")
}

/// The sign-in's own token file (the tokens go to the service on adopt).
fn sign_in_tokens() -> PathBuf {
    std::env::temp_dir()
        .join("mailoauth-real-windows")
        .join("alice.tokens")
}

#[test]
#[ignore = "changes the machine: the release workflow's Windows job runs it before the installer"]
fn machine_config_for_the_real_windows_run() {
    let reader = std::env::var("MAILOAUTH_READER")
        .expect("MAILOAUTH_READER: the local user allowed to read alice's token");
    let issuer = peers().issuer();
    let scopes = MAIL_SCOPES
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        r#"version = 1

[[account]]
name = "alice"
purpose = "send"
mailbox = "{mailbox}"
token_store = 'file:{store}'
readers = ["{reader}"]

[account.smtp]
host = "127.0.0.1"
port = 587
security = "start_tls"
sasl = "xoauth2"

[account.auth]
provider = "generic"
client_id = "{PUBLIC_CLIENT}"
client_auth = "none"
flow = "device_code"
scopes = [{scopes}]

[account.auth.endpoints]
issuer = "{issuer}"
authorization = "{issuer}/auth"
token = "{issuer}/token"
device_authorization = "{issuer}/device/auth"
"#,
        mailbox = ALICE.0,
        store = sign_in_tokens().display(),
    );
    let path = machine_config();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::create_dir_all(sign_in_tokens().parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    println!(
        "real windows: wrote {} (alice, readers = [{reader}])",
        path.display()
    );
}

fn mailoauth() -> Command {
    // The installed one, found on the PATH the installer set (the workflow checks that too).
    let exe = std::env::var("MAILOAUTH_EXE").unwrap_or_else(|_| String::from("mailoauth.exe"));
    let mut c = Command::new(exe);
    c.stdin(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the installed service: the release workflow's Windows job runs it after the installer"]
async fn sign_in_and_adopt_on_real_windows() {
    let config = machine_config();
    let config_s = config.to_string_lossy().into_owned();

    // 1. The administrator signs alice in (device flow); the scripted browser approves.
    let (status, err) = common::browser::approve_cli_device_sign_in(
        {
            let mut c = mailoauth();
            c.args(["reauthorize", "alice", "--config", &config_s, "--no-check"]);
            c
        },
        ALICE,
        STEP,
        "mailoauth reauthorize",
    )
    .await;
    println!("real windows: mailoauth reauthorize alice: {status}\n{err}");
    assert!(status.success(), "the sign-in failed: {err}");

    // 2. The tokens go to the installed service over its pipe.
    let out = mailoauth()
        .args(["service", "adopt", "--config", &config_s, "alice"])
        .output()
        .unwrap();
    println!(
        "real windows: mailoauth service adopt alice: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "adopt failed");

    // 3. The administrator (a manager) gets the token from the service.
    let out = mailoauth()
        .args(["token", "-v", "--config", &config_s, "alice"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    println!(
        "real windows: mailoauth token -v alice (administrator): {}, {} bytes\n{err}",
        out.status,
        out.stdout.len()
    );
    assert!(out.status.success(), "token: {err}");
    assert!(!out.stdout.is_empty());
    assert!(err.contains("answered by the mailoauth service"), "{err}");
}
