//! The config file mailoauth writes for the mail services: format, reading, crash-safe writing.
//!
//! One TOML file per installation (`docs/CONFIG.md`, schema `docs/config.schema.json`) holds one
//! or more accounts. It references secrets (`keyring:`/`file:`) and never contains one. Reading
//! a damaged file or one of an unknown version gives an error naming the line and the key, and
//! the file is never overwritten in that case: [`load`] returns no document to save. Writing is
//! atomic with a `.bak` of the previous version ([`atomic`]); a file edited by hand since it was
//! read is detected by a content hash and [`ConfigDocument::save`] returns the diff instead of
//! overwriting, so the front end can ask.

pub mod atomic;
pub mod location;
mod schema;
mod secret_ref;
mod store_spec;
mod types;

pub use location::{default_path, default_path_for, ConfigChoice, Platform};
pub use schema::{config_schema, config_schema_text};
pub use secret_ref::{SecretRef, SecretRefError};
pub use store_spec::{StoreSpec, StoreSpecError, KEYRING_SERVICE};
pub use types::{
    Account, AuthSettings, Config, EndpointSettings, MailServer, NotifyMail, ServiceSettings,
    TlsTrust, FORMAT_VERSION,
};

use crate::date::CivilDate;
use crate::error::{Coded, ErrorCode};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Largest config file mailoauth reads; anything bigger is not a config file.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// What went wrong reading or writing a config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("{path}: no such config file; run the wizard or choose the file with --config")]
    Missing {
        /// The path looked at.
        path: PathBuf,
    },
    /// The file could not be read or written.
    #[error("{path}: {action} failed: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What mailoauth was doing.
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not valid TOML or does not fit the format; nothing was overwritten.
    #[error("{path}, line {line}, column {column}{}: {message}. The file was left untouched; fix it by hand (docs/CONFIG.md) or restore the previous version from {path}.bak if there is one", key_text(.key))]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Line of the problem, from 1.
        line: usize,
        /// Column of the problem, from 1.
        column: usize,
        /// The key at fault as a path (`account[2].auth.flow`), when known.
        key: Option<String>,
        /// What is wrong, with secrets scrubbed.
        message: String,
    },
    /// The path is not a config file at all: not a regular file, or far over the size bound.
    #[error("{path}: {message}")]
    NotAConfig {
        /// The path given.
        path: PathBuf,
        /// What it is instead, and what to give.
        message: String,
    },
    /// The file's `version` is not one this build knows; nothing was overwritten.
    #[error("{path}, line {line}, key version: format version {found} is not supported by this mailoauth, which reads version {supported}; use the mailoauth that wrote the file or a newer one. The file was left untouched")]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// Line of the `version` key.
        line: usize,
        /// The version the file declares.
        found: i64,
        /// The version this build reads.
        supported: u32,
    },
    /// The file parses, but an account's values do not fit together.
    #[error("{path}: account {account:?}, key {key}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The account's name.
        account: String,
        /// The key at fault.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The file parses, but a key of the `[service]` table does not fit the accounts.
    #[error("{path}: key {key}: {message}")]
    InvalidService {
        /// The file.
        path: PathBuf,
        /// The key at fault (`service.notify_mail.via`).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No account of that name.
    #[error("{path}: no account named {name:?}; the file has: {known}")]
    UnknownAccount {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names in the file, comma separated.
        known: String,
    },
}

fn key_text(key: &Option<String>) -> String {
    key.as_ref()
        .map(|k| format!(", key {k}"))
        .unwrap_or_default()
}

