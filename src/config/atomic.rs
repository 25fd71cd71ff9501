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
//!
//! Symbolic links: a `path` that is a link is followed only when the link belongs to this
//! account or to root (the rule of Linux's `fs.protected_symlinks`); the new file is then written
//! atomically in the **target's** folder, so the link stays and the file it points to gets the
//! new content. A link of another account is refused ([`resolve_link`]).
//!
//! This module also holds the owner and mode checks that every place mailoauth keeps files uses
//! (token folders, the keyring store's lock folder, the log folder) and the lock files with a
//! bounded wait ([`open_lock_file`], [`lock_within`]).

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

/// The file a write to `path` must replace: `path` itself, or the target of the link `path` when
/// the link belongs to this account or root (a link planted by another account is refused, so a
/// root process cannot be steered to overwrite a file the planter could not write).
pub fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // Links to links are followed, each checked, up to a small depth.
    for _ in 0..8 {
        let meta = match fs::symlink_metadata(&current) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            return Ok(current);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let me = euid();
            if meta.uid() != me && meta.uid() != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{} is a symbolic link of another account (uid {}); mailoauth (uid {me}) follows only links of its own account or root: remove the link or write to its target",
                        current.display(),
                        meta.uid()
                    ),
                ));
            }
        }
        let target = fs::read_link(&current)?;
        current = match current.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many symbolic links", path.display()),
    ))
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

/// Whether the process `pid` of a temp file's name is gone (Unix; elsewhere only the age counts).
/// A pid that was reused keeps its temp file until [`STALE_AFTER`].
fn writer_gone(pid: u32) -> bool {
    #[cfg(unix)]
    {
        if pid == std::process::id() {
            return false;
        }
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let rc = unsafe { libc::kill(pid, 0) };
        rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Removes temp files of `target` left by killed writers: those older than [`STALE_AFTER`], and
/// (Unix) those whose writer process no longer exists. Best effort, errors are ignored because
/// a leftover only costs disk space.
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
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        // `<pid>-<n>`: a name of another form is not one of ours.
        let Some(pid) = rest
            .split_once('-')
            .filter(|(p, n)| {
                !p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
            })
            .and_then(|(p, _)| p.parse::<u32>().ok())
        else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old || writer_gone(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `bytes` atomically. With `keep_backup`, the previous content (if any) is
/// first saved, itself atomically, as [`backup_path`].
///
/// When `path` is a symbolic link of this account or root, its target is replaced (in the
/// target's folder, the backup beside the target); a link of another account is refused
/// ([`resolve_link`]). Temp files that killed writers left, of the file and of its backup, are
/// removed.
pub fn write_atomic(path: &Path, bytes: &[u8], keep_backup: bool) -> io::Result<()> {
    let path = &resolve_link(path)?;
    if keep_backup {
        let backup = backup_path(path);
        match fs::read(path) {
            Ok(old) => replace(&backup, &old)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        remove_stale_temps(&backup);
    }
    replace(path, bytes)?;
    sync_dir(path)?;
    remove_stale_temps(path);
    Ok(())
}

/// The effective user id of this process.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// How strictly an existing folder is checked by [`ensure_dir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirRules {
    /// The folder itself may be a symbolic link (its target is checked). Off for folders in
    /// shared places such as `/tmp`, where a link is what an attacker plants.
    pub follow_link: bool,
    /// A folder of root is fine too (for a service account: a folder the admin made for it).
    pub root_may_own: bool,
    /// No access at all for group and others (`0700`); otherwise only their write access counts.
    pub owner_only: bool,
    /// A folder of this account that breaks the rules gets mode `0700` (with a warning) instead
    /// of being refused. Never for a folder of another account, nor for the log folder an admin
    /// pointed at (mailoauth does not change folders it did not make for itself).
    pub repair: bool,
}

/// Creates `dir` (and its missing parents) owner-only, or checks the existing one against
/// `rules`. A refusal is an error of kind `PermissionDenied` whose text names the folder, what
/// is wrong and the fix.
pub fn ensure_dir(dir: &Path, rules: DirRules) -> io::Result<()> {
    let existed = fs::symlink_metadata(dir).is_ok();
    if !existed {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir)?;
    }
    check_dir(dir, rules)
}

/// Checks an existing folder against `rules` (see [`ensure_dir`]).
#[cfg(unix)]
pub fn check_dir(dir: &Path, rules: DirRules) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let refuse = |why: String| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing the folder {}: {why}", dir.display()),
        )
    };
    let lmeta = fs::symlink_metadata(dir)?;
    let meta = if lmeta.file_type().is_symlink() {
        if !rules.follow_link {
            return Err(refuse(String::from(
                "it is a symbolic link, which mailoauth does not follow here; remove it",
            )));
        }
        fs::metadata(dir)?
    } else {
        lmeta
    };
    if !meta.is_dir() {
        return Err(refuse(String::from("it is not a folder")));
    }
    let me = euid();
    let owner = meta.uid();
    if owner != me && !(rules.root_may_own && owner == 0) {
        return Err(refuse(format!(
            "it belongs to another account (uid {owner}), not to this one (uid {me}); remove it, or run mailoauth as its owner"
        )));
    }
    let mode = meta.mode() & 0o7777;
    let bad = if rules.owner_only { 0o077 } else { 0o022 };
    if mode & bad == 0 {
        return Ok(());
    }
    if rules.repair && owner == me {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        tracing::warn!(folder = %dir.display(), old_mode = format!("{:o}", mode & 0o777), "folder was open to other accounts; set to 0700");
        return Ok(());
    }
    let who = if mode & 0o022 != 0 {
        "other accounts may write to it"
    } else {
        "other accounts may read it"
    };
    Err(refuse(format!(
        "{who} (mode {:o}); run chmod 700 on it, or choose another folder",
        mode & 0o777
    )))
}

