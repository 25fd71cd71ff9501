//! `mailoauth service install | uninstall | status`: puts the service in place on the machine's
//! service manager (systemd on Linux, launchd on macOS, the Service Control Manager on Windows).
//!
//! With a staging root (`--root DIR`) the files are written below `DIR` as they would lie on the
//! target system, and nothing else is touched (no group, no service manager): for packaging and
//! for CI, where no systemd runs. Without it, install needs root (Administrators on Windows).
//!
//! The binary the service runs must not be writable by anyone but root/SYSTEM, or whoever can
//! write it gets the service's rights: a binary outside the system's own folders (a download
//! folder, a build tree) is copied to `/usr/local/bin/mailoauth` (`%ProgramFiles%\mailoauth`
//! on Windows) and the service runs that copy.

pub mod launchd;
pub mod systemd;
#[cfg(windows)]
pub mod windows;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The service manager whose files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// systemd.
    Linux,
    /// launchd.
    MacOs,
    /// The Service Control Manager.
    Windows,
}

impl Os {
    /// The platform this build runs on (other Unix: systemd's layout).
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// The group whose members may manage the service, besides root (Linux, macOS; on Windows a
/// local group, besides SYSTEM and elevated Administrators).
pub const MANAGER_GROUP: &str = "mailoauth";

/// Why install/uninstall failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// Installing on the machine itself needs root (or an elevated Administrator).
    #[error("`mailoauth service {action}` changes the machine's services and needs {who}: run it with {how}, or stage the files with --root DIR")]
    NotPrivileged {
        /// install or uninstall.
        action: &'static str,
        /// root / an elevated Administrator.
        who: &'static str,
        /// sudo / an elevated prompt.
        how: &'static str,
    },
    /// A file or folder could not be written or removed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was tried.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A system command failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Its status and stderr.
        detail: String,
    },
    /// The path given cannot be used.
    #[error("--{option}: {detail}")]
    BadOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The Windows service manager refused (Windows only).
    #[error("the Windows service manager: {0}")]
    Windows(String),
    /// The service manager does not run here.
    #[error("{0}: stage the files with --root DIR, or run the service in the foreground with `mailoauth service run` under your own supervisor")]
    NoServiceManager(String),
    /// This platform's service manager is not supported by this build.
    #[error("installing the service on this platform from this build is not supported: {0}")]
    Unsupported(&'static str),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> InstallError + 'a {
    move |source| InstallError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Where things lie on the target system (absolute paths, before any staging root).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The binary the service runs.
    pub binary: PathBuf,
    /// The service manager's file (unit, plist); `None` on Windows (registry).
    pub manager_file: Option<PathBuf>,
    /// The default machine config.
    pub default_config: PathBuf,
    /// Folders that hold tokens, state and logs (removed by `--purge`).
    pub data_dirs: Vec<PathBuf>,
}

impl Layout {
    /// The layout of `os`.
    pub fn of(os: Os) -> Layout {
        match os {
            Os::Linux => Layout {
                binary: "/usr/local/bin/mailoauth".into(),
                manager_file: Some(
                    Path::new("/")
                        .join(systemd::UNIT_DIR)
                        .join(systemd::UNIT_NAME),
                ),
                default_config: "/etc/mailoauth/mailoauth.toml".into(),
                data_dirs: vec!["/var/lib/mailoauth".into(), "/var/log/mailoauth".into()],
            },
            Os::MacOs => Layout {
                binary: "/usr/local/bin/mailoauth".into(),
                manager_file: Some(
                    Path::new("/")
                        .join(launchd::PLIST_DIR)
                        .join(launchd::file_name()),
                ),
                default_config: "/Library/Application Support/mailoauth/mailoauth.toml".into(),
                data_dirs: vec![launchd::LOG_DIR.into()],
            },
            Os::Windows => {
                let data =
                    std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into());
                let programs =
                    std::env::var("ProgramFiles").unwrap_or_else(|_| r"C:\Program Files".into());
                Layout {
                    binary: PathBuf::from(format!(r"{programs}\mailoauth\mailoauth.exe")),
                    manager_file: None,
                    default_config: PathBuf::from(format!(r"{data}\mailoauth\mailoauth.toml")),
                    data_dirs: vec![],
                }
            }
        }
    }
}

/// `path` (absolute on the target) below the staging root, or itself without one.
pub fn staged(root: Option<&Path>, path: &Path) -> PathBuf {
    match root {
        Some(r) => r.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_path_buf(),
    }
}

