//! Where an account's tokens are kept, as the config file and the command line write it.
//!
//! One type for every spelling in use: the config's `token_store` (`keyring:mailoauth/<mailbox>`,
//! `file:<folder>`, `service`) and the command line's `--store` (`keyring`, `file:<folder>`).
//! Each parses to a [`StoreSpec`] and prints back exactly as it was written, so a config saved
//! again keeps its text. Opening the store is [`crate::store::open`]'s job.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// The OS keyring's service name under which mailoauth keeps tokens and client secrets.
pub const KEYRING_SERVICE: &str = "mailoauth";

/// Where an account's tokens are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `keyring`: the OS keyring, service [`KEYRING_SERVICE`], one entry per mailbox (the
    /// command line's short form).
    Keyring,
    /// `keyring:<service>/<entry>`: the OS keyring entry as a config file names it; mailoauth
    /// files tokens as `keyring:mailoauth/<mailbox>`.
    KeyringEntry {
        /// The keyring service name.
        service: String,
        /// The entry within it.
        entry: String,
    },
    /// `file:<folder>`: one owner-only file per mailbox in that folder.
    File(PathBuf),
    /// `service`: the mailoauth service holds the tokens and is their only writer.
    Service,
}

/// Why a `token_store`/`--store` value is not understood. Never repeats the value (it may be a
/// pasted secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreSpecError {
    /// Not one of the forms.
    #[error("must be `keyring:mailoauth/<mailbox>` (the OS keyring), `file:<folder>` or `service` (the mailoauth service)")]
    Unknown,
    /// `keyring:` without both parts.
    #[error("a keyring token store is written `keyring:mailoauth/<mailbox>`")]
    BadKeyring,
    /// `file:` with no folder.
    #[error("a file token store needs a folder: `file:<folder>`")]
    EmptyPath,
    /// `env:` (fine for a client secret, never for tokens).
    #[error("tokens change at every refresh and cannot live in an environment variable; use `file:<folder>` or the keyring")]
    Env,
}

impl StoreSpec {
    /// Parses one of the forms above (surrounding blanks ignored).
    pub fn parse(text: &str) -> Result<StoreSpec, StoreSpecError> {
        let text = text.trim();
        if text == "keyring" {
            return Ok(StoreSpec::Keyring);
        }
        if text == "service" {
            return Ok(StoreSpec::Service);
        }
        if let Some(rest) = text.strip_prefix("keyring:") {
            let (service, entry) = rest.split_once('/').ok_or(StoreSpecError::BadKeyring)?;
            if service.trim().is_empty() || entry.trim().is_empty() {
                return Err(StoreSpecError::BadKeyring);
            }
            return Ok(StoreSpec::KeyringEntry {
                service: service.trim().to_string(),
                entry: entry.trim().to_string(),
            });
        }
        if let Some(rest) = text.strip_prefix("file:") {
            if rest.trim().is_empty() {
                return Err(StoreSpecError::EmptyPath);
            }
            return Ok(StoreSpec::File(PathBuf::from(rest.trim())));
        }
        if text.starts_with("env:") {
            return Err(StoreSpecError::Env);
        }
        Err(StoreSpecError::Unknown)
    }

    /// The keyring entry mailoauth files `mailbox`'s tokens under, as a config file writes it.
    pub fn keyring_for(mailbox: &str) -> StoreSpec {
        StoreSpec::KeyringEntry {
            service: KEYRING_SERVICE.to_string(),
            entry: mailbox.trim().to_ascii_lowercase(),
        }
    }

    /// True for the OS keyring, in either spelling.
    pub fn is_keyring(&self) -> bool {
        matches!(self, StoreSpec::Keyring | StoreSpec::KeyringEntry { .. })
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Keyring => f.write_str("keyring"),
            StoreSpec::KeyringEntry { service, entry } => write!(f, "keyring:{service}/{entry}"),
            StoreSpec::File(path) => write!(f, "file:{}", path.display()),
            StoreSpec::Service => f.write_str("service"),
        }
    }
}

impl std::str::FromStr for StoreSpec {
    type Err = StoreSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StoreSpec::parse(s)
    }
}

impl Serialize for StoreSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for StoreSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        StoreSpec::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for StoreSpec {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("StoreSpec")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Where the tokens are kept: `keyring:mailoauth/<mailbox>` (the OS keyring), `file:<folder>`, or `service` (the mailoauth service holds them).",
            "pattern": "^(keyring|service|keyring:[^/]+/.+|file:.+)$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_prints_back_as_written() {
        for text in [
            "keyring",
            "keyring:mailoauth/scanner@contoso.com",
            "keyring:mailoauth/scanner",
            "file:/var/lib/mailoauth/tokens",
            r"file:C:\ProgramData\mailoauth\tokens",
            "service",
        ] {
            let spec = StoreSpec::parse(text).unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            StoreSpec::keyring_for(" Scan@Contoso.com ").to_string(),
            "keyring:mailoauth/scan@contoso.com"
        );
    }

    #[test]
    fn refusals_name_the_forms_and_never_the_value() {
        for (text, want) in [
            ("", StoreSpecError::Unknown),
            ("vault", StoreSpecError::Unknown),
            ("keyring:onlyservice", StoreSpecError::BadKeyring),
            ("file: ", StoreSpecError::EmptyPath),
            ("env:TOKENS", StoreSpecError::Env),
        ] {
            let err = StoreSpec::parse(text).unwrap_err();
            assert_eq!(err, want, "{text:?}");
            assert!(text.is_empty() || !err.to_string().contains(text), "{err}");
        }
    }
}
