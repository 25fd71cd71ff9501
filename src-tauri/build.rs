fn main() {
    // Declaring the app's commands makes each one need an explicit permission
    // (`allow-<command>`), so the capability file grants exactly what the UI calls.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "list_providers",
            "profile_view",
            "registration_checklist",
            "validate_field",
            "validate_server",
            "explain_error",
            "sandbox_info",
            "plan_account",
            "authorize",
            "check_mail",
            "cancel_flow",
            "save_setup",
            "home",
            "reauthorize",
            "check_account",
            "start_over",
            "import_registration",
            "open_log_folder",
            "choose_config_file",
            "export_formats",
            "export_preview",
            "content_shown",
            "service_ready",
            "check_readers",
            "install_service",
        ]),
    ))
    .expect("tauri build script");
}
