//! `mailoauth service install | uninstall | status | run`: the machine-wide token service.
//!
//! `install`/`uninstall`/`status` talk to the machine's service manager
//! (`mailoauth::service::install`); `run` is what the service manager starts
//! (`mailoauth::service::run`), and on Windows first offers itself to the Service Control
//! Manager's dispatcher, falling back to console mode when started from a prompt.

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use mailoauth::service::install::{self, InstallError, InstallOptions, Os, UninstallOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// `mailoauth service ...`.
#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: ServiceCommand,
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// Install (or upgrade in place) the service and start it: systemd, launchd or the Windows
    /// service manager. Needs root / an elevated Administrator unless --root stages the files.
    Install {
        /// Write the files below DIR as they would lie on the target (packaging, CI); no group
        /// is created and the service manager is not told.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// The machine config the service serves (absolute path on the target); default: the
        /// platform's (/etc/mailoauth/mailoauth.toml on Linux).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// With --root: stage another platform's files (linux: the systemd unit, macos: the
        /// launchd plist).
        #[arg(long = "for", value_name = "OS", requires = "root")]
        target: Option<TargetOs>,
        /// Also make USER a manager of the service: added to the group mailoauth (Linux, macOS;
        /// on Windows the local group mailoauth, USER as DOMAIN\user or user), so that USER's
        /// wizard saves the service's accounts and hands it tokens without another elevation
        /// prompt. Changes the machine's group database even with --root.
        #[arg(long, value_name = "USER")]
        manager: Option<String>,
    },
    /// Stop and remove the service. The config and the tokens stay unless --purge; prints how
    /// to revoke the grants at the providers.
    Uninstall {
        /// Remove the files below DIR (a staging root) instead of the machine's.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Also remove the config, the tokens, the service's state and logs, and the group.
        #[arg(long)]
        purge: bool,
        /// With --root: another platform's files.
        #[arg(long = "for", value_name = "OS", requires = "root")]
        target: Option<TargetOs>,
    },
    /// Whether the service is installed and running, and what it says about its accounts.
    Status,
    /// Run the service in the foreground (what the service manager starts; also for tests and
    /// containers, without root, with --state-dir and --socket).
    Run {
        /// The machine config; default: the platform's.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Where the tokens and the service's state are kept; default: the platform's.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// The endpoint: a Unix socket path (a pipe name on Windows); default: the platform's.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Windows: run in this console, not as a service (skips the Service Control Manager's
        /// dispatcher, which Wine makes wait 10 s before it gives up); no effect elsewhere.
        #[arg(long)]
        console: bool,
    },
    /// Move an account's tokens from the keyring or a token file into the running service, and
    /// set its token_store to "service" (the service is then their only writer).
    Adopt {
        /// The machine config; default: the platform's.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The service's socket; default: $MAILOAUTH_SERVICE_SOCKET, else the platform's.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// The account's name in the config.
        account: String,
    },
    /// Write the machine config and everything in the service's custody (tokens, held client
    /// secrets) to FILE, encrypted with a passphrase (age, scrypt). Works while the service
    /// runs. Root only (the custody folder is root's).
    Backup {
        /// The backup file to write (created 0600; never through a link).
        file: PathBuf,
        #[command(flatten)]
        paths: BackupPaths,
        #[command(flatten)]
        passphrase: PassphraseSource,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup back: the machine config and the custody files. A running service that
    /// holds none of its accounts (a fresh install) is asked to reload; one that holds them
    /// must be stopped first. Root only.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[command(flatten)]
        paths: BackupPaths,
        #[command(flatten)]
        passphrase: PassphraseSource,
        /// The service's socket (to tell whether it runs); default: $MAILOAUTH_SERVICE_SOCKET,
        /// else the platform's.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Replace an existing config.
        #[arg(long)]
        force: bool,
    },
    /// Save one account of FILE (yours, e.g. written by the wizard) into the machine config
    /// through the running service: for a manager who cannot write that file (a member of the
    /// group mailoauth). The account must have token_store = "service"; the [service] table and
    /// files or secrets the service would read as root are refused (root edits those).
    SaveAccount {
        /// The config file that holds the account.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The service's socket; default: $MAILOAUTH_SERVICE_SOCKET, else the platform's.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// The account's name in FILE.
        account: String,
    },
}

