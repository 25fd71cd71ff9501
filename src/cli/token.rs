//! `mailoauth token <account>`: prints a fresh access token, for `passwordeval`/`PassCmd`-style
//! use by mail services. A cached token that is still valid is printed without any network call;
//! otherwise it is refreshed first. Each outcome is recorded in the status file.

use mailoauth::config;
use mailoauth::oauth;
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
    /// The account's name in the config.
    account: String,
}

pub fn run(args: Args) -> ExitCode {
    // Before anything else: a refresh must not be cut between the provider's reply and the save.
    if let Err(e) = oauth::hold_termination_signals() {
        eprintln!("mailoauth: warning: cannot hold termination signals during a refresh: {e}");
    }
    let path = args.config.unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return super::exit::for_token(mailoauth::account::TokenFailure::of_config(&e));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let warn = |m: &str| eprintln!("mailoauth: warning: {m}");
    let result = runtime.block_on(mailoauth::account::token(
        &doc,
        &args.account,
        oauth::unix_now(),
        &warn,
    ));
    match result {
        Ok(token) => {
            // The whole point of this command: the token goes to stdout, for the calling service.
            println!("{}", token.expose());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailoauth: {e}");
            let message = e.to_string();
            if let Some(d) = e
                .diagnosis_id()
                .as_deref()
                .and_then(|id| mailoauth::diagnosis::diagnose(id, &message, &Default::default()))
            {
                eprintln!("mailoauth: {} [{}]", d.title, d.id);
                for (n, step) in d.fix.iter().enumerate() {
                    eprintln!("  {}. {step}", n + 1);
                }
            }
            if e.needs_reauthorization() {
                eprintln!(
                    "mailoauth: account {:?} must sign in again: run the mailoauth wizard on this machine",
                    args.account
                );
            }
            super::exit::for_token(e.failure())
        }
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
