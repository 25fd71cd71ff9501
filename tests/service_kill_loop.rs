//! The token service under kills (issue #15), against the real provider in `tests/peers/`
//! with 5-second access tokens (client `mailapp-short`, public: its refresh tokens rotate
//! strictly, so a replayed refresh token revokes the grant):
//!
//! - `kill -9` on 100 `mailoauth token` clients, ten at a time, at pseudo-random points while
//!   the service refreshes (every request for a 5 s token makes it refresh): the service is the
//!   only writer, so no client kill can lose the grant.
//! - SIGTERM on the service at pseudo-random points of forced refreshes, round after round: the
//!   service finishes the refresh in flight and saves before it exits, so the grant survives
//!   every round; the rounds whose SIGTERM landed between the refresh request and the save are
//!   counted (the service says so on stderr) and must be more than zero.
//!
//! Offsets come from a fixed seed (printed; `MAILOAUTH_TEST_SEED` overrides). Where a signal
//! lands depends on timing, so the tests assert what happened after each signal, never how the
//! signals spread; bounds only stop hangs.

#![cfg(unix)]
mod common;
#[path = "common/fixtures.rs"]
mod fixtures;
#[path = "common/service.rs"]
mod service;

use fixtures::jitter;
use service::{output_bounded, printed, wait_bounded, Svc};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SHORT_CLIENT: &str = "mailapp-short";
/// Refresh 3 s before the 5 s tokens expire: the service refreshes every two seconds by itself.
const SERVICE_TABLE: &str = "\n[service]\nrefresh_ahead_secs = 3\n";

/// The grant is alive: a forced refresh through the service succeeds, and the printed token is
/// the one the service saved.
fn assert_grant_alive(svc: &Svc, when: &str) {
    let out = svc.token(None, &["--refresh"]);
    let token = printed(&out, when);
    assert_eq!(
        token,
        *svc.held().access_token.expose(),
        "{when}: printed is not saved"
    );
}

/// How long a forced refresh through the service takes here (median of three, a quarter more),
/// so the signals' offsets cover it on a fast or a busy machine; nothing is asserted about it.
fn refresh_span_us(svc: &Svc) -> u64 {
    let mut spans: Vec<Duration> = (0..3)
        .map(|i| {
            let t = Instant::now();
            printed(&svc.token(None, &["--refresh"]), &format!("span {i}"));
            t.elapsed()
        })
        .collect();
    spans.sort();
    (spans[1].as_micros() as u64).max(1000) * 5 / 4
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_token_clients_never_loses_the_grant() {
    let mut svc = Svc::new("service-kill9", SHORT_CLIENT, &[], SERVICE_TABLE);
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let span = refresh_span_us(&svc);
    eprintln!("kill -9 over 0..{span} us");
    let (mut killed, mut finished) = (0, 0);
    for batch in 0..10 {
        let mut clients: Vec<_> = (0..10)
            .map(|_| {
                let mut c = svc.token_command(None, &[]);
                c.stdout(Stdio::null()).stderr(Stdio::null());
                c.spawn().unwrap()
            })
            .collect();
        for (i, child) in clients.iter_mut().enumerate() {
            std::thread::sleep(Duration::from_micros(jitter(batch * 10 + i, span)));
            // SAFETY: kill(2) on our own child, not reaped yet.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        }
        for (i, mut child) in clients.into_iter().enumerate() {
            let status = wait_bounded(&mut child, &format!("client {batch}/{i}"));
            if status.success() {
                finished += 1;
            } else {
                killed += 1;
            }
        }
        assert!(
            svc.child.as_mut().unwrap().try_wait().unwrap().is_none(),
            "the service ended"
        );
        assert_grant_alive(&svc, &format!("after batch {batch}"));
    }
    eprintln!("token clients: {killed} killed (or failed), {finished} finished");
    assert!(svc.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_refreshes_never_loses_the_grant() {
    let mut svc = Svc::new("service-sigterm", SHORT_CLIENT, &[], SERVICE_TABLE);
    svc.sign_in().await;
    svc.start();
    svc.adopt();
    let span = refresh_span_us(&svc);
    eprintln!("SIGTERM over 0..{span} us after a forced refresh is asked");
    assert!(svc.stop().success());
    let (mut landed, mut rounds) = (0, 0);
    // Fixed rounds, then more (bounded) only until a SIGTERM has landed inside a refresh.
    while rounds < 30 || (landed == 0 && rounds < 200) {
        let when = format!("round {rounds}");
        svc.start();
        let mut client = svc.token_command(None, &["--refresh"]);
        client.stdout(Stdio::null()).stderr(Stdio::null());
        let mut client = client.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(jitter(rounds, span)));
        let status = svc.stop();
        assert!(
            status.success(),
            "{when}: the service's exit after SIGTERM: {status:?}"
        );
        let _ = wait_bounded(&mut client, &when);
        let err = std::fs::read_to_string(svc.dir.join(format!("service-{}.err", svc.starts)))
            .unwrap_or_default();
        if err.contains("landed during") {
            landed += 1;
        }
        // The saved tokens parse after every stop.
        let _ = svc.held();
        rounds += 1;
    }
    svc.start();
    assert_grant_alive(&svc, "after the SIGTERM rounds");
    assert!(svc.stop().success());
    eprintln!(
        "SIGTERM rounds: {rounds}; landed between the refresh request and the save: {landed}"
    );
    assert!(
        landed > 0,
        "no SIGTERM landed inside a refresh in {rounds} rounds"
    );
    let _ = output_bounded;
}