/// What `service install` was asked.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Staging root: write below it, touch nothing else.
    pub root: Option<PathBuf>,
    /// The machine config the service serves (absolute on the target); else the default.
    pub config: Option<PathBuf>,
    /// Whose files: the running platform's, or another one's when staging.
    pub os: Os,
    /// The binary to put in place (the running one).
    pub source_binary: PathBuf,
    /// An OS user to add to the managers group ([`MANAGER_GROUP`]; a local group on Windows), so that the
    /// wizard that asked for this install manages the service afterwards without another
    /// elevation prompt. The group database is the machine's: this changes it even with
    /// `root` (a membership cannot be staged).
    pub manager: Option<String>,
}

/// What `service uninstall` was asked.
#[derive(Debug, Clone)]
pub struct UninstallOptions {
    /// Staging root: remove below it, touch nothing else.
    pub root: Option<PathBuf>,
    /// Remove config, tokens, state and logs too.
    pub purge: bool,
    /// Whose files.
    pub os: Os,
}

/// What was done, line by line, for the admin.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per step.
    pub lines: Vec<String>,
    /// The config the service was set up with (for the revocation help after uninstall).
    pub config: Option<PathBuf>,
}

impl Report {
    fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
}

fn is_privileged() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(windows)]
    {
        windows::is_elevated()
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

fn not_privileged(action: &'static str) -> InstallError {
    if cfg!(windows) {
        InstallError::NotPrivileged {
            action,
            who: "an elevated Administrator",
            how: "an elevated prompt (Run as administrator)",
        }
    } else {
        InstallError::NotPrivileged {
            action,
            who: "root",
            how: "sudo",
        }
    }
}

/// Writes `content` to `path` through a temporary file and a rename, with `mode`.
fn write_file(path: &Path, content: &[u8], mode: u32) -> Result<(), InstallError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io("create the folder", dir))?;
    let tmp = dir.join(format!(
        ".{}.mailoauth-tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = fs::remove_file(&tmp);
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp).map_err(io("write", &tmp))?;
        f.write_all(content).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("write", &tmp))?;
    }
    fs::rename(&tmp, path).map_err(io("write", path))
}

