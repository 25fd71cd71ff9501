//! Where the config file lives by default on each platform.
//!
//! Services run as system accounts, so the default is a machine-wide folder; a non-root user on
//! Linux gets the XDG config folder instead, because `/etc` is not writable for them. The admin
//! can always choose another file (the GUI offers a file dialog, the CLI `--config`), and
//! `MAILOAUTH_CONFIG` overrides the default for services that cannot pass arguments.

use std::path::{Path, PathBuf};

/// The file name of the config inside its folder.
pub const FILE_NAME: &str = "mailoauth.toml";

/// The environment variable that names the config file, overriding the default.
pub const ENV_VAR: &str = "MAILOAUTH_CONFIG";

/// The operating systems with different default folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Windows: `%ProgramData%\mailoauth`.
    Windows,
    /// macOS: `/Library/Application Support/mailoauth`.
    MacOs,
    /// Linux and other Unix: `/etc/mailoauth`, or `$XDG_CONFIG_HOME/mailoauth` for a non-root user.
    Unix,
}

impl Platform {
    /// The platform this build runs on.
    pub fn current() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Unix
        }
    }
}

/// The default config path for `platform`, given the environment and whether the process runs
/// as root (Unix). Pure, so every platform's rule is tested on any machine.
pub fn default_path_for(
    platform: Platform,
    env: &dyn Fn(&str) -> Option<String>,
    is_root: bool,
) -> PathBuf {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(p) = set(ENV_VAR) {
        return PathBuf::from(p);
    }
    match platform {
        Platform::Windows => {
            let base = set("ProgramData").unwrap_or_else(|| String::from(r"C:\ProgramData"));
            // Joined by hand so the test of the Windows rule gives the same text on Unix.
            PathBuf::from(format!(r"{base}\mailoauth\{FILE_NAME}"))
        }
        Platform::MacOs => Path::new("/Library/Application Support/mailoauth").join(FILE_NAME),
        Platform::Unix if is_root => Path::new("/etc/mailoauth").join(FILE_NAME),
        Platform::Unix => {
            let base = set("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| set("HOME").map(|h| Path::new(&h).join(".config")));
            match base {
                Some(b) => b.join("mailoauth").join(FILE_NAME),
                None => Path::new("/etc/mailoauth").join(FILE_NAME),
            }
        }
    }
}

pub(crate) fn running_as_root() -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        // The owner of /proc/self is the effective user: no libc call needed.
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::env::var("USER").is_ok_and(|u| u == "root")
    }
}

