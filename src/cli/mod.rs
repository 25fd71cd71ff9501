//! One module per subcommand: its clap `Args` and a `run(args) -> ExitCode`.

pub mod providers;
