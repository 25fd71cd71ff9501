//! `mailoauth providers`: the providers the wizard offers.

use mailoauth::provider;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let list = provider::catalog();
    if args.json {
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
