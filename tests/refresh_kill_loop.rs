//! Crash safety of a token refresh with rotation and of a status update (issue #9): the
//! `mailoauth` binary is killed at random points, over and over; after every kill the stored
//! token set and the status file must parse, and the stored refresh token must still be
//! accepted (no grant lost).
//!
//! The refresh loop runs against a local token endpoint that rotates the refresh token on every
//! use and accepts only the newest one and the one just replaced: the grace Microsoft Entra and
//! Okta give a rotated token, and the only way any client can survive being killed after the
//! provider rotated but before the new token reached the disk (no client can close that window:
//! the new token exists only in the reply). The real provider in `tests/peers/` is stricter
//! (a replayed token revokes the grant), so 100+ random kills there would lose the grant on the
//! kills that land in that window, and each sign-in takes a 5 s device-flow poll; one real-peer
//! refresh with rotation through the same binary closes the test instead.

mod common;
#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::jitter;

use common::browser::Browser;
use common::peers::{peers, ALICE, MAIL_SCOPES, PUBLIC_CLIENT};
use mailoauth::oauth::{authorize, FlowEvent, FlowHooks, TokenSet};
use mailoauth::secret::Secret;
use mailoauth::status::StatusFile;
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenStore;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kills that must land while the refresh or status writer runs.
const KILLS: usize = 100;
/// Iterations at most, should many runs finish before their kill.
const MAX_RUNS: usize = 400;

/// The rotating token endpoint's grant.
#[derive(Default)]
struct Grant {
    current: String,
    previous: Option<String>,
    issued: u64,
    refreshes: u64,
}

impl Grant {
    fn accepts(&self, rt: &str) -> bool {
        rt == self.current || self.previous.as_deref() == Some(rt)
    }
}

/// A token endpoint on 127.0.0.1 that rotates refresh tokens; returns its URL and its grant.
fn rotating_token_endpoint(first: &str) -> (String, Arc<Mutex<Grant>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let grant = Arc::new(Mutex::new(Grant {
        current: first.to_string(),
        ..Default::default()
    }));
    let g = grant.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body_at = loop {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(body_at) = body_at else { continue };
            let head = String::from_utf8_lossy(&buf[..body_at]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < body_at + len {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let form: HashMap<String, String> = url::form_urlencoded::parse(&buf[body_at..])
                .into_owned()
                .collect();
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            let (status, body) = {
                let mut g = g.lock().unwrap();
                if form.get("grant_type").map(String::as_str) == Some("refresh_token")
                    && g.accepts(&presented)
                {
                    g.issued += 1;
                    g.refreshes += 1;
                    let new = format!("rt-{}-{}", g.issued, std::process::id());
                    g.previous = Some(presented);
                    g.current.clone_from(&new);
                    let body = serde_json::json!({
                        "access_token": format!("at-{}", g.issued), "token_type": "Bearer",
                        "expires_in": 3600, "refresh_token": new,
                        "scope": "openid email offline_access mail",
                    });
                    (200, body.to_string())
                } else {
                    let body = r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#;
                    (400, body.to_string())
                }
            };
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes());
        }
    });
    (url, grant)
}

