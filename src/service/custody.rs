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

/// The file suffix of a secret held in custody (beside the tokens `<key>.json`).
pub const SECRET_SUFFIX: &str = ".client-secret";

/// Where custody keeps the client secret, private key (private_key_jwt) or Google service
/// account key of the account whose store key is `key`: `<state dir>/tokens/<key>.client-secret`,
/// beside its tokens, owner-only (sealed with DPAPI on Windows, as the tokens are).
pub fn secret_path(state_dir: &Path, key: &str) -> Result<PathBuf, StoreError> {
    Ok(tokens_dir(state_dir).join(format!(
        "{}{SECRET_SUFFIX}",
        crate::store::account_key(key)?
    )))
}

/// The reference the service reads a held secret through (a `file:` reference to
/// [`secret_path`]; the file is sealed on Windows, which [`crate::config::SecretRef::read`]
/// opens).
pub fn secret_ref(state_dir: &Path, key: &str) -> Result<crate::config::SecretRef, StoreError> {
    secret_path(state_dir, key).map(crate::config::SecretRef::File)
}

/// Takes `secret` into custody for the account whose store key is `key`: written atomically,
/// owner-only, sealed on Windows; replaces a secret held before. Never logged.
pub fn put_secret(
    state_dir: &Path,
    key: &str,
    secret: &crate::secret::Secret<String>,
) -> Result<(), StoreError> {
    let spec = crate::config::StoreSpec::File(tokens_dir(state_dir));
    let trimmed = crate::secret::Secret::new(secret.expose().trim().to_string());
    crate::store::keep_client_secret(&spec, key, &trimmed).map(|_| ())
}

/// True when custody holds a secret for `key`.
pub fn has_secret(state_dir: &Path, key: &str) -> bool {
    secret_path(state_dir, key).is_ok_and(|p| p.is_file())
}

/// What one custody file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKind {
    /// An account's token set (`<key>.json`).
    Tokens,
    /// An account's client secret, private key or service account key (`<key>.client-secret`).
    Secret,
}

/// One file in custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The account's store key (its mailbox, lower case).
    pub key: String,
    /// Tokens or a secret.
    pub kind: HeldKind,
    /// The file.
    pub path: PathBuf,
}

/// Everything in custody, sorted by key then kind: the token sets and the secrets (lock files
/// and temp files of the atomic writer are not custody). An absent folder holds nothing.
pub fn contents(state_dir: &Path) -> Result<Vec<Held>, StoreError> {
    let dir = tokens_dir(state_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(crate::store::fs_err(&dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| crate::store::fs_err(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let (key, kind) = if let Some(k) = name.strip_suffix(".json") {
            (k, HeldKind::Tokens)
        } else if let Some(k) = name.strip_suffix(SECRET_SUFFIX) {
            (k, HeldKind::Secret)
        } else {
            continue;
        };
        // Only names custody itself writes (a safe key), regular files, not links.
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !is_file || crate::store::account_key(key).ok().as_deref() != Some(key) {
            continue;
        }
        out.push(Held {
            key: key.to_string(),
            kind,
            path: entry.path(),
        });
    }
    out.sort_by(|a, b| (&a.key, a.kind as u8).cmp(&(&b.key, b.kind as u8)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_owner_only_beside_the_tokens_and_listed() {
        use crate::store::TokenStore;
        let dir = std::env::temp_dir().join(format!("mailoauth-custody-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(contents(&dir).unwrap(), Vec::new());
        let store = prepare(&dir).unwrap();
        let secret = crate::secret::Secret::new(String::from(" custody-secret-value\n"));
        put_secret(&dir, "Scan@Example.test", &secret).unwrap();
        let path = secret_path(&dir, "scan@example.test").unwrap();
        assert_eq!(
            path,
            tokens_dir(&dir).join("scan@example.test.client-secret")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let read = secret_ref(&dir, "scan@example.test")
            .unwrap()
            .read()
            .unwrap();
        assert_eq!(read.expose(), "custody-secret-value");
        assert!(has_secret(&dir, "scan@example.test"));
        assert!(!has_secret(&dir, "other@example.test"));
        let tokens = crate::store::TokenSet {
            access_token: crate::secret::Secret::new(String::from("a")),
            refresh_token: None,
            expires_at: None,
            scopes: vec![String::from("mail")],
            account: None,
            obtained_at: 1,
        };
        store.save("scan@example.test", &tokens).unwrap();
        let _lock = store.lock("scan@example.test").unwrap();
        std::fs::write(tokens_dir(&dir).join("stray.txt"), "x").unwrap();
        let listed: Vec<(String, HeldKind)> = contents(&dir)
            .unwrap()
            .into_iter()
            .map(|h| (h.key, h.kind))
            .collect();
        assert_eq!(
            listed,
            [
                ("scan@example.test".to_string(), HeldKind::Tokens),
                ("scan@example.test".to_string(), HeldKind::Secret),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
