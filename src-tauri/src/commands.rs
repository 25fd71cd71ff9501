//! The commands the UI invokes. Each is short: DTO in, one core call, `{code, message}` out.

use crate::error::{CmdResult, IpcError};
use mailoauth::diagnosis::{self, Context as DiagnosisContext, Explanation};
use mailoauth::error::ErrorCode;
use mailoauth::provider::checklist::{self, Checklist, ChecklistContext};
use mailoauth::provider::{self, Cloud, ProfileView, ProviderSummary};
use mailoauth::validate::{self, FieldContext, FieldKind, FieldReport, PortSecurityInput};
use tauri_plugin_shell::ShellExt;

/// The providers the first wizard screen offers, from the core's catalog.
#[tauri::command]
pub async fn list_providers() -> CmdResult<Vec<ProviderSummary>> {
    Ok(provider::catalog().to_vec())
}

/// What the wizard needs to know of one provider in one cloud: flows, defaults, clouds.
#[tauri::command]
pub async fn profile_view(provider: String, cloud: Cloud) -> CmdResult<ProfileView> {
    let profile = provider::require_profile(&provider).map_err(|e| IpcError::from_core(&e))?;
    profile.view(cloud).map_err(|e| IpcError::from_core(&e))
}

/// The registration steps for this provider, flow and client type, with values filled in.
#[tauri::command]
pub async fn registration_checklist(
    provider: String,
    context: ChecklistContext,
) -> CmdResult<Checklist> {
    checklist::checklist(&provider, &context).map_err(|e| IpcError::from_core(&e))
}

/// Checks one field as the admin types it.
#[tauri::command]
pub async fn validate_field(
    kind: FieldKind,
    value: String,
    context: FieldContext,
) -> CmdResult<FieldReport> {
    Ok(validate::validate_field(kind, &value, &context))
}

/// Checks a mail server's port and security as the admin edits them (with the host: security
/// `none` is refused for anything but this machine, the same rule as the loader and the tests).
#[tauri::command]
pub async fn validate_server(
    input: PortSecurityInput,
    context: FieldContext,
) -> CmdResult<FieldReport> {
    Ok(validate::validate_port_security(&input, &context))
}

/// The troubleshooter: every known failure the pasted text matches, with cause and fix.
/// Only the scrubbed text comes back; the pasted text is not kept or logged.
#[tauri::command]
pub async fn explain_error(text: String, context: DiagnosisContext) -> CmdResult<Explanation> {
    context.validate().map_err(|e| IpcError::from_core(&e))?;
    Ok(diagnosis::explain(&text, &context))
}

/// Opens a console page or a document in the system browser (never in the app's webview:
/// Google blocks sign-in there). Only https links are opened.
#[tauri::command]
pub async fn open_link<R: tauri::Runtime>(app: tauri::AppHandle<R>, url: String) -> CmdResult<()> {
    if !url.starts_with("https://") {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            format!("Only https links are opened in the browser, not {url:?}."),
        ));
    }
    #[allow(deprecated)] // tauri-plugin-shell's open is the documented way in Tauri v2 apps
    app.shell().open(url, None).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("The browser could not be opened: {e}. Copy the link and open it by hand."),
        )
    })
}
