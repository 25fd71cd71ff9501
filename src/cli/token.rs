//! `mailoauth token <account>`: prints a fresh access token, for `passwordeval`/`PassCmd`-style
//! use by mail services.
//!
//! The mailoauth service is asked first (at most a few seconds). When no service runs, the
//! direct path answers: a cached token that is still valid is printed without any network call
//! and without writing anything; otherwise it is refreshed first and the outcome recorded in
//! the status file. Accounts the service holds (`token_store = "service"`) are never refreshed
//! by the direct path: with the service stopped, a still-valid cached token is read (only by an
//! account that may read the service's store) or the command fails with status 69.

use super::exit;
use mailoauth::config;
use mailoauth::oauth;
use mailoauth::service::client::{self, ClientError};
use mailoauth::service::protocol::{ErrorBody, Request};
use mailoauth::status;
use mailoauth::store::TokenStore;
use std::path::PathBuf;
use std::process::ExitCode;

/// What `--help` says about signals; the time-out is the token request's own
/// ([`oauth::HTTP_TIMEOUT_SECS`], checked by a test below).
const SIGNALS_HELP: &str =
    "Signals (Unix): from sending a refresh request until the new tokens are saved, \
SIGTERM, SIGINT and SIGHUP are held (for at most the token request's time-out: 30 seconds, or \
MAILOAUTH_HTTP_TIMEOUT_SECS when set), then acted on before anything is printed: a provider that rotates \
refresh tokens may already have revoked the old one. SIGKILL cannot be held.";

#[derive(clap::Args)]
#[command(after_help = format!("{SIGNALS_HELP}\n\n{}", super::exit::HELP))]
pub struct Args {
    /// The config file [default: $MAILOAUTH_CONFIG, else the platform's default location]
    #[arg(long)]
    config: Option<PathBuf>,
    /// The mailoauth service's socket [default: $MAILOAUTH_SERVICE_SOCKET, else /run/mailoauth/mailoauth.sock]
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Say on stderr which path answered: the mailoauth service or the direct path.
    #[arg(short, long)]
    verbose: bool,
    /// The mail server rejected the last token with this reply: report it and get a new token
    /// (the service refreshes at once, at most once a minute per account).
    #[arg(long, value_name = "SERVER REPLY")]
    rejected: Option<String>,
    /// Refresh now, even when the cached token is still valid.
    #[arg(long, conflicts_with = "rejected")]
    refresh: bool,
    /// The account's name in the config.
    account: String,
}

fn print_token(token: &str) -> ExitCode {
    // The whole point of this command: the token goes to stdout, for the calling service.
    println!("{token}");
    ExitCode::SUCCESS
}

/// The exit status of an error answer of the service.
fn service_status(e: &ErrorBody) -> u8 {
    match e.code.as_str() {
        "refused" => exit::EX_NOPERM,
        "unknown_account" => exit::EX_NOUSER,
        "needs_reauthorization" => exit::NEEDS_REAUTHORIZATION,
        "temporary" | "busy" => exit::EX_TEMPFAIL,
        "config" => exit::EX_CONFIG,
        "bad_request" | "version" => exit::EX_USAGE,
        _ => 1,
    }
}

/// The runtime of the direct path (and of the service request on Windows).
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

pub fn run(args: Args) -> ExitCode {
    let socket = client::socket_path(args.socket.as_deref());
    let account = args.account.clone();
    let req = match (&args.rejected, args.refresh) {
        (Some(reply), _) => Request::Report {
            account,
            reply: reply.clone(),
        },
        (None, true) => Request::Refresh { account },
        (None, false) => Request::Token { account },
    };
    // The service first: on Unix without an async runtime, which only the direct path needs.
    #[cfg(unix)]
    let asked = client::ask_blocking(&socket, &req, client::wait_for(&req));
    #[cfg(not(unix))]
    let asked = match runtime() {
        Ok(rt) => rt.block_on(client::ask(&socket, &req, client::wait_for(&req))),
        Err(code) => return code,
    };
    let service_down = match asked {
        Ok(Ok(answer)) => {
            if args.verbose {
                eprintln!(
                    "mailoauth: answered by the mailoauth service on {}",
                    socket.display()
                );
            }
            return match answer.get("access_token").and_then(|t| t.as_str()) {
                Some(t) => print_token(t),
                None => {
                    eprintln!("mailoauth: the mailoauth service's answer carries no token");
                    ExitCode::FAILURE
                }
            };
        }
        Ok(Err(e)) if e.code == "not_service_owned" => false,
        Ok(Err(e)) => {
            eprintln!("mailoauth: the mailoauth service: {}", e.message);
            if e.reauthorize {
                eprintln!(
                    "mailoauth: account {:?} must sign in again: run {}",
                    args.account,
                    super::reauthorize::command(args.config.as_deref(), &args.account)
                );
            }
            return ExitCode::from(service_status(&e));
        }
        Err(ClientError::NotRunning { .. }) => true,
        Err(e @ ClientError::Timeout { .. }) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(exit::EX_TEMPFAIL);
        }
        Err(e @ ClientError::Untrusted { .. }) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(exit::EX_NOPERM);
        }
        Err(e @ ClientError::Protocol(_)) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime() {
        Ok(rt) => direct(args, &rt, service_down),
        Err(code) => code,
    }
}