impl Coded for ConfigError {
    fn code(&self) -> ErrorCode {
        match self {
            ConfigError::Missing { .. } | ConfigError::UnknownAccount { .. } => ErrorCode::NotFound,
            ConfigError::Io { .. } => ErrorCode::Internal,
            ConfigError::Damaged { .. }
            | ConfigError::NotAConfig { .. }
            | ConfigError::UnknownVersion { .. }
            | ConfigError::Invalid { .. }
            | ConfigError::InvalidService { .. } => ErrorCode::InvalidInput,
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key path at `offset`: the enclosing table header (with the account's position for
/// `[[account]]` tables) and the key on that line, if any.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let mut table: Option<String> = None;
    let mut accounts = 0usize;
    for l in text[..line_start].lines() {
        let l = l.trim();
        if l == "[[account]]" {
            accounts += 1;
            table = Some(format!("account[{accounts}]"));
        } else if let Some(h) = l.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let h = h.trim();
            table = Some(match h.strip_prefix("account.") {
                Some(rest) if accounts > 0 => format!("account[{accounts}].{rest}"),
                _ => h.to_string(),
            });
        }
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let path = match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (None, Some(k)) => k,
        (Some(t), None) => t,
        (None, None) => return None,
    };
    shown_key(&path)
}

/// A key path as an error may show it: the text of a damaged line can be anything (a secret
/// pasted where a key belongs is "a key without a value"), so a path is shown only when each
/// part looks like a key someone typed (up to 32 letters, digits, `_` and `-`, an `[n]` index)
/// and the scrubber finds nothing secret in it.
fn shown_key(path: &str) -> Option<String> {
    let part_ok = |part: &str| {
        let name = match part.split_once('[') {
            Some((name, index)) => index
                .strip_suffix(']')
                .filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                .map(|_| name),
            None => Some(part),
        };
        name.is_some_and(|n| {
            (1..=32).contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    };
    (path.split('.').all(part_ok) && crate::diagnosis::scrub(path) == path)
        .then(|| path.to_string())
}

fn damaged(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let offset = err.span().map_or(0, |s| s.start);
    let (line, column) = line_col(text, offset);
    // toml's own Display quotes the source line, which may hold a secret pasted in the wrong
    // place; only the message is kept, and it is scrubbed too.
    let message = crate::diagnosis::scrub(err.message().trim().trim_end_matches('.'));
    ConfigError::Damaged {
        path: path.to_path_buf(),
        line,
        column,
        key: err.span().and_then(|s| key_at(text, s.start)),
        message,
    }
}

/// Parses config text; `path` is only used in errors, which never repeat a word of `text` that
/// looks like a secret ([`ConfigError::without_secret_words_of`]).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    parse_text(path, text).map_err(|e| e.without_secret_words_of(text))
}

fn parse_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The version is checked before the structure, so a future format that changed keys is
    // reported as "newer version", not as a list of unknown fields.
    #[derive(serde::Deserialize)]
    struct VersionOnly {
        version: Option<toml::Spanned<toml::Value>>,
    }
    let head: VersionOnly = toml::from_str(text).map_err(|e| damaged(path, text, &e))?;
    let Some(v) = head.version else {
        return Err(ConfigError::Damaged {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            key: Some("version".into()),
            message: format!("the key `version` is missing; a mailoauth config starts with `version = {FORMAT_VERSION}`"),
        });
    };
    let (line, column) = line_col(text, v.span().start);
    match v.get_ref().as_integer() {
        Some(n) if n == i64::from(FORMAT_VERSION) => {}
        Some(n) => {
            return Err(ConfigError::UnknownVersion {
                path: path.to_path_buf(),
                line,
                found: n,
                supported: FORMAT_VERSION,
            })
        }
        None => {
            return Err(ConfigError::Damaged {
                path: path.to_path_buf(),
                line,
                column,
                key: Some("version".into()),
                message: format!("`version` must be the number {FORMAT_VERSION}"),
            })
        }
    }
    let config: Config = toml::from_str(text).map_err(|e| damaged(path, text, &e))?;
    check(path, &config)?;
    Ok(config)
}

/// The words of `text` that a secret could be: runs of letters, digits and `-._~+/` (the
/// characters of tokens, base64 and client secrets), at least 8 long.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && !"-._~+/".contains(c))
        .filter(|w| w.len() >= 8)
}

impl ConfigError {
    /// The error with every word of `text` that the scrubber takes for a secret *on its own* cut
    /// out of its key, account name and message.
    ///
    /// Scrubbing the message alone is not enough: the scrubber judges a word in its context, and
    /// the same characters inside a key path (`account[1].auth.dXNlcj_secret`) or after a
    /// backtick may look harmless while, standing alone in the file, they look like a token. A
    /// key that looks like a secret is most likely a secret pasted where a key belongs (a value
    /// on a line of its own reads as a key), so its path is not repeated; the line and column
    /// still point at it. Only the error path pays for this, and only for words the error holds.
    fn without_secret_words_of(mut self, text: &str) -> Self {
        let mut fields: Vec<&mut String> = match &mut self {
            ConfigError::Damaged { key, message, .. } => {
                let mut f = vec![message];
                f.extend(key.as_mut());
                f
            }
            ConfigError::Invalid {
                account,
                key,
                message,
                ..
            } => vec![account, key, message],
            ConfigError::InvalidService { key, message, .. } => vec![key, message],
            _ => return self,
        };
        let mut secret: Vec<&str> = words(text)
            .filter(|w| fields.iter().any(|f| f.contains(w)))
            .filter(|w| crate::diagnosis::scrub(w) != *w)
            .collect();
        // Longest first, so a secret that holds another is cut whole.
        secret.sort_by_key(|w| std::cmp::Reverse(w.len()));
        secret.dedup();
        for w in secret {
            for f in fields.iter_mut() {
                if f.contains(w) {
                    **f = f.replace(w, crate::secret::REDACTED);
                }
            }
        }
        self
    }
}

/// Checks what the structure cannot: names, purposes against servers, providers, dates, pins.
pub fn check(path: &Path, config: &Config) -> Result<(), ConfigError> {
    // The name is shown even when it is the invalid value: scrubbed, as a pasted secret in the
    // wrong place must not reach the message.
    let invalid = |account: &Account, key: &str, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        account: crate::diagnosis::scrub(&account.name),
        key: key.to_string(),
        message,
    };
    let mut names = HashSet::new();
    for a in &config.accounts {
        let valid_name = !a.name.is_empty()
            && a.name.len() <= 64
            && a.name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && a.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_name {
            return Err(invalid(a, "name", "use 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit, so the name works on a command line".into()));
        }
        if !names.insert(a.name.as_str()) {
            return Err(invalid(
                a,
                "name",
                "two accounts have this name; give each a different one".into(),
            ));
        }
        if !a.mailbox.contains('@') {
            return Err(invalid(
                a,
                "mailbox",
                "must be a full mail address such as scanner@contoso.com".into(),
            ));
        }
        if a.purpose.sends() && a.smtp.is_none() {
            return Err(invalid(a, "smtp", format!("purpose is {} but there is no [account.smtp] table; add one or set purpose = \"receive\"", a.purpose)));
        }
        if a.purpose.receives() && a.imap.is_none() {
            return Err(invalid(a, "imap", format!("purpose is {} but there is no [account.imap] table; add one or set purpose = \"send\"", a.purpose)));
        }
        for (key, server) in [("smtp", &a.smtp), ("imap", &a.imap)] {
            if let Some(s) = server {
                if s.host.trim().is_empty() || s.port == 0 {
                    return Err(invalid(
                        a,
                        key,
                        "host must not be empty and port must be 1-65535".into(),
                    ));
                }
            }
        }
        if let Some((key, refused)) = cleartext_problem(a) {
            return Err(invalid(
                a,
                key,
                format!(
                    "security = \"none\": {}. Write security = \"start_tls\" or \"tls\"",
                    refused
                ),
            ));
        }
        if crate::provider::profile(&a.auth.provider).is_none() {
            let known: Vec<&str> = crate::provider::catalog()
                .iter()
                .map(|p| p.id.as_str())
                .collect();
            return Err(invalid(
                a,
                "auth.provider",
                format!(
                    "{:?} is not a known provider; use one of {}",
                    crate::diagnosis::scrub(&a.auth.provider),
                    known.join(", ")
                ),
            ));
        }
        if a.auth.client_id.trim().is_empty() {
            return Err(invalid(
                a,
                "auth.client_id",
                "must not be empty: copy the client ID from the provider's console".into(),
            ));
        }
        if a.auth.client_auth != crate::provider::ClientAuth::None && a.auth.client_secret.is_none()
        {
            return Err(invalid(a, "auth.client_secret", format!("client_auth is {} but no client_secret reference is set; add `client_secret = \"keyring:...\"` or `\"file:...\"`", a.auth.client_auth)));
        }
        if a.auth.client_secret == Some(SecretRef::Service) && a.token_store != StoreSpec::Service {
            return Err(invalid(
                a,
                "auth.client_secret",
                format!("`service` means the mailoauth service holds the secret, but token_store is {}: set token_store = \"service\" too (mailoauth service adopt does both), or name where the secret is kept (`keyring:...`, `file:...`, `env:...`)", a.token_store),
            ));
        }
        if let Some(d) = &a.auth.client_secret_expires {
            if d.len() != 10 || CivilDate::parse_prefix(d).is_none() {
                return Err(invalid(
                    a,
                    "auth.client_secret_expires",
                    "must be a date written YYYY-MM-DD".into(),
                ));
            }
        }
        // The endpoints as the OAuth engine resolves them when the account is used: an
        // `http://` endpoint on another host, a broken URL or a missing endpoint is refused here
        // already, not at the first refresh.
        if let Some(profile) = crate::provider::profile(&a.auth.provider) {
            let ctx = crate::provider::EndpointContext {
                cloud: a.auth.cloud,
                tenant: a.auth.tenant.clone(),
                flow: Some(a.auth.flow),
                overrides: a.auth.endpoints.as_ref().cloned().unwrap_or_default(),
            };
            if let Err(e) = profile.endpoints(&ctx) {
                let (key, message) = endpoint_problem(&e);
                return Err(invalid(a, key, message));
            }
        }
        if let Some(pin) = a.tls.as_ref().and_then(|t| t.pinned_sha256.as_ref()) {
            if pin.len() != 64 || !pin.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid(
                    a,
                    "tls.pinned_sha256",
                    "must be the certificate's SHA-256 as 64 hex digits".into(),
                ));
            }
        }
    }
    if let Some(mail) = config.service.as_ref().and_then(|s| s.notify_mail.as_ref()) {
        check_notify_mail(path, config, mail)?;
    }
    Ok(())
}

