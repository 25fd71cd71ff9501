//! The account façade: the one door the desktop app, the CLI and the token service use for an
//! account's jobs.
//!
//! | job | function |
//! |---|---|
//! | what the wizard collected → the settings to sign in and test with | [`plan`], [`plan_and_keep`] |
//! | add the account to the config file (preview, guarded write, overwrite) | [`save`], [`save_account`] |
//! | add an account the service holds to the machine config, through the service | [`saves_through_service`], [`save_through_service`], [`save_config_account_through_service`] |
//! | a fresh access token for a saved account (what mail services run) | [`token`] |
//! | the mail login test of a saved account | [`check`] |
//! | sign a saved account in again with its saved settings | [`reauthorize_plan`], [`authorize`] |
//! | every account of a config file with its state | [`status`] |
//! | forget a saved account's tokens and history | [`start_over`] |
//!
//! The shapes of one account and every conversion between them are in [`convert`]; which config
//! file is used is [`crate::config::location`]'s rule.

pub mod convert;
pub mod readers;
mod token;

#[cfg(test)]
mod tests;

pub use convert::{draft_of, plan, to_config};
pub use token::{token, token_forced, TokenError, TokenFailure};

use crate::config::{ConfigDocument, ConfigError, StoreSpec};
use crate::error::{Coded, ErrorCode};
use crate::oauth::{AccountAuth, FlowHooks, Granted};
use crate::probe::{CheckRequest, Endpoint};
use crate::provider::{Cloud, Flow, ProfileError, Purpose};
use crate::sandbox::Sandbox;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

/// A callback for warnings that do not stop the job (a status file that cannot be written);
/// thread-safe, so a front end can pass it across its runtime's threads.
pub type Warn<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// What the wizard collected about one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountDraft {
    /// Provider profile id, or `sandbox` for the local test server.
    pub provider: String,
    /// The provider's cloud.
    pub cloud: Cloud,
    /// Microsoft tenant (ID or domain), when the provider has tenants.
    pub tenant: Option<String>,
    /// The OAuth client ID (ignored for the sandbox, whose client is fixed).
    pub client_id: String,
    /// How the first tokens are obtained.
    pub flow: Flow,
    /// What the service does with the mailbox.
    pub purpose: Purpose,
    /// The mailbox address.
    pub mailbox: String,
    /// The SMTP server, when the admin changed the provider's default.
    #[serde(default)]
    #[ts(optional)]
    pub smtp: Option<Endpoint>,
    /// The IMAP server, when the admin changed the provider's default.
    #[serde(default)]
    #[ts(optional)]
    pub imap: Option<Endpoint>,
    /// The client secret, for clients that have one (Google's clients; Entra Web clients). It
    /// is kept in the token store by [`plan_and_keep`] and never sent back to the UI.
    #[serde(default, skip_serializing)]
    #[ts(optional, type = "string")]
    pub client_secret: Option<crate::secret::Secret<String>>,
    /// The fixed port of the registered loopback redirect (Web-type clients).
    #[serde(default)]
    #[ts(optional)]
    pub redirect_port: Option<u16>,
    /// The OS users (`lp`) and groups (`group:lp`) that read the token from the token service;
    /// empty: the tokens stay in the admin's own store. Named: the account is saved with
    /// `token_store = "service"` and these `readers`.
    #[serde(default)]
    pub readers: Vec<String>,
}

/// Everything the sign-in and the mail tests need, derived from a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountSetup {
    /// The OAuth engine's settings.
    pub auth: AccountAuth,
    /// Where the tokens are kept (`keyring` or `file:<folder>`).
    #[ts(type = "string")]
    pub store: StoreSpec,
    /// The SMTP and IMAP login tests for the purpose, with the provider's servers.
    pub check: CheckRequest,
}

/// Why an account job failed: a draft that cannot become an account, a saved account that
/// cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A required field is empty.
    #[error("{field} is empty: {fix}")]
    Missing {
        /// The field.
        field: &'static str,
        /// What to enter.
        fix: &'static str,
    },
    /// The sandbox provider was chosen but the app runs without the local test servers.
    #[error("the local test server is not running: start the app with scripts/run.sh --sandbox")]
    NoSandbox,
    /// The provider profile refused the choice.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The saved account cannot be used (missing, damaged config, unreadable CA file).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// No token for the saved account (needs a new sign-in, provider unreachable, ...).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The sign-in failed.
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
    /// The status history could not be cleared.
    #[error(transparent)]
    Status(#[from] crate::status::StatusError),
    /// The provider needs a client secret for this flow and none was given.
    #[error("Client secret is empty: {provider} needs the client secret of this client for the {flow} flow; import the downloaded client JSON or copy the secret from the console")]
    SecretNeeded {
        /// The provider's name.
        provider: String,
        /// The flow.
        flow: Flow,
    },
    /// The client secret could not be kept in the token store.
    #[error("the client secret could not be kept: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A reader named for the token service cannot be used.
    #[error("{message}")]
    Readers {
        /// What is wrong, naming the field and the fix.
        message: String,
    },
    /// The account's extra CA file cannot be read.
    #[error("the account's CA file {path} cannot be read ({detail}): fix [account.tls] ca_file")]
    CaFile {
        /// The file.
        path: String,
        /// The I/O error.
        detail: String,
    },
}

