//! The support log: what mailoauth did, for the admin and for support, never with a secret.
//!
//! Both the app and the CLI write a daily file (`mailoauth.YYYY-MM-DD.log`, UTC, the last
//! [`KEEP_FILES`] kept) in a per-user folder ([`default_dir`], overridden by
//! `MAILOAUTH_LOG_DIR`). A folder mailoauth creates is made `0700`; an existing one is used only
//! if it belongs to this account (or root) and no other account may write it, and its mode is
//! never changed (mailoauth does not own it). Files are created `0600` and opened without
//! following a link ([`DailyFile`]). The level comes from `MAILOAUTH_LOG` (an `EnvFilter` directive such as
//! `debug` or `mailoauth=trace`), default `info`.
//!
//! Secrets are already wrapped in [`crate::secret::Secret`], which prints `[redacted]`; as a
//! second line of defence every formatted line passes through [`crate::diagnosis::scrub`]
//! before it reaches the file, so a provider reply or a server line that quotes a token is
//! scrubbed too.

use crate::diagnosis::scrub;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The environment variable naming the log folder.
pub const DIR_ENV: &str = "MAILOAUTH_LOG_DIR";
/// The environment variable with the log level directives.
pub const LEVEL_ENV: &str = "MAILOAUTH_LOG";
/// How many daily files are kept.
pub const KEEP_FILES: usize = 14;
/// The file name prefix; the rolling appender adds the date and the suffix.
pub const FILE_PREFIX: &str = "mailoauth";

/// Why the log could not be set up. The program still runs; the caller says so once.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The folder cannot be created or written.
    #[error("the log folder {path} cannot be used: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// `MAILOAUTH_LOG` is not a valid filter.
    #[error(
        "MAILOAUTH_LOG is not a valid log level ({detail}); use for example `info` or `debug`"
    )]
    Level {
        /// The parser's complaint.
        detail: String,
    },
    /// The rolling file could not be opened.
    #[error("the log file in {path} cannot be opened: {detail}")]
    File {
        /// The folder.
        path: PathBuf,
        /// The appender's complaint.
        detail: String,
    },
}

