//! The mailoauth token service (issue #15), run in the foreground as root against the real
//! provider in `tests/peers/`, with OS users made by the test: who may read a token, that the
//! service survives a restart with its tokens, that the direct path never refreshes an account
//! the service holds, that a consumer's report of a rejected token gets a new one, that bad
//! frames are answered and logged, and that a cached `token` on the direct path writes nothing.

#![cfg(unix)]
mod common;
#[path = "common/service.rs"]
mod service;

use common::peers::{ALICE, PUBLIC_CLIENT};
use mailoauth::store::TokenStore;
use service::{mtime, printed, OsGroup, OsUser, Svc};
use std::io::{Read, Write};

/// A reader gets the token; a user who is not a reader is refused with a message naming the
/// account and the rule (exit 77), and the refusal is logged; a member of the `mailoauth`
/// group manages the service, so it may read every account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_get_the_token_others_are_refused_and_managers_manage() {
    let reader = OsUser::new("moread", &[]);
    let stranger = OsUser::new("mostrange", &[]);
    let group = OsGroup::ensure(mailoauth::service::peer::MANAGER_GROUP);
    let manager = OsUser::new("momanage", &[&group.name]);
    let mut svc = Svc::new(
        "service-readers",
        PUBLIC_CLIENT,
        &[&reader.0],
        "\n[service]\nreport_min_interval_secs = 86400\n",
    );
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let held = svc.held();

    let out = svc.token(Some(&reader.0), &["-v"]);
    assert_eq!(
        printed(&out, "the reader"),
        held.access_token.expose().as_str()
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("answered by the mailoauth service"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A reader's report refreshes once; a second one within the interval gets the same token
    // (a reader cannot make the service hammer the provider).
    let reported = printed(
        &svc.token(Some(&reader.0), &["--rejected", "535 5.7.8 no"]),
        "the reader's report",
    );
    assert_ne!(reported, held.access_token.expose().as_str());
    let again = printed(
        &svc.token(Some(&reader.0), &["--rejected", "535 5.7.8 no"]),
        "the reader's second report",
    );
    assert_eq!(again, reported, "the second report was not rate-limited");
    let held = svc.held();

    let out = svc.token(Some(&stranger.0), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "the stranger: {stderr}");
    assert!(out.stdout.is_empty(), "no token for the stranger");
    assert!(
        stderr.contains("\"alice\"") && stderr.contains("readers") && stderr.contains(&stranger.0),
        "the refusal names the account, the user and the rule: {stderr}"
    );
    // A stranger cannot make the service refresh either.
    let out = svc.token(Some(&stranger.0), &["--rejected", "535 5.7.8 no"]);
    assert_eq!(out.status.code(), Some(77));

    let out = svc.token(Some(&manager.0), &[]);
    assert_eq!(
        printed(&out, "the manager"),
        held.access_token.expose().as_str()
    );

    svc.stop();
    let log = svc.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("refused") && l.contains(&stranger.0) && l.contains("alice")),
        "the refusal is logged: {log}"
    );
    assert!(
        !log.contains(held.access_token.expose().as_str()),
        "no token in the log"
    );
}

/// The tokens survive a restart of the service: the same valid token is served after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_survives_a_service_restart() {
    let mut svc = Svc::new("service-restart", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let first = printed(&svc.token(None, &[]), "before the restart");
    assert!(svc.stop().success());
    svc.start();
    let out = svc.token(None, &["-v"]);
    assert_eq!(printed(&out, "after the restart"), first);
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered by the mailoauth service"));
    // The old store was emptied by the hand-over: the service is the only writer.
    assert!(svc.file_store().load(ALICE.0).unwrap().is_none());
    svc.stop();
}

/// With the service stopped, `token` as root serves a still-valid cached token read-only, and
/// refuses (69) to refresh an expired one itself; after the restart the service refreshes with
/// the stored refresh token, so the grant at the strictly rotating provider is alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_direct_path_never_refreshes_an_account_the_service_holds() {
    let mut svc = Svc::new("service-stopped", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let first = printed(&svc.token(None, &[]), "through the service");
    assert!(svc.stop().success());

    let custody_file = svc.custody().path_of(ALICE.0).unwrap();
    let before = mtime(&custody_file);
    let out = svc.token(None, &["-v"]);
    assert_eq!(printed(&out, "service stopped, token valid"), first);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("read only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mtime(&custody_file),
        before,
        "a read-only answer writes nothing"
    );

    let mut expired = svc.held();
    expired.expires_at = Some(1);
    svc.custody().save(ALICE.0, &expired).unwrap();
    for args in [&[][..], &["--refresh"][..]] {
        let out = svc.token(None, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(69), "{args:?}: {stderr}");
        assert!(
            stderr.contains("the mailoauth service is not running"),
            "{stderr}"
        );
    }
    let after = svc.held();
    assert_eq!(
        after.refresh_token, expired.refresh_token,
        "not refreshed by the direct path"
    );
    assert_eq!(after.access_token, expired.access_token);

    svc.start();
    let fresh = printed(&svc.token(None, &[]), "after the restart");
    assert_ne!(fresh, first, "the service refreshed the expired token");
    assert_ne!(
        svc.held().refresh_token,
        expired.refresh_token,
        "the provider rotated"
    );
    svc.stop();
}