/// `[service] notify_mail`: `to` one mail address, `via` an account the service holds that
/// sends (it has an `[account.smtp]` table). Values are not repeated in the messages (a pasted
/// secret in the wrong place must not reach them): the key says which value it is.
fn check_notify_mail(path: &Path, config: &Config, mail: &NotifyMail) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::InvalidService {
        path: path.to_path_buf(),
        key: key.to_string(),
        message,
    };
    if mail.to.trim().parse::<lettre::Address>().is_err() {
        return Err(invalid(
            "service.notify_mail.to",
            "must be one mail address, such as admin@example.org".into(),
        ));
    }
    let names = || {
        config
            .accounts
            .iter()
            .filter(|a| a.smtp.is_some() && matches!(a.token_store, StoreSpec::Service))
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let suitable = || {
        let n = names();
        if n.is_empty() {
            String::from("no account of this file is both; add one, or remove notify_mail")
        } else {
            format!("accounts that are: {n}")
        }
    };
    match config.account(mail.via.trim()) {
        None => Err(invalid(
            "service.notify_mail.via",
            format!("names no account of this file; give the name of an account the service holds (token_store = \"service\") that has an [account.smtp] table ({})", suitable()),
        )),
        Some(a) if a.smtp.is_none() => Err(invalid(
            "service.notify_mail.via",
            format!("account {:?} has no [account.smtp] table, so mail cannot be sent through it; name a sending account ({})", a.name, suitable()),
        )),
        Some(a) if !matches!(a.token_store, StoreSpec::Service) => Err(invalid(
            "service.notify_mail.via",
            format!("account {:?} is not held by the service (its token_store is not \"service\"), so the service has no token to send with; name an account it holds ({})", a.name, suitable()),
        )),
        Some(_) => Ok(()),
    }
}

