//! The one door from the terminal setup (`mailoauth setup`, `mailoauth reauthorize`,
//! `mailoauth authorize --account`) to the core's plan and save functions, the same ones the
//! app's wizard calls. Kept to these few re-exports and wrappers so a move of the core's account
//! functions changes this file only.

pub use mailoauth::setup::{AccountDraft, AccountSetup, SaveMode, SaveReport, SetupError};

/// The account settings for a draft (no sandbox: the terminal setup talks to real providers).
pub fn plan(draft: &AccountDraft) -> Result<AccountSetup, SetupError> {
    mailoauth::setup::plan(draft, None)
}

/// Keeps a client secret in the account's token store and returns where it is.
pub fn keep_client_secret(
    store: &str,
    mailbox: &str,
    secret: &mailoauth::secret::Secret<String>,
) -> Result<mailoauth::oauth::SecretSource, SetupError> {
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
    mailoauth::setup::config_account(name, setup, ca_file)
}

/// Preview or write the account into the config file.
pub fn save_account(
    path: &std::path::Path,
    account: mailoauth::config::Account,
    mode: SaveMode,
) -> Result<SaveReport, mailoauth::config::ConfigError> {
    mailoauth::setup::save_account(path, account, mode)
}

/// The mail login test of a saved account, with a fresh token from its store.
pub async fn saved_account_check(
    doc: &mailoauth::config::ConfigDocument,
    name: &str,
    warn: &(dyn Fn(&str) + Send + Sync),
) -> Result<
    (
        mailoauth::probe::CheckRequest,
        mailoauth::secret::Secret<String>,
    ),
    SetupError,
> {
    mailoauth::setup::saved_account_check(doc, name, warn).await
}
