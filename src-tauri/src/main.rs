// Keep a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    webkit_without_gl();
    mailoauth_app::run();
}

/// WebKitGTK's graphics set-up for a wizard that draws forms (docs/PERFORMANCE.md has the
/// figures). Set before any thread starts; a variable the admin has set is left alone.
///
/// - No accelerated compositing: it costs about 70 MB in the web process.
/// - Without compositing, nothing in the app process needs OpenGL, yet GTK probes GLX when it
///   opens the display, WebKit probes EGL for the DMA-BUF renderer, and WebKit initializes EGL
///   to find the GPU's DRM device when it starts the web process. On a machine without a GPU
///   render node (a server VM, a remote desktop, Xvfb) each probe loads Mesa's software driver
///   and LLVM: about 25 MB. The three settings below skip them; `WEBKIT_WEB_RENDER_DEVICE_FILE`
///   only when there is no render node, which is what WebKit would have found.
#[cfg(target_os = "linux")]
fn webkit_without_gl() {
    fn default(key: &str, value: &str) {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    default("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").as_deref() != Some("1".as_ref()) {
        return; // compositing on (the admin's choice): WebKit needs its GL set-up
    }
    default("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    default("GDK_GL", "disable");
    let has_render_node = std::fs::read_dir("/dev/dri")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false);
    if !has_render_node {
        default("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null");
    }
}