/// The first of `account`'s mail servers whose login would send the token in clear text to
/// another machine ([`crate::provider::net::cleartext_allowed`]), with its key.
pub fn cleartext_problem(
    account: &Account,
) -> Option<(&'static str, crate::provider::net::CleartextRefused)> {
    use crate::provider::MailProtocol;
    [
        ("smtp.security", MailProtocol::Smtp, &account.smtp),
        ("imap.security", MailProtocol::Imap, &account.imap),
    ]
    .into_iter()
    .find_map(|(key, protocol, server)| {
        let s = server.as_ref()?;
        crate::provider::net::check_cleartext(protocol, &s.host, s.port, s.security)
            .err()
            .map(|refused| (key, refused))
    })
}

/// The config key and the message for what the profile refused when resolving the account's
/// endpoints. The message repeats no value of the file (a URL or a tenant may carry a pasted
/// secret): the key says which value it is.
fn endpoint_problem(e: &crate::provider::ProfileError) -> (&'static str, String) {
    use crate::provider::ProfileError;
    let key = |field: &str| match field {
        "authority" => "auth.endpoints.authority",
        "authorization" => "auth.endpoints.authorization",
        "token" => "auth.endpoints.token",
        "device authorization" => "auth.endpoints.device_authorization",
        "revocation" => "auth.endpoints.revocation",
        "userinfo" => "auth.endpoints.userinfo",
        "issuer" => "auth.endpoints.issuer",
        _ => "auth.endpoints",
    };
    match e {
        ProfileError::InsecureEndpoint { field, .. } => (
            key(field),
            format!("the {field} endpoint uses http:// to another machine, which would send codes and tokens unencrypted: use https://; http:// is accepted only for 127.0.0.1, ::1 or localhost"),
        ),
        ProfileError::InvalidEndpoint { field, .. } => (
            key(field),
            format!("the {field} endpoint is not usable: enter an absolute https:// URL (http:// only to 127.0.0.1, ::1 or localhost) without a #fragment"),
        ),
        ProfileError::MissingEndpoint { field } => (key(field), e.to_string()),
        ProfileError::UnsupportedFlow { .. } => ("auth.flow", e.to_string()),
        ProfileError::UnsupportedCloud { .. } => ("auth.cloud", e.to_string()),
        ProfileError::InvalidTenant { .. } => (
            "auth.tenant",
            String::from("not a tenant ID (GUID), a verified domain, organizations, common or consumers: copy the Directory (tenant) ID from the app registration's Overview page"),
        ),
        ProfileError::TenantNotSpecific { flow, .. } => (
            "auth.tenant",
            format!("organizations, common and consumers cannot be used with the {flow} flow: without a signed-in user Microsoft needs your own tenant; enter the Directory (tenant) ID or your verified domain"),
        ),
        other => ("auth", crate::diagnosis::scrub(&other.to_string())),
    }
}

