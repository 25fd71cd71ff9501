#![allow(dead_code)] // each test binary uses a different part
//! Helpers of the token service tests (tests/service_*.rs): an account at the real provider, a
//! service run in the foreground as root with its own state folder and socket, OS users made
//! with `useradd` (removed on drop), and `mailoauth token` run as them with `runuser`.

use crate::common::peers::{peers, ALICE, MAIL_SCOPES};
use mailoauth::service::protocol::Request;
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenSet;
use mailoauth::store::TokenStore;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_mailoauth");

/// One account at the real provider, and a service for it.
pub struct Svc {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub state: PathBuf,
    pub socket: PathBuf,
    pub logs: PathBuf,
    pub child: Option<Child>,
    pub starts: usize,
    pub client_id: String,
}

/// The config text: account `alice` with `token_store`, `readers` and an optional `[service]`.
pub fn config_text(token_store: &str, client_id: &str, readers: &[&str], service: &str) -> String {
    let issuer = peers().issuer();
    let readers = readers
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"version = 1
{service}
[[account]]
name = "alice"
purpose = "send"
mailbox = "{mailbox}"
token_store = "{token_store}"
readers = [{readers}]

[account.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "start_tls"
sasl = "xoauth2"

[account.tls]
ca_file = "{ca_file}"

[account.auth]
provider = "generic"
client_id = "{client_id}"
client_auth = "none"
flow = "device_code"
scopes = [{scopes}]

[account.auth.endpoints]
issuer = "{issuer}"
authorization = "{issuer}/auth"
token = "{issuer}/token"
device_authorization = "{issuer}/device/auth"
"#,
        mailbox = ALICE.0,
        smtp_port = peers().submission_port(),
        ca_file = peers().ca_file().display(),
        scopes = MAIL_SCOPES
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

impl Svc {
    /// A fresh folder (mode 0755, so the test users reach the socket) with a config whose
    /// account keeps its tokens in `<dir>/tokens` until it is adopted by the service.
    pub fn new(name: &str, client_id: &str, readers: &[&str], service: &str) -> Svc {
        let dir = std::env::temp_dir().join(format!("mailoauth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.join("mailoauth.toml");
        let tokens = dir.join("tokens");
        std::fs::write(
            &config,
            config_text(
                &format!("file:{}", tokens.display()),
                client_id,
                readers,
                service,
            ),
        )
        .unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        Svc {
            state: dir.join("state"),
            socket: dir.join("run").join("mailoauth.sock"),
            logs,
            config,
            dir,
            child: None,
            starts: 0,
            client_id: client_id.to_string(),
        }
    }

    /// The account's first store (before adoption).
    pub fn file_store(&self) -> FileStore {
        FileStore::new(self.dir.join("tokens"))
    }

    /// The service's custody store.
    pub fn custody(&self) -> FileStore {
        FileStore::new(self.state.join("tokens"))
    }

    /// The tokens the service holds.
    pub fn held(&self) -> TokenSet {
        self.custody()
            .load(ALICE.0)
            .expect("the custody store parses")
            .expect("the service holds tokens")
    }

    /// Signs alice in at the real provider with the device flow, into the file store.
    pub async fn sign_in(&self) {
        let doc = mailoauth::config::load(&self.config).unwrap();
        let auth = mailoauth::account::convert::auth_settings(doc.account("alice").unwrap());
        crate::common::browser::sign_in_device(&auth, &self.file_store(), ALICE).await;
    }

    /// Starts `mailoauth service run` in the foreground and waits (bounded) until it answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the service already runs");
        self.starts += 1;
        let err =
            std::fs::File::create(self.dir.join(format!("service-{}.err", self.starts))).unwrap();
        let child = Command::new(BIN)
            .args(["service", "run", "--config"])
            .arg(&self.config)
            .arg("--state-dir")
            .arg(&self.state)
            .arg("--socket")
            .arg(&self.socket)
            .env("MAILOAUTH_LOG_DIR", &self.logs)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..600 {
            if hello(&self.socket) {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the service ended at start: {status:?}: {}",
                    self.stderr_all()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the service did not answer within 60 s: {}",
            self.stderr_all()
        );
    }

    /// Sends SIGTERM and waits (bounded) for the service to end; returns its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the service runs");
        // SAFETY: kill(2) on our own child, not reaped yet.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        wait_bounded(&mut child, "the service's stop")
    }

    /// Everything the service runs wrote on stderr.
    pub fn stderr_all(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                std::fs::read_to_string(self.dir.join(format!("service-{n}.err")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Everything in the service's log folder.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        for e in std::fs::read_dir(&self.logs).unwrap().flatten() {
            text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
        text
    }

    /// `mailoauth service adopt alice`: the tokens move into the running service.
    pub fn adopt(&self) {
        let out = Command::new(BIN)
            .args(["service", "adopt", "--config"])
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .arg("alice")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "adopt: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `mailoauth token alice` with `args`, as root (`user` None) or as `user` via runuser.
    pub fn token_command(&self, user: Option<&str>, args: &[&str]) -> Command {
        let mut c = match user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--", BIN]);
                c
            }
            None => Command::new(BIN),
        };
        c.arg("token")
            .arg("--config")
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .arg("alice")
            .env("MAILOAUTH_SERVICE_STATE_DIR", &self.state)
            .env_remove("MAILOAUTH_LOG_DIR")
            .env_remove("MAILOAUTH_CONFIG");
        c
    }

    /// Runs [`Svc::token_command`] (bounded) and returns its output.
    pub fn token(&self, user: Option<&str>, args: &[&str]) -> Output {
        let mut c = self.token_command(user, args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = c.spawn().unwrap();
        output_bounded(child, "mailoauth token")
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The printed token of a successful run.
pub fn printed(out: &Output, when: &str) -> String {
    assert!(
        out.status.success(),
        "{when}: {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// True when the service on `socket` answers `hello` (asked from a thread of its own, so that
/// async tests may call it).
pub fn hello(socket: &Path) -> bool {
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let asked = rt.block_on(mailoauth::service::client::ask(
            &socket,
            &Request::Hello,
            Duration::from_secs(2),
        ));
        matches!(asked, Ok(Ok(_)))
    })
    .join()
    .unwrap()
}

/// Waits for `child`, with a generous bound that only stops a hang.
pub fn wait_bounded(child: &mut Child, when: &str) -> std::process::ExitStatus {
    for _ in 0..12_000 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("{when}: did not end within 120 s");
}

/// The output of `child`, with a generous bound that only stops a hang.
pub fn output_bounded(child: Child, when: &str) -> Output {
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{when}: did not end within 120 s");
        }
    }
}

/// An OS user made for one test, removed (with its home) on drop.
pub struct OsUser(pub String);

impl OsUser {
    /// `useradd` a user named `<prefix><pid>` with the extra `groups`.
    pub fn new(prefix: &str, groups: &[&str]) -> OsUser {
        let name = format!("{prefix}{}", std::process::id());
        let _ = Command::new("userdel").arg("-r").arg(&name).output();
        let mut c = Command::new("useradd");
        c.args(["-M", "-s", "/usr/sbin/nologin"]);
        if !groups.is_empty() {
            c.args(["-G", &groups.join(",")]);
        }
        let out = c.arg(&name).output().unwrap();
        assert!(
            out.status.success(),
            "useradd {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        OsUser(name)
    }
}

impl Drop for OsUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).output();
    }
}

/// An OS group made for one test when it did not exist, removed on drop if made here.
pub struct OsGroup {
    pub name: String,
    made: bool,
}

impl OsGroup {
    /// The group `name`, created when missing.
    pub fn ensure(name: &str) -> OsGroup {
        let exists = Command::new("getent")
            .args(["group", name])
            .output()
            .unwrap()
            .status
            .success();
        if !exists {
            let out = Command::new("groupadd").arg(name).output().unwrap();
            assert!(
                out.status.success(),
                "groupadd {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        OsGroup {
            name: name.to_string(),
            made: !exists,
        }
    }
}

impl Drop for OsGroup {
    fn drop(&mut self) {
        if self.made {
            let _ = Command::new("groupdel").arg(&self.name).output();
        }
    }
}

/// The modification time of `path` (None when missing).
pub fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

impl Svc {
    /// `mailoauth reauthorize NAME` against this service, its device code approved by the
    /// scripted browser as `user`; must succeed. Returns what it printed on stderr.
    pub async fn reauthorize_device(
        &self,
        name: &str,
        user: (&'static str, &'static str),
    ) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(["reauthorize", name, "--config"])
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .env_remove("MAILOAUTH_CONFIG");
        let (done, printed) = crate::common::browser::approve_cli_device_sign_in(
            cmd,
            user,
            Duration::from_secs(120),
            "mailoauth reauthorize",
        )
        .await;
        assert!(done.success(), "reauthorize: {done:?}\n{printed}");
        printed
    }
}

/// Revokes `refresh_token` of `client_id` at the real provider (RFC 7009), as an admin who
/// removes the app's access would.
pub async fn revoke_at_provider(refresh_token: &str, client_id: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/token/revocation", peers().issuer()))
        .form(&[
            ("token", refresh_token),
            ("token_type_hint", "refresh_token"),
            ("client_id", client_id),
        ])
        .send()
        .await
        .expect("POST revocation");
    assert!(resp.status().is_success(), "revocation: {resp:?}");
}

/// The config file's `token_store` line set to `"service"` (an account to be held by the
/// service, signed in first with another store).
pub fn make_service_held(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let store_line = text
        .lines()
        .find(|l| l.starts_with("token_store = "))
        .unwrap()
        .to_string();
    std::fs::write(
        config,
        text.replace(&store_line, "token_store = \"service\""),
    )
    .unwrap();
}
