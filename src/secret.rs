//! [`Secret`]: a value that must never be printed.
//!
//! Tokens, client secrets, passwords and private keys travel in this wrapper. Its `Debug` and
//! `Display` print `[redacted]`, so a stray `{:?}` in a log line or an error message cannot leak
//! them; the value is reached only through [`Secret::expose`], which is easy to find in review.

use std::fmt;

/// A secret value whose `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

/// What a secret prints as.
pub const REDACTED: &str = "[redacted]";

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself: only for the one place that must send or store it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

/// Read from the UI or a file like the bare value; there is deliberately no `Serialize`, so a
/// secret never travels back out by accident.
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new(String::from("ya29.a0AfH6SMB-very-secret"));
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "ya29.a0AfH6SMB-very-secret");
    }
}
