//! Small helpers several integration tests share (included with `#[path]` by each).
#![allow(dead_code)] // each test binary uses a different part

use std::time::Instant;

/// Checks a config file's text against the committed JSON Schema, as for every file tests write.
pub fn assert_matches_schema(text: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/config.schema.json")).unwrap();
    let value: toml::Value = toml::from_str(text).unwrap();
    let json = serde_json::to_value(value).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
}

/// A pseudo-random number below `max`, enough to spread kills over a write or refresh cycle.
pub fn jitter(i: usize, start: Instant, max: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(i);
    h.write_u128(start.elapsed().as_nanos());
    h.finish() % max
}