/// The home folder of this account: `HOME` when set, else the account database's entry for
/// the effective uid (services and cron jobs often run without `HOME`). `None` when neither
/// names one; callers then refuse rather than fall back to the shared temporary folder.
pub fn home_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    #[cfg(unix)]
    {
        home_of(crate::config::atomic::euid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The home folder of `uid` in the account database (`getpwuid_r`).
#[cfg(unix)]
pub fn home_of(uid: u32) -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to fill in.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives every use of `pw`.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pw.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into `buf`, NUL-terminated by getpwuid_r.
    let dir = unsafe { CStr::from_ptr(pw.pw_dir) };
    let dir = std::ffi::OsStr::from_bytes(dir.to_bytes());
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// The default config path on this machine, for this user.
pub fn default_path() -> PathBuf {
    default_path_for(
        Platform::current(),
        &|name| std::env::var(name).ok(),
        running_as_root(),
    )
}

/// Which config file a front end uses: a fixed file (the sandbox's own, never mixed with real
/// accounts), else the file the admin chose (remembered across starts in a small preferences
/// file of one path), else [`default_path`]. The app, the CLI and the service all ask this.
#[derive(Debug, Default)]
pub struct ConfigChoice {
    /// A file that always wins (the sandbox's).
    fixed: Option<PathBuf>,
    /// The admin's choice, if any.
    chosen: std::sync::Mutex<Option<PathBuf>>,
    /// Where the choice is remembered; none: only for this run.
    prefs: std::sync::OnceLock<PathBuf>,
}

impl ConfigChoice {
    /// A choice with `fixed` winning over everything else when it is given.
    pub fn new(fixed: Option<PathBuf>) -> Self {
        Self {
            fixed,
            ..Self::default()
        }
    }

    /// Reads the remembered choice from `prefs` (a text file holding one path) and remembers
    /// later choices there. A missing or empty file means no choice.
    pub fn load_prefs(&self, prefs: PathBuf) {
        let chosen = std::fs::read_to_string(&prefs)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(PathBuf::from);
        if let Ok(mut slot) = self.chosen.lock() {
            *slot = chosen;
        }
        let _ = self.prefs.set(prefs);
    }

    /// Remembers `path` as the config file, for this run and (with a preferences file) the next.
    pub fn choose(&self, path: PathBuf) -> std::io::Result<()> {
        if let Some(prefs) = self.prefs.get() {
            if let Some(dir) = prefs.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(prefs, path.display().to_string())?;
        }
        if let Ok(mut slot) = self.chosen.lock() {
            *slot = Some(path);
        }
        Ok(())
    }

    /// The config file to use now.
    pub fn path(&self) -> PathBuf {
        if let Some(f) = &self.fixed {
            return f.clone();
        }
        self.chosen
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .unwrap_or_else(default_path)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An environment of fixed variables, for the per-platform rules.
    pub(crate) fn env_of(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn each_platform_has_its_machine_wide_default() {
        let none = env_of(&[]);
        assert_eq!(
            default_path_for(Platform::Windows, &none, false),
            PathBuf::from(r"C:\ProgramData\mailoauth\mailoauth.toml")
        );
        assert_eq!(
            default_path_for(
                Platform::Windows,
                &env_of(&[("ProgramData", r"D:\PD")]),
                false
            ),
            PathBuf::from(r"D:\PD\mailoauth\mailoauth.toml")
        );
        assert_eq!(
            default_path_for(Platform::MacOs, &none, true),
            PathBuf::from("/Library/Application Support/mailoauth/mailoauth.toml")
        );
        assert_eq!(
            default_path_for(Platform::Unix, &env_of(&[("HOME", "/home/a")]), true),
            PathBuf::from("/etc/mailoauth/mailoauth.toml")
        );
    }

    #[test]
    fn a_linux_user_gets_xdg_and_the_variable_wins() {
        assert_eq!(
            default_path_for(Platform::Unix, &env_of(&[("HOME", "/home/a")]), false),
            PathBuf::from("/home/a/.config/mailoauth/mailoauth.toml")
        );
        assert_eq!(
            default_path_for(
                Platform::Unix,
                &env_of(&[("HOME", "/home/a"), ("XDG_CONFIG_HOME", "/x")]),
                false
            ),
            PathBuf::from("/x/mailoauth/mailoauth.toml")
        );
        assert_eq!(
            default_path_for(
                Platform::Windows,
                &env_of(&[("MAILOAUTH_CONFIG", "/srv/m.toml")]),
                false
            ),
            PathBuf::from("/srv/m.toml")
        );
    }

    #[test]
    fn a_fixed_file_wins_and_a_choice_is_remembered_for_the_next_start() {
        let dir = std::env::temp_dir().join(format!("mailoauth-choice-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let prefs = dir.join("prefs").join("config-path");
        let first = ConfigChoice::new(None);
        first.load_prefs(prefs.clone());
        assert_eq!(first.path(), default_path(), "nothing chosen yet");
        first.choose(dir.join("a.toml")).unwrap();
        assert_eq!(first.path(), dir.join("a.toml"));
        let next = ConfigChoice::new(None);
        next.load_prefs(prefs.clone());
        assert_eq!(next.path(), dir.join("a.toml"), "remembered across starts");
        let sandbox = ConfigChoice::new(Some(dir.join("sandbox.toml")));
        sandbox.load_prefs(prefs);
        assert_eq!(sandbox.path(), dir.join("sandbox.toml"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
