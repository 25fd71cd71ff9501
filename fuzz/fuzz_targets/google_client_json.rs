//! The Google importers: the OAuth client JSON (`installed`/`web`) and the service account key.
//! Any bytes give a report (sorted, deterministic, never empty) and the client secret or the
//! private key of a file never reaches the report.
//! The check is `checks/google_client_json.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/google_client_json.rs"]
mod google_client_json;
#[path = "checks/importer.rs"]
mod importer;

libfuzzer_sys::fuzz_target!(|data: &[u8]| google_client_json::check(data));
