//! What happened to each account lately, recorded beside the config for the wizard and
//! `mailoauth status`.
//!
//! Every consumer (each `mailoauth token` call, the wizard's login tests) records its last
//! success and last failure per account in `<config stem>.status.json` next to the config. Several
//! service processes do this at once, so each update takes an exclusive lock on
//! `<status file>.lock`, re-reads the file, changes one account and writes it atomically. Error
//! texts are scrubbed with [`crate::diagnosis::scrub`] before they reach the file, and carry the
//! catalog's diagnosis id so the wizard can show the fix when the admin comes back.

use crate::config::{self, Account, Config};
use crate::diagnosis::{self, Diagnosis};
use crate::error::{Coded, ErrorCode};
use crate::validate::CivilDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// The status file's format version.
pub const STATUS_VERSION: u32 = 1;

/// Days before a client secret's expiry from which `status` warns.
pub const SECRET_WARNING_DAYS: i64 = 30;

/// Longest error text kept per failure; the rest of a long log is cut.
const MAX_ERROR_CHARS: usize = 2000;

/// The status file of the config at `config_path`: `mailoauth.toml` -> `mailoauth.status.json`.
pub fn status_path(config_path: &Path) -> PathBuf {
    let stem = config_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| String::from("mailoauth"));
    config_path.with_file_name(format!("{stem}.status.json"))
}

/// The status file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusFile {
    /// Format version, [`STATUS_VERSION`].
    pub version: u32,
    /// Per account name, what happened last.
    pub accounts: BTreeMap<String, AccountRecord>,
}

impl Default for StatusFile {
    fn default() -> Self {
        StatusFile {
            version: STATUS_VERSION,
            accounts: BTreeMap::new(),
        }
    }
}

/// What happened last to one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountRecord {
    /// When a token was last obtained and used successfully, in Unix seconds.
    #[ts(optional, type = "number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<u64>,
    /// The last failure.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<Failure>,
    /// The first failure since the last success, in Unix seconds: how long it has been broken.
    #[ts(optional, type = "number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<u64>,
}

/// One recorded failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "StatusFailure")]
pub struct Failure {
    /// When it happened, in Unix seconds.
    #[ts(type = "number")]
    pub at: u64,
    /// The error text, scrubbed of tokens and secrets.
    pub error: String,
    /// The diagnosis catalog entry it matched, if any.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis_id: Option<String>,
    /// The engine said only signing in again helps (refresh token refused, no tokens stored).
    #[serde(default)]
    pub reauthorize: bool,
}

/// Why the status file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// Reading, writing or locking failed.
    #[error("{path}: {action} the status file failed: {source}; check that the service account may write to the config folder")]
    Io {
        /// The file.
        path: PathBuf,
        /// What mailoauth was doing.
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
}

