//! The CLI attacked through the file system by another local account (`nobody`, uid 65534) and
//! used by a careless admin: folders and links prepared in a shared temporary folder, lock files
//! held by someone else, folders open to everyone, files of another owner. Each case runs the
//! real `mailoauth` binary, and `token` gets its tokens from the real test provider (or a cached
//! one from the store under test).
//!
//! Linux only, as root (the CI runs the tests as root): preparing files as another account needs
//! `setpriv` (util-linux). The shared temporary folder is a `1777` folder of the test, named to
//! the binary through `TMPDIR`, so the attacks never touch the machine's `/tmp`.
#![cfg(target_os = "linux")]

mod common;
#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{assert_matches_schema, ConfigFixture};

use common::peers::{peers, ALICE, MAIL_SCOPES, PUBLIC_CLIENT};
use mailoauth::oauth::AccountAuth;
use mailoauth::secret::Secret;
use mailoauth::store::TokenSet;
use mailoauth::store::TokenStore;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The attacker.
const NOBODY: u32 = 65534;
/// A service account without a home nor an entry in the account database.
const HOMELESS: u32 = 4242;
/// Only to stop a hang (the bug of a lock held forever): never a measure of speed.
const HANG_GUARD: Duration = Duration::from_secs(240);
const INSIDE: &str = "MAILOAUTH_TEST_FS_ATTACKS_IN_KEYCTL_SESSION";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o7777
}

/// A test's scratch space: `shared` is a `1777` folder like `/tmp` (the binary's `TMPDIR`),
/// `private` a `0700` folder of root that `nobody` cannot write into: the place an attacker's link
/// points at, to see whether root creates a file there.
struct Scratch {
    root: PathBuf,
    shared: PathBuf,
    private: PathBuf,
    holders: Vec<Child>,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "these tests run as root, like the CI"
        );
        let root =
            std::env::temp_dir().join(format!("mailoauth-fsattack-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let shared = root.join("tmp");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let private = root.join("root-only");
        std::fs::create_dir(&private).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        Scratch {
            root,
            shared,
            private,
            holders: Vec::new(),
        }
    }

    /// What root's processes must never have created.
    fn private_entries(&self) -> Vec<String> {
        names(&self.private)
    }

    /// Runs `script` with `sh -c` as `uid` (no supplementary groups).
    fn sh_as(&self, uid: u32, script: &str) {
        let out = Command::new("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={uid}"))
            .args(["--clear-groups", "--", "sh", "-c", script])
            .output()
            .expect("setpriv (util-linux)");
        assert!(
            out.status.success(),
            "as uid {uid}: {script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `nobody` holds an exclusive lock on `file` (opened read-only, which is all a lock needs)
    /// until the scratch space is dropped.
    fn hold_lock_as_nobody(&mut self, file: &Path) {
        let mut child = Command::new("setpriv")
            .arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"))
            .args(["--clear-groups", "--", "sh", "-c"])
            .arg(format!(
                "exec 9<'{}' && flock -x 9 && echo locked && exec sleep 3600",
                file.display()
            ))
            .stdout(Stdio::piped())
            .spawn()
            .expect("setpriv");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "locked",
            "nobody could not lock {}",
            file.display()
        );
        self.holders.push(child);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for h in &mut self.holders {
            let _ = h.kill();
            let _ = h.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `cmd`, killing it (and failing) if it is still running after [`HANG_GUARD`].
fn run_guarded(mut cmd: Command, what: &str) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG_GUARD) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: the pid is our own child, still unreaped (the waiting thread holds it).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!(
                "{what}: still running after {} s: it hangs",
                HANG_GUARD.as_secs()
            );
        }
    }
}