fn run(program: &str, args: &[&str]) -> Result<String, InstallError> {
    let line = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| InstallError::Command {
            command: line.clone(),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(InstallError::Command {
            command: line,
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the service can run `binary` where it lies (only root can write those folders).
fn is_system_binary(binary: &Path, os: Os) -> bool {
    match os {
        Os::Windows => std::env::var_os("ProgramFiles").is_some_and(|p| binary.starts_with(p)),
        _ => [
            "/usr/bin",
            "/usr/sbin",
            "/usr/local/bin",
            "/usr/local/sbin",
            "/opt",
        ]
        .iter()
        .any(|d| binary.starts_with(d)),
    }
}

/// Installs (or upgrades in place) the service. See the module's documentation.
pub fn install(opts: &InstallOptions) -> Result<Report, InstallError> {
    let root = opts.root.as_deref();
    if root.is_none() && opts.os != Os::current() {
        return Err(InstallError::BadOption {
            option: "for",
            detail: "another platform's files can only be staged: add --root DIR".into(),
        });
    }
    if (root.is_none() || opts.manager.is_some()) && !is_privileged() {
        return Err(not_privileged("install"));
    }
    if let Some(user) = &opts.manager {
        check_manager_name(opts.os, user)?;
        // Before the running service is stopped for an upgrade: a wrong name changes nothing.
        #[cfg(windows)]
        if opts.os == Os::Windows {
            windows::check_manager(user)?;
        }
    }
    // Without systemd running (a container), nothing would start the unit: say so before
    // writing anything, rather than leave a half-installed service.
    if root.is_none() && opts.os == Os::Linux && !Path::new("/run/systemd/system").is_dir() {
        return Err(InstallError::NoServiceManager(
            "systemd is not running on this machine (no /run/systemd/system)".into(),
        ));
    }
    let layout = Layout::of(opts.os);
    // An upgrade in place keeps the config the installed service was given.
    let installed = layout
        .manager_file
        .as_deref()
        .and_then(|f| installed_config(opts.os, &staged(root, f)));
    let config = opts
        .config
        .clone()
        .or(installed)
        .unwrap_or(layout.default_config.clone());
    let windows_absolute =
        opts.os == Os::Windows && config.to_string_lossy().get(1..3) == Some(":\\");
    if !(config.is_absolute() || windows_absolute) {
        return Err(InstallError::BadOption {
            option: "config",
            detail: format!(
                "{} is not an absolute path; the service does not start in this folder: give the full path",
                config.display()
            ),
        });
    }
    let mut report = Report {
        config: Some(config.clone()),
        ..Report::default()
    };

    // On Windows a running image cannot be replaced: stop the old service first (upgrade).
    #[cfg(windows)]
    if root.is_none() && opts.os == Os::Windows {
        windows::stop_if_running(&mut report)?;
    }
    // The binary: where only root can replace it.
    let binary = if root.is_none() && is_system_binary(&opts.source_binary, opts.os) {
        opts.source_binary.clone()
    } else {
        layout.binary.clone()
    };
    let binary_at = staged(root, &binary);
    let same = fs::canonicalize(&binary_at)
        .ok()
        .is_some_and(|b| fs::canonicalize(&opts.source_binary).is_ok_and(|s| s == b));
    if !same {
        let bytes = fs::read(&opts.source_binary).map_err(io("read", &opts.source_binary))?;
        write_file(&binary_at, &bytes, 0o755)?;
        report.say(format!(
            "copied {} to {} (the service runs a binary only root can replace)",
            opts.source_binary.display(),
            binary_at.display()
        ));
    }

    // The config's folder, so the service finds it and the unit's ReadWritePaths exists.
    if let Some(dir) = config.parent() {
        let dir = staged(root, dir);
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io("create the folder", &dir))?;
            report.say(format!("created {}", dir.display()));
        }
    }

    match opts.os {
        Os::Linux => {
            let unit = systemd::unit(&systemd::UnitSpec {
                binary: &binary,
                config: &config,
            });
            let path = staged(
                root,
                layout.manager_file.as_deref().unwrap_or(Path::new("/")),
            );
            write_file(&path, unit.as_bytes(), 0o644)?;
            report.say(format!("wrote {}", path.display()));
            if root.is_none() {
                ensure_group_linux(&mut report)?;
                run("systemctl", &["daemon-reload"])?;
                run("systemctl", &["enable", systemd::UNIT_NAME])?;
                // restart, not start: an upgrade in place must run the new binary.
                run("systemctl", &["restart", systemd::UNIT_NAME])?;
                report.say(format!("enabled and started {}", systemd::UNIT_NAME));
            }
        }
        Os::MacOs => {
            let text = launchd::plist(&binary, &config);
            let path = staged(
                root,
                layout.manager_file.as_deref().unwrap_or(Path::new("/")),
            );
            write_file(&path, text.as_bytes(), 0o644)?;
            report.say(format!("wrote {}", path.display()));
            let logs = staged(root, Path::new(launchd::LOG_DIR));
            fs::create_dir_all(&logs).map_err(io("create the folder", &logs))?;
            if root.is_none() {
                ensure_group_macos(&mut report)?;
                let target = format!("system/{}", launchd::LABEL);
                if succeeds("launchctl", &["print", &target]) {
                    // Loaded already (an upgrade): unload, so the new plist and binary are used.
                    run("launchctl", &["bootout", &target])?;
                }
                run(
                    "launchctl",
                    &["bootstrap", "system", &path.to_string_lossy()],
                )?;
                run("launchctl", &["enable", &target])?;
                report.say(format!("loaded and started {}", launchd::LABEL));
            }
        }
        Os::Windows => {
            #[cfg(windows)]
            {
                if root.is_some() {
                    return Err(InstallError::Unsupported(
                        "a Windows service is a registration, not a file: it cannot be staged",
                    ));
                }
                // The group and the member first: the service reads its managers at start (the
                // pipe's security descriptor), so the desktop user can connect at once.
                match &opts.manager {
                    Some(user) => windows::add_manager(user, &mut report)?,
                    None => {
                        if let Err(e) = windows::ensure_manager_group(&mut report) {
                            report.say(format!("note: the local group {MANAGER_GROUP} was not created ({e}): only SYSTEM and elevated Administrators manage the service"));
                        }
                    }
                }
                windows::register(&binary, &config, &mut report)?;
            }
            #[cfg(not(windows))]
            return Err(InstallError::Unsupported(
                "a Windows service is a registration, not a file: it cannot be staged",
            ));
        }
    }
    if let Some(user) = opts.manager.as_ref().filter(|_| opts.os != Os::Windows) {
        add_manager(opts.os, user, &mut report)?;
    }
    if root.is_some() {
        report.say(if opts.manager.is_some() {
            "staged files; the manager was added on this machine, the service manager was not told (install without --root on the target)"
        } else {
            "staged only: no group created, the service manager was not told (install without --root on the target)"
        });
    }
    Ok(report)
}

/// A user name `--manager` accepts, and never an option: on Linux and macOS what `useradd` and
/// macOS accept; on Windows `user` or `DOMAIN\user` (spaces allowed, none of the characters
/// Windows refuses in account names).
fn check_manager_name(os: Os, user: &str) -> Result<(), InstallError> {
    let ok = !user.is_empty()
        && user.len() <= 256
        && !user.starts_with('-')
        && match os {
            Os::Windows => {
                user.matches('\\').count() <= 1
                    && !user.starts_with('\\')
                    && !user.ends_with('\\')
                    && !user.starts_with(' ')
                    && !user.ends_with(' ')
                    && !user
                        .chars()
                        .any(|c| c.is_control() || "\"/[]:;|=,+*?<>".contains(c))
            }
            _ => user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '$' | '@')),
        };
    if ok {
        Ok(())
    } else {
        Err(InstallError::BadOption {
            option: "manager",
            detail: format!(
                "{user:?} is not a user name ({}): give the login name of the user who manages the service",
                if os == Os::Windows {
                    "user or DOMAIN\\user"
                } else {
                    "letters, digits, `.`, `_`, `-`"
                }
            ),
        })
    }
}