/// A consumer reports that the mail server rejected its token: it gets a new one at once, and
/// the next plain `token` serves that new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_replaced_at_once() {
    let mut svc = Svc::new("service-rejected", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let first = printed(&svc.token(None, &[]), "first");
    let out = svc.token(
        None,
        &["--rejected", "535 5.7.8 Username and Password not accepted"],
    );
    let second = printed(&out, "after the report");
    assert_ne!(second, first, "a new token after the report");
    assert_eq!(printed(&svc.token(None, &[]), "next"), second);
    assert_eq!(svc.held().access_token.expose().as_str(), second.as_str());
    svc.stop();
    assert!(svc.log_text().contains("rejected"), "the report is logged");
}

/// Oversized, malformed and wrong-version frames are answered with an error and logged; the
/// service goes on answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_answered_and_logged_and_the_service_goes_on() {
    let mut svc = Svc::new("service-frames", PUBLIC_CLIENT, &[], "");
    svc.start();
    let ask_raw = |bytes: &[u8]| -> String {
        let mut s = std::os::unix::net::UnixStream::connect(&svc.socket).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let _ = s.write_all(bytes);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(out.get(4..).unwrap_or_default()).into_owned()
    };
    let big = ask_raw(&[0x7f, 0xff, 0xff, 0xff, b'{']);
    assert!(
        big.contains("bad_request") && big.contains("at most"),
        "{big}"
    );
    let mut garbage = 5u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(b"\xff{]x\x00");
    assert!(ask_raw(&garbage).contains("malformed"));
    let body = br#"{"v":9,"op":"hello"}"#;
    let mut newer = (body.len() as u32).to_be_bytes().to_vec();
    newer.extend_from_slice(body);
    let answer = ask_raw(&newer);
    assert!(
        answer.contains("version 9") && answer.contains("version 1"),
        "{answer}"
    );
    // Still alive: the account is not held by the service (its store is a file), which it says.
    let out = svc.token(None, &[]);
    assert_ne!(out.status.code(), Some(75), "the service still answers");
    assert!(svc.stop().success());
    let log = svc.log_text();
    assert!(log.contains("bad request"), "{log}");
}

/// On the direct path (no service), a `token` that finds a valid cached token writes nothing:
/// neither the token file, the status file nor the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_on_the_direct_path_writes_nothing() {
    let svc = Svc::new("service-nowrite", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    let first = printed(&svc.token(None, &[]), "first");
    let token_file = svc.file_store().path_of(ALICE.0).unwrap();
    let status_file = mailoauth::status::status_path(&svc.config);
    let logs = svc.dir.join("direct-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let snapshot = || {
        let mut files: Vec<_> = std::fs::read_dir(&logs)
            .unwrap()
            .flatten()
            .map(|e| (e.path(), mtime(&e.path()), e.metadata().unwrap().len()))
            .collect();
        files.sort();
        (mtime(&token_file), mtime(&status_file), files)
    };
    // Once with the log folder set, so the log file exists, then the calls that must not write.
    let mut c = svc.token_command(None, &["-v"]);
    c.env("MAILOAUTH_LOG_DIR", &logs);
    assert!(c.output().unwrap().status.success());
    let before = snapshot();
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut c = svc.token_command(None, &["-v"]);
        c.env("MAILOAUTH_LOG_DIR", &logs);
        let out = c.output().unwrap();
        assert_eq!(printed(&out, "cached"), first);
        assert!(String::from_utf8_lossy(&out.stderr).contains("direct path"));
    }
    assert_eq!(snapshot(), before, "a cached token call wrote to disk");
    // A log folder that does not exist yet is not even made: the file is opened at the first
    // line, and a cached call logs none.
    let unmade = svc.dir.join("unmade-logs");
    let mut c = svc.token_command(None, &[]);
    c.env("MAILOAUTH_LOG_DIR", &unmade);
    assert_eq!(
        printed(&c.output().unwrap(), "cached, no log folder"),
        first
    );
    assert!(!unmade.exists(), "a cached token call made its log folder");
}

