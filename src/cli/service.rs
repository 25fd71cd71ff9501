//! `mailoauth service run | adopt`.
//!
//! placeholder until install lands: the `install` branch owns this file (install, uninstall,
//! status, run); the lead keeps that one and adds the `Adopt` subcommand below to it.

use clap::{Args as ClapArgs, Subcommand};
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
    /// Run the service in the foreground (what the service manager starts; also for tests and
    /// containers, without root, with --state-dir and --socket).
    Run {
        /// The machine config; default: the platform's.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Where the tokens and the service's state are kept; default: the platform's.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// The endpoint: a Unix socket path; default: the platform's.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
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
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Runs `mailoauth service ...`.
pub fn run(args: Args) -> ExitCode {
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    match args.command {
        ServiceCommand::Run {
            config,
            state_dir,
            socket,
        } => {
            let opts = mailoauth::service::RunOptions {
                config: config.unwrap_or_else(mailoauth::config::default_path),
                state_dir,
                socket,
            };
            match rt.block_on(mailoauth::service::run(opts)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mailoauth: {e}");
                    ExitCode::from(match e {
                        mailoauth::service::ServiceError::AlreadyRunning { .. } => 69,
                        _ => 71,
                    })
                }
            }
        }
        #[cfg(unix)]
        ServiceCommand::Adopt {
            config,
            socket,
            account,
        } => {
            let config = config.unwrap_or_else(mailoauth::config::default_path);
            let socket = mailoauth::service::client::socket_path(socket.as_deref());
            match rt.block_on(mailoauth::service::client::adopt(
                &config, &account, &socket,
            )) {
                Ok(()) => {
                    println!("account {account:?} is now held by the mailoauth service");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mailoauth: {e}");
                    ExitCode::from(match e {
                        mailoauth::service::client::AdoptError::Refused { .. } => 69,
                        _ => 1,
                    })
                }
            }
        }
        #[cfg(not(unix))]
        ServiceCommand::Adopt { .. } => {
            eprintln!("mailoauth: service adopt is not available on this platform yet");
            ExitCode::from(69)
        }
    }
}
