//! `mailoauth service backup FILE` / `mailoauth service restore FILE`: the machine config and
//! every file in the service's custody folder (`<state dir>/tokens`: token sets, held client
//! secrets and whatever else the service keeps there), in one file encrypted with a passphrase
//! (the `age` format, scrypt passphrase recipient).
//!
//! The backup reads the custody files itself, as root (or, in non-root mode, as the owner of
//! the state folder), each under the same per-file lock the service takes around a refresh, so
//! no file is read half-written; it works whether the service runs or not. The files are held
//! **unsealed** inside the encryption (on Windows the custody files are DPAPI-sealed for the
//! account that wrote them; a backup of the sealed bytes could not be restored on another
//! machine): the portable form, see docs/SECURITY.md.
//!
//! A refresh token copied into a backup may be rotated out later by the service's next refresh;
//! at a provider that rotates strictly, a restore older than that refresh holds a refresh token
//! the provider no longer takes, and the account must sign in again. The backup records when it
//! was taken and each token set's time, and says so.
//!
//! Restore refuses a wrong passphrase ([`RestoreError::WrongPassphrase`]), a damaged or
//! truncated file ([`RestoreError::Damaged`]) and a format version it does not know, before it
//! writes anything; then it writes the config and the custody files atomically, owner-only.
//! It refuses to run under a service that holds any of the restored accounts (the service keeps
//! its tokens in memory and would write them over the restored ones); a running service that
//! holds none of them (a fresh install) is asked to reload by the caller afterwards.

use crate::secret::Secret;
use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The `format` field inside every backup.
pub const FORMAT: &str = "mailoauth-service-backup";
/// The version of the content this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The shortest passphrase a backup accepts.
pub const MIN_PASSPHRASE: usize = 8;
/// The largest backup file restore reads (a guard against a wrong file, not a real limit).
const MAX_BACKUP_BYTES: u64 = 64 * 1024 * 1024;
/// How many times a backup reads the custody again when a file changed while it was copied.
const ATTEMPTS: usize = 3;

/// What is inside the encryption.
#[derive(Serialize, Deserialize)]
struct Contents {
    format: String,
    version: u32,
    /// The mailoauth version that wrote it.
    mailoauth: String,
    /// When the custody files were read (Unix seconds).
    taken_at: u64,
    config: ConfigCopy,
    custody: Vec<CustodyFile>,
}

#[derive(Serialize, Deserialize)]
struct ConfigCopy {
    /// Where it was on the machine backed up (shown at restore).
    path: String,
    /// Unix permission bits of the file (0 where unknown).
    #[serde(default)]
    mode: u32,
    text: String,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct CustodyFile {
    /// The file's name in the custody folder (one plain path component).
    name: String,
    /// Its content, unsealed.
    text: String,
    /// For a token set: when the provider issued it (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    obtained_at: Option<u64>,
}

/// Where a backup reads from or a restore writes to.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The machine config.
    pub config: PathBuf,
    /// The service's state folder (custody in `tokens/`).
    pub state_dir: PathBuf,
    /// True when the state folder was given (non-root mode), not the platform's.
    pub state_dir_given: bool,
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The backup file.
    pub file: PathBuf,
    /// The custody files in it.
    pub files: Vec<String>,
    /// When the custody was read (Unix seconds).
    pub taken_at: u64,
    /// The newest token set's issue time in the backup (Unix seconds).
    pub newest_token: Option<u64>,
}

