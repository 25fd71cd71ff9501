//! Who reads an account's token from the token service (`readers` in the config): the OS
//! accounts the wizard's purpose screen asks for, checked as they are typed.
//!
//! An entry is an OS user name (`lp`) or `group:NAME`. On Unix each must exist on this machine
//! (the user and group databases, `getpwnam_r`/`getgrnam_r`); elsewhere only its shape is
//! checked (Windows accounts are resolved by the service when it builds its pipe's descriptor).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The field's name as the wizard shows it; every message starts with it.
pub const FIELD: &str = "OS account that runs the mail service";

/// What the check of the typed readers found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReadersCheck {
    /// The entries, cleaned (split at commas and blanks, trimmed); empty: the admin's own store.
    pub readers: Vec<String>,
    /// Why they cannot be used (naming the field and the fix), or none when they can.
    pub problem: Option<String>,
}

/// Splits what was typed into entries: commas and blanks separate them.
pub fn split(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks each entry of `readers`: the first that cannot be used, in words, or none.
pub fn problem(readers: &[String]) -> Option<String> {
    readers.iter().find_map(|r| entry_problem(r.trim()))
}

/// [`split`] then [`problem`], for the wizard's field as typed.
pub fn check(text: &str) -> ReadersCheck {
    let readers = split(text);
    let problem = problem(&readers);
    ReadersCheck { readers, problem }
}

fn entry_problem(entry: &str) -> Option<String> {
    let (kind, name) = match entry.strip_prefix("group:") {
        Some(g) => ("group", g.trim()),
        None => ("user", entry),
    };
    if name.is_empty() {
        return Some(format!(
            "{FIELD}: \"group:\" needs a group name after it, for example group:lp"
        ));
    }
    let bad = |c: char| c.is_control() || c == ':' || c == '/' || c == '"' || c == '\'';
    if cfg!(unix) && (name.contains(bad) || name.contains('\\')) {
        return Some(format!(
            "{FIELD}: {entry:?} is not a {kind} name; enter the {kind} the mail service runs as, for example {}",
            if kind == "group" { "group:lp" } else { "lp" }
        ));
    }
    if !exists(kind == "group", name) {
        return Some(if kind == "group" {
            format!(
                "{FIELD}: there is no group {name:?} on this computer; create it (groupadd {name}) or enter an existing group, or a user name without \"group:\""
            )
        } else {
            format!(
                "{FIELD}: there is no user {name:?} on this computer; enter the user the mail service runs as, group:NAME for a group, or leave the field empty to keep the tokens in your own keyring"
            )
        });
    }
    None
}

/// True when the user (or group) `name` exists on this machine.
#[cfg(unix)]
fn exists(group: bool, name: &str) -> bool {
    let Ok(cname) = std::ffi::CString::new(name) else {
        return false;
    };
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd and group are plain data; the *_r functions write into them and into `buf`
    // (of the given size) and set `result` to the struct or to null; nothing is read after.
    unsafe {
        if group {
            let mut grp: libc::group = std::mem::zeroed();
            let mut result: *mut libc::group = std::ptr::null_mut();
            let rc = libc::getgrnam_r(
                cname.as_ptr(),
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            );
            rc == 0 && !result.is_null()
        } else {
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            );
            rc == 0 && !result.is_null()
        }
    }
}

/// Not looked up here on this platform: the service resolves the names (Windows: to SIDs).
#[cfg(not(unix))]
fn exists(_group: bool, _name: &str) -> bool {
    true
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_of_this_machine_pass_and_others_are_named_with_the_fix() {
        // root and its group exist on every Unix machine.
        assert_eq!(
            check(" root, group:root "),
            ReadersCheck {
                readers: vec!["root".into(), "group:root".into()],
                problem: None
            }
        );
        assert_eq!(check("  ").readers, Vec::<String>::new());
        assert_eq!(check("").problem, None);
        let missing = check("root nosuchuser-mailoauth").problem.unwrap();
        assert!(
            missing.starts_with(FIELD)
                && missing.contains("no user \"nosuchuser-mailoauth\"")
                && missing.contains("leave the field empty"),
            "{missing}"
        );
        let group = check("group:nosuchgroup-mailoauth").problem.unwrap();
        assert!(
            group.starts_with(FIELD) && group.contains("groupadd nosuchgroup-mailoauth"),
            "{group}"
        );
        let empty = check("group:").problem.unwrap();
        assert!(empty.contains("needs a group name"), "{empty}");
        let shape = check("lp/x").problem.unwrap();
        assert!(shape.contains("is not a user name"), "{shape}");
    }
}
