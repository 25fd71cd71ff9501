//! The commands the UI invokes. Each is short: DTO in, one core call, `{code, message}` out.

use crate::error::CmdResult;
use mailoauth::provider::{self, ProviderSummary};

/// The providers the first wizard screen offers, from the core's catalog.
#[tauri::command]
pub async fn list_providers() -> CmdResult<Vec<ProviderSummary>> {
    Ok(provider::catalog().to_vec())
}
