//! Input the CLI must refuse before it does anything: a login in clear text to another machine,
//! a config file that `config check` and the loader used to judge differently (too big, not
//! UTF-8, a pipe, a device, an `http://` endpoint elsewhere), and `authorize` / `check` values
//! that used to start a sign-in or a DNS query and fail only at the time-out.
//!
//! Every case runs the real `mailoauth` binary; the cleartext and `authorize` cases also use the
//! real peers (Dovecot, the OpenID provider) to show that nothing reaches them.

mod common;
#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::ConfigFixture;

use common::peers::{peers, ALICE, PUBLIC_CLIENT};
use mailoauth::probe::{CheckRequest, Endpoint, FailureKind, MechanismChoice, Timeouts, TlsTrust};
use mailoauth::provider::Security;
use mailoauth::secret::Secret;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// sysexits.h
const EX_USAGE: i32 = 64;
const EX_CONFIG: i32 = 78;

fn mailoauth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailoauth"));
    cmd.stdin(Stdio::null());
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mailoauth-refusals-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd` to its end, or kills it after `limit` (a hang is a failure, not a wait forever).
/// The limit only stops a hang; nothing is asserted on how long the command took.
fn run_bounded(mut cmd: Command, limit: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mailoauth");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mailoauth") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status,
        text(&out.join().unwrap_or_default()),
        text(&err.join().unwrap_or_default()),
    )
}

/// A config of one account `svc` sending through `host:port` with `security`, its tokens in
/// `dir/tokens`, its token endpoint `token_url`.
fn config(dir: &Path, host: &str, port: u16, security: &str, token_url: &str) -> PathBuf {
    let path = dir.join("mailoauth.toml");
    ConfigFixture {
        issuer: Some("http://127.0.0.1:9/".into()),
        ..ConfigFixture::file_store("svc", ALICE.0, &dir.join("tokens"), "http://127.0.0.1:9")
    }
    .client_id(PUBLIC_CLIENT)
    .smtp(host, port, security)
    .token_endpoint(token_url)
    .write(&path);
    path
}

fn cli(args: &[&str], config: &Path) -> Output {
    mailoauth()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run mailoauth")
}

// ---------------------------------------------------------------------------------------------
// Item 3: no bearer token in clear text to another machine.

/// `security = "none"` to a host that is not loopback: `config check`, the loader (`token`,
/// `check <account>`, `export`) all refuse it, naming the account, the key and the fix; the msmtp
/// export never writes `tls off` for it. The same file with a loopback host stays valid.
#[test]
fn a_cleartext_server_elsewhere_is_refused_by_check_loader_and_export() {
    let dir = scratch("cleartext-config");
    for host in ["smtp.example.com", "0.0.0.0", "10.0.0.5"] {
        let path = config(&dir, host, 25, "none", "http://127.0.0.1:9/token");

        let checked = mailoauth()
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        let err = text(&checked.stderr);
        assert_eq!(checked.status.code(), Some(EX_CONFIG), "{host}: {err}");
        for needle in [
            "account \"svc\"",
            "key smtp.security",
            "clear text",
            "start_tls",
        ] {
            assert!(err.contains(needle), "{host}: no {needle:?} in {err}");
        }

        let exported = mailoauth()
            .args(["export", "msmtp", "svc", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!exported.status.success(), "{host}: export succeeded");
        assert!(!text(&exported.stdout).contains("tls off"));
        assert!(text(&exported.stderr).contains("smtp.security"));

        let token = cli(&["token", "svc"], &path);
        assert!(!token.status.success());
        assert!(text(&token.stderr).contains("smtp.security"), "{host}");

        let check = mailoauth()
            .args(["check", "--config"])
            .arg(&path)
            .arg("svc")
            .output()
            .unwrap();
        assert_eq!(check.status.code(), Some(EX_CONFIG), "{host}");
        assert!(text(&check.stderr).contains("smtp.security"));
    }
    // Loopback may go without encryption (the peers' plain ports, a local relay).
    for host in ["127.0.0.1", "localhost", "::1"] {
        let path = config(&dir, host, 25, "none", "http://127.0.0.1:9/token");
        let checked = mailoauth()
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "{host}: {}",
            text(&checked.stderr)
        );
        let exported = cli(&["export", "msmtp", "svc"], &path);
        assert!(
            exported.status.success(),
            "{host}: {}",
            text(&exported.stderr)
        );
        assert!(text(&exported.stdout).contains("tls off"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// With the real peers: `0.0.0.0` reaches the servers listening on 127.0.0.1 (Linux connects
/// it to this machine), yet it is not a loopback address, so a login in clear text to it is
/// refused before anything connects: by `check --smtp/--imap` (usage error naming the flag)
/// and by the login tests the app runs. The same servers on 127.0.0.1 take the token in clear
/// text, which shows the refusal is the only thing that stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartext_to_another_address_never_reaches_the_real_servers() {
    let p = peers();
    let token = common::tokens::device_token(ALICE).await;
    let run = |host: &str| {
        let mut cmd = mailoauth();
        cmd.args([
            "check",
            "--mailbox",
            ALICE.0,
            "--token-env",
            "REFUSALS_TOKEN",
        ])
        .arg("--smtp")
        .arg(format!("{host}:{}:none", p.submission_port()))
        .arg("--imap")
        .arg(format!("{host}:{}:none", p.imap_port()))
        .env("REFUSALS_TOKEN", &token);
        tokio::task::block_in_place(|| cmd.output().expect("run mailoauth check"))
    };

    let refused = run("0.0.0.0");
    let (out, err) = (text(&refused.stdout), text(&refused.stderr));
    assert_eq!(refused.status.code(), Some(EX_USAGE), "{out}\n{err}");
    assert!(
        err.contains("--smtp") && err.contains("clear text"),
        "{err}"
    );
    assert!(err.contains("TLS or STARTTLS"), "{err}");
    // No step ran: nothing was resolved, connected or sent.
    for step in ["connect", "greeting", "login", "answered"] {
        assert!(
            !out.contains(step) && !err.contains(step),
            "{step}: {out}\n{err}"
        );
    }
    assert!(!out.contains(&token) && !err.contains(&token));

    let allowed = run("127.0.0.1");
    assert!(
        allowed.status.success(),
        "the peers take a token in clear text on loopback:\n{}\n{}",
        text(&allowed.stdout),
        text(&allowed.stderr)
    );

    // The core's login test (what the app's mail test calls) refuses on its own.
    let ep = |port| Endpoint {
        host: "0.0.0.0".into(),
        port,
        security: Security::None,
    };
    let req = CheckRequest {
        mailbox: ALICE.0.into(),
        smtp: Some(ep(p.submission_port())),
        imap: Some(ep(p.imap_port())),
        mechanism: MechanismChoice::Auto,
        tls: TlsTrust::default(),
        send_test_to: None,
        source_address: None,
        timeouts: Timeouts::default(),
    };
    let cancel = mailoauth::oauth::CancellationToken::new();
    let steps = std::sync::Mutex::new(Vec::new());
    let report = mailoauth::probe::check(
        &req,
        &Secret::new(token.clone()),
        &|e| steps.lock().unwrap().push(e.step),
        &cancel,
    )
    .await;
    assert!(!report.ok);
    assert!(
        report.smtp.is_none() && report.imap.is_none(),
        "{report:#?}"
    );
    let failure = report.failure.expect("refused before the tests");
    assert_eq!(failure.kind, FailureKind::InvalidRequest);
    assert!(
        failure.message.contains("SMTP server"),
        "{}",
        failure.message
    );
    assert!(steps.lock().unwrap().is_empty(), "no step may start");
}

// ---------------------------------------------------------------------------------------------
// Item 6: `config check` and the loader are one.

/// A file over the 4 MiB bound, one that is not UTF-8, and an `http://` token endpoint on
/// another host: `config check` says what `token` says, with the config exit status.
#[test]
fn config_check_refuses_what_the_loader_refuses() {
    let dir = scratch("agree");
    let good = config(
        &dir,
        "smtp.example.com",
        587,
        "start_tls",
        "http://127.0.0.1:9/token",
    );
    let sample = std::fs::read(&good).unwrap();
    let ok = mailoauth()
        .args(["config", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stderr));

    let mut big = sample.clone();
    big.extend(std::iter::repeat_n(b'#', 50 * 1024 * 1024));
    big.push(b'\n');
    let mut latin1 = sample.clone();
    latin1.extend_from_slice(b"# caf\xe9\n");
    let http = text(&sample)
        .replace(
            "token = \"http://127.0.0.1:9/token\"",
            "token = \"http://idp.example.com/token\"",
        )
        .into_bytes();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("big", big, "too big"),
        ("latin1", latin1, "not UTF-8"),
        ("http", http, "auth.endpoints.token"),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, bytes).unwrap();
        let checked = mailoauth()
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        let err = text(&checked.stderr);
        assert_eq!(checked.status.code(), Some(EX_CONFIG), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        let token = cli(&["token", "svc"], &path);
        assert!(!token.status.success(), "{name}");
        assert!(
            text(&token.stderr).contains(needle),
            "{name}: {}",
            text(&token.stderr)
        );
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A FIFO and `/dev/zero` in place of the config: refused at once as not a regular file, by
/// `config check` and by the loader; before, the FIFO hung forever and `/dev/zero` was read until
/// memory ran out. The child runs with a 1 GiB address-space limit so a regression fails here
/// instead of exhausting the machine, and is killed after a generous minute if it hangs.
#[cfg(target_os = "linux")]
#[test]
fn a_pipe_or_a_device_is_not_read_as_a_config() {
    use std::os::unix::process::CommandExt;
    let dir = scratch("special");
    let fifo = dir.join("fifo.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    for file in [fifo.as_path(), Path::new("/dev/zero")] {
        for args in [vec!["config", "check"], vec!["token", "svc", "--config"]] {
            let mut cmd = mailoauth();
            cmd.args(&args).arg(file);
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    let limit = libc::rlimit {
                        rlim_cur: 1 << 30,
                        rlim_max: 1 << 30,
                    };
                    libc::setrlimit(libc::RLIMIT_AS, &limit);
                    Ok(())
                });
            }
            let (status, _, err) = run_bounded(cmd, Duration::from_secs(60));
            let what = format!("{args:?} {}", file.display());
            let status = status.unwrap_or_else(|| panic!("{what}: hung, killed"));
            assert!(!status.success(), "{what}");
            assert!(err.contains("not a regular file"), "{what}: {err}");
            if args[0] == "config" {
                assert_eq!(status.code(), Some(EX_CONFIG), "{what}: {err}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Item 7: `authorize` and `check` values are checked before anything starts.

/// Each bad value is refused with the wizard's message and the usage exit status, before the
/// provider is asked anything and before the loopback listener starts; valid values still start
/// the sign-in (it then stops at its one-second time-out, as no browser comes).
#[test]
fn authorize_refuses_invalid_values_before_the_sign_in_starts() {
    let p = peers();
    let dir = scratch("authorize");
    let store = format!("file:{}", dir.join("tokens").display());
    let long = format!("{}@example.test", "a".repeat(5000));
    let run = |mailbox: &str, client_id: &str| {
        let mut cmd = mailoauth();
        cmd.args(["authorize", "--provider", "generic", "--issuer", p.issuer()])
            .args(["--flow", "loopback", "--timeout", "1", "--store", &store])
            .args(["--mailbox", mailbox, "--client-id", client_id])
            .args(["--scope", "openid", "--scope", "mail"]);
        run_bounded(cmd, Duration::from_secs(120))
    };
    let cases = [
        (
            "../../etc/x@y",
            PUBLIC_CLIENT,
            "Mailbox: this is not a mailbox address.",
        ),
        (
            "alice",
            PUBLIC_CLIENT,
            "Mailbox: this is not a mailbox address.",
        ),
        ("", PUBLIC_CLIENT, "Mailbox is empty."),
        (
            "a@b@c",
            PUBLIC_CLIENT,
            "Mailbox: this is not a mailbox address.",
        ),
        (
            long.as_str(),
            PUBLIC_CLIENT,
            "Mailbox: this is not a mailbox address.",
        ),
        (ALICE.0, "mailapp public", "Client ID: it contains spaces."),
    ];
    for (mailbox, client_id, message) in cases {
        let shown = &mailbox[..mailbox.len().min(40)];
        let (status, _, err) = run(mailbox, client_id);
        let status = status.expect("authorize hung");
        assert_eq!(
            status.code(),
            Some(EX_USAGE),
            "{shown} / {client_id}: {err}"
        );
        assert!(err.contains(message), "{shown}: {err}");
        assert!(
            err.contains("Enter") || err.contains("Copy"),
            "the fix: {err}"
        );
        for started in ["Waiting for the browser", "Open this URL", "timed out"] {
            assert!(
                !err.contains(started),
                "{shown}: the sign-in started: {err}"
            );
        }
    }
    assert!(!dir.join("tokens").exists(), "nothing was stored");

    let (status, _, err) = run(ALICE.0, PUBLIC_CLIENT);
    assert!(!status.expect("authorize hung").success());
    assert!(
        err.contains("Waiting for the browser"),
        "valid values start the sign-in: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check --smtp smtp://host...` is a usage error that shows the expected form; before, the whole
/// text went to DNS as a host name (`smtp://host` does not resolve).
#[test]
fn check_refuses_a_url_in_place_of_a_server() {
    for (flag, value) in [
        ("--smtp", "smtp://mail.example.invalid:587:starttls"),
        ("--smtp", "smtp://mail.example.invalid"),
        ("--imap", "imaps://mail.example.invalid:993"),
    ] {
        let out = mailoauth()
            .args([
                "check",
                "--mailbox",
                ALICE.0,
                "--token-env",
                "REFUSALS_URL_TOKEN",
            ])
            .args([flag, value])
            .env("REFUSALS_URL_TOKEN", "not-a-real-token")
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(EX_USAGE), "{value}: {err}");
        assert!(err.contains(flag), "{value}: {err}");
        assert!(err.contains("host:port[:security]"), "{value}: {err}");
        assert!(!err.contains("does not resolve"), "{value}: {err}");
    }
    // The short form takes the port's usual security; a non-standard port needs it written.
    let out = mailoauth()
        .args([
            "check",
            "--mailbox",
            ALICE.0,
            "--token-env",
            "REFUSALS_URL_TOKEN",
        ])
        .args(["--smtp", "mail.example.invalid:2525"])
        .env("REFUSALS_URL_TOKEN", "not-a-real-token")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EX_USAGE));
    assert!(text(&out.stderr).contains("security must be given"));
}
