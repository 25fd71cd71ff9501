//! [`FileStore`]: tokens as one JSON file per account, for services that run as another account.
//!
//! On Unix the folder is created `0700` and each file `0600`. What is found there is checked,
//! not trusted: an existing folder must belong to this account (or root) and be writable by no
//! one else (a folder of this account that others may write is set back to `0700`, with a
//! warning; one of another account is refused), and a token file must belong to this account
//! and be readable by no one else, or it is refused with a message naming it. Writes go to a temporary file that is synced and renamed over the
//! old one, so a crash leaves either the old or the new tokens, never half of each.
//!
//! Windows: the content is sealed with DPAPI for the account that saves it ([`super::dpapi`]),
//! behind a first line [`DPAPI_MARKER`], so only that account can read the tokens. The file
//! itself inherits the folder's ACL: `docs/SECURITY.md` gives the `icacls` line that restricts
//! the folder to the service account. A file without the marker is plain JSON, as written on
//! Unix; Windows refuses it ([`StoreError::Unsealed`]). A sealed file read anywhere else than by
//! its account on its machine gives [`StoreError::Unprotect`] or [`StoreError::WindowsOnly`].

use super::TokenSet;
use super::{account_key, lock_file, try_lock_file, StoreError, StoreLock, TokenStore};
use std::fs;
use std::path::{Path, PathBuf};

/// The first line of a token file sealed with Windows DPAPI; the second is the blob in base64.
pub const DPAPI_MARKER: &str = "mailoauth-dpapi-v1";

/// What a token file holds, told apart by its first line.
#[derive(Debug, PartialEq, Eq)]
enum Envelope {
    /// The token JSON itself (Unix; or a file copied from there).
    Plain(String),
    /// A DPAPI blob of the token JSON.
    Dpapi(Vec<u8>),
}

fn parse_envelope(text: String) -> Result<Envelope, String> {
    let Some(rest) = text.strip_prefix("mailoauth-dpapi-") else {
        return Ok(Envelope::Plain(text));
    };
    let body = rest
        .strip_prefix("v1\r\n")
        .or_else(|| rest.strip_prefix("v1\n"))
        .ok_or_else(|| String::from("sealed in a format of a newer mailoauth"))?;
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(body.trim_end())
        .map(Envelope::Dpapi)
        .map_err(|_| String::from("the sealed data is not valid base64"))
}

#[cfg(any(windows, test))]
fn dpapi_envelope(blob: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    format!("{DPAPI_MARKER}\n{b64}\n")
}

/// The file content for `json`: sealed with DPAPI on Windows, the JSON itself elsewhere.
#[cfg(windows)]
fn seal(path: &Path, json: String) -> Result<String, StoreError> {
    super::dpapi::protect(json.as_bytes())
        .map(|blob| dpapi_envelope(&blob))
        .map_err(|e| io_err(path, e))
}

#[cfg(not(windows))]
fn seal(_path: &Path, json: String) -> Result<String, StoreError> {
    Ok(json)
}

