//! The mailoauth token service (issue #15): `mailoauth service run` and its parts.
//!
//! placeholder until service lands: the `service` helper writes the real module (protocol,
//! engine, custody, endpoint); this file only holds the entry point's signature so that the
//! `service` subcommands, the installer and the Windows dispatcher build against it. The lead
//! keeps the real one and adds the `install`, `windows` and `shutdown` module lines below to it.

pub mod install;
pub mod shutdown;
pub mod windows;

use std::path::PathBuf;

/// What `mailoauth service run` was given.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The machine config the service serves.
    pub config: PathBuf,
    /// Where the custody store and the service state live (non-root mode); else the platform's.
    pub state_dir: Option<PathBuf>,
    /// The endpoint (Unix socket path, or pipe name on Windows); else the platform's.
    pub socket: Option<PathBuf>,
}

/// Why the service could not run. placeholder until service lands.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The service core is not in this build yet.
    #[error("the mailoauth service is not built yet (placeholder until the service core lands)")]
    NotBuilt,
}

/// Runs the service in the foreground until it is told to stop. placeholder until service lands.
pub async fn run(opts: RunOptions) -> Result<(), ServiceError> {
    let _ = opts;
    Err(ServiceError::NotBuilt)
}
