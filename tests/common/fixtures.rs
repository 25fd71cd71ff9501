//! Small helpers several integration tests share (included with `#[path]` by each).
#![allow(dead_code)] // each test binary uses a different part

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

/// The environment variable that overrides the kill jitter's seed, to replay a run.
pub const SEED_VAR: &str = "MAILOAUTH_TEST_SEED";
/// The kill jitter's seed when [`SEED_VAR`] is not set: every run kills at the same offsets.
pub const DEFAULT_SEED: u64 = 0x6d61_696c_6f61_7574;

/// The kill jitter's seed: [`SEED_VAR`] when set (decimal or 0x-hex), else [`DEFAULT_SEED`];
/// printed on first use so a failing run can be replayed.
pub fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = match std::env::var(SEED_VAR) {
            Ok(v) => {
                let v = v.trim();
                let parsed = match v.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => v.parse(),
                };
                parsed.unwrap_or_else(|_| panic!("{SEED_VAR}={v:?} is not a number"))
            }
            Err(_) => DEFAULT_SEED,
        };
        eprintln!("kill jitter seed: {seed:#x} (replay with {SEED_VAR}={seed:#x})");
        seed
    })
}

/// A pseudo-random number below `max` for kill `i`, the same for the same [`seed`]: enough to
/// spread kills over a write or refresh cycle (SplitMix64; timing decides where they land).
pub fn jitter(i: usize, max: u64) -> u64 {
    let mut z = seed().wrapping_add((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z % max.max(1)
}
