//! `mailoauth`: the command-line side of mailoauth, for servers without a desktop and for the
//! mail services that need fresh tokens. Every subcommand is a thin layer over the core library:
//! its arguments and output live in `src/cli/<subcommand>.rs`.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// OAuth2 for services that send and receive mail through Gmail, Microsoft 365 and other providers.
#[derive(Parser)]
#[command(name = "mailoauth", version = mailoauth::VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the mail providers mailoauth can set up.
    Providers(cli::providers::Args),
    /// Show what to do in the provider's console, step by step, with values and links.
    Checklist(cli::checklist::Args),
    /// Check a downloaded Google client JSON, service account key or Azure app manifest.
    Validate(cli::validate::Args),
    /// Explain an error text or log excerpt: every known error it shows, its cause and its fix.
    Explain(cli::explain::Args),
    /// Log in to the SMTP and IMAP servers with a token, step by step, and explain any failure.
    Check(cli::check::Args),
    /// Sign the mailbox in and store its tokens: loopback prints the URL and waits, device code prints the code.
    Authorize(Box<cli::authorize::Args>),
    /// Show every account of the config: OK, failing (and why), needs re-authorization, secret expiry.
    Status(cli::status::Args),
    /// Write an account in another consumer's format: msmtp, mbsync, NeoMutt, SafeQ MPS, env file.
    Export(cli::export::Args),
    /// Where the config file is, and whether it is valid.
    Config(cli::config::Args),
    /// Print a fresh access token for an account (for passwordeval / PassCmd); refreshes when needed.
    Token(cli::token::Args),
    /// The machine-wide token service: install, uninstall, status, run; move an account's tokens into it.
    Service(cli::service::Args),
    /// The whole setup in this terminal (or a script, every prompt a flag): sign-in, mail tests, save, export.
    Setup(cli::setup::Args),
    /// Sign a saved account in again with its own settings, test it and save it (after a revocation, a password reset).
    Reauthorize(cli::reauthorize::Args),
}

impl Command {
    /// The subcommand's name, for the log.
    fn name(&self) -> &'static str {
        match self {
            Command::Providers(_) => "providers",
            Command::Checklist(_) => "checklist",
            Command::Validate(_) => "validate",
            Command::Explain(_) => "explain",
            Command::Check(_) => "check",
            Command::Authorize(_) => "authorize",
            Command::Status(_) => "status",
            Command::Export(_) => "export",
            Command::Config(_) => "config",
            Command::Token(_) => "token",
            Command::Service(_) => "service",
            Command::Setup(_) => "setup",
            Command::Reauthorize(_) => "reauthorize",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The support log (a daily file, scrubbed); errors also on stderr, never on stdout, which
    // carries tokens and reports. A folder that cannot be written is reported only when the admin
    // chose it: a service account without a home must still get its tokens quietly.
    // `token` opens its log file only if it logs a line (most calls log none).
    let open = if matches!(cli.command, Command::Token(_)) {
        mailoauth::logging::Open::FirstLine
    } else {
        mailoauth::logging::Open::Now
    };
    let _log =
        match mailoauth::logging::init_with(None, mailoauth::logging::Echo::StderrErrors, open) {
            Ok(guard) => Some(guard),
            Err(e) => {
                if std::env::var_os(mailoauth::logging::DIR_ENV).is_some()
                    || matches!(e, mailoauth::logging::LogError::Level { .. })
                {
                    eprintln!("mailoauth: warning: {e}");
                }
                None
            }
        };
    // `token` runs for every mail sent or fetched: a call that changes nothing writes nothing,
    // so its start is logged only at debug level.
    if matches!(cli.command, Command::Token(_)) {
        tracing::debug!(
            command = "token",
            version = env!("CARGO_PKG_VERSION"),
            "start"
        );
    } else {
        tracing::info!(
            command = cli.command.name(),
            version = env!("CARGO_PKG_VERSION"),
            "start"
        );
    }
    match cli.command {
        Command::Providers(args) => cli::providers::run(args),
        Command::Checklist(args) => cli::checklist::run(args),
        Command::Validate(args) => cli::validate::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Authorize(args) => cli::authorize::run(*args),
        Command::Status(args) => cli::status::run(args),
        Command::Export(args) => cli::export::run(args),
        Command::Config(args) => cli::config::run(args),
        Command::Token(args) => cli::token::run(args),
        Command::Service(args) => cli::service::run(args),
        Command::Setup(args) => cli::setup::run(args),
        Command::Reauthorize(args) => cli::reauthorize::run(args),
    }
}