/// What a restore wrote.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The config file written.
    pub config: PathBuf,
    /// Where the backed-up config was.
    pub config_was: String,
    /// The custody files written.
    pub files: Vec<String>,
    /// When the backup was taken (Unix seconds).
    pub taken_at: u64,
    /// The mailoauth version that wrote it.
    pub written_by: String,
}

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// This user may not manage the service.
    #[error("{what} needs a manager of the mailoauth service: root{rule}; this user (uid {uid}) is not. Run it with sudo.")]
    NotManager {
        /// backup or restore.
        what: &'static str,
        /// The rest of the rule.
        rule: String,
        /// Who asked.
        uid: u32,
    },
    /// The passphrase cannot be used.
    #[error("the passphrase {0}")]
    Passphrase(String),
    /// The config file cannot be read.
    #[error("the machine config {path} cannot be read: {detail}")]
    Config {
        /// The config file.
        path: String,
        /// What the OS said.
        detail: String,
    },
    /// A custody file cannot be read.
    #[error("the service's custody {path} cannot be read: {detail}")]
    Custody {
        /// The file or folder.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The custody kept changing while it was copied.
    #[error("the service refreshed tokens every time the custody was copied ({ATTEMPTS} tries): run the backup again")]
    Unsettled,
    /// The output path is taken.
    #[error("{path} already exists; give --force to replace it")]
    Exists {
        /// The path.
        path: String,
    },
    /// The output path is a symbolic link.
    #[error("{path} is a symbolic link: refused (write the backup to a plain path)")]
    Link {
        /// The path.
        path: String,
    },
    /// Writing failed.
    #[error("cannot write {path}: {detail}")]
    Write {
        /// The path.
        path: String,
        /// What the OS said.
        detail: String,
    },
    /// The encryption failed.
    #[error("the encryption failed: {0}")]
    Encrypt(String),
    /// The backup file cannot be read.
    #[error("cannot read the backup {path}: {detail}")]
    Input {
        /// The path.
        path: String,
        /// What the OS said.
        detail: String,
    },
    /// Wrong passphrase.
    #[error("the passphrase does not open {path}: nothing was restored. Give the passphrase used for this backup.")]
    WrongPassphrase {
        /// The backup.
        path: String,
    },
    /// Damaged, truncated, or not a backup.
    #[error(
        "{path} is damaged or not a mailoauth service backup ({detail}): nothing was restored"
    )]
    Damaged {
        /// The backup.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A newer format.
    #[error("{path} was written by mailoauth {by} in backup format {version}; this mailoauth reads format {FORMAT_VERSION} and older: restore it with that mailoauth version or newer")]
    NewerFormat {
        /// The backup.
        path: String,
        /// Its format version.
        version: u32,
        /// Who wrote it.
        by: String,
    },
    /// The service runs and holds some of the restored accounts, or reads another config.
    #[error("the mailoauth service is running ({socket}) and {why}: it keeps their tokens in memory and would write them over the restored ones. Stop it first ({stop}), run the restore again, then start it.")]
    ServiceRunning {
        /// Its socket.
        socket: String,
        /// What it holds that the restore would replace.
        why: String,
        /// The command that stops it.
        stop: String,
    },
}

/// A service that answers while a restore runs: what it holds now.
#[derive(Debug, Clone)]
pub struct Running {
    /// Its socket.
    pub socket: String,
    /// The accounts it holds (its `status`).
    pub held: Vec<String>,
    /// The config it reads, when it says.
    pub config: Option<String>,
}

/// The checks every request goes through: root, or (non-root mode, `--state-dir` given) the
/// owner of the state folder, the same rule the service uses for its managers.
pub fn check_manager(what: &'static str, paths: &Paths) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = crate::config::atomic::euid();
        if uid == 0 {
            return Ok(());
        }
        let owner = |p: &Path| fs::symlink_metadata(p).ok().map(|m| m.uid());
        let own = paths.state_dir_given
            && match owner(&paths.state_dir) {
                Some(o) => o == uid,
                // Not made yet (restore into a new folder): its parent must be ours.
                None => paths
                    .state_dir
                    .parent()
                    .and_then(owner)
                    .is_some_and(|o| o == uid),
            };
        if own {
            return Ok(());
        }
        Err(BackupError::NotManager {
            what,
            rule: format!(
                " (the custody folder is root's; members of the group {} manage the service over its socket but cannot read its custody), or in non-root mode the owner of the --state-dir folder",
                super::peer::MANAGER_GROUP
            ),
            uid,
        })
    }
    #[cfg(windows)]
    {
        let _ = paths;
        if super::install::windows::is_elevated() {
            return Ok(());
        }
        Err(BackupError::NotManager {
            what,
            rule: String::from(
                " or an elevated Administrator (a terminal opened with \"Run as administrator\")",
            ),
            uid: 0,
        })
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (what, paths);
        Ok(())
    }
}

