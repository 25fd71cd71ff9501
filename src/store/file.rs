//! [`FileStore`]: tokens as one JSON file per account, for services that run as another account.
//!
//! On Unix the folder is created `0700` and each file `0600`, and a file that others can read is
//! refused rather than used. Writes go to a temporary file that is synced and renamed over the
//! old one, so a crash leaves either the old or the new tokens, never half of each.
//!
//! Windows: the file inherits the folder's ACL. Put the folder where only the service account
//! (and administrators) have access, e.g. under `%ProgramData%\mailoauth` with inheritance
//! removed. Encrypting the file with DPAPI (`CryptProtectData`) is not built yet.

use super::{account_key, lock_file, try_lock_file, StoreError, StoreLock, TokenStore};
use crate::oauth::TokenSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Tokens in `<folder>/<account>.json`, owner-only.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

impl FileStore {
    /// A store in `dir`, created on first save.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The file that holds `account`'s tokens.
    pub fn path_of(&self, account: &str) -> Result<PathBuf, StoreError> {
        Ok(self.dir.join(format!("{}.json", account_key(account)?)))
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&self.dir).map_err(|e| io_err(&self.dir, e))
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|e| io_err(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(StoreError::TooOpen {
            path: path.display().to_string(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

impl TokenStore for FileStore {
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError> {
        let path = self.path_of(account)?;
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        check_private(&path)?;
        TokenSet::from_json(&text)
            .map(Some)
            .map_err(|detail| StoreError::Corrupt {
                path: path.display().to_string(),
                detail,
            })
    }

    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        self.ensure_dir()?;
        let path = self.path_of(account)?;
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let write = || -> std::io::Result<()> {
            let mut f = opts.open(&tmp)?;
            f.write_all(tokens.to_json().as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            // The rename is durable only once the folder entry is on disk.
            #[cfg(unix)]
            fs::File::open(&self.dir)?.sync_all()?;
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(&path, e)
        })
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        let path = self.path_of(account)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    fn lock(&self, account: &str) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        lock_file(&self.dir.join(format!("{}.lock", account_key(account)?)))
    }

    fn try_lock(&self, account: &str) -> Result<Option<StoreLock>, StoreError> {
        self.ensure_dir()?;
        try_lock_file(&self.dir.join(format!("{}.lock", account_key(account)?)))
    }

    fn describe(&self) -> String {
        format!("file store {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::TokenSet;
    use crate::secret::Secret;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mailoauth-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn sample() -> TokenSet {
        TokenSet {
            access_token: Secret::new("at-1".into()),
            refresh_token: Some(Secret::new("rt-1".into())),
            expires_at: Some(1_900_000_000),
            scopes: vec!["mail".into()],
            account: Some("alice@example.test".into()),
            obtained_at: 1_800_000_000,
        }
    }

    #[test]
    fn saves_loads_and_deletes_owner_only() {
        let dir = tmpdir("roundtrip");
        let s = FileStore::new(dir.clone());
        assert!(s.load("alice@example.test").unwrap().is_none());
        s.save("alice@example.test", &sample()).unwrap();
        let back = s.load("Alice@example.test").unwrap().unwrap();
        assert_eq!(
            back.refresh_token.as_ref().map(|t| t.expose().as_str()),
            Some("rt-1")
        );
        assert_eq!(back.scopes, ["mail"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = s.path_of("alice@example.test").unwrap();
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                s.load("alice@example.test"),
                Err(StoreError::TooOpen { .. })
            ));
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        }
        s.delete("alice@example.test").unwrap();
        s.delete("alice@example.test").unwrap();
        assert!(s.load("alice@example.test").unwrap().is_none());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_damaged_file_is_reported_without_its_content() {
        let dir = tmpdir("corrupt");
        let s = FileStore::new(dir.clone());
        s.save("bob@example.test", &sample()).unwrap();
        fs::write(
            s.path_of("bob@example.test").unwrap(),
            "{\"secret-stuff\": ",
        )
        .unwrap();
        let e = s.load("bob@example.test").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }));
        assert!(!e.to_string().contains("secret-stuff"));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn the_lock_excludes_a_second_holder() {
        let dir = tmpdir("lock");
        let s = FileStore::new(dir.clone());
        let guard = s.lock("alice@example.test").unwrap();
        let path = dir.join("alice@example.test.lock");
        let other = fs::OpenOptions::new().write(true).open(&path).unwrap();
        assert!(
            fs4::FileExt::try_lock(&other).is_err(),
            "held lock is exclusive"
        );
        drop(guard);
        assert!(fs4::FileExt::try_lock(&other).is_ok(), "released on drop");
        let _ = fs::remove_dir_all(dir);
    }
}
