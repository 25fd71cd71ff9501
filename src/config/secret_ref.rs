//! References to secrets: the config file says where a secret is kept, never what it is.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// Where a secret (tokens, a client secret, a private key) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An entry of the operating system's keyring (Windows Credential Manager, macOS Keychain,
    /// Secret Service), written `keyring:<service>/<entry>`.
    Keyring {
        /// The keyring service name.
        service: String,
        /// The entry (user) name within the service.
        entry: String,
    },
    /// A file readable only by the service account, written `file:<path>`.
    File(PathBuf),
    /// An environment variable of the service (systemd `LoadCredential`, a container secret),
    /// written `env:<NAME>`.
    Env(String),
    /// Held by the mailoauth token service in its custody folder, written `service`: handed over
    /// once (`mailoauth service adopt`, the wizard, `mailoauth setup`), read only by the service.
    Service,
}

/// Why a `keyring:`/`file:` reference is not valid. The text never repeats the value, which may
/// be a secret pasted into the wrong key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    /// Neither prefix: most likely the secret itself was pasted.
    #[error("must be a reference, `keyring:<service>/<entry>`, `file:<path>`, `env:<NAME>` or `service` (held by the mailoauth service), never the secret itself: store the secret with the wizard, in the keyring or in a file readable only by the service, and put its reference here")]
    NotAReference,
    /// `keyring:` without both parts.
    #[error("a keyring reference needs a service and an entry: `keyring:<service>/<entry>`")]
    BadKeyring,
    /// `file:` with no path.
    #[error("a file reference needs a path: `file:<path>`")]
    EmptyPath,
    /// `env:` without a valid variable name.
    #[error(
        "an environment reference needs a variable name of letters, digits and `_`: `env:<NAME>`"
    )]
    BadEnv,
}

impl SecretRef {
    /// Parses `keyring:<service>/<entry>`, `file:<path>`, `env:<NAME>` or `service`.
    pub fn parse(text: &str) -> Result<SecretRef, SecretRefError> {
        let text = text.trim();
        if text == "service" {
            Ok(SecretRef::Service)
        } else if let Some(rest) = text.strip_prefix("keyring:") {
            let (service, entry) = rest.split_once('/').ok_or(SecretRefError::BadKeyring)?;
            if service.trim().is_empty() || entry.trim().is_empty() {
                return Err(SecretRefError::BadKeyring);
            }
            Ok(SecretRef::Keyring {
                service: service.trim().to_string(),
                entry: entry.trim().to_string(),
            })
        } else if let Some(rest) = text.strip_prefix("file:") {
            if rest.trim().is_empty() {
                return Err(SecretRefError::EmptyPath);
            }
            Ok(SecretRef::File(PathBuf::from(rest.trim())))
        } else if let Some(name) = text.strip_prefix("env:") {
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                Ok(SecretRef::Env(name.to_string()))
            } else {
                Err(SecretRefError::BadEnv)
            }
        } else {
            Err(SecretRefError::NotAReference)
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Keyring { service, entry } => write!(f, "keyring:{service}/{entry}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::Service => f.write_str("service"),
        }
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SecretRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("SecretRef")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Where a secret is kept: `keyring:<service>/<entry>`, `file:<path>`, `env:<NAME>`, or `service` (held by the mailoauth service, which alone reads it); never the secret itself.",
            "pattern": "^(service|keyring:[^/]+/.+|file:.+|env:[A-Za-z_][A-Za-z0-9_]*)$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_both_kinds() {
        let k = SecretRef::parse("keyring:mailoauth/scanner").unwrap();
        assert_eq!(
            k,
            SecretRef::Keyring {
                service: "mailoauth".into(),
                entry: "scanner".into()
            }
        );
        assert_eq!(k.to_string(), "keyring:mailoauth/scanner");
        let f = SecretRef::parse("file:/var/lib/mailoauth/scanner.tokens").unwrap();
        assert_eq!(f.to_string(), "file:/var/lib/mailoauth/scanner.tokens");
        let s = SecretRef::parse(" service ").unwrap();
        assert_eq!(s, SecretRef::Service);
        assert_eq!(s.to_string(), "service");
    }

    #[test]
    fn a_pasted_secret_is_refused_without_being_repeated() {
        let err = SecretRef::parse("Abc8Q~verysecretvalue").unwrap_err();
        assert_eq!(err, SecretRefError::NotAReference);
        assert!(!err.to_string().contains("verysecret"));
        assert_eq!(
            SecretRef::parse("keyring:onlyservice"),
            Err(SecretRefError::BadKeyring)
        );
        assert_eq!(SecretRef::parse("file: "), Err(SecretRefError::EmptyPath));
        assert_eq!(
            SecretRef::parse("env:MAILOAUTH_SECRET"),
            Ok(SecretRef::Env("MAILOAUTH_SECRET".into()))
        );
        assert_eq!(SecretRef::parse("env:1X"), Err(SecretRefError::BadEnv));
        assert_eq!(SecretRef::parse("env:A-B"), Err(SecretRefError::BadEnv));
    }
}
