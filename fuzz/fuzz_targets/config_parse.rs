//! The config parser: any text gives a config or an error naming a line of the text, never a
//! panic; an accepted config survives render -> parse unchanged, and its error messages never
//! repeat a value of the text that the scrubber takes for a secret.
//! The check is `checks/config_parse.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/config_parse.rs"]
mod config_parse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| config_parse::check(data));
