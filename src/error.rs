//! Error codes: the stable, machine-readable half of every error that leaves the core.
//!
//! Front ends (the app's UI, the CLI's `--json` output) switch on an [`ErrorCode`], never on a
//! message string. A code exists only when some consumer acts on it differently.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What went wrong, as a front end needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Something the user typed or chose is not valid; the message names the field and the fix.
    InvalidInput,
    /// The requested thing (provider, account, file) does not exist.
    NotFound,
    /// The user or the app cancelled a running flow.
    Cancelled,
    /// A bug or an unexpected state inside mailoauth; the message says what to report.
    Internal,
}

/// Implemented by every error enum of the core, so a front end can get its code.
pub trait Coded {
    /// The code a front end switches on.
    fn code(&self) -> ErrorCode;
}
