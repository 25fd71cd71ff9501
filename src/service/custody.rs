//! The service's custody of tokens: the file token store ([`FileStore`]) in a root-only folder
//! of the state dir (`<state dir>/tokens`, `0700`, files `0600`), written only by the service
//! and only when the tokens change.

use crate::store::file::FileStore;
use crate::store::StoreError;
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

pub use crate::store::Expired;
