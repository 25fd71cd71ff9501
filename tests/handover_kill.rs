//! A sign-in's tokens on their way into the token service never touch a disk: `mailoauth
//! reauthorize` of a service-held account, killed with SIGKILL between the sign-in and the
//! hand-over (the service is stopped with SIGSTOP so the hand-over waits), leaves no token file
//! in its temporary folder or its runtime folder (an earlier version kept them in a
//! `mailoauth-handover-*` folder, which a kill left behind with the tokens in it).
#![cfg(target_os = "linux")]

mod common;
#[path = "common/service.rs"]
mod service;

use common::browser::Browser;
use common::peers::{ALICE, PUBLIC_CLIENT};
use service::{wait_bounded, Svc, BIN};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reauthorize_killed_between_sign_in_and_hand_over_leaves_no_token_on_disk() {
    let mut svc = Svc::new("handover-kill", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    // The CLI's own temporary and runtime folders, so that whatever it leaves is seen.
    let tmp = svc.dir.join("cli-tmp");
    let runtime = svc.dir.join("cli-runtime");
    for d in [&tmp, &runtime] {
        std::fs::create_dir_all(d).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut child = Command::new(BIN)
        .args(["reauthorize", "alice", "--no-check", "--config"])
        .arg(&svc.config)
        .arg("--socket")
        .arg(&svc.socket)
        .env_remove("MAILOAUTH_CONFIG")
        .env("TMPDIR", &tmp)
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cli = child.id();
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel::<String>();
    let (signed_tx, signed_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = common::browser::device_url_in(&line) {
                let _ = url_tx.send(url);
            }
            if line.starts_with("Granted scopes:") {
                let _ = signed_tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let complete =
        tokio::task::spawn_blocking(move || url_rx.recv_timeout(Duration::from_secs(120)))
            .await
            .unwrap()
            .expect("reauthorize printed the device code's complete URL");
    // The service stops answering: the hand-over after the sign-in waits for it.
    let service_pid = svc.child.as_ref().unwrap().id() as i32;
    // SAFETY: signals our own child.
    unsafe { libc::kill(service_pid, libc::SIGSTOP) };
    Browser::new().approve_device(&complete, ALICE).await;
    let signed =
        tokio::task::spawn_blocking(move || signed_rx.recv_timeout(Duration::from_secs(120)))
            .await
            .unwrap();
    // Signed in, tokens obtained, the hand-over waiting: killed now.
    // SAFETY: signals our own child.
    unsafe { libc::kill(cli as i32, libc::SIGKILL) };
    let status = wait_bounded(&mut child, "the killed reauthorize");
    unsafe { libc::kill(service_pid, libc::SIGCONT) };
    let printed = reader.join().unwrap();
    assert!(
        signed.is_ok(),
        "the sign-in finished before the kill: {printed}"
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "{printed}"
    );
    let mut left = Vec::new();
    files(&tmp, &mut left);
    files(&runtime, &mut left);
    // And nothing named for the hand-over in the system's temporary folder either.
    for e in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("mailoauth-handover-{cli}-")) {
            left.push(e.path());
        }
    }
    assert!(left.is_empty(), "left on disk after the kill: {left:?}");
    // The service still serves the account (with the grant it held).
    let out = svc.token(None, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    svc.stop();
}
