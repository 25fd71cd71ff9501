//! The token service's part of `mailoauth setup`: which OS accounts read the account's token
//! (`readers`, checked as typed against this machine's user and group databases), the check that
//! the service runs, reads this config and takes tokens from this user before the sign-in starts,
//! and the words of a refused hand-over.

use super::super::exit::{EX_CONFIG, EX_NOPERM, EX_UNAVAILABLE};
use mailoauth::service::client::{self, ClientError};
use mailoauth::service::protocol::Request;
use std::path::Path;

/// Checks one `readers` entry typed by the admin: an OS user name, or `group:NAME`, that exists
/// on this machine. The error names the field and the fix.
pub fn check_reader(entry: &str) -> Result<String, String> {
    let entry = entry.trim();
    let (name, group) = match entry.strip_prefix("group:") {
        Some(g) => (g.trim(), true),
        None => (entry, false),
    };
    if name.is_empty() || name.chars().any(|c| c.is_control() || c == ',' || c == ':') {
        return Err(format!(
            "Reader {entry:?}: give the OS user the mail service runs as (e.g. lp), or group:NAME for a group."
        ));
    }
    let what = if group { "group" } else { "user" };
    match exists(name, group) {
        Ok(true) => Ok(if group {
            format!("group:{name}")
        } else {
            name.to_string()
        }),
        Ok(false) => Err(format!(
            "Reader {entry:?}: there is no OS {what} {name:?} on this machine; give the {what} the mail service runs as ({}), or create it first.",
            if group {
                "`getent group` lists the groups"
            } else {
                "`ps -o user= -p <pid of the mail service>` shows it; group:NAME for a group"
            }
        )),
        Err(e) => Err(format!("Reader {entry:?}: the {what} database cannot be read: {e}")),
    }
}

/// Whether the user (or group) `name` exists in this machine's databases (NSS included).
#[cfg(unix)]
fn exists(name: &str, group: bool) -> Result<bool, String> {
    let Ok(cname) = std::ffi::CString::new(name) else {
        return Ok(false);
    };
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: passwd/group are plain data; the _r functions write into them and into `buf` (of
    // the given size) and set `result` to the record or null. Nothing is read from them after.
    let (rc, found) = unsafe {
        if group {
            let mut rec: libc::group = std::mem::zeroed();
            let mut result: *mut libc::group = std::ptr::null_mut();
            let rc = libc::getgrnam_r(
                cname.as_ptr(),
                &mut rec,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            );
            (rc, !result.is_null())
        } else {
            let mut rec: libc::passwd = std::mem::zeroed();
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwnam_r(
                cname.as_ptr(),
                &mut rec,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            );
            (rc, !result.is_null())
        }
    };
    match rc {
        0 => Ok(found),
        // "Not found" spelled as an error by some NSS back ends.
        libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => Ok(false),
        e => Err(std::io::Error::from_raw_os_error(e).to_string()),
    }
}

/// Whether the account `name` exists (`LookupAccountNameW`, the service's own resolution, so a
/// name setup accepts is one the service can put in the pipe's security descriptor).
#[cfg(windows)]
fn exists(name: &str, group: bool) -> Result<bool, String> {
    let entry = if group {
        format!("group:{name}")
    } else {
        name.to_string()
    };
    Ok(mailoauth::service::windows::identity::reader_sid(&entry).is_ok())
}

#[cfg(not(any(unix, windows)))]
fn exists(_: &str, _: bool) -> Result<bool, String> {
    Ok(true)
}

/// Who may hand tokens to the service, for the messages.
pub const WHO_MANAGES: &str = "only root and members of the group `mailoauth` may hand tokens to the mailoauth service: run mailoauth setup as root (sudo), or have an admin add this user to the group (usermod -aG mailoauth USER, then log in again)";

/// A reason to stop before the sign-in, with its exit status.
pub struct Stopped {
    pub message: String,
    pub status: u8,
}

/// The path as the service would have been given it, for comparing: the folder resolved, the
/// file name kept (the file may not exist yet).
fn comparable(path: &Path) -> std::path::PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(file)) => dir
            .canonicalize()
            .map(|d| d.join(file))
            .unwrap_or_else(|_| abs.clone()),
        _ => abs,
    }
}

/// Before the sign-in: the service answers on `socket`, reads the config at `config`, and takes
/// tokens from this user. Each failure says what to do, so no sign-in is wasted.
pub async fn preflight(socket: &Path, config: &Path) -> Result<(), Stopped> {
    let start_it = format!(
        "start it first: sudo mailoauth service install (installs and starts it), or, without a service manager, mailoauth service run --config {} in the foreground; mailoauth service status shows it",
        config.display()
    );
    let status = Request::Status;
    let view = match client::ask(socket, &status, client::wait_for(&status)).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return Err(Stopped {
                message: format!("the mailoauth service on {}: {}", socket.display(), e.message),
                status: EX_UNAVAILABLE,
            })
        }
        Err(e @ ClientError::NotRunning { .. }) => {
            return Err(Stopped {
                message: format!(
                    "{e}. The account's readers get its token from the service: {start_it}. Nothing was started."
                ),
                status: EX_UNAVAILABLE,
            })
        }
        Err(e) => {
            return Err(Stopped {
                message: format!("{e}. Nothing was started."),
                status: EX_UNAVAILABLE,
            })
        }
    };
    if let Some(theirs) = view["config"].as_str() {
        if comparable(Path::new(theirs)) != comparable(config) {
            return Err(Stopped {
                message: format!(
                    "the mailoauth service on {} reads the config {theirs}, not {}: give --config {theirs} (the account must be in the service's config). Nothing was started.",
                    socket.display(),
                    config.display()
                ),
                status: EX_CONFIG,
            });
        }
    }
    // Only managers may reload: the cheapest question that tells whether the hand-over after
    // the sign-in will be taken (a reload re-reads the config the service watches anyway).
    let reload = Request::Reload;
    match client::ask(socket, &reload, client::wait_for(&reload)).await {
        Ok(Err(e)) if e.code == "refused" => Err(Stopped {
            message: format!("{}. {WHO_MANAGES}. Nothing was started.", e.message),
            status: EX_NOPERM,
        }),
        _ => Ok(()),
    }
}

/// The message and exit status of a hand-over the service did not take, after the save.
pub fn refused_handover(detail: &str, name: &str, reauthorize: &str) -> Stopped {
    let refused = detail.contains("may not manage");
    let mut message = format!(
        "the account {name:?} is saved, but the mailoauth service did not take its tokens: {detail}."
    );
    if refused {
        message.push_str(&format!(" {WHO_MANAGES}."));
    }
    message.push_str(&format!(
        " The tokens of this sign-in are discarded; then run: {reauthorize}"
    ));
    Stopped {
        message,
        status: if refused { EX_NOPERM } else { EX_UNAVAILABLE },
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn readers_must_exist_on_this_machine() {
        assert_eq!(check_reader(" root ").unwrap(), "root");
        assert_eq!(check_reader("group:root").unwrap(), "group:root");
        let e = check_reader("no-such-user-mailoauth").unwrap_err();
        assert!(
            e.starts_with("Reader \"no-such-user-mailoauth\": there is no OS user"),
            "{e}"
        );
        let e = check_reader("group:no-such-group-mailoauth").unwrap_err();
        assert!(e.contains("there is no OS group"), "{e}");
        assert!(check_reader("group:").unwrap_err().contains("group:NAME"));
    }
}
