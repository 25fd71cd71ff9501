//! The config file's structure: one installation, one or more accounts.
//!
//! These types are the file format itself (`docs/CONFIG.md`, `docs/config.schema.json`), so their
//! keys are the file's `snake_case` keys, in TOML, JSON and TypeScript alike: the GUI edits exactly
//! what the admin reads in the file.

use super::secret_ref::SecretRef;
use super::store_spec::StoreSpec;
use crate::provider::{ClientAuth, Cloud, Flow, Purpose, SaslMechanism, Security};

/// The `[account.auth.endpoints]` table: the engine's [`crate::provider::EndpointOverrides`]
/// itself, so the file and the engine cannot drift.
pub use crate::provider::EndpointOverrides as EndpointSettings;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A whole config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigFile")]
pub struct Config {
    /// Format version of the file; mailoauth refuses versions it does not know.
    pub version: u32,
    /// The accounts of this installation, each a `[[account]]` table.
    #[serde(default, rename = "account")]
    #[ts(rename = "account")]
    pub accounts: Vec<Account>,
    /// The `[service]` table: how the mailoauth token service keeps the accounts it holds fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub service: Option<ServiceSettings>,
}

/// The `[service]` table, read by `mailoauth service run`; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigService")]
pub struct ServiceSettings {
    /// Refresh an access token this many seconds before it expires (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub refresh_ahead_secs: Option<u64>,
    /// Run each account's check this often, in seconds (default 14400: four hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub check_every_secs: Option<u64>,
    /// A command run when an account's state changes (environment: MAILOAUTH_ACCOUNT, MAILOAUTH_STATE, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hook: Option<String>,
    /// The proxy URL the service uses for provider requests (a service does not inherit the admin's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub proxy: Option<String>,
    /// Warn this many days before a client secret expires or a Google Testing consent ends (default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notify_days: Option<u32>,
    /// At most one consumer report (`token --rejected`) per account per this many seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub report_min_interval_secs: Option<u64>,
    /// Also tell the admin by mail: `notify_mail = { to = "admin@example.org", via = "NAME" }`,
    /// sent through another account the service holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notify_mail: Option<NotifyMail>,
}

/// The `[service] notify_mail` table: the service mails each notice (once per state change, like
/// the hook) to an admin address, through another account it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigNotifyMail")]
pub struct NotifyMail {
    /// The admin's mail address the notices go to, e.g. `admin@example.org`.
    pub to: String,
    /// The account the notices are sent through: held by the service (`token_store = "service"`),
    /// with an `[account.smtp]` table. A notice about this account itself is not mailed.
    pub via: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: FORMAT_VERSION,
            accounts: Vec::new(),
            service: None,
        }
    }
}

impl Config {
    /// The account called `name`, if there is one.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }
}

/// One mailbox a service uses, and how mailoauth gets tokens for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigAccount")]
pub struct Account {
    /// Short name used on the command line (`mailoauth token <name>`): letters, digits, `.`, `_`, `-`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))]
    pub name: String,
    /// What the service does with the mailbox: send, receive or both.
    #[schemars(schema_with = "super::schema::purpose")]
    pub purpose: Purpose,
    /// The mailbox address the service signs in as.
    pub mailbox: String,
    /// The SMTP server, required when the purpose includes sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub smtp: Option<MailServer>,
    /// The IMAP server, required when the purpose includes receiving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub imap: Option<MailServer>,
    /// Where the account's tokens are kept: `keyring:mailoauth/<mailbox>` (the OS keyring),
    /// `file:<folder>` (one owner-only file per mailbox in that folder) or `service` (held by the
    /// mailoauth token service, which alone refreshes them).
    #[ts(type = "string")]
    pub token_store: StoreSpec,
    /// Who may read the account's token from the mailoauth service: OS user names, and OS groups
    /// as `group:<name>` (managers always may).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub readers: Vec<String>,
    /// The Google OAuth consent screen is in Testing status, where Google ends a grant after 7
    /// days: the service reminds the admin before (the API does not reveal this status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub google_testing_consent: Option<bool>,
    /// An extra CA or a pinned certificate for the mail servers, when the system store is not enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tls: Option<TlsTrust>,
    /// What the OAuth engine needs to get and refresh tokens.
    pub auth: AuthSettings,
}

/// A mail server as the service connects to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigMailServer")]
pub struct MailServer {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// How the connection is encrypted: tls, start_tls or none.
    #[schemars(schema_with = "super::schema::security")]
    pub security: Security,
    /// The SASL mechanism carrying the token: xoauth2 or oauthbearer.
    #[schemars(schema_with = "super::schema::sasl")]
    pub sasl: SaslMechanism,
}

/// Certificates trusted for the mail servers in addition to, or instead of, the system store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigTlsTrust")]
pub struct TlsTrust {
    /// A PEM file with extra CA certificates (a TLS-inspecting proxy's CA, a private CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the server certificate (64 hex digits): the connection fails on any other certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schemars(regex(pattern = r"^[0-9a-fA-F]{64}$"))]
    pub pinned_sha256: Option<String>,
}

/// The `[account.auth]` table: the OAuth client and flow, read by the OAuth engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "ConfigAuth")]
pub struct AuthSettings {
    /// Provider id from `mailoauth providers` (`google`, `microsoft`, `generic`).
    pub provider: String,
    /// The provider's cloud; only Microsoft has more than `worldwide`.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::cloud")]
    pub cloud: Cloud,
    /// Microsoft Entra tenant: its ID, a verified domain, or organizations/common/consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tenant: Option<String>,
    /// The OAuth client ID (Microsoft Application ID, Google client ID).
    pub client_id: String,
    /// How the client proves itself at the token endpoint.
    #[schemars(schema_with = "super::schema::client_auth")]
    pub client_auth: ClientAuth,
    /// Where the client secret, private key or service account key is kept (`file:`, `env:`, `keyring:`, or `service`: held by the mailoauth service); absent for public clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub client_secret: Option<SecretRef>,
    /// Key id (`kid`) of the private_key_jwt key, when the provider needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub key_id: Option<String>,
    /// The certificate (PEM) whose thumbprint goes into `x5t` (Entra certificate credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub certificate: Option<PathBuf>,
    /// The day the client secret or certificate expires (`YYYY-MM-DD`), so mailoauth can warn before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub client_secret_expires: Option<String>,
    /// How tokens are obtained.
    #[schemars(schema_with = "super::schema::flow")]
    pub flow: Flow,
    /// The scopes requested, exactly as sent.
    pub scopes: Vec<String>,
    /// Endpoints that replace the provider profile's (a proxy, an unlisted cloud, a generic provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub endpoints: Option<EndpointSettings>,
    /// The fixed port of the registered loopback redirect URI (`http://localhost:<port>/`), for
    /// clients that need an exact redirect (a Google Web-application client); absent: any free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schemars(range(min = 1))]
    pub redirect_port: Option<u16>,
}
