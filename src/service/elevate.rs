//! Installing the token service from the wizard through the operating system's own elevation
//! prompt: which program to start with which arguments (`pkexec` on Linux, `osascript ... with
//! administrator privileges` on macOS, `ShellExecuteExW` with the `runas` verb on Windows), where
//! mailoauth's CLI lies, and what the prompt's exit status means.
//!
//! Everything here but [`windows_runas`] is pure, so the argument building, the quoting and the
//! exit-status mapping of every platform are unit-tested on every platform. The app only starts
//! what [`plan`] says and hands the exit status to [`outcome`].
//!
//! One prompt per wizard session: the elevated `mailoauth service install --manager USER`
//! installs and starts the service and adds the desktop user to the managers group, so every
//! later action (saving accounts, handing tokens over) goes over the socket without a prompt.

use super::install::Os;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Test hook: a program started instead of `pkexec`/`osascript`/UAC with the arguments `pkexec`
/// gets (the CLI's path, then its arguments), whose exit statuses are read as `pkexec`'s. Read only by debug builds (the GUI
/// end-to-end test, which runs as root in CI where no polkit agent can answer); a release build
/// ignores it.
pub const PROGRAM_ENV: &str = "MAILOAUTH_ELEVATE_PROGRAM";

/// The CLI's file name on this platform.
pub fn cli_file_name(os: Os) -> &'static str {
    match os {
        Os::Windows => "mailoauth.exe",
        _ => "mailoauth",
    }
}

/// Where mailoauth's CLI is: beside the app's executable (the bundle's sidecar, or the same
/// folder as in a build tree or `/usr/bin`), else the first match on `path` (the `PATH`
/// variable's value). `exists` tells whether a file is there (a parameter, for the tests).
pub fn find_cli(
    os: Os,
    app_exe: Option<&Path>,
    path: Option<&OsStr>,
    exists: &dyn Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let name = cli_file_name(os);
    if let Some(dir) = app_exe.and_then(Path::parent) {
        let beside = dir.join(name);
        if exists(&beside) {
            return Some(beside);
        }
    }
    let path = path?;
    std::env::split_paths(path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| exists(p))
}

/// The CLI's arguments for an install that also makes `manager` (the desktop user; `DOMAIN\user`
/// on Windows) a manager: a member of the group `mailoauth` (a local group on Windows). None
/// for root, who manages anyway.
pub fn install_args(os: Os, manager: Option<&str>) -> Vec<String> {
    let mut args = vec![String::from("service"), String::from("install")];
    if let Some(m) = manager.filter(|m| !(m.is_empty() || *m == "root" && os != Os::Windows)) {
        args.push(String::from("--manager"));
        args.push(m.to_string());
    }
    args
}

/// What to start to run the CLI elevated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// A program and its argv (Linux, macOS): started with the app's shell plugin.
    Exec {
        /// The program (`pkexec`, `/usr/bin/osascript`, or the test hook's).
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// `ShellExecuteExW` with the `runas` verb (Windows): the file and one parameters string.
    RunAs {
        /// The CLI's path.
        file: String,
        /// The CLI's arguments as one command line (quoted for `CommandLineToArgvW`).
        parameters: String,
    },
}

/// The launch of `cli args...` elevated on `os`. `hook` is the test hook's program
/// ([`test_hook`]), which replaces `pkexec`/`osascript` and gets `pkexec`'s argv.
pub fn plan(os: Os, cli: &Path, args: &[String], hook: Option<&str>) -> Launch {
    let cli_text = cli.to_string_lossy().into_owned();
    let argv = || std::iter::once(cli_text.clone()).chain(args.iter().cloned());
    if let Some(program) = hook {
        return Launch::Exec {
            program: program.to_string(),
            args: argv().collect(),
        };
    }
    match os {
        Os::Linux => Launch::Exec {
            program: String::from("pkexec"),
            args: argv().collect(),
        },
        Os::MacOs => {
            let line = argv().map(|a| sh_quote(&a)).collect::<Vec<_>>().join(" ");
            Launch::Exec {
                program: String::from("/usr/bin/osascript"),
                args: vec![
                    String::from("-e"),
                    format!(
                        "do shell script {} with administrator privileges",
                        applescript_string(&line)
                    ),
                ],
            }
        }
        Os::Windows => Launch::RunAs {
            file: cli_text,
            parameters: args
                .iter()
                .map(|a| windows_quote(a))
                .collect::<Vec<_>>()
                .join(" "),
        },
    }
}

