//! Where tokens are kept between runs: the [`TokenStore`] trait and its two homes.
//!
//! - [`file::FileStore`]: one JSON file per account, readable only by its owner (Unix: mode
//!   `0600`; Windows: sealed with DPAPI for the saving account). The default for services, which
//!   often run as another account than the admin who signed in.
//! - [`keyring::KeyringStore`]: the OS credential store (Windows Credential Manager, macOS
//!   Keychain, the Linux kernel keyring).
//! - [`memory::MemoryStore`]: this process's memory only, for a sign-in's tokens on their way
//!   into the mailoauth service.
//!
//! Every store also hands out an exclusive, cross-process [`StoreLock`] per account, which the
//! refresh holds around read-refresh-store so two processes cannot lose a rotated refresh token.

#[cfg(windows)]
mod dpapi;
mod expired;
pub mod file;
pub mod keyring;
pub mod memory;
mod tokens;

pub use expired::Expired;
pub use tokens::TokenSet;

use crate::config::{SecretRef, StoreSpec};
use crate::error::{Coded, ErrorCode};
use crate::secret::Secret;
use std::fs::File;
use std::path::Path;

/// Reading, writing or locking stored tokens failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file or folder could not be read or written.
    #[error(
        "token store {path}: {detail}; check that the folder exists and this account may write it"
    )]
    Io {
        /// The file or folder.
        path: String,
        /// What the OS said.
        detail: String,
    },
    /// A stored entry is not a token set mailoauth wrote.
    #[error(
        "token store {path}: the stored entry is damaged ({detail}); authorize the account again"
    )]
    Corrupt {
        /// The file or keyring entry.
        path: String,
        /// What did not parse (never the content).
        detail: String,
    },
    /// A token file sealed with Windows DPAPI that this account cannot unseal: another Windows
    /// account (or another machine) sealed it, or it was altered.
    #[error("token store {path}: the file is sealed with Windows DPAPI and this account cannot unseal it ({detail}); only the Windows account that saved it, on the same machine, can read it: run mailoauth as that account, or authorize again as this one")]
    Unprotect {
        /// The file.
        path: String,
        /// What DPAPI said.
        detail: String,
    },
    /// On Windows, a token file that is not sealed with DPAPI: mailoauth did not write it there.
    #[error("token store {path}: the file is not sealed with Windows DPAPI (copied from another system, or written by hand or by another account); on Windows mailoauth only reads token files it sealed: authorize the account again")]
    Unsealed {
        /// The file.
        path: String,
    },
    /// A token file sealed with Windows DPAPI, read on another platform.
    #[error("token store {path}: the file is sealed with Windows DPAPI and can only be read on Windows by the account that saved it; authorize again on this machine")]
    WindowsOnly {
        /// The file.
        path: String,
    },
    /// The file can be read by other accounts.
    #[error("token store {path}: the file is readable by other accounts (mode {mode:o}); run chmod 600 on it")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A folder or file of the store is not safe to use: another account owns it or may write
    /// it, or it is a link where mailoauth follows none.
    #[error("token store {path}: {detail}")]
    Unsafe {
        /// The file or folder.
        path: String,
        /// What is wrong and the fix.
        detail: String,
    },
    /// Another process held the account's lock longer than a refresh can take.
    #[error("token store {path}: {detail}")]
    LockTimeout {
        /// The lock file.
        path: String,
        /// How long was waited, and how to find the holder.
        detail: String,
    },
    /// The OS credential store refused.
    #[error("OS keyring: {detail}; on a server without a desktop session use --store file:<path>")]
    Keyring {
        /// What the keyring said.
        detail: String,
    },
    /// The account name cannot name a stored entry.
    #[error("account {account:?} cannot name a token entry: use the mailbox address")]
    BadAccount {
        /// The account given.
        account: String,
    },
    /// The store setting is not understood.
    #[error("--store {given:?}: use file:<folder> or keyring")]
    BadSpec {
        /// What was given.
        given: String,
    },
    /// The account's tokens are in the mailoauth service's custody (`token_store = "service"`):
    /// only the service reads and writes them.
    #[error("this account's tokens are held by the mailoauth service (token_store = \"service\"); ask the service for a token (mailoauth token), or change token_store to sign in without it")]
    HeldByService,
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::BadAccount { .. }
            | StoreError::BadSpec { .. }
            | StoreError::HeldByService => ErrorCode::InvalidInput,
            // Fixed by a setting or a command the message names (chmod, another store).
            StoreError::TooOpen { .. } | StoreError::Unsafe { .. } | StoreError::Keyring { .. } => {
                ErrorCode::InvalidInput
            }
            // The stored tokens cannot be read by this account here: a new sign-in writes them.
            StoreError::Corrupt { .. }
            | StoreError::Unprotect { .. }
            | StoreError::Unsealed { .. }
            | StoreError::WindowsOnly { .. } => ErrorCode::NeedsReauthorization,
            // Another process holds the lock: trying again later works.
            StoreError::LockTimeout { .. } => ErrorCode::Network,
            StoreError::Io { .. } => ErrorCode::Internal,
        }
    }
}

