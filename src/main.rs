//! `mailoauth`: the command-line side of mailoauth, for servers without a desktop and for the
//! mail services that need fresh tokens. Every subcommand is a thin layer over the core library.

use clap::{Parser, Subcommand};
use mailoauth::provider;
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
    Providers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Providers { json } => providers(json),
    }
}

fn providers(json: bool) -> ExitCode {
    let list = provider::catalog();
    if json {
        match serde_json::to_string_pretty(list) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("mailoauth: cannot print the provider list: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let width = list.iter().map(|p| p.id.len()).max().unwrap_or(0);
        for p in list {
            println!("{:width$}  {}\n{:width$}  {}", p.id, p.name, "", p.summary);
        }
    }
    ExitCode::SUCCESS
}
