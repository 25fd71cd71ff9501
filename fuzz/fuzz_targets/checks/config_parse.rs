//! The config parser: any text gives a config or an error naming a line of the text, never a
//! panic; an accepted config survives render -> parse unchanged, and its error messages never
//! repeat a value of the text that the scrubber takes for a secret.

use mailoauth::config::{parse, render, ConfigError};
use mailoauth::diagnosis::scrub;
use std::path::Path;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    match parse(path, text) {
        Ok(config) => {
            let rendered = render(&config).expect("an accepted config renders");
            let again = parse(path, &rendered)
                .unwrap_or_else(|e| panic!("rendered config does not parse: {e}\n{rendered}"));
            assert_eq!(
                again, config,
                "render -> parse changed the config:\n{rendered}"
            );
            assert_eq!(
                render(&again).expect("renders"),
                rendered,
                "render is not stable"
            );
        }
        Err(e) => {
            let lines = text.split('\n').count();
            match &e {
                ConfigError::Damaged { line, column, .. } => {
                    assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {e}");
                    assert!(*column >= 1);
                }
                ConfigError::UnknownVersion { line, .. } => {
                    assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {e}");
                }
                _ => {}
            }
            // A value the scrubber takes for a secret (what a pasted secret looks like) is
            // never echoed, wherever in the file it was.
            let message = e.to_string();
            for word in text.split(|c: char| !c.is_ascii_alphanumeric() && !"-._~+/".contains(c)) {
                if word.len() >= 8 && scrub(word) != word {
                    assert!(
                        !message.contains(word),
                        "the error repeats {word:?}: {message}"
                    );
                }
            }
        }
    }
}
