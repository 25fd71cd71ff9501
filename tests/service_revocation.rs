//! The token service tells the truth about a revoked grant (issue: the service's "Truth" and
//! "Telling the admin"), against the real provider and mail server on loopback:
//!
//! - The service checks the account on a short, test-set schedule: a forced refresh, then the
//!   SMTP login with the new token.
//! - The provider revokes the grant: within the check interval `mailoauth status` says NEEDS
//!   RE-AUTHORIZATION (exit 80) and names `mailoauth reauthorize`, and the admin's hook ran once,
//!   with the account, mailbox, state, diagnosis and the re-authorization command in its
//!   environment, and no token.
//! - `mailoauth reauthorize alice` (device code approved by the scripted browser) hands the new
//!   tokens to the service: `status` is OK again, and the hook ran exactly once more (`ok`).
#![cfg(target_os = "linux")]

mod common;
#[path = "common/service.rs"]
mod service;

use common::peers::{ALICE, PUBLIC_CLIENT};
use service::{printed, Svc, BIN};
use std::process::{Command, Output};
use std::time::Duration;

/// A hook that appends its environment (one line per run, `MAILOAUTH_*` only, sorted) to `out`.
fn hook(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
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

fn runs(out: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
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

/// Polls `status` (every 500 ms, at most 120 s: a bound against a hang, not a timing claim)
/// until its text contains `want`; returns the last output.
fn wait_status(svc: &Svc, want: &str) -> Output {
    let mut last = None;
    for _ in 0..240 {
        let out = status(svc);
        if String::from_utf8_lossy(&out.stdout).contains(want) {
            return out;
        }
        last = Some(out);
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = last.unwrap();
    panic!(
        "status never said {want:?}: {}\n{}\nservice: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        svc.stderr_all()
    );
}

/// Polls the hook's output until it has `n` runs (bounded as above).
fn wait_runs(out: &std::path::Path, n: usize, svc: &Svc) -> Vec<String> {
    for _ in 0..240 {
        let r = runs(out);
        if r.len() >= n {
            return r;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "the hook did not run {n} time(s): {:?}\nservice: {}",
        runs(out),
        svc.stderr_all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_reaches_status_and_the_hook_once_and_reauthorize_heals_it() {
    let dir = std::env::temp_dir().join(format!("mailoauth-revoke-hook-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (script, out) = hook(&dir);
    let service = format!(
        "[service]\ncheck_every_secs = 3\nhook = \"{}\"\n",
        script.display()
    );
    let mut svc = Svc::new("revoke", PUBLIC_CLIENT, &[], &service);
    svc.sign_in().await;
    svc.start();
    svc.adopt();

    // The first check passes (refresh and SMTP login): the account is OK, and an account first
    // seen working is not announced.
    let ok = wait_status(&svc, "alice (");
    let _ = ok;
    let ok = wait_status(&svc, "last check 2");
    let text = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(text.contains(": OK"), "{text}");
    assert!(ok.status.success(), "{text}");
    assert!(
        runs(&out).is_empty(),
        "no hook for a working account: {:?}",
        runs(&out)
    );
    let token_before = printed(&svc.token(None, &[]), "token before the revocation");

    // The provider revokes the grant (an admin removed the app's access in the console).
    let held = svc.held();
    service::revoke_at_provider(
        held.refresh_token.as_ref().unwrap().expose(),
        &svc.client_id,
    )
    .await;

    let bad = wait_status(&svc, "NEEDS RE-AUTHORIZATION");
    let text = String::from_utf8_lossy(&bad.stdout).to_string();
    assert_eq!(bad.status.code(), Some(80), "{text}");
    assert!(text.contains("mailoauth reauthorize alice"), "{text}");
    let r = wait_runs(&out, 1, &svc);
    assert_eq!(r.len(), 1, "the hook ran once for the revocation: {r:?}");
    let env = &r[0];
    for want in [
        "MAILOAUTH_ACCOUNT=alice|",
        &format!("MAILOAUTH_MAILBOX={}|", ALICE.0),
        "MAILOAUTH_STATE=needs_reauthorization|",
        "MAILOAUTH_REAUTHORIZE=mailoauth reauthorize alice",
    ] {
        assert!(env.contains(want), "hook environment lacks {want:?}: {env}");
    }
    assert!(
        !env.contains(&token_before) && !env.contains(held.access_token.expose()),
        "no token in the hook's environment: {env}"
    );
    // More checks pass by (the interval is 3 s); the state did not change, so no more runs.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        runs(&out).len(),
        1,
        "one run per state change: {:?}",
        runs(&out)
    );

    // One command brings it back: reauthorize signs in (device code, approved by the scripted
    // browser) and hands the new tokens to the service.
    let printed_err = svc.reauthorize_device("alice", ALICE).await;
    assert!(
        printed_err.contains("service's custody"),
        "reauthorize says where the tokens went: {printed_err}"
    );

    let healed = wait_status(&svc, ": OK");
    assert!(healed.status.success());
    let r = wait_runs(&out, 2, &svc);
    assert_eq!(r.len(), 2, "the hook ran once more: {r:?}");
    assert!(r[1].contains("MAILOAUTH_STATE=ok|"), "{}", r[1]);
    let token_after = printed(&svc.token(None, &[]), "token after re-authorization");
    assert_ne!(token_after, token_before, "a new token is served");
    svc.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
