//! Crash-safe file replacement.
//!
//! A reader (a service, a second mailoauth) must only ever see the old file or the new one, even
//! when mailoauth is killed or the machine loses power mid-write: the new content goes to a temp
//! file in the same folder (so the rename stays on one file system), is flushed and synced, and is
//! renamed over the old file; the folder is synced so the rename itself survives a power loss.
//!
//! Permissions: on Unix every file written here is created `0600` (owner only) before any byte is
//! written. On Windows the file inherits the folder's ACL; `docs/CONFIG.md` gives the `icacls` line
//! that restricts `%ProgramData%\mailoauth` to SYSTEM and Administrators (setting the ACL from
//! mailoauth itself is not built yet).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The backup of `path`: the same name with `.bak` appended (`mailoauth.toml.bak`).
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// A temp file name beside `path` that no other writer (thread or process) uses.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Syncs the folder holding `path`, so a rename in it is durable. A no-op where folders cannot
/// be opened (Windows), where `MoveFileEx` with write-through is what the rename already does.
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `bytes` to a fresh temp file beside `target`, syncs it and renames it over `target`.
fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(target);
    let result = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        // Best effort: a leftover temp file is harmless but untidy.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Temp files older than this are leftovers of a writer that was killed: no write takes so long.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes temp files of `target` left by killed writers; best effort, errors are ignored
/// because a leftover only costs disk space.
fn remove_stale_temps(target: &Path) {
    let Some(name) = target.file_name() else {
        return;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if stale && entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `bytes` atomically. With `keep_backup`, the previous content (if any) is
/// first saved, itself atomically, as [`backup_path`].
pub fn write_atomic(path: &Path, bytes: &[u8], keep_backup: bool) -> io::Result<()> {
    if keep_backup {
        match fs::read(path) {
            Ok(old) => replace(&backup_path(path), &old)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    replace(path, bytes)?;
    sync_dir(path)?;
    remove_stale_temps(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mailoauth-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_keeps_a_backup_and_leaves_no_temp_files() {
        let dir = scratch("replace");
        let file = dir.join("mailoauth.toml");
        write_atomic(&file, b"one", true).unwrap();
        assert!(!backup_path(&file).exists());
        write_atomic(&file, b"two", true).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&file)).unwrap(), b"one");
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leftovers_of_killed_writers_are_removed_once_stale() {
        let dir = scratch("stale");
        let file = dir.join("m.toml");
        let old = dir.join(".m.toml.tmp-1-0");
        let fresh = dir.join(".m.toml.tmp-2-0");
        let other = dir.join(".other.toml.tmp-1-0");
        for p in [&old, &fresh, &other] {
            fs::write(p, b"partial").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for p in [&old, &other] {
            let f = OpenOptions::new().write(true).open(p).unwrap();
            f.set_modified(long_ago).unwrap();
        }
        write_atomic(&file, b"new", true).unwrap();
        assert!(!old.exists(), "a stale temp of this file is removed");
        assert!(
            fresh.exists(),
            "a temp that may belong to a running writer stays"
        );
        assert!(other.exists(), "another file's temp is not touched");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("perm");
        let file = dir.join("c.toml");
        write_atomic(&file, b"a", true).unwrap();
        write_atomic(&file, b"b", true).unwrap();
        for p in [file.clone(), backup_path(&file)] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_error_not_a_partial_file() {
        let dir = scratch("missing");
        let file = dir.join("nope").join("c.toml");
        assert!(write_atomic(&file, b"a", true).is_err());
        assert!(!file.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