/// `mailoauth <args>` as a service would start it: no HOME, USER, XDG_RUNTIME_DIR, the shared
/// folder as TMPDIR, and the log in a folder of the test.
fn service_cmd(s: &Scratch, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailoauth"));
    cmd.args(args)
        .env_remove("HOME")
        .env_remove("USER")
        .env_remove("USERNAME")
        .env_remove("LOGNAME")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("MAILOAUTH_LOCK_WAIT_SECS")
        .env("TMPDIR", &s.shared)
        .env("MAILOAUTH_LOG_DIR", s.root.join("logs"));
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn config_text(store: &str) -> String {
    ConfigFixture::new("alice", ALICE.0, store, peers().issuer())
        .client_id(PUBLIC_CLIENT)
        .smtp("127.0.0.1", peers().submission_port(), "start_tls")
        .scopes(&MAIL_SCOPES)
        .text()
}

/// Writes the config of `store` in a root-owned `0755` folder of `s` and returns its path.
fn write_config(s: &Scratch, store: &str) -> PathBuf {
    let dir = s.root.join("etc");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mailoauth.toml");
    let text = config_text(store);
    assert_matches_schema(&text);
    std::fs::write(&path, text).unwrap();
    path
}

/// A valid cached token set (no network call needed to print it).
fn cached(access: &str) -> TokenSet {
    TokenSet {
        access_token: Secret::new(access.to_string()),
        refresh_token: Some(Secret::new(String::from("stored-refresh-token"))),
        expires_at: Some(now() + 3600),
        scopes: vec!["mail".into()],
        account: Some(ALICE.0.into()),
        obtained_at: now().saturating_sub(60),
    }
}

/// Signs alice in with the device flow at the real provider, into `store`.
async fn sign_in(config: &Path, store: &dyn TokenStore) {
    let doc = mailoauth::config::load(config).unwrap();
    let auth: AccountAuth = doc
        .account("alice")
        .unwrap()
        .oauth_settings(config)
        .unwrap();
    common::browser::sign_in_device(&auth, store, ALICE).await;
}

/// Marks the stored access token expired, so the next `token` must refresh at the provider;
/// returns the expired access token.
fn expire(store: &dyn TokenStore) -> String {
    let mut tokens = store.load(ALICE.0).unwrap().expect("tokens stored");
    tokens.expires_at = Some(1);
    store.save(ALICE.0, &tokens).unwrap();
    tokens.access_token.expose().clone()
}

/// Item 1: the keyring store's lock folder. `nobody` prepares every folder an attacker can
/// create that mailoauth used or might use (the `XDG_RUNTIME_DIR` a service was given, the
/// folders named after `USER` or after nothing, the uid-keyed one in the temporary folder):
/// `0777`, with a link named like the lock pointing into a root-only folder, or with the lock
/// file held. root's `mailoauth token` must refresh at the real provider each time, never create
/// the link's target, and never hang.
#[test]
fn keyring_lock_folders_another_account_prepared_neither_redirect_nor_stall_token() {
    if std::env::var_os(INSIDE).is_none() {
        // The kernel keyring lives in the session: run again inside a fresh one.
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new("keyctl")
            .args(["session", "-"])
            .arg(exe)
            .args([
                "--exact",
                "keyring_lock_folders_another_account_prepared_neither_redirect_nor_stall_token",
                "--nocapture",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("run keyctl (package keyutils)");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "inside the session keyring:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let mut s = Scratch::new("keyring");
    let lock_name = format!("{}.lock", ALICE.0);
    let target = |n: &str| s.private.join(format!("created-through-{n}"));
    // A runtime folder handed to the service, prepared by nobody.
    let run = s.shared.join("run");
    let mut script = format!(
        "mkdir -m 777 '{run}' '{run}/mailoauth' && ln -s '{t}' '{run}/mailoauth/{lock_name}'",
        run = run.display(),
        t = target("xdg").display()
    );
    // The folders of the temporary folder, by every name: `USER=root`, no USER at all, the uid.
    for name in [
        "mailoauth-locks-root",
        "mailoauth-locks-0",
        "mailoauth-locks",
    ] {
        script.push_str(&format!(
            " && mkdir -m 777 '{d}' && ln -s '{t}' '{d}/{lock_name}'",
            d = s.shared.join(name).display(),
            t = target(name).display()
        ));
    }
    let held = s.shared.join("mailoauth-locks-");
    script.push_str(&format!(
        " && mkdir -m 777 '{d}' && touch '{d}/{lock_name}' && chmod 666 '{d}/{lock_name}'",
        d = held.display()
    ));
    s.sh_as(NOBODY, &script);
    s.hold_lock_as_nobody(&held.join(&lock_name));

    let config = write_config(&s, &format!("keyring:mailoauth/{}", ALICE.0));
    let store = mailoauth::store::keyring::KeyringStore::new();
    let _ = store.delete(ALICE.0);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(sign_in(&config, &store));

    let cases: [(&str, &[(&str, &Path)]); 3] = [
        (
            "XDG_RUNTIME_DIR prepared by nobody",
            &[("XDG_RUNTIME_DIR", &run)],
        ),
        ("USER=root", &[("USER", Path::new("root"))]),
        ("neither XDG_RUNTIME_DIR nor USER", &[]),
    ];
    for (label, env) in cases {
        let old = expire(&store);
        let mut cmd = service_cmd(&s, &["token", "--config"]);
        cmd.arg(&config).arg("alice");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = run_guarded(cmd, &format!("mailoauth token ({label})"));
        assert!(out.status.success(), "{label}: {}", stderr(&out));
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            !printed.is_empty() && printed != old,
            "{label}: not refreshed"
        );
        assert_eq!(
            store.load(ALICE.0).unwrap().unwrap().access_token.expose(),
            &printed,
            "{label}: the refreshed token is stored"
        );
        assert!(
            s.private_entries().is_empty(),
            "{label}: root followed nobody's link and created {:?}",
            s.private_entries()
        );
    }
    // Nothing of root's went into nobody's folders.
    for dir in [run.join("mailoauth"), held.clone()] {
        for name in names(&dir) {
            let owner = std::fs::symlink_metadata(dir.join(&name)).unwrap().uid();
            assert_eq!(
                owner,
                NOBODY,
                "{}/{name} was created by root",
                dir.display()
            );
        }
    }
    store.delete(ALICE.0).unwrap();
}

/// Item 9: the file store checks the folder and the files it finds.
#[test]
fn the_file_store_repairs_its_own_open_folder_and_refuses_what_another_account_put_there() {
    let s = Scratch::new("filestore");
    let tokens = s.root.join("tokens");
    let config = write_config(&s, &format!("file:{}", tokens.display()));
    let store = mailoauth::store::file::FileStore::new(tokens.clone());
    store.save(ALICE.0, &cached("cached-access-token")).unwrap();
    let token = |what: &str| {
        let mut cmd = service_cmd(&s, &["token", "--config"]);
        cmd.arg(&config).arg("alice");
        run_guarded(cmd, what)
    };

    // A folder of root (this account) that an admin opened to everyone: set back to 0700.
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = token("token, own folder 0777");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cached-access-token\n"
    );
    assert_eq!(
        mode(&tokens),
        0o700,
        "the open token folder was used as it was"
    );

    // A token file of another account in root's folder: refused, naming the file.
    let file = store.path_of(ALICE.0).unwrap();
    std::os::unix::fs::chown(&file, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = token("token, file of nobody");
    assert!(!out.status.success(), "a file of nobody was used");
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains(&*file.to_string_lossy()), "{err}");
    assert!(err.contains("another account"), "{err}");

    // A folder that nobody made, open to all, with nobody's tokens in it: refused, naming it.
    let planted = s.shared.join("tokens");
    s.sh_as(
        NOBODY,
        &format!(
            "mkdir -m 777 '{d}' && umask 077 && printf '%s' '{json}' > '{d}/{mailbox}.json'",
            d = planted.display(),
            json = cached("attacker-access-token").to_json(),
            mailbox = ALICE.0
        ),
    );
    let config2 = write_config(&s, &format!("file:{}", planted.display()));
    let mut cmd = service_cmd(&s, &["token", "--config"]);
    cmd.arg(&config2).arg("alice");
    let out = run_guarded(cmd, "token, folder of nobody");
    assert!(!out.status.success(), "nobody's folder was used");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("attacker-access-token"),
        "nobody's token was handed out"
    );
    let err = stderr(&out);
    assert!(err.contains(&*planted.to_string_lossy()), "{err}");
    assert_eq!(
        mode(&planted),
        0o777,
        "a folder of another account is not changed"
    );
}

/// Items 1 and 8: the config's and the status file's lock files are `0600`, never followed as
/// links, and a lock another account holds is a bounded wait with a message naming it.
#[test]
fn config_and_status_locks_are_owner_only_not_followed_and_bounded() {
    let mut s = Scratch::new("locks");
    let tokens = s.root.join("tokens");
    let config = write_config(&s, &format!("file:{}", tokens.display()));
    let store = mailoauth::store::file::FileStore::new(tokens.clone());
    store.save(ALICE.0, &cached("cached-access-token")).unwrap();
    let status_lock = PathBuf::from(format!(
        "{}.lock",
        mailoauth::status::status_path(&config).display()
    ));
    let token = |s: &Scratch, what: &str| {
        let mut cmd = service_cmd(s, &["token", "--config"]);
        cmd.arg(&config)
            .arg("alice")
            .env("MAILOAUTH_LOCK_WAIT_SECS", "2");
        run_guarded(cmd, what)
    };

    // A link named like the status lock, pointing into a root-only folder.
    let target = s.private.join("created-through-status-lock");
    std::os::unix::fs::symlink(&target, &status_lock).unwrap();
    let out = token(&s, "token, status lock is a link");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!target.exists(), "the status lock's link was followed");
    assert!(
        stderr(&out).contains(&*status_lock.to_string_lossy()),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(&status_lock).unwrap();

    // A lock file an older version left `0644`: nobody opens it read-only and holds it.
    std::fs::write(&status_lock, b"").unwrap();
    std::fs::set_permissions(&status_lock, std::fs::Permissions::from_mode(0o644)).unwrap();
    s.hold_lock_as_nobody(&status_lock);
    let out = token(&s, "token, status lock held by nobody");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cached-access-token\n"
    );
    let err = stderr(&out);
    assert!(err.contains(&*status_lock.to_string_lossy()), "{err}");
    assert_eq!(
        mode(&status_lock),
        0o600,
        "the old lock file is made owner-only"
    );

    // Fresh lock files are 0600: the status lock, and the config's on a save.
    let _ = std::fs::remove_file(&status_lock);
    for h in &mut s.holders {
        let _ = h.kill();
        let _ = h.wait();
    }
    let out = token(&s, "token");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&status_lock), 0o600);
    let mut doc = mailoauth::config::load(&config).unwrap();
    assert!(matches!(
        doc.save().unwrap(),
        mailoauth::config::SaveOutcome::Saved
    ));
    let config_lock = config.with_file_name("mailoauth.toml.lock");
    assert_eq!(mode(&config_lock), 0o600);
}

