//! `mailoauth setup` and `mailoauth reauthorize` as an admin uses them on a machine without a
//! desktop, against the real peers (the generic provider is the peers' OpenID provider, the
//! mail servers are Dovecot and Postfix):
//!
//! - in a real terminal (tmux: `send-keys`, `capture-pane`): the device code journey with a
//!   wrong mailbox corrected at its prompt, and the loopback journey; the save; then
//!   `mailoauth token` works for the saved account;
//! - in a script with no terminal: the flag-only form, signed in by device code; the peer
//!   revokes the grant; `mailoauth token` then names `mailoauth reauthorize NAME --config FILE`,
//!   and that command brings the account back.
//!
//! - with the token service (run as root in its non-root mode: its own `--state-dir` and
//!   `--socket`): setup with a reader (an OS user made by the test), typed wrong and corrected
//!   at its prompt in the terminal, or given as `--reader` in a script; the tokens go to the
//!   service; `mailoauth token` run as that user prints the service's token, another user is
//!   refused (77); the readers survive a setup re-run and `reauthorize`.
//!
//! The scripted browser user of tests/common approves the device codes and loopback sign-ins.
//! Every wait is for text on the screen or in the output, with a generous bound; no time is
//! asserted. With `MAILOAUTH_WRITE_SCREENS=1` the captured screens are written to
//! docs/terminal/ (the admin's view, kept in the repository).

// tmux, runuser and Unix modes: the Windows console cannot be driven here (README).
#![cfg(unix)]
mod common;
#[path = "common/service.rs"]
mod service;

use common::browser::Browser;
use common::peers::{peers, ALICE, MAIL_SCOPES, PUBLIC_CLIENT};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use url::Url;

const BOUND: Duration = Duration::from_secs(120);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mailoauth")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mailoauth-terminal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test folder");
    dir
}

/// The flags every journey shares: the peers' provider, scopes, servers and test CA.
fn peer_flags(dir: &Path) -> Vec<String> {
    let p = peers();
    let mut out: Vec<String> = vec![
        "--provider".into(),
        "generic".into(),
        "--issuer".into(),
        p.issuer().into(),
    ];
    for s in MAIL_SCOPES {
        out.push("--scope".into());
        out.push(s.into());
    }
    out.extend([
        "--smtp".into(),
        format!("localhost:{}:start_tls", p.submission_port()),
        "--imap".into(),
        format!("localhost:{}:tls", p.imaps_port()),
        "--ca-file".into(),
        p.ca_file().display().to_string(),
        "--store".into(),
        format!("file:{}", dir.join("tokens").display()),
        "--config".into(),
        dir.join("mailoauth.toml").display().to_string(),
    ]);
    out
}