/// The default log folder for `platform`, given the environment and whether the process runs
/// as root. Pure, so every platform's rule is tested on any machine.
pub fn default_dir_for(
    platform: crate::config::Platform,
    env: &dyn Fn(&str) -> Option<String>,
    is_root: bool,
) -> PathBuf {
    use crate::config::Platform;
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(dir) = set(DIR_ENV) {
        return PathBuf::from(dir);
    }
    match platform {
        Platform::Windows => {
            let base = set("LOCALAPPDATA")
                .or_else(|| set("ProgramData"))
                .unwrap_or_else(|| String::from(r"C:\ProgramData"));
            PathBuf::from(format!(r"{base}\mailoauth\logs"))
        }
        Platform::MacOs => match set("HOME") {
            Some(home) if !is_root => Path::new(&home).join("Library/Logs/mailoauth"),
            _ => PathBuf::from("/Library/Logs/mailoauth"),
        },
        Platform::Unix if is_root => PathBuf::from("/var/log/mailoauth"),
        Platform::Unix => set("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| set("HOME").map(|h| Path::new(&h).join(".local/state")))
            .map(|b| b.join("mailoauth").join("logs"))
            .unwrap_or_else(|| std::env::temp_dir().join(format!("mailoauth-logs-{}", uid()))),
    }
}

/// The effective uid that keys the last-resort folder in the shared temporary folder.
fn uid() -> u32 {
    #[cfg(unix)]
    {
        crate::config::atomic::euid()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// The log folder on this machine, for this user.
pub fn default_dir() -> PathBuf {
    default_dir_for(
        crate::config::Platform::current(),
        &|name| match std::env::var(name).ok() {
            // Services and cron jobs often lack HOME: the account database still knows it.
            None if name == "HOME" => {
                crate::config::location::home_dir().map(|h| h.to_string_lossy().into_owned())
            }
            v => v,
        },
        crate::config::location::running_as_root(),
    )
}

/// Keeps the background writer alive; dropping it flushes the file.
#[must_use = "the log is flushed when the guard is dropped"]
pub struct LogGuard {
    _worker: Option<tracing_appender::non_blocking::WorkerGuard>,
    /// The folder the file is written to.
    pub dir: PathBuf,
}

/// A writer that scrubs credentials out of each formatted line before passing it on.
#[derive(Clone)]
pub struct ScrubbingWriter<W> {
    inner: W,
}

impl<W> ScrubbingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

/// One event's writer: the formatter writes a whole line in one call.
pub struct ScrubbingLine<W: Write> {
    inner: W,
}

impl<W: Write> Write for ScrubbingLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<'a, W> MakeWriter<'a> for ScrubbingWriter<W>
where
    W: MakeWriter<'a>,
{
    type Writer = ScrubbingLine<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingLine {
            inner: self.inner.make_writer(),
        }
    }
}

fn filter(default: &str) -> Result<EnvFilter, LogError> {
    match std::env::var(LEVEL_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            EnvFilter::try_new(text.trim()).map_err(|e| LogError::Level {
                detail: e.to_string(),
            })
        }
        _ => Ok(EnvFilter::new(default)),
    }
}

/// Checks for the log folder: never repaired (the admin may point `MAILOAUTH_LOG_DIR` at a
/// folder of theirs), refused when others may write it (they could put a file or a link under
/// the next day's name, or read what they planted). In the shared temporary folder (the last
/// resort without a home, not a folder the admin named), the folder must also be a real folder
/// of this account, not a link, and owner-only.
fn rules_for(dir: &Path) -> crate::config::atomic::DirRules {
    let chosen = std::env::var_os(DIR_ENV).is_some_and(|d| !d.is_empty());
    let shared = !chosen && dir.starts_with(std::env::temp_dir());
    crate::config::atomic::DirRules {
        follow_link: !shared,
        root_may_own: !shared,
        owner_only: shared,
        repair: false,
    }
}

/// Opens the daily file in `dir` (created owner-only on Unix; an existing folder is checked).
fn file_writer(
    dir: &Path,
) -> Result<
    (
        tracing_appender::non_blocking::NonBlocking,
        tracing_appender::non_blocking::WorkerGuard,
    ),
    LogError,
> {
    crate::config::atomic::ensure_dir(dir, rules_for(dir)).map_err(|source| LogError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut file = DailyFile::new(dir.to_path_buf());
    // Open today's file now, so a file that cannot be used is reported at start-up.
    file.roll(&today()).map_err(|e| LogError::File {
        path: dir.to_path_buf(),
        detail: e.to_string(),
    })?;
    // A small queue: tracing-appender's default of 128,000 lines is an array set up at every
    // start, 2-3 ms of each `mailoauth token` call (measured with `strace -r`, docs/PERFORMANCE.md);
    // a CLI run or the app logs a few lines at a time (a full queue drops lines, never blocks).
    Ok(
        tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(LOG_QUEUE_LINES)
            .finish(file),
    )
}

/// Lines the log writer's queue holds before it drops (never blocks) the next ones.
const LOG_QUEUE_LINES: usize = 1024;

/// The UTC date of now, `YYYY-MM-DD` (the names tracing-appender's daily rotation used).
fn today() -> String {
    crate::validate::CivilDate::today().to_string()
}

/// The daily log file, opened by mailoauth rather than by tracing-appender's rolling appender,
/// which creates its files with the process umask (`0644`) and follows a link planted under the
/// day's name: here each file is created `0600`, opened with `O_NOFOLLOW`, must be a regular
/// file of this account, and only the last [`KEEP_FILES`] are kept. Same names as before.
pub struct DailyFile {
    dir: PathBuf,
    day: String,
    file: Option<std::fs::File>,
}

impl DailyFile {
    /// Files in `dir`; nothing is opened before the first write (or [`DailyFile::roll`]).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            day: String::new(),
            file: None,
        }
    }

    /// The file of `day`.
    pub fn path_of(&self, day: &str) -> PathBuf {
        self.dir.join(format!("{FILE_PREFIX}.{day}.log"))
    }

    /// Switches to the file of `day` (opening it safely) and prunes old files.
    pub fn roll(&mut self, day: &str) -> io::Result<()> {
        let path = self.path_of(day);
        let file = open_log_file(&path)?;
        self.file = Some(file);
        self.day = day.to_string();
        self.prune();
        Ok(())
    }

    /// Removes the oldest daily files beyond [`KEEP_FILES`]; links and other names are left.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{FILE_PREFIX}.");
        let mut days: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(&prefix)
                    .and_then(|r| r.strip_suffix(".log"))
                    .is_some_and(|d| {
                        d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                    })
            })
            .map(|e| e.path())
            .collect();
        days.sort();
        let excess = days.len().saturating_sub(KEEP_FILES);
        for old in &days[..excess] {
            let _ = std::fs::remove_file(old);
        }
    }
}

