//! Every export, used unchanged by the real Debian client it is for, against the real peers
//! (Dovecot IMAP and submission validating tokens at the OpenID provider, Postfix delivering),
//! each signing in through `mailoauth token`:
//! - msmtp (`export msmtp`) sends with XOAUTH2 over STARTTLS and OAUTHBEARER over implicit TLS;
//! - mbsync (`export mbsync`, XOAUTH2 through libsasl2-modules-kdexoauth2) syncs the mail, once
//!   with a minimal channel this test adds and once with `--complete` exactly as exported;
//! - NeoMutt (`export neomutt`) sends one in batch mode and reads it interactively under a
//!   pseudo-terminal (tmux: NeoMutt has no batch mode for reading);
//! - the exported command names its config file, so it reads the same file whichever user runs
//!   it (root, and `nobody` through runuser) and without `MAILOAUTH_CONFIG`.
//!
//! Waits poll for the result with generous time-outs; nothing asserts on elapsed time.
//!
//! Linux only: the clients are Debian's, and the test runs them as other users (`runuser`).
#![cfg(target_os = "linux")]

mod common;

use common::peers::{peers, ALICE};
use mailoauth::account::{plan, save_account, to_config, AccountDraft, SaveMode};
use mailoauth::config::MailServer;
use mailoauth::oauth::{store_key, unix_now};
use mailoauth::provider::SANDBOX_PROVIDER;
use mailoauth::provider::{Cloud, Flow, Purpose, SaslMechanism, Security};
use mailoauth::sandbox::Sandbox;
use mailoauth::secret::Secret;
use mailoauth::store::TokenSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Long enough for a slow, shared CI machine; only stops a hang.
const PATIENCE: Duration = Duration::from_secs(120);

/// One test's own folder: config, token store, a copy of the binary and the CA that any user
/// can read, the clients' files and a home folder.
struct Place {
    dir: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    home: PathBuf,
}

fn server(host: &str, port: u16, security: Security, sasl: SaslMechanism) -> MailServer {
    MailServer {
        host: host.into(),
        port,
        security,
        sasl,
    }
}

/// The sandbox account `alice` with these servers, saved at `config` (or `<dir>/mailoauth.toml`),
/// and a valid access token for alice in its store, as a sign-in leaves it.
async fn place(
    name: &str,
    config: Option<PathBuf>,
    smtp: Option<MailServer>,
    imap: Option<MailServer>,
) -> Place {
    let sandbox = Sandbox::load(&peers().env_file()).expect("the peers' sandbox file");
    let draft = AccountDraft {
        provider: SANDBOX_PROVIDER.into(),
        cloud: Cloud::Worldwide,
        tenant: None,
        client_id: String::new(),
        flow: Flow::DeviceCode,
        purpose: Purpose::Both,
        mailbox: ALICE.0.into(),
        smtp: None,
        imap: None,
        client_secret: None,
        redirect_port: None,
        readers: Vec::new(),
    };
    let dir = std::env::temp_dir().join(format!("mailoauth-exports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let bin = dir.join("bin/mailoauth");
    std::fs::copy(env!("CARGO_BIN_EXE_mailoauth"), &bin).expect("copy the binary");
    let ca = dir.join("ca.crt");
    std::fs::copy(&sandbox.ca_file, &ca).expect("copy the test CA");
    let mut setup = plan(&draft, Some(&sandbox)).expect("plan");
    setup.store = mailoauth::config::StoreSpec::File(dir.join("tokens").to_path_buf());
    let mut account = to_config("alice", &setup, Some(&ca));
    account.smtp = smtp;
    account.imap = imap;
    account.purpose = match (account.smtp.is_some(), account.imap.is_some()) {
        (true, true) => Purpose::Both,
        (true, false) => Purpose::Send,
        _ => Purpose::Receive,
    };
    let config = config.unwrap_or_else(|| dir.join("mailoauth.toml"));
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    save_account(&config, account, SaveMode::Write { base: None }).expect("save");
    let store = mailoauth::store::open(&setup.store).expect("store");
    let now = unix_now();
    store
        .save(
            &store_key(&setup.auth),
            &TokenSet {
                access_token: Secret::new(common::tokens::device_token(ALICE).await),
                refresh_token: None,
                expires_at: Some(now + 1800),
                scopes: vec!["mail".into()],
                account: Some(ALICE.0.into()),
                obtained_at: now,
            },
        )
        .expect("store tokens");
    Place {
        dir,
        config,
        bin,
        home,
    }
}

/// Runs `cmd` with `input` on its stdin and returns what it printed; a client that has not ended
/// after [`PATIENCE`] (a prompt nobody answers, a hung connection) is killed and the test fails.
fn run(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = pipe.read_to_end(&mut v);
            v
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not end within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn host() -> &'static str {
    "localhost"
}

fn ok(out: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `mailoauth export <args> --program <copy>` with `--config` of the place.
fn export(p: &Place, args: &[&str]) -> String {
    let out = Command::new(&p.bin)
        .arg("export")
        .args(args)
        .arg("--config")
        .arg(&p.config)
        .arg("--program")
        .arg(&p.bin)
        .env_remove("MAILOAUTH_CONFIG")
        .output()
        .expect("run mailoauth export");
    ok(out, &format!("mailoauth export {args:?}"))
}

/// Writes a client's config file, owner-only (msmtp refuses others).
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn message(subject: &str) -> String {
    format!(
        "From: {a}\r\nTo: {a}\r\nSubject: {subject}\r\n\r\nSent by the exports test.\r\n",
        a = ALICE.0
    )
}

fn subject(kind: &str) -> String {
    format!("mailoauth-export-{kind}-{}", std::process::id())
}

/// Polls `check` until it gives a value, for at most [`PATIENCE`].
fn wait_for<T>(
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    last_words: impl Fn() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        if start.elapsed() > PATIENCE {
            panic!("gave up waiting for {what}:\n{}", last_words());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether a Maildir (`new` or `cur` of `dir`) holds a message with `subject`.
fn maildir_has(dir: &Path, subject: &str) -> bool {
    let needle = format!("Subject: {subject}");
    ["new", "cur"].iter().any(|sub| {
        std::fs::read_dir(dir.join(sub)).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&needle)))
        })
    })
}