/// The text mailoauth writes for `config`: a header comment and the TOML.
pub fn render(config: &Config) -> Result<String, ConfigError> {
    let body = toml::to_string_pretty(config).map_err(|e| ConfigError::Damaged {
        path: PathBuf::new(),
        line: 1,
        column: 1,
        key: None,
        message: format!("cannot write the config as TOML: {e}"),
    })?;
    Ok(format!(
        "# mailoauth configuration (format version {FORMAT_VERSION}); keys are explained in docs/CONFIG.md.\n# No secret is stored here: token_store and client_secret only say where secrets are kept.\n\n{body}"
    ))
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A config as read from disk, remembering what was read so a later hand edit is noticed.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    /// Where the file lives.
    pub path: PathBuf,
    /// The settings, to be edited by the caller and saved.
    pub config: Config,
    /// Hash of the bytes read, or `None` when the file did not exist.
    read_hash: Option<[u8; 32]>,
}

/// What [`ConfigDocument::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The file was written.
    Saved,
    /// The file changed on disk since it was read (edited by hand, or by another mailoauth);
    /// nothing was written. `diff` is a unified diff from the file on disk to what would be
    /// written; show it and call [`ConfigDocument::save_overwriting`] if the admin agrees.
    ChangedOnDisk {
        /// Unified diff, `---` the file on disk, `+++` mailoauth's version.
        diff: String,
    },
}

/// Reads the file at `path` the one way every command does (`token`, `check`, `export`, the
/// app, `config check`): at most [`MAX_BYTES`] (and one byte more, to tell a file that is too big),
/// and only from a regular file. The type is checked on the opened file (`fstat`), not on the
/// path before opening, so a file swapped for a pipe or a device in between is still refused;
/// the open itself does not block on a FIFO. `Ok(None)`: there is no such file.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    let refuse = |message: String| ConfigError::NotAConfig {
        path: path.to_path_buf(),
        message,
    };
    match read_regular_file(path, MAX_BYTES) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(BoundedRead::Missing) => Ok(None),
        Err(BoundedRead::NotAFile(what)) => Err(refuse(format!(
            "this is {what}, not a config file: give the path of the mailoauth config file itself"
        ))),
        Err(BoundedRead::TooLarge) => Err(refuse(format!(
            "the file is larger than {} MiB, far too big for a mailoauth config: choose the right file",
            MAX_BYTES / (1024 * 1024)
        ))),
        Err(BoundedRead::Io(source)) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            action: "reading",
            source,
        }),
    }
}

