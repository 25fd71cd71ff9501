//! The redirect query: a pasted address (`parse_pasted`) and the listener's query parameters
//! (`redirect_outcome`). Nothing panics; a code is only returned for this sign-in's `state`, and
//! an address built from the fuzzed code and state gives back exactly that code.
//! The check is `checks/redirect_query.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/redirect_query.rs"]
mod redirect_query;

libfuzzer_sys::fuzz_target!(|data: &[u8]| redirect_query::check(data));