impl Coded for AccountError {
    fn code(&self) -> ErrorCode {
        match self {
            AccountError::Profile(e) => e.code(),
            AccountError::Config(e) => e.code(),
            AccountError::Token(e) => e.code(),
            AccountError::Store(e) => e.code(),
            AccountError::OAuth(e) => e.code(),
            AccountError::Status(e) => e.code(),
            _ => ErrorCode::InvalidInput,
        }
    }

    fn diagnosis_id(&self) -> Option<String> {
        match self {
            AccountError::Token(e) => e.diagnosis_id(),
            AccountError::OAuth(e) => Coded::diagnosis_id(e),
            _ => None,
        }
    }
}

/// [`plan`], then keeps the draft's client secret (if the plan uses one) in the token store,
/// where the sign-in and later the service read it.
pub fn plan_and_keep(
    draft: &AccountDraft,
    sandbox: Option<&Sandbox>,
) -> Result<AccountSetup, AccountError> {
    let mut setup = plan(draft, sandbox)?;
    // A service-held account's secret is not kept here: the sign-in's hand-over keeps it in its
    // private folder and gives it to the service ([`crate::service::client::HandOver`]).
    if setup.store == StoreSpec::Service {
        return Ok(setup);
    }
    if let (Some(secret), Some(_)) = (&draft.client_secret, &setup.auth.client_secret) {
        let trimmed = Secret::new(secret.expose().trim().to_string());
        setup.auth.client_secret = Some(crate::store::keep_client_secret(
            &setup.store,
            &setup.auth.mailbox,
            &trimmed,
        )?);
        // Kept on every plan: the sign-in that follows reads it from there.
    }
    Ok(setup)
}

/// What saving would write, or what happened when it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SaveReport {
    /// The config file.
    pub path: String,
    /// The whole file as written (or as it would be written).
    pub text: String,
    /// Whether the file was written.
    pub saved: bool,
    /// When the file changed on disk since it was read: the difference, and nothing was written.
    pub changed_on_disk: Option<String>,
    /// The file on disk this report was made from ([`crate::config::ConfigDocument::fingerprint`]):
    /// give it back with [`SaveMode::Write`] so the write refuses a file changed since.
    pub base: String,
    /// The command the mail service runs for a fresh token, always naming the config file
    /// (`--config <file>`): a service started by cron or systemd may have another default.
    pub token_command: String,
}

/// What [`save_account`] does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SaveMode {
    /// Nothing is written: the file as it would be, and the `base` it was made from.
    Preview,
    /// Written unless the file on disk is no longer `base` (the preview's), or, without a
    /// base, changed while this call ran.
    Write {
        /// The preview's [`SaveReport::base`].
        base: Option<String>,
    },
    /// Written even over a file changed by hand (after the admin saw the difference).
    Overwrite,
}

/// Adds (or replaces) the account `name` in the config at `path` and writes it atomically, as
/// `mode` says. A file changed on disk since the preview is not overwritten: the report carries
/// the difference instead.
pub fn save_account(
    path: &std::path::Path,
    account: crate::config::Account,
    mode: SaveMode,
) -> Result<SaveReport, crate::config::ConfigError> {
    let mut doc = crate::config::load_or_new(path)?;
    let base = doc.fingerprint();
    let mut account = account;
    if let Some(old) = doc.config.account(&account.name) {
        // What no plan carries stays as saved: who reads the token from the service, and
        // whether the Google consent screen is in Testing status.
        if account.readers.is_empty() {
            account.readers = old.readers.clone();
        }
        if account.google_testing_consent.is_none() {
            account.google_testing_consent = old.google_testing_consent;
        }
    }
    let token_command = crate::export::ExportContext::for_config(path).token_command(&account);
    doc.set_account(account);
    let text = crate::config::render(&doc.config)?;
    let report = |saved: bool, changed_on_disk: Option<String>| SaveReport {
        path: path.display().to_string(),
        text: text.clone(),
        saved,
        changed_on_disk,
        base: base.clone(),
        token_command: token_command.clone(),
    };
    match mode {
        SaveMode::Preview => Ok(report(false, None)),
        SaveMode::Overwrite => {
            doc.save_overwriting()?;
            Ok(report(true, None))
        }
        SaveMode::Write { base: seen } => {
            if let Some(seen) = seen {
                doc.assume_read(&seen);
            }
            Ok(match doc.save()? {
                crate::config::SaveOutcome::Saved => report(true, None),
                crate::config::SaveOutcome::ChangedOnDisk { diff } => report(false, Some(diff)),
            })
        }
    }
}