/// Adds `user` to the managers group (created when missing): Linux `gpasswd -a`, macOS
/// `dseditgroup` (Windows: `windows::add_manager`, before the service starts). The service
/// reads the group database on each request (src/service/peer.rs, `getgrouplist`), so the
/// membership counts at once, without a new login.
fn add_manager(os: Os, user: &str, report: &mut Report) -> Result<(), InstallError> {
    match os {
        Os::Linux => {
            if !succeeds("getent", &["passwd", user]) {
                return Err(InstallError::BadOption {
                    option: "manager",
                    detail: format!("no user {user:?} on this machine"),
                });
            }
            ensure_group_linux(report)?;
            run("gpasswd", &["-a", user, MANAGER_GROUP])?;
        }
        Os::MacOs => {
            ensure_group_macos(report)?;
            run(
                "dseditgroup",
                &["-o", "edit", "-a", user, "-t", "user", MANAGER_GROUP],
            )?;
        }
        Os::Windows => {
            // Done by `windows::add_manager` before the service starts; never staged.
            return Ok(());
        }
    }
    report.say(format!(
        "added {user} to the group {MANAGER_GROUP}: {user} manages the service (saves its accounts, hands it tokens) without root"
    ));
    Ok(())
}

fn ensure_group_linux(report: &mut Report) -> Result<(), InstallError> {
    if succeeds("getent", &["group", MANAGER_GROUP]) {
        return Ok(());
    }
    run("groupadd", &["--system", MANAGER_GROUP])?;
    report.say(format!(
        "created the group {MANAGER_GROUP} (its members may manage the service: usermod -aG {MANAGER_GROUP} USER)"
    ));
    Ok(())
}

fn ensure_group_macos(report: &mut Report) -> Result<(), InstallError> {
    if succeeds("dseditgroup", &["-o", "read", MANAGER_GROUP]) {
        return Ok(());
    }
    run(
        "dseditgroup",
        &[
            "-o",
            "create",
            "-r",
            "mailoauth service managers",
            MANAGER_GROUP,
        ],
    )?;
    report.say(format!(
        "created the group {MANAGER_GROUP} (its members may manage the service: dseditgroup -o edit -a USER -t user {MANAGER_GROUP})"
    ));
    Ok(())
}

/// The config the installed unit or plist names after `--config`, if it can be read back.
fn installed_config(os: Os, file: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(file).ok()?;
    match os {
        Os::Linux => {
            let line = text.lines().find_map(|l| l.strip_prefix("ExecStart="))?;
            let args = split_exec(line);
            let i = args.iter().position(|a| a == "--config")?;
            args.get(i + 1).map(PathBuf::from)
        }
        Os::MacOs => {
            let strings: Vec<&str> = text
                .split("<string>")
                .skip(1)
                .filter_map(|s| s.split("</string>").next())
                .collect();
            let i = strings.iter().position(|s| *s == "--config")?;
            strings.get(i + 1).map(|s| {
                PathBuf::from(
                    s.replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&amp;", "&"),
                )
            })
        }
        Os::Windows => None,
    }
}