/// Why [`read_regular_file`] gave no bytes.
#[derive(Debug)]
pub(crate) enum BoundedRead {
    /// There is no such file.
    Missing,
    /// Not a regular file: what it is instead ("a folder", ...).
    NotAFile(&'static str),
    /// Larger than the bound.
    TooLarge,
    /// The system's error.
    Io(io::Error),
}

/// Reads a file an admin named, the one way mailoauth does for every file it takes from outside
/// (configs, imported client JSON and manifests): at most `max` bytes (and one more, to tell a
/// file that is too big), and only from a regular file. The type is checked on the opened file
/// (`fstat`), not on the path before opening, so a file swapped for a pipe or a device in
/// between is still refused; the open itself does not block on a FIFO.
pub(crate) fn read_regular_file(path: &Path, max: u64) -> Result<Vec<u8>, BoundedRead> {
    use std::io::Read;
    let file = match open_for_reading(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BoundedRead::Missing),
        // Windows does not open a folder as a file at all (access denied): say what it is.
        Err(_) if fs::metadata(path).is_ok_and(|m| m.is_dir()) => {
            return Err(BoundedRead::NotAFile("a folder"))
        }
        Err(e) => return Err(BoundedRead::Io(e)),
    };
    let meta = file.metadata().map_err(BoundedRead::Io)?;
    if !meta.is_file() {
        return Err(BoundedRead::NotAFile(if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a device, a pipe or a socket)"
        }));
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(BoundedRead::Io)?;
    if bytes.len() as u64 > max {
        return Err(BoundedRead::TooLarge);
    }
    Ok(bytes)
}

/// Opens `path` for reading without waiting: on Unix with `O_NONBLOCK`, because opening a FIFO
/// for reading would otherwise block until some writer opens it (the flag changes nothing for a
/// regular file, which is all [`read_bytes`] then accepts).
#[cfg(unix)]
fn open_for_reading(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Opens `path` for reading (no FIFOs at a path to block on outside Unix).
#[cfg(not(unix))]
fn open_for_reading(path: &Path) -> io::Result<fs::File> {
    fs::File::open(path)
}

fn decode(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(
            &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
            e.valid_up_to(),
        );
        ConfigError::Damaged {
            path: path.to_path_buf(),
            line,
            column,
            key: None,
            message: "the file is not UTF-8 text; save it as UTF-8".into(),
        }
    })?;
    parse(path, text)
}

/// Reads and checks the config at `path`.
pub fn load(path: &Path) -> Result<ConfigDocument, ConfigError> {
    let bytes = read_bytes(path)?.ok_or_else(|| ConfigError::Missing {
        path: path.to_path_buf(),
    })?;
    let config = decode(path, &bytes)?;
    Ok(ConfigDocument {
        path: path.to_path_buf(),
        read_hash: Some(digest(&bytes)),
        config,
    })
}

/// Reads the config at `path`, or starts an empty one when there is no file yet. A damaged file
/// is still an error: starting afresh would overwrite it.
pub fn load_or_new(path: &Path) -> Result<ConfigDocument, ConfigError> {
    match load(path) {
        Err(ConfigError::Missing { .. }) => Ok(ConfigDocument {
            path: path.to_path_buf(),
            config: Config::default(),
            read_hash: None,
        }),
        other => other,
    }
}

impl ConfigDocument {
    /// A short text naming the exact bytes this document was read from (`none` when there was
    /// no file): handed out with a preview and given back to [`ConfigDocument::assume_read`], so
    /// a save notices any change made between the preview the admin saw and the write.
    pub fn fingerprint(&self) -> String {
        match self.read_hash {
            Some(h) => h.iter().map(|b| format!("{b:02x}")).collect(),
            None => String::from("none"),
        }
    }

    /// Treats the file as last read when it had `fingerprint` (from [`ConfigDocument::fingerprint`]):
    /// the next [`ConfigDocument::save`] refuses if the file on disk is not that one. A
    /// fingerprint that is not one of ours matches no file.
    pub fn assume_read(&mut self, fingerprint: &str) {
        self.read_hash = if fingerprint == "none" {
            None
        } else {
            let mut h = [0u8; 32];
            let ok = fingerprint.len() == 64
                && fingerprint.is_ascii()
                && h.iter_mut().enumerate().all(|(i, b)| {
                    u8::from_str_radix(&fingerprint[2 * i..2 * i + 2], 16)
                        .map(|v| *b = v)
                        .is_ok()
                });
            // Unparsable: a hash no file has (the digest of nothing-at-all is not all zero).
            Some(if ok { h } else { [0u8; 32] })
        };
    }

