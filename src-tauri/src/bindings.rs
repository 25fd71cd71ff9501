//! TypeScript bindings of every type that crosses IPC, generated with ts-rs.
//!
//! The generated files are committed in `ui/src/lib/ipc/bindings/`. The test below regenerates
//! them into a temporary folder and fails when the committed ones differ; run it with
//! `UPDATE_BINDINGS=1` to rewrite them (`UPDATE_BINDINGS=1 cargo test -p mailoauth-app bindings`).

use std::path::Path;
use ts_rs::{Config, ExportError, TS};

/// Writes the bindings of every IPC type, with their dependencies, into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    // serde_json writes u64 as a JSON number, so TypeScript sees a number, not a bigint.
    let cfg = Config::new().with_out_dir(dir).with_large_int("number");
    crate::error::IpcError::export_all(&cfg)?;
    mailoauth::provider::ProviderSummary::export_all(&cfg)?;
    mailoauth::diagnosis::Explanation::export_all(&cfg)?;
    mailoauth::diagnosis::Context::export_all(&cfg)?;
    mailoauth::diagnosis::Entry::export_all(&cfg)?;
    mailoauth::provider::ProfileView::export_all(&cfg)?;
    mailoauth::provider::RedirectRegistration::export_all(&cfg)?;
    mailoauth::provider::EndpointOverrides::export_all(&cfg)?;
    mailoauth::provider::checklist::ChecklistContext::export_all(&cfg)?;
    mailoauth::provider::checklist::Checklist::export_all(&cfg)?;
    mailoauth::validate::FieldKind::export_all(&cfg)?;
    mailoauth::validate::FieldContext::export_all(&cfg)?;
    mailoauth::validate::FieldReport::export_all(&cfg)?;
    mailoauth::validate::input::PortSecurityInput::export_all(&cfg)?;
    mailoauth::validate::FileContext::export_all(&cfg)?;
    mailoauth::validate::FileReport::export_all(&cfg)?;
    mailoauth::validate::ImportedValues::export_all(&cfg)?;
    mailoauth::sandbox::Sandbox::export_all(&cfg)?;
    mailoauth::account::AccountDraft::export_all(&cfg)?;
    mailoauth::account::AccountSetup::export_all(&cfg)?;
    mailoauth::account::SaveReport::export_all(&cfg)?;
    mailoauth::account::SaveMode::export_all(&cfg)?;
    mailoauth::account::readers::ReadersCheck::export_all(&cfg)?;
    mailoauth::service::client::ServiceOverview::export_all(&cfg)?;
    mailoauth::service::elevate::ElevationOutcome::export_all(&cfg)?;
    crate::flows::AuthorizeRequest::export_all(&cfg)?;
    crate::flows::HomeView::export_all(&cfg)?;
    crate::flows::StartView::export_all(&cfg)?;
    crate::files::ImportSource::export_all(&cfg)?;
    crate::files::ImportResult::export_all(&cfg)?;
    crate::exports::ExportPreview::export_all(&cfg)?;
    crate::files::LogFolder::export_all(&cfg)?;
    mailoauth::probe::CheckRequest::export_all(&cfg)?;
    mailoauth::probe::CheckReport::export_all(&cfg)?;
    mailoauth::probe::ProbeEvent::export_all(&cfg)?;
    mailoauth::oauth::FlowEvent::export_all(&cfg)?;
    mailoauth::oauth::Granted::export_all(&cfg)?;
    mailoauth::oauth::AccountAuth::export_all(&cfg)?;
    mailoauth::config::Config::export_all(&cfg)?;
    mailoauth::status::AccountStatus::export_all(&cfg)?;
    mailoauth::status::StatusFile::export_all(&cfg)?;
    mailoauth::export::ExportFormat::export_all(&cfg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::{Path, PathBuf};

    fn committed_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/ipc/bindings")
    }

    fn read_tree(dir: &Path) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        let Ok(entries) = fs::read_dir(dir) else {
            return files;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "ts") {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.insert(name, fs::read_to_string(&path).unwrap_or_default());
            }
        }
        files
    }

    #[test]
    fn committed_bindings_are_up_to_date() {
        let tmp = std::env::temp_dir().join(format!("mailoauth-bindings-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        super::export_all(&tmp).expect("export bindings");
        let fresh = read_tree(&tmp);
        let committed_path = committed_dir();
        assert!(!fresh.is_empty(), "no bindings were generated");

        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = fs::remove_dir_all(&committed_path);
            fs::create_dir_all(&committed_path).expect("create bindings dir");
            for (name, text) in &fresh {
                fs::write(committed_path.join(name), text).expect("write binding");
            }
        }
        let committed = read_tree(&committed_path);
        let _ = fs::remove_dir_all(&tmp);
        assert_eq!(
            committed.keys().collect::<Vec<_>>(),
            fresh.keys().collect::<Vec<_>>(),
            "the set of binding files in ui/src/lib/ipc/bindings is stale: \
             run `UPDATE_BINDINGS=1 cargo test -p mailoauth-app bindings`"
        );
        for (name, text) in &fresh {
            assert_eq!(
                committed.get(name),
                Some(text),
                "ui/src/lib/ipc/bindings/{name} is stale: \
                 run `UPDATE_BINDINGS=1 cargo test -p mailoauth-app bindings`"
            );
        }
    }
}
