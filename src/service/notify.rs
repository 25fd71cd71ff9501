//! Telling the admin: once per state change of an account, a line in the service's log and the
//! OS log (syslog/journald on Unix, the Event Log on Windows), and the admin's hook command.
//!
//! The hook is the admin's own program (the `[service] hook` key of the machine config). It is
//! started without a shell, with a cleared environment: only `PATH` (and on Windows the few
//! variables a Windows program needs to start) plus the `MAILOAUTH_*` variables below, so
//! nothing of the service's environment (where an `env:` client secret may live) reaches it, and
//! no value is ever put into a command line. It gets [`HOOK_TIMEOUT`]; then it and the processes
//! it started (its process group, on Unix) are killed. Its exit status and the first
//! [`STDERR_KEEP`] bytes of its standard error, scrubbed, go to the log.
//!
//! | variable | value |
//! |---|---|
//! | `MAILOAUTH_ACCOUNT` | the account's name in the config |
//! | `MAILOAUTH_MAILBOX` | its mailbox |
//! | `MAILOAUTH_STATE` | `ok`, `needs_reauthorization`, `failing` or `expires_soon` |
//! | `MAILOAUTH_DIAGNOSIS` | the diagnosis catalog id, or empty |
//! | `MAILOAUTH_REAUTHORIZE` | the command that fixes it (`mailoauth reauthorize NAME`), or empty |
//! | `MAILOAUTH_DETAIL` | one line, scrubbed of tokens and secrets |
//! | `MAILOAUTH_EXPIRES_WHAT`, `MAILOAUTH_EXPIRES_ON` | for `expires_soon`: what ends, and when |

use crate::config;
use crate::validate::CivilDate;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the hook may run before it is killed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of the hook's standard error is kept for the log.
pub const STDERR_KEEP: usize = 2048;

/// Longest `MAILOAUTH_DETAIL`, in characters.
const DETAIL_MAX_CHARS: usize = 500;

/// Days a Google grant lasts when the OAuth consent screen is in Testing status.
pub const GOOGLE_TESTING_GRANT_DAYS: i64 = 7;

/// Days ahead of an end that the admin is reminded, when `[service] notify_days` is not set.
pub const DEFAULT_NOTIFY_DAYS: u32 = 7;

/// The event id of the service's Event Log entries (Windows): the registered message file's
/// message 1 is `%1`, the whole text.
pub const EVENT_ID: u32 = 1;

/// What the admin is told about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// Working.
    Ok,
    /// Only signing in again helps.
    NeedsReauthorization,
    /// Refreshes or checks fail; the service retries.
    Failing,
    /// Something ends soon: `what` ("client secret", ...) on `on` (`YYYY-MM-DD`).
    ExpiresSoon {
        /// What ends.
        what: String,
        /// When (`YYYY-MM-DD`, or a phrase when the day is unknown).
        on: String,
    },
}

impl AccountState {
    /// The `MAILOAUTH_STATE` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountState::Ok => "ok",
            AccountState::NeedsReauthorization => "needs_reauthorization",
            AccountState::Failing => "failing",
            AccountState::ExpiresSoon { .. } => "expires_soon",
        }
    }

    /// The key and value under which the last notification is remembered. Reminders are kept
    /// apart from the account's health (`NAME` for ok/failing/needs_reauthorization,
    /// `NAME/expires_soon/WHAT` for a reminder), so that an account that is OK and has a secret
    /// expiring does not alternate between the two and notify on every tick.
    fn memory(&self, account: &str) -> (String, String) {
        match self {
            AccountState::ExpiresSoon { what, on } => {
                (format!("{account}/expires_soon/{what}"), on.clone())
            }
            s => (account.to_string(), s.as_str().to_string()),
        }
    }

    fn describe(&self) -> String {
        match self {
            AccountState::Ok => String::from("works again"),
            AccountState::NeedsReauthorization => String::from("needs re-authorization"),
            AccountState::Failing => String::from("is failing"),
            AccountState::ExpiresSoon { what, on } => format!("{what} ends on {on}"),
        }
    }
}

/// One observation of an account's state, from the engine.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The account's name.
    pub account: &'a str,
    /// Its mailbox.
    pub mailbox: &'a str,
    /// The state observed.
    pub state: &'a AccountState,
    /// The diagnosis catalog id of the failure, if any.
    pub diagnosis: Option<&'a str>,
    /// What happened, in words; scrubbed again before it is logged or handed to the hook.
    pub detail: &'a str,
}

