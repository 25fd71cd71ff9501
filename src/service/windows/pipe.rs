//! The service's named pipe, `\\.\pipe\mailoauth`: server and client ends.
//!
//! Server: the first instance is created with `FILE_FLAG_FIRST_PIPE_INSTANCE` (creation fails if
//! anyone already owns the name) and `PIPE_REJECT_REMOTE_CLIENTS`, with the security descriptor
//! built from the readers (`sddl.rs`); before a connected instance is handed out the next one is
//! created, so one instance is always open and nobody can squat the name while the service runs.
//! tokio is 1.24 or later (Cargo.lock), where a later `pipe_mode()` no longer resets the
//! remote-clients flag (GHSA-7rrj-xr53-82p7); no `pipe_mode()` is called after it anyway.
//!
//! Client: opens the pipe with exactly the rights the descriptor grants readers (`GENERIC_WRITE`
//! would ask for `FILE_CREATE_PIPE_INSTANCE` too and be refused), with the identification-level
//! security QoS (a squatting server cannot act as the client), and checks the account of the
//! server process before it sends anything.

use super::identity::{self, TokenIdentity};
use super::sddl;
use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::time::{Duration, Instant};
use tokio::net::windows::named_pipe::{NamedPipeClient, NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::{LocalFree, ERROR_PIPE_BUSY, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    SetKernelObjectSecurity, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING, SECURITY_IDENTIFICATION,
    SECURITY_SQOS_PRESENT,
};

/// The service's pipe.
pub const PIPE_NAME: &str = r"\\.\pipe\mailoauth";

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// A security descriptor made by Windows from SDDL; freed with `LocalFree`.
pub struct SecurityDescriptor(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is an immutable block of memory owned by this value.
unsafe impl Send for SecurityDescriptor {}
// SAFETY: as above; it is only read after creation.
unsafe impl Sync for SecurityDescriptor {}

impl SecurityDescriptor {
    /// Converts SDDL with Windows' own parser.
    pub fn from_sddl(text: &str) -> io::Result<SecurityDescriptor> {
        let w = wide(OsStr::new(text));
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a NUL-terminated string; `sd` is written on success and freed on drop.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                w.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SecurityDescriptor(sd))
    }

    /// The pipe's descriptor for these reader SIDs (no managers beyond SYSTEM and
    /// Administrators).
    pub fn for_readers(readers: &[String]) -> io::Result<SecurityDescriptor> {
        let text = sddl::pipe_sddl(readers, &[])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Self::from_sddl(&text)
    }

    /// Windows' own SDDL of this descriptor (owner, group, DACL), for the decoder.
    pub fn to_sddl(&self) -> io::Result<String> {
        let mut text: *mut u16 = std::ptr::null_mut();
        // SAFETY: a valid descriptor; the string is freed with LocalFree below.
        let ok = unsafe {
            ConvertSecurityDescriptorToStringSecurityDescriptorW(
                self.0,
                SDDL_REVISION_1,
                OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut text,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: NUL-terminated UTF-16 from Windows.
        let len = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
        // SAFETY: `len` units counted above.
        let s = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, len) });
        // SAFETY: allocated by Windows for us.
        unsafe { LocalFree(text.cast()) };
        Ok(s)
    }

    /// Takes over a descriptor Windows allocated for the caller (e.g. by `GetNamedSecurityInfoW`).
    ///
    /// # Safety
    /// `sd` must be a valid self-relative descriptor to be freed with `LocalFree`, owned by
    /// nobody else.
    pub unsafe fn from_local(sd: PSECURITY_DESCRIPTOR) -> SecurityDescriptor {
        SecurityDescriptor(sd)
    }

    /// The descriptor itself, for Windows calls; valid while `self` lives.
    pub fn as_ptr(&self) -> PSECURITY_DESCRIPTOR {
        self.0
    }

    fn attributes(&self) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.0,
            bInheritHandle: 0,
        }
    }
}

impl Drop for SecurityDescriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

/// The server end: always one instance open, waiting.
pub struct PipeServer {
    name: String,
    descriptor: SecurityDescriptor,
    waiting: NamedPipeServer,
}

impl PipeServer {
    fn instance(
        name: &str,
        descriptor: &SecurityDescriptor,
        first: bool,
    ) -> io::Result<NamedPipeServer> {
        let mut attrs = descriptor.attributes();
        let mut options = ServerOptions::new();
        options
            .first_pipe_instance(first)
            .reject_remote_clients(true);
        // SAFETY: `attrs` points to a descriptor that lives for the call.
        unsafe {
            options.create_with_security_attributes_raw(
                name,
                (&mut attrs as *mut SECURITY_ATTRIBUTES).cast(),
            )
        }
    }

