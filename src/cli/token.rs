//! `mailoauth token <account>`: prints a fresh access token, for `passwordeval`/`PassCmd`-style
//! use by mail services. A cached token that is still valid is printed without any network call;
//! otherwise it is refreshed first. Each outcome is recorded in the status file.

use mailoauth::config;
use mailoauth::oauth;
use mailoauth::status;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The config file [default: $MAILOAUTH_CONFIG, else the platform's default location]
    #[arg(long)]
    config: Option<PathBuf>,
    /// The account's name in the config.
    account: String,
}

pub fn run(args: Args) -> ExitCode {
    let path = args.config.unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
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
    let result = runtime.block_on(status::access_token(
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
            ExitCode::FAILURE
        }
    }
}