/// Item 8: a config that is a link keeps being a link; its target gets the new content in its
/// own folder. A link of another account is refused. Leftovers of killed backup writes go.
#[test]
fn a_linked_config_is_written_through_to_its_target_and_a_foreign_link_is_refused() {
    let s = Scratch::new("link");
    let managed = s.root.join("managed");
    std::fs::create_dir_all(&managed).unwrap();
    let target = managed.join("mailoauth.toml");
    std::fs::write(&target, config_text("file:/var/lib/mailoauth/tokens")).unwrap();
    let etc = s.root.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let link = etc.join("mailoauth.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // A writer of the backup killed earlier (its process is gone).
    let mut child = Command::new("true").spawn().unwrap();
    let gone = child.id();
    child.wait().unwrap();
    let leftover = managed.join(format!(".mailoauth.toml.bak.tmp-{gone}-0"));
    std::fs::write(&leftover, b"partial").unwrap();

    let mut doc = mailoauth::config::load(&link).unwrap();
    doc.config.accounts[0].name = String::from("renamed");
    assert!(matches!(
        doc.save().unwrap(),
        mailoauth::config::SaveOutcome::Saved
    ));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a plain file"
    );
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("name = \"renamed\""), "{text}");
    assert!(
        managed.join("mailoauth.toml.bak").exists(),
        "the backup is beside the target"
    );
    assert!(
        !leftover.exists(),
        "the killed backup writer's temp file is left"
    );

    // The same link, made by nobody: refused with a message naming it; the target is unchanged.
    std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    let mut doc = mailoauth::config::load(&link).unwrap();
    doc.config.accounts[0].name = String::from("again");
    let e = doc.save().unwrap_err().to_string();
    assert!(
        e.contains(&*link.to_string_lossy()) && e.contains("symbolic link"),
        "{e}"
    );
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("name = \"renamed\""));
}