/// How a hook run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// It exited: its exit code (`None` when a signal ended it).
    Exited(Option<i32>),
    /// It outlived its time and was killed (with its process group on Unix).
    Killed,
    /// It could not be started; why.
    NotStarted(String),
}

/// A finished hook run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRun {
    /// The account it was run for.
    pub account: String,
    /// The `MAILOAUTH_STATE` it was given.
    pub state: &'static str,
    /// How it ended.
    pub outcome: HookOutcome,
    /// The start of its standard error, scrubbed.
    pub stderr: String,
}

/// Where notices are mailed: the `[service] notify_mail` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTarget {
    /// The admin's address.
    pub to: String,
    /// The account the notices are sent through.
    pub via: String,
}

/// A notice to mail to the admin, queued by [`Notifier::observe`] on a state change (the same
/// once-per-change rule as the hook); the engine sends it ([`crate::service::mailer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailNotice {
    /// The admin's address.
    pub to: String,
    /// The account to send through.
    pub via: String,
    /// The account the notice is about.
    pub account: String,
    /// Its state (`MAILOAUTH_STATE`'s value).
    pub state: &'static str,
    /// `mailoauth: MAILBOX STATE (account NAME)`.
    pub subject: String,
    /// Plain text: what happened, why and the fix (from the diagnosis catalog), the command that
    /// re-authorizes, the machine's name. Scrubbed of tokens and secrets.
    pub body: String,
}

/// Notifies once per state change: log, OS log, hook, and a mail to the admin.
pub struct Notifier {
    hook: Option<String>,
    last: BTreeMap<String, String>,
    hook_timeout: Duration,
    os_log: bool,
    running: Vec<JoinHandle<HookRun>>,
    mail: Option<MailTarget>,
    pending_mail: Vec<MailNotice>,
}

impl Notifier {
    /// A notifier running `hook` (if any), remembering `last` (from the service state: what was
    /// last notified per account, as [`Notifier::last_states`] gave it).
    pub fn new(hook: Option<String>, last: BTreeMap<String, String>) -> Self {
        Notifier {
            hook: hook.filter(|h| !h.trim().is_empty()),
            last,
            hook_timeout: HOOK_TIMEOUT,
            os_log: true,
            running: Vec::new(),
            mail: None,
            pending_mail: Vec::new(),
        }
    }

    /// Also mail each notice to `target` (queued for [`Notifier::take_mail`]).
    pub fn with_mail(mut self, target: Option<MailTarget>) -> Self {
        self.mail = target;
        self
    }

    /// The notices queued for mail since the last call, for the engine to send.
    pub fn take_mail(&mut self) -> Vec<MailNotice> {
        std::mem::take(&mut self.pending_mail)
    }

    /// Notices queued by another notifier and not sent yet (a config reload replaces the
    /// notifier between a state change and its mail).
    pub fn with_pending_mail(mut self, pending: Vec<MailNotice>) -> Self {
        self.pending_mail.extend(pending);
        self
    }

    /// Another bound for the hook than [`HOOK_TIMEOUT`].
    pub fn with_hook_timeout(mut self, bound: Duration) -> Self {
        self.hook_timeout = bound;
        self
    }

    /// Whether to write to the OS log too (on by default; tests turn it off).
    pub fn with_os_log(mut self, on: bool) -> Self {
        self.os_log = on;
        self
    }

    /// Logs and runs the hook only when the account's state differs from the last one notified.
    /// Returns whether it notified. An account first seen OK is remembered without a
    /// notification: there is nothing to tell. The hook runs on its own thread; this returns at
    /// once.
    pub fn observe(&mut self, event: &Event) -> bool {
        self.reap();
        let (key, value) = event.state.memory(event.account);
        let previous = self.last.insert(key, value.clone());
        if previous.as_deref() == Some(value.as_str()) {
            return false;
        }
        if previous.is_none() && *event.state == AccountState::Ok {
            return false;
        }
        let detail = one_line(event.detail);
        let text = format!(
            "account {} ({}) {}{}{}",
            event.account,
            one_line(event.mailbox),
            event.state.describe(),
            event
                .diagnosis
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default(),
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        );
        let level = match event.state {
            AccountState::Ok => Level::Info,
            AccountState::Failing | AccountState::ExpiresSoon { .. } => Level::Warning,
            AccountState::NeedsReauthorization => Level::Error,
        };
        match level {
            Level::Info => tracing::info!(
                account = event.account,
                state = event.state.as_str(),
                "{text}"
            ),
            Level::Warning => tracing::warn!(
                account = event.account,
                state = event.state.as_str(),
                "{text}"
            ),
            Level::Error => tracing::error!(
                account = event.account,
                state = event.state.as_str(),
                "{text}"
            ),
        }
        if self.os_log {
            os_log(level, &text);
        }
        if let Some(target) = &self.mail {
            self.pending_mail.push(mail_notice(target, event, &detail));
        }
        if let Some(hook) = &self.hook {
            let env = hook_env(event, &detail);
            let hook = hook.clone();
            let bound = self.hook_timeout;
            let account = event.account.to_string();
            let state = event.state.as_str();
            let spawned = std::thread::Builder::new()
                .name(String::from("mailoauth-hook"))
                .spawn(move || {
                    let run = run_hook(&hook, &env, bound, account, state);
                    log_hook(&run);
                    run
                });
            match spawned {
                Ok(handle) => self.running.push(handle),
                Err(e) => tracing::warn!("the hook could not be started: {e}"),
            }
        }
        true
    }

