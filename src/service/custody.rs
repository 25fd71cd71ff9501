//! The service's custody of tokens: the file token store ([`FileStore`]) in a root-only folder
//! of the state dir (`<state dir>/tokens`, `0700`, files `0600`), written only by the service
//! and only when the tokens change.

use crate::oauth::TokenSet;
use crate::store::file::FileStore;
use crate::store::{StoreError, StoreLock, TokenStore};
use std::path::{Path, PathBuf};

/// The custody folder in `state_dir`.
pub fn tokens_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("tokens")
}

/// Creates (or checks) the state dir and the custody folder: owner-only, not links, this
/// account's (or root's).
pub fn prepare(state_dir: &Path) -> Result<FileStore, StoreError> {
    let rules = crate::config::atomic::DirRules {
        follow_link: false,
        root_may_own: true,
        owner_only: true,
        repair: true,
    };
    for dir in [state_dir.to_path_buf(), tokens_dir(state_dir)] {
        crate::config::atomic::ensure_dir(&dir, rules)
            .map_err(|e| crate::store::fs_err(&dir, e))?;
    }
    Ok(FileStore::new(tokens_dir(state_dir)))
}

/// The custody store opened read-only for the direct path when the service is not running: no
/// folder is created and nothing is written.
pub fn read_only(state_dir: &Path) -> FileStore {
    FileStore::new(tokens_dir(state_dir))
}

/// A view of a store in which the stored access token counts as expired, so the core's
/// refresh ([`crate::oauth::refresh_if_needed`]) refreshes now: for refreshes ahead of expiry,
/// forced refreshes and rejected tokens. Saves go to the store itself.
pub struct Expired<'a>(pub &'a dyn TokenStore);

impl TokenStore for Expired<'_> {
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError> {
        Ok(self.0.load(account)?.map(|mut t| {
            t.expires_at = Some(0);
            t
        }))
    }
    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        self.0.save(account, tokens)
    }
    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.0.delete(account)
    }
    fn lock(&self, account: &str) -> Result<StoreLock, StoreError> {
        self.0.lock(account)
    }
    fn try_lock(&self, account: &str) -> Result<Option<StoreLock>, StoreError> {
        self.0.try_lock(account)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn lock_location(&self, account: &str) -> String {
        self.0.lock_location(account)
    }
}