/// Why the elevated install cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum ElevateError {
    /// mailoauth's CLI is neither beside the app nor on PATH.
    #[error("mailoauth's command-line program ({name}) is neither beside this app ({beside}) nor on PATH, so the wizard cannot install the service: reinstall mailoauth with its command-line program, or install the service from a terminal")]
    CliNotFound {
        /// The file name looked for.
        name: &'static str,
        /// The app's folder.
        beside: String,
    },
}

impl crate::error::Coded for ElevateError {
    fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::NotFound
    }
}

/// What to start, for this process, to install the service and make the desktop user a
/// manager: the CLI found by [`find_cli`] (from the running executable and `PATH`), the
/// desktop user from the user database, the test hook if set. The `bool` says whether the test
/// hook is used (for [`outcome`]).
pub fn install_launch() -> Result<(Launch, bool), ElevateError> {
    let os = Os::current();
    let exe = std::env::current_exe().ok();
    let path = std::env::var_os("PATH");
    let cli = find_cli(os, exe.as_deref(), path.as_deref(), &|p| {
        p.is_file() && may_run_as_root(p)
    })
    .ok_or_else(|| ElevateError::CliNotFound {
        name: cli_file_name(os),
        beside: exe
            .as_deref()
            .and_then(Path::parent)
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
    })?;
    let hook = test_hook();
    let args = install_args(os, desktop_user().as_deref());
    Ok((plan(os, &cli, &args, hook.as_deref()), hook.is_some()))
}

/// Whether `program` may be started as root by the elevation prompt: on Unix the file and every
/// folder above it must be owned by root (on macOS also by this user: an app dragged into
/// /Applications is the admin's) and writable by nobody else; a folder others may write must be
/// sticky (`/tmp`), where they cannot replace root's entry. Otherwise any program of the desktop
/// user (a `~/.local/bin` early on `PATH`, a build folder others can write) could put its own file
/// there and have the admin's password run it as root. Windows: Program Files is writable by
/// Administrators only, and UAC shows the program's path; no check here.
pub fn may_run_as_root(program: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let owner_ok = |uid: u32| uid == 0 || (cfg!(target_os = "macos") && uid == me);
        let Ok(file) = std::fs::metadata(program) else {
            return false;
        };
        if !owner_ok(file.uid()) || file.mode() & 0o022 != 0 {
            return false;
        }
        let mut dir = program.parent();
        while let Some(d) = dir {
            let Ok(m) = std::fs::metadata(if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }) else {
                return false;
            };
            let sticky = m.mode() & 0o1000 != 0;
            if !owner_ok(m.uid()) || (m.mode() & 0o022 != 0 && !sticky) {
                return false;
            }
            dir = d.parent();
        }
        true
    }
    #[cfg(not(unix))]
    {
        let _ = program;
        true
    }
}

/// The test hook's program, in debug builds only (see [`PROGRAM_ENV`]).
pub fn test_hook() -> Option<String> {
    if cfg!(debug_assertions) {
        std::env::var(PROGRAM_ENV)
            .ok()
            .filter(|p| !p.trim().is_empty())
    } else {
        None
    }
}

/// One word for `/bin/sh` (what `do shell script` runs): single quotes, with each `'` written
/// `'\''`.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// An AppleScript string literal: double quotes, with `\` and `"` escaped by a backslash.
pub fn applescript_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', r"\\").replace('"', "\\\""))
}

/// One argument for a Windows command line as `CommandLineToArgvW` (and the C runtime) split
/// it: quoted when it has a space, tab or quote (or is empty), with backslashes doubled before a
/// quote and at the end.
pub fn windows_quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '\n', '"']) {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0usize;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            _ => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

/// How the elevated run ended, for the wizard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ElevationOutcome {
    /// The service is installed and started.
    Done,
    /// The administrator closed the prompt.
    Cancelled,
    /// No prompt could be shown (no polkit agent, no pkexec, the password was refused): the
    /// admin runs the command in a terminal.
    NoPrompt {
        /// What happened, in words.
        detail: String,
    },
    /// The install itself failed (the CLI's own words).
    Failed {
        /// The CLI's exit status, if it ran.
        status: Option<i32>,
        /// The CLI's last lines on stderr.
        detail: String,
    },
}

/// pkexec's status when the authentication dialog was dismissed.
const PKEXEC_DISMISSED: i32 = 126;
/// pkexec's status when not authorized, or no agent could ask.
const PKEXEC_NOT_AUTHORIZED: i32 = 127;
/// `ERROR_CANCELLED`: the UAC prompt was declined.
pub const ERROR_CANCELLED: i32 = 1223;

