//! Who is on the other end of the pipe, from Windows tokens.
//!
//! The server identifies a client by impersonating it (`ImpersonateNamedPipeClient`, then
//! `OpenThreadToken`), never by its process id, which can be reused. Clients connect with the
//! identification-level security QoS, which is enough for the server to read the token but not
//! to act as the client. A client checks the server the other way round: the process behind the
//! pipe (`GetNamedPipeServerProcessId`) must run as the service's account.

use std::io;
use std::os::windows::io::AsRawHandle;
use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{
    GetTokenInformation, RevertToSelf, TokenGroups, TokenUser, PSID, SID_AND_ATTRIBUTES,
    SID_NAME_USE, TOKEN_GROUPS, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::System::Pipes::{GetNamedPipeServerProcessId, ImpersonateNamedPipeClient};
use windows_sys::Win32::System::SystemServices::{SE_GROUP_ENABLED, SE_GROUP_USE_FOR_DENY_ONLY};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThread, OpenProcess, OpenProcessToken, OpenThreadToken,
    PROCESS_QUERY_LIMITED_INFORMATION,
};

/// A client's (or the server's) identity, from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// The token's user SID (`S-1-5-...`).
    pub user_sid: String,
    /// The enabled group SIDs (deny-only groups left out: UAC's filtered Administrators
    /// is deny-only in an unelevated admin's token, so it does not count).
    pub group_sids: Vec<String>,
}

impl TokenIdentity {
    /// Whether the token holds enabled BUILTIN\Administrators (an elevated administrator) or
    /// is SYSTEM: the managers of the service.
    pub fn is_manager(&self) -> bool {
        self.user_sid == super::sddl::SYSTEM
            || self
                .group_sids
                .iter()
                .any(|g| g == super::sddl::ADMINISTRATORS)
    }
}

