//! [`KeyringStore`]: tokens in the OS credential store, one entry per account.
//!
//! On Linux this is the kernel keyutils keyring, which needs no desktop session but lives only
//! as long as the login session (or `keyctl session`) that holds it: for services prefer the
//! file store. The cross-process lock is a lock file in a folder of this account alone
//! ([`lock_dir_candidates`]), since keyrings have no locks of their own.

use super::TokenSet;
use super::{account_key, lock_file, try_lock_file, StoreError, StoreLock, TokenStore};
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;

/// The keyring service name every entry is filed under.
pub const SERVICE: &str = crate::config::KEYRING_SERVICE;

/// Tokens in the OS keyring under service [`SERVICE`].
#[derive(Debug, Clone, Default)]
pub struct KeyringStore {
    _private: (),
}

fn kr_err(e: keyring::Error) -> StoreError {
    StoreError::Keyring {
        detail: e.to_string(),
    }
}

impl KeyringStore {
    /// The store of the current OS user.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(SERVICE, &account_key(account)?).map_err(kr_err)
    }
}

/// Reads a secret the admin or the wizard filed in the keyring (`keyring:<service>/<entry>`).
pub fn read_secret(
    service: &str,
    entry: &str,
) -> Result<crate::secret::Secret<String>, StoreError> {
    match keyring::Entry::new(service, entry)
        .map_err(kr_err)?
        .get_password()
    {
        Ok(v) => Ok(crate::secret::Secret::new(v)),
        Err(keyring::Error::NoEntry) => Err(StoreError::Keyring {
            detail: format!("no entry {service}/{entry} for this OS account"),
        }),
        Err(e) => Err(kr_err(e)),
    }
}

/// Files a secret in the keyring under `service`/`entry`, replacing what was there.
pub fn write_secret(
    service: &str,
    entry: &str,
    secret: &crate::secret::Secret<String>,
) -> Result<(), StoreError> {
    keyring::Entry::new(service, entry)
        .map_err(kr_err)?
        .set_password(secret.expose())
        .map_err(kr_err)
}

/// Removes the keyring entry `service`/`entry` (a secret moved elsewhere); an absent entry is
/// fine.
pub fn delete_secret(service: &str, entry: &str) -> Result<(), StoreError> {
    match keyring::Entry::new(service, entry)
        .map_err(kr_err)?
        .delete_credential()
    {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(kr_err(e)),
    }
}

impl TokenStore for KeyringStore {
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError> {
        match self.entry(account)?.get_password() {
            Ok(text) => {
                TokenSet::from_json(&text)
                    .map(Some)
                    .map_err(|detail| StoreError::Corrupt {
                        path: format!("keyring entry {SERVICE}/{account}"),
                        detail,
                    })
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(kr_err(e)),
        }
    }

    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        self.entry(account)?
            .set_password(&tokens.to_json())
            .map_err(kr_err)
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(kr_err(e)),
        }
    }

    fn lock(&self, account: &str) -> Result<StoreLock, StoreError> {
        lock_file(&self.lock_path(account)?)
    }

    fn try_lock(&self, account: &str) -> Result<Option<StoreLock>, StoreError> {
        try_lock_file(&self.lock_path(account)?)
    }

    fn describe(&self) -> String {
        String::from("OS keyring")
    }

    fn lock_location(&self, account: &str) -> String {
        self.lock_path(account)
            .map_or_else(|_| self.describe(), |p| p.display().to_string())
    }
}

/// A place the keyring store's lock folder may go, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockDirCandidate {
    /// A folder that must already exist and belong to this account (or root) with no write
    /// access for others: nobody else can then create `folder` inside it first. `None` for the
    /// last resort in the shared temporary folder, where `folder` itself is checked.
    pub trusted_base: Option<PathBuf>,
    /// The lock folder.
    pub folder: PathBuf,
}

/// Where the lock folder of the keyring store may go for the account `euid`, best first
/// (Unix): `$XDG_RUNTIME_DIR/mailoauth`; `/run/user/<euid>/mailoauth`; for root
/// `/run/mailoauth-locks` (only root may create in `/run`; `/run/mailoauth` is the token service's socket folder); `<home>/.local/state/mailoauth/locks`;
/// and last `<temp>/mailoauth-locks-<euid>`. Keyed on the effective uid, never on `USER`,
/// which a caller sets at will and two accounts may share. Pure, for the tests.
#[cfg(unix)]
pub fn lock_dir_candidates(
    env: &dyn Fn(&str) -> Option<String>,
    euid: u32,
    home: Option<PathBuf>,
    temp: &Path,
) -> Vec<LockDirCandidate> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut out = Vec::new();
    let mut under = |base: PathBuf, rel: &str| {
        out.push(LockDirCandidate {
            folder: base.join(rel),
            trusted_base: Some(base),
        });
    };
    if let Some(run) = set("XDG_RUNTIME_DIR") {
        under(PathBuf::from(run), "mailoauth");
    }
    under(PathBuf::from(format!("/run/user/{euid}")), "mailoauth");
    if euid == 0 {
        under(PathBuf::from("/run"), "mailoauth-locks");
        under(PathBuf::from("/var/run"), "mailoauth-locks");
    }
    if let Some(home) = set("HOME").map(PathBuf::from).or(home) {
        under(home, ".local/state/mailoauth/locks");
    }
    out.push(LockDirCandidate {
        trusted_base: None,
        folder: temp.join(format!("mailoauth-locks-{euid}")),
    });
    out.dedup();
    out
}

