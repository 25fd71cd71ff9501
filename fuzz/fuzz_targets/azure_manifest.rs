//! The Azure app manifest importer, both portal formats (classic AAD Graph and Microsoft Graph).
//! Any bytes give a report (sorted, deterministic, never empty), and the secret text or
//! certificate key of a manifest's credentials never reaches the report.
//! The check is `checks/azure_manifest.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/azure_manifest.rs"]
mod azure_manifest;
#[path = "checks/importer.rs"]
mod importer;

libfuzzer_sys::fuzz_target!(|data: &[u8]| azure_manifest::check(data));
