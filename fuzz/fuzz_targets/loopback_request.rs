//! The loopback listener's request parsing: whatever a local process or a browser sends to the
//! port, `parse_request` answers without panicking, a request it takes as the redirect carries a
//! `code` or an `error`, the page it answers with gets no markup from the request, and a real
//! redirect built from the same bytes round-trips its parameters.
//! The check is `checks/loopback_request.rs`, shared with the replay test (`tests/fuzz_replay.rs`).
#![no_main]

#[path = "checks/loopback_request.rs"]
mod loopback_request;

libfuzzer_sys::fuzz_target!(|data: &[u8]| loopback_request::check(data));
