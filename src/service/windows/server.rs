//! `mailoauth service run` on Windows: the engine of every platform, served over the named pipe
//! (`\\.\pipe\mailoauth`, or the `--socket` value as the pipe's name) by [`PipeServer`], each
//! client identified by impersonation after its first frame; the state folder gets its ACL from
//! code before anything is written in it. Stops through [`crate::service::shutdown`] (the SCM's
//! Stop/Shutdown, Ctrl+C in console mode), finishing a refresh in flight.

use super::identity::{self, TokenIdentity};
use super::pipe::{PipeServer, SecurityDescriptor};
use super::sddl;
use crate::service::engine::Engine;
use crate::service::peer::PeerIdentity;
use crate::service::{conn, shutdown, ServiceError};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::windows::named_pipe::NamedPipeServer;

/// How often the config is looked at for new readers (the pipe's descriptor follows them).
const DESCRIPTOR_CHECK: Duration = Duration::from_secs(5);

fn pipe_err(name: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Socket {
        path: name.to_owned(),
        detail: e.to_string(),
    }
}

/// The client as the engine sees it: user = its SID, groups = its enabled group SIDs (readers
/// are matched by SID, see [`crate::service::peer::may_read`]); a manager when SYSTEM, an
/// elevated Administrator, the service's own account (console mode; under Wine every process
/// runs as one user, so there every client is one), or when its user SID or one of its group
/// SIDs is in `manager_sids`: the members of the local group `mailoauth` as the account
/// database lists them now ([`manager_sids`]), not the groups in the client's token, which are
/// fixed at its logon and would miss the desktop admin the wizard's UAC prompt just added.
pub fn peer_of(
    client: &TokenIdentity,
    service: &TokenIdentity,
    manager_sids: &[String],
) -> PeerIdentity {
    let listed = |sid: &String| manager_sids.iter().any(|m| m.eq_ignore_ascii_case(sid));
    PeerIdentity {
        user: client.user_sid.clone(),
        uid: None,
        groups: client.group_sids.clone(),
        is_manager: client.is_manager()
            || client.user_sid == service.user_sid
            || listed(&client.user_sid)
            || client.group_sids.iter().any(listed),
    }
}

/// The members of the local group `mailoauth` that manage the service, as SIDs, read from the
/// account database now ([`identity::local_group_member_sids`]); members that would make every
/// account a manager (Everyone, Users, ...) are left out ([`sddl::usable_managers`]). No group,
/// or a failure to read it, gives none (only SYSTEM and elevated Administrators manage then).
/// What is left out and why is logged once per change, not per connection.
pub fn manager_sids() -> Vec<String> {
    static LAST_NOTE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    let (sids, note) = match identity::local_group_member_sids(crate::service::peer::MANAGER_GROUP)
    {
        Ok(members) => {
            let (ok, left_out) = sddl::usable_managers(&members);
            let note = left_out
                .iter()
                .map(|(sid, why)| format!("{sid} ({why})"))
                .collect::<Vec<_>>()
                .join(", ");
            (ok, note)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), String::new()),
        Err(e) => (Vec::new(), format!("read failed: {e}")),
    };
    if let Ok(mut last) = LAST_NOTE.lock() {
        if *last != note {
            if note.starts_with("read failed") {
                tracing::warn!(group = crate::service::peer::MANAGER_GROUP, "the managers' local group could not be read, so only SYSTEM and elevated Administrators manage: {note}");
            } else if !note.is_empty() {
                tracing::warn!(group = crate::service::peer::MANAGER_GROUP, "members of the managers' local group left out (they would make every account a manager): {note}");
            }
            *last = note;
        }
    }
    sids
}

/// The SIDs of every reader of every account in the config; a reader that names no account of
/// this machine is logged and left out (it could not connect anyway).
fn reader_sids(config: &Path) -> Vec<String> {
    let Ok(doc) = crate::config::load(config) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for account in &doc.config.accounts {
        for r in &account.readers {
            match identity::reader_sid(r) {
                Ok(sid) => out.push(sid),
                Err(e) => {
                    tracing::warn!(account = %account.name, reader = %r, "reader left out of the pipe's security descriptor: {e}")
                }
            }
        }
    }
    out
}

