//! Installing the token service through the OS's elevation prompt: the core says what to start
//! (`mailoauth::service::elevate`: `pkexec`, `osascript ... with administrator privileges`, or
//! `ShellExecuteExW` with `runas`) and what its exit status means; this command only starts it.
//! Linux and macOS start it with the shell plugin from Rust (no shell permission is granted to
//! the window: it cannot start anything itself); Windows through `ShellExecuteExW`, which
//! CreateProcess (the shell plugin's) cannot replace, since only it raises the UAC prompt.

use crate::error::CmdResult;
use mailoauth::service::elevate::{self, ElevationOutcome, Launch};
use mailoauth::service::install::Os;

/// Installs and starts the token service with the OS's elevation prompt (one prompt), which
/// also makes this desktop user a manager of it; resolves when the prompt and the install are
/// over. The UI then polls [`crate::flows::home`] until the service answers.
#[tauri::command]
pub async fn install_service<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> CmdResult<ElevationOutcome> {
    let os = Os::current();
    let (launch, hooked) = elevate::install_launch()?;
    tracing::info!(
        ?launch,
        hooked,
        "installing the token service with elevation"
    );
    let outcome = match launch {
        Launch::Exec { program, args } => {
            use tauri_plugin_shell::ShellExt;
            match app.shell().command(&program).args(&args).output().await {
                Ok(out) => elevate::outcome(
                    os,
                    hooked,
                    true,
                    out.status.code(),
                    &String::from_utf8_lossy(&out.stderr),
                ),
                Err(e) => elevate::outcome(os, hooked, false, None, &format!("{program}: {e}")),
            }
        }
        Launch::RunAs { file, parameters } => run_as(os, file, parameters).await,
    };
    tracing::info!(?outcome, "the elevated install ended");
    Ok(outcome)
}

#[cfg(windows)]
async fn run_as(os: Os, file: String, parameters: String) -> ElevationOutcome {
    match tokio::task::spawn_blocking(move || elevate::windows_runas(&file, &parameters)).await {
        Ok(Ok(code)) => elevate::outcome(os, false, true, Some(code), ""),
        Ok(Err(code)) => elevate::outcome(
            os,
            false,
            false,
            Some(code),
            &format!("Windows could not start the elevated install (error {code})"),
        ),
        Err(e) => elevate::outcome(os, false, false, None, &e.to_string()),
    }
}

#[cfg(not(windows))]
async fn run_as(os: Os, _file: String, _parameters: String) -> ElevationOutcome {
    elevate::outcome(os, false, false, None, "runas exists only on Windows")
}
