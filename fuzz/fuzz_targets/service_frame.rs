//! The token service's request decoder (`src/service/protocol.rs`): any bytes decode to a
//! request or an error without panicking, oversized frames are refused, and decoded requests
//! survive their encoding. The check is `checks/service_frame.rs`, shared with the replay test
//! (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/service_frame.rs"]
mod service_frame;

libfuzzer_sys::fuzz_target!(|data: &[u8]| service_frame::check(data));
