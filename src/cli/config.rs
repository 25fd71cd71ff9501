//! `mailoauth config`: where the config file is, and whether it is valid.
//!
//! The hidden `write-loop` subcommand exists for the crash-safety test only: it rewrites a config
//! file in a loop, alternating two versions, until it is killed.

use mailoauth::config::{self, SaveOutcome};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print the default config path on this machine ($MAILOAUTH_CONFIG, else the platform's).
    Path,
    /// Check a config file: structure, version, and that each account's values fit together.
    Check {
        /// The file [default: the default config path]
        file: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Test hook: rewrite FILE forever, alternating between its content and a variant.
    #[command(hide = true)]
    WriteLoop {
        /// A valid config file with at least one account.
        file: PathBuf,
    },
}

pub fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Path => {
            println!("{}", config::default_path().display());
            ExitCode::SUCCESS
        }
        Command::Check { file, json } => {
            let path = file.unwrap_or_else(config::default_path);
            // The loader `token`, `check` and `export` use: the same size bound, the same refusal
            // of what is not a regular file or not UTF-8, the same checks of every value.
            verdict(&path, config::load(&path).map(|doc| doc.config), json)
        }
        Command::WriteLoop { file } => write_loop(&file),
    }
}

/// Exit status of a config file that cannot be used (sysexits.h `EX_CONFIG`).
const EX_CONFIG: u8 = 78;
/// Exit status of a config file that does not exist (sysexits.h `EX_NOINPUT`).
const EX_NOINPUT: u8 = 66;
/// Exit status of a config file that could not be read (sysexits.h `EX_IOERR`).
const EX_IOERR: u8 = 74;

/// Checks config text and prints the verdict; used by `mailoauth validate` for TOML files.
pub fn check_text(path: &Path, text: &str, json: bool) -> ExitCode {
    verdict(path, config::parse(path, text), json)
}

/// Prints the verdict on a config file and turns it into the exit status.
fn verdict(
    path: &Path,
    result: Result<config::Config, config::ConfigError>,
    json: bool,
) -> ExitCode {
    if json {
        let value = match &result {
            Ok(c) => serde_json::json!({
                "kind": "config",
                "ok": true,
                "version": c.version,
                "accounts": c.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            }),
            Err(e) => serde_json::json!({
                "kind": "config",
                "ok": false,
                "code": mailoauth::error::Coded::code(e),
                "error": e.to_string(),
            }),
        };
        println!("{value:#}");
    } else {
        match &result {
            Ok(c) => println!(
                "{}: a valid mailoauth config (format version {}), {} account(s): {}",
                path.display(),
                c.version,
                c.accounts.len(),
                c.accounts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => eprintln!("mailoauth: {e}"),
        }
    }
    match &result {
        Ok(_) => ExitCode::SUCCESS,
        Err(config::ConfigError::Missing { .. }) => ExitCode::from(EX_NOINPUT),
        Err(config::ConfigError::Io { .. }) => ExitCode::from(EX_IOERR),
        Err(_) => ExitCode::from(EX_CONFIG),
    }
}

fn write_loop(path: &Path) -> ExitCode {
    let mut doc = match config::load(path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(first) = doc.config.accounts.first().map(|a| a.mailbox.clone()) else {
        eprintln!("mailoauth: {}: write-loop needs an account", path.display());
        return ExitCode::from(2);
    };
    // The variant is much longer, so a torn write would be visible as a truncated file. A loop
    // killed while the variant was on disk restarts from it: strip the padding to get the base.
    let first = first.trim_start_matches('x').to_string();
    let variant = format!("{}{}", "x".repeat(4000), first);
    let mut flip = false;
    println!("writing");
    loop {
        flip = !flip;
        if let Some(a) = doc.config.accounts.first_mut() {
            a.mailbox = if flip { variant.clone() } else { first.clone() };
        }
        match doc.save() {
            Ok(SaveOutcome::Saved) => {}
            Ok(SaveOutcome::ChangedOnDisk { .. }) => {
                eprintln!("mailoauth: {} changed on disk", path.display());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("mailoauth: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}
