//! The export step: which formats fit the account being saved, and what `mailoauth export`
//! will write for it.

use crate::error::{CmdResult, IpcError};
use serde::Serialize;
use ts_rs::TS;

/// The export formats (msmtp, mbsync, SafeQ MPS, env file); with a provider and purpose, only
/// those such an account can use (the sandbox's account is a generic one).
#[tauri::command]
pub async fn export_formats(
    provider: Option<String>,
    purpose: Option<mailoauth::provider::Purpose>,
) -> CmdResult<Vec<mailoauth::export::ExportFormat>> {
    Ok(match (provider, purpose) {
        (Some(provider), Some(purpose)) => {
            mailoauth::export::formats_for(mailoauth::provider::profile_id(&provider), purpose)
        }
        _ => mailoauth::export::formats(),
    })
}

/// What `mailoauth export <format>` will write for the account being saved, and the command.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportPreview {
    /// The snippet.
    pub text: String,
    /// The command that writes it, always naming the config file (`--config <file>`).
    pub command: String,
}

/// What `mailoauth export <format>` will write for the account being saved.
#[tauri::command]
pub async fn export_preview(
    state: tauri::State<'_, crate::flows::AppState>,
    draft: mailoauth::account::AccountDraft,
    name: String,
    format: String,
) -> CmdResult<ExportPreview> {
    let account = crate::flows::planned_account(&state, &draft, &name)?;
    let ctx = mailoauth::export::ExportContext::for_config(&crate::flows::config_path(&state));
    let text =
        mailoauth::export::export(&format, &account, &ctx).map_err(|e| IpcError::from_core(&e))?;
    Ok(ExportPreview {
        command: ctx.command("export", &[&format, &name]),
        text,
    })
}
