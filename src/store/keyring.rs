//! [`KeyringStore`]: tokens in the OS credential store, one entry per account.
//!
//! On Linux this is the kernel keyutils keyring, which needs no desktop session but lives only
//! as long as the login session (or `keyctl session`) that holds it: for services prefer the
//! file store. The cross-process lock is a lock file in a per-user folder (`$XDG_RUNTIME_DIR`,
//! else the temporary folder), since keyrings have no locks of their own.

use super::{account_key, lock_file, try_lock_file, StoreError, StoreLock, TokenStore};
use crate::oauth::TokenSet;

/// The keyring service name every entry is filed under.
pub const SERVICE: &str = "mailoauth";

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
}

impl KeyringStore {
    fn lock_path(&self, account: &str) -> Result<std::path::PathBuf, StoreError> {
        // A per-user folder: in a shared one another account could pre-create the lock file.
        let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(run) => std::path::PathBuf::from(run).join("mailoauth"),
            None => {
                let user = std::env::var("USER")
                    .or_else(|_| std::env::var("USERNAME"))
                    .unwrap_or_default();
                let user: String = user.chars().filter(char::is_ascii_alphanumeric).collect();
                std::env::temp_dir().join(format!("mailoauth-locks-{user}"))
            }
        };
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir).map_err(|e| StoreError::Io {
            path: dir.display().to_string(),
            detail: e.to_string(),
        })?;
        Ok(dir.join(format!("{}.lock", account_key(account)?)))
    }
}