/// The reverse of `systemd::exec_arg`: words, double quotes, backslash escapes, `%%` and `$$`.
fn split_exec(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => cur.extend(chars.next()),
            '%' | '$' if chars.peek() == Some(&c) => {
                chars.next();
                cur.push(c);
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            _ => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn remove(path: &Path, report: &mut Report) -> Result<(), InstallError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("remove", path)(e)),
    };
    if meta.is_dir() {
        fs::remove_dir_all(path).map_err(io("remove", path))?;
    } else {
        fs::remove_file(path).map_err(io("remove", path))?;
    }
    report.say(format!("removed {}", path.display()));
    Ok(())
}

/// Stops and removes the service; with `purge`, its config, tokens, state and logs as well.
pub fn uninstall(opts: &UninstallOptions) -> Result<Report, InstallError> {
    let root = opts.root.as_deref();
    if root.is_none() && !is_privileged() {
        return Err(not_privileged("uninstall"));
    }
    let layout = Layout::of(opts.os);
    let mut report = Report::default();
    let file = layout.manager_file.as_deref().map(|f| staged(root, f));
    let config = file
        .as_deref()
        .and_then(|f| installed_config(opts.os, f))
        .unwrap_or(layout.default_config.clone());
    report.config = Some(config.clone());
    match opts.os {
        Os::Linux if root.is_none() => {
            // Not loaded (already stopped, never started) is fine: the file goes either way.
            if let Err(e) = run("systemctl", &["disable", "--now", systemd::UNIT_NAME]) {
                report.say(format!("note: {e}"));
            } else {
                report.say(format!("stopped and disabled {}", systemd::UNIT_NAME));
            }
        }
        Os::MacOs if root.is_none() => {
            let target = format!("system/{}", launchd::LABEL);
            if succeeds("launchctl", &["print", &target]) {
                run("launchctl", &["bootout", &target])?;
                report.say(format!("stopped and unloaded {}", launchd::LABEL));
            }
        }
        Os::Windows => {
            #[cfg(windows)]
            windows::unregister(opts.purge, &mut report)?;
            #[cfg(not(windows))]
            return Err(InstallError::Unsupported(
                "a Windows service is a registration, not a file: it cannot be staged",
            ));
        }
        _ => {}
    }
    if let Some(f) = &file {
        remove(f, &mut report)?;
    }
    if opts.os == Os::Linux && root.is_none() {
        if let Err(e) = run("systemctl", &["daemon-reload"]) {
            report.say(format!("note: {e}"));
        }
    }
    if opts.purge {
        let mut doomed: Vec<PathBuf> = layout.data_dirs.clone();
        if config.parent() == layout.default_config.parent() {
            // The default folder is mailoauth's own: config, status, tokens beside it.
            doomed.extend(config.parent().map(Path::to_path_buf));
        } else {
            let stem = config
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            doomed.push(config.clone());
            doomed.push(config.with_file_name(format!("{stem}.status.json")));
        }
        for d in doomed {
            remove(&staged(root, &d), &mut report)?;
        }
        if root.is_none() {
            let removed = match opts.os {
                Os::Linux => succeeds("groupdel", &[MANAGER_GROUP]),
                Os::MacOs => succeeds("dseditgroup", &["-o", "delete", MANAGER_GROUP]),
                Os::Windows => false,
            };
            if removed {
                report.say(format!("removed the group {MANAGER_GROUP}"));
            }
        }
    } else {
        report.say(format!(
            "kept the config {} and the tokens (remove them with --purge)",
            staged(root, &config).display()
        ));
    }
    Ok(report)
}

/// What the service manager says about the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerStatus {
    /// The unit, plist or registration exists.
    pub installed: bool,
    /// The service manager reports it running.
    pub running: bool,
    /// The manager's own words (state, enablement).
    pub detail: String,
}