/// The pipe's SDDL for the config's readers, the managers' SIDs ([`manager_sids`]) and the
/// service's own account. The installed
/// service runs as SYSTEM and the descriptor's owner is SYSTEM; a service run from a prompt
/// cannot make SYSTEM the owner of its pipe (Windows refuses an owner other than the caller
/// without SeRestorePrivilege), so there the owner is left to Windows (the caller).
fn pipe_descriptor(
    config: &Path,
    service: &TokenIdentity,
    managers: &[String],
) -> io::Result<(String, SecurityDescriptor)> {
    let mut readers = reader_sids(config);
    readers.push(service.user_sid.clone());
    let mut text = sddl::pipe_sddl(&readers, managers)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    if service.user_sid != sddl::SYSTEM {
        text = text.replacen("O:SYG:SY", "", 1);
    }
    let sd = SecurityDescriptor::from_sddl(&text)?;
    Ok((text, sd))
}

/// Creates `dir` if needed (its parent must exist) and sets its DACL: protected, SYSTEM and
/// Administrators, and the service's own account when it is neither ([`sddl::state_dir_sddl`]).
/// Done before the first write, so nothing in it is ever inherited from `%ProgramData%`.
pub fn protect_state_dir(dir: &Path, service: &TokenIdentity) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Security::Authorization::{SetNamedSecurityInfoW, SE_FILE_OBJECT};
    use windows_sys::Win32::Security::{
        GetSecurityDescriptorDacl, GetSecurityDescriptorOwner, ACL, DACL_SECURITY_INFORMATION,
        OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSID,
    };
    std::fs::create_dir_all(dir)?;
    // A link or junction would carry the ACL (and the tokens) somewhere else.
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a link or junction, not a folder; remove it",
        ));
    }
    let text = sddl::state_dir_sddl(Some(&service.user_sid))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let sd = SecurityDescriptor::from_sddl(&text)?;
    let mut present = 0;
    let mut defaulted = 0;
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut owner: PSID = std::ptr::null_mut();
    let mut owner_defaulted = 0;
    // SAFETY: a valid descriptor made by Windows; `dacl` and `owner` point into it and live as
    // long as `sd`.
    let ok = unsafe {
        GetSecurityDescriptorDacl(sd.as_ptr(), &mut present, &mut dacl, &mut defaulted) != 0
            && GetSecurityDescriptorOwner(sd.as_ptr(), &mut owner, &mut owner_defaulted) != 0
    };
    if !ok {
        return Err(io::Error::last_os_error());
    }
    let wide: Vec<u16> = dir
        .as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect();
    // SAFETY: a NUL-terminated path and a DACL inside `sd`, alive for the call.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION
                | DACL_SECURITY_INFORMATION
                | PROTECTED_DACL_SECURITY_INFORMATION,
            owner,
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc as i32));
    }
    tracing::info!(dir = %dir.display(), sddl = %text, "state folder ACL set");
    Ok(())
}