/// Where `backup` reads and `restore` writes.
#[derive(ClapArgs)]
struct BackupPaths {
    /// The machine config; default: the platform's.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The service's state folder (custody in tokens/); default: the platform's.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl BackupPaths {
    fn resolve(&self) -> mailoauth::service::backup::Paths {
        mailoauth::service::backup::Paths {
            config: self
                .config
                .clone()
                .unwrap_or_else(mailoauth::config::default_path),
            state_dir: self
                .state_dir
                .clone()
                .unwrap_or_else(mailoauth::service::default_state_dir),
            state_dir_given: self.state_dir.is_some(),
        }
    }
}

/// Where the passphrase comes from: a hidden prompt unless one of these is given (never an
/// argument: it would show in the process list and the shell history).
#[derive(ClapArgs)]
struct PassphraseSource {
    /// Read the passphrase from the first line of FILE (scripts).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase from the environment variable VAR (scripts).
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetOs {
    Linux,
    Macos,
}

fn os_of(target: Option<TargetOs>) -> Os {
    match target {
        Some(TargetOs::Linux) => Os::Linux,
        Some(TargetOs::Macos) => Os::MacOs,
        None => Os::current(),
    }
}

// sysexits.h statuses of the service manager's failures (src/cli/exit.rs has the shared ones).
const EX_USAGE: u8 = 64;
const EX_UNAVAILABLE: u8 = 69;
const EX_SOFTWARE: u8 = 70;
const EX_OSERR: u8 = 71;
const EX_CANTCREAT: u8 = 73;
const EX_NOPERM: u8 = 77;

fn fail(e: &InstallError) -> ExitCode {
    eprintln!("mailoauth: {e}");
    ExitCode::from(match e {
        InstallError::NotPrivileged { .. } => EX_NOPERM,
        InstallError::BadOption { .. } => EX_USAGE,
        InstallError::Io { .. } => EX_CANTCREAT,
        InstallError::Command { .. } | InstallError::Windows(_) => EX_OSERR,
        InstallError::Unsupported(_) | InstallError::NoServiceManager(_) => EX_UNAVAILABLE,
    })
}

/// Runs `mailoauth service ...`.
pub fn run(args: Args) -> ExitCode {
    match args.command {
        ServiceCommand::Install {
            root,
            config,
            target,
            manager,
        } => {
            let source_binary = match std::env::current_exe() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("mailoauth: cannot find the running binary to install: {e}");
                    return ExitCode::from(EX_OSERR);
                }
            };
            let opts = InstallOptions {
                root,
                config,
                os: os_of(target),
                source_binary,
                manager,
            };
            match install::install(&opts) {
                Ok(report) => {
                    for line in &report.lines {
                        println!("{line}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        ServiceCommand::Uninstall {
            root,
            purge,
            target,
        } => {
            let opts = UninstallOptions {
                root: root.clone(),
                purge,
                os: os_of(target),
            };
            // The accounts, read before a purge removes the config, for the revocation help.
            let accounts = |config: &std::path::Path| {
                let path = install::staged(root.as_deref(), config);
                mailoauth::config::load(&path)
                    .map(|doc| {
                        doc.config
                            .accounts
                            .iter()
                            .map(|a| (a.name.clone(), a.mailbox.clone(), a.auth.provider.clone()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            let default_config = install::Layout::of(opts.os).default_config;
            let before = accounts(&default_config);
            match install::uninstall(&opts) {
                Ok(report) => {
                    for line in &report.lines {
                        println!("{line}");
                    }
                    let listed = match &report.config {
                        Some(c) if *c != default_config && !purge => accounts(c),
                        _ => before,
                    };
                    print!("{}", install::revoke_help(&listed));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        ServiceCommand::Status => {
            let st = install::status();
            println!(
                "service: {}, {} ({})",
                if st.installed {
                    "installed"
                } else {
                    "not installed"
                },
                if st.running { "running" } else { "not running" },
                st.detail
            );
            match ask_service_status() {
                Ok(Some(view)) => print!("{view}"),
                Ok(None) => {}
                Err(why) => println!("the service did not answer: {why}"),
            }
            if st.installed && st.running {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EX_UNAVAILABLE)
            }
        }
        ServiceCommand::Run {
            config,
            state_dir,
            socket,
            console,
        } => {
            let config = config.unwrap_or_else(mailoauth::config::default_path);
            let opts = mailoauth::service::RunOptions {
                config,
                state_dir,
                socket,
            };
            #[cfg(not(windows))]
            let _ = console;
            #[cfg(windows)]
            match if console {
                Ok(mailoauth::service::windows::dispatcher::Ran::NotAService)
            } else {
                mailoauth::service::windows::dispatcher::start(opts.clone())
            } {
                // Ran as a Windows service, and has stopped.
                Ok(mailoauth::service::windows::dispatcher::Ran::AsService(Ok(()))) => {
                    return ExitCode::SUCCESS
                }
                Ok(mailoauth::service::windows::dispatcher::Ran::AsService(Err(e))) => {
                    eprintln!("mailoauth: {e}");
                    return ExitCode::from(EX_SOFTWARE);
                }
                // Started from a prompt: console mode below.
                Ok(mailoauth::service::windows::dispatcher::Ran::NotAService) => {}
                Err(e) => {
                    eprintln!("mailoauth: the Windows service dispatcher: {e}");
                    return ExitCode::from(EX_OSERR);
                }
            }
            run_foreground(opts)
        }
        ServiceCommand::Adopt {
            config,
            socket,
            account,
        } => adopt(config, socket, account),
        ServiceCommand::Backup {
            file,
            paths,
            passphrase,
            force,
        } => backup(&file, &paths.resolve(), &passphrase, force),
        ServiceCommand::Restore {
            file,
            paths,
            passphrase,
            socket,
            force,
        } => restore(&file, &paths.resolve(), &passphrase, socket, force),
        ServiceCommand::SaveAccount {
            from,
            socket,
            account,
        } => save_account(&from, socket, &account),
    }
}

const EX_DATAERR: u8 = 65;
const EX_NOINPUT: u8 = 66;
const EX_IOERR: u8 = 74;
const EX_TEMPFAIL: u8 = 75;

fn backup_fail(e: &mailoauth::service::backup::BackupError) -> ExitCode {
    use mailoauth::service::backup::BackupError as E;
    eprintln!("mailoauth: {e}");
    ExitCode::from(match e {
        E::NotManager { .. } | E::WrongPassphrase { .. } => EX_NOPERM,
        E::Passphrase(_) => EX_USAGE,
        E::Damaged { .. } | E::NewerFormat { .. } => EX_DATAERR,
        E::Input { .. } | E::Config { .. } => EX_NOINPUT,
        E::Exists { .. } | E::Link { .. } => EX_CANTCREAT,
        E::Write { .. } | E::Custody { .. } => EX_IOERR,
        E::Unsettled | E::ServiceRunning { .. } => EX_TEMPFAIL,
        E::Encrypt(_) => EX_SOFTWARE,
    })
}

/// The passphrase from `--passphrase-file`, `--passphrase-env`, or a hidden prompt (asked
/// twice when `confirm`).
fn passphrase(
    source: &PassphraseSource,
    confirm: bool,
) -> Result<mailoauth::secret::Secret<String>, ExitCode> {
    use mailoauth::service::backup::{passphrase_from_text, BackupError};
    let usage = |msg: String| {
        eprintln!("mailoauth: {msg}");
        ExitCode::from(EX_USAGE)
    };
    let text = if let Some(path) = &source.passphrase_file {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(path) {
                if m.permissions().mode() & 0o077 != 0 {
                    eprintln!(
                        "mailoauth: warning: {} may be read by other accounts (mode {:o}); chmod 600 it",
                        path.display(),
                        m.permissions().mode() & 0o777
                    );
                }
            }
        }
        std::fs::read_to_string(path)
            .map_err(|e| usage(format!("--passphrase-file {}: {e}", path.display())))?
    } else if let Some(var) = &source.passphrase_env {
        std::env::var(var).map_err(|_| {
            usage(format!(
                "--passphrase-env: the variable {var} is not set (or not UTF-8)"
            ))
        })?
    } else {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return Err(usage(String::from(
                "no terminal to ask the passphrase in: give --passphrase-file FILE or --passphrase-env VAR",
            )));
        }
        let mut prompt = inquire::Password::new("Backup passphrase:")
            .with_display_mode(inquire::PasswordDisplayMode::Hidden);
        if confirm {
            prompt = prompt
                .with_custom_confirmation_message("The same passphrase again:")
                .with_custom_confirmation_error_message("The two passphrases differ; try again.");
        } else {
            prompt = prompt.without_confirmation();
        }
        prompt.prompt().map_err(|e| {
            eprintln!("mailoauth: no passphrase: {e}");
            ExitCode::from(EX_USAGE)
        })?
    };
    passphrase_from_text(&text).map_err(|e: BackupError| backup_fail(&e))
}

fn backup(
    file: &std::path::Path,
    paths: &mailoauth::service::backup::Paths,
    source: &PassphraseSource,
    force: bool,
) -> ExitCode {
    use mailoauth::service::backup as b;
    // The manager rule before any prompt.
    if let Err(e) = b::check_manager("backup", paths) {
        return backup_fail(&e);
    }
    let pass = match passphrase(source, true) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match b::backup(paths, file, &pass, force) {
        Ok(report) => {
            println!(
                "backup written to {} (0600): the config {} and {} custody file(s)",
                report.file.display(),
                paths.config.display(),
                report.files.len()
            );
            if let Some(t) = report.newest_token {
                println!(
                    "newest token set in it: {}",
                    mailoauth::status::format_time(t)
                );
            }
            println!("{}", b::rotation_note(report.taken_at));
            ExitCode::SUCCESS
        }
        Err(e) => backup_fail(&e),
    }
}

fn restore(
    file: &std::path::Path,
    paths: &mailoauth::service::backup::Paths,
    source: &PassphraseSource,
    socket: Option<PathBuf>,
    force: bool,
) -> ExitCode {
    use mailoauth::service::backup as b;
    use mailoauth::service::protocol::Request;
    if let Err(e) = b::check_manager("restore", paths) {
        return backup_fail(&e);
    }
    let socket = mailoauth::service::client::socket_path(socket.as_deref());
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let ask = |req: Request| {
        let wait = mailoauth::service::client::wait_for(&req);
        rt.block_on(mailoauth::service::client::ask(&socket, &req, wait))
    };
    // Whether a service answers, and what it holds: a restore under a service that holds the
    // accounts would be overwritten from its memory.
    let shown = socket.display().to_string();
    let running = match ask(Request::Status) {
        Err(mailoauth::service::client::ClientError::NotRunning { .. }) => None,
        Ok(Ok(value)) => Some(b::Running {
            socket: shown.clone(),
            held: mailoauth::service::client::view_of(&value)
                .into_keys()
                .collect(),
            config: value["config"].as_str().map(str::to_string),
        }),
        Ok(Err(e)) => {
            return backup_fail(&b::BackupError::ServiceRunning {
                socket: shown,
                why: format!("answered: {}", e.message),
                stop: b::stop_command(),
            })
        }
        Err(e) => {
            return backup_fail(&b::BackupError::ServiceRunning {
                socket: shown,
                why: format!("cannot be asked what it holds ({e})"),
                stop: b::stop_command(),
            })
        }
    };
    let pass = match passphrase(source, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let report = match b::restore(paths, file, &pass, force, running.as_ref()) {
        Ok(report) => report,
        Err(e) => return backup_fail(&e),
    };
    println!(
        "restored the config to {} (it was {} on the machine backed up) and {} custody file(s) to {}",
        report.config.display(),
        report.config_was,
        report.files.len(),
        mailoauth::service::custody::tokens_dir(&paths.state_dir).display()
    );
    println!("backup written by mailoauth {}", report.written_by);
    println!("{}", b::rotation_note(report.taken_at));
    if running.is_none() {
        println!(
            "Start the service now: {1} (not installed yet: {0}); then mailoauth service status shows each account after its first refresh.",
            mailoauth::service::client::start_command(),
            b::start_installed_command()
        );
        return ExitCode::SUCCESS;
    }
    match ask(Request::Reload) {
        Ok(Ok(_)) => {
            println!("The running service read the restored config and tokens again (reload); mailoauth service status shows each account after its first refresh.");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("mailoauth: the files are restored, but the running service did not reload: {}. Restart it: {}", e.message, b::start_installed_command());
            ExitCode::from(EX_TEMPFAIL)
        }
        Err(e) => {
            eprintln!("mailoauth: the files are restored, but the running service did not reload: {e}. Restart it: {}", b::start_installed_command());
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

fn save_account(from: &std::path::Path, socket: Option<PathBuf>, name: &str) -> ExitCode {
    use mailoauth::service::client::HandOverError;
    let doc = match mailoauth::config::load(from) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(super::exit::EX_CONFIG);
        }
    };
    let account = match doc.account(name) {
        Ok(a) => a.clone(),
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(super::exit::EX_NOUSER);
        }
    };
    let socket = mailoauth::service::client::socket_path(socket.as_deref());
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(mailoauth::service::client::save_account(&socket, &account)) {
        Ok(path) => {
            println!("account {name:?} saved in {path} by the mailoauth service");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailoauth: {e}");
            ExitCode::from(match e {
                HandOverError::NotManager { .. } => EX_NOPERM,
                HandOverError::NotRunning { .. } => EX_UNAVAILABLE,
                _ => EX_DATAERR,
            })
        }
    }
}

fn adopt(config: Option<PathBuf>, socket: Option<PathBuf>, account: String) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            return ExitCode::from(EX_OSERR);
        }
    };
    let config = config.unwrap_or_else(mailoauth::config::default_path);
    let socket = mailoauth::service::client::socket_path(socket.as_deref());
    match rt.block_on(mailoauth::service::client::adopt(
        &config, &account, &socket,
    )) {
        Ok(adopted) => {
            println!("account {account:?} is now held by the mailoauth service");
            for note in adopted.notes() {
                println!("  {note}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailoauth: {e}");
            ExitCode::from(match e {
                mailoauth::service::client::AdoptError::Refused { .. } => EX_UNAVAILABLE,
                _ => 1,
            })
        }
    }
}

fn run_foreground(opts: mailoauth::service::RunOptions) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            return ExitCode::from(EX_OSERR);
        }
    };
    match rt.block_on(mailoauth::service::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            ExitCode::from(match e {
                mailoauth::service::ServiceError::AlreadyRunning { .. } => EX_UNAVAILABLE,
                _ => EX_SOFTWARE,
            })
        }
    }
}

/// The service's own view (accounts, state, last/next refresh, last/next check), when it
/// answers (bounded by the client's time-out).
fn ask_service_status() -> Result<Option<String>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let socket = mailoauth::service::client::socket_path(None);
    let view = rt
        .block_on(mailoauth::service::client::view(&socket))
        .map_err(|e| e.to_string())?;
    let at = |s: Option<u64>| s.map_or_else(|| String::from("-"), mailoauth::status::format_time);
    let mut out = String::new();
    for (name, (record, t)) in &view {
        let state = match &record.last_failure {
            None => "OK",
            Some(f) if f.reauthorize => "NEEDS RE-AUTHORIZATION",
            Some(_) => "FAILING",
        };
        out.push_str(&format!(
            "{name}: {state}; last refresh {}, next refresh {}, last check {}, next check {}\n",
            at(t.last_refresh),
            at(t.next_refresh),
            at(t.last_check),
            at(t.next_check)
        ));
        if let Some(f) = &record.last_failure {
            out.push_str(&format!(
                "  {}\n",
                f.error.lines().next().unwrap_or_default()
            ));
        }
    }
    Ok(Some(out))
}

#[cfg(all(test, windows))]
mod tests {
    /// The message table build.rs links into mailoauth.exe: each severity's message shows the
    /// event's text, so the Event Viewer never says "description not found".
    #[test]
    fn the_binary_carries_the_event_log_message_table() {
        use windows_sys::Win32::System::Diagnostics::Debug::{
            FormatMessageW, FORMAT_MESSAGE_ARGUMENT_ARRAY, FORMAT_MESSAGE_FROM_HMODULE,
        };
        use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
        for level in [
            mailoauth::service::windows::eventlog::Level::Info,
            mailoauth::service::windows::eventlog::Level::Warning,
            mailoauth::service::windows::eventlog::Level::Error,
        ] {
            let text: Vec<u16> = "token refreshed".encode_utf16().chain([0]).collect();
            let args = [text.as_ptr() as usize];
            let mut buf = [0u16; 256];
            // SAFETY: this module's handle; an argument array of one string pointer; a buffer
            // of the length passed.
            let n = unsafe {
                FormatMessageW(
                    FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY,
                    GetModuleHandleW(std::ptr::null()).cast_const(),
                    level.event_id(),
                    0x409,
                    buf.as_mut_ptr(),
                    buf.len() as u32,
                    args.as_ptr().cast(),
                )
            };
            assert!(
                n > 0,
                "{level:?}: no message {:#x} in mailoauth.exe: {}",
                level.event_id(),
                std::io::Error::last_os_error()
            );
            let shown = String::from_utf16_lossy(&buf[..n as usize]);
            assert_eq!(shown.trim_end(), "token refreshed", "{level:?}");
        }
    }
}

/// The single-threaded runtime of a service subcommand that talks to the service; 71 when the
/// operating system refuses what it needs.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            ExitCode::from(EX_OSERR)
        })
}
