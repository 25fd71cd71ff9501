//! Who is asking: the peer's OS identity from the socket's credentials, its groups, and the
//! readers rule.

/// The name of the OS group whose members manage the service (Linux, macOS).
pub const MANAGER_GROUP: &str = "mailoauth";

/// The OS identity of a peer on the service's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The OS user name (or the uid in decimal when it has no name).
    pub user: String,
    /// The uid (Unix).
    pub uid: Option<u32>,
    /// The names of the user's groups, from the group database now.
    pub groups: Vec<String>,
    /// May manage the service: root, a member of [`MANAGER_GROUP`], or the service's own account.
    pub is_manager: bool,
}

/// True when `peer` may read the token of an account whose readers are `readers`: a manager, a
/// user named in `readers`, or a member of a `group:<name>` named there. On Windows the peer's
/// user and groups are SIDs (src/service/windows/server.rs), and each reader is resolved to its
/// SID (`DOMAIN\user`, `NT SERVICE\Name`, `group:NAME` or a SID as written).
pub fn may_read(peer: &PeerIdentity, readers: &[String]) -> bool {
    peer.is_manager
        || readers.iter().any(|r| {
            (match r.trim().strip_prefix("group:") {
                Some(group) => peer.groups.iter().any(|g| g == group.trim()),
                None => r.trim() == peer.user,
            }) || reader_sid_matches(peer, r)
        })
}

#[cfg(windows)]
fn reader_sid_matches(peer: &PeerIdentity, reader: &str) -> bool {
    match super::windows::identity::reader_sid(reader) {
        Ok(sid) if reader.trim().starts_with("group:") => peer.groups.contains(&sid),
        Ok(sid) => peer.user == sid,
        Err(_) => false,
    }
}

#[cfg(not(windows))]
fn reader_sid_matches(_peer: &PeerIdentity, _reader: &str) -> bool {
    false
}

/// The peer with `uid`, looked up in the user and group databases; `service_uid` is the
/// service's own account (a manager too, for the non-root mode).
#[cfg(unix)]
pub fn of_uid(uid: u32, service_uid: u32) -> PeerIdentity {
    let (user, gid) = user_of(uid).unwrap_or_else(|| (uid.to_string(), None));
    let groups = match gid {
        Some(gid) => groups_of(&user, gid),
        None => Vec::new(),
    };
    let is_manager = uid == 0 || uid == service_uid || groups.iter().any(|g| g == MANAGER_GROUP);
    PeerIdentity {
        user,
        uid: Some(uid),
        groups,
        is_manager,
    }
}

/// The user name and primary group of `uid`.
#[cfg(unix)]
fn user_of(uid: u32) -> Option<(String, Option<u32>)> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; getpwuid_r writes into `pwd` and `buf` (of the given size)
    // and sets `result` to &pwd or null; the strings it points to live in `buf`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_string_lossy()
            .into_owned();
        Some((name, Some(pwd.pw_gid)))
    }
}

/// The names of the groups of `user` (primary `gid` included), from the group database.
#[cfg(unix)]
fn groups_of(user: &str, gid: u32) -> Vec<String> {
    let Ok(cname) = std::ffi::CString::new(user) else {
        return Vec::new();
    };
    let mut n: libc::c_int = 64;
    let mut gids: Vec<libc::gid_t> = Vec::new();
    for _ in 0..8 {
        gids = vec![0; n as usize];
        let mut count = n;
        // SAFETY: `gids` has room for `count` entries; getgrouplist writes at most that many and
        // sets `count` to the number it needs.
        #[cfg(target_os = "macos")]
        let rc = unsafe {
            libc::getgrouplist(
                cname.as_ptr(),
                gid as libc::c_int,
                gids.as_mut_ptr().cast(),
                &mut count,
            )
        };
        #[cfg(not(target_os = "macos"))]
        let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, gids.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            gids.truncate(count.max(0) as usize);
            break;
        }
        n = count.max(n * 2);
        gids.clear();
    }
    gids.into_iter().filter_map(group_name).collect()
}

#[cfg(unix)]
fn group_name(gid: libc::gid_t) -> Option<String> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: as in user_of, for getgrgid_r.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrgid_r(
            gid,
            &mut grp,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || grp.gr_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(grp.gr_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(user: &str, groups: &[&str]) -> PeerIdentity {
        PeerIdentity {
            user: user.into(),
            uid: Some(1000),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            is_manager: false,
        }
    }

    #[test]
    fn readers_name_users_and_groups() {
        let readers = vec!["lp".to_string(), "group:mail".to_string()];
        assert!(may_read(&peer("lp", &[]), &readers));
        assert!(may_read(&peer("postfix", &["mail"]), &readers));
        assert!(!may_read(&peer("mallory", &["users"]), &readers));
        // A user called like a group is not the group.
        assert!(!may_read(&peer("mail", &[]), &readers));
        let mut m = peer("root", &[]);
        m.is_manager = true;
        assert!(may_read(&m, &[]));
    }

    #[cfg(unix)]
    #[test]
    fn root_is_found_and_manages() {
        let p = of_uid(0, 12345);
        assert_eq!(p.user, "root");
        assert!(p.is_manager);
        assert!(p.groups.iter().any(|g| g == "root"));
    }
}