/// A passphrase from a file's first line (the line ending is not part of it).
pub fn passphrase_from_text(text: &str) -> Result<Secret<String>, BackupError> {
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(BackupError::Passphrase(String::from(
            "is empty: write it on the first line",
        )));
    }
    Ok(Secret::new(line.to_string()))
}

/// Refuses a passphrase too short for a file that leaves the machine.
pub fn check_new_passphrase(p: &Secret<String>) -> Result<(), BackupError> {
    if p.expose().chars().count() < MIN_PASSPHRASE {
        return Err(BackupError::Passphrase(format!(
            "is shorter than {MIN_PASSPHRASE} characters: the backup holds every refresh token of the machine, choose a longer one"
        )));
    }
    Ok(())
}

fn now() -> u64 {
    crate::oauth::unix_now()
}

/// True for the custody folder's own bookkeeping, not content: lock files and the atomic
/// writer's temp files (`.name.tmp-...`), and hidden files.
fn is_bookkeeping(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".lock")
}

/// The lock the service takes around a write of `name` (`<key>.json` → `<key>.lock`).
fn lock_name(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    format!("{stem}.lock")
}

/// A file name restore may write: one plain component, no separators, not hidden.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0', ':'])
        && !is_bookkeeping(name)
}

fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Reads every content file of the custody folder, each under its lock, unsealed.
fn read_custody(dir: &Path) -> Result<Vec<CustodyFile>, BackupError> {
    let err = |p: &Path, detail: String| BackupError::Custody {
        path: p.display().to_string(),
        detail,
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(dir, e.to_string())),
    };
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(|e| err(dir, e.to_string()))?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if is_bookkeeping(&name) {
            continue;
        }
        let meta = fs::symlink_metadata(e.path()).map_err(|x| err(&e.path(), x.to_string()))?;
        if !meta.is_file() {
            tracing::warn!(path = %e.path().display(), "not a regular file in the custody folder: left out of the backup");
            continue;
        }
        names.push(name);
    }
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let _guard = crate::store::lock_file(&dir.join(lock_name(&name)))
            .map_err(|e| err(&path, e.to_string()))?;
        let mut file = match open_regular(&path) {
            Ok(f) => f,
            // Removed meanwhile (an account's tokens deleted): not part of the custody now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(&path, e.to_string())),
        };
        let mut content = String::new();
        file.read_to_string(&mut content)
            .map_err(|e| err(&path, e.to_string()))?;
        let text = crate::store::file::open_secret_file(&path, content)
            .map_err(|e| err(&path, e.to_string()))?;
        let obtained_at = crate::store::TokenSet::from_json(&text)
            .ok()
            .map(|t| t.obtained_at);
        out.push(CustodyFile {
            name,
            text,
            obtained_at,
        });
    }
    Ok(out)
}

/// Reads the custody until two reads in a row agree (a refresh that rotated a token while it
/// was copied makes it read again).
fn settled_custody(dir: &Path) -> Result<Vec<CustodyFile>, BackupError> {
    let mut last = read_custody(dir)?;
    for _ in 0..ATTEMPTS {
        let again = read_custody(dir)?;
        if again == last {
            return Ok(again);
        }
        tracing::info!("a custody file changed while it was copied: reading again");
        last = again;
    }
    Err(BackupError::Unsettled)
}