    /// Creates the first instance; fails if the name is taken (another process squats it, or
    /// a second service runs).
    pub fn bind(name: &str, descriptor: SecurityDescriptor) -> io::Result<PipeServer> {
        let waiting = Self::instance(name, &descriptor, true).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create the pipe {name} as its first instance (is another process holding the name?): {e}"),
            )
        })?;
        Ok(PipeServer {
            name: name.to_owned(),
            descriptor,
            waiting,
        })
    }

    /// Waits for a client; the next instance is open before the connected one is returned.
    pub async fn accept(&mut self) -> io::Result<NamedPipeServer> {
        self.waiting.connect().await?;
        let next = Self::instance(&self.name, &self.descriptor, false)?;
        Ok(std::mem::replace(&mut self.waiting, next))
    }

    /// New readers or managers (a config reload, a change of the group `mailoauth`): the next
    /// instances get the new descriptor, and the waiting one is changed in place.
    pub fn set_descriptor(&mut self, descriptor: SecurityDescriptor) -> io::Result<()> {
        // SAFETY: a valid pipe handle and descriptor.
        let ok = unsafe {
            SetKernelObjectSecurity(
                self.waiting.as_raw_handle(),
                DACL_SECURITY_INFORMATION,
                descriptor.0,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        self.descriptor = descriptor;
        Ok(())
    }
}

/// Who the connected client is (see [`identity::of_client`]: after the first read).
pub fn client_identity(pipe: &NamedPipeServer) -> io::Result<TokenIdentity> {
    identity::of_client(pipe)
}

/// Opens the pipe as a client within `bound`, with the reader's rights and the
/// identification-level QoS, and checks that the server runs as one of `server_sids` (SYSTEM
/// for the installed service) before returning. A server of another account is refused with
/// `PermissionDenied` and no OS error code (Windows' own "access denied" has code 5).
pub fn connect(name: &str, bound: Duration, server_sids: &[&str]) -> io::Result<NamedPipeClient> {
    let w = wide(OsStr::new(name));
    let deadline = Instant::now() + bound;
    let handle = loop {
        // SAFETY: a NUL-terminated name; the handle is owned below.
        let h = unsafe {
            CreateFileW(
                w.as_ptr(),
                sddl::READER_ACCESS,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                std::ptr::null_mut(),
            )
        };
        if h != INVALID_HANDLE_VALUE {
            // SAFETY: a fresh handle nobody else owns.
            break unsafe { OwnedHandle::from_raw_handle(h) };
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        return Err(e);
    };
    let server = identity::of_server(&handle)?;
    if !server_sids
        .iter()
        .any(|s| server.user_sid.eq_ignore_ascii_case(s))
    {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the process serving {name} runs as {}, not as the mailoauth service ({}): not sending anything to it",
                server.user_sid,
                server_sids.join(" or ")
            ),
        ));
    }
    use std::os::windows::io::IntoRawHandle;
    // SAFETY: an overlapped pipe handle, handed over to tokio.
    unsafe { NamedPipeClient::from_raw_handle(handle.into_raw_handle()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Whether these tests run under Wine (its ntdll exports `wine_get_version`), which
    /// implements some of what they check differently from Windows.
    fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: NUL-terminated names; ntdll is loaded in every process.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    #[test]
    fn windows_reads_the_built_descriptor_back_as_the_readers_say() {
        // The current user and a service SID as readers; Windows' parser and printer (Wine's,
        // under Wine) in between.
        let me = identity::of_current_process().unwrap().user_sid;
        let readers = vec![
            me,
            String::from("S-1-5-80-3951239711-1671533544-1416304335-1138428624-2164829208"),
        ];
        let sd = SecurityDescriptor::for_readers(&readers).unwrap();
        let back = sd.to_sddl().unwrap();
        let decoded = sddl::decode(&back).unwrap();
        let diff = sddl::differences(&decoded, &readers, &[]);
        assert!(diff.is_empty(), "{back}: {diff:?}");
        // With a member of the group mailoauth as a manager (and one reader who is one too).
        let managers = vec![
            String::from("S-1-5-21-1004336348-1177238915-682003330-1000"),
            readers[0].clone(),
        ];
        let text = sddl::pipe_sddl(&readers, &managers).unwrap();
        let back = SecurityDescriptor::from_sddl(&text)
            .unwrap()
            .to_sddl()
            .unwrap();
        let decoded = sddl::decode(&back).unwrap();
        let diff = sddl::differences(&decoded, &readers, &managers);
        assert!(diff.is_empty(), "{back}: {diff:?}");
        assert_eq!(decoded.dacl.map(|a| a.len()), Some(5), "{back}");
    }

    #[test]
    fn one_instance_stays_open_a_second_first_instance_fails_and_the_client_checks_the_server() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let me = identity::of_current_process().unwrap();
            let name = format!(r"\\.\pipe\mailoauth-test-{}", std::process::id());
            let sd = SecurityDescriptor::for_readers(std::slice::from_ref(&me.user_sid)).unwrap();
            let mut server = PipeServer::bind(&name, sd).unwrap();
            // Squatting: a second "first instance" of the same name is refused.
            let again = PipeServer::bind(
                &name,
                SecurityDescriptor::for_readers(std::slice::from_ref(&me.user_sid)).unwrap(),
            );
            match (again.is_err(), under_wine()) {
                (true, _) => {}
                (false, true) => println!(
                    "NOT CHECKED under Wine: Wine lets a second FILE_FLAG_FIRST_PIPE_INSTANCE creation of a name succeed; a real Windows run must refuse it"
                ),
                (false, false) => panic!("a second first instance of {name} was created"),
            }
            drop(again);

            let client_name = name.clone();
            let expected = me.user_sid.clone();
            let client = tokio::task::spawn_blocking(move || {
                connect(&client_name, Duration::from_secs(5), &[&expected])
            });
            let mut conn = server.accept().await.unwrap();
            let mut client = client.await.unwrap().expect("client connects");
            client.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            conn.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            match client_identity(&conn) {
                Ok(id) => assert_eq!(id.user_sid, me.user_sid),
                Err(e) => println!(
                    "NOT CHECKED here: identifying the client by impersonation failed ({e}); Wine may not implement it; a real Windows run must"
                ),
            }
            // A client that expects another account (SYSTEM) refuses this server.
            let refused = connect(&name, Duration::from_secs(5), &[sddl::SYSTEM]);
            if me.user_sid != sddl::SYSTEM {
                let e = refused.expect_err("server of another account accepted");
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
            } else {
                println!("NOT CHECKED: the tests run as SYSTEM, so a server of another account cannot be shown");
            }
        });
    }
}
