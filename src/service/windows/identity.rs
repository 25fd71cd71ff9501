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
    TOKEN_GROUPS, TOKEN_QUERY, TOKEN_USER,
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

/// The SID of one `readers` entry of the config: `S-1-...` as it is; `group:NAME`, `DOMAIN\user`,
/// `NT SERVICE\Name` or a plain account name looked up with `LookupAccountNameW`. A `group:`
/// entry must name a group (or alias, or well-known group), a plain one anything else but a
/// group, so a typo cannot widen the rule.
pub fn reader_sid(entry: &str) -> io::Result<String> {
    use windows_sys::Win32::Security::{
        LookupAccountNameW, SidTypeAlias, SidTypeGroup, SidTypeWellKnownGroup, SID_NAME_USE,
    };
    let entry = entry.trim();
    let (name, want_group) = match entry.strip_prefix("group:") {
        Some(g) => (g, true),
        None => (entry, false),
    };
    if super::sddl::is_sid(&name.to_ascii_uppercase()) {
        return Ok(name.to_ascii_uppercase());
    }
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
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("reader {entry:?}: no such account or group on this machine ({e}); use DOMAIN\\name, NT SERVICE\\Name or a SID"),
        ));
    }
    let is_group = [SidTypeGroup, SidTypeAlias, SidTypeWellKnownGroup].contains(&kind);
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
    sid_string(sid.as_mut_ptr().cast())
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
}
