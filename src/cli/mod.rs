//! One module per subcommand: its clap `Args` and a `run(args) -> ExitCode`.

pub mod checklist;
pub mod explain;
pub mod providers;
pub mod validate;