/// Opens (appending, creating `0600`) a log file without following a link; refuses anything
/// but a regular file of this account.
fn open_log_file(path: &Path) -> io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is a symbolic link; mailoauth does not follow links for log files: remove it",
                    path.display()
                ),
            )
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    let refuse = |why: String| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: {why}; remove it", path.display()),
        )
    };
    if !meta.is_file() {
        return Err(refuse(String::from("not a regular file")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let me = crate::config::atomic::euid();
        if meta.uid() != me {
            return Err(refuse(format!(
                "the log file belongs to another account (uid {}), not to this one (uid {me})",
                meta.uid()
            )));
        }
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

impl Write for DailyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let day = today();
        if self.file.is_none() || day != self.day {
            self.roll(&day)?;
        }
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Where the log lines go besides the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Only the file (the app).
    None,
    /// Errors also on standard error (the CLI: stdout carries tokens and reports, and the CLI
    /// prints its own explanation of every failure, so warnings would only repeat it).
    StderrErrors,
}

/// When the log file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// At start-up, so a file that cannot be used is reported at once; lines are written by a
    /// background thread (the app, and CLI commands that do work).
    Now,
    /// At the first line, written by the caller: `mailoauth token` runs for every mail sent or
    /// fetched and usually logs nothing, so it does not pay for a folder check, a file open, an
    /// old-file sweep and a writer thread it will not use (docs/PERFORMANCE.md).
    FirstLine,
}

/// The daily file opened at its first line (folder checked then): [`Open::FirstLine`].
struct FirstLineFile {
    dir: PathBuf,
    file: Option<DailyFile>,
}

impl Write for FirstLineFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() {
            crate::config::atomic::ensure_dir(&self.dir, rules_for(&self.dir))?;
            self.file = Some(DailyFile::new(self.dir.clone()));
        }
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Sets up the global log: the daily file in `dir` (or [`default_dir`]) and, for the CLI,
/// errors on standard error. When the file cannot be used, the error is returned and only the
/// echo (if any) is installed, so the program still runs and can say so.
pub fn init(dir: Option<PathBuf>, echo: Echo) -> Result<LogGuard, LogError> {
    init_with(dir, echo, Open::Now)
}

/// [`init`], choosing when the file is opened. With [`Open::FirstLine`] a file that cannot be
/// used is found only at the first line, and that line is lost (the echo still shows errors).
pub fn init_with(dir: Option<PathBuf>, echo: Echo, open: Open) -> Result<LogGuard, LogError> {
    let dir = dir.unwrap_or_else(default_dir);
    let level = filter("info")?;
    type Boxed = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;
    let mut layers: Vec<Boxed> = Vec::new();
    if echo == Echo::StderrErrors {
        layers.push(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .with_target(false)
                .with_writer(ScrubbingWriter::new(io::stderr))
                .with_filter(tracing_subscriber::filter::LevelFilter::ERROR)
                .boxed(),
        );
    }
    if open == Open::FirstLine {
        let file = std::sync::Mutex::new(FirstLineFile {
            dir: dir.clone(),
            file: None,
        });
        layers.push(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(ScrubbingWriter::new(file))
                .with_filter(level)
                .boxed(),
        );
        let _ = tracing_subscriber::registry().with(layers).try_init();
        return Ok(LogGuard { _worker: None, dir });
    }
    let result = match file_writer(&dir) {
        Ok((writer, guard)) => {
            layers.push(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(ScrubbingWriter::new(writer))
                    .with_filter(level)
                    .boxed(),
            );
            Ok(LogGuard {
                _worker: Some(guard),
                dir,
            })
        }
        Err(e) => Err(e),
    };
    // A second init (tests, a host that set its own subscriber) keeps the first.
    let _ = tracing_subscriber::registry().with(layers).try_init();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::location::tests::env_of;
    use crate::config::Platform;

    #[test]
    fn default_folders_per_platform() {
        type Case = (
            Platform,
            &'static [(&'static str, &'static str)],
            bool,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                Platform::Unix,
                &[("HOME", "/home/a")],
                false,
                "/home/a/.local/state/mailoauth/logs",
            ),
            (
                Platform::Unix,
                &[("HOME", "/home/a"), ("XDG_STATE_HOME", "/s")],
                false,
                "/s/mailoauth/logs",
            ),
            (
                Platform::Unix,
                &[("HOME", "/root")],
                true,
                "/var/log/mailoauth",
            ),
            (
                Platform::MacOs,
                &[("HOME", "/Users/a")],
                false,
                "/Users/a/Library/Logs/mailoauth",
            ),
            (
                Platform::Windows,
                &[("LOCALAPPDATA", r"C:\Users\a\AppData\Local")],
                false,
                r"C:\Users\a\AppData\Local\mailoauth\logs",
            ),
            (
                Platform::Unix,
                &[("HOME", "/home/a"), (DIR_ENV, "/srv/logs")],
                false,
                "/srv/logs",
            ),
        ];
        for (platform, env, root, want) in cases {
            assert_eq!(
                default_dir_for(*platform, &env_of(env), *root),
                PathBuf::from(want),
                "{platform:?} {env:?}"
            );
        }
    }

    #[test]
    fn lines_are_scrubbed_before_they_are_written() {
        let sink = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink2 = sink.clone();
        let make = move || SinkWriter(sink2.clone());
        let writer = ScrubbingWriter::new(make);
        let token = "ya29.a0AfH6SMBx3kLq9VvW2mZpT8yR4nQ7cD1eF5gH0jK";
        let mut line = writer.make_writer();
        line.write_all(format!("server said: Authorization: Bearer {token}\n").as_bytes())
            .unwrap();
        let out = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        assert!(!out.contains(token), "{out}");
        assert!(out.contains("server said"), "{out}");
    }

    #[test]
    fn daily_names_are_utc_dates() {
        let civil_date = |d| crate::validate::CivilDate::from_days(d).to_string();
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_722), "2023-12-31");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_793), "2026-12-06");
    }

    #[test]
    fn old_daily_files_are_pruned_and_other_files_left() {
        let dir = std::env::temp_dir().join(format!("mailoauth-logs-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for d in 1..=20 {
            std::fs::write(dir.join(format!("mailoauth.2026-01-{d:02}.log")), b"x").unwrap();
        }
        std::fs::write(dir.join("notes.txt"), b"x").unwrap();
        let mut f = DailyFile::new(dir.clone());
        f.roll("2026-01-21").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), KEEP_FILES + 1, "{names:?}");
        assert_eq!(names[0], "mailoauth.2026-01-08.log");
        assert!(names.contains(&String::from("notes.txt")));
        assert!(names.contains(&String::from("mailoauth.2026-01-21.log")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_first_line_file_touches_nothing_until_its_first_line() {
        let base =
            std::env::temp_dir().join(format!("mailoauth-logs-first-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let dir = base.join("logs");
        let mut f = FirstLineFile {
            dir: dir.clone(),
            file: None,
        };
        f.flush().unwrap();
        assert!(!dir.exists(), "the folder was made before any line");
        f.write_all(b"one line\n").unwrap();
        f.flush().unwrap();
        let today = std::fs::read_to_string(dir.join(format!("{FILE_PREFIX}.{}.log", today())));
        assert_eq!(today.unwrap(), "one line\n");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[cfg(unix)]
    #[test]
    fn a_log_file_is_created_owner_only_and_never_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mailoauth-logs-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("elsewhere");
        let mut f = DailyFile::new(dir.clone());
        std::os::unix::fs::symlink(&target, f.path_of("2026-02-02")).unwrap();
        let e = f.roll("2026-02-02").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!target.exists());
        f.roll("2026-02-03").unwrap();
        f.write_all(b"line\n").unwrap();
        let mode = std::fs::metadata(f.path_of("2026-02-03"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }

    struct SinkWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