/// Writes `bytes` to `path`, created `0600`, never through a link; an existing file only with
/// `force` (replaced atomically by a rename).
fn write_output(path: &Path, bytes: &[u8], force: bool) -> Result<(), BackupError> {
    let shown = path.display().to_string();
    let werr = |detail: String| BackupError::Write {
        path: shown.clone(),
        detail,
    };
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(BackupError::Link { path: shown }),
        Ok(_) if !force => return Err(BackupError::Exists { path: shown }),
        Ok(m) if !m.is_file() => {
            return Err(werr(String::from("not a regular file")));
        }
        _ => {}
    }
    let create = |target: &Path| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        opts.open(target)
    };
    let write = |mut f: fs::File| -> std::io::Result<()> {
        f.write_all(bytes)?;
        f.sync_all()
    };
    if !force {
        // create_new: a file or link planted since the look above makes this fail.
        let f = create(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => BackupError::Exists {
                path: shown.clone(),
            },
            _ => werr(e.to_string()),
        })?;
        if let Err(e) = write(f) {
            let _ = fs::remove_file(path);
            return Err(werr(e.to_string()));
        }
        return Ok(());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let f = create(&tmp).map_err(|e| werr(e.to_string()))?;
    let result = write(f).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(werr(e.to_string()));
    }
    Ok(())
}

/// Backs up the config and the custody of `paths` into `file`, encrypted with `passphrase`.
pub fn backup(
    paths: &Paths,
    file: &Path,
    passphrase: &Secret<String>,
    force: bool,
) -> Result<BackupReport, BackupError> {
    check_manager("backup", paths)?;
    check_new_passphrase(passphrase)?;
    let cerr = |e: std::io::Error| BackupError::Config {
        path: paths.config.display().to_string(),
        detail: e.to_string(),
    };
    let config_text = fs::read_to_string(&paths.config).map_err(cerr)?;
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(&paths.config)
            .map_err(cerr)?
            .permissions()
            .mode()
            & 0o7777
    };
    #[cfg(not(unix))]
    let mode = 0;
    let dir = super::custody::tokens_dir(&paths.state_dir);
    let recipient =
        age::scrypt::Recipient::new(SecretString::from(passphrase.expose().to_string()));
    // A refresh that rotates a token after the copy but before the file is written would leave
    // a backup whose refresh token is already rotated out: the custody is read once more after
    // the encryption, and a change starts over.
    for _ in 0..ATTEMPTS {
        let taken_at = now();
        let custody = settled_custody(&dir)?;
        let report = BackupReport {
            file: file.to_path_buf(),
            files: custody.iter().map(|f| f.name.clone()).collect(),
            taken_at,
            newest_token: custody.iter().filter_map(|f| f.obtained_at).max(),
        };
        let contents = Contents {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            mailoauth: crate::VERSION.to_string(),
            taken_at,
            config: ConfigCopy {
                path: paths.config.display().to_string(),
                mode,
                text: config_text.clone(),
            },
            custody,
        };
        let plain = Secret::new(
            serde_json::to_vec(&contents).map_err(|e| BackupError::Encrypt(e.to_string()))?,
        );
        let sealed = age::encrypt(&recipient, plain.expose())
            .map_err(|e| BackupError::Encrypt(e.to_string()))?;
        drop(plain);
        if read_custody(&dir)? != contents.custody {
            tracing::info!("a custody file changed while the backup was encrypted: starting over");
            continue;
        }
        drop(contents);
        write_output(file, &sealed, force)?;
        tracing::info!(file = %file.display(), files = report.files.len(), "service backup written");
        return Ok(report);
    }
    Err(BackupError::Unsettled)
}