    /// The account called `name`, or an error listing the names there are.
    pub fn account(&self, name: &str) -> Result<&Account, ConfigError> {
        self.config
            .account(name)
            .ok_or_else(|| ConfigError::UnknownAccount {
                path: self.path.clone(),
                name: name.to_string(),
                known: self
                    .config
                    .accounts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Adds `account`, or replaces the account of the same name; returns the replaced one.
    /// Nothing is written until [`ConfigDocument::save`].
    pub fn set_account(&mut self, account: Account) -> Option<Account> {
        match self
            .config
            .accounts
            .iter_mut()
            .find(|a| a.name == account.name)
        {
            Some(slot) => Some(std::mem::replace(slot, account)),
            None => {
                self.config.accounts.push(account);
                None
            }
        }
    }

    /// Removes the account called `name`; returns it. Nothing is written until saved.
    pub fn remove_account(&mut self, name: &str) -> Option<Account> {
        let i = self.config.accounts.iter().position(|a| a.name == name)?;
        Some(self.config.accounts.remove(i))
    }

    /// Writes the config unless the file changed on disk since it was read.
    pub fn save(&mut self) -> Result<SaveOutcome, ConfigError> {
        self.write(false)
    }

    /// Writes the config even over a file changed on disk (after the admin saw the diff).
    pub fn save_overwriting(&mut self) -> Result<(), ConfigError> {
        self.write(true).map(|_| ())
    }

    fn write(&mut self, force: bool) -> Result<SaveOutcome, ConfigError> {
        check(&self.path, &self.config)?;
        let text = render(&self.config)?;
        // The first save on a machine creates the folder (`/etc/mailoauth`, `%ProgramData%\mailoauth`).
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| ConfigError::Io {
                path: dir.to_path_buf(),
                action: "creating the folder",
                source,
            })?;
        }
        let lock = lock_beside(&self.path)?;
        let on_disk = read_bytes(&self.path)?;
        if !force && on_disk.as_deref().map(digest) != self.read_hash {
            let old = on_disk
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let diff = similar::TextDiff::from_lines(&old, &text)
                .unified_diff()
                .context_radius(2)
                .header(&format!("{} (on disk)", self.path.display()), "mailoauth")
                .to_string();
            tracing::warn!(path = %self.path.display(), "config changed on disk since it was read; not overwritten");
            return Ok(SaveOutcome::ChangedOnDisk { diff });
        }
        atomic::write_atomic(&self.path, text.as_bytes(), true).map_err(|source| {
            ConfigError::Io {
                path: self.path.clone(),
                action: "writing",
                source,
            }
        })?;
        drop(lock);
        self.read_hash = Some(digest(text.as_bytes()));
        tracing::info!(
            path = %self.path.display(),
            accounts = self.config.accounts.len(),
            overwrote_hand_edit = force,
            "config saved"
        );
        Ok(SaveOutcome::Saved)
    }
}

/// How long a config or status writer waits for another one before giving up (the writes under
/// these locks take milliseconds); `MAILOAUTH_LOCK_WAIT_SECS` overrides it.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Takes the exclusive lock of `<path>.lock`, serialising writers of `path` across processes.
/// The lock file is never removed: removing it would let two writers lock two different files.
/// It is created `0600` and opened without following a link ([`atomic::open_lock_file`]); the
/// wait is bounded ([`LOCK_WAIT`]) with an error that names the lock file.
pub fn lock_beside(path: &Path) -> Result<fs::File, ConfigError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    let io_err = |source| ConfigError::Io {
        path: lock_path.clone(),
        action: "locking",
        source,
    };
    let file = atomic::open_lock_file(&lock_path).map_err(io_err)?;
    atomic::lock_within(&file, &lock_path, atomic::lock_wait(LOCK_WAIT)).map_err(io_err)?;
    Ok(file)
}

#[cfg(test)]
pub(crate) mod tests;
