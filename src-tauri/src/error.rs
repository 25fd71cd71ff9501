//! The one error shape that crosses IPC: `{ code, message }`.
//!
//! The UI switches on `code` (generated as a TypeScript union), and shows `message`, which is
//! written for the admin. Core errors convert through [`mailoauth::error::Coded`].

use mailoauth::error::{Coded, ErrorCode};
use serde::Serialize;
use ts_rs::TS;

/// An error as the UI receives it from any command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    /// What went wrong, for the UI to switch on.
    pub code: ErrorCode,
    /// What went wrong and what to do, in words an admin understands.
    pub message: String,
}

impl IpcError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Converts any coded core error, keeping its code and its message.
    pub fn from_core<E: Coded + std::fmt::Display>(err: &E) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

/// What every command returns.
pub type CmdResult<T> = Result<T, IpcError>;