impl Coded for StatusError {
    fn code(&self) -> ErrorCode {
        ErrorCode::Internal
    }
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> StatusError + 'a {
    move |source| StatusError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Reads the status file of the config at `config_path`; none yet, or one mailoauth cannot
/// read (damaged, newer version), counts as empty: status is advisory and must never stop a
/// consumer from getting its token.
pub fn read(config_path: &Path) -> Result<StatusFile, StatusError> {
    let path = status_path(config_path);
    match fs::read(&path) {
        Ok(bytes) => Ok(serde_json::from_slice::<StatusFile>(&bytes)
            .ok()
            .filter(|s| s.version == STATUS_VERSION)
            .unwrap_or_default()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(StatusFile::default()),
        Err(e) => Err(io_err(&path, "reading")(e)),
    }
}

/// Changes the record of `account` under the lock and writes the file atomically.
fn update(config_path: &Path, change: impl FnOnce(&mut StatusFile)) -> Result<(), StatusError> {
    let path = status_path(config_path);
    let _lock = config::lock_beside(&path).map_err(|e| match e {
        config::ConfigError::Io { source, .. } => io_err(&path, "locking")(source),
        other => io_err(&path, "locking")(io::Error::other(other.to_string())),
    })?;
    let mut status = read(config_path)?;
    change(&mut status);
    let mut text = serde_json::to_string_pretty(&status)
        .map_err(|e| io_err(&path, "writing")(io::Error::other(e)))?;
    text.push('\n');
    config::atomic::write_atomic(&path, text.as_bytes(), false).map_err(io_err(&path, "writing"))
}

/// Records that `account` just worked.
pub fn record_success(config_path: &Path, account: &str, now: u64) -> Result<(), StatusError> {
    update(config_path, |s| {
        let r = s.accounts.entry(account.to_string()).or_default();
        r.last_success = Some(now);
        r.failing_since = None;
    })
}

/// Records that `account` failed with `error`. The text is scrubbed and cut; `diagnosis_id` is
/// the catalog entry the caller already knows, otherwise the first entry the text matches;
/// `reauthorize` is the engine's verdict that only a new sign-in helps.
pub fn record_failure(
    config_path: &Path,
    account: &str,
    error: &str,
    diagnosis_id: Option<&str>,
    reauthorize: bool,
    now: u64,
) -> Result<(), StatusError> {
    let scrubbed: String = diagnosis::scrub(error)
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect();
    let id = match diagnosis_id {
        Some(id) => Some(id.to_string()),
        None => diagnosis::explain(&scrubbed, &diagnosis::Context::default())
            .matches
            .first()
            .map(|m| m.diagnosis.id.clone()),
    };
    tracing::warn!(
        account,
        diagnosis = id.as_deref().unwrap_or("-"),
        reauthorize,
        "failure recorded: {scrubbed}"
    );
    update(config_path, |s| {
        let r = s.accounts.entry(account.to_string()).or_default();
        r.failing_since.get_or_insert(now);
        r.last_failure = Some(Failure {
            at: now,
            error: scrubbed,
            diagnosis_id: id,
            reauthorize,
        });
    })
}

/// Forgets everything recorded for `account` ("Start over").
pub fn clear(config_path: &Path, account: &str) -> Result<(), StatusError> {
    update(config_path, |s| {
        s.accounts.remove(account);
    })
}

/// The state of an account as the wizard's first screen and `mailoauth status` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// The last attempt worked.
    Ok,
    /// The last attempt failed; the diagnosis says why.
    Failing,
    /// Only signing in again helps: refresh token revoked or expired, secret expired, identity changed.
    NeedsReauthorization,
    /// Nothing recorded yet.
    Unused,
}

/// One account's status for the GUI and `mailoauth status --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    /// The account's name in the config.
    pub name: String,
    /// The mailbox.
    pub mailbox: String,
    /// The provider id.
    pub provider: String,
    /// Overall state.
    pub state: AccountState,
    /// Last success, Unix seconds.
    #[ts(optional, type = "number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<u64>,
    /// Last failure.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<Failure>,
    /// First failure since the last success, Unix seconds.
    #[ts(optional, type = "number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<u64>,
    /// The catalog's diagnosis of the last failure, with the account's values filled in.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
    /// Why the account needs re-authorization, in one sentence.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reauthorize_reason: Option<String>,
    /// Days until the client secret expires (negative once expired), when its date is known.
    #[ts(optional, type = "number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_expires_in_days: Option<i64>,
    /// For an account the token service holds: its refresh and check times, as the service
    /// reports them.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceTimes>,
    /// For an account the token service holds in another config file than the one shown (a
    /// non-root admin's own file, while the service reads the machine's): that file. Such an
    /// account is changed there (by root, or through the service), not in the file shown.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_in: Option<String>,
}

/// What the token service says of one account it holds (Unix seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTimes {
    /// The last refresh.
    #[ts(optional, type = "number")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<u64>,
    /// The next refresh planned (ahead of the access token's expiry).
    #[ts(optional, type = "number")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_refresh: Option<u64>,
    /// The last check (refresh, then the mail login).
    #[ts(optional, type = "number")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<u64>,
    /// The next check planned.
    #[ts(optional, type = "number")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check: Option<u64>,
    /// The last time a consumer reported that the mail server rejected the token.
    #[ts(optional, type = "number")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report: Option<u64>,
}

impl AccountStatus {
    /// True when the secret expires within [`SECRET_WARNING_DAYS`] (or has expired).
    pub fn secret_expiring(&self) -> bool {
        self.secret_expires_in_days
            .is_some_and(|d| d <= SECRET_WARNING_DAYS)
    }
}

/// The values a diagnosis of `account` fills in (mailbox, tenant, client ID), so its fix names
/// them instead of `<mailbox>`.
pub fn diagnosis_context(account: &Account) -> diagnosis::Context {
    diagnosis::Context {
        mailbox: Some(account.mailbox.clone()),
        tenant: account.auth.tenant.clone(),
        client_id: Some(account.auth.client_id.clone()),
        ..Default::default()
    }
}

