//! Issue 9, "Secrets never leak": one end-to-end run of the `mailoauth` CLI against the real
//! peers, with the support log at `trace`, and then a scan of everything it left behind.
//!
//! The run: the account is planned and saved as the wizard does (the client secret kept in the
//! token store, the config naming only where it is), `mailoauth authorize` signs alice in with
//! the confidential client (the test browser plays the user), `mailoauth token` refreshes an
//! expired access token, `mailoauth check alice` passes, a check with a revoked access token
//! fails at the mail servers, `mailoauth token` with a garbled refresh token fails and is
//! recorded in the status file, `mailoauth status`, every `mailoauth export` format (printed and
//! written), and `mailoauth explain` of pasted lines that hold the real access token, refresh
//! token and client secret.
//!
//! Every access and refresh token ever issued (the token file is read after each step), the
//! authorization code, the client secret, the users' passwords and the encodings a leak would
//! take (base64 of the token, of the XOAUTH2 and OAUTHBEARER initial responses, of a PLAIN
//! login) are then searched for in every file under the run folder and in every captured
//! stdout and stderr. The only places allowed to hold them are the token file and the client
//! secret file (named by exact path, and checked to be 0600 in a 0700 folder), and the stdout of
//! `mailoauth token`, whose job is to print the token.
//!
//! The scrubbing of the log is a real line of defence here: at `trace`, async-imap logs the
//! XOAUTH2 line it sends, and only the scrubber turns it into `[redacted]`. Set
//! `MAILOAUTH_TEST_KEEP_RUN=1` to keep the run folder for a look.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::browser::Browser;
use common::peers::{peers, ALICE, BOB};
use mailoauth::account::{plan, save_account, to_config, AccountDraft, SaveMode};
use mailoauth::config::SecretRef;
use mailoauth::provider::SANDBOX_PROVIDER;
use mailoauth::provider::{Cloud, Flow, Purpose};
use mailoauth::sandbox::Sandbox;
use mailoauth::secret::Secret;
use mailoauth::store::TokenSet;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use url::Url;

/// The second account's mailbox (a Microsoft 365 account that is never signed in).
const SCANNER: &str = "scanner@contoso.test";

/// One CLI run's captured output.
struct Captured {
    what: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The stdout holds a token on purpose (`mailoauth token`): scanned only for other secrets.
    stdout_is_the_token: bool,
}

/// The run folder and what the run produced.
struct Run {
    dir: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    tokens: PathBuf,
    outputs: Vec<Captured>,
    /// Every secret value seen (the key), with a name saying what it is and where it was first
    /// seen: only the name is ever printed.
    secrets: BTreeMap<String, String>,
}

