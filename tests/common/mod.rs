//! Shared helpers of the integration tests: the real peers and a test "browser".
#![allow(dead_code)] // each test binary uses a different part

pub mod browser;
pub mod peers;
pub mod tokens;