/// The status of one account, as of `today`.
pub fn account_status(
    account: &Account,
    record: Option<&AccountRecord>,
    today: CivilDate,
) -> AccountStatus {
    let secret_expires = account
        .auth
        .client_secret_expires
        .as_deref()
        .and_then(CivilDate::parse_prefix);
    status_of(
        Named {
            name: &account.name,
            mailbox: &account.mailbox,
            provider: &account.auth.provider,
        },
        &diagnosis_context(account),
        secret_expires,
        record,
        today,
    )
}

/// The status of an account known only from the token service's answer (held in another config
/// file than the one shown): its name, mailbox and provider, and the service's record.
pub fn held_elsewhere(named: Named<'_>, record: &AccountRecord, today: CivilDate) -> AccountStatus {
    let ctx = diagnosis::Context {
        mailbox: Some(named.mailbox.to_string()),
        ..Default::default()
    };
    status_of(named, &ctx, None, Some(record), today)
}

/// What names an account on the status screens.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    /// The account's name in its config.
    pub name: &'a str,
    /// The mailbox.
    pub mailbox: &'a str,
    /// The provider id.
    pub provider: &'a str,
}

fn status_of(
    named: Named<'_>,
    ctx: &diagnosis::Context,
    secret_expires: Option<CivilDate>,
    record: Option<&AccountRecord>,
    today: CivilDate,
) -> AccountStatus {
    let empty = AccountRecord::default();
    let record = record.unwrap_or(&empty);
    // The order of events, not their clock: a failure opens `failing_since`, a success closes
    // it, so a success in the same second as the failure it repairs still counts.
    let failing = record.last_failure.is_some() && record.failing_since.is_some();
    // The recorded (scrubbed) error fills in what the id alone cannot: the host that could not
    // be reached, its role and port ("Can't reach login.microsoftonline.com").
    let diagnosis = record
        .last_failure
        .as_ref()
        .filter(|_| failing)
        .and_then(|f| {
            f.diagnosis_id
                .as_deref()
                .and_then(|id| diagnosis::diagnose(id, &f.error, ctx))
        });
    let secret_expires_in_days = secret_expires.map(|d| d.days() - today.days());
    let mut reauthorize_reason = None;
    if let (Some(date), Some(days)) = (secret_expires, secret_expires_in_days) {
        if days < 0 {
            reauthorize_reason = Some(format!(
                "the client secret expired on {date}: create a new one in the provider's console and sign in again"
            ));
        }
    }
    if reauthorize_reason.is_none() {
        if let Some(d) = diagnosis.as_ref().filter(|d| d.reauthorize) {
            reauthorize_reason = Some(format!("{}: {}", d.title, d.cause));
        } else if let Some(f) = record
            .last_failure
            .as_ref()
            .filter(|f| failing && f.reauthorize)
        {
            reauthorize_reason = Some(f.error.clone());
        }
    }
    let state = if reauthorize_reason.is_some() {
        AccountState::NeedsReauthorization
    } else if failing {
        AccountState::Failing
    } else if record.last_success.is_some() {
        AccountState::Ok
    } else {
        AccountState::Unused
    };
    AccountStatus {
        name: named.name.to_string(),
        mailbox: named.mailbox.to_string(),
        provider: named.provider.to_string(),
        state,
        last_success: record.last_success,
        last_failure: record.last_failure.clone(),
        failing_since: record.failing_since.filter(|_| failing),
        diagnosis,
        reauthorize_reason,
        secret_expires_in_days,
        service: None,
        held_in: None,
    }
}

/// The status of every account of `config`, in the config's order.
pub fn overview(config: &Config, status: &StatusFile, today: CivilDate) -> Vec<AccountStatus> {
    config
        .accounts
        .iter()
        .map(|a| account_status(a, status.accounts.get(&a.name), today))
        .collect()
}

/// `secs` as `YYYY-MM-DD HH:MM UTC`, the way status shows times.
pub fn format_time(secs: u64) -> String {
    let day = CivilDate::from_days((secs / 86_400) as i64);
    let rest = secs % 86_400;
    format!("{day} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

#[cfg(test)]
mod tests;