/// Checks an existing folder (Windows: the ACL is the folder's; nothing to check here).
#[cfg(not(unix))]
pub fn check_dir(dir: &Path, _rules: DirRules) -> io::Result<()> {
    if fs::metadata(dir)?.is_dir() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing the folder {}: it is not a folder", dir.display()),
        ))
    }
}

/// Opens (creating it `0600`) the empty lock file `path` without following a symbolic link, so a
/// link planted under the lock's name cannot make mailoauth create or truncate another file. A
/// lock file of this account that others may open (older versions created them `0644`, and a
/// read-only descriptor is enough to hold a lock) is set back to `0600`.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a FIFO planted under the lock's name must not block the open.
        opts.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path).map_err(|e| {
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the lock file {} is a symbolic link; mailoauth never follows links for lock files: remove it",
                    path.display()
                ),
            )
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the lock file {} is not a regular file: remove it",
                path.display()
            ),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.uid() == euid() && meta.mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// The environment variable bounding every wait for a lock, in seconds (1-3600).
pub const LOCK_WAIT_ENV: &str = "MAILOAUTH_LOCK_WAIT_SECS";

/// How long to wait for a lock: `MAILOAUTH_LOCK_WAIT_SECS` when set (1-3600), else `default`.
pub fn lock_wait(default: std::time::Duration) -> std::time::Duration {
    std::env::var(LOCK_WAIT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map_or(default, std::time::Duration::from_secs)
}

/// The error of a wait for the lock `path` that ran out after `waited`.
pub fn lock_timeout(path: &Path, waited: std::time::Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "another process held the lock {} for more than {} s; if no mailoauth is running, see who holds it with `fuser -v {}` (or set {LOCK_WAIT_ENV} to wait longer)",
            path.display(),
            waited.as_secs(),
            path.display()
        ),
    )
}