    /// What was last notified per account, for the caller to persist.
    pub fn last_states(&self) -> &BTreeMap<String, String> {
        &self.last
    }

    /// Waits for the hooks still running (each within its bound) and returns how the runs since
    /// the last call ended; for shutdown and tests.
    pub fn wait_hooks(&mut self) -> Vec<HookRun> {
        self.running
            .drain(..)
            .filter_map(|h| h.join().ok())
            .collect()
    }

    /// Forgets finished hook threads (their outcome is already logged).
    fn reap(&mut self) {
        self.running.retain(|h| !h.is_finished());
    }
}

/// What the service must know about a grant for [`reminders`], beyond the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantFacts {
    /// The Google OAuth consent screen is in Testing status (the wizard asks; the config's
    /// `google_testing_consent`): the grant ends [`GOOGLE_TESTING_GRANT_DAYS`] after sign-in.
    pub google_testing_consent: bool,
    /// The day the admin signed in (the service state's record of when the tokens were handed
    /// over); `None` when unknown.
    pub authorized_on: Option<CivilDate>,
}

/// The reminders due for `account` on `today`: its client secret (or certificate) expiring
/// within `notify_days` (or expired), and a Google grant in Testing status ending within
/// `notify_days` (which, with the default 7, is from the day of sign-in).
pub fn reminders(
    today: CivilDate,
    account: &config::Account,
    notify_days: u32,
    grant: &GrantFacts,
) -> Vec<AccountState> {
    let window = i64::from(notify_days);
    let mut out = Vec::new();
    if let Some(date) = account
        .auth
        .client_secret_expires
        .as_deref()
        .and_then(CivilDate::parse_prefix)
    {
        if date.days() - today.days() <= window {
            out.push(AccountState::ExpiresSoon {
                what: String::from("client secret"),
                on: date.to_string(),
            });
        }
    }
    if grant.google_testing_consent {
        match grant.authorized_on {
            Some(signed_in) => {
                let ends = CivilDate::from_days(signed_in.days() + GOOGLE_TESTING_GRANT_DAYS);
                if ends.days() - today.days() <= window {
                    out.push(AccountState::ExpiresSoon {
                        what: String::from("Google grant (consent screen in Testing status)"),
                        on: ends.to_string(),
                    });
                }
            }
            None => out.push(AccountState::ExpiresSoon {
                what: String::from("Google grant (consent screen in Testing status)"),
                on: format!("{GOOGLE_TESTING_GRANT_DAYS} days after sign-in"),
            }),
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Info,
    Warning,
    Error,
}

/// `text` scrubbed of credentials, on one line without control characters, cut to length.
fn one_line(text: &str) -> String {
    let scrubbed = crate::diagnosis::scrub(text);
    let flat: String = scrubbed
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = flat.split_whitespace().collect();
    words.join(" ").chars().take(DETAIL_MAX_CHARS).collect()
}

/// The command that fixes `event`'s state, or empty.
fn reauthorize_command(event: &Event) -> String {
    match event.state {
        AccountState::NeedsReauthorization | AccountState::ExpiresSoon { .. } => {
            format!("mailoauth reauthorize {}", event.account)
        }
        _ => String::new(),
    }
}

/// This machine's name, as sent in SMTP's EHLO.
pub fn host_name() -> String {
    lettre::transport::smtp::extension::ClientId::default().to_string()
}

/// The mail telling the admin about `event`: the diagnosis catalog's title, cause and fix for
/// its diagnosis, the re-authorization command, the machine's name. Every text is scrubbed.
fn mail_notice(target: &MailTarget, event: &Event, detail: &str) -> MailNotice {
    let account = one_line(event.account);
    let mailbox = one_line(event.mailbox);
    let host = one_line(&host_name());
    let what = event.state.describe();
    let subject = one_line(&format!("mailoauth: {mailbox} {what} (account {account})"));
    let mut body = format!(
        "The mailoauth service on {host} reports: account {account} ({mailbox}) {what}.\n\n"
    );
    if !detail.is_empty() {
        body.push_str(&format!("What happened: {detail}\n\n"));
    }
    let ctx = crate::diagnosis::Context {
        mailbox: Some(event.mailbox.to_string()),
        ..Default::default()
    };
    if let Some(d) = event
        .diagnosis
        .and_then(crate::diagnosis::entry)
        .map(|e| e.diagnosis(&ctx))
    {
        body.push_str(&format!("Why: {}. {}\n\n", d.title, d.cause));
        if !d.fix.is_empty() {
            body.push_str("How to fix it:\n");
            for (n, step) in d.fix.iter().enumerate() {
                body.push_str(&format!("  {}. {step}\n", n + 1));
            }
            if !d.place.is_empty() {
                body.push_str(&format!("  (where: {}", d.place));
                if let Some(link) = &d.link {
                    body.push_str(&format!(", {link}"));
                }
                body.push_str(")\n");
            }
            body.push('\n');
        }
        body.push_str(&format!("Diagnosis: {}\n\n", d.id));
    }
    let command = reauthorize_command(event);
    if !command.is_empty() {
        body.push_str(&format!(
            "To sign the account in again, run as an administrator on {host}:\n\n    {command}\n\n"
        ));
    }
    if let AccountState::ExpiresSoon { what, on } = event.state {
        body.push_str(&format!("Ends: {what} on {on}\n"));
    }
    body.push_str(&format!(
        "State: {}\nMachine: {host}\n\n-- \nSent by the mailoauth service through account {} ([service] notify_mail in its config). You get one mail per change of state.\n",
        event.state.as_str(),
        one_line(&target.via),
    ));
    MailNotice {
        to: target.to.trim().to_string(),
        via: target.via.trim().to_string(),
        account: event.account.to_string(),
        state: event.state.as_str(),
        subject,
        body: crate::diagnosis::scrub(&body),
    }
}

fn hook_env(event: &Event, detail: &str) -> Vec<(&'static str, String)> {
    let reauthorize = reauthorize_command(event);
    let mut env = vec![
        ("MAILOAUTH_ACCOUNT", one_line(event.account)),
        ("MAILOAUTH_MAILBOX", one_line(event.mailbox)),
        ("MAILOAUTH_STATE", event.state.as_str().to_string()),
        (
            "MAILOAUTH_DIAGNOSIS",
            event.diagnosis.map(one_line).unwrap_or_default(),
        ),
        ("MAILOAUTH_REAUTHORIZE", reauthorize),
        ("MAILOAUTH_DETAIL", detail.to_string()),
    ];
    if let AccountState::ExpiresSoon { what, on } = event.state {
        env.push(("MAILOAUTH_EXPIRES_WHAT", one_line(what)));
        env.push(("MAILOAUTH_EXPIRES_ON", one_line(on)));
    }
    env
}

/// The program and arguments of the hook: the whole text when it names a file (a path with
/// spaces), else its words. No shell: quotes, `$`, `;` and `|` mean nothing here; a hook that
/// needs them is a script.
fn hook_argv(hook: &str) -> Vec<String> {
    let trimmed = hook.trim();
    if Path::new(trimmed).is_file() {
        vec![trimmed.to_string()]
    } else {
        trimmed.split_whitespace().map(str::to_string).collect()
    }
}

/// The only variables of the service's environment the hook gets.
const PASSED_ENV: &[&str] = if cfg!(windows) {
    &[
        "PATH",
        "PATHEXT",
        "SystemRoot",
        "SystemDrive",
        "windir",
        "ComSpec",
        "TEMP",
        "TMP",
    ]
} else {
    &["PATH"]
};

fn run_hook(
    hook: &str,
    env: &[(&'static str, String)],
    bound: Duration,
    account: String,
    state: &'static str,
) -> HookRun {
    let mut run = HookRun {
        account,
        state,
        outcome: HookOutcome::NotStarted(String::new()),
        stderr: String::new(),
    };
    let argv = hook_argv(hook);
    let Some((program, args)) = argv.split_first() else {
        run.outcome = HookOutcome::NotStarted(String::from("the hook is empty"));
        return run;
    };
    if let Err(why) = safe_program(Path::new(program)) {
        run.outcome = HookOutcome::NotStarted(why);
        return run;
    }
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for name in PASSED_ENV {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    if std::env::var_os("PATH").is_none() && !cfg!(windows) {
        cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so the kill at the bound reaches what it started too.
        cmd.process_group(0);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            run.outcome = HookOutcome::NotStarted(format!("{program}: {e}"));
            return run;
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut err).take(STDERR_KEEP as u64).read_to_end(&mut kept);
            let _ = tx.send(kept);
            // Drain the rest so the hook never blocks on a full pipe.
            let _ = std::io::copy(&mut err, &mut std::io::sink());
        });
    }
    let started = Instant::now();
    let status: Option<ExitStatus> = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < bound => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                kill_tree(&mut child);
                let _ = child.wait();
                break None;
            }
        }
    };
    run.outcome = match status {
        Some(s) => HookOutcome::Exited(s.code()),
        None => HookOutcome::Killed,
    };
    if let Ok(bytes) = rx.recv_timeout(Duration::from_secs(2)) {
        run.stderr = crate::diagnosis::scrub(&String::from_utf8_lossy(&bytes))
            .trim()
            .to_string();
    }
    run
}