/// The wizard's answers saved as account `name` of the config at `path`, as `mode` says
/// (preview, guarded write, overwrite); `sandbox` is the running local test server, if any (its
/// accounts trust its CA). `tested_at`: when the wizard's mail tests passed with these settings
/// (Unix seconds); a written account records it as its last success, so the home screen does
/// not say "not used yet" right after the tests passed. A status file that cannot be written is
/// reported on `warn`: the save itself succeeded.
pub fn save(
    path: &Path,
    draft: &AccountDraft,
    name: &str,
    sandbox: Option<&Sandbox>,
    mode: SaveMode,
    tested_at: Option<u64>,
    warn: Warn<'_>,
) -> Result<SaveReport, AccountError> {
    let account = planned_account(draft, name, sandbox)?;
    let report = save_account(path, account, mode)?;
    if let (true, Some(at)) = (report.saved, tested_at) {
        if let Err(e) = crate::status::record_success(path, name, at) {
            warn(&format!(
                "the wizard's passing tests could not be recorded: {e}"
            ));
        }
    }
    Ok(report)
}

/// Whether the wizard's save of an account goes through the token service
/// ([`save_through_service`]) rather than into `wizard_file`: the account is for the service
/// (`service_held`), the service runs (`served`: the config file it reads), and that file is
/// not the wizard's or the wizard cannot write it (a non-root admin on Linux/macOS, whose own
/// file is in the XDG folder, which the root service does not read).
pub fn saves_through_service(
    wizard_file: &Path,
    served: Option<&Path>,
    writable: bool,
    service_held: bool,
) -> bool {
    let same = |a: &Path, b: &Path| {
        a == b
            || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    };
    match served {
        Some(served) if service_held => !same(wizard_file, served) || !writable,
        _ => false,
    }
}

/// Whether this process may write the config at `path` (the file, or its folder when there is
/// no file yet).
pub fn can_write(path: &Path) -> bool {
    if path.exists() {
        return std::fs::OpenOptions::new().append(true).open(path).is_ok();
    }
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        // SAFETY: a NUL-terminated path; access(2) only reads it.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The config account `name` the wizard's answers make (in the sandbox: its servers and CA), as
/// the save and the export preview both write it.
pub fn planned_account(
    draft: &AccountDraft,
    name: &str,
    sandbox: Option<&Sandbox>,
) -> Result<crate::config::Account, AccountError> {
    let setup = plan(draft, sandbox)?;
    let ca = sandbox.map(|s| s.ca_file.as_path());
    Ok(convert::config_of_draft(name, draft, &setup, ca))
}

/// The mail login test of the saved account `name`, with a fresh token from its store (refreshed
/// when needed, and the outcome recorded in the status file as the service's would be).
pub async fn check(
    doc: &ConfigDocument,
    name: &str,
    warn: Warn<'_>,
) -> Result<(CheckRequest, Secret<String>), AccountError> {
    let account = doc.account(name)?.clone();
    let request = convert::check_request(&account)?;
    let token = token(doc, name, crate::oauth::unix_now(), warn).await?;
    Ok((request, token))
}

/// The saved account `name` as a plan, to sign it in again with every saved setting.
pub fn reauthorize_plan(doc: &ConfigDocument, name: &str) -> Result<AccountSetup, AccountError> {
    let account = doc.account(name)?;
    convert::setup_of(account, &doc.path)
}

/// Signs the planned account in (browser, device code, ...), checks scopes and identity, and
/// keeps the tokens in the plan's store.
pub async fn authorize(
    setup_auth: &AccountAuth,
    store: &StoreSpec,
    hooks: &FlowHooks<'_>,
) -> Result<Granted, AccountError> {
    let store = crate::store::open(store)?;
    Ok(crate::oauth::authorize_and_store(setup_auth, store.as_ref(), hooks).await?)
}

/// Every account of the config file at `path` with its state (OK, failing, needs
/// re-authorization, secret expiring) as of `today`; none when there is no file yet. An
/// unreadable status file only means no history yet.
pub fn status(
    path: &Path,
    today: crate::validate::CivilDate,
) -> Result<Vec<crate::status::AccountStatus>, ConfigError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let doc = crate::config::load(path)?;
    let recorded = crate::status::read(path).unwrap_or_default();
    Ok(crate::status::overview(&doc.config, &recorded, today))
}

/// "Start over" for account `name`: deletes its stored tokens and its status record, the way
/// admins of other products delete folders and restart services. The caller asks for
/// confirmation first; the account's settings stay in the config.
pub fn start_over(doc: &ConfigDocument, name: &str) -> Result<(), AccountError> {
    let account = doc.account(name)?;
    let store = convert::open_store(account, &doc.path)?;
    let auth = convert::auth_settings(account);
    store.delete(&crate::oauth::store_key(&auth))?;
    crate::status::clear(&doc.path, name)?;
    Ok(())
}
