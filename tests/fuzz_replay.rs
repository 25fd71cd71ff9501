//! Every committed fuzz input (`fuzz/corpus/<target>/`: the seeds and the `regression-*` inputs
//! that once failed a target) replayed through the target's own check, as an ordinary test.
//!
//! The checks live in `fuzz/fuzz_targets/checks/`: each fuzz target calls its check, and so does
//! this file, so a fix reverted turns the replay red. Random exploration stays in
//! `scripts/fuzz.sh`, run on purpose; the gate replays only what is committed, so the same commit
//! always gives the same verdict. Whatever exploration finds is kept as a `regression-*` input.

#![allow(dead_code)]

#[path = "../fuzz/fuzz_targets/checks/importer.rs"]
mod importer;

#[path = "../fuzz/fuzz_targets/checks/azure_manifest.rs"]
mod azure_manifest;
#[path = "../fuzz/fuzz_targets/checks/config_parse.rs"]
mod config_parse;
#[path = "../fuzz/fuzz_targets/checks/explain.rs"]
mod explain;
#[path = "../fuzz/fuzz_targets/checks/google_client_json.rs"]
mod google_client_json;
#[path = "../fuzz/fuzz_targets/checks/loopback_request.rs"]
mod loopback_request;
#[path = "../fuzz/fuzz_targets/checks/redirect_query.rs"]
mod redirect_query;
#[path = "../fuzz/fuzz_targets/checks/sasl_challenge.rs"]
mod sasl_challenge;
#[path = "../fuzz/fuzz_targets/checks/service_frame.rs"]
mod service_frame;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Feeds every file of `fuzz/corpus/<target>/` to `check`, in name order, and fails naming each
/// input whose check panicked (all of them, not only the first).
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no committed inputs", dir.display());
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file reads");
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(file.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    println!("{target}: {} inputs replayed", files.len());
    assert!(
        failed.is_empty(),
        "{target}: the check failed on {} of {} committed inputs: {failed:?} (panic messages above)",
        failed.len(),
        files.len()
    );
}

#[test]
fn azure_manifest_corpus() {
    replay("azure_manifest", azure_manifest::check);
}

#[test]
fn config_parse_corpus() {
    replay("config_parse", config_parse::check);
}

#[test]
fn explain_corpus() {
    replay("explain", explain::check);
}

#[test]
fn google_client_json_corpus() {
    replay("google_client_json", google_client_json::check);
}

#[test]
fn loopback_request_corpus() {
    replay("loopback_request", loopback_request::check);
}

#[test]
fn redirect_query_corpus() {
    replay("redirect_query", redirect_query::check);
}

#[test]
fn sasl_challenge_corpus() {
    replay("sasl_challenge", sasl_challenge::check);
}

#[test]
fn service_frame_corpus() {
    replay("service_frame", service_frame::check);
}

/// Every fuzz target of `fuzz/Cargo.toml` has its corpus replayed here.
#[test]
fn every_target_is_replayed() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/Cargo.toml"))
        .expect("fuzz/Cargo.toml");
    let mut targets: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "mailoauth-fuzz")
        .collect();
    targets.sort();
    let this = include_str!("fuzz_replay.rs");
    for t in &targets {
        assert!(
            this.contains(&format!("replay(\"{t}\", {t}::check)")),
            "fuzz target {t} has no replay test in tests/fuzz_replay.rs"
        );
    }
    assert_eq!(targets.len(), 8, "targets: {targets:?}");
}
