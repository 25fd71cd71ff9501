//! Start-up timing: the window is shown once the first screen has rendered, and the time to the
//! painted first screen goes to the log for `benches/app_launch.sh`.

use crate::error::CmdResult;

/// When the process started, for the launch-to-content figure (`benches/app_launch.sh`).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The UI calls this twice on start-up. First when its first screen has rendered its data
/// (`on_screen` false): the window, created hidden, is shown now. A WebKitGTK window drawn
/// before its page is ready makes its first paint wait for the web process, which in turn
/// waits on this (blocked) main thread to serve the page and the IPC calls: a 500 ms stall in
/// about a third of launches (docs/PERFORMANCE.md). Then once the content has been painted in
/// the visible window (`on_screen` true): the time since launch goes to the log, where
/// `benches/app_launch.sh` reads it.
#[tauri::command]
pub async fn content_shown<R: tauri::Runtime>(
    window: tauri::Window<R>,
    page_ms: Option<f64>,
    on_screen: bool,
    items: Option<u32>,
) -> CmdResult<()> {
    let since_start = STARTED.get().map(|s| s.elapsed().as_millis() as u64);
    // Milliseconds since the page's navigation started, as the page measured it.
    let page_ms = page_ms.unwrap_or(-1.0).round() as i64;
    if on_screen {
        // `items`: the providers or accounts on the first screen, so the figure is known to
        // be a screen with its data, not an empty frame.
        tracing::info!(
            ms_since_start = since_start,
            page_ms,
            items = items.unwrap_or(0),
            "first content shown"
        );
    } else {
        tracing::debug!(
            ms_since_start = since_start,
            page_ms,
            "first content rendered"
        );
        crate::show_main_window(&window);
    }
    Ok(())
}