/// Waits until Dovecot has delivered `subject` to alice's INBOX.
fn delivered(subject: &str) {
    let run = peers().env_file().parent().unwrap().to_path_buf();
    let inbox = run.join("dovecot/mail").join(ALICE.0).join("Maildir");
    wait_for(
        &format!("Dovecot to deliver {subject:?}"),
        || maildir_has(&inbox, subject).then_some(()),
        || {
            std::fs::read_to_string(run.join("maillog"))
                .unwrap_or_default()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
}

/// msmtp with the exported account, unchanged, sends `subject` to alice.
fn msmtp_send(rc: &Path, subject: &str, user: Option<&str>, home: &Path) {
    let mut cmd = if let Some(user) = user {
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--", "msmtp"]);
        c
    } else {
        Command::new("msmtp")
    };
    // A service's environment: no MAILOAUTH_CONFIG, its own HOME.
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", home)
        .arg("-C")
        .arg(rc)
        .args(["-a", "alice", ALICE.0]);
    ok(run(&mut cmd, message(subject).as_bytes()), "msmtp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msmtp_sends_with_both_mechanisms_over_starttls_and_implicit_tls() {
    let variants = [
        (
            "starttls-xoauth2",
            peers().submission_port(),
            Security::StartTls,
            SaslMechanism::Xoauth2,
        ),
        (
            "tls-oauthbearer",
            peers().submissions_port(),
            Security::Tls,
            SaslMechanism::Oauthbearer,
        ),
    ];
    for (kind, port, security, sasl) in variants {
        let p = place(
            &format!("msmtp-{kind}"),
            None,
            Some(server(host(), port, security, sasl)),
            None,
        )
        .await;
        let text = export(&p, &["msmtp", "alice"]);
        assert!(
            text.contains(&format!("--config {}", p.config.display())),
            "{text}"
        );
        let rc = p.dir.join("msmtprc");
        write_private(&rc, &text);
        let s = subject(&format!("msmtp-{kind}"));
        msmtp_send(&rc, &s, None, &p.home);
        delivered(&s);
        let _ = std::fs::remove_dir_all(&p.dir);
    }
}

fn mbsync(rc: &Path, channel: &str, home: &Path) -> String {
    let out = run(
        Command::new("mbsync")
            .env("HOME", home)
            .env_remove("MAILOAUTH_CONFIG")
            .arg("-c")
            .arg(rc)
            .arg(channel),
        b"",
    );
    ok(out, "mbsync")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbsync_syncs_with_the_plain_export_and_with_the_complete_one() {
    let smtp = server(
        host(),
        peers().submission_port(),
        Security::StartTls,
        SaslMechanism::Xoauth2,
    );
    // The plain export (IMAP with STARTTLS) and a minimal store and channel of the test's own.
    // The account names OAUTHBEARER for IMAP, which Dovecot offers but no Cyrus SASL plugin of
    // Debian's does: the export must still give mbsync XOAUTH2.
    let p = place(
        "mbsync-plain",
        None,
        Some(smtp.clone()),
        Some(server(
            host(),
            peers().imap_port(),
            Security::StartTls,
            SaslMechanism::Oauthbearer,
        )),
    )
    .await;
    let s = subject("mbsync-plain");
    let rc = p.dir.join("msmtprc");
    write_private(&rc, &export(&p, &["msmtp", "alice"]));
    msmtp_send(&rc, &s, None, &p.home);
    delivered(&s);
    let text = export(&p, &["mbsync", "alice"]);
    let local = p.dir.join("local");
    let mbsyncrc = p.dir.join("mbsyncrc");
    write_private(
        &mbsyncrc,
        &format!(
            "{text}\nMaildirStore t-local\nPath {l}/\nInbox {l}/INBOX\n\nChannel t\nFar :alice-remote:INBOX\nNear :t-local:INBOX\nCreate Near\nSyncState *\n",
            l = local.display()
        ),
    );
    std::fs::create_dir_all(&local).unwrap();
    mbsync(&mbsyncrc, "t", &p.home);
    assert!(
        maildir_has(&local.join("INBOX"), &s),
        "mbsync did not fetch {s}"
    );
    assert!(text.contains("AuthMechs XOAUTH2\n"), "{text}");
    assert!(!text.contains("MaildirStore"), "{text}");
    let _ = std::fs::remove_dir_all(&p.dir);

    // --complete (implicit TLS), used exactly as exported: `mbsync alice` with the export's
    // own Maildir under the (service's) home folder.
    let p = place(
        "mbsync-complete",
        None,
        Some(smtp),
        Some(server(
            host(),
            peers().imaps_port(),
            Security::Tls,
            SaslMechanism::Xoauth2,
        )),
    )
    .await;
    let s = subject("mbsync-complete");
    let rc = p.dir.join("msmtprc");
    write_private(&rc, &export(&p, &["msmtp", "alice"]));
    msmtp_send(&rc, &s, None, &p.home);
    delivered(&s);
    let text = export(&p, &["mbsync", "--complete", "alice"]);
    let mbsyncrc = p.dir.join("mbsyncrc");
    write_private(&mbsyncrc, &text);
    mbsync(&mbsyncrc, "alice", &p.home);
    let inbox = p.home.join("Mail/alice/INBOX");
    assert!(
        maildir_has(&inbox, &s),
        "mbsync --complete did not fetch {s}:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&p.dir);
}

/// A tmux server of this test's own (its own socket), stopped when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }
    fn pane(&self) -> String {
        self.cmd()
            .args(["capture-pane", "-p", "-t", "reader"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neomutt_sends_one_and_reads_it_under_a_pseudo_terminal() {
    // IMAP with OAUTHBEARER over STARTTLS, SMTP with XOAUTH2 over implicit TLS.
    let p = place(
        "neomutt",
        None,
        Some(server(
            host(),
            peers().submissions_port(),
            Security::Tls,
            SaslMechanism::Xoauth2,
        )),
        Some(server(
            host(),
            peers().imap_port(),
            Security::StartTls,
            SaslMechanism::Oauthbearer,
        )),
    )
    .await;
    let text = export(&p, &["neomutt", "alice"]);
    assert!(text.contains("imap_oauth_refresh_command"), "{text}");
    let rc = p.dir.join("neomuttrc");
    write_private(&rc, &text);
    let s = subject("neomutt");

    // Sending: NeoMutt's batch mode, through smtp_url and smtp_oauth_refresh_command.
    let sent = run(
        Command::new("neomutt")
            .env("HOME", &p.home)
            .env_remove("MAILOAUTH_CONFIG")
            .arg("-n")
            .arg("-F")
            .arg(&rc)
            .args(["-s", &s, ALICE.0]),
        b"Sent by NeoMutt in the exports test.\n",
    );
    ok(sent, "neomutt (sending)");
    delivered(&s);

    // Reading: NeoMutt in a terminal opens the IMAP INBOX; its index lists the subject.
    let tmux = Tmux {
        socket: format!("mailoauth-exports-{}", std::process::id()),
    };
    let start = tmux
        .cmd()
        .env("HOME", &p.home)
        .env("TERM", "xterm")
        .env_remove("MAILOAUTH_CONFIG")
        .args(["new-session", "-d", "-s", "reader", "-x", "250", "-y", "50"])
        .arg(format!("neomutt -n -F '{}'", rc.display()))
        .output()
        .expect("run tmux");
    ok(start, "tmux new-session");
    wait_for(
        &format!("NeoMutt to list {s:?}"),
        || tmux.pane().contains(&s).then_some(()),
        || tmux.pane(),
    );
    drop(tmux);
    let _ = std::fs::remove_dir_all(&p.dir);
}

fn chown_nobody(dir: &Path) {
    ok(
        Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(dir)
            .output()
            .unwrap(),
        "chown",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exported_command_reads_the_same_config_for_root_and_nobody() {
    // The test command runs as root (it starts its own mail servers); a run without root
    // fails here instead of passing without having tried anything.
    assert!(
        nix_is_root(),
        "this test runs msmtp as another user (nobody), which needs root"
    );
    let smtp = || {
        Some(server(
            host(),
            peers().submission_port(),
            Security::StartTls,
            SaslMechanism::Xoauth2,
        ))
    };

    // Root exports the file MAILOAUTH_CONFIG points to; nobody's msmtp, started without that
    // variable (as cron or systemd would), still reads it.
    let p = place("as-root", None, smtp(), None).await;
    let out = Command::new(&p.bin)
        .args(["export", "msmtp", "alice", "--program"])
        .arg(&p.bin)
        .env("MAILOAUTH_CONFIG", &p.config)
        .output()
        .unwrap();
    let text = ok(out, "export with MAILOAUTH_CONFIG");
    let rc = p.dir.join("msmtprc");
    write_private(&rc, &text);
    chown_nobody(&p.dir);
    let s = subject("as-nobody");
    msmtp_send(&rc, &s, Some("nobody"), &p.home);
    delivered(&s);
    assert!(
        text.contains(&format!("--config {}", p.config.display())),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&p.dir);

    // nobody exports its own default file (under its ~/.config); nobody's msmtp, started later
    // with another HOME (as cron or a service manager may), reads that file because the command
    // names it: without --config, mailoauth would look under the other HOME. (Root cannot stand
    // in here: root refuses a token folder that another account owns, docs/SECURITY.md.)
    let dir = std::env::temp_dir().join(format!(
        "mailoauth-exports-nobody-home-{}",
        std::process::id()
    ));
    let nobody_home = dir.join("home");
    let default = nobody_home.join(".config/mailoauth/mailoauth.toml");
    let p = place("as-nobody", Some(default.clone()), smtp(), None).await;
    chown_nobody(&dir);
    chown_nobody(&p.dir);
    // runuser sets HOME to nobody's passwd entry; env gives it the home holding its config.
    let out = Command::new("runuser")
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .args(["-u", "nobody", "--", "env"])
        .arg(format!("HOME={}", nobody_home.display()))
        .arg(&p.bin)
        .args(["export", "msmtp", "alice", "--program"])
        .arg(&p.bin)
        .output()
        .unwrap();
    let text = ok(out, "export as nobody with its default config");
    let rc = p.dir.join("msmtprc-other-home");
    write_private(&rc, &text);
    chown_nobody(&p.dir);
    let s = subject("as-nobody-other-home");
    msmtp_send(&rc, &s, Some("nobody"), Path::new("/nonexistent"));
    delivered(&s);
    assert!(
        text.contains(&format!("--config {}", default.display())),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&p.dir);
    let _ = std::fs::remove_dir_all(&dir);
}

fn nix_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// fetchmail 6.x has no OAuth: `export --help` says so and what to use instead, and asking for
/// a fetchmail export gets that answer (not "no such format"), before any config is read.
#[test]
fn fetchmail_is_named_as_without_oauth_with_what_to_do_instead() {
    let bin = env!("CARGO_BIN_EXE_mailoauth");
    let help = Command::new(bin)
        .args(["export", "--help"])
        .output()
        .unwrap();
    let help = ok(help, "mailoauth export --help");
    assert!(
        help.contains("fetchmail 6.4.x (Debian 12: 6.4.37)"),
        "{help}"
    );
    assert!(help.contains("export mbsync --complete"), "{help}");
    let out = Command::new(bin)
        .args([
            "export",
            "fetchmail",
            "alice",
            "--config",
            "/nonexistent/m.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot sign in with OAuth2"), "{err}");
    assert!(err.contains("mailoauth export neomutt"), "{err}");
}