/// A broken edit of the config keeps the last good accounts in service, and the service's
/// status says why; fixing the file brings the new settings in without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_edit_keeps_the_last_good_accounts() {
    use mailoauth::service::client::ask;
    use mailoauth::service::protocol::Request;
    let mut svc = Svc::new("service-reload", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let first = printed(&svc.token(None, &[]), "before the edit");
    let good = std::fs::read_to_string(&svc.config).unwrap();
    std::fs::write(
        &svc.config,
        "version = 1\n[[account]]\nname = \"alice\"\nbroken",
    )
    .unwrap();
    let socket = svc.socket.clone();
    let ask_now = move |req: Request| {
        let socket = socket.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(ask(&socket, &req, std::time::Duration::from_secs(30)))
                .unwrap()
        })
        .join()
        .unwrap()
    };
    let reloaded = ask_now(Request::Reload);
    let err = reloaded.expect_err("a broken config is an error");
    assert_eq!(err.code, "config");
    assert!(
        err.message.contains("last good accounts"),
        "{}",
        err.message
    );
    assert_eq!(
        printed(&svc.token(None, &[]), "with the broken config"),
        first
    );
    let status = ask_now(Request::Status).expect("status");
    let why = status["config_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(why.contains("mailoauth.toml"), "status says why: {status}");
    assert_eq!(status["accounts"][0]["account"], "alice", "{status}");

    std::fs::write(&svc.config, &good).unwrap();
    assert!(ask_now(Request::Reload).is_ok());
    let status = ask_now(Request::Status).expect("status");
    assert!(status["config_error"].is_null(), "{status}");
    svc.stop();
}

/// The service's own state (last refresh, last consumer report) survives a restart, in
/// `service-state.json` of its state folder, which a status request shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_state_survives_a_restart() {
    use mailoauth::service::client::ask;
    use mailoauth::service::protocol::Request;
    let mut svc = Svc::new("service-state", PUBLIC_CLIENT, &[], "");
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    printed(
        &svc.token(None, &["--rejected", "535 5.7.8 rejected"]),
        "report",
    );
    let status = |socket: std::path::PathBuf| {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(ask(
                    &socket,
                    &Request::Status,
                    std::time::Duration::from_secs(30),
                ))
                .unwrap()
                .unwrap()
        })
        .join()
        .unwrap()
    };
    let before = status(svc.socket.clone());
    assert!(before["accounts"][0]["last_refresh"].is_u64(), "{before}");
    assert!(before["accounts"][0]["last_report"].is_u64(), "{before}");
    let state_file = svc.state.join("service-state.json");
    let written = mtime(&state_file);
    assert!(written.is_some(), "the state is saved");
    // Plain token requests served from memory change nothing and write nothing.
    for _ in 0..3 {
        printed(&svc.token(None, &[]), "cached");
    }
    assert_eq!(mtime(&state_file), written);
    svc.stop();
    svc.start();
    let after = status(svc.socket.clone());
    assert_eq!(
        after["accounts"][0]["last_refresh"],
        before["accounts"][0]["last_refresh"]
    );
    assert_eq!(
        after["accounts"][0]["last_report"],
        before["accounts"][0]["last_report"]
    );
    svc.stop();
}

/// The socket's folder and a socket left behind: a link in place of the folder, or a file in
/// place of the socket, is refused; a second service on a live socket is refused (69); the
/// socket of a service killed with SIGKILL is replaced at the next start.
#[test]
fn the_socket_is_placed_safely_and_a_stale_one_replaced() {
    let mut svc = Svc::new("service-socket", PUBLIC_CLIENT, &[], "");
    let run_once = |svc: &Svc| {
        let out = std::process::Command::new(service::BIN)
            .args(["service", "run", "--config"])
            .arg(&svc.config)
            .arg("--state-dir")
            .arg(&svc.state)
            .arg("--socket")
            .arg(&svc.socket)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        service::output_bounded(out, "a service that must refuse to start")
    };
    let run_dir = svc.socket.parent().unwrap().to_path_buf();
    let elsewhere = svc.dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &run_dir).unwrap();
    let out = run_once(&svc);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("symbolic link"),
        "{out:?}"
    );
    std::fs::remove_file(&run_dir).unwrap();

    std::fs::create_dir(&run_dir).unwrap();
    std::fs::write(&svc.socket, "not a socket").unwrap();
    let out = run_once(&svc);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a socket"),
        "{out:?}"
    );
    std::fs::remove_file(&svc.socket).unwrap();

    svc.start();
    let out = run_once(&svc);
    assert_eq!(out.status.code(), Some(69), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already answers"));

    let mut child = svc.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(svc.socket.exists(), "SIGKILL leaves the socket");
    svc.start();
    assert!(svc.stop().success());
}

/// The service refreshes ahead of expiry by itself: with 5 s tokens and a 3 s window, the
/// token it holds changes with no request at all, and stays valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_refreshes_ahead_of_expiry_by_itself() {
    let mut svc = Svc::new(
        "service-ahead",
        "mailapp-short",
        &[],
        "\n[service]\nrefresh_ahead_secs = 3\n",
    );
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let first = svc.held();
    let mut seen = Vec::new();
    for _ in 0..1200 {
        let now = svc.held();
        if now.access_token != first.access_token && !seen.contains(&now.obtained_at) {
            seen.push(now.obtained_at);
            if seen.len() == 2 {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        seen.len(),
        2,
        "two refreshes ahead of expiry without a request"
    );
    assert_ne!(
        svc.held().refresh_token,
        first.refresh_token,
        "rotated and saved"
    );
    // And the grant is alive: the service's token works through a forced refresh.
    printed(
        &svc.token(None, &["--refresh"]),
        "after the refreshes ahead",
    );
    svc.stop();
}
