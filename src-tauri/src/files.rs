//! Files the admin hands the wizard or asks about: the downloaded client JSON / app manifest
//! (native file dialog or pasted text) and the support log folder.

use crate::error::{CmdResult, IpcError};
use mailoauth::error::ErrorCode;
use mailoauth::validate::file::{self, FileContext, FileReport, ImportedValues};
use serde::{Deserialize, Serialize};
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

/// Where an imported registration file comes from.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ImportSource {
    /// Ask with the system's file dialog.
    Dialog,
    /// The file's content, pasted by the admin.
    Text {
        /// The pasted content.
        text: String,
    },
}

/// What an imported file said and the values it fills in.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    /// The file chosen, or `pasted text`.
    pub source: String,
    /// What the file is and every finding, errors first.
    pub report: FileReport,
    /// The values for the wizard's fields.
    pub values: ImportedValues,
    /// The client secret the file carries, for the wizard's (masked) secret field only.
    #[ts(optional)]
    pub client_secret: Option<String>,
}

/// Imports Google's client JSON, a service account key or an Azure app manifest: checks it
/// against what the wizard knows and returns the values it fills in. `None`: the dialog was
/// cancelled.
#[tauri::command]
pub async fn import_registration(
    source: ImportSource,
    mut context: FileContext,
) -> CmdResult<Option<ImportResult>> {
    // The wizard's provider id (the sandbox's too) as the profile the file is checked against.
    context.provider = context
        .provider
        .map(|p| mailoauth::provider::profile_id(&p).to_string());
    let (shown, text) = match source {
        ImportSource::Text { text } => (String::from("pasted text"), text),
        ImportSource::Dialog => {
            let picked = rfd::AsyncFileDialog::new()
                .set_title("Choose the downloaded client JSON or app manifest")
                .add_filter("JSON", &["json"])
                .add_filter("All files", &["*"])
                .pick_file()
                .await;
            let Some(handle) = picked else {
                return Ok(None);
            };
            let path = handle.path().to_path_buf();
            let text = file::read(&path).map_err(|e| IpcError::from_core(&e))?;
            (path.display().to_string(), text)
        }
    };
    if text.trim().is_empty() {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "The pasted text is empty: paste the whole content of the downloaded .json file.",
        ));
    }
    let report = file::validate_file(&text, &context);
    let values = file::imported_values(&text);
    tracing::info!(source = %shown, kind = ?report.kind, findings = report.findings.len(), "registration file imported");
    Ok(Some(ImportResult {
        source: shown,
        client_secret: values.client_secret.as_ref().map(|s| s.expose().clone()),
        report,
        values,
    }))
}

/// The support log's folder.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LogFolder {
    /// The folder.
    pub path: String,
    /// Whether the file manager was opened on it.
    pub opened: bool,
}

/// Opens the support log's folder in the file manager (and says where it is, for when no file
/// manager can be started).
#[tauri::command]
pub async fn open_log_folder<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> CmdResult<LogFolder> {
    let dir = mailoauth::logging::default_dir();
    std::fs::create_dir_all(&dir).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("The log folder {} cannot be created: {e}.", dir.display()),
        )
    })?;
    let path = dir.display().to_string();
    // The system's file manager.
    let opened = app.opener().open_path(&path, None::<&str>).is_ok();
    Ok(LogFolder { path, opened })
}

/// Lets the admin choose where the config file goes (a save dialog starting at the current
/// one). `None`: the dialog was cancelled. The sandbox keeps its own file.
#[tauri::command]
pub async fn choose_config_file(
    state: tauri::State<'_, crate::flows::AppState>,
) -> CmdResult<Option<String>> {
    if matches!(state.sandbox, Some(Ok(_))) {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "The sandbox writes its own config file; start the app without --sandbox to choose one.",
        ));
    }
    let current = crate::flows::config_path(&state);
    let mut dialog = rfd::AsyncFileDialog::new()
        .set_title("Where the mail service reads its mailoauth config")
        .add_filter("mailoauth config (TOML)", &["toml"])
        .set_file_name(
            current
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| mailoauth::config::location::FILE_NAME.to_string()),
        );
    if let Some(dir) = current.parent().filter(|d| d.is_dir()) {
        dialog = dialog.set_directory(dir);
    }
    let Some(handle) = dialog.save_file().await else {
        return Ok(None);
    };
    let path = handle.path().to_path_buf();
    state.choose_config(path.clone()).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("The choice could not be remembered: {e}."),
        )
    })?;
    tracing::info!(path = %path.display(), "config location chosen");
    Ok(Some(path.display().to_string()))
}