/// The direct path: this process reads (and, for accounts it owns, refreshes) the tokens.
fn direct(args: Args, runtime: &tokio::runtime::Runtime, service_down: bool) -> ExitCode {
    // Before anything else: a refresh must not be cut between the provider's reply and the save.
    if let Err(e) = oauth::hold_termination_signals() {
        eprintln!("mailoauth: warning: cannot hold termination signals during a refresh: {e}");
    }
    let path = args.config.clone().unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return exit::for_token(mailoauth::account::TokenFailure::of_config(&e));
        }
    };
    let now = oauth::unix_now();
    if let Ok(account) = doc.account(&args.account) {
        if mailoauth::service::is_service_owned(account) {
            return service_owned_offline(&args, account, now, service_down);
        }
        if args.rejected.is_none() && !args.refresh {
            if let Some(token) = cached(account, &path, &args.account, now) {
                if args.verbose {
                    eprintln!(
                        "mailoauth: answered by the direct path (cached token, nothing written)"
                    );
                }
                return print_token(token.expose());
            }
        }
    }
    if args.verbose {
        eprintln!("mailoauth: answered by the direct path");
    }
    let warn = |m: &str| eprintln!("mailoauth: warning: {m}");
    let force = args.rejected.is_some() || args.refresh;
    if let Some(reply) = &args.rejected {
        tracing::warn!(account = %args.account, "a consumer reports the token was rejected: {}", mailoauth::diagnosis::scrub(reply));
    }
    let result = runtime.block_on(mailoauth::account::token_forced(
        &doc,
        &args.account,
        now,
        force,
        &warn,
    ));
    match result {
        Ok(token) => print_token(token.expose()),
        Err(e) => {
            eprintln!("mailoauth: {e}");
            let message = e.to_string();
            let ctx = doc
                .account(&args.account)
                .map(status::diagnosis_context)
                .unwrap_or_default();
            if let Some(d) = e
                .diagnosis_id()
                .as_deref()
                .and_then(|id| mailoauth::diagnosis::diagnose(id, &message, &ctx))
            {
                eprintln!("mailoauth: {} [{}]", d.title, d.id);
                for (n, step) in d.fix.iter().enumerate() {
                    eprintln!("  {}. {step}", n + 1);
                }
            }
            if e.needs_reauthorization() {
                eprintln!(
                    "mailoauth: account {:?} must sign in again: run {}",
                    args.account,
                    super::reauthorize::command(Some(&path), &args.account)
                );
            }
            exit::for_token(e.failure())
        }
    }
}

/// A cached token that is still valid beyond the refresh margin, read without a lock and
/// without writing: only when the status file already records a success and no failure to
/// clear, so a call that changes nothing writes nothing (the first success is still recorded).
fn cached(
    account: &config::Account,
    config_path: &std::path::Path,
    name: &str,
    now: u64,
) -> Option<oauth::AccessToken> {
    let recorded_ok = status::read(config_path)
        .ok()?
        .accounts
        .get(name)
        .is_some_and(|r| r.failing_since.is_none() && r.last_success.is_some());
    if !recorded_ok {
        return None;
    }
    let auth = mailoauth::account::convert::auth_settings(account);
    let store = mailoauth::account::convert::open_store(account, config_path).ok()?;
    let tokens = store.load(&oauth::store_key(&auth)).ok()??;
    tokens
        .fresh_at(now, oauth::CLOCK_SKEW_SECS)
        .then_some(tokens.access_token)
}

/// A service-owned account while the service is not running: a still-valid token from the
/// service's store, read only (never refreshed here: the service is the only writer), or 69.
fn service_owned_offline(
    args: &Args,
    account: &config::Account,
    now: u64,
    service_down: bool,
) -> ExitCode {
    let not_running = || {
        eprintln!(
            "mailoauth: the mailoauth service is not running, and it holds the tokens of account {:?}: start it (mailoauth service run, or systemctl start mailoauth)",
            args.account
        );
        ExitCode::from(exit::EX_UNAVAILABLE)
    };
    if !service_down || args.rejected.is_some() || args.refresh {
        return not_running();
    }
    let auth = mailoauth::account::convert::auth_settings(account);
    let store = mailoauth::service::custody::read_only(&mailoauth::service::state_dir_from_env());
    match store.load(&oauth::store_key(&auth)) {
        Ok(Some(t)) if t.fresh_at(now, oauth::CLOCK_SKEW_SECS) => {
            if args.verbose {
                eprintln!("mailoauth: answered by the direct path (the service's cached token, read only; the service is not running)");
            }
            print_token(t.access_token.expose())
        }
        _ => not_running(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_help_states_the_request_time_out() {
        let secs = format!("{} seconds", mailoauth::oauth::HTTP_TIMEOUT_SECS);
        assert!(
            super::SIGNALS_HELP.contains(&secs),
            "{}",
            super::SIGNALS_HELP
        );
    }
}
