//! The service's notifier runs the admin's real hook program: once per state change, with the
//! documented environment and nothing else of the service's, and a hook that hangs is killed at
//! its bound together with what it started.
#![cfg(unix)]

use mailoauth::service::notify::{AccountState, Event, HookOutcome, Notifier};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SERVICE_SECRET: &str = "Sup3rS3cretClientValueFromTheServiceEnv";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailoauth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The notifier refuses hooks in folders others may write (whatever the umask).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn the_hook_runs_once_per_state_change_with_only_the_documented_environment() {
    // What an `env:` client secret looks like in the service's environment.
    std::env::set_var("MAILOAUTH_CLIENT_SECRET", SERVICE_SECRET);
    let dir = temp_dir("hook-env");
    let out = dir.join("runs.txt");
    let hook = script(
        &dir,
        "hook.sh",
        &format!(
            "env >> '{}'\necho '--- end of run' >> '{}'\necho 'hook says: token ya29.a0AfH6SMBx3kq9Zs7t1lWq8vY2pQ' >&2\nexit 3",
            out.display(),
            out.display()
        ),
    );
    let mut notifier = Notifier::new(Some(hook), BTreeMap::new()).with_os_log(false);
    let failing = AccountState::Failing;
    let event = Event {
        account: "printer",
        mailbox: "scan@example.com",
        state: &failing,
        diagnosis: Some("network_unreachable"),
        detail: "token endpoint unreachable; sent Authorization: Bearer ya29.a0AfH6SMBx3kq9Zs7t1lWq8vY2pQ\nclient_secret=Sup3rS3cretClientValueFromTheServiceEnv",
    };
    assert!(notifier.observe(&event));
    assert!(!notifier.observe(&event), "the same state notified twice");
    let runs = notifier.wait_hooks();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].outcome, HookOutcome::Exited(Some(3)));
    assert!(runs[0].stderr.contains("hook says"), "{runs:?}");
    assert!(
        !runs[0].stderr.contains("ya29."),
        "stderr not scrubbed: {runs:?}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("--- end of run").count(), 1, "{text}");

    let reauth = AccountState::NeedsReauthorization;
    let event = Event {
        state: &reauth,
        diagnosis: Some("invalid_grant"),
        detail: "the refresh token was revoked",
        ..event
    };
    assert!(notifier.observe(&event));
    assert!(!notifier.observe(&event));
    let runs = notifier.wait_hooks();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let runs_text: Vec<&str> = text.split("--- end of run").collect();
    assert_eq!(runs_text.len(), 3, "{text}");

    let first: BTreeMap<&str, &str> = runs_text[0]
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    assert_eq!(first["MAILOAUTH_ACCOUNT"], "printer");
    assert_eq!(first["MAILOAUTH_MAILBOX"], "scan@example.com");
    assert_eq!(first["MAILOAUTH_STATE"], "failing");
    assert_eq!(first["MAILOAUTH_DIAGNOSIS"], "network_unreachable");
    assert_eq!(first["MAILOAUTH_REAUTHORIZE"], "");
    assert!(first["MAILOAUTH_DETAIL"].contains("token endpoint unreachable"));
    assert!(first["MAILOAUTH_DETAIL"].contains("[redacted]"));
    let second: BTreeMap<&str, &str> = runs_text[1]
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    assert_eq!(second["MAILOAUTH_STATE"], "needs_reauthorization");
    assert_eq!(second["MAILOAUTH_DIAGNOSIS"], "invalid_grant");
    assert_eq!(
        second["MAILOAUTH_REAUTHORIZE"],
        "mailoauth reauthorize printer"
    );
    assert_eq!(second["MAILOAUTH_DETAIL"], "the refresh token was revoked");

    // No secret, and nothing of the service's environment beyond PATH (sh adds PWD, SHLVL, _).
    assert!(!text.contains(SERVICE_SECRET), "{text}");
    assert!(!text.contains("ya29."), "{text}");
    assert!(!text.contains("MAILOAUTH_CLIENT_SECRET"), "{text}");
    for run in [&first, &second] {
        for name in run.keys() {
            assert!(
                name.starts_with("MAILOAUTH_")
                    || ["PATH", "PWD", "SHLVL", "_", "OLDPWD"].contains(name),
                "unexpected variable {name} in the hook's environment"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn alive(pid: &str) -> bool {
    // A zombie (no reaper in a container) counts as dead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_hook_that_hangs_is_killed_with_what_it_started() {
    let dir = temp_dir("hook-hang");
    let pid_file = dir.join("child.pid");
    let hook = script(
        &dir,
        "hang.sh",
        &format!("sleep 600 &\necho $! > '{}'\nwait", pid_file.display()),
    );
    let mut notifier = Notifier::new(Some(hook), BTreeMap::new())
        .with_os_log(false)
        .with_hook_timeout(Duration::from_secs(1));
    let state = AccountState::NeedsReauthorization;
    assert!(notifier.observe(&Event {
        account: "printer",
        mailbox: "scan@example.com",
        state: &state,
        diagnosis: None,
        detail: "",
    }));
    let runs = notifier.wait_hooks();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, HookOutcome::Killed, "{runs:?}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    // The kill is delivered before wait_hooks returns; allow the kernel a moment to tear down.
    let mut gone = false;
    for _ in 0..250 {
        if !alive(pid) {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone, "the hook's child {pid} outlived the kill");
    std::fs::remove_dir_all(&dir).unwrap();
}