fn config_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Runs the service until a stop is asked for: refreshes in flight finish and are saved first.
pub async fn run(opts: crate::service::RunOptions) -> Result<(), ServiceError> {
    let service = identity::of_current_process().map_err(|e| pipe_err("(own token)", e))?;
    crate::service::apply_proxy(&opts.config);
    let state_dir = opts
        .state_dir
        .clone()
        .unwrap_or_else(crate::service::default_state_dir);
    protect_state_dir(&state_dir, &service).map_err(|e| ServiceError::Socket {
        path: state_dir.display().to_string(),
        detail: format!("cannot set the state folder's ACL (SYSTEM and Administrators only): {e}"),
    })?;
    let name = crate::service::client::socket_path(opts.socket.as_deref())
        .display()
        .to_string();
    // The engine's uid is a Unix notion; managers are decided by `peer_of` here.
    let engine = Engine::start(opts.config.clone(), &state_dir, u32::MAX)?;
    let mut managers = manager_sids();
    let (mut sddl_text, descriptor) =
        pipe_descriptor(&opts.config, &service, &managers).map_err(|e| pipe_err(&name, e))?;
    let mut server = PipeServer::bind(&name, descriptor).map_err(|e| {
        if e.kind() == io::ErrorKind::PermissionDenied {
            ServiceError::AlreadyRunning { path: name.clone() }
        } else {
            pipe_err(&name, e)
        }
    })?;
    tracing::info!(pipe = %name, state_dir = %state_dir.display(), config = %opts.config.display(), account = %service.user_sid, sddl = %sddl_text, "mailoauth service running");
    eprintln!("mailoauth service: listening on {name}");
    let looper = tokio::spawn(engine.clone().run_loop());
    let stop = shutdown::token();
    let ctrl_c = tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_ok() { shutdown::request() },
                _ = stop.cancelled() => {}
            }
        }
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(conn::MAX_CONNECTIONS));
    let mut stamp = config_stamp(&opts.config);
    let mut tick = tokio::time::interval(DESCRIPTOR_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let slot = tokio::select! {
            _ = stop.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                // New readers or managers (the config, the local group mailoauth): the waiting
                // instance and the next ones get the new descriptor.
                let now = config_stamp(&opts.config);
                let members = manager_sids();
                if now != stamp || members != managers {
                    stamp = now;
                    managers = members;
                    match pipe_descriptor(&opts.config, &service, &managers) {
                        Ok((text, sd)) if text != sddl_text => match server.set_descriptor(sd) {
                            Ok(()) => {
                                tracing::info!(sddl = %text, "the pipe's security descriptor follows the config's readers and the group's managers");
                                sddl_text = text;
                            }
                            Err(e) => tracing::error!("the pipe's security descriptor was not changed: {e}"),
                        },
                        Ok(_) => {}
                        Err(e) => tracing::error!("the pipe's security descriptor was not rebuilt: {e}"),
                    }
                }
            }
            accepted = server.accept() => match accepted {
                Ok(pipe) => {
                    let engine = engine.clone();
                    let service = service.clone();
                    tokio::spawn(async move {
                        conn::serve(pipe, engine, move |p: &NamedPipeServer| {
                            match identity::of_client(p) {
                                // The group's members now, as Linux reads the group database
                                // on every request: a membership counts without a new logon
                                // and a removal at once.
                                Ok(client) => Some(peer_of(&client, &service, &manager_sids())),
                                Err(e) => {
                                    tracing::warn!("a pipe client could not be identified, closed: {e}");
                                    None
                                }
                            }
                        })
                        .await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("accepting a pipe client failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    let in_flight = engine.stop();
    if in_flight > 0 {
        tracing::warn!(
            in_flight,
            "stop asked during a refresh: finishing it and saving before the exit"
        );
        eprintln!("mailoauth service: stop asked during {in_flight} refresh(es) in flight; finishing and saving before the exit");
    }
    drop(server);
    engine.drain().await;
    let _ = looper.await;
    ctrl_c.abort();
    tracing::info!("mailoauth service stopped");
    eprintln!("mailoauth service: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether these tests run under Wine (its ntdll exports `wine_get_version`).
    fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: NUL-terminated names; ntdll is loaded in every process.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    /// The folder's descriptor as Windows (Wine, under Wine) reads it back.
    fn read_back(dir: &Path) -> io::Result<String> {
        use std::os::windows::ffi::OsStrExt;
        use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT};
        use windows_sys::Win32::Security::{
            DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
        };
        let wide: Vec<u16> = dir
            .as_os_str()
            .encode_wide()
            .chain(std::iter::once(0))
            .collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a NUL-terminated path; `sd` is allocated by Windows and freed on drop below.
        let rc = unsafe {
            GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        // SAFETY: allocated for us by GetNamedSecurityInfoW, freed with LocalFree.
        let sd = unsafe { SecurityDescriptor::from_local(sd) };
        sd.to_sddl()
    }

    #[test]
    fn the_state_folder_gets_the_protected_acl_and_owner_from_code() {
        let me = identity::of_current_process().unwrap();
        let dir = std::env::temp_dir().join(format!("mailoauth-acl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        protect_state_dir(&dir, &me).unwrap();
        // Again on the existing folder: the same.
        protect_state_dir(&dir, &me).unwrap();
        let text = read_back(&dir).unwrap();
        let d = sddl::decode(&text).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        if !d.protected() && under_wine() {
            // Wine keeps a file's descriptor in an extended attribute of the Unix file, and makes
            // one up where the filesystem has none: the call succeeded, the result is not shown.
            println!(
                "NOT CHECKED under Wine: it did not keep the folder's DACL (read back: {text}); a real Windows run must read back the protected SYSTEM/Administrators DACL"
            );
            return;
        }
        assert!(d.protected(), "{text}: inherits");
        assert_eq!(d.owner.as_deref(), Some(me.user_sid.as_str()), "{text}");
        let mut want = vec![sddl::SYSTEM.to_owned(), sddl::ADMINISTRATORS.to_owned()];
        if me.user_sid != sddl::SYSTEM && me.user_sid != sddl::ADMINISTRATORS {
            want.push(me.user_sid.clone());
        }
        let got: Vec<String> = d
            .dacl
            .clone()
            .expect("a DACL")
            .iter()
            .map(|a| {
                assert_eq!(
                    (a.kind.as_str(), a.mask),
                    ("A", sddl::FULL_CONTROL),
                    "{text}"
                );
                assert!(a.flags.contains("OI") && a.flags.contains("CI"), "{text}");
                a.sid.clone()
            })
            .collect();
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn a_pipe_client_is_a_peer_by_sid_and_the_service_account_manages() {
        let service = TokenIdentity {
            user_sid: String::from("S-1-5-21-1-2-3-1000"),
            group_sids: vec![],
        };
        let reader = TokenIdentity {
            user_sid: String::from("S-1-5-21-1-2-3-1105"),
            group_sids: vec![String::from("S-1-5-32-545")],
        };
        let p = peer_of(&reader, &service, &[]);
        assert_eq!(p.user, reader.user_sid);
        assert_eq!(p.groups, reader.group_sids);
        assert!(!p.is_manager);
        assert!(peer_of(&service, &service, &[]).is_manager);
        let admin = TokenIdentity {
            user_sid: String::from("S-1-5-21-1-2-3-500"),
            group_sids: vec![sddl::ADMINISTRATORS.to_owned()],
        };
        assert!(peer_of(&admin, &service, &[]).is_manager);
        // The readers rule by SID, as written in the config.
        use crate::service::peer::may_read;
        assert!(may_read(&p, &[String::from("S-1-5-21-1-2-3-1105")]));
        assert!(may_read(&p, &[String::from("group:S-1-5-32-545")]));
        assert!(!may_read(&p, &[String::from("S-1-5-21-1-2-3-1106")]));
        assert!(!may_read(&p, &[String::from("group:S-1-5-32-544")]));
    }

    #[test]
    fn members_of_the_group_mailoauth_manage_by_user_or_group_sid_not_by_their_token() {
        let service = TokenIdentity {
            user_sid: sddl::SYSTEM.to_owned(),
            group_sids: vec![],
        };
        // The desktop admin unelevated: UAC left Administrators out of the enabled groups.
        let desk = TokenIdentity {
            user_sid: String::from("S-1-5-21-1-2-3-1001"),
            group_sids: vec![String::from("S-1-5-32-545"), String::from("S-1-5-11")],
        };
        assert!(!peer_of(&desk, &service, &[]).is_manager);
        // Added to mailoauth after logging on: the database lists it, the token does not.
        let members = vec![String::from("S-1-5-21-1-2-3-1001")];
        let p = peer_of(&desk, &service, &members);
        assert!(p.is_manager);
        // A manager reads every account.
        assert!(crate::service::peer::may_read(&p, &[]));
        // Case does not matter in a SID.
        assert!(peer_of(&desk, &service, &[String::from("s-1-5-21-1-2-3-1001")]).is_manager);
        // A domain group that is a member: its members manage (the group is in their token).
        let helpdesk = TokenIdentity {
            user_sid: String::from("S-1-5-21-9-9-9-1500"),
            group_sids: vec![String::from("S-1-5-21-9-9-9-1210")],
        };
        assert!(peer_of(&helpdesk, &service, &[String::from("S-1-5-21-9-9-9-1210")]).is_manager);
        // Someone else is not, and neither is a member removed since.
        let other = TokenIdentity {
            user_sid: String::from("S-1-5-21-1-2-3-1002"),
            group_sids: vec![String::from("S-1-5-32-545")],
        };
        assert!(!peer_of(&other, &service, &members).is_manager);
        assert!(!peer_of(&desk, &service, &[String::from("S-1-5-21-1-2-3-1002")]).is_manager);
        // Users as a member is left out before it gets here (sddl::usable_managers), so the
        // desktop user's Users group makes nobody a manager.
        let (usable, _) = sddl::usable_managers(&[String::from("S-1-5-32-545")]);
        assert!(!peer_of(&desk, &service, &usable).is_manager);
        assert!(!peer_of(&other, &service, &usable).is_manager);
    }

    #[test]
    fn the_pipe_descriptor_admits_the_groups_members_beside_the_readers_and_the_service() {
        let me = identity::of_current_process().unwrap();
        let member = String::from("S-1-5-21-1004336348-1177238915-682003330-1000");
        // No config: no readers; the service's own account and the group's member.
        let missing = std::env::temp_dir().join("mailoauth-no-such-config.toml");
        let (text, sd) = pipe_descriptor(&missing, &me, std::slice::from_ref(&member)).unwrap();
        let mut want = vec![
            (sddl::SYSTEM.to_owned(), sddl::FULL_CONTROL),
            (sddl::ADMINISTRATORS.to_owned(), sddl::FULL_CONTROL),
        ];
        let mut others = vec![member.clone()];
        if me.user_sid != sddl::SYSTEM {
            others.push(me.user_sid.clone());
        }
        others.sort();
        want.extend(others.into_iter().map(|s| (s, sddl::READER_ACCESS)));
        // As built, and as Windows (Wine, here) reads it back.
        for t in [text.clone(), sd.to_sddl().unwrap()] {
            let d = sddl::decode(&t).unwrap();
            assert!(d.protected(), "{t}");
            let got: Vec<(String, u32)> = d
                .dacl
                .expect("a DACL")
                .into_iter()
                .map(|a| {
                    assert_eq!((a.kind.as_str(), a.flags.as_str()), ("A", ""), "{t}");
                    (a.sid, a.mask)
                })
                .collect();
            assert_eq!(got, want, "{t}");
        }
        // Without the member, it is gone.
        let (text, _) = pipe_descriptor(&missing, &me, &[]).unwrap();
        assert!(!text.contains(&member), "{text}");
    }

    #[test]
    fn the_managers_group_is_read_from_the_account_database() {
        // No group `mailoauth` on a test machine (or under Wine): no managers beyond SYSTEM
        // and elevated Administrators, and no failure.
        match identity::local_group_member_sids(crate::service::peer::MANAGER_GROUP) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                assert!(manager_sids().is_empty());
            }
            Ok(members) => {
                let (usable, _) = sddl::usable_managers(&members);
                assert_eq!(manager_sids(), usable);
            }
            Err(e) if identity::under_wine() => {
                println!("NOT CHECKED under Wine: the local group mailoauth could not be read ({e}); Wine's netapi32 does not implement NetLocalGroupGetMembers; a real Windows run must read it");
                assert!(manager_sids().is_empty(), "a failed read gives managers");
            }
            Err(e) => panic!("reading the group mailoauth: {e}"),
        }
    }
}