/// Opens `file` with `passphrase`: the contents, or why not.
fn open(file: &Path, passphrase: &Secret<String>) -> Result<Contents, BackupError> {
    let shown = file.display().to_string();
    let damaged = |detail: String| BackupError::Damaged {
        path: shown.clone(),
        detail,
    };
    let f = open_regular(file).map_err(|e| BackupError::Input {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let mut bytes = Vec::new();
    f.take(MAX_BACKUP_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BackupError::Input {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
    if bytes.len() as u64 > MAX_BACKUP_BYTES {
        return Err(damaged(String::from("far larger than any backup")));
    }
    let decryptor = age::Decryptor::new_buffered(&bytes[..])
        .map_err(|e| damaged(format!("not an encrypted backup: {}", short(&e))))?;
    if !decryptor.is_scrypt() {
        return Err(damaged(String::from(
            "encrypted to a key, not with a passphrase",
        )));
    }
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_string()));
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed
            | age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed => BackupError::WrongPassphrase {
                path: shown.clone(),
            },
            other => damaged(short(&other)),
        })?;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|e| damaged(format!("the encrypted content is cut or altered: {e}")))?;
    let plain = Secret::new(plain);
    let value: serde_json::Value = serde_json::from_slice(plain.expose())
        .map_err(|_| damaged(String::from("the content is not a backup")))?;
    if value["format"].as_str() != Some(FORMAT) {
        return Err(damaged(String::from("the content is not a backup")));
    }
    let version = value["version"].as_u64().unwrap_or(0);
    if version > u64::from(FORMAT_VERSION) {
        return Err(BackupError::NewerFormat {
            path: shown.clone(),
            version: u32::try_from(version).unwrap_or(u32::MAX),
            by: value["mailoauth"].as_str().unwrap_or("?").to_string(),
        });
    }
    if version == 0 {
        return Err(damaged(String::from("no format version")));
    }
    let contents: Contents = serde_json::from_value(value)
        .map_err(|_| damaged(String::from("the content does not have a backup's fields")))?;
    if let Some(bad) = contents.custody.iter().find(|f| !safe_name(&f.name)) {
        return Err(damaged(format!(
            "a custody file name is not a plain file name: {:?}",
            crate::diagnosis::scrub(&bad.name)
        )));
    }
    Ok(contents)
}

