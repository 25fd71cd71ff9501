//! One module per subcommand: its clap `Args` and a `run(args) -> ExitCode`.

pub mod authorize;
pub mod check;
pub mod checklist;
pub mod config;
pub mod exit;
pub mod explain;
pub mod export;
pub mod providers;
pub mod service;
pub mod status;
pub mod token;
pub mod validate;