/// Asks the service manager of this machine.
pub fn status() -> ManagerStatus {
    match Os::current() {
        Os::Linux => {
            let file = Layout::of(Os::Linux).manager_file.unwrap_or_default();
            let installed = file.exists();
            let out = |args: &[&str]| {
                Command::new("systemctl")
                    .args(args)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                    .unwrap_or_else(|e| format!("systemctl: {e}"))
            };
            if !Path::new("/run/systemd/system").is_dir() {
                return ManagerStatus {
                    installed,
                    running: false,
                    detail: "systemd is not running on this machine".into(),
                };
            }
            let active = out(&["is-active", systemd::UNIT_NAME]);
            let enabled = out(&["is-enabled", systemd::UNIT_NAME]);
            ManagerStatus {
                installed,
                running: active == "active",
                detail: format!("systemd: {active}, {enabled}"),
            }
        }
        Os::MacOs => {
            let file = Layout::of(Os::MacOs).manager_file.unwrap_or_default();
            let target = format!("system/{}", launchd::LABEL);
            let printed = Command::new("launchctl").args(["print", &target]).output();
            let text = printed
                .as_ref()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let state = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("state = "))
                .unwrap_or("not loaded")
                .to_owned();
            ManagerStatus {
                installed: file.exists(),
                running: state == "running",
                detail: format!("launchd: {state}"),
            }
        }
        Os::Windows => {
            #[cfg(windows)]
            {
                windows::status()
            }
            #[cfg(not(windows))]
            ManagerStatus {
                installed: false,
                running: false,
                detail: "not Windows".into(),
            }
        }
    }
}

/// How to revoke the grants of `accounts` (name, mailbox, provider id) at their providers.
pub fn revoke_help(accounts: &[(String, String, String)]) -> String {
    let mut out = String::from(
        "The grants stay valid at the providers until revoked there (uninstalling does not revoke them):\n",
    );
    if accounts.is_empty() {
        out.push_str("  (no accounts found in the config)\n");
    }
    for (name, mailbox, provider) in accounts {
        let how = match provider.as_str() {
            "google" => "Google: the user at https://myaccount.google.com/permissions (remove the app), or a Workspace admin in the Admin console > Security > Access and data control > API controls; for a service account, delete its key in the Cloud console (IAM & Admin > Service accounts > Keys)",
            "microsoft" => "Microsoft 365: the user at https://myaccount.microsoft.com > Apps (or an admin: Entra admin center > Enterprise applications > the app > Permissions, or Revoke-MgUserSignInSession -UserId MAILBOX); delete the client secret or certificate in App registrations > Certificates & secrets",
            _ => "the provider's console: revoke the app's consent for the mailbox and delete its client secret",
        };
        out.push_str(&format!("  {name} ({mailbox}): {how}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_names_are_checked_per_platform_and_never_an_option() {
        for ok in ["alice", "a.b_c-d", "svc$"] {
            assert!(check_manager_name(Os::Linux, ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", r"CORP\alice", "a;b", "a/b"] {
            assert!(check_manager_name(Os::Linux, bad).is_err(), "{bad}");
            assert!(check_manager_name(Os::MacOs, bad).is_err(), "{bad}");
        }
        for ok in ["alice", r"CORP\alice", r"DESKTOP-1\Jane Doe", "jane.doe"] {
            assert!(check_manager_name(Os::Windows, ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "-x", r"\alice", r"CORP\", r"A\B\c", "a\"b", "a:b", "a,b", "a*", " alice",
            "alice\n",
        ] {
            let e = check_manager_name(Os::Windows, bad).unwrap_err();
            assert!(e.to_string().contains("DOMAIN"), "{bad}: {e}");
        }
    }

    #[test]
    fn exec_lines_read_back_as_written() {
        let unit = systemd::unit(&systemd::UnitSpec {
            binary: Path::new("/usr/local/bin/mailoauth"),
            config: Path::new("/etc/my \"mail\" 100%/$x.toml"),
        });
        let line = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(
            split_exec(line),
            [
                "/usr/local/bin/mailoauth",
                "service",
                "run",
                "--config",
                "/etc/my \"mail\" 100%/$x.toml"
            ]
        );
    }

    #[test]
    fn staging_puts_target_paths_below_the_root() {
        assert_eq!(
            staged(
                Some(Path::new("/tmp/r")),
                Path::new("/etc/systemd/system/x")
            ),
            Path::new("/tmp/r/etc/systemd/system/x")
        );
        assert_eq!(staged(None, Path::new("/etc/x")), Path::new("/etc/x"));
    }

    #[test]
    fn revocation_help_names_each_account_and_where_to_go() {
        let h = revoke_help(&[
            ("scan".into(), "scan@example.com".into(), "microsoft".into()),
            ("print".into(), "print@example.org".into(), "google".into()),
        ]);
        assert!(h.contains("scan (scan@example.com): Microsoft 365"));
        assert!(h.contains("print (print@example.org): Google"));
    }
}