/// Refuses a hook program that another user could replace: the service runs it with its own
/// rights (root), so a hook file or folder writable by others would hand those rights to anyone
/// who can write there. A bare name is found through the service's `PATH` and is not checked.
#[cfg(unix)]
fn safe_program(program: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if program.components().count() < 2 {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let file = std::fs::metadata(program).map_err(|e| format!("{}: {e}", program.display()))?;
    let parent = program
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    for (what, path, meta) in [
        ("hook", program, Some(file)),
        ("hook's folder", parent, std::fs::metadata(parent).ok()),
    ] {
        let Some(meta) = meta else { continue };
        let owner_ok = meta.uid() == 0 || meta.uid() == me;
        let sticky = meta.mode() & 0o1000 != 0 && meta.is_dir();
        if !owner_ok || (meta.mode() & 0o022 != 0 && !sticky) {
            return Err(format!(
                "{}: the {what} is owned by uid {} with mode {:o}; the service runs it with its own rights, so it must belong to root (or the service's user) and be writable by nobody else: chown root and chmod go-w",
                path.display(),
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

/// On Windows the hook's folder is the admin's to protect (`%ProgramData%` ACLs); see
/// docs/SECURITY.md.
#[cfg(not(unix))]
fn safe_program(_program: &Path) -> Result<(), String> {
    Ok(())
}

fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: signals the process group the hook leads (created by process_group(0)).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
}

fn log_hook(run: &HookRun) {
    let stderr = if run.stderr.is_empty() {
        String::new()
    } else {
        format!("; its error output: {}", run.stderr)
    };
    match &run.outcome {
        HookOutcome::Exited(Some(0)) => tracing::info!(
            account = %run.account,
            state = run.state,
            "the hook ran and exited with 0{stderr}"
        ),
        HookOutcome::Exited(code) => tracing::warn!(
            account = %run.account,
            state = run.state,
            "the hook failed with exit status {}{stderr}",
            code.map_or_else(|| String::from("(ended by a signal)"), |c| c.to_string())
        ),
        HookOutcome::Killed => tracing::warn!(
            account = %run.account,
            state = run.state,
            "the hook did not finish in time and was killed{stderr}"
        ),
        HookOutcome::NotStarted(why) => tracing::warn!(
            account = %run.account,
            state = run.state,
            "the hook could not be started: {why}; check [service] hook in the config"
        ),
    }
}

#[cfg(unix)]
fn os_log(level: Level, text: &str) {
    static OPEN: std::sync::Once = std::sync::Once::new();
    // SAFETY: openlog keeps the pointer; a 'static C string literal outlives the process.
    OPEN.call_once(|| unsafe {
        libc::openlog(c"mailoauth".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON)
    });
    let priority = match level {
        Level::Info => libc::LOG_INFO,
        Level::Warning => libc::LOG_WARNING,
        Level::Error => libc::LOG_ERR,
    };
    if let Ok(line) = std::ffi::CString::new(text.replace('\0', " ")) {
        // SAFETY: a constant "%s" format with one NUL-terminated argument.
        unsafe { libc::syslog(priority, c"%s".as_ptr(), line.as_ptr()) };
    }
}

#[cfg(windows)]
fn os_log(level: Level, text: &str) {
    use windows_sys::Win32::System::EventLog::{
        DeregisterEventSource, RegisterEventSourceW, ReportEventW, EVENTLOG_ERROR_TYPE,
        EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
    };
    let source: Vec<u16> = "mailoauth".encode_utf16().chain(Some(0)).collect();
    let wide: Vec<u16> = text
        .encode_utf16()
        .map(|c| if c == 0 { u16::from(b' ') } else { c })
        .chain(Some(0))
        .collect();
    let kind = match level {
        Level::Info => EVENTLOG_INFORMATION_TYPE,
        Level::Warning => EVENTLOG_WARNING_TYPE,
        Level::Error => EVENTLOG_ERROR_TYPE,
    };
    // SAFETY: NUL-terminated UTF-16 buffers that outlive the calls; the handle is closed here.
    unsafe {
        let handle = RegisterEventSourceW(std::ptr::null(), source.as_ptr());
        if handle.is_null() {
            return;
        }
        let strings = [wide.as_ptr()];
        ReportEventW(
            handle,
            kind,
            0,
            EVENT_ID,
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        );
        DeregisterEventSource(handle);
    }
}

#[cfg(not(any(unix, windows)))]
fn os_log(_level: Level, _text: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Notifier {
        Notifier::new(None, BTreeMap::new()).with_os_log(false)
    }

    fn event<'a>(state: &'a AccountState) -> Event<'a> {
        Event {
            account: "printer",
            mailbox: "scan@example.com",
            state,
            diagnosis: None,
            detail: "",
        }
    }

    #[test]
    fn notifies_once_per_state_change() {
        let mut n = quiet();
        let failing = AccountState::Failing;
        let reauth = AccountState::NeedsReauthorization;
        let ok = AccountState::Ok;
        assert!(n.observe(&event(&failing)));
        assert!(!n.observe(&event(&failing)));
        assert!(!n.observe(&event(&failing)));
        assert!(n.observe(&event(&reauth)));
        assert!(!n.observe(&event(&reauth)));
        assert!(n.observe(&event(&ok)));
        assert!(!n.observe(&event(&ok)));
        assert_eq!(
            n.last_states().get("printer").map(String::as_str),
            Some("ok")
        );
    }

    #[test]
    fn an_account_first_seen_ok_is_remembered_silently() {
        let mut n = quiet();
        assert!(!n.observe(&event(&AccountState::Ok)));
        assert_eq!(
            n.last_states().get("printer").map(String::as_str),
            Some("ok")
        );
        assert!(n.observe(&event(&AccountState::Failing)));
    }

    #[test]
    fn the_persisted_last_states_survive_a_restart() {
        let mut first = quiet();
        assert!(first.observe(&event(&AccountState::NeedsReauthorization)));
        let saved = first.last_states().clone();
        let mut second = Notifier::new(None, saved).with_os_log(false);
        assert!(!second.observe(&event(&AccountState::NeedsReauthorization)));
        assert!(second.observe(&event(&AccountState::Ok)));
    }

    #[test]
    fn reminders_are_remembered_apart_from_health() {
        let mut n = quiet();
        let soon = AccountState::ExpiresSoon {
            what: "client secret".into(),
            on: "2027-01-31".into(),
        };
        let renewed = AccountState::ExpiresSoon {
            what: "client secret".into(),
            on: "2029-01-31".into(),
        };
        assert!(!n.observe(&event(&AccountState::Ok)));
        assert!(n.observe(&event(&soon)));
        // Every tick observes both: neither notifies again.
        for _ in 0..3 {
            assert!(!n.observe(&event(&AccountState::Ok)));
            assert!(!n.observe(&event(&soon)));
        }
        // A new expiry date is news.
        assert!(n.observe(&event(&renewed)));
        assert_eq!(
            n.last_states()
                .get("printer/expires_soon/client secret")
                .map(String::as_str),
            Some("2029-01-31")
        );
    }

    #[test]
    fn details_are_scrubbed_and_flattened() {
        let line = one_line(
            "refresh failed:\nAuthorization: Bearer ya29.a0AfH6SMBx3kq9Zs7t1lWq8vY2pQ\r\n\tclient_secret=GOCSPX-abcdefghijklmnopqrstuvwx",
        );
        assert!(!line.contains("ya29."), "{line}");
        assert!(!line.contains("GOCSPX-abc"), "{line}");
        assert!(!line.contains('\n') && !line.contains('\t'), "{line}");
        assert!(line.contains("[redacted]"), "{line}");
        assert!(one_line(&"x".repeat(5000)).chars().count() <= DETAIL_MAX_CHARS);
    }

    #[test]
    fn the_hook_env_names_state_diagnosis_and_the_fix() {
        let state = AccountState::NeedsReauthorization;
        let e = Event {
            diagnosis: Some("invalid_grant"),
            detail: "the grant was revoked",
            ..event(&state)
        };
        let env: BTreeMap<_, _> = hook_env(&e, "the grant was revoked").into_iter().collect();
        assert_eq!(env["MAILOAUTH_ACCOUNT"], "printer");
        assert_eq!(env["MAILOAUTH_MAILBOX"], "scan@example.com");
        assert_eq!(env["MAILOAUTH_STATE"], "needs_reauthorization");
        assert_eq!(env["MAILOAUTH_DIAGNOSIS"], "invalid_grant");
        assert_eq!(
            env["MAILOAUTH_REAUTHORIZE"],
            "mailoauth reauthorize printer"
        );
        assert_eq!(env["MAILOAUTH_DETAIL"], "the grant was revoked");
        let failing = AccountState::Failing;
        let env: BTreeMap<_, _> = hook_env(&event(&failing), "").into_iter().collect();
        assert_eq!(env["MAILOAUTH_REAUTHORIZE"], "");
        assert_eq!(env["MAILOAUTH_DIAGNOSIS"], "");
        let soon = AccountState::ExpiresSoon {
            what: "client secret".into(),
            on: "2027-01-31".into(),
        };
        let env: BTreeMap<_, _> = hook_env(&event(&soon), "").into_iter().collect();
        assert_eq!(env["MAILOAUTH_STATE"], "expires_soon");
        assert_eq!(env["MAILOAUTH_EXPIRES_ON"], "2027-01-31");
    }

    #[test]
    fn a_mail_is_queued_once_per_state_change_with_the_diagnosis_and_no_token() {
        let target = MailTarget {
            to: "admin@example.org".into(),
            via: "relay".into(),
        };
        let mut n = quiet().with_mail(Some(target));
        let reauth = AccountState::NeedsReauthorization;
        let e = Event {
            diagnosis: Some("oauth-invalid-grant"),
            detail: "refresh failed: invalid_grant; Authorization: Bearer ya29.a0AfH6SMBx3kq9Zs7t1lWq8vY2pQ",
            ..event(&reauth)
        };
        assert!(!n.observe(&event(&AccountState::Ok)));
        assert!(
            n.take_mail().is_empty(),
            "nothing to tell about a working account"
        );
        assert!(n.observe(&e));
        assert!(!n.observe(&e));
        let mails = n.take_mail();
        assert_eq!(mails.len(), 1, "{mails:?}");
        let m = &mails[0];
        assert_eq!(
            (m.to.as_str(), m.via.as_str(), m.account.as_str()),
            ("admin@example.org", "relay", "printer")
        );
        assert_eq!(
            m.subject,
            "mailoauth: scan@example.com needs re-authorization (account printer)"
        );
        let invalid_grant = crate::diagnosis::entry("oauth-invalid-grant").unwrap();
        for want in [
            "    mailoauth reauthorize printer\n",
            &format!("Machine: {}", host_name()),
            "State: needs_reauthorization",
            "Diagnosis: oauth-invalid-grant",
            invalid_grant.fix[0].split('{').next().unwrap(),
        ] {
            assert!(m.body.contains(want), "{want:?} not in {}", m.body);
        }
        assert!(
            !m.body.contains("ya29.") && !m.subject.contains("ya29."),
            "{}",
            m.body
        );
        assert!(n.take_mail().is_empty(), "taken once");
        assert!(n.observe(&event(&AccountState::Ok)));
        let mails = n.take_mail();
        assert_eq!(mails.len(), 1);
        assert!(mails[0].subject.contains("works again"), "{mails:?}");
        assert!(
            !mails[0].body.contains("mailoauth reauthorize"),
            "{mails:?}"
        );
    }

    #[test]
    fn the_hook_is_a_file_or_words_never_a_shell_line() {
        assert_eq!(
            hook_argv(" /usr/local/bin/notify --to ops "),
            ["/usr/local/bin/notify", "--to", "ops"]
        );
        // Shell syntax stays literal words.
        assert_eq!(hook_argv("notify $HOME; rm"), ["notify", "$HOME;", "rm"]);
        let dir = std::env::temp_dir().join(format!("mailoauth-hook-argv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spaced = dir.join("my hook.cmd");
        std::fs::write(&spaced, "").unwrap();
        let text = spaced.to_string_lossy().into_owned();
        assert_eq!(hook_argv(&text), vec![text]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_hook_program_is_reported_not_started() {
        let mut n = Notifier::new(
            Some(String::from("/nonexistent/mailoauth-hook")),
            BTreeMap::new(),
        )
        .with_os_log(false);
        assert!(n.observe(&event(&AccountState::Failing)));
        let runs = n.wait_hooks();
        assert_eq!(runs.len(), 1);
        assert!(
            matches!(&runs[0].outcome, HookOutcome::NotStarted(why) if why.contains("/nonexistent")),
            "{runs:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_hook_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mailoauth-hook-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let hook = dir.join("hook.sh");
        std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o757)).unwrap();
        let why = safe_program(&hook).unwrap_err();
        assert!(why.contains("chmod go-w") && why.contains("757"), "{why}");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(safe_program(&hook), Ok(()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = safe_program(&hook).unwrap_err();
        assert!(why.contains("hook's folder"), "{why}");
        // A bare name comes from the service's PATH.
        assert_eq!(safe_program(Path::new("logger")), Ok(()));
        let mut n = Notifier::new(Some(hook.to_string_lossy().into_owned()), BTreeMap::new())
            .with_os_log(false);
        assert!(n.observe(&event(&AccountState::Failing)));
        assert!(matches!(
            &n.wait_hooks()[0].outcome,
            HookOutcome::NotStarted(why) if why.contains("hook's folder")
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn account(expires: Option<&str>) -> config::Account {
        let text = format!(
            r#"
name = "printer"
purpose = "send"
mailbox = "scan@example.com"
token_store = "file:/var/lib/mailoauth/tokens"
[smtp]
host = "smtp.gmail.com"
port = 465
security = "tls"
sasl = "xoauth2"
[auth]
provider = "google"
client_id = "1234.apps.googleusercontent.com"
client_auth = "client_secret_post"
flow = "loopback"
scopes = ["https://mail.google.com/"]
{}
"#,
            expires
                .map(|d| format!("client_secret_expires = \"{d}\""))
                .unwrap_or_default()
        );
        toml::from_str(&text).unwrap()
    }

    fn day(text: &str) -> CivilDate {
        CivilDate::parse_prefix(text).unwrap()
    }

    #[test]
    fn a_client_secret_expiring_within_notify_days_is_a_reminder() {
        let a = account(Some("2027-01-31"));
        let none = GrantFacts::default();
        assert!(reminders(day("2027-01-23"), &a, 7, &none).is_empty());
        let soon = vec![AccountState::ExpiresSoon {
            what: "client secret".into(),
            on: "2027-01-31".into(),
        }];
        assert_eq!(reminders(day("2027-01-24"), &a, 7, &none), soon);
        assert_eq!(reminders(day("2027-01-31"), &a, 7, &none), soon);
        // Expired: still said (the status says re-authorize).
        assert_eq!(reminders(day("2027-03-01"), &a, 7, &none), soon);
        assert!(reminders(day("2027-01-24"), &a, 0, &none).is_empty());
        assert!(reminders(day("2027-01-24"), &account(None), 7, &none).is_empty());
    }

    #[test]
    fn a_google_grant_in_testing_status_ends_seven_days_after_sign_in() {
        let a = account(None);
        let testing = GrantFacts {
            google_testing_consent: true,
            authorized_on: Some(day("2027-02-26")),
        };
        let ends = vec![AccountState::ExpiresSoon {
            what: "Google grant (consent screen in Testing status)".into(),
            on: "2027-03-05".into(),
        }];
        // With notify_days 7 it is said on the day of sign-in; with 2, two days before.
        assert_eq!(reminders(day("2027-02-26"), &a, 7, &testing), ends);
        assert!(reminders(day("2027-03-02"), &a, 2, &testing).is_empty());
        assert_eq!(reminders(day("2027-03-03"), &a, 2, &testing), ends);
        let unknown = GrantFacts {
            authorized_on: None,
            ..testing
        };
        assert!(matches!(
            reminders(day("2027-03-03"), &a, 7, &unknown).as_slice(),
            [AccountState::ExpiresSoon { on, .. }] if on.contains("after sign-in")
        ));
        assert!(reminders(day("2027-02-26"), &a, 7, &GrantFacts::default()).is_empty());
    }
}