fn config_text(tokens: &Path, issuer: &str, token: &str) -> String {
    format!(
        r#"version = 1

[[account]]
name = "alice"
purpose = "send"
mailbox = "{mailbox}"
token_store = "file:{tokens}"

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
token = "{token}"
device_authorization = "{issuer}/device/auth"
"#,
        mailbox = ALICE.0,
        tokens = tokens.display(),
        scopes = MAIL_SCOPES
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailoauth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The stored tokens, which must parse after any kill.
fn stored(store: &FileStore, when: &str) -> TokenSet {
    store
        .load(ALICE.0)
        .unwrap_or_else(|e| panic!("{when}: the token file does not parse: {e}"))
        .unwrap_or_else(|| panic!("{when}: the tokens are gone"))
}

/// The status file, parsed strictly (the product's reader forgives a damaged file).
fn status_file(config: &Path, when: &str) -> Option<StatusFile> {
    let path = mailoauth::status::status_path(config);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("{when}: {e}"),
    };
    let s: StatusFile = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{when}: the status file does not parse: {e}: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(s.version, mailoauth::status::STATUS_VERSION, "{when}");
    Some(s)
}

/// Marks the stored access token as expired, so the next `mailoauth token` must refresh.
fn expire(store: &FileStore) {
    let mut tokens = stored(store, "before the run");
    tokens.expires_at = Some(1);
    store.save(ALICE.0, &tokens).unwrap();
}

fn token_command(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailoauth"));
    c.args(["token", "--config"])
        .arg(config)
        .arg("alice")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn killing_a_refresh_with_rotation_at_random_points_loses_no_grant() {
    let dir = temp_dir("refresh-kill-loop");
    let (token_url, grant) = rotating_token_endpoint("rt-0");
    let issuer = token_url.trim_end_matches("/token").to_string();
    let tokens = dir.join("tokens");
    let config = dir.join("mailoauth.toml");
    std::fs::write(&config, config_text(&tokens, &issuer, &token_url)).unwrap();
    let store = FileStore::new(tokens.clone());
    store
        .save(
            ALICE.0,
            &TokenSet {
                access_token: Secret::new("at-0".into()),
                refresh_token: Some(Secret::new("rt-0".into())),
                expires_at: Some(1),
                scopes: MAIL_SCOPES.iter().map(|s| s.to_string()).collect(),
                account: Some(ALICE.0.into()),
                obtained_at: 1,
            },
        )
        .unwrap();

    // How long one refresh takes here, to spread the kills over it (and a little past it).
    let started = Instant::now();
    let mut span = Duration::ZERO;
    for _ in 0..3 {
        expire(&store);
        let t = Instant::now();
        assert!(token_command(&config).status().unwrap().success());
        span = span.max(t.elapsed());
    }
    let max_us = (span.as_micros() as u64).max(1000) * 5 / 4;

    let (mut kills, mut runs, mut finished) = (0, 0, 0);
    let (mut before_rotation, mut saved, mut in_window) = (0, 0, 0);
    while kills < KILLS && runs < MAX_RUNS {
        runs += 1;
        expire(&store);
        let refreshes = grant.lock().unwrap().refreshes;
        let mut child = token_command(&config).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(jitter(runs, started, max_us)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let when = format!("run {runs}");
        if status.signal() == Some(9) {
            kills += 1;
        } else {
            assert!(status.success(), "{when}: {status:?}");
            finished += 1;
        }
        let now = stored(&store, &when);
        let rt = now
            .refresh_token
            .as_ref()
            .expect("a refresh token")
            .expose();
        let g = grant.lock().unwrap();
        assert!(
            g.accepts(rt),
            "{when}: the stored refresh token is no longer accepted: the grant is lost"
        );
        if status.signal() == Some(9) {
            match (g.refreshes > refreshes, rt == &g.current) {
                (false, _) => before_rotation += 1,
                (true, true) => saved += 1,
                (true, false) => in_window += 1,
            }
        }
        drop(g);
        status_file(&config, &when);
    }
    eprintln!(
        "{runs} runs over 0..{max_us} us: {kills} killed ({before_rotation} before the provider rotated, {saved} after the new tokens were saved, {in_window} between), {finished} finished first"
    );
    assert!(kills >= KILLS, "only {kills} of {runs} runs were killed");
    assert!(
        before_rotation > 0 && saved + in_window > 0,
        "the kills did not spread over the refresh"
    );

    // The grant is alive: an uninterrupted run refreshes with the stored token and saves the
    // rotated one.
    expire(&store);
    let out = token_command(&config)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let g = grant.lock().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("at-{}", g.issued)
    );
    let last = stored(&store, "after the last run");
    assert_eq!(
        last.refresh_token.as_ref().map(|r| r.expose().as_str()),
        Some(g.current.as_str())
    );
    let s = status_file(&config, "after the last run").expect("status recorded");
    assert!(s.accounts["alice"].last_success.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killing_a_status_update_at_random_points_never_leaves_a_torn_file() {
    let dir = temp_dir("status-kill-loop");
    let config = dir.join("mailoauth.toml");
    std::fs::write(
        &config,
        config_text(
            &dir.join("tokens"),
            "http://127.0.0.1:9",
            "http://127.0.0.1:9/token",
        ),
    )
    .unwrap();
    let start = Instant::now();
    let (mut successes, mut failures) = (0, 0);
    for i in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailoauth"))
            .args(["status", "--config"])
            .arg(&config)
            .args(["--write-loop", "alice"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "writing", "run {i}: the writer did not start");
        std::thread::sleep(Duration::from_micros(jitter(i, start, 60_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "run {i}: {status:?}");
        let when = format!("run {i}");
        let Some(s) = status_file(&config, &when) else {
            continue;
        };
        let r = &s.accounts["alice"];
        // The writer alternates a success at an even time and a failure at an odd one.
        match (r.last_success, &r.last_failure) {
            (Some(ok), Some(f)) if ok > f.at => successes += 1,
            (_, Some(f)) => {
                assert!(f.error.starts_with("invalid_grant"), "{when}: {f:?}");
                assert!(f.reauthorize, "{when}");
                failures += 1;
            }
            other => panic!("{when}: unexpected record {other:?}"),
        }
    }
    eprintln!(
        "{KILLS} kills: the status file said success {successes} times, failure {failures} times"
    );
    assert!(
        successes > 0 && failures > 0,
        "the kills did not land at different points of the loop"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One real-peer run: the same binary refreshes at the real provider, whose public-client
/// refresh tokens rotate (and whose replay of a rotated token revokes the grant).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_provider_rotates_and_the_binary_saves_the_rotated_token() {
    let dir = temp_dir("refresh-real-peer");
    let issuer = peers().issuer().to_string();
    let tokens = dir.join("tokens");
    let config = dir.join("mailoauth.toml");
    std::fs::write(
        &config,
        config_text(&tokens, &issuer, &format!("{issuer}/token")),
    )
    .unwrap();
    let store = FileStore::new(tokens.clone());
    let doc = mailoauth::config::load(&config).unwrap();
    let auth = doc
        .account("alice")
        .unwrap()
        .oauth_settings(&config)
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let on_event = move |e: FlowEvent| {
        if let FlowEvent::DeviceCode {
            verification_uri_complete: Some(u),
            ..
        } = &e
        {
            let _ = tx.send(u.clone());
        }
    };
    let open = |_: &str| Err(String::from("the device flow opens no browser"));
    let hooks = FlowHooks::new(&on_event, &open);
    let user = tokio::spawn(async move {
        let complete = rx.recv().await.expect("the device code was shown");
        Browser::new().approve_device(&complete, ALICE).await;
    });
    authorize(&auth, &store, &hooks).await.expect("sign-in");
    user.await.unwrap();

    for round in 0..2 {
        expire(&store);
        let before = stored(&store, "before").refresh_token.unwrap();
        let config = config.clone();
        let out = tokio::task::spawn_blocking(move || {
            token_command(&config)
                .stdout(Stdio::piped())
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(out.status.success(), "round {round}");
        let after = stored(&store, "after");
        assert_ne!(after.refresh_token.as_ref(), Some(&before), "rotated");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            after.access_token.expose().as_str()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