/// Uses `c` if it is safe: its trusted base belongs to this account or root and nobody else may
/// write it (or, in the temporary folder, the lock folder itself is a real folder of this
/// account, mode 0700). Returns why not otherwise.
#[cfg(unix)]
fn use_candidate(c: &LockDirCandidate) -> Result<(), String> {
    use crate::config::atomic::{check_dir, ensure_dir, DirRules};
    if let Some(base) = &c.trusted_base {
        let base_rules = DirRules {
            follow_link: true,
            root_may_own: true,
            owner_only: false,
            repair: false,
        };
        if !base.exists() {
            return Err(format!("{} does not exist", base.display()));
        }
        check_dir(base, base_rules).map_err(|e| e.to_string())?;
    }
    let rules = DirRules {
        follow_link: c.trusted_base.is_some(),
        root_may_own: false,
        owner_only: true,
        repair: true,
    };
    ensure_dir(&c.folder, rules).map_err(|e| e.to_string())
}

impl KeyringStore {
    /// The folder of this account's keyring locks: the first safe [`lock_dir_candidates`]. A
    /// candidate another account prepared (its folder, a folder others may write, a link) is
    /// skipped with a warning, so it cannot stop this account's refreshes; only when every
    /// candidate is refused is it an error, which lists them.
    #[cfg(unix)]
    fn lock_dir(&self) -> Result<PathBuf, StoreError> {
        let euid = crate::config::atomic::euid();
        let candidates = lock_dir_candidates(
            &|name| std::env::var(name).ok(),
            euid,
            crate::config::location::home_of(euid),
            &std::env::temp_dir(),
        );
        let mut refused = Vec::new();
        for c in &candidates {
            match use_candidate(c) {
                Ok(()) => return Ok(c.folder.clone()),
                Err(why) => {
                    if c.trusted_base.is_none() || c.folder.exists() {
                        tracing::warn!(folder = %c.folder.display(), "keyring lock folder not used: {why}");
                    }
                    refused.push(format!("{} ({why})", c.folder.display()));
                }
            }
        }
        Err(StoreError::Unsafe {
            path: String::from("keyring lock folder"),
            detail: format!(
                "no safe folder for the lock files: {}; set XDG_RUNTIME_DIR to a folder of this account (mode 0700), or use --store file:<folder>",
                refused.join("; ")
            ),
        })
    }

    /// Windows: `%TEMP%` is already the user's own folder.
    #[cfg(not(unix))]
    fn lock_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(run) => PathBuf::from(run).join("mailoauth"),
            None => std::env::temp_dir().join("mailoauth-locks"),
        };
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Io {
            path: dir.display().to_string(),
            detail: e.to_string(),
        })?;
        Ok(dir)
    }

    fn lock_path(&self, account: &str) -> Result<PathBuf, StoreError> {
        Ok(self
            .lock_dir()?
            .join(format!("{}.lock", account_key(account)?)))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::config::location::tests::env_of;

    #[test]
    fn lock_folders_are_keyed_on_the_uid_and_start_where_others_cannot_create() {
        let list = lock_dir_candidates(
            &env_of(&[("USER", "a.lice"), ("XDG_RUNTIME_DIR", "/run/user/1000")]),
            1000,
            Some(PathBuf::from("/home/alice")),
            Path::new("/tmp"),
        );
        let folders: Vec<_> = list.iter().map(|c| c.folder.clone()).collect();
        assert_eq!(
            folders,
            [
                PathBuf::from("/run/user/1000/mailoauth"),
                PathBuf::from("/home/alice/.local/state/mailoauth/locks"),
                PathBuf::from("/tmp/mailoauth-locks-1000"),
            ]
        );
        // Only the last one is in a shared folder, and it names the uid, not USER.
        assert!(list[..2].iter().all(|c| c.trusted_base.is_some()));
        assert!(list[2].trusted_base.is_none());
        let root = lock_dir_candidates(&env_of(&[]), 0, None, Path::new("/tmp"));
        let folders: Vec<_> = root.iter().map(|c| c.folder.clone()).collect();
        assert_eq!(
            folders,
            [
                PathBuf::from("/run/user/0/mailoauth"),
                PathBuf::from("/run/mailoauth-locks"),
                PathBuf::from("/var/run/mailoauth-locks"),
                PathBuf::from("/tmp/mailoauth-locks-0"),
            ]
        );
    }
}
