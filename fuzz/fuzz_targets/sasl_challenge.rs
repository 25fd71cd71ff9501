//! The SASL failure-challenge decoder (`334 eyJ...` / `+ eyJ...`, or JSON a log already decoded):
//! any text decodes without panicking, each challenge it returns has a status or schemes, is
//! returned once, and carries compact JSON that is already scrubbed; a challenge built from the
//! fuzzed strings and sent as a server would is decoded back to the same fields.
//! The check is `checks/sasl_challenge.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/sasl_challenge.rs"]
mod sasl_challenge;

libfuzzer_sys::fuzz_target!(|data: &[u8]| sasl_challenge::check(data));