/// Tokens kept per account (the mailbox address, or `client_id@tenant` for app-only access).
pub trait TokenStore: Send + Sync {
    /// The stored tokens of `account`, if any.
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError>;
    /// Replaces the tokens of `account`; durable when it returns.
    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError>;
    /// Forgets `account`; no error when nothing was stored.
    fn delete(&self, account: &str) -> Result<(), StoreError>;
    /// An exclusive lock on `account` across processes, held until the guard is dropped.
    fn lock(&self, account: &str) -> Result<StoreLock, StoreError>;
    /// The lock if it is free now, `None` if another holder has it; async code polls this
    /// rather than blocking its thread (which on a single-threaded runtime would deadlock
    /// against the task holding the lock).
    fn try_lock(&self, account: &str) -> Result<Option<StoreLock>, StoreError>;
    /// Where the tokens go, for messages (`file /var/lib/...`, `OS keyring`).
    fn describe(&self) -> String;
    /// Where `account`'s lock is, for the message of a wait that ran out.
    fn lock_location(&self, account: &str) -> String {
        let _ = account;
        self.describe()
    }
}

/// An exclusive lock on one account's tokens, released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _held: Held,
}

/// What a [`StoreLock`] holds: a locked file, or an in-process hold of a memory store.
#[derive(Debug)]
enum Held {
    File(#[allow(dead_code)] File),
    Memory(#[allow(dead_code)] memory::MemoryHold),
}

impl StoreLock {
    fn memory(hold: memory::MemoryHold) -> Self {
        StoreLock {
            _held: Held::Memory(hold),
        }
    }
}

/// How long a process waits for another one's hold on an account's lock: the holder refreshes
/// with one request of at most the HTTP time-out, so twice that plus a margin means the holder
/// is stuck (or is not a mailoauth at all). `MAILOAUTH_LOCK_WAIT_SECS` overrides it.
pub fn lock_wait() -> std::time::Duration {
    let http = crate::provider::net::http_timeout();
    crate::config::atomic::lock_wait(http * 2 + std::time::Duration::from_secs(30))
}

/// A refusal or failure of the shared file helpers, as a store error naming `path`.
pub(crate) fn fs_err(path: &Path, e: std::io::Error) -> StoreError {
    let path = path.display().to_string();
    match e.kind() {
        std::io::ErrorKind::PermissionDenied if e.get_ref().is_some() => StoreError::Unsafe {
            path,
            detail: e.to_string(),
        },
        std::io::ErrorKind::TimedOut => StoreError::LockTimeout {
            path,
            detail: e.to_string(),
        },
        _ => StoreError::Io {
            path,
            detail: e.to_string(),
        },
    }
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    crate::config::atomic::open_lock_file(path).map_err(|e| fs_err(path, e))
}

/// Takes the exclusive lock on the file `path`, waiting at most [`lock_wait`] for another holder.
pub(crate) fn lock_file(path: &Path) -> Result<StoreLock, StoreError> {
    let file = open_lock_file(path)?;
    crate::config::atomic::lock_within(&file, path, lock_wait()).map_err(|e| fs_err(path, e))?;
    Ok(StoreLock {
        _held: Held::File(file),
    })
}

/// Takes the exclusive lock on the file `path` if nobody holds it.
pub(crate) fn try_lock_file(path: &Path) -> Result<Option<StoreLock>, StoreError> {
    let file = open_lock_file(path)?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(StoreLock {
            _held: Held::File(file),
        })),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(e)) => Err(StoreError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

/// Waits for `account`'s lock without blocking the async runtime, at most [`lock_wait`].
pub async fn lock_async(store: &dyn TokenStore, account: &str) -> Result<StoreLock, StoreError> {
    let bound = lock_wait();
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if let Some(lock) = store.try_lock(account)? {
            return Ok(lock);
        }
        if tokio::time::Instant::now() >= deadline {
            let path = store.lock_location(account);
            return Err(fs_err(
                Path::new(&path),
                crate::config::atomic::lock_timeout(Path::new(&path), bound),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// A file-name-safe key for `account`.
pub(crate) fn account_key(account: &str) -> Result<String, StoreError> {
    let a = account.trim().to_ascii_lowercase();
    let ok = !a.is_empty()
        && a.len() <= 200
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.-_+".contains(c))
        && !a.starts_with('.');
    if ok {
        Ok(a)
    } else {
        Err(StoreError::BadAccount {
            account: account.to_string(),
        })
    }
}

/// Keeps `account`'s client secret in the store `spec` names, beside its tokens, and says where:
/// the keyring entry `mailoauth/client-secret/<account>`, or the owner-only file
/// `<folder>/<account>.client-secret` (written atomically; sealed with DPAPI on Windows). The
/// config then holds only the reference, and the service reads the secret from the same place as
/// its tokens.
pub fn keep_client_secret(
    spec: &StoreSpec,
    account: &str,
    secret: &Secret<String>,
) -> Result<SecretRef, StoreError> {
    let place = client_secret_place(spec, account)?;
    match &place {
        SecretRef::Keyring { service, entry } => keyring::write_secret(service, entry, secret)?,
        SecretRef::File(path) => {
            // The same checks as the token folder it usually is.
            if let Some(dir) = path.parent() {
                crate::config::atomic::ensure_dir(dir, file::FOLDER_RULES)
                    .map_err(|e| fs_err(dir, e))?;
            }
            // Sealed with DPAPI on Windows, like the tokens beside it.
            let content = file::seal_secret_file(path, secret.expose())?;
            crate::config::atomic::write_atomic(path, content.as_bytes(), false).map_err(|e| {
                StoreError::Io {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                }
            })?;
        }
        SecretRef::Env(_) => unreachable!("client_secret_place never names a variable"),
        // Only the service writes its custody: the secret is handed to it (`put_secret`).
        SecretRef::Service => return Err(StoreError::HeldByService),
    }
    Ok(place)
}

/// Where [`keep_client_secret`] keeps `account`'s client secret for the store `spec`, without
/// writing it (the plan shows the reference before the secret is kept). For a service-held
/// account that is the service's custody (`service`): the secret is handed to the service.
pub fn client_secret_place(spec: &StoreSpec, account: &str) -> Result<SecretRef, StoreError> {
    let key = account_key(account)?;
    match spec {
        StoreSpec::Keyring | StoreSpec::KeyringEntry { .. } => Ok(SecretRef::Keyring {
            service: keyring::SERVICE.to_string(),
            entry: format!("client-secret/{key}"),
        }),
        StoreSpec::File(dir) => Ok(SecretRef::File(dir.join(format!("{key}.client-secret")))),
        StoreSpec::Service => Ok(SecretRef::Service),
    }
}

/// Removes the secret `place` names after it moved into the service's custody: a keyring entry
/// is deleted, a file removed. An environment variable cannot be removed by mailoauth (nothing
/// happens; the caller tells the admin), and `service` is custody itself.
pub fn forget_secret(place: &SecretRef) -> Result<(), StoreError> {
    match place {
        SecretRef::Keyring { service, entry } => keyring::delete_secret(service, entry),
        SecretRef::File(path) => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fs_err(path, e)),
        },
        SecretRef::Env(_) | SecretRef::Service => Ok(()),
    }
}

/// Opens the store `spec` names. `keyring:<service>/<entry>` opens the OS keyring store, which
/// files every mailbox under [`keyring::SERVICE`]; the account's own spelling is checked by
/// [`crate::account`]. A service-held store is refused: only the service opens it.
pub fn open(spec: &StoreSpec) -> Result<Box<dyn TokenStore>, StoreError> {
    match spec {
        StoreSpec::Keyring => Ok(Box::new(keyring::KeyringStore::new())),
        StoreSpec::KeyringEntry { service, .. } if service == keyring::SERVICE => {
            Ok(Box::new(keyring::KeyringStore::new()))
        }
        StoreSpec::KeyringEntry { .. } => Err(StoreError::BadSpec {
            given: spec.to_string(),
        }),
        StoreSpec::File(dir) => Ok(Box::new(file::FileStore::new(dir.clone()))),
        StoreSpec::Service => Err(StoreError::HeldByService),
    }
}

/// Opens the store a command line names (`file:<folder>` or `keyring`).
pub fn open_spec(text: &str) -> Result<Box<dyn TokenStore>, StoreError> {
    let spec = StoreSpec::parse(text).map_err(|_| StoreError::BadSpec {
        given: text.trim().to_string(),
    })?;
    open(&spec)
}

/// Why a referenced secret could not be read. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretReadError {
    /// `env:` names a variable that is not set.
    #[error("environment variable {0} is not set")]
    EnvUnset(String),
    /// `file:` names a file that cannot be read or opened.
    #[error("cannot read {path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// `keyring:` names an entry that cannot be read.
    #[error("cannot read keyring entry {service}/{entry}: {detail}")]
    Keyring {
        /// The keyring service.
        service: String,
        /// The entry.
        entry: String,
        /// What the keyring said.
        detail: String,
    },
    /// `service`: only the mailoauth service reads a secret it holds.
    #[error("the secret is held by the mailoauth service, which alone reads it (client_secret = \"service\"); to sign in again here, give the secret again (it is handed to the service anew)")]
    HeldByService,
}

impl SecretRef {
    /// Reads the secret this reference names, trimmed: an environment variable, a file (sealed
    /// with DPAPI on Windows when mailoauth kept it, plain when an admin wrote it) or a keyring
    /// entry.
    pub fn read(&self) -> Result<Secret<String>, SecretReadError> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map(|v| Secret::new(v.trim().to_string()))
                .map_err(|_| SecretReadError::EnvUnset(name.clone())),
            SecretRef::File(path) => {
                let failed = |detail: String| SecretReadError::File {
                    path: path.display().to_string(),
                    detail,
                };
                let content = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
                file::open_secret_file(path, content)
                    .map(|v| Secret::new(v.trim().to_string()))
                    .map_err(|e| failed(e.to_string()))
            }
            SecretRef::Keyring { service, entry } => keyring::read_secret(service, entry)
                .map(|v| Secret::new(v.expose().trim().to_string()))
                .map_err(|e| SecretReadError::Keyring {
                    service: service.clone(),
                    entry: entry.clone(),
                    detail: e.to_string(),
                }),
            SecretRef::Service => Err(SecretReadError::HeldByService),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_store_failures_say_whether_a_new_sign_in_helps() {
        use crate::error::{Coded, ErrorCode};
        use crate::store::StoreError;
        let path = || String::from("/var/lib/mailoauth/tokens/scanner.json");
        for (e, code) in [
            (
                StoreError::Corrupt {
                    path: path(),
                    detail: "not JSON".into(),
                },
                ErrorCode::NeedsReauthorization,
            ),
            (
                StoreError::LockTimeout {
                    path: path(),
                    detail: "held for 30 s".into(),
                },
                ErrorCode::Network,
            ),
            (
                StoreError::Io {
                    path: path(),
                    detail: "EIO".into(),
                },
                ErrorCode::Internal,
            ),
        ] {
            assert_eq!(e.code(), code, "{e}");
        }
    }

    use super::*;

    #[test]
    fn account_keys_are_safe_file_names() {
        assert_eq!(
            account_key(" Alice@Example.test ").ok().as_deref(),
            Some("alice@example.test")
        );
        for bad in ["", "../etc/passwd", "a/b", ".hidden", "a b"] {
            assert!(account_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_client_secret_is_kept_owner_only_beside_the_tokens_and_read_back() {
        let dir = std::env::temp_dir().join(format!("mailoauth-keep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let secret = crate::secret::Secret::new(String::from("GOCSPX-kept-secret-value"));
        let spec = StoreSpec::File(dir.clone());
        let source = keep_client_secret(&spec, "Scan@Example.com", &secret).unwrap();
        let SecretRef::File(path) = &source else {
            panic!("{source:?}")
        };
        assert_eq!(path, &dir.join("scan@example.com.client-secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        assert_eq!(source.read().unwrap(), secret);
        // On disk: owner-only on Unix, sealed for this account on Windows.
        let on_disk = std::fs::read_to_string(path).unwrap();
        assert_eq!(on_disk.contains("GOCSPX-kept-secret-value"), !cfg!(windows));
        assert!(matches!(
            keep_client_secret(&StoreSpec::Service, "a@b.c", &secret),
            Err(StoreError::HeldByService)
        ));
        assert_eq!(
            client_secret_place(&StoreSpec::Service, "a@b.c").unwrap(),
            SecretRef::Service
        );
        assert!(matches!(
            SecretRef::Service.read(),
            Err(SecretReadError::HeldByService)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn store_specs_open_and_the_service_store_is_refused_plainly() {
        assert!(open_spec("file:/tmp/x").is_ok());
        assert!(open_spec("keyring").is_ok());
        assert!(open_spec("keyring:mailoauth/a@b.c").is_ok());
        for bad in ["file:", "vault", "", "keyring:other/a@b.c"] {
            assert!(
                matches!(open_spec(bad), Err(StoreError::BadSpec { .. })),
                "{bad:?}"
            );
        }
        let err = open_spec("service").err().unwrap();
        assert!(matches!(err, StoreError::HeldByService));
        assert!(
            err.to_string()
                .starts_with("this account's tokens are held by the mailoauth service"),
            "{err}"
        );
    }
}
