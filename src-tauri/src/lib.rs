//! The mailoauth desktop app: a thin Tauri layer over the `mailoauth` core.
//!
//! `commands` holds the IPC commands, `error` the `{code, message, diagnosis?, reauthorize}` error
//! they return. All domain logic lives in the core crate.

pub mod bindings;
pub mod commands;
pub mod elevate;
pub mod error;
pub mod exports;
pub mod files;
pub mod flows;
pub mod startup;

#[cfg(test)]
mod capabilities_test;

use tauri::Manager;

/// Builds the app on the given builder (a mock builder in tests) and runs it.
pub fn run_app<R: tauri::Runtime>(builder: tauri::Builder<R>) {
    builder
        // A second launch focuses the window that is already open instead of starting a
        // second wizard that would fight over the same config files.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_opener::init())
        // Starts the token service's elevated install from Rust (src/elevate.rs); the window is
        // granted none of its commands.
        .plugin(tauri_plugin_shell::init())
        .manage(flows::AppState::from_env())
        .invoke_handler(tauri::generate_handler![
            commands::list_providers,
            commands::profile_view,
            commands::registration_checklist,
            commands::validate_field,
            commands::validate_server,
            commands::explain_error,
            flows::sandbox_info,
            flows::authorize,
            flows::check_mail,
            flows::cancel_flow,
            flows::plan_account,
            flows::save_setup,
            flows::home,
            flows::reauthorize,
            flows::check_account,
            flows::start_over,
            files::import_registration,
            files::open_log_folder,
            files::choose_config_file,
            exports::export_formats,
            exports::export_preview,
            startup::content_shown,
            flows::service_ready,
            flows::check_readers,
            elevate::install_service,
        ])
        .on_page_load(|_webview, payload| {
            // Start-up timing for support and benches/app_launch.sh: when the page began and
            // finished loading, against the process start.
            if let Some(start) = startup::STARTED.get() {
                tracing::debug!(
                    ms_since_start = start.elapsed().as_millis() as u64,
                    event = ?payload.event(),
                    "page load"
                );
            }
        })
        .setup(|app| {
            // Should the page never start loading (a broken web view), the window still
            // appears, so the failure is seen rather than a silent process.
            let handle = app.handle().clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(3));
                if let Some(window) = handle.get_webview_window("main") {
                    show_main_window(&window.as_ref().window());
                }
            });
            // The config file chosen in an earlier run, from the app's per-user folder.
            if let Ok(dir) = app.path().app_config_dir() {
                app.state::<flows::AppState>()
                    .load_prefs(dir.join("config-location.txt"));
            }
            open_main_window(app.handle())?;
            Ok(())
        })
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("mailoauth: the app could not start: {e}");
            std::process::exit(1);
        });
}

/// Opens the main window (`tauri.conf.json`, created hidden) with the first screen's data in
/// the page from the start (`window.__MAILOAUTH_START__`): the first screen draws without an
/// IPC round trip, and the window is shown once it has (see [`startup::content_shown`]).
fn open_main_window<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .ok_or("tauri.conf.json has no main window")?;
    let start = flows::start_view(&app.state::<flows::AppState>());
    let script = format!(
        "window.__MAILOAUTH_START__ = {};",
        serde_json::to_string(&start)?
    );
    tauri::WebviewWindowBuilder::from_config(app, &config)?
        .initialization_script(&script)
        .build()?;
    Ok(())
}

/// Shows the main window unless it is already visible (idempotent: the first screen and the
/// fallback timer may both ask).
pub(crate) fn show_main_window<R: tauri::Runtime>(window: &tauri::Window<R>) {
    if !window.is_visible().unwrap_or(false) {
        if let Err(e) = window.show() {
            tracing::warn!(error = %e, "the window could not be shown");
        }
    }
}

/// Entry point of the desktop binary.
pub fn run() {
    let _ = startup::STARTED.set(std::time::Instant::now());
    // The support log (scrubbed daily file); the app runs without it if the folder is unusable.
    let _log = match mailoauth::logging::init(None, mailoauth::logging::Echo::None) {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("mailoauth: the log file cannot be written: {e}");
            None
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "app started");
    run_app(tauri::Builder::default());
}
