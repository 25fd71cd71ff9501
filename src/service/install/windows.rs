//! The Windows service registration: the Service Control Manager (`windows-service` crate) and
//! the Event Log source.
//!
//! The service runs as **LocalSystem**, not a virtual account (`NT SERVICE\mailoauth`): it must
//! read the machine config and its DPAPI-sealed store under `%ProgramData%\mailoauth` (ACL
//! SYSTEM + Administrators), create the pipe whose security descriptor names other accounts,
//! impersonate its clients to read their tokens' groups, and run the admin's hook with the
//! rights the admin expects. A virtual account would need each of those granted by hand and
//! has no stable DPAPI scope across a rename. Its service SID type is set to unrestricted, so
//! `NT SERVICE\mailoauth` is in its token as well (for ACLs an admin may want to add).
//! Recovery: restart after 5 s, 10 s, then 60 s; the failure count resets after a day; failures
//! with an exit code (not only crashes) count too.

use super::{InstallError, ManagerStatus, Report};
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};
use windows_service::service::{
    Service, ServiceAccess, ServiceAction, ServiceActionType, ServiceDependency,
    ServiceErrorControl, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
    ServiceSidType, ServiceStartType, ServiceState, ServiceType,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

/// The service's name (and its Event Log source).
pub const SERVICE_NAME: &str = "mailoauth";
/// What the Services console shows.
pub const DISPLAY_NAME: &str = "mailoauth token service";
/// The Event Log source's registry key (below HKEY_LOCAL_MACHINE).
pub const EVENT_SOURCE_KEY: &str =
    r"SYSTEM\CurrentControlSet\Services\EventLog\Application\mailoauth";

fn scm(e: windows_service::Error) -> InstallError {
    // The crate's Display of a Win32 failure is only "IO error in winapi call": show the cause.
    InstallError::Windows(match &e {
        windows_service::Error::Winapi(io) => io.to_string(),
        other => other.to_string(),
    })
}

/// A setting Windows has had since Vista but another service manager (Wine's) may not know:
/// `ERROR_INVALID_LEVEL` is noted in the report, not fatal; any other failure is.
fn optional(
    what: &str,
    result: windows_service::Result<()>,
    report: &mut Report,
) -> Result<(), InstallError> {
    const ERROR_INVALID_LEVEL: i32 = 124;
    match result {
        Ok(()) => Ok(()),
        Err(windows_service::Error::Winapi(e)) if e.raw_os_error() == Some(ERROR_INVALID_LEVEL) => {
            report.say(format!(
                "note: this service manager does not support {what} (not Windows?); not set"
            ));
            Ok(())
        }
        Err(e) => Err(scm(e)),
    }
}

/// What a query of the SCM answered, with the Win32 cause.
fn scm_text(e: &windows_service::Error) -> String {
    match e {
        windows_service::Error::Winapi(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Whether this process runs elevated (an Administrator's full token).
pub fn is_elevated() -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::{
        GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo handle of the current process is always valid; `token` is written
    // only on success and closed below.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return false;
    }
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: the buffer is a TOKEN_ELEVATION of the size passed.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenElevation,
            (&mut elevation as *mut TOKEN_ELEVATION).cast(),
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    };
    // SAFETY: `token` was opened above.
    unsafe { CloseHandle(token) };
    ok != 0 && elevation.TokenIsElevated != 0
}

fn wait_stopped(service: &Service) -> Result<(), InstallError> {
    let deadline = Instant::now() + Duration::from_secs(super::systemd::TIMEOUT_STOP_SECS + 10);
    loop {
        let st = service.query_status().map_err(scm)?;
        if st.current_state == ServiceState::Stopped {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(InstallError::Windows(format!(
                "the service did not stop within {} s",
                super::systemd::TIMEOUT_STOP_SECS + 10
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Stops the installed service, if any, so its binary can be replaced (an upgrade in place).
pub fn stop_if_running(report: &mut Report) -> Result<(), InstallError> {
    let manager =
        ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT).map_err(scm)?;
    let Ok(service) = manager.open_service(
        SERVICE_NAME,
        ServiceAccess::QUERY_STATUS | ServiceAccess::STOP,
    ) else {
        return Ok(());
    };
    if service.query_status().map_err(scm)?.current_state != ServiceState::Stopped {
        service.stop().map_err(scm)?;
        wait_stopped(&service)?;
        report.say("stopped the running service for the upgrade");
    }
    Ok(())
}

/// Creates (or updates) the service, its recovery actions and Event Log source, and starts it.
pub fn register(binary: &Path, config: &Path, report: &mut Report) -> Result<(), InstallError> {
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(scm)?;
    let info = ServiceInfo {
        name: OsString::from(SERVICE_NAME),
        display_name: OsString::from(DISPLAY_NAME),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: binary.to_path_buf(),
        launch_arguments: vec![
            "service".into(),
            "run".into(),
            "--config".into(),
            config.as_os_str().to_owned(),
        ],
        // TCP/IP up before the service (the network itself: delayed auto-start, below).
        dependencies: vec![ServiceDependency::Service(OsString::from("Tcpip"))],
        account_name: None, // LocalSystem
        account_password: None,
    };
    let access = ServiceAccess::QUERY_STATUS
        | ServiceAccess::START
        | ServiceAccess::STOP
        | ServiceAccess::CHANGE_CONFIG
        | ServiceAccess::QUERY_CONFIG;
    let service = match manager.open_service(SERVICE_NAME, access) {
        Ok(existing) => {
            existing.change_config(&info).map_err(scm)?;
            report.say("updated the existing Windows service");
            existing
        }
        Err(_) => {
            let created = manager.create_service(&info, access).map_err(scm)?;
            report.say(format!(
                "registered the Windows service {SERVICE_NAME} (LocalSystem)"
            ));
            created
        }
    };
    optional(
        "a description",
        service.set_description(
            "Keeps the OAuth2 tokens of the machine's mail accounts fresh and hands them to the accounts allowed to read them (mailoauth service status).",
        ),
        report,
    )?;
    optional(
        "delayed auto-start",
        service.set_delayed_auto_start(true),
        report,
    )?;
    optional(
        "the service SID type",
        service.set_config_service_sid_info(ServiceSidType::Unrestricted),
        report,
    )?;
    let restart = |secs| ServiceAction {
        action_type: ServiceActionType::Restart,
        delay: Duration::from_secs(secs),
    };
    optional(
        "recovery actions",
        service.update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(86_400)),
            reboot_msg: None,
            command: None,
            actions: Some(vec![restart(5), restart(10), restart(60)]),
        }),
        report,
    )?;
    optional(
        "recovery on non-crash failures",
        service.set_failure_actions_on_non_crash_failures(true),
        report,
    )?;
    report.say("recovery: restart after 5 s, 10 s, 60 s (count reset after a day)");
    register_event_source(binary)?;
    report.say(format!(
        "registered the Event Log source HKLM\\{EVENT_SOURCE_KEY}"
    ));
    service.start::<&str>(&[]).map_err(scm)?;
    report.say("started the service");
    Ok(())
}

/// Stops and deletes the service and its Event Log source.
pub fn unregister(purge: bool, report: &mut Report) -> Result<(), InstallError> {
    let manager =
        ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT).map_err(scm)?;
    match manager.open_service(
        SERVICE_NAME,
        ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
    ) {
        Ok(service) => {
            if service.query_status().map_err(scm)?.current_state != ServiceState::Stopped {
                service.stop().map_err(scm)?;
                wait_stopped(&service)?;
                report.say("stopped the service");
            }
            service.delete().map_err(scm)?;
            report.say(format!("removed the Windows service {SERVICE_NAME}"));
        }
        Err(e) => report.say(format!("note: no service to remove ({e})")),
    }
    remove_event_source();
    if purge {
        let data = std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into());
        let dir = std::path::PathBuf::from(format!(r"{data}\mailoauth"));
        super::remove(&dir, report)?;
    }
    Ok(())
}

/// The Service Control Manager's view.
pub fn status() -> ManagerStatus {
    let queried = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .and_then(|m| m.open_service(SERVICE_NAME, ServiceAccess::QUERY_STATUS))
        .and_then(|s| s.query_status());
    match queried {
        Ok(st) => ManagerStatus {
            installed: true,
            running: st.current_state == ServiceState::Running,
            detail: format!("Service Control Manager: {:?}", st.current_state),
        },
        Err(e) => ManagerStatus {
            installed: false,
            running: false,
            detail: format!("Service Control Manager: {}", scm_text(&e)),
        },
    }
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// `EventMessageFile` = the binary, `TypesSupported` = error|warning|information.
fn register_event_source(binary: &Path) -> Result<(), InstallError> {
    use windows_sys::Win32::System::Registry::{
        RegCloseKey, RegCreateKeyExW, RegSetValueExW, HKEY, HKEY_LOCAL_MACHINE, KEY_WRITE,
        REG_DWORD, REG_EXPAND_SZ, REG_OPTION_NON_VOLATILE,
    };
    let mut key: HKEY = std::ptr::null_mut();
    let path = wide(EVENT_SOURCE_KEY);
    // SAFETY: valid NUL-terminated strings; `key` is written on success and closed below.
    let rc = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            path.as_ptr(),
            0,
            std::ptr::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_WRITE,
            std::ptr::null(),
            &mut key,
            std::ptr::null_mut(),
        )
    };
    if rc != 0 {
        return Err(InstallError::Windows(format!(
            "cannot create HKLM\\{EVENT_SOURCE_KEY}: {}",
            std::io::Error::from_raw_os_error(rc as i32)
        )));
    }
    let file = wide(&binary.to_string_lossy());
    let types: u32 = 7;
    // SAFETY: the data pointers and byte lengths describe the buffers above.
    let rc1 = unsafe {
        RegSetValueExW(
            key,
            wide("EventMessageFile").as_ptr(),
            0,
            REG_EXPAND_SZ,
            file.as_ptr().cast(),
            (file.len() * 2) as u32,
        )
    };
    // SAFETY: as above.
    let rc2 = unsafe {
        RegSetValueExW(
            key,
            wide("TypesSupported").as_ptr(),
            0,
            REG_DWORD,
            (&types as *const u32).cast(),
            4,
        )
    };
    // SAFETY: opened above.
    unsafe { RegCloseKey(key) };
    match (rc1, rc2) {
        (0, 0) => Ok(()),
        (rc, 0) | (_, rc) => Err(InstallError::Windows(format!(
            "cannot write the Event Log source: {}",
            std::io::Error::from_raw_os_error(rc as i32)
        ))),
    }
}

fn remove_event_source() {
    use windows_sys::Win32::System::Registry::{RegDeleteTreeW, HKEY_LOCAL_MACHINE};
    let path = wide(EVENT_SOURCE_KEY);
    // SAFETY: a valid NUL-terminated key path; a missing key is fine.
    unsafe { RegDeleteTreeW(HKEY_LOCAL_MACHINE, path.as_ptr()) };
}

/// The comment of the managers' local group ([`super::MANAGER_GROUP`]).
pub const MANAGER_GROUP_COMMENT: &str = "Managers of the mailoauth token service";

/// Creates the local group `name` with `comment` (`NetLocalGroupAdd`, level 1) unless it
/// exists: `true` when it was created.
pub fn ensure_local_group(name: &str, comment: &str) -> std::io::Result<bool> {
    use windows_sys::Win32::Foundation::ERROR_ALIAS_EXISTS;
    use windows_sys::Win32::NetworkManagement::NetManagement::{
        NERR_GroupExists as NERR_GROUP_EXISTS, NetLocalGroupAdd, LOCALGROUP_INFO_1,
    };
    let (mut wname, mut wcomment) = (wide(name), wide(comment));
    let info = LOCALGROUP_INFO_1 {
        lgrpi1_name: wname.as_mut_ptr(),
        lgrpi1_comment: wcomment.as_mut_ptr(),
    };
    let mut parm_err = 0u32;
    // SAFETY: a LOCALGROUP_INFO_1 whose strings live until the call returns.
    let rc = unsafe {
        NetLocalGroupAdd(
            std::ptr::null(),
            1,
            (&info as *const LOCALGROUP_INFO_1).cast(),
            &mut parm_err,
        )
    };
    match rc {
        0 => Ok(true),
        NERR_GROUP_EXISTS | ERROR_ALIAS_EXISTS => Ok(false),
        rc => Err(super::super::windows::identity::net_error(
            &format!("creating the local group {name}"),
            rc,
        )),
    }
}

/// Adds `member` (`DOMAIN\user`, or `user` of this machine) to the local group `group`
/// (`NetLocalGroupAddMembers`, level 3): `true` when added, `false` when it was a member.
pub fn add_local_group_member(group: &str, member: &str) -> std::io::Result<bool> {
    use windows_sys::Win32::Foundation::ERROR_MEMBER_IN_ALIAS;
    use windows_sys::Win32::NetworkManagement::NetManagement::{
        NetLocalGroupAddMembers, LOCALGROUP_MEMBERS_INFO_3,
    };
    let (wgroup, mut wmember) = (wide(group), wide(member));
    let info = LOCALGROUP_MEMBERS_INFO_3 {
        lgrmi3_domainandname: wmember.as_mut_ptr(),
    };
    // SAFETY: one LOCALGROUP_MEMBERS_INFO_3 whose string lives until the call returns.
    let rc = unsafe {
        NetLocalGroupAddMembers(
            std::ptr::null(),
            wgroup.as_ptr(),
            3,
            (&info as *const LOCALGROUP_MEMBERS_INFO_3).cast(),
            1,
        )
    };
    match rc {
        0 => Ok(true),
        ERROR_MEMBER_IN_ALIAS => Ok(false),
        rc => Err(super::super::windows::identity::net_error(
            &format!("adding {member} to the local group {group}"),
            rc,
        )),
    }
}

/// Creates the managers' local group `mailoauth` if missing. Its members manage the service
/// without elevation: the service reads the group's members from the account database on each
/// connection (src/service/windows/server.rs), so a membership counts without a new logon.
pub fn ensure_manager_group(report: &mut Report) -> Result<(), InstallError> {
    let group = super::MANAGER_GROUP;
    match ensure_local_group(group, MANAGER_GROUP_COMMENT) {
        Ok(true) => {
            report.say(format!(
                "created the local group {group} (its members may manage the service: net localgroup {group} USER /add)"
            ));
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => Err(InstallError::Windows(e.to_string())),
    }
}

/// Checks that `--manager` names a user of this machine or its domain, before anything is
/// changed. Only a user: a group named here (`Users`, `Domain Users`) would make each of its
/// members a manager.
pub fn check_manager(user: &str) -> Result<(), InstallError> {
    use super::super::windows::identity;
    use windows_sys::Win32::Security::SidTypeUser;
    let (_, kind) = identity::lookup_account(user).map_err(|e| InstallError::BadOption {
        option: "manager",
        detail: format!("no user {user:?} on this machine or its domain ({e})"),
    })?;
    if kind != SidTypeUser {
        return Err(InstallError::BadOption {
            option: "manager",
            detail: format!("{user:?} is not a user (a group, or another kind of account): name the user who manages the service"),
        });
    }
    Ok(())
}

/// Adds the user `user` (`DOMAIN\user` or `user`) to the managers' local group, created if
/// missing ([`check_manager`] first).
pub fn add_manager(user: &str, report: &mut Report) -> Result<(), InstallError> {
    check_manager(user)?;
    ensure_manager_group(report)?;
    let group = super::MANAGER_GROUP;
    match add_local_group_member(group, user) {
        Ok(true) => report.say(format!(
            "added {user} to the local group {group}: {user} manages the service (saves its accounts, hands it tokens) without elevation"
        )),
        Ok(false) => report.say(format!(
            "{user} is a member of the local group {group} already: {user} manages the service without elevation"
        )),
        Err(e) => return Err(InstallError::Windows(e.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::windows::identity;

    fn delete_local_group(name: &str) {
        use windows_sys::Win32::NetworkManagement::NetManagement::NetLocalGroupDel;
        let w = wide(name);
        // SAFETY: a NUL-terminated name.
        unsafe { NetLocalGroupDel(std::ptr::null(), w.as_ptr()) };
    }

    #[test]
    fn a_local_group_is_created_once_and_a_user_added_once_and_read_back_by_sid() {
        let group = format!("mailoauth-test-{}", std::process::id());
        let me = identity::of_current_process().unwrap().user_sid;
        let name = identity::account_name(&me).unwrap();
        match ensure_local_group(&group, MANAGER_GROUP_COMMENT) {
            Ok(created) => assert!(created, "{group} existed before the test"),
            Err(e)
                if identity::under_wine() || e.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                println!("NOT CHECKED: creating the local group {group} failed ({e}): Wine's netapi32 does not implement NetLocalGroupAdd, or the tests do not run as an elevated Administrator; a real Windows run as one must create it");
                return;
            }
            Err(e) => panic!("creating {group}: {e}"),
        }
        let steps = (|| -> std::io::Result<(bool, bool, bool, Vec<String>)> {
            let again = ensure_local_group(&group, MANAGER_GROUP_COMMENT)?;
            let added = add_local_group_member(&group, &name)?;
            let added_again = add_local_group_member(&group, &name)?;
            Ok((
                again,
                added,
                added_again,
                identity::local_group_member_sids(&group)?,
            ))
        })();
        delete_local_group(&group);
        let want = (false, true, false, vec![me]);
        match steps {
            Ok(got) if got == want => {}
            other if identity::under_wine() => println!("NOT CHECKED under Wine: {group} (created, then again, {name} added, then again, the members) gave {other:?}, not {want:?}: Wine's netapi32 stubs NetLocalGroupAdd/AddMembers (success, nothing changed); a real Windows run as an Administrator must give {want:?}"),
            other => panic!("{group}: {other:?}, expected {want:?}"),
        }
    }
}