/// What the launch's end means. `started`: whether the program could be started at all (a
/// missing `pkexec` is `false`); `status`: its exit status (`None`: killed by a signal);
/// `stderr`: what it wrote. On Windows `status` is the CLI's exit code, or `ERROR_CANCELLED`
/// when `ShellExecuteExW` failed with it, and `started` is false for other launch failures.
pub fn outcome(
    os: Os,
    hooked: bool,
    started: bool,
    status: Option<i32>,
    stderr: &str,
) -> ElevationOutcome {
    let last = last_lines(stderr);
    if !started {
        return if os == Os::Windows && status == Some(ERROR_CANCELLED) {
            ElevationOutcome::Cancelled
        } else {
            ElevationOutcome::NoPrompt {
                detail: if last.is_empty() {
                    String::from("the elevation prompt could not be started")
                } else {
                    last
                },
            }
        };
    }
    // The test hook stands in for pkexec, with its argv and its statuses.
    let os = if hooked { Os::Linux } else { os };
    match (os, status) {
        (_, Some(0)) => ElevationOutcome::Done,
        (Os::Linux, Some(PKEXEC_DISMISSED)) => ElevationOutcome::Cancelled,
        (Os::Linux, Some(PKEXEC_NOT_AUTHORIZED)) => ElevationOutcome::NoPrompt {
            detail: if stderr.contains("authentication agent") {
                String::from(
                    "no authentication agent (polkit) can ask for the password in this session",
                )
            } else {
                String::from("the password was not accepted")
            },
        },
        // osascript ends with status 1 and "User canceled. (-128)" on stderr.
        (Os::MacOs, _) if stderr.contains("-128") => ElevationOutcome::Cancelled,
        (Os::Windows, Some(ERROR_CANCELLED)) => ElevationOutcome::Cancelled,
        (_, status) => ElevationOutcome::Failed {
            status,
            detail: last,
        },
    }
}

/// The last three non-empty lines (the CLI says what failed last).
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(3)..].join("\n")
}

/// The name of the user running this process, for `--manager` (Unix; `None` for root or when
/// the user database has no name).
#[cfg(unix)]
pub fn desktop_user() -> Option<String> {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    if uid == 0 {
        return None;
    }
    let p = super::peer::of_uid(uid, uid);
    (p.user != uid.to_string()).then_some(p.user)
}

/// The account running this process as `DOMAIN\user` (from its token's user SID,
/// `LookupAccountSidW`; not from `USERNAME`, which the environment can say anything in), for
/// `--manager`; `None` for SYSTEM, which manages anyway, or when the SID has no name.
#[cfg(windows)]
pub fn desktop_user() -> Option<String> {
    use super::windows::{identity, sddl};
    let me = identity::of_current_process().ok()?;
    if me.user_sid == sddl::SYSTEM {
        return None;
    }
    identity::account_name(&me.user_sid).ok()
}

/// No manager group on this platform.
#[cfg(not(any(unix, windows)))]
pub fn desktop_user() -> Option<String> {
    None
}