impl Run {
    fn new() -> Run {
        let dir =
            std::env::temp_dir().join(format!("mailoauth-secret-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["home", "config", "data", "state", "cache", "tmp", "exports"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create the run folder");
        }
        Run {
            config: dir.join("config/mailoauth/mailoauth.toml"),
            logs: dir.join("logs"),
            // Where `mailoauth authorize` puts tokens by default with this XDG_DATA_HOME.
            tokens: dir.join("data/mailoauth/tokens"),
            dir,
            outputs: Vec::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// The environment every mailoauth process of the run gets: everything points inside it.
    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("HOME", self.dir.join("home")),
            ("XDG_CONFIG_HOME", self.dir.join("config")),
            ("XDG_DATA_HOME", self.dir.join("data")),
            ("XDG_STATE_HOME", self.dir.join("state")),
            ("XDG_CACHE_HOME", self.dir.join("cache")),
            ("TMPDIR", self.dir.join("tmp")),
            ("MAILOAUTH_CONFIG", self.config.clone()),
            ("MAILOAUTH_LOG_DIR", self.logs.clone()),
            ("MAILOAUTH_LOG", PathBuf::from("trace")),
        ]
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mailoauth"));
        c.args(args)
            .env_remove("MAILOAUTH_SANDBOX")
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(Stdio::null());
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    fn keep(&mut self, what: String, out: &Output, stdout_is_the_token: bool) {
        self.outputs.push(Captured {
            what,
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
            stdout_is_the_token,
        });
    }

    /// Runs `mailoauth ARGS`, keeps its output for the scan and returns it.
    fn cli(&mut self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("run mailoauth");
        self.keep(format!("mailoauth {}", args.join(" ")), &out, false);
        out
    }

    fn secret(&mut self, name: impl Into<String>, value: &str) {
        assert!(value.len() >= 6, "a secret too short to scan for");
        self.secrets
            .entry(value.to_string())
            .or_insert_with(|| name.into());
    }

    fn token_file(&self) -> PathBuf {
        self.tokens.join(format!("{}.json", ALICE.0))
    }

    /// Reads the token file and records every token in it; returns it.
    fn read_tokens(&mut self, step: &str) -> TokenSet {
        let text = std::fs::read_to_string(self.token_file()).expect("the token file");
        let t = TokenSet::from_json(&text).expect("a token file");
        self.secret(
            format!("access token after {step}"),
            t.access_token.expose(),
        );
        if let Some(r) = &t.refresh_token {
            self.secret(format!("refresh token after {step}"), r.expose());
        }
        t
    }

    /// Rewrites the stored tokens (as a clock running past the expiry, or damage, would).
    fn edit_tokens(&self, edit: impl FnOnce(&mut TokenSet)) {
        let store = mailoauth::store::open(&mailoauth::config::StoreSpec::File(
            self.tokens.to_path_buf(),
        ))
        .unwrap();
        let mut t = store.load(ALICE.0).unwrap().expect("stored tokens");
        edit(&mut t);
        store.save(ALICE.0, &t).unwrap();
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The sign-in: `mailoauth authorize` prints the URL on stderr and waits; the test browser
/// signs alice in and lands on the CLI's listener. The authorization code it carried is a
/// secret of the run too.
fn authorize(run: &mut Run, rt: &tokio::runtime::Runtime, issuer: &str, secret_file: &Path) {
    let store = format!("file:{}", run.tokens.display());
    let secret_file = secret_file.display().to_string();
    let args = [
        "authorize",
        "--provider",
        "generic",
        "--issuer",
        issuer,
        "--mailbox",
        ALICE.0,
        "--flow",
        "loopback",
        "--client-id",
        Sandbox::CONFIDENTIAL_CLIENT.0,
        "--client-secret-file",
        &secret_file,
        "--scope",
        "openid",
        "--scope",
        "email",
        "--scope",
        "offline_access",
        "--scope",
        "mail",
        "--store",
        &store,
        "--timeout",
        "30",
    ];
    let mut child = run
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mailoauth authorize");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.trim_start().starts_with("http") {
                let _ = tx.send(line.trim().to_string());
            }
            all.extend_from_slice(line.as_bytes());
            all.push(b'\n');
        }
        all
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("mailoauth authorize prints the URL to open");
    let url = Url::parse(&url).expect("the sign-in URL");
    let landing = rt.block_on(async {
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("redirect_uri");
        let b = Browser::new();
        let is_app = |u: &Url| u.as_str().starts_with(&redirect);
        let (interaction, page) = b.follow(url.clone(), is_app).await;
        assert!(page.contains("password"), "the login form: {interaction}");
        let (landing, _) = b.login(&interaction, ALICE, is_app).await;
        let page = reqwest::get(landing.clone())
            .await
            .expect("GET the CLI's listener");
        assert!(page.status().is_success(), "the listener answered {page:?}");
        landing
    });
    let code = landing
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("the redirect carries the authorization code");
    run.secret("authorization code", &code);
    let mut out = child.wait_with_output().expect("mailoauth authorize ends");
    out.stderr = reader.join().expect("stderr reader");
    run.keep(String::from("mailoauth authorize"), &out, false);
    assert!(
        out.status.success(),
        "authorize failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("Refresh token: stored"),
        "{}",
        text(&out.stdout)
    );
}

/// Revokes `token` at the provider, as an admin removing the app's access would.
fn revoke(rt: &tokio::runtime::Runtime, issuer: &str, token: &str) {
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(format!("{issuer}/token/revocation"))
            .form(&[
                ("token", token),
                ("token_type_hint", "access_token"),
                ("client_id", Sandbox::CONFIDENTIAL_CLIENT.0),
                ("client_secret", Sandbox::CONFIDENTIAL_CLIENT.1),
            ])
            .send()
            .await
            .expect("POST revocation");
        assert!(resp.status().is_success(), "revocation: {resp:?}");
    });
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a folder of the run") {
        let entry = entry.expect("a folder entry");
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            files_under(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

/// Every form a leaked secret could take: the value itself and, for tokens and passwords, the
/// encodings that SASL logins and HTTP headers put them in.
fn needles(secrets: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let user = ALICE.0;
    for (value, name) in secrets {
        all.push((name.clone(), value.clone()));
        all.push((format!("base64 of {name}"), STANDARD.encode(value)));
        if name.contains("token") {
            let xoauth2 = format!("user={user}\x01auth=Bearer {value}\x01\x01");
            all.push((format!("XOAUTH2 of {name}"), STANDARD.encode(xoauth2)));
            let bearer = format!("n,a={user},\x01auth=Bearer {value}\x01\x01");
            all.push((format!("OAUTHBEARER of {name}"), STANDARD.encode(bearer)));
        }
    }
    for (user, password) in [ALICE, BOB] {
        let plain = format!("\0{user}\0{password}");
        all.push((format!("PLAIN login of {user}"), STANDARD.encode(plain)));
    }
    all
}

fn find_all(haystack: &[u8], needles: &[(String, String)]) -> Vec<String> {
    needles
        .iter()
        .filter(|(_, n)| haystack.windows(n.len()).any(|w| w == n.as_bytes()))
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn no_secret_reaches_a_log_a_file_or_the_output_of_a_full_run() {
    let peers = peers();
    let sandbox = Sandbox::load(&peers.env_file()).expect("the peers' sandbox file");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut run = Run::new();
    for (user, password) in [ALICE, BOB] {
        run.secret(format!("password of {user}"), password);
    }
    let client_secret = Sandbox::CONFIDENTIAL_CLIENT.1;
    run.secret("client secret", client_secret);

    // The wizard's part, in this process with the support log set up as the app does: the plan
    // keeps the client secret in the token store, and the config names only where it is.
    for (k, v) in run.env() {
        std::env::set_var(k, v);
    }
    let log = mailoauth::logging::init(Some(run.logs.clone()), mailoauth::logging::Echo::None)
        .expect("the support log");
    let draft = AccountDraft {
        provider: SANDBOX_PROVIDER.into(),
        cloud: Cloud::Worldwide,
        tenant: None,
        client_id: String::new(),
        flow: Flow::Loopback,
        purpose: Purpose::Both,
        mailbox: ALICE.0.into(),
        smtp: None,
        imap: None,
        client_secret: Some(Secret::new(client_secret.to_string())),
        redirect_port: None,
        readers: Vec::new(),
    };
    let mut setup = plan(&draft, Some(&sandbox)).expect("plan");
    setup.store = mailoauth::config::StoreSpec::File(run.tokens.to_path_buf());
    let kept = mailoauth::store::keep_client_secret(
        &setup.store,
        ALICE.0,
        &Secret::new(client_secret.to_string()),
    )
    .expect("keep the client secret");
    let SecretRef::File(secret_file) = kept.clone() else {
        panic!("a file store keeps the secret in a file: {kept:?}")
    };
    setup.auth.client_secret = Some(kept);
    let account = to_config("alice", &setup, Some(&sandbox.ca_file));
    save_account(&run.config, account, SaveMode::Write { base: None }).expect("save the config");
    // A second account, a Microsoft 365 client with a secret, so every export format has an
    // account it takes (SafeQ MPS is Microsoft-only); it is never signed in.
    let ms_draft = AccountDraft {
        provider: "microsoft".into(),
        tenant: Some("contoso.test".into()),
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        mailbox: SCANNER.into(),
        ..draft.clone()
    };
    let mut ms = plan(&ms_draft, None).expect("plan the Microsoft account");
    ms.store = setup.store.clone();
    let ms_kept = mailoauth::store::keep_client_secret(
        &ms.store,
        SCANNER,
        &Secret::new(client_secret.to_string()),
    )
    .expect("keep the second client secret");
    let SecretRef::File(ms_secret_file) = ms_kept.clone() else {
        panic!("{ms_kept:?}")
    };
    ms.auth.client_secret = Some(ms_kept);
    let account = to_config("scanner", &ms, None);
    save_account(&run.config, account, SaveMode::Write { base: None }).expect("save the config");
    // Flushed and closed here: what the test itself does next (the user's browser, the admin's
    // revocation) is not mailoauth's and must not be logged as if it were.
    drop(log);

    // 1. Sign-in through the CLI, with the kept secret file.
    authorize(&mut run, &rt, &sandbox.issuer, &secret_file);
    let first = run.read_tokens("authorize");
    assert!(
        first.refresh_token.is_some(),
        "offline_access gave a refresh token"
    );

    // 2. An expired access token: `mailoauth token` refreshes with the kept secret.
    run.edit_tokens(|t| t.expires_at = Some(1));
    let out = run
        .command(&["token", "alice"])
        .output()
        .expect("run mailoauth token");
    run.keep(String::from("mailoauth token alice (refresh)"), &out, true);
    assert!(out.status.success(), "token: {}", text(&out.stderr));
    let refreshed = run.read_tokens("token");
    assert_eq!(text(&out.stdout).trim(), refreshed.access_token.expose());
    assert_ne!(
        refreshed.access_token, first.access_token,
        "really refreshed"
    );

    // 3. The mail tests pass with the saved account.
    let out = run.cli(&["check", "alice"]);
    assert!(
        out.status.success(),
        "check alice:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    run.read_tokens("check");

    // 4. A failure at the mail servers: the access token is revoked at the provider, so both
    // logins are refused with the token still valid by its clock.
    revoke(&rt, &sandbox.issuer, refreshed.access_token.expose());
    let out = run.cli(&["check", "alice"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a revoked token fails the check"
    );
    assert!(
        text(&out.stdout).contains("FAILED"),
        "{}",
        text(&out.stdout)
    );
    run.read_tokens("the failed check");
    let access = refreshed.access_token.expose().clone();
    let refresh = refreshed.refresh_token.clone().expect("refresh token");

    // 5. A failure recorded in the status file: the refresh token is garbled (it still holds
    // the real one as a prefix, so quoting it would show) and the access token has expired.
    run.edit_tokens(|t| {
        t.expires_at = Some(1);
        t.refresh_token = Some(Secret::new(format!("{}garbled", refresh.expose())));
    });
    let out = run.cli(&["token", "alice"]);
    assert!(!out.status.success(), "a garbled refresh token is refused");
    assert!(out.stdout.is_empty(), "no token printed on failure");
    run.read_tokens("the refused refresh");
    let recorded = mailoauth::status::read(&run.config).expect("the status file");
    let alice = recorded.accounts.get("alice").expect("alice's status");
    assert!(alice.last_failure.is_some(), "the failure is recorded");
    assert!(alice.last_success.is_some(), "the refresh was recorded");

    // 6. Status, every export (printed and written), the config check.
    let out = run.cli(&["status"]);
    assert_eq!(out.status.code(), Some(80), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("NEEDS RE-AUTHORIZATION"),
        "{}",
        text(&out.stdout)
    );
    run.cli(&["status", "--json"]);
    let list = run.cli(&["export", "--list"]);
    let formats: Vec<String> = text(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(formats.len() >= 4, "export formats: {formats:?}");
    for f in &formats {
        let mut taken = 0;
        for account in ["alice", "scanner"] {
            let out = run.cli(&["export", f, account]);
            let file = run.dir.join("exports").join(format!("{account}.{f}"));
            let file = file.display().to_string();
            let written = run.cli(&["export", f, account, "--out", &file]);
            assert_eq!(
                out.status.success(),
                written.status.success(),
                "{f} {account}"
            );
            taken += usize::from(written.status.success());
        }
        assert!(taken > 0, "no account can be exported as {f}");
    }
    run.cli(&["config", "check"]);

    // 7. Explain lines pasted from a log that quote the real secrets.
    let pasted = [
        format!(
            "smtp: 535 5.7.8 Username and Password not accepted. AUTH XOAUTH2 {} token={access}",
            STANDARD.encode(format!("user={}\x01auth=Bearer {access}\x01\x01", ALICE.0))
        ),
        format!("Authorization: Bearer {access} -> 401 invalid_token"),
        format!(
            "POST /token grant_type=refresh_token&refresh_token={}&client_id=mailapp-secret&client_secret={client_secret} -> invalid_client",
            refresh.expose()
        ),
        format!("{{\"error\":\"invalid_grant\",\"refresh_token\":\"{}\",\"client_secret\":\"{client_secret}\"}}", refresh.expose()),
    ];
    for line in &pasted {
        let out = run.cli(&["explain", line]);
        assert!(out.status.code().is_some(), "explain ran");
        run.cli(&["explain", "--json", line]);
        let mut child = run
            .command(&["explain", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mailoauth explain -");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(line.as_bytes()).expect("paste");
        drop(stdin);
        let out = child.wait_with_output().expect("explain -");
        run.keep(String::from("mailoauth explain - (stdin)"), &out, false);
    }
    run.read_tokens("the end");

    // The support log really got the run, so an empty scan cannot pass.
    let mut logs = Vec::new();
    files_under(&run.logs, &mut logs);
    assert!(!logs.is_empty(), "no log file in {}", run.logs.display());
    let log_text: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read a log file"))
        .collect();
    for wanted in [
        "access token refreshed",
        "config saved",
        "authorization succeeded",
        "command=\"check\"",
        "command=\"explain\"",
        "no fresh access token",
        "TRACE",
    ] {
        assert!(log_text.contains(wanted), "the log has no {wanted:?}");
    }

    // The places meant to hold secrets: owner-only, in an owner-only folder.
    let token_file = run.token_file();
    #[cfg(unix)]
    {
        for f in [&token_file, &secret_file, &ms_secret_file] {
            assert_eq!(mode(f), 0o600, "{}", f.display());
            assert_eq!(mode(f.parent().unwrap()), 0o700, "{}", f.display());
        }
        assert_eq!(mode(&run.logs), 0o700, "the log folder");
    }
    let allowed = [
        token_file.clone(),
        secret_file.clone(),
        ms_secret_file.clone(),
    ];

    // The scan, for every distinct secret of the run.
    let named = |prefix: &str| {
        run.secrets
            .values()
            .filter(|n| n.starts_with(prefix))
            .count()
    };
    assert!(
        named("access token") >= 2,
        "the first and the refreshed access token"
    );
    assert!(named("refresh token") >= 1 && named("authorization code") == 1);
    let needles = needles(&run.secrets);
    let mut files = Vec::new();
    files_under(&run.dir, &mut files);
    let mut leaks = Vec::new();
    let (mut scanned, mut bytes) = (0usize, 0usize);
    for f in &files {
        if allowed.contains(f) {
            continue;
        }
        let content = std::fs::read(f).expect("read a file of the run");
        scanned += 1;
        bytes += content.len();
        for name in find_all(&content, &needles) {
            leaks.push(format!("{}: {name}", f.display()));
        }
    }
    let token_stdouts = run.outputs.iter().filter(|c| c.stdout_is_the_token);
    let non_token: Vec<(String, String)> = needles
        .iter()
        .filter(|(n, _)| !n.starts_with("access token"))
        .cloned()
        .collect();
    for c in token_stdouts {
        for name in find_all(&c.stdout, &non_token) {
            leaks.push(format!("stdout of {}: {name}", c.what));
        }
    }
    for c in &run.outputs {
        bytes += c.stdout.len() + c.stderr.len();
        if !c.stdout_is_the_token {
            for name in find_all(&c.stdout, &needles) {
                leaks.push(format!("stdout of {}: {name}", c.what));
            }
        }
        for name in find_all(&c.stderr, &needles) {
            leaks.push(format!("stderr of {}: {name}", c.what));
        }
    }
    println!(
        "secret scan: {scanned} files and {} outputs of {} CLI runs, {bytes} bytes; {} secrets in {} forms; {} log bytes; {} leaks",
        run.outputs.len() * 2,
        run.outputs.len(),
        run.secrets.len(),
        needles.len(),
        log_text.len(),
        leaks.len()
    );
    assert!(scanned >= 10, "the run left files to scan: {files:?}");
    // The secrets really are where they belong, so the search itself works.
    let stored = std::fs::read(&token_file).unwrap();
    assert!(
        !find_all(&stored, &needles).is_empty(),
        "the token file holds tokens"
    );
    assert!(
        std::fs::read_to_string(&secret_file)
            .unwrap()
            .contains(client_secret),
        "the secret file holds the secret"
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    if std::env::var_os("MAILOAUTH_TEST_KEEP_RUN").is_none() {
        let _ = std::fs::remove_dir_all(&run.dir);
    }
}