/// Takes the exclusive lock on `file` (the lock file `path`), waiting at most `bound`.
pub fn lock_within(file: &File, path: &Path, bound: std::time::Duration) -> io::Result<()> {
    let deadline = std::time::Instant::now() + bound;
    loop {
        match fs4::FileExt::try_lock(file) {
            Ok(()) => return Ok(()),
            Err(fs4::TryLockError::WouldBlock) => {}
            Err(fs4::TryLockError::Error(e)) => return Err(e),
        }
        if std::time::Instant::now() >= deadline {
            return Err(lock_timeout(path, bound));
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
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

    #[test]
    fn leftovers_of_the_backup_write_are_removed_too() {
        let dir = scratch("stale-bak");
        let file = dir.join("m.toml");
        write_atomic(&file, b"one", true).unwrap();
        // A writer killed while it wrote the backup, an hour ago.
        let old = dir.join(".m.toml.bak.tmp-4242-0");
        fs::write(&old, b"partial").unwrap();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        OpenOptions::new()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        write_atomic(&file, b"two", true).unwrap();
        assert!(!old.exists(), "a stale temp of the backup is removed");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fresh_leftover_of_a_writer_that_is_gone_is_removed_at_once() {
        let dir = scratch("gone");
        let file = dir.join("m.toml");
        // A child that has exited and been reaped: its pid names no process (until reused).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let mine = std::process::id();
        let dead = dir.join(format!(".m.toml.bak.tmp-{gone}-3"));
        let dead_main = dir.join(format!(".m.toml.tmp-{gone}-4"));
        let running = dir.join(format!(".m.toml.tmp-{mine}-999"));
        let odd = dir.join(".m.toml.tmp-notapid");
        for p in [&dead, &dead_main, &running, &odd] {
            fs::write(p, b"partial").unwrap();
        }
        write_atomic(&file, b"x", true).unwrap();
        write_atomic(&file, b"y", true).unwrap();
        assert!(
            !dead.exists() && !dead_main.exists(),
            "the dead writer's temps are gone"
        );
        assert!(running.exists(), "a live writer's temp stays");
        assert!(
            odd.exists(),
            "a name mailoauth does not make is not touched"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_of_this_account_is_kept_and_its_target_replaced_in_the_targets_folder() {
        let dir = scratch("link");
        let real_dir = dir.join("managed");
        fs::create_dir_all(&real_dir).unwrap();
        let real = real_dir.join("mailoauth.toml");
        fs::write(&real, b"old").unwrap();
        let link = dir.join("mailoauth.toml");
        std::os::unix::fs::symlink("managed/mailoauth.toml", &link).unwrap();
        write_atomic(&link, b"new", true).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(fs::read(backup_path(&real)).unwrap(), b"old");
        assert!(
            !backup_path(&link).exists(),
            "the backup is beside the target"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_is_never_a_link_and_an_open_one_is_made_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("lock");
        let target = dir.join("target");
        let lock = dir.join("c.toml.lock");
        std::os::unix::fs::symlink(&target, &lock).unwrap();
        let e = open_lock_file(&lock).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!target.exists(), "the link's target was created");
        fs::remove_file(&lock).unwrap();
        fs::write(&lock, b"").unwrap();
        fs::set_permissions(&lock, fs::Permissions::from_mode(0o644)).unwrap();
        let f = open_lock_file(&lock).unwrap();
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        // A held lock is a bounded wait whose error names the lock file.
        let other = open_lock_file(&lock).unwrap();
        lock_within(&f, &lock, std::time::Duration::from_secs(5)).unwrap();
        let e = lock_within(&other, &lock, std::time::Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains(&*lock.to_string_lossy()), "{e}");
        drop(f);
        lock_within(&other, &lock, std::time::Duration::from_secs(5)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn existing_folders_are_checked_and_only_this_accounts_repaired() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("dirs");
        let open = dir.join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
        let strict = DirRules {
            follow_link: false,
            root_may_own: false,
            owner_only: true,
            repair: false,
        };
        let e = ensure_dir(&open, strict).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains(&*open.to_string_lossy()), "{e}");
        let mode = fs::metadata(&open).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777, "a folder that is not repaired keeps its mode");
        ensure_dir(
            &open,
            DirRules {
                repair: true,
                ..strict
            },
        )
        .unwrap();
        let mode = fs::metadata(&open).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        let link = dir.join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        assert!(ensure_dir(&link, strict).is_err(), "a link is refused");
        let made = dir.join("a/b");
        ensure_dir(&made, strict).unwrap();
        let mode = fs::metadata(&made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "a folder mailoauth makes is owner-only");
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