/// Items 1 and 4: the log folder. One mailoauth makes is `0700` with `0600` files; one the admin
/// points at keeps its mode, and is refused (with a warning) when others may write it.
#[test]
fn log_folders_keep_their_mode_and_files_are_owner_only() {
    let s = Scratch::new("logs");
    let providers = |dir: &Path| {
        let mut cmd = service_cmd(&s, &["providers"]);
        cmd.env("MAILOAUTH_LOG_DIR", dir);
        run_guarded(cmd, "mailoauth providers")
    };
    // A folder mailoauth makes.
    let made = s.root.join("made").join("logs");
    let out = providers(&made);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&made), 0o700);
    let files = names(&made);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        mode(&made.join(&files[0])),
        0o600,
        "the log file is not owner-only"
    );

    // A shared folder the admin named: left as it is, not written, and said so.
    let shared = s.root.join("sticky");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = providers(&shared);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        mode(&shared),
        0o1777,
        "MAILOAUTH_LOG_DIR's mode was changed"
    );
    assert!(
        names(&shared).is_empty(),
        "a log was written where others may write"
    );
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains(&*shared.to_string_lossy()),
        "{err}"
    );
}

/// Item 1: an account without a home (uid 4242, not even in the account database) falls back
/// to the temporary folder for its log; nobody prepared the folders there with links named like
/// the day's log file. The command still works, and nothing is created through the links.
#[test]
fn a_homeless_account_does_not_log_through_links_nobody_planted() {
    let s = Scratch::new("homeless");
    let victim = s.root.join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::os::unix::fs::chown(&victim, Some(HOMELESS), Some(HOMELESS)).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o700)).unwrap();
    let days: Vec<String> = ["today", "tomorrow"]
        .iter()
        .map(|d| {
            let out = Command::new("date")
                .args(["-u", "-d", d, "+%F"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    let mut script = String::from("true");
    for folder in ["mailoauth-logs", &format!("mailoauth-logs-{HOMELESS}")] {
        let d = s.shared.join(folder);
        script.push_str(&format!(" && mkdir -m 777 '{}'", d.display()));
        for day in &days {
            script.push_str(&format!(
                " && ln -s '{}' '{}/mailoauth.{day}.log'",
                victim
                    .join(format!("created-through-{folder}-{day}"))
                    .display(),
                d.display()
            ));
        }
    }
    s.sh_as(NOBODY, &script);
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={HOMELESS}"))
        .arg(format!("--regid={HOMELESS}"))
        .args(["--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_mailoauth"))
        .arg("providers")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", &s.shared);
    let out = run_guarded(cmd, "mailoauth providers as a homeless account");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        names(&victim).is_empty(),
        "the log was written through nobody's link: {:?}",
        names(&victim)
    );
}

/// Item 1: `authorize`'s default token folder for an account without a home is not a folder in
/// the shared temporary folder (where another account could prepare it): the admin is asked for
/// `--store` before any sign-in starts.
#[test]
fn authorize_without_a_home_asks_for_a_store_instead_of_the_temporary_folder() {
    let s = Scratch::new("authorize");
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={HOMELESS}"))
        .arg(format!("--regid={HOMELESS}"))
        .args(["--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_mailoauth"))
        .args(["authorize", "--provider", "generic", "--issuer"])
        .arg(peers().issuer())
        .args([
            "--mailbox",
            ALICE.0,
            "--client-id",
            PUBLIC_CLIENT,
            "--flow",
            "device-code",
        ])
        .args(MAIL_SCOPES.iter().flat_map(|sc| ["--scope", sc]))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", &s.shared);
    let out = run_guarded(cmd, "mailoauth authorize as a homeless account");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--store"), "{err}");
    assert!(
        !s.shared.join("mailoauth").exists(),
        "authorize used the temporary folder for tokens"
    );
}

/// Item 1: the wait for an account's store lock is bounded, and the error names the lock file
/// (here a stuck holder of the same account keeps it).
#[test]
fn a_store_lock_held_too_long_is_an_error_naming_it_not_a_hang() {
    let s = Scratch::new("storelock");
    let tokens = s.root.join("tokens");
    let config = write_config(&s, &format!("file:{}", tokens.display()));
    let store = mailoauth::store::file::FileStore::new(tokens.clone());
    store.save(ALICE.0, &cached("cached-access-token")).unwrap();
    let held = store.lock(ALICE.0).unwrap();
    let mut cmd = service_cmd(&s, &["token", "--config"]);
    cmd.arg(&config)
        .arg("alice")
        .env("MAILOAUTH_LOCK_WAIT_SECS", "1");
    let out = run_guarded(cmd, "token while the store lock is held");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let lock = tokens.join(format!("{}.lock", ALICE.0));
    assert!(err.contains(&*lock.to_string_lossy()), "{err}");
    drop(held);
    let mut cmd = service_cmd(&s, &["token", "--config"]);
    cmd.arg(&config).arg("alice");
    let out = run_guarded(cmd, "token after the lock was released");
    assert!(out.status.success(), "{}", stderr(&out));
}
