//! `mailoauth export <format> <account>`: the account in another consumer's format (msmtp,
//! mbsync, SafeQ MPS, env file), printed or written to a file.

use mailoauth::config;
use mailoauth::export::{self, ExportContext};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The format: msmtp, mbsync, safeq-mps or env (see --list).
    #[arg(required_unless_present = "list")]
    format: Option<String>,
    /// The account's name in the config.
    #[arg(required_unless_present = "list")]
    account: Option<String>,
    /// The config file [default: $MAILOAUTH_CONFIG, else the platform's default location]
    #[arg(long)]
    config: Option<PathBuf>,
    /// How the consumer runs mailoauth, e.g. a full path [default: mailoauth]
    #[arg(long, default_value = "mailoauth")]
    program: String,
    /// Write to this file (atomically, owner-only) instead of printing.
    #[arg(long)]
    out: Option<PathBuf>,
    /// List the formats.
    #[arg(long)]
    list: bool,
}

pub fn run(args: Args) -> ExitCode {
    if args.list {
        for f in export::formats() {
            println!("{:10} {}", f.id, f.description);
        }
        return ExitCode::SUCCESS;
    }
    let (Some(format), Some(name)) = (args.format, args.account) else {
        eprintln!("mailoauth: give the format and the account, or --list");
        return ExitCode::from(2);
    };
    // The token command names the config only when it is not the one mailoauth finds by itself.
    let explicit = args.config.clone();
    let path = args.config.unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    let account = match doc.account(&name) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = ExportContext {
        program: args.program,
        config: explicit.filter(|p| *p != config::default_path()),
    };
    let text = match export::export(&format, account, &ctx) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.out {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(out) => match config::atomic::write_atomic(&out, text.as_bytes(), true) {
            Ok(()) => {
                eprintln!("mailoauth: wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mailoauth: writing {} failed: {e}", out.display());
                ExitCode::FAILURE
            }
        },
    }
}
