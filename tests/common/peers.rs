//! The real peers (OpenID provider, Dovecot, Postfix) from `tests/peers/`.
//!
//! The test command (`scripts/test.sh`) starts them once per run and exports
//! `MAILOAUTH_PEERS_ENV`, the path of the run's `peers.env`. A test binary run on its own
//! (`cargo test --test peers_smoke`) starts its own run instead, which a watchdog stops when the
//! test process ends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One running set of peers, as `peers.env` describes it.
#[derive(Debug, Clone)]
pub struct Peers {
    vars: HashMap<String, String>,
}

/// Test users of the provider: (email, password).
pub const ALICE: (&str, &str) = ("alice@example.test", "alice-pw");
pub const BOB: (&str, &str) = ("bob@example.test", "bob-pw");
/// Public client (token endpoint auth `none`), loopback redirects on any port.
pub const PUBLIC_CLIENT: &str = "mailapp-public";
/// The scope set that yields a mail token with identity and a refresh token.
pub const MAIL_SCOPES: [&str; 4] = ["openid", "email", "offline_access", "mail"];

impl Peers {
    fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("peers.env has no {key}"))
    }

    fn port(&self, key: &str) -> u16 {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("peers.env {key} is not a port"))
    }

    /// The run's `peers.env` (what `MAILOAUTH_SANDBOX` points the app at).
    pub fn env_file(&self) -> PathBuf {
        PathBuf::from(self.get("PEERS_DIR")).join("peers.env")
    }

    /// A copy of the run's `peers.env` whose `PEERS_DIR` is a fresh folder of `name`'s own: an app
    /// pointed at it keeps its sandbox config, tokens and status there, so journeys that run at
    /// the same time never share a file (the servers stay shared).
    pub fn own_env_file(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(self.get("PEERS_DIR"))
            .join("own")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a sandbox folder of the test's own");
        let text = std::fs::read_to_string(self.env_file()).expect("peers.env");
        let copy: String = text
            .lines()
            .map(|line| match line.split_once('=') {
                Some(("PEERS_DIR", _)) => format!("PEERS_DIR={}\n", dir.display()),
                _ => format!("{line}\n"),
            })
            .collect();
        let file = dir.join("peers.env");
        std::fs::write(&file, copy).expect("the copied peers.env");
        file
    }

    /// The provider's issuer URL, e.g. `http://127.0.0.1:41234`.
    pub fn issuer(&self) -> &str {
        self.get("OP_ISSUER")
    }
    pub fn imap_port(&self) -> u16 {
        self.port("IMAP_PORT")
    }
    pub fn imaps_port(&self) -> u16 {
        self.port("IMAPS_PORT")
    }
    pub fn submission_port(&self) -> u16 {
        self.port("SUBMISSION_PORT")
    }
    pub fn submissions_port(&self) -> u16 {
        self.port("SUBMISSIONS_PORT")
    }
    /// The test CA that signed the mail servers' certificate.
    pub fn ca_file(&self) -> PathBuf {
        PathBuf::from(self.get("CA_FILE"))
    }
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_file()).expect("read the test CA")
    }
}

fn repo_root() -> PathBuf {
    // The tests of both crates (root and src-tauri) include this file.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if here.join("tests/peers/start.sh").exists() {
        here.to_path_buf()
    } else {
        here.join("..")
    }
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The peers of this test run, started on first use.
pub fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let env_file = match std::env::var("MAILOAUTH_PEERS_ENV") {
            Ok(path) => PathBuf::from(path),
            Err(_) => start_own(),
        };
        let text = std::fs::read_to_string(&env_file).unwrap_or_else(|e| {
            panic!(
                "the peers are not running ({}: {e}); start them with tests/peers/start.sh",
                env_file.display()
            )
        });
        Peers {
            vars: parse_env(&text),
        }
    })
}

fn start_own() -> PathBuf {
    let script = repo_root().join("tests/peers/start.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("PEERS_OWNER_PID", std::process::id().to_string())
        .output()
        .expect("run tests/peers/start.sh");
    assert!(
        out.status.success(),
        "the peers did not start:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or_default(),
    )
}