/// The token JSON of a sealed file, for the account that sealed it.
#[cfg(windows)]
fn unseal(path: &Path, blob: &[u8]) -> Result<String, StoreError> {
    let plain = super::dpapi::unprotect(blob).map_err(|e| StoreError::Unprotect {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    String::from_utf8(plain).map_err(|_| StoreError::Corrupt {
        path: path.display().to_string(),
        detail: String::from("the unsealed data is not text"),
    })
}

#[cfg(not(windows))]
fn unseal(path: &Path, _blob: &[u8]) -> Result<String, StoreError> {
    Err(StoreError::WindowsOnly {
        path: path.display().to_string(),
    })
}

/// The content to write for a secret file mailoauth keeps beside the tokens (a client secret):
/// sealed with DPAPI on Windows, the text itself elsewhere.
pub(crate) fn seal_secret_file(path: &Path, text: &str) -> Result<String, StoreError> {
    seal(path, text.to_string())
}

/// The text of a secret file that is either sealed by [`seal_secret_file`] or plain, as an
/// admin writes a client secret file by hand (both are accepted, unlike token files).
pub(crate) fn open_secret_file(path: &Path, content: String) -> Result<String, StoreError> {
    match parse_envelope(content).map_err(|detail| StoreError::Corrupt {
        path: path.display().to_string(),
        detail,
    })? {
        Envelope::Plain(text) => Ok(text),
        Envelope::Dpapi(blob) => unseal(path, &blob),
    }
}

/// A plain JSON token file: the normal form on Unix. On Windows every file mailoauth writes is
/// sealed, so a plain one was put there by someone else (copied from Unix, or written by another
/// account that may write the folder to substitute its own tokens) and is refused.
#[cfg(windows)]
fn accept_plain(path: &Path, _json: String) -> Result<String, StoreError> {
    Err(StoreError::Unsealed {
        path: path.display().to_string(),
    })
}

#[cfg(not(windows))]
fn accept_plain(_path: &Path, json: String) -> Result<String, StoreError> {
    Ok(json)
}

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

    /// Creates the folder owner-only, or checks the existing one ([`FOLDER_RULES`]).
    fn ensure_dir(&self) -> Result<(), StoreError> {
        crate::config::atomic::ensure_dir(&self.dir, FOLDER_RULES)
            .map_err(|e| super::fs_err(&self.dir, e))
    }
}

/// The token folder: this account's (or root's, for a folder the admin made for a service),
/// writable by no one else; a folder of this account that others may write is repaired. A link
/// to a folder is fine (the admin made it; the target is checked).
pub(crate) const FOLDER_RULES: crate::config::atomic::DirRules = crate::config::atomic::DirRules {
    follow_link: true,
    root_may_own: true,
    owner_only: false,
    repair: true,
};

/// Refuses a token file that another account owns or that others may read, checked on the open
/// file itself (no swap between check and read).
#[cfg(unix)]
fn check_private(path: &Path, file: &fs::File) -> Result<(), StoreError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = file.metadata().map_err(|e| io_err(path, e))?;
    if !meta.is_file() {
        return Err(StoreError::Unsafe {
            path: path.display().to_string(),
            detail: String::from("not a regular file; remove it and authorize again"),
        });
    }
    let me = crate::config::atomic::euid();
    if meta.uid() != me {
        return Err(StoreError::Unsafe {
            path: path.display().to_string(),
            detail: format!(
                "the token file belongs to another account (uid {}), not to this one (uid {me}); another account may have put it there: remove it and authorize again as this account",
                meta.uid()
            ),
        });
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(StoreError::TooOpen {
            path: path.display().to_string(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &fs::File) -> Result<(), StoreError> {
    Ok(())
}

impl TokenStore for FileStore {
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError> {
        let path = self.path_of(account)?;
        if self.dir.exists() {
            self.ensure_dir()?;
        }
        let mut opts = fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            // A FIFO planted under the file's name must not block the open; it is then refused
            // as not a regular file.
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NONBLOCK);
        }
        let mut file = match opts.open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        check_private(&path, &file)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| io_err(&path, e))?;
        let corrupt = |detail| StoreError::Corrupt {
            path: path.display().to_string(),
            detail,
        };
        let json = match parse_envelope(text).map_err(corrupt)? {
            Envelope::Plain(json) => accept_plain(&path, json)?,
            Envelope::Dpapi(blob) => unseal(&path, &blob)?,
        };
        TokenSet::from_json(&json).map(Some).map_err(corrupt)
    }

    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        self.ensure_dir()?;
        let path = self.path_of(account)?;
        let content = seal(&path, tokens.to_json())?;
        // The config's atomic writer: an owner-only temp file of this writer's own, synced and
        // renamed over the old file, the folder synced; temp files of killed writers are
        // removed once stale.
        crate::config::atomic::write_atomic(&path, content.as_bytes(), false)
            .map_err(|e| io_err(&path, e))
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

    fn lock_location(&self, account: &str) -> String {
        match account_key(account) {
            Ok(key) => self.dir.join(format!("{key}.lock")).display().to_string(),
            Err(_) => self.describe(),
        }
    }

    fn describe(&self) -> String {
        if cfg!(windows) {
            format!("file store {} (DPAPI, this account)", self.dir.display())
        } else {
            format!("file store {}", self.dir.display())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenSet;
    use super::*;
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

    #[cfg(unix)]
    #[test]
    fn a_fifo_under_the_token_files_name_is_refused_not_waited_on() {
        let dir = tmpdir("fifo");
        let s = FileStore::new(dir.clone());
        s.save("dave@example.test", &sample()).unwrap();
        let path = s.path_of("dave@example.test").unwrap();
        fs::remove_file(&path).unwrap();
        let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = s.load("dave@example.test").unwrap_err();
        assert!(matches!(e, StoreError::Unsafe { .. }), "{e:?}");
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_save_leaves_only_the_token_file_and_clears_a_killed_writers_leftover() {
        let dir = tmpdir("leftover");
        let s = FileStore::new(dir.clone());
        s.save("carol@example.test", &sample()).unwrap();
        let file = s.path_of("carol@example.test").unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // A writer killed between creating its temp file and the rename, an hour ago.
        let leftover = dir.join(format!(".{name}.tmp-4242-0"));
        fs::write(&leftover, b"{\"access_token\": \"par").unwrap();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::OpenOptions::new()
            .write(true)
            .open(&leftover)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        s.save("carol@example.test", &sample()).unwrap();
        assert!(!leftover.exists(), "the stale temp file is removed");
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".lock"))
            .collect();
        assert_eq!(names, [name], "nothing but the token file");
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
        // On Windows a file without the DPAPI line is refused before it is parsed.
        if cfg!(windows) {
            assert!(matches!(e, StoreError::Unsealed { .. }), "{e:?}");
        } else {
            assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        }
        assert!(!e.to_string().contains("secret-stuff"));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn the_first_line_tells_sealed_files_from_plain_json() {
        let json = sample().to_json();
        assert_eq!(
            parse_envelope(json.clone()),
            Ok(Envelope::Plain(json.clone()))
        );
        let blob = vec![0u8, 1, 2, 250, 251, 252];
        let sealed = dpapi_envelope(&blob);
        assert!(sealed.starts_with("mailoauth-dpapi-v1\n"));
        assert_eq!(
            parse_envelope(sealed.clone()),
            Ok(Envelope::Dpapi(blob.clone()))
        );
        // Notepad on Windows may have turned the line ends into CRLF.
        let crlf = sealed.replace('\n', "\r\n");
        assert_eq!(parse_envelope(crlf), Ok(Envelope::Dpapi(blob)));
        assert!(parse_envelope("mailoauth-dpapi-v1\n!!not base64!!\n".into()).is_err());
        let newer = parse_envelope("mailoauth-dpapi-v2\nAAAA\n".into()).unwrap_err();
        assert!(newer.contains("newer"), "{newer}");
    }

    #[cfg(not(windows))]
    #[test]
    fn a_file_sealed_on_windows_is_refused_elsewhere_with_the_reason() {
        let dir = tmpdir("sealed");
        let s = FileStore::new(dir.clone());
        s.save("carol@example.test", &sample()).unwrap();
        let path = s.path_of("carol@example.test").unwrap();
        assert!(fs::read_to_string(&path).unwrap().starts_with('{'));
        fs::write(&path, dpapi_envelope(b"opaque-blob")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let e = s.load("carol@example.test").unwrap_err();
        assert!(matches!(e, StoreError::WindowsOnly { .. }), "{e:?}");
        assert!(e.to_string().contains("DPAPI"), "{e}");
        let _ = fs::remove_dir_all(dir);
    }

    #[cfg(windows)]
    #[test]
    fn on_windows_the_file_is_sealed_and_plain_json_is_refused() {
        let dir = tmpdir("dpapi");
        let s = FileStore::new(dir.clone());
        s.save("carol@example.test", &sample()).unwrap();
        let path = s.path_of("carol@example.test").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("mailoauth-dpapi-v1\n"), "{text}");
        assert!(!text.contains("rt-1") && !text.contains("at-1"));
        let back = s.load("carol@example.test").unwrap().unwrap();
        assert_eq!(back.access_token.expose(), "at-1");
        // A plain JSON file (copied from Unix, or substituted by another account) is refused.
        fs::write(&path, sample().to_json()).unwrap();
        assert!(matches!(
            s.load("carol@example.test"),
            Err(StoreError::Unsealed { .. })
        ));
        // A sealed file that this account cannot unseal names DPAPI and the fix.
        fs::write(&path, dpapi_envelope(b"not sealed by this account")).unwrap();
        let e = s.load("carol@example.test").unwrap_err();
        assert!(matches!(e, StoreError::Unprotect { .. }), "{e:?}");
        assert!(e.to_string().contains("account"), "{e}");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn secret_files_may_be_plain_or_sealed_by_this_account() {
        let p = Path::new("scan.client-secret");
        assert_eq!(
            open_secret_file(p, String::from("typed-by-hand\n")).unwrap(),
            "typed-by-hand\n"
        );
        let sealed = seal_secret_file(p, "kept-secret").unwrap();
        assert_eq!(open_secret_file(p, sealed.clone()).unwrap(), "kept-secret");
        if cfg!(windows) {
            assert!(sealed.starts_with("mailoauth-dpapi-v1\n") && !sealed.contains("kept-secret"));
        } else {
            assert_eq!(sealed, "kept-secret");
            let e = open_secret_file(p, dpapi_envelope(b"blob")).unwrap_err();
            assert!(matches!(e, StoreError::WindowsOnly { .. }), "{e:?}");
        }
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