/// One tmux server of this test, with one 120x40 window running a plain shell.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str) -> Self {
        let t = Tmux {
            socket: format!("mailoauth-{name}-{}", std::process::id()),
        };
        let _ = t.tmux(&["kill-server"]);
        let ok = t
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
                "-s",
                "t",
                "bash",
                "--norc",
                "--noprofile",
            ])
            .status
            .success();
        assert!(ok, "tmux starts");
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        assert!(self
            .tmux(&["send-keys", "-t", "t", "-l", text])
            .status
            .success());
    }

    /// Presses keys (`Enter`, `BSpace`, `Down`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// The visible screen.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Everything printed so far, wrapped lines joined.
    fn history(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-J", "-S", "-2000", "-t", "t"])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until the history contains `text` (generous bound; no time is asserted).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let h = self.history();
            if h.contains(text) {
                return h;
            }
            assert!(
                start.elapsed() < BOUND,
                "the terminal never showed {text:?}; it shows:\n{h}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the command run by [`Tmux::run`] ended; returns its exit status line.
    fn wait_exit(&self) -> String {
        let start = Instant::now();
        loop {
            let h = self.history();
            if let Some(line) = h.lines().find(|l| l.starts_with("EXIT=")) {
                return format!("{h}\n{line}");
            }
            assert!(start.elapsed() < BOUND, "the command never ended:\n{h}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A clean screen and history for the next command.
    fn reset(&self) {
        self.type_text("clear");
        self.keys(&["Enter"]);
        let start = Instant::now();
        while self.screen().contains("EXIT=") {
            assert!(start.elapsed() < BOUND, "the screen never cleared");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(self.tmux(&["clear-history", "-t", "t"]).status.success());
    }

    /// Runs `argv` in the shell, followed by its exit status.
    fn run(&self, argv: &[String]) {
        let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
        self.type_text(&format!("{}; echo \"EXIT=$?\"", quoted.join(" ")));
        self.keys(&["Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn keep_screen(name: &str, text: &str) {
    if std::env::var_os("MAILOAUTH_WRITE_SCREENS").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/terminal");
    std::fs::create_dir_all(&dir).expect("docs/terminal");
    // The run's temporary folder and ports vary: the kept screen names them generically.
    let p = peers();
    let text = text
        .replace(bin(), "mailoauth")
        .replace(p.issuer(), "http://127.0.0.1:<provider port>")
        .replace(&std::env::temp_dir().display().to_string(), "/tmp");
    let trimmed: Vec<&str> = text.lines().map(str::trim_end).collect();
    std::fs::write(
        dir.join(format!("{name}.txt")),
        trimmed.join("\n").trim().to_string() + "\n",
    )
    .expect("write the screen");
}

/// The device code's `verification_uri_complete` from what the CLI printed.
fn device_url(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c| c == '(' || c == ')'))
        .find(|w| w.starts_with("http") && w.contains("user_code="))
        .map(str::to_string)
}

fn approve(url: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(Browser::new().approve_device(url, ALICE));
}

/// The browser user's part of a loopback sign-in: follows the printed URL, signs alice in and
/// lands on the CLI's listener.
fn browser_sign_in(url: &str) {
    let url = Url::parse(url).expect("the sign-in URL");
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let b = Browser::new();
        let is_app = |u: &Url| u.as_str().starts_with(&redirect);
        let (interaction, page) = b.follow(url.clone(), is_app).await;
        assert!(page.contains("password"), "the login form: {interaction}");
        let (landing, _) = b.login(&interaction, ALICE, is_app).await;
        let page = reqwest::get(landing).await.expect("GET the CLI's listener");
        assert!(page.status().is_success(), "the listener answered {page:?}");
    });
}

fn token(config: &Path, name: &str) -> std::process::Output {
    Command::new(bin())
        .arg("token")
        .arg("--config")
        .arg(config)
        .arg(name)
        .output()
        .expect("run mailoauth token")
}

/// The provider revokes alice's grant (an admin removed the app's access), and the cached access
/// token is made stale so the next `token` must refresh.
fn revoke_and_stale(dir: &Path) {
    let file = dir.join("tokens").join(format!("{}.json", ALICE.0));
    let mut stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("token file")).expect("JSON");
    let refresh = stored["refreshToken"]
        .as_str()
        .expect("a refresh token")
        .to_string();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(format!("{}/token/revocation", peers().issuer()))
            .form(&[
                ("token", refresh.as_str()),
                ("token_type_hint", "refresh_token"),
                ("client_id", PUBLIC_CLIENT),
            ])
            .send()
            .await
            .expect("POST revocation");
        assert!(resp.status().is_success(), "revocation: {resp:?}");
    });
    stored["expiresAt"] = serde_json::json!(1);
    std::fs::write(&file, serde_json::to_string(&stored).unwrap()).expect("stale token");
}

#[test]
fn device_code_journey_in_a_terminal_with_a_wrong_mailbox_corrected() {
    let dir = fresh_dir("device");
    let config = dir.join("mailoauth.toml");
    let t = Tmux::start("device");
    let mut argv = vec![bin().to_string(), "setup".into()];
    argv.extend(peer_flags(&dir));
    argv.extend(["--flow".into(), "device-code".into()]);
    t.run(&argv);

    // Purpose: the default (both) is picked with Enter.
    t.wait_for("? What does the service do with the mailbox");
    t.keys(&["Enter"]);
    let s = t.wait_for("? Client ID");
    assert!(
        s.contains("register a client at your provider"),
        "the checklist step: {s}"
    );
    t.type_text(PUBLIC_CLIENT);
    t.keys(&["Enter"]);
    // A public client: the secret is left empty.
    t.wait_for("? Client secret");
    t.keys(&["Enter"]);
    // A wrong mailbox is refused at its prompt with the window's message, then corrected.
    t.wait_for("? Mailbox address");
    t.type_text("alice");
    t.keys(&["Enter"]);
    // The window's own message for this value (the core's validator), as the terminal shows it.
    let report = mailoauth::validate::input::mailbox("alice", Some("generic"));
    let message = report
        .findings
        .iter()
        .find(|f| f.severity == mailoauth::validate::Severity::Error)
        .map(|f| f.message.clone())
        .expect("alice alone is refused");
    let head: String = message.chars().take(40).collect();
    t.wait_for(&head);
    let refused = t.screen();
    keep_screen("setup-wrong-mailbox", &refused);
    assert!(
        !refused.contains("Account name"),
        "the wrong mailbox was not accepted:\n{refused}"
    );
    t.type_text("@example.test");
    t.keys(&["Enter"]);
    t.wait_for("? Account name");
    t.keys(&["Enter"]);
    t.wait_for("? Export the account");
    t.keys(&["Enter"]);

    // The sign-in: the code is shown large with its countdown; the browser user approves it.
    let s = t.wait_for("user_code=");
    keep_screen("setup-device-code", &t.screen());
    assert!(
        s.contains("█████") && s.contains("Code: "),
        "the code is large, and as text: {s}"
    );
    let url = device_url(&s).expect("the code's URL");
    approve(&url);
    let s = t.wait_for("? Save to");
    assert!(s.contains("SMTP") && s.contains("IMAP"), "{s}");
    keep_screen("setup-save-preview", &t.screen());
    t.keys(&["Enter"]);
    let s = t.wait_exit();
    keep_screen("setup-saved", &t.screen());
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.contains("Saved account \"alice\""), "{s}");

    // The saved account works for the mail service.
    let text = std::fs::read_to_string(&config).expect("the config was written");
    assert!(text.contains("name = \"alice\""), "{text}");
    assert!(
        text.contains("token_endpoint") || text.contains("token ="),
        "discovery saved: {text}"
    );
    let out = token(&config, "alice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());

    // Months later the grant is revoked: `token` names the one command that fixes it, and
    // that command, typed as printed, brings the account back.
    revoke_and_stale(&dir);
    t.reset();
    t.run(&[
        bin().to_string(),
        "token".into(),
        "--config".into(),
        config.display().to_string(),
        "alice".into(),
    ]);
    let s = t.wait_exit();
    keep_screen("token-must-sign-in-again", &t.screen());
    let command = format!("mailoauth reauthorize alice --config {}", config.display());
    assert!(s.contains(&command), "{s}");
    t.reset();
    t.run(&[
        bin().to_string(),
        "reauthorize".into(),
        "alice".into(),
        "--config".into(),
        config.display().to_string(),
    ]);
    let s = t.wait_for("user_code=");
    approve(&device_url(&s).expect("the code's URL"));
    let s = t.wait_exit();
    keep_screen("reauthorize", &t.screen());
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.contains("signed in again and works"), "{s}");
    assert!(token(&config, "alice").status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loopback_journey_in_a_terminal() {
    let dir = fresh_dir("loopback");
    let config = dir.join("mailoauth.toml");
    let t = Tmux::start("loopback");
    let mut argv = vec![bin().to_string(), "setup".into()];
    argv.extend(peer_flags(&dir));
    argv.extend([
        "--flow".into(),
        "loopback".into(),
        "--purpose".into(),
        "both".into(),
        "--client-id".into(),
        PUBLIC_CLIENT.into(),
        "--mailbox".into(),
        ALICE.0.into(),
        "--name".into(),
        "scanner".into(),
        "--export".into(),
        "msmtp".into(),
    ]);
    t.run(&argv);
    t.wait_for("? Client secret");
    t.keys(&["Enter"]);
    let s = t.wait_for("/auth?");
    keep_screen("setup-loopback", &t.screen());
    let url = s
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/auth?"))
        .expect("the sign-in URL")
        .to_string();
    browser_sign_in(&url);
    t.wait_for("? Save to");
    t.keys(&["Enter"]);
    let s = t.wait_exit();
    keep_screen("setup-loopback-saved", &t.screen());
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(
        s.contains("passwordeval"),
        "the msmtp export is printed:\n{s}"
    );
    let out = token(&config, "scanner");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `mailoauth <args>` with no terminal; approves the device code it prints.
fn scripted(args: &[String]) -> (std::process::ExitStatus, String, String) {
    scripted_env(args, &[])
}

/// [`scripted`] with extra environment variables.
fn scripted_env(
    args: &[String],
    env: &[(&str, &std::ffi::OsStr)],
) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mailoauth");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(u) = device_url(&line) {
                let _ = tx.send(u);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if let Ok(url) = rx.recv_timeout(BOUND) {
        approve(&url);
    }
    let out = child.wait_with_output().expect("mailoauth ends");
    let err = reader.join().expect("stderr reader");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

#[test]
fn a_script_sets_up_and_reauthorizes_after_the_grant_is_revoked() {
    let dir = fresh_dir("script");
    let config = dir.join("mailoauth.toml");
    let mut args = vec!["setup".to_string()];
    args.extend(peer_flags(&dir));
    // Without --mailbox and --yes: both named, nothing started.
    let (status, _, err) = scripted(&args);
    assert_eq!(status.code(), Some(64), "{err}");
    assert!(err.contains("standard input is not a terminal"), "{err}");
    assert!(
        err.contains("missing --mailbox") && err.contains("missing --yes"),
        "{err}"
    );
    assert!(err.contains("missing --client-id"), "{err}");
    assert!(!config.exists());

    args.extend([
        "--client-id".into(),
        PUBLIC_CLIENT.into(),
        "--mailbox".into(),
        ALICE.0.into(),
        "--flow".into(),
        "device-code".into(),
        "--yes".into(),
        "--json".into(),
    ]);
    let (status, out, err) = scripted(&args);
    assert!(status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON result");
    assert_eq!(v["saved"], true, "{out}");
    assert_eq!(v["account"], "alice", "{out}");
    assert_eq!(v["check"]["ok"], true, "{out}");
    assert!(token(&config, "alice").status.success());

    // The provider revokes the grant (an admin removed the app's access); the cached access
    // token is made stale so the next `token` must refresh.
    revoke_and_stale(&dir);

    let out = token(&config, "alice");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let command = format!("mailoauth reauthorize alice --config {}", config.display());
    assert!(err.contains(&command), "token names the command: {err}");
    assert!(!err.contains("wizard"), "{err}");
    // `check` says the same.
    let out = Command::new(bin())
        .arg("check")
        .arg("--config")
        .arg(&config)
        .arg("alice")
        .output()
        .expect("run mailoauth check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(80), "{err}");
    assert!(err.contains(&command), "check names the command: {err}");

    // The command printed, run as printed, brings the account back.
    let (status, out, err) = scripted(&[
        "reauthorize".into(),
        "alice".into(),
        "--config".into(),
        config.display().to_string(),
    ]);
    assert!(status.success(), "{err}");
    assert!(out.contains("signed in again and works"), "{out}");
    assert!(
        err.contains("SMTP") && err.contains("IMAP"),
        "the mail tests ran: {err}"
    );
    let out = token(&config, "alice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Setup again with the same name: the difference is shown, and --yes updates the account.
    let mut again = vec!["setup".to_string()];
    again.extend(peer_flags(&dir));
    again.extend([
        "--client-id".into(),
        PUBLIC_CLIENT.into(),
        "--mailbox".into(),
        ALICE.0.into(),
        "--flow".into(),
        "device-code".into(),
        "--purpose".into(),
        "send".into(),
        "--name".into(),
        "alice".into(),
        "--yes".into(),
    ]);
    let (status, _, err) = scripted(&again);
    assert!(status.success(), "{err}");
    assert!(err.contains("(the account exists: it is updated)"), "{err}");
    assert!(
        err.contains("-purpose = \"both\"") && err.contains("+purpose = \"send\""),
        "the difference: {err}"
    );
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(
        text.contains("purpose = \"send\"") && !text.contains("[account.imap]"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn authorize_writes_the_account_with_the_discovered_endpoints() {
    let dir = fresh_dir("authorize");
    let config = dir.join("mailoauth.toml");
    let store = format!("file:{}", dir.join("tokens").display());
    let base = |scopes: bool| {
        let mut a: Vec<String> = vec![
            "authorize".into(),
            "--provider".into(),
            "generic".into(),
            "--issuer".into(),
            peers().issuer().into(),
            "--client-id".into(),
            PUBLIC_CLIENT.into(),
            "--mailbox".into(),
            ALICE.0.into(),
            "--flow".into(),
            "device-code".into(),
            "--purpose".into(),
            "receive".into(),
            "--store".into(),
            store.clone(),
            "--config".into(),
            config.display().to_string(),
            "--account".into(),
            "inbox".into(),
            "--imap".into(),
            format!("localhost:{}:tls", peers().imaps_port()),
            "--ca-file".into(),
            peers().ca_file().display().to_string(),
        ];
        if scopes {
            for s in MAIL_SCOPES {
                a.push("--scope".into());
                a.push(s.into());
            }
        }
        a
    };
    // A generic provider without scopes: the flag is named, nothing starts.
    let (status, _, err) = scripted(&base(false));
    assert_eq!(status.code(), Some(64), "{err}");
    assert!(
        err.contains("--scope") && err.contains("(repeatable)"),
        "{err}"
    );
    assert!(!config.exists());

    let (status, out, err) = scripted(&base(true));
    assert!(status.success(), "{err}");
    // The messages name the values they know.
    assert!(err.contains("Sign in as alice@example.test."), "{err}");
    assert!(out.contains("Refresh token: stored"), "{out}");
    assert!(err.contains("Saved account \"inbox\""), "{err}");
    let text = std::fs::read_to_string(&config).expect("the account was written");
    let issuer = peers().issuer();
    for line in [
        format!("token = \"{issuer}/token\""),
        format!("device_authorization = \"{issuer}/device/auth\""),
        format!("issuer = \"{issuer}\""),
        format!("token_store = \"{store}\""),
        String::from("\"offline_access\""),
    ] {
        assert!(text.contains(&line), "{line} missing from:\n{text}");
    }
    // The store of the sign-in is the account's: `token` finds the tokens without a hand edit.
    let out = token(&config, "inbox");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Microsoft journey's questions, up to the sign-in (no test may reach Microsoft): the
/// provider, purpose, cloud and flow picked from lists, the registration checklist with its
/// values and links, a wrong client ID refused with the window's message and corrected, and Esc
/// at the last question, which saves nothing.
#[test]
fn microsoft_questions_checklist_and_cancel_in_a_terminal() {
    let dir = fresh_dir("microsoft");
    let config = dir.join("mailoauth.toml");
    let t = Tmux::start("microsoft");
    t.run(&[
        bin().to_string(),
        "setup".into(),
        "--config".into(),
        config.display().to_string(),
        "--store".into(),
        format!("file:{}", dir.join("tokens").display()),
    ]);
    t.wait_for("? Mail provider");
    t.type_text("microsoft");
    t.keys(&["Enter"]);
    t.wait_for("? What does the service do with the mailbox");
    t.keys(&["Enter"]);
    t.wait_for("? Cloud");
    t.keys(&["Enter"]);
    t.wait_for("? How the mailbox signs in");
    t.keys(&["Enter"]);
    let s = t.wait_for("? Tenant (directory ID or domain)");
    keep_screen("setup-microsoft-checklist", &t.history());
    assert!(s.contains("Registration checklist"), "{s}");
    assert!(
        s.contains("Open: https://entra.microsoft.com/"),
        "the console links: {s}"
    );
    assert!(
        s.contains("Register an application in Microsoft Entra"),
        "{s}"
    );
    t.type_text("contoso.onmicrosoft.com");
    t.keys(&["Enter"]);
    t.wait_for("? Client ID");
    t.type_text("not-a-guid");
    t.keys(&["Enter"]);
    let ctx = mailoauth::validate::input::FieldContext {
        provider: Some("microsoft".into()),
        flow: Some(mailoauth::provider::Flow::Loopback),
        client_type: None,
        purpose: Some(mailoauth::provider::Purpose::Both),
        cloud: Default::default(),
    };
    let report = mailoauth::validate::input::validate_field(
        mailoauth::validate::input::FieldKind::ClientId,
        "not-a-guid",
        &ctx,
    );
    let message = report
        .findings
        .iter()
        .find(|f| f.severity == mailoauth::validate::Severity::Error)
        .map(|f| f.message.clone())
        .expect("not-a-guid is refused");
    let head: String = message.chars().take(40).collect();
    t.wait_for(&head);
    keep_screen("setup-microsoft-wrong-client-id", &t.screen());
    for _ in 0.."not-a-guid".len() {
        t.keys(&["BSpace"]);
    }
    t.type_text("11111111-2222-3333-4444-555555555555");
    t.keys(&["Enter"]);
    t.wait_for("? Mailbox address");
    t.type_text("scanner@contoso.com");
    t.keys(&["Enter"]);
    // The servers are offered with the provider's as the default.
    let s = t.wait_for("? SMTP server");
    assert!(s.contains("smtp.office365.com:587:start_tls"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("? IMAP server");
    assert!(s.contains("outlook.office365.com:993:tls"), "{s}");
    t.keys(&["Enter"]);
    t.wait_for("? Account name");
    t.keys(&["Enter"]);
    t.wait_for("? Export the account");
    t.keys(&["Escape"]);
    let s = t.wait_exit();
    assert!(s.contains("EXIT=130"), "{s}");
    assert!(s.contains("cancelled; nothing was saved"), "{s}");
    assert!(!config.exists(), "nothing was written");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A token service for one test: `mailoauth service run` as root in the foreground, with its own
/// state folder and socket, reading the config `setup` writes.
struct Service {
    dir: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    child: std::process::Child,
}

impl Service {
    fn start(name: &str) -> Service {
        let dir = fresh_dir(name);
        use std::os::unix::fs::PermissionsExt;
        // The test users reach the socket's folder; nothing else in it is theirs.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.join("mailoauth.toml");
        std::fs::write(&config, "version = 1\n").unwrap();
        let socket = dir.join("run").join("mailoauth.sock");
        let err = std::fs::File::create(dir.join("service.err")).unwrap();
        let child = Command::new(bin())
            .args(["service", "run", "--config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--socket")
            .arg(&socket)
            .env("MAILOAUTH_LOG_DIR", dir.join("logs"))
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("mailoauth service run");
        let mut s = Service {
            dir,
            config,
            socket,
            child,
        };
        let start = Instant::now();
        while !service::hello(&s.socket) {
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!("the service ended at start: {status:?}: {}", s.stderr());
            }
            assert!(start.elapsed() < BOUND, "the service never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("service.err")).unwrap_or_default()
    }

    /// The setup flags of a journey with this service: the peers' provider and servers, this
    /// config and socket, and no `--store` (a reader makes the service hold the tokens).
    fn flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut skip = false;
        for f in peer_flags(&self.dir) {
            if skip {
                skip = false;
                continue;
            }
            if f == "--store" {
                skip = true;
                continue;
            }
            out.push(f);
        }
        out.extend(["--socket".into(), self.socket.display().to_string()]);
        out
    }

    /// `mailoauth token NAME` run as `user` (runuser), as a mail service running as them would.
    fn token_as(&self, user: &str, name: &str) -> std::process::Output {
        let child = Command::new("runuser")
            .args(["-u", user, "--", bin(), "token", "--config"])
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .arg(name)
            .env_remove("MAILOAUTH_CONFIG")
            .env_remove("MAILOAUTH_LOG_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runuser mailoauth token");
        service::output_bounded(child, "mailoauth token as a reader")
    }

    /// The custody store's token of alice.
    fn held_access_token(&self) -> String {
        use mailoauth::store::TokenStore;
        let store = mailoauth::store::file::FileStore::new(self.dir.join("state").join("tokens"));
        let t = store
            .load(ALICE.0)
            .expect("the custody store parses")
            .expect("the service holds alice's tokens");
        t.access_token.expose().to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What an admin does on a print server: `mailoauth setup` asks which OS account runs the mail
/// service (typed wrong, refused with the field's message, corrected), signs in, saves, and the
/// service holds the tokens; the reader gets the token, another user is refused.
#[test]
fn a_reader_set_up_in_a_terminal_gets_the_token_from_the_service() {
    let svc = Service::start("svc-tmux");
    let reader = service::OsUser::new("msr", &[]);
    let other = service::OsUser::new("mso", &[]);
    let t = Tmux::start("svc");
    let mut argv = vec![bin().to_string(), "setup".into()];
    argv.extend(svc.flags());
    argv.extend([
        "--flow".into(),
        "device-code".into(),
        "--purpose".into(),
        "send".into(),
        "--client-id".into(),
        PUBLIC_CLIENT.into(),
        "--mailbox".into(),
        ALICE.0.into(),
        "--name".into(),
        "scanner".into(),
        "--export".into(),
        "none".into(),
    ]);
    t.run(&argv);
    t.wait_for("? Client secret");
    t.keys(&["Enter"]);
    // A user that does not exist here is refused at its prompt, naming the field and the fix.
    t.wait_for("? Which OS account runs the mail service");
    let wrong = format!("{}x", reader.0);
    t.type_text(&wrong);
    t.keys(&["Enter"]);
    let refused = t.wait_for(&format!("Reader \"{wrong}\": there is no OS user"));
    keep_screen("setup-service-reader-refused", &t.screen());
    assert!(
        !refused.contains("user_code="),
        "nothing started: {refused}"
    );
    t.keys(&["BSpace"]);
    t.keys(&["Enter"]);
    let s = t.wait_for("user_code=");
    approve(&device_url(&s).expect("the code's URL"));
    let s = t.wait_for("? Save to");
    assert!(s.contains("+token_store = \"service\""), "{s}");
    assert!(s.contains(&format!("+readers = [\"{}\"]", reader.0)), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_exit();
    keep_screen("setup-service-saved", &t.screen());
    assert!(s.contains("EXIT=0"), "{s}\n{}", svc.stderr());
    assert!(s.contains("in the mailoauth service's custody"), "{s}");
    assert!(
        s.contains(&format!("it gives them to: {}", reader.0)),
        "{s}"
    );
    // Nothing was kept in this user's store: the only copy is the service's.
    assert!(!svc.dir.join("tokens").exists());

    // The mail service, running as the reader, gets the service's token; another user does not.
    let out = svc.token_as(&reader.0, "scanner");
    assert!(
        out.status.success(),
        "{:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        svc.stderr()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        svc.held_access_token()
    );
    t.reset();
    t.run(&[
        "runuser".into(),
        "-u".into(),
        other.0.clone(),
        "--".into(),
        bin().to_string(),
        "token".into(),
        "--config".into(),
        svc.config.display().to_string(),
        "--socket".into(),
        svc.socket.display().to_string(),
        "scanner".into(),
    ]);
    let s = t.wait_exit();
    keep_screen("token-service-refused", &t.screen());
    assert!(s.contains("EXIT=77"), "{s}");
    assert!(
        s.contains(&format!("user \"{}\" may not read", other.0)),
        "{s}"
    );
}

/// The flag-only form with the service: refused before the sign-in when the service is not
/// running or a reader does not exist; then `--reader` signs in, saves and hands the tokens
/// over; the readers survive a setup re-run without `--reader` and `reauthorize`.
#[test]
fn a_script_sets_up_a_reader_and_the_readers_survive_reruns() {
    let svc = Service::start("svc-script");
    let reader = service::OsUser::new("msa", &[]);
    let other = service::OsUser::new("msb", &[]);
    let base = |extra: &[&str]| {
        let mut args = vec!["setup".to_string()];
        args.extend(svc.flags());
        args.extend(
            [
                "--flow",
                "device-code",
                "--purpose",
                "send",
                "--client-id",
                PUBLIC_CLIENT,
                "--mailbox",
                ALICE.0,
                "--name",
                "scanner",
                "--yes",
            ]
            .map(String::from),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    // A reader that does not exist: named with its flag, nothing starts.
    let (status, _, err) = scripted(&base(&["--reader", "no-such-user-mailoauth"]));
    assert_eq!(status.code(), Some(64), "{err}");
    assert!(
        err.contains("--reader: Reader \"no-such-user-mailoauth\": there is no OS user"),
        "{err}"
    );
    // No service on the socket: said before the sign-in, with the command that starts one.
    let mut args = base(&["--reader", &reader.0]);
    let i = args.iter().position(|a| a == "--socket").unwrap();
    args[i + 1] = svc.dir.join("nowhere.sock").display().to_string();
    let (status, _, err) = scripted(&args);
    assert_eq!(status.code(), Some(69), "{err}");
    assert!(
        err.contains("the mailoauth service is not running"),
        "{err}"
    );
    assert!(err.contains("mailoauth service run --config"), "{err}");
    assert!(!err.contains("user_code="), "no sign-in started: {err}");
    assert!(
        !std::fs::read_to_string(&svc.config)
            .unwrap()
            .contains("scanner"),
        "nothing saved"
    );

    // Run by a user who may not manage the service: said before the sign-in, with who may.
    let child = Command::new("runuser")
        .args(["-u", &other.0, "--", bin()])
        .args(base(&["--reader", &reader.0]))
        .env_remove("MAILOAUTH_LOG_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runuser mailoauth setup");
    let out = service::output_bounded(child, "mailoauth setup as a non-manager");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert!(
        err.contains(&format!("user \"{}\" may not manage", other.0))
            && err.contains("only root and members of the group `mailoauth` may hand tokens"),
        "{err}"
    );
    assert!(!err.contains("user_code="), "no sign-in started: {err}");

    // With the service: signed in, saved, handed over.
    let (status, out, err) = scripted(&base(&[
        "--reader",
        &reader.0,
        "--reader",
        "group:root",
        "--json",
    ]));
    assert!(status.success(), "{err}\n{}", svc.stderr());
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON result");
    assert_eq!(v["service"], true, "{out}");
    assert_eq!(
        v["readers"],
        serde_json::json!([reader.0.clone(), "group:root"]),
        "{out}"
    );
    let token = String::from_utf8_lossy(&svc.token_as(&reader.0, "scanner").stdout)
        .trim()
        .to_string();
    assert_eq!(token, svc.held_access_token());
    assert_eq!(svc.token_as(&other.0, "scanner").status.code(), Some(77));

    // setup again without --reader, then reauthorize: the readers and the service stay.
    let (status, _, err) = scripted(&base(&[]));
    assert!(status.success(), "{err}\n{}", svc.stderr());
    assert!(err.contains("in the mailoauth service's custody"), "{err}");
    let (status, out, err) = scripted(&[
        "reauthorize".into(),
        "scanner".into(),
        "--config".into(),
        svc.config.display().to_string(),
        "--socket".into(),
        svc.socket.display().to_string(),
    ]);
    assert!(status.success(), "{err}\n{}", svc.stderr());
    assert!(out.contains("signed in again and works"), "{out}");
    let doc = mailoauth::config::load(&svc.config).expect("config");
    let account = doc.account("scanner").expect("the account");
    assert_eq!(account.readers, vec![reader.0.clone(), "group:root".into()]);
    assert!(mailoauth::service::is_service_owned(account));
    let out = svc.token_as(&reader.0, "scanner");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(svc.token_as(&other.0, "scanner").status.code(), Some(77));
}

/// A confidential client set up for the service (`--client-secret-file` and `--reader`): the
/// secret is handed to the service with the tokens, the config says `client_secret = "service"`
/// and holds no secret, no copy stays with the admin, and the service refreshes with it; root's
/// `reauthorize` signs in with the held secret, and `--client-secret-file` gives it a new one.
#[test]
fn a_script_hands_the_client_secret_to_the_service() {
    const SECRET: &str = "mailapp-secret-value";
    let svc = Service::start("svc-secret");
    let reader = service::OsUser::new("mss", &[]);
    let secret_file = svc.dir.join("given.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let mut args = vec!["setup".to_string()];
    args.extend(svc.flags());
    args.extend(
        [
            "--flow",
            "device-code",
            "--purpose",
            "send",
            "--client-id",
            "mailapp-secret",
            "--client-secret-file",
            &secret_file.display().to_string(),
            "--mailbox",
            ALICE.0,
            "--name",
            "scanner",
            "--reader",
            &reader.0,
            "--yes",
        ]
        .map(String::from),
    );
    let (status, _, err) = scripted(&args);
    assert!(status.success(), "{err}\n{}", svc.stderr());
    assert!(
        err.contains("The tokens and the client secret are in the mailoauth service's custody"),
        "{err}"
    );
    let config = std::fs::read_to_string(&svc.config).unwrap();
    assert!(config.contains("client_secret = \"service\""), "{config}");
    assert!(!config.contains(SECRET), "no secret in the config");
    let held = svc
        .dir
        .join("state/tokens")
        .join(format!("{}.client-secret", ALICE.0));
    assert_eq!(std::fs::read_to_string(&held).unwrap().trim(), SECRET);
    // No copy anywhere else: not in this test's folders, not in a keyring entry of the admin's.
    let mut copies = Vec::new();
    let mut stack = vec![svc.dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".client-secret") && p != held {
                copies.push(p);
            }
        }
    }
    assert!(copies.is_empty(), "copies of the secret left: {copies:?}");
    assert!(mailoauth::store::keyring::read_secret(
        "mailoauth",
        &format!("client-secret/{}", ALICE.0)
    )
    .is_err());

    // The reader's report makes the service refresh, with the secret it holds.
    let first = svc.held_access_token();
    let out = Command::new("runuser")
        .args([
            "-u",
            &reader.0,
            "--",
            bin(),
            "token",
            "--rejected",
            "535 5.7.8",
            "--config",
        ])
        .arg(&svc.config)
        .arg("--socket")
        .arg(&svc.socket)
        .arg("scanner")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        svc.stderr()
    );
    assert_ne!(String::from_utf8_lossy(&out.stdout).trim(), first);

    // root re-authorizes with the held secret (it reads the service's custody).
    let reauth = |extra: &[&str]| {
        let mut a = vec![
            "reauthorize".to_string(),
            "scanner".into(),
            "--no-check".into(),
            "--config".into(),
            svc.config.display().to_string(),
            "--socket".into(),
            svc.socket.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        scripted_env(
            &a,
            &[(
                "MAILOAUTH_SERVICE_STATE_DIR",
                svc.dir.join("state").as_os_str(),
            )],
        )
    };
    let (status, _, err) = reauth(&[]);
    assert!(status.success(), "{err}\n{}", svc.stderr());
    // Elsewhere (no custody to read) it says how to go on, before any sign-in.
    let (status, _, err) = scripted(&[
        "reauthorize".into(),
        "scanner".into(),
        "--config".into(),
        svc.config.display().to_string(),
        "--socket".into(),
        svc.socket.display().to_string(),
    ]);
    assert!(!status.success());
    assert!(
        err.contains("held by the mailoauth service") && err.contains("--client-secret-file"),
        "{err}"
    );
    assert!(!err.contains("user_code="), "no sign-in started: {err}");
    // A new secret given: used for the sign-in and handed to the service.
    let renewed = svc.dir.join("renewed.secret");
    std::fs::write(&renewed, format!("{SECRET}\n")).unwrap();
    std::fs::remove_file(&held).unwrap();
    let (status, _, err) = reauth(&["--client-secret-file", &renewed.display().to_string()]);
    assert!(status.success(), "{err}\n{}", svc.stderr());
    assert!(err.contains("and the new secret"), "{err}");
    assert_eq!(std::fs::read_to_string(&held).unwrap().trim(), SECRET);
    let log = std::fs::read_dir(svc.dir.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(!log.contains(SECRET) && !svc.stderr().contains(SECRET));
}