/// Runs `file parameters` elevated with `ShellExecuteExW` and the `runas` verb (the UAC prompt),
/// waits for it and returns its exit code; `Err(code)` with the Win32 error when it could not be
/// started (`ERROR_CANCELLED` when the prompt was declined).
#[cfg(windows)]
pub fn windows_runas(file: &str, parameters: &str) -> Result<i32, i32> {
    use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, WAIT_OBJECT_0};
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, WaitForSingleObject, INFINITE,
    };
    use windows_sys::Win32::UI::Shell::{
        ShellExecuteExW, SEE_MASK_NOASYNC, SEE_MASK_NOCLOSEPROCESS, SHELLEXECUTEINFOW,
    };
    let wide = |s: &str| s.encode_utf16().chain([0]).collect::<Vec<u16>>();
    let (verb, file, params) = (wide("runas"), wide(file), wide(parameters));
    // SAFETY: SHELLEXECUTEINFOW is plain data; zeroed is its documented empty state.
    let mut info: SHELLEXECUTEINFOW = unsafe { std::mem::zeroed() };
    info.cbSize = std::mem::size_of::<SHELLEXECUTEINFOW>() as u32;
    info.fMask = SEE_MASK_NOCLOSEPROCESS | SEE_MASK_NOASYNC;
    info.lpVerb = verb.as_ptr();
    info.lpFile = file.as_ptr();
    info.lpParameters = params.as_ptr();
    info.nShow = 0; // SW_HIDE: the CLI's console stays hidden; the wizard shows the outcome.
                    // SAFETY: `info` is initialised with its size; the strings live until the call returns.
    if unsafe { ShellExecuteExW(&mut info) } == 0 {
        // SAFETY: no preconditions.
        return Err(unsafe { GetLastError() } as i32);
    }
    if info.hProcess.is_null() {
        return Err(0);
    }
    let mut code: u32 = 0;
    // SAFETY: hProcess is the started process's handle (SEE_MASK_NOCLOSEPROCESS), ours to close.
    unsafe {
        let waited = WaitForSingleObject(info.hProcess, INFINITE);
        let ok = waited == WAIT_OBJECT_0 && GetExitCodeProcess(info.hProcess, &mut code) != 0;
        CloseHandle(info.hProcess);
        if !ok {
            return Err(GetLastError() as i32);
        }
    }
    Ok(code as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_install_names_the_desktop_user_as_manager_except_root() {
        assert_eq!(
            install_args(Os::Linux, Some("alice")),
            args(&["service", "install", "--manager", "alice"])
        );
        assert_eq!(
            install_args(Os::MacOs, Some("alice")),
            args(&["service", "install", "--manager", "alice"])
        );
        assert_eq!(
            install_args(Os::Windows, Some(r"CORP\Jane Doe")),
            args(&["service", "install", "--manager", r"CORP\Jane Doe"])
        );
        // A Windows account may be called root; only Unix's root is left out.
        assert_eq!(
            install_args(Os::Windows, Some("root")),
            args(&["service", "install", "--manager", "root"])
        );
        assert_eq!(
            install_args(Os::Linux, Some("root")),
            args(&["service", "install"])
        );
        assert_eq!(install_args(Os::Linux, None), args(&["service", "install"]));
        assert_eq!(
            install_args(Os::Windows, None),
            args(&["service", "install"])
        );
        assert_eq!(
            install_args(Os::Windows, Some("")),
            args(&["service", "install"])
        );
    }

    #[test]
    fn windows_passes_the_desktop_user_with_domain_and_spaces_as_one_argument() {
        let a = install_args(Os::Windows, Some(r"DESKTOP-7\Jane Doe"));
        let Launch::RunAs { parameters, .. } = plan(
            Os::Windows,
            Path::new(r"C:\Program Files\mailoauth\mailoauth.exe"),
            &a,
            None,
        ) else {
            panic!("not runas");
        };
        assert_eq!(
            parameters,
            r#"service install --manager "DESKTOP-7\Jane Doe""#
        );
    }

    #[cfg(windows)]
    #[test]
    fn the_desktop_user_on_windows_is_domain_and_name_of_the_token() {
        use crate::service::windows::identity;
        let me = identity::of_current_process().unwrap().user_sid;
        match desktop_user() {
            Some(name) => {
                assert!(name.contains('\\'), "{name}");
                match identity::lookup_account(&name) {
                    Ok((sid, _)) => assert_eq!(sid, me, "{name}"),
                    Err(e) => println!("NOT CHECKED: {name:?} did not look up by name ({e})"),
                }
            }
            None => assert_eq!(me, crate::service::windows::sddl::SYSTEM),
        }
    }

    #[test]
    fn linux_runs_pkexec_with_the_cli_and_its_arguments_unquoted() {
        let a = install_args(Os::Linux, Some("alice"));
        assert_eq!(
            plan(Os::Linux, Path::new("/opt/mail oauth/mailoauth"), &a, None),
            Launch::Exec {
                program: "pkexec".into(),
                args: args(&[
                    "/opt/mail oauth/mailoauth",
                    "service",
                    "install",
                    "--manager",
                    "alice"
                ]),
            }
        );
    }

    #[test]
    fn macos_quotes_for_the_shell_then_for_applescript() {
        let a = install_args(Os::MacOs, Some("alice"));
        let Launch::Exec {
            program,
            args: argv,
        } = plan(
            Os::MacOs,
            Path::new("/Applications/Mail OAuth \"beta\"/it's/mailoauth"),
            &a,
            None,
        )
        else {
            panic!("an exec on macOS")
        };
        assert_eq!(program, "/usr/bin/osascript");
        assert_eq!(argv[0], "-e");
        assert_eq!(
            argv[1],
            r#"do shell script "'/Applications/Mail OAuth \"beta\"/it'\\''s/mailoauth' 'service' 'install' '--manager' 'alice'" with administrator privileges"#
        );
        assert_eq!(argv.len(), 2);
        // Read back as AppleScript would, then as sh would: the same words.
        let inner = argv[1]
            .strip_prefix("do shell script \"")
            .and_then(|s| s.strip_suffix("\" with administrator privileges"))
            .unwrap();
        let unescaped = unescape_applescript(inner);
        assert_eq!(
            split_sh(&unescaped),
            args(&[
                "/Applications/Mail OAuth \"beta\"/it's/mailoauth",
                "service",
                "install",
                "--manager",
                "alice"
            ])
        );
    }

    #[test]
    fn backslashes_and_dollars_survive_both_quotings() {
        for word in [r"C:\odd\path", "$HOME", "`id`", "a\"b'c\\d", "", " "] {
            let script = applescript_string(&sh_quote(word));
            let inner = &script[1..script.len() - 1];
            assert_eq!(
                split_sh(&unescape_applescript(inner)),
                vec![word.to_string()],
                "{word:?}"
            );
        }
    }

    /// AppleScript's string escapes (`\\`, `\"`).
    fn unescape_applescript(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.extend(chars.next());
            } else {
                assert_ne!(
                    c, '"',
                    "an unescaped quote would end the AppleScript string"
                );
                out.push(c);
            }
        }
        out
    }

    /// sh's splitting of single-quoted words and `\'` outside quotes.
    fn split_sh(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let (mut inside, mut any) = (false, false);
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    inside = !inside;
                    any = true;
                }
                '\\' if !inside => cur.extend(chars.next()),
                ' ' if !inside => {
                    if any {
                        out.push(std::mem::take(&mut cur));
                    }
                    any = false;
                }
                c => {
                    assert!(inside, "{c:?} outside quotes in {s:?}");
                    cur.push(c);
                }
            }
        }
        if any {
            out.push(cur);
        }
        out
    }

    #[test]
    fn windows_uses_runas_with_a_command_line_argv_splits_back() {
        let a = args(&[
            "service",
            "install",
            "--config",
            r"C:\Program Data\m o\x.toml",
        ]);
        assert_eq!(
            plan(
                Os::Windows,
                Path::new(r"C:\Program Files\mailoauth\mailoauth.exe"),
                &a,
                None
            ),
            Launch::RunAs {
                file: r"C:\Program Files\mailoauth\mailoauth.exe".into(),
                parameters: r#"service install --config "C:\Program Data\m o\x.toml""#.into(),
            }
        );
        assert_eq!(windows_quote(""), "\"\"");
        assert_eq!(windows_quote(r#"a"b"#), r#""a\"b""#);
        assert_eq!(
            windows_quote(r"C:\dir with space\"),
            r#""C:\dir with space\\""#
        );
        assert_eq!(windows_quote(r#"x\"y z"#), r#""x\\\"y z""#);
    }

    #[test]
    fn the_test_hook_gets_pkexecs_argv_on_every_platform() {
        for os in [Os::Linux, Os::MacOs, Os::Windows] {
            assert_eq!(
                plan(
                    os,
                    Path::new("/x/mailoauth"),
                    &args(&["service", "install"]),
                    Some("/t/stand-in")
                ),
                Launch::Exec {
                    program: "/t/stand-in".into(),
                    args: args(&["/x/mailoauth", "service", "install"]),
                }
            );
        }
    }

    #[test]
    fn exit_statuses_become_outcomes() {
        assert_eq!(
            outcome(Os::Linux, false, true, Some(0), ""),
            ElevationOutcome::Done
        );
        assert_eq!(
            outcome(
                Os::Linux,
                false,
                true,
                Some(126),
                "Error executing command as another user: Request dismissed"
            ),
            ElevationOutcome::Cancelled
        );
        assert!(matches!(
            outcome(Os::Linux, false, true, Some(127), "Error executing command as another user: No authentication agent found."),
            ElevationOutcome::NoPrompt { detail } if detail.contains("no authentication agent")
        ));
        assert!(matches!(
            outcome(Os::Linux, false, true, Some(127), "Error executing command as another user: Not authorized"),
            ElevationOutcome::NoPrompt { detail } if detail.contains("password")
        ));
        // pkexec itself missing.
        assert!(matches!(
            outcome(Os::Linux, false, false, None, "No such file or directory (os error 2)"),
            ElevationOutcome::NoPrompt { detail } if detail.contains("os error 2")
        ));
        // The CLI ran and failed: its words, its status.
        assert_eq!(
            outcome(
                Os::Linux,
                false,
                true,
                Some(69),
                "mailoauth: systemd is not running\n"
            ),
            ElevationOutcome::Failed {
                status: Some(69),
                detail: "mailoauth: systemd is not running".into()
            }
        );
        assert_eq!(
            outcome(
                Os::MacOs,
                false,
                true,
                Some(1),
                "0:95: execution error: User canceled. (-128)"
            ),
            ElevationOutcome::Cancelled
        );
        assert!(matches!(
            outcome(
                Os::MacOs,
                false,
                true,
                Some(1),
                "execution error: mailoauth: cannot write (1)"
            ),
            ElevationOutcome::Failed {
                status: Some(1),
                ..
            }
        ));
        assert_eq!(
            outcome(Os::Windows, false, false, Some(ERROR_CANCELLED), ""),
            ElevationOutcome::Cancelled
        );
        assert_eq!(
            outcome(Os::Windows, false, true, Some(0), ""),
            ElevationOutcome::Done
        );
        assert!(matches!(
            outcome(Os::Windows, false, true, Some(73), ""),
            ElevationOutcome::Failed {
                status: Some(73),
                ..
            }
        ));
        // The test hook stands in for pkexec on every platform: its statuses are pkexec's.
        assert_eq!(
            outcome(Os::MacOs, true, true, Some(126), ""),
            ElevationOutcome::Cancelled
        );
        assert!(matches!(
            outcome(Os::Windows, true, true, Some(69), "mailoauth: no systemd"),
            ElevationOutcome::Failed {
                status: Some(69),
                ..
            }
        ));
        // Killed by a signal.
        assert!(matches!(
            outcome(Os::Linux, false, true, None, ""),
            ElevationOutcome::Failed { status: None, .. }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_program_others_could_replace_is_never_run_as_root() {
        use std::os::unix::fs::PermissionsExt;
        // A system program: root's file in root's folders.
        assert!(may_run_as_root(Path::new("/bin/sh")), "/bin/sh is root's");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let base = std::env::temp_dir().join(format!("mailoauth-elevate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("bin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cli = dir.join("mailoauth");
        std::fs::write(&cli, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
        if !root {
            // This user's own file (not root's) is what a program of the desktop user could
            // have put on PATH: refused. (As root, the cases below make other owners.)
            assert!(!may_run_as_root(&cli), "a file of the desktop user");
            let _ = std::fs::remove_dir_all(&base);
            return;
        }
        assert!(
            may_run_as_root(&cli),
            "root's own 0755 file under /tmp (sticky)"
        );
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(!may_run_as_root(&cli), "a group-writable program");
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            !may_run_as_root(&cli),
            "a folder anyone may write (not sticky)"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another user's file (nobody = 65534), as in their ~/.local/bin.
        std::os::unix::fs::chown(&cli, Some(65534), None).unwrap();
        assert!(!may_run_as_root(&cli), "a file of another user");
        assert!(!may_run_as_root(&base.join("absent")));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[cfg(unix)]
    #[test]
    fn the_cli_is_found_beside_the_app_then_on_path() {
        let here =
            |set: &'static [&'static str]| move |p: &Path| set.iter().any(|s| Path::new(s) == p);
        let exists = here(&["/usr/lib/mailoauth/mailoauth", "/usr/bin/mailoauth"]);
        assert_eq!(
            find_cli(
                Os::Linux,
                Some(Path::new("/usr/lib/mailoauth/mailoauth-app")),
                Some(OsStr::new("/usr/bin")),
                &exists
            ),
            Some(PathBuf::from("/usr/lib/mailoauth/mailoauth"))
        );
        let exists = here(&["/usr/bin/mailoauth"]);
        assert_eq!(
            find_cli(
                Os::Linux,
                Some(Path::new("/opt/app/mailoauth-app")),
                Some(OsStr::new("relative:/sbin:/usr/bin")),
                &exists
            ),
            Some(PathBuf::from("/usr/bin/mailoauth"))
        );
        // A relative PATH entry is never used: the wizard's working folder is not trusted.
        let exists = here(&["relative/mailoauth"]);
        assert_eq!(
            find_cli(
                Os::Linux,
                Some(Path::new("/opt/app/mailoauth-app")),
                Some(OsStr::new("relative")),
                &exists
            ),
            None
        );
        assert_eq!(find_cli(Os::Linux, None, None, &exists), None);
    }
}