struct Handle(HANDLE);
impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by this module and is closed once.
        unsafe { CloseHandle(self.0) };
    }
}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn sid_string(sid: PSID) -> io::Result<String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` points into a token information buffer that outlives this call; the string
    // Windows allocates is freed with LocalFree below.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(last_error("ConvertSidToStringSidW"));
    }
    // SAFETY: a NUL-terminated UTF-16 string from Windows.
    let len = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
    // SAFETY: `len` units were just counted.
    let s = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, len) });
    // SAFETY: allocated by ConvertSidToStringSidW.
    unsafe { LocalFree(text.cast()) };
    Ok(s)
}

fn token_info(token: HANDLE, class: i32) -> io::Result<Vec<u64>> {
    let mut len = 0u32;
    // SAFETY: a size query with no buffer.
    unsafe { GetTokenInformation(token, class, std::ptr::null_mut(), 0, &mut len) };
    if len == 0 {
        return Err(last_error("GetTokenInformation"));
    }
    // u64 elements: the buffer is aligned for the structures Windows writes into it.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: the buffer holds at least `len` bytes.
    if unsafe { GetTokenInformation(token, class, buf.as_mut_ptr().cast(), len, &mut len) } == 0 {
        return Err(last_error("GetTokenInformation"));
    }
    Ok(buf)
}

/// The identity in an open token.
pub fn of_token(token: HANDLE) -> io::Result<TokenIdentity> {
    let user = token_info(token, TokenUser)?;
    // SAFETY: GetTokenInformation(TokenUser) wrote a TOKEN_USER at the start of the buffer.
    let user_sid = sid_string(unsafe { (*(user.as_ptr() as *const TOKEN_USER)).User.Sid })?;
    let groups = token_info(token, TokenGroups)?;
    let groups = groups.as_ptr() as *const TOKEN_GROUPS;
    // SAFETY: a TOKEN_GROUPS with GroupCount entries follows, inside the buffer.
    let entries: &[SID_AND_ATTRIBUTES] = unsafe {
        std::slice::from_raw_parts((*groups).Groups.as_ptr(), (*groups).GroupCount as usize)
    };
    let mut group_sids = Vec::new();
    for g in entries {
        let attrs = g.Attributes as i32;
        if attrs & SE_GROUP_ENABLED != 0 && attrs & SE_GROUP_USE_FOR_DENY_ONLY == 0 {
            group_sids.push(sid_string(g.Sid)?);
        }
    }
    Ok(TokenIdentity {
        user_sid,
        group_sids,
    })
}

/// The connected client of a server pipe instance, by impersonation. Call it after the first
/// request was read: Windows lets a server impersonate only once the client has written.
pub fn of_client(pipe: &impl AsRawHandle) -> io::Result<TokenIdentity> {
    // SAFETY: a valid pipe handle; the impersonation is undone below before returning.
    if unsafe { ImpersonateNamedPipeClient(pipe.as_raw_handle()) } == 0 {
        return Err(last_error("ImpersonateNamedPipeClient"));
    }
    let mut token: HANDLE = std::ptr::null_mut();
    // OpenAsSelf = TRUE: the access check on the thread token is made as the service, not as
    // the client being impersonated.
    // SAFETY: the pseudo handle of the current thread; `token` is written on success.
    let opened = unsafe { OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, 1, &mut token) };
    let open_error = (opened == 0).then(|| last_error("OpenThreadToken"));
    // SAFETY: ends the impersonation of this thread.
    if unsafe { RevertToSelf() } == 0 {
        // Going on as the client would run the service's code with the client's identity.
        std::process::abort();
    }
    if let Some(e) = open_error {
        return Err(e);
    }
    let token = Handle(token);
    of_token(token.0)
}

/// The identity of this process (the service's own account in console mode).
pub fn of_current_process() -> io::Result<TokenIdentity> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo handle of the current process; `token` is closed by the guard.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error("OpenProcessToken"));
    }
    let token = Handle(token);
    of_token(token.0)
}

/// The identity of the process that serves a client's pipe (`GetNamedPipeServerProcessId`).
pub fn of_server(pipe: &impl AsRawHandle) -> io::Result<TokenIdentity> {
    let mut pid = 0u32;
    // SAFETY: a valid client pipe handle.
    if unsafe { GetNamedPipeServerProcessId(pipe.as_raw_handle(), &mut pid) } == 0 {
        return Err(last_error("GetNamedPipeServerProcessId"));
    }
    // SAFETY: opening a process by id; the handle is closed by the guard.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(last_error("OpenProcess(pipe server)"));
    }
    let process = Handle(process);
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: as above.
    if unsafe { OpenProcessToken(process.0, TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error("OpenProcessToken(pipe server)"));
    }
    let token = Handle(token);
    of_token(token.0)
}

/// The SID of an account name (`DOMAIN\name`, `NT SERVICE\Name`, a plain name, a well-known
/// group's name) on this machine, with its kind (`SidTypeUser`, `SidTypeGroup`, ...), from
/// `LookupAccountNameW`.
pub fn lookup_account(name: &str) -> io::Result<(String, SID_NAME_USE)> {
    use windows_sys::Win32::Security::LookupAccountNameW;
    let wname: Vec<u16> = name.encode_utf16().chain(std::iter::once(0)).collect();
    let mut sid = vec![0u64; 9]; // 72 bytes: a SID has at most 68
    let mut sid_len = (sid.len() * 8) as u32;
    let mut domain = vec![0u16; 256];
    let mut domain_len = domain.len() as u32;
    let mut kind: SID_NAME_USE = 0;
    // SAFETY: buffers of the sizes passed; the SID buffer is u64-aligned.
    let ok = unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            wname.as_ptr(),
            sid.as_mut_ptr().cast(),
            &mut sid_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((sid_string(sid.as_mut_ptr().cast())?, kind))
}

/// Whether a kind from [`lookup_account`] is a group of some sort.
pub fn is_group_kind(kind: SID_NAME_USE) -> bool {
    use windows_sys::Win32::Security::{SidTypeAlias, SidTypeGroup, SidTypeWellKnownGroup};
    [SidTypeGroup, SidTypeAlias, SidTypeWellKnownGroup].contains(&kind)
}

/// The SID of one `readers` entry of the config: `S-1-...` as it is; `group:NAME`, `DOMAIN\user`,
/// `NT SERVICE\Name` or a plain account name looked up with `LookupAccountNameW`. A `group:`
/// entry must name a group (or alias, or well-known group), a plain one anything else but a
/// group, so a typo cannot widen the rule.
pub fn reader_sid(entry: &str) -> io::Result<String> {
    let entry = entry.trim();
    let (name, want_group) = match entry.strip_prefix("group:") {
        Some(g) => (g, true),
        None => (entry, false),
    };
    if super::sddl::is_sid(&name.to_ascii_uppercase()) {
        return Ok(name.to_ascii_uppercase());
    }
    let (sid, kind) = lookup_account(name).map_err(|e| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("reader {entry:?}: no such account or group on this machine ({e}); use DOMAIN\\name, NT SERVICE\\Name or a SID"),
        )
    })?;
    let is_group = is_group_kind(kind);
    if is_group != want_group {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            if is_group {
                format!("reader {entry:?} is a group: write it as \"group:{name}\"")
            } else {
                format!("reader {entry:?} is not a group: write it without \"group:\"")
            },
        ));
    }
    Ok(sid)
}

/// `DOMAIN\name` of a SID in string form (`LookupAccountSidW`).
pub fn account_name(sid: &str) -> io::Result<String> {
    use windows_sys::Win32::Security::Authorization::ConvertStringSidToSidW;
    use windows_sys::Win32::Security::LookupAccountSidW;
    let wsid: Vec<u16> = sid.encode_utf16().chain(std::iter::once(0)).collect();
    let mut psid: PSID = std::ptr::null_mut();
    // SAFETY: a NUL-terminated string; the SID Windows allocates is freed with LocalFree below.
    if unsafe { ConvertStringSidToSidW(wsid.as_ptr(), &mut psid) } == 0 {
        return Err(last_error("ConvertStringSidToSidW"));
    }
    let mut name = vec![0u16; 256];
    let mut name_len = name.len() as u32;
    let mut domain = vec![0u16; 256];
    let mut domain_len = domain.len() as u32;
    let mut kind: SID_NAME_USE = 0;
    // SAFETY: a valid SID and buffers of the sizes passed.
    let ok = unsafe {
        LookupAccountSidW(
            std::ptr::null(),
            psid,
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    let lookup_error = (ok == 0).then(|| last_error("LookupAccountSidW"));
    // SAFETY: allocated by ConvertStringSidToSidW.
    unsafe { LocalFree(psid) };
    if let Some(e) = lookup_error {
        return Err(e);
    }
    // On success the lengths are the characters written, without the NUL.
    let name = String::from_utf16_lossy(&name[..name_len as usize]);
    let domain = String::from_utf16_lossy(&domain[..domain_len as usize]);
    Ok(if domain.is_empty() {
        name
    } else {
        format!("{domain}\\{name}")
    })
}

/// A failure of a `Net*` call (netapi32) in words: its `NERR_*` codes are not system messages,
/// so `io::Error` alone would print "unknown error". "No such group" is `NotFound`.
pub fn net_error(what: &str, code: u32) -> io::Error {
    use windows_sys::Win32::NetworkManagement::NetManagement::{
        NERR_GroupExists as NERR_GROUP_EXISTS, NERR_GroupNotFound as NERR_GROUP_NOT_FOUND,
        NERR_UserExists as NERR_USER_EXISTS, NERR_UserNotFound as NERR_USER_NOT_FOUND,
    };
    let (kind, text) = match code {
        NERR_GROUP_NOT_FOUND => (io::ErrorKind::NotFound, "no such local group".to_owned()),
        NERR_USER_NOT_FOUND => (io::ErrorKind::NotFound, "no such user".to_owned()),
        NERR_GROUP_EXISTS => (io::ErrorKind::AlreadyExists, "the group exists".to_owned()),
        NERR_USER_EXISTS => (
            io::ErrorKind::AlreadyExists,
            "a user of that name exists".to_owned(),
        ),
        other => {
            let e = io::Error::from_raw_os_error(other as i32);
            (e.kind(), e.to_string())
        }
    };
    io::Error::new(kind, format!("{what}: {text} (code {code})"))
}

/// The SIDs of the members of the local group `group`, read from the account database now
/// (`NetLocalGroupGetMembers`, level 0): a token's groups are fixed at its logon, so a user
/// added after logging on is seen here but not in their token. `NotFound` when the group does
/// not exist.
pub fn local_group_member_sids(group: &str) -> io::Result<Vec<String>> {
    use windows_sys::Win32::NetworkManagement::NetManagement::{
        NetApiBufferFree, NetLocalGroupGetMembers, LOCALGROUP_MEMBERS_INFO_0, MAX_PREFERRED_LENGTH,
    };
    const ERROR_MORE_DATA: u32 = 234;
    let wgroup: Vec<u16> = group.encode_utf16().chain(std::iter::once(0)).collect();
    let mut out = Vec::new();
    let mut resume: usize = 0;
    loop {
        let mut buf: *mut u8 = std::ptr::null_mut();
        let (mut read, mut total) = (0u32, 0u32);
        // SAFETY: a NUL-terminated group name; `buf` is allocated by netapi32 and freed below.
        let rc = unsafe {
            NetLocalGroupGetMembers(
                std::ptr::null(),
                wgroup.as_ptr(),
                0,
                &mut buf,
                MAX_PREFERRED_LENGTH,
                &mut read,
                &mut total,
                &mut resume,
            )
        };
        if rc != 0 && rc != ERROR_MORE_DATA {
            if !buf.is_null() {
                // SAFETY: allocated by NetLocalGroupGetMembers.
                unsafe { NetApiBufferFree(buf.cast()) };
            }
            return Err(net_error(
                &format!("reading the members of the local group {group}"),
                rc,
            ));
        }
        let mut failed = None;
        if !buf.is_null() {
            // SAFETY: `read` LOCALGROUP_MEMBERS_INFO_0 entries at `buf`.
            let entries = unsafe {
                std::slice::from_raw_parts(buf as *const LOCALGROUP_MEMBERS_INFO_0, read as usize)
            };
            for e in entries {
                match sid_string(e.lgrmi0_sid) {
                    Ok(sid) => out.push(sid),
                    Err(err) => failed = Some(err),
                }
            }
            // SAFETY: allocated by NetLocalGroupGetMembers, not used after this.
            unsafe { NetApiBufferFree(buf.cast()) };
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if rc == ERROR_MORE_DATA && read == 0 {
            // More data but none given: looping would not end.
            return Err(net_error(
                &format!("reading the members of the local group {group}"),
                rc,
            ));
        }
        if rc != ERROR_MORE_DATA {
            return Ok(out);
        }
    }
}

/// Whether this runs under Wine (its ntdll exports `wine_get_version`), which implements some
/// of what the tests check differently from Windows.
#[cfg(test)]
pub(crate) fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: NUL-terminated names; ntdll is loaded in every process.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_resolve_to_sids_and_groups_must_say_group() {
        assert_eq!(
            reader_sid("S-1-5-21-1-2-3-1001").unwrap(),
            "S-1-5-21-1-2-3-1001"
        );
        assert_eq!(
            reader_sid("group:Administrators").unwrap(),
            super::super::sddl::ADMINISTRATORS
        );
        let e = reader_sid("Administrators").unwrap_err();
        assert!(e.to_string().contains("group:Administrators"), "{e}");
        let e = reader_sid("no-such-account-mailoauth").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        // The account running the tests, by name.
        let me = of_current_process().unwrap().user_sid;
        let user = std::env::var("USERNAME").unwrap_or_default();
        match reader_sid(&user) {
            Ok(sid) => assert_eq!(sid, me, "{user}"),
            Err(e) => {
                println!("NOT CHECKED: looking up the current user {user:?} by name failed ({e})")
            }
        }
    }

    #[test]
    fn the_current_user_has_a_name_that_looks_up_back_to_its_sid() {
        let me = of_current_process().unwrap().user_sid;
        let name = account_name(&me).unwrap();
        assert!(!name.is_empty(), "{me}");
        match lookup_account(&name) {
            Ok((sid, kind)) => {
                assert_eq!(sid, me, "{name}");
                assert!(!is_group_kind(kind), "{name}: {kind}");
            }
            Err(e) => println!("NOT CHECKED: looking {name:?} up by name failed ({e})"),
        }
        assert!(account_name("S-1-5-21-1-2-3-4-999999").is_err());
    }

    #[test]
    fn a_local_groups_members_are_read_as_sids_and_a_missing_group_is_not_found() {
        match local_group_member_sids("mailoauth-no-such-group") {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other if under_wine() => println!(
                "NOT CHECKED under Wine: the members of a group that does not exist read as {other:?}, not \"no such group\"; a real Windows run must say NotFound"
            ),
            other => panic!("a missing group read as {other:?}"),
        }
        match local_group_member_sids("Administrators") {
            Ok(v) => {
                for sid in &v {
                    assert!(super::super::sddl::is_sid(sid), "{sid}");
                }
            }
            Err(e) => println!(
                "NOT CHECKED: the members of Administrators could not be read ({e}; Wine's netapi32 may not implement NetLocalGroupGetMembers)"
            ),
        }
    }
}
