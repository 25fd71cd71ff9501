//! The one door from the terminal setup (`mailoauth setup`, `mailoauth reauthorize`,
//! `mailoauth authorize --account`) to the core's account façade (`mailoauth::account`), the
//! same functions the app's wizard calls. Kept to these few re-exports and wrappers.

pub use mailoauth::account::{
    AccountDraft, AccountError as SetupError, AccountSetup, SaveMode, SaveReport,
};

/// The account settings for a draft (no sandbox: the terminal setup talks to real providers).
pub fn plan(draft: &AccountDraft) -> Result<AccountSetup, SetupError> {
    mailoauth::account::plan(draft, None)
}

/// Keeps a client secret beside the account's tokens and returns where it is.
pub fn keep_client_secret(
    store: &mailoauth::config::StoreSpec,
    mailbox: &str,
    secret: &mailoauth::secret::Secret<String>,
) -> Result<mailoauth::config::SecretRef, SetupError> {
    Ok(mailoauth::store::keep_client_secret(
        store, mailbox, secret,
    )?)
}

/// The config file's account for a planned setup.
pub fn config_account(
    name: &str,
    setup: &AccountSetup,
    ca_file: Option<&std::path::Path>,
) -> Result<mailoauth::config::Account, SetupError> {
    Ok(mailoauth::account::to_config(name, setup, ca_file))
}

/// Preview or write the account into the config file.
pub fn save_account(
    path: &std::path::Path,
    account: mailoauth::config::Account,
    mode: SaveMode,
) -> Result<SaveReport, mailoauth::config::ConfigError> {
    mailoauth::account::save_account(path, account, mode)
}

/// The mail login test of a saved account, with a fresh token from its store.
pub async fn saved_account_check(
    doc: &mailoauth::config::ConfigDocument,
    name: &str,
    warn: mailoauth::account::Warn<'_>,
) -> Result<
    (
        mailoauth::probe::CheckRequest,
        mailoauth::secret::Secret<String>,
    ),
    SetupError,
> {
    mailoauth::account::check(doc, name, warn).await
}
