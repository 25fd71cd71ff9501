//! `explain` and its matcher, on anything an admin may paste: no panic; the scrubbed input is the
//! scrubbed text and scrubbing is idempotent; a bearer token in the text never reaches the
//! explanation; something matched or there are suggestions, never both.
//! The check is `checks/explain.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/explain.rs"]
mod explain;

libfuzzer_sys::fuzz_target!(|data: &[u8]| explain::check(data));