/// An age error in one line (its texts are localized and may span lines).
fn short(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The command that stops the installed service.
pub fn stop_command() -> String {
    if cfg!(windows) {
        String::from("sc stop mailoauth")
    } else if cfg!(target_os = "macos") {
        format!(
            "sudo launchctl bootout system/{}",
            super::install::launchd::LABEL
        )
    } else {
        format!("sudo systemctl stop {}", super::install::systemd::UNIT_NAME)
    }
}

/// The command that starts the installed service again.
pub fn start_installed_command() -> String {
    if cfg!(windows) {
        String::from("sc start mailoauth")
    } else if cfg!(target_os = "macos") {
        format!(
            "sudo launchctl bootstrap system /Library/LaunchDaemons/{}.plist",
            super::install::launchd::LABEL
        )
    } else {
        format!(
            "sudo systemctl start {}",
            super::install::systemd::UNIT_NAME
        )
    }
}

/// Restores `file` into `paths`. Nothing is written unless the file opens, is whole, and is a
/// format this build reads; an existing config is replaced only with `force`. With a service
/// `running`, the restore goes ahead only when that service reads this config and holds none of
/// the restored accounts (a fresh install): the caller then asks it to reload, which loads the
/// restored tokens; otherwise the service must be stopped first.
pub fn restore(
    paths: &Paths,
    file: &Path,
    passphrase: &Secret<String>,
    force: bool,
    running: Option<&Running>,
) -> Result<RestoreReport, BackupError> {
    check_manager("restore", paths)?;
    let contents = open(file, passphrase)?;
    if let Some(r) = running {
        let restored: Vec<String> = crate::config::parse(&paths.config, &contents.config.text)
            .map(|c| {
                c.accounts
                    .iter()
                    .filter(|a| super::is_service_owned(a))
                    .map(|a| a.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let both: Vec<&String> = restored.iter().filter(|n| r.held.contains(n)).collect();
        let why = match &r.config {
            Some(c) if Path::new(c) != paths.config => Some(format!(
                "reads the config {c}, not {}",
                paths.config.display()
            )),
            _ if !both.is_empty() => Some(format!(
                "holds the account(s) {}",
                both.iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => None,
        };
        if let Some(why) = why {
            return Err(BackupError::ServiceRunning {
                socket: r.socket.clone(),
                why,
                stop: stop_command(),
            });
        }
    }
    let config_shown = paths.config.display().to_string();
    let werr = |path: &Path, e: &dyn std::fmt::Display| BackupError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    if !force {
        match fs::symlink_metadata(&paths.config) {
            Ok(_) => return Err(BackupError::Exists { path: config_shown }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(werr(&paths.config, &e)),
        }
    }
    // The custody first: a config naming accounts without tokens is worse than tokens without
    // a config.
    super::custody::prepare(&paths.state_dir).map_err(|e| werr(&paths.state_dir, &e))?;
    let dir = super::custody::tokens_dir(&paths.state_dir);
    for f in &contents.custody {
        let path = dir.join(&f.name);
        let _guard =
            crate::store::lock_file(&dir.join(lock_name(&f.name))).map_err(|e| werr(&path, &e))?;
        let sealed =
            crate::store::file::seal_secret_file(&path, &f.text).map_err(|e| werr(&path, &e))?;
        crate::config::atomic::write_atomic(&path, sealed.as_bytes(), false)
            .map_err(|e| werr(&path, &e))?;
    }
    if let Some(parent) = paths.config.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| werr(parent, &e))?;
    }
    crate::config::atomic::write_atomic(&paths.config, contents.config.text.as_bytes(), false)
        .map_err(|e| werr(&paths.config, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode it had, never writable by others; the machine config holds no secret, and
        // readers need it for `mailoauth token`.
        let mode = match contents.config.mode {
            0 => 0o644,
            m => m & 0o755,
        };
        fs::set_permissions(&paths.config, fs::Permissions::from_mode(mode))
            .map_err(|e| werr(&paths.config, &e))?;
    }
    tracing::info!(file = %file.display(), files = contents.custody.len(), "service backup restored");
    Ok(RestoreReport {
        config: paths.config.clone(),
        config_was: contents.config.path.clone(),
        files: contents.custody.iter().map(|f| f.name.clone()).collect(),
        taken_at: contents.taken_at,
        written_by: contents.mailoauth.clone(),
    })
}

/// The warning every backup and restore prints: what a refresh after the backup means.
pub fn rotation_note(taken_at: u64) -> String {
    format!(
        "The backup holds the refresh tokens as they were at {}. The service refreshes them ahead of expiry, and a provider that rotates refresh tokens strictly (reuse detection) stops taking the copied ones once the service has refreshed after that time: a restore of this backup may then need a new sign-in (mailoauth reauthorize NAME). The first refresh after a restore shows it in mailoauth service status. Take backups regularly, and keep the file and its passphrase apart.",
        crate::status::format_time(taken_at)
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("mailoauth-backup-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn paths(d: &Path) -> Paths {
        Paths {
            config: d.join("m.toml"),
            state_dir: d.join("state"),
            state_dir_given: true,
        }
    }

    fn sealed(json: &serde_json::Value, pass: &str) -> Vec<u8> {
        let r = age::scrypt::Recipient::new(SecretString::from(pass.to_string()));
        age::encrypt(&r, &serde_json::to_vec(json).unwrap()).unwrap()
    }

    #[test]
    fn a_round_trip_keeps_every_custody_file_and_refuses_what_it_must() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("round");
        let p = paths(&d);
        let t = p.state_dir.join("tokens");
        fs::create_dir_all(&t).unwrap();
        fs::write(&p.config, "version = 1\n").unwrap();
        fs::set_permissions(&p.config, fs::Permissions::from_mode(0o640)).unwrap();
        fs::write(t.join("a.json"), "{\"k\":\"token-one\"}").unwrap();
        fs::write(t.join("a.secret"), "held-secret").unwrap();
        let pass = Secret::new(String::from("a long passphrase"));
        let file = d.join("b.age");
        let report = backup(&p, &file, &pass, false).unwrap();
        assert_eq!(report.files, ["a.json", "a.secret"]);
        let bytes = fs::read(&file).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("token-one"));
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Refusals before anything is written.
        fs::remove_dir_all(&p.state_dir).unwrap();
        fs::remove_file(&p.config).unwrap();
        let wrong = Secret::new(String::from("another passphrase"));
        assert!(matches!(
            restore(&p, &file, &wrong, false, None),
            Err(BackupError::WrongPassphrase { .. })
        ));
        let cut = d.join("cut.age");
        fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(
            restore(&p, &cut, &pass, false, None),
            Err(BackupError::Damaged { .. })
        ));
        fs::write(&cut, b"plain text, not age").unwrap();
        assert!(matches!(
            restore(&p, &cut, &pass, false, None),
            Err(BackupError::Damaged { .. })
        ));
        let newer = serde_json::json!({"format": FORMAT, "version": FORMAT_VERSION + 1, "mailoauth": "9.9.9"});
        fs::write(&cut, sealed(&newer, "a long passphrase")).unwrap();
        let e = restore(&p, &cut, &pass, false, None).unwrap_err();
        assert!(matches!(e, BackupError::NewerFormat { .. }), "{e}");
        assert!(e.to_string().contains("9.9.9"), "{e}");
        let escape = serde_json::json!({"format": FORMAT, "version": 1, "mailoauth": "x", "taken_at": 1,
            "config": {"path": "/x", "text": ""}, "custody": [{"name": "../escape", "text": "x"}]});
        fs::write(&cut, sealed(&escape, "a long passphrase")).unwrap();
        assert!(matches!(
            restore(&p, &cut, &pass, false, None),
            Err(BackupError::Damaged { .. })
        ));
        assert!(
            !p.state_dir.exists() && !p.config.exists(),
            "nothing written"
        );
        // A service that holds the account refuses; then the restore itself.
        let running = Running {
            socket: String::from("s"),
            held: vec![],
            config: Some(String::from("/elsewhere.toml")),
        };
        assert!(matches!(
            restore(&p, &file, &pass, false, Some(&running)),
            Err(BackupError::ServiceRunning { .. })
        ));
        restore(&p, &file, &pass, false, None).unwrap();
        assert_eq!(fs::read_to_string(&p.config).unwrap(), "version = 1\n");
        assert_eq!(
            fs::metadata(&p.config).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_to_string(t.join("a.secret")).unwrap(),
            "held-secret"
        );
        assert_eq!(
            fs::metadata(t.join("a.json")).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            restore(&p, &file, &pass, false, None),
            Err(BackupError::Exists { .. })
        ));
        // A short passphrase is refused for a new backup; an existing file needs --force.
        let short = Secret::new(String::from("short"));
        assert!(matches!(
            backup(&p, &d.join("c.age"), &short, false),
            Err(BackupError::Passphrase(_))
        ));
        assert!(matches!(
            backup(&p, &file, &pass, false),
            Err(BackupError::Exists { .. })
        ));
        backup(&p, &file, &pass, true).unwrap();
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn names_that_leave_the_folder_are_not_restored() {
        for bad in ["", "../x", "a/b", ".hidden", "x.lock", "a\\b", "c:d"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in ["alice@example.test.json", "alice.secret"] {
            assert!(safe_name(good), "{good:?}");
        }
        assert_eq!(
            lock_name("alice@example.test.json"),
            "alice@example.test.lock"
        );
    }

    #[test]
    fn the_custody_read_skips_locks_temps_and_links() {
        let d = dir("read");
        let t = d.join("tokens");
        fs::create_dir_all(&t).unwrap();
        fs::write(t.join("a.json"), "{}").unwrap();
        fs::write(t.join("a.lock"), "").unwrap();
        fs::write(t.join(".a.json.tmp-1-0"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.join("b.json")).unwrap();
        let files = read_custody(&t).unwrap();
        assert_eq!(
            files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["a.json"]
        );
        let _ = fs::remove_dir_all(&d);
    }
}
