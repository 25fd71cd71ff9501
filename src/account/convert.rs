//! Every conversion between the shapes of one account, in both directions:
//!
//! ```text
//!  AccountDraft ──plan──▶ AccountSetup {auth: AccountAuth, store: StoreSpec, check: CheckRequest}
//!        ▲                     │  ▲           (readers named in the draft: store = service)
//!    draft_of     to_config / config_of_draft (+ readers)  setup_of / auth_settings / check_request
//!        │                     ▼  │
//!        └──────────── config::Account (the file) ─────┘
//! ```
//!
//! The wizard's draft, the engine's settings and the config file's account are the same account;
//! this module is the only place that maps one to another, so a setting added to one shape is
//! added here once for every direction.

use super::{AccountDraft, AccountError, AccountSetup};
use crate::config::{
    Account, AuthSettings, ConfigError, EndpointSettings, MailServer, StoreSpec, TlsTrust,
};
use crate::oauth::AccountAuth;
use crate::probe::{CheckRequest, Endpoint};
use crate::provider::{
    self, ClientAuth, EndpointOverrides, MailProtocol, Purpose, SaslMechanism, SANDBOX_PROVIDER,
};
use crate::sandbox::Sandbox;
use crate::store::{self, TokenStore};
use std::path::Path;

/// The server to test for a protocol: the admin's, else the default (looked up only then);
/// none when the purpose does not use the protocol.
fn chosen<E>(
    used: bool,
    admin: &Option<Endpoint>,
    default: impl FnOnce() -> Result<Option<Endpoint>, E>,
) -> Result<Option<Endpoint>, E> {
    match (used, admin) {
        (false, _) => Ok(None),
        (true, Some(e)) => Ok(Some(e.clone())),
        (true, None) => default(),
    }
}

fn sends(purpose: Purpose) -> bool {
    matches!(purpose, Purpose::Send | Purpose::Both)
}

fn receives(purpose: Purpose) -> bool {
    matches!(purpose, Purpose::Receive | Purpose::Both)
}

/// Draft → setup: the account settings for `draft`; `sandbox` is the running local test server,
/// if any. Writes nothing (see [`super::plan_and_keep`] for the client secret).
pub fn plan(draft: &AccountDraft, sandbox: Option<&Sandbox>) -> Result<AccountSetup, AccountError> {
    let mailbox = draft.mailbox.trim();
    if mailbox.is_empty() {
        return Err(AccountError::Missing {
            field: "Mailbox address",
            fix: "enter the address the service sends as or reads",
        });
    }
    // Readers named: the token service holds the tokens (`token_store = "service"`).
    let held = !draft.readers.is_empty();
    if let Some(message) = super::readers::problem(&draft.readers) {
        return Err(AccountError::Readers { message });
    }
    // A client secret with readers: the service holds it too (`client_secret = "service"`);
    // the sign-in's hand-over gives it to the service with the tokens.
    if draft.provider == SANDBOX_PROVIDER {
        let s = sandbox.ok_or(AccountError::NoSandbox)?;
        let mut check = s.check_request(mailbox, draft.purpose);
        let (smtp, imap) = (check.smtp.take(), check.imap.take());
        check.smtp = chosen(smtp.is_some(), &draft.smtp, || Ok::<_, AccountError>(smtp))?;
        check.imap = chosen(imap.is_some(), &draft.imap, || Ok::<_, AccountError>(imap))?;
        let mut auth = s.account_auth(mailbox, draft.flow, draft.purpose);
        let store = if held {
            StoreSpec::Service
        } else {
            s.token_store()
        };
        auth.redirect_port = draft.redirect_port.filter(|p| *p != 0);
        if draft
            .client_secret
            .as_ref()
            .is_some_and(|x| !x.expose().trim().is_empty())
        {
            // The local provider's confidential client: the secret path, as with Google.
            auth.client_id = Sandbox::CONFIDENTIAL_CLIENT.0.to_string();
            auth.client_auth = ClientAuth::ClientSecretPost;
            auth.client_secret = Some(store::client_secret_place(&store, mailbox)?);
        }
        return Ok(AccountSetup { auth, store, check });
    }
    let profile = provider::require_profile(&draft.provider)?;
    if draft.client_id.trim().is_empty() {
        return Err(AccountError::Missing {
            field: "Client ID",
            fix: "copy it from the provider's console (see the registration checklist)",
        });
    }
    let server = |protocol| -> Result<Option<Endpoint>, AccountError> {
        let d = profile.mail(protocol, draft.cloud)?;
        Ok(d.host.map(|host| Endpoint {
            host,
            port: d.port,
            security: d.security,
        }))
    };
    let secret = draft
        .client_secret
        .as_ref()
        .filter(|s| !s.expose().trim().is_empty());
    let offered = &profile.flow_support(draft.flow)?.client_auth;
    // A secret given is used when the profile takes one; a public client needs none; a profile
    // that only knows confidential clients (Google) needs the secret.
    let client_auth = match secret {
        Some(_) => [ClientAuth::ClientSecretPost, ClientAuth::ClientSecretBasic]
            .into_iter()
            .find(|a| offered.contains(a))
            .unwrap_or(ClientAuth::None),
        None if offered.is_empty() || offered.contains(&ClientAuth::None) => ClientAuth::None,
        None if offered.iter().any(|a| {
            matches!(
                a,
                ClientAuth::ClientSecretPost | ClientAuth::ClientSecretBasic
            )
        }) =>
        {
            return Err(AccountError::SecretNeeded {
                provider: profile.name().to_string(),
                flow: draft.flow,
            })
        }
        None => ClientAuth::None,
    };
    let store = if held {
        StoreSpec::Service
    } else {
        StoreSpec::Keyring
    };
    let client_secret = match (secret, client_auth) {
        (Some(_), ClientAuth::ClientSecretPost | ClientAuth::ClientSecretBasic) => {
            Some(store::client_secret_place(&store, mailbox)?)
        }
        _ => None,
    };
    Ok(AccountSetup {
        auth: AccountAuth {
            provider: draft.provider.clone(),
            cloud: draft.cloud,
            tenant: draft
                .tenant
                .as_ref()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            client_id: draft.client_id.trim().to_string(),
            client_auth,
            client_secret,
            key_id: None,
            certificate: None,
            flow: draft.flow,
            purpose: draft.purpose,
            scopes: Vec::new(),
            endpoints: Default::default(),
            mailbox: mailbox.to_string(),
            redirect_port: draft.redirect_port.filter(|p| *p != 0),
        },
        store,
        check: CheckRequest {
            mailbox: mailbox.to_string(),
            smtp: chosen(sends(draft.purpose), &draft.smtp, || {
                server(MailProtocol::Smtp)
            })?,
            imap: chosen(receives(draft.purpose), &draft.imap, || {
                server(MailProtocol::Imap)
            })?,
            mechanism: Default::default(),
            tls: Default::default(),
            send_test_to: None,
            source_address: None,
            timeouts: Default::default(),
        },
    })
}

/// The file's endpoint overrides as the engine takes them (the same struct: none is empty).
pub fn endpoints_to_engine(e: Option<&EndpointSettings>) -> EndpointOverrides {
    e.cloned().unwrap_or_default()
}

/// The engine's endpoint overrides as the file writes them; none when nothing is overridden.
pub fn endpoints_to_config(e: &EndpointOverrides) -> Option<EndpointSettings> {
    (!e.is_empty()).then(|| e.clone())
}

/// Setup → file: the config file's account `name` for a planned setup. `ca_file` is the extra
/// CA the mail servers need (the sandbox's test CA), if any.
pub fn to_config(name: &str, setup: &AccountSetup, ca_file: Option<&Path>) -> Account {
    let auth = &setup.auth;
    let server = |e: &Option<Endpoint>| {
        e.as_ref().map(|e| MailServer {
            host: e.host.clone(),
            port: e.port,
            security: e.security,
            sasl: SaslMechanism::Xoauth2,
        })
    };
    // The keyring's short form names no entry: the file names the mailbox's.
    let token_store = match &setup.store {
        StoreSpec::Keyring => StoreSpec::keyring_for(&oauth_key(auth)),
        other => other.clone(),
    };
    Account {
        name: name.trim().to_string(),
        purpose: auth.purpose,
        mailbox: auth.mailbox.clone(),
        smtp: server(&setup.check.smtp),
        imap: server(&setup.check.imap),
        token_store,
        // Who reads the token from the service, and the Testing consent screen: not in a plan
        // yet; an update keeps the saved values (see `save`).
        readers: Vec::new(),
        google_testing_consent: None,
        tls: ca_file.map(|f| TlsTrust {
            ca_file: Some(f.to_path_buf()),
            pinned_sha256: None,
        }),
        auth: AuthSettings {
            provider: auth.provider.clone(),
            cloud: auth.cloud,
            tenant: auth.tenant.clone(),
            client_id: auth.client_id.clone(),
            client_auth: auth.client_auth,
            client_secret: auth.client_secret.clone(),
            key_id: auth.key_id.clone(),
            certificate: auth.certificate.clone(),
            client_secret_expires: None,
            flow: auth.flow,
            scopes: auth.scopes.clone(),
            endpoints: endpoints_to_config(&auth.endpoints),
            redirect_port: auth.redirect_port,
        },
    }
}

/// Draft → file: the config account `name` the wizard's answers make: the plan's account
/// ([`to_config`]) with the draft's readers (who reads the token from the service).
pub fn config_of_draft(
    name: &str,
    draft: &AccountDraft,
    setup: &AccountSetup,
    ca_file: Option<&Path>,
) -> Account {
    let mut account = to_config(name, setup, ca_file);
    account.readers = draft.readers.iter().map(|r| r.trim().to_string()).collect();
    account
}

fn oauth_key(auth: &AccountAuth) -> String {
    crate::oauth::store_key(auth)
}

/// File → engine: the OAuth engine's settings for a saved account.
pub fn auth_settings(account: &Account) -> AccountAuth {
    AccountAuth {
        provider: account.auth.provider.clone(),
        cloud: account.auth.cloud,
        tenant: account.auth.tenant.clone(),
        client_id: account.auth.client_id.clone(),
        client_auth: account.auth.client_auth,
        client_secret: account.auth.client_secret.clone(),
        key_id: account.auth.key_id.clone(),
        certificate: account.auth.certificate.clone(),
        flow: account.auth.flow,
        purpose: account.purpose,
        scopes: account.auth.scopes.clone(),
        endpoints: endpoints_to_engine(account.auth.endpoints.as_ref()),
        mailbox: account.mailbox.clone(),
        redirect_port: account.auth.redirect_port,
    }
}

fn invalid(path: &Path, account: &Account, key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        account: account.name.clone(),
        key: key.to_string(),
        message,
    }
}

/// File → store: the account's token store as the engine opens it; `path` is the config file,
/// named in errors. A keyring entry must be the one mailoauth files the mailbox's tokens under.
pub fn store_spec(account: &Account, path: &Path) -> Result<StoreSpec, ConfigError> {
    match &account.token_store {
        StoreSpec::KeyringEntry { service, entry }
            if !(service == store::keyring::SERVICE
                && entry.eq_ignore_ascii_case(account.mailbox.trim())) =>
        {
            Err(invalid(
                path,
                account,
                "token_store",
                format!(
                    "mailoauth files tokens in the keyring as `keyring:{}/<mailbox>`; write `keyring:{}/{}`",
                    store::keyring::SERVICE,
                    store::keyring::SERVICE,
                    account.mailbox.trim()
                ),
            ))
        }
        spec => Ok(spec.clone()),
    }
}

/// Opens the store that holds `account`'s tokens; `path` is the config file, named in errors.
pub fn open_store(account: &Account, path: &Path) -> Result<Box<dyn TokenStore>, ConfigError> {
    let spec = store_spec(account, path)?;
    store::open(&spec).map_err(|e| invalid(path, account, "token_store", e.to_string()))
}

/// File → mail test: the SMTP and IMAP login test of a saved account, with its extra CA read.
pub fn check_request(account: &Account) -> Result<CheckRequest, AccountError> {
    let server = |m: &Option<MailServer>| {
        m.as_ref().map(|m| Endpoint {
            host: m.host.clone(),
            port: m.port,
            security: m.security,
        })
    };
    let tls = account.tls.clone().unwrap_or_default();
    let extra_ca_pem = match &tls.ca_file {
        Some(f) => Some(
            std::fs::read_to_string(f).map_err(|e| AccountError::CaFile {
                path: f.display().to_string(),
                detail: e.to_string(),
            })?,
        ),
        None => None,
    };
    Ok(CheckRequest {
        mailbox: account.mailbox.clone(),
        smtp: server(&account.smtp),
        imap: server(&account.imap),
        mechanism: Default::default(),
        tls: crate::probe::TlsTrust {
            extra_ca_pem,
            pinned_sha256: tls.pinned_sha256.clone(),
        },
        send_test_to: None,
        source_address: None,
        timeouts: Default::default(),
    })
}

/// File → setup: a saved account's settings as a plan, for signing it in again with every
/// saved setting; `path` is the config file, named in errors.
pub fn setup_of(account: &Account, path: &Path) -> Result<AccountSetup, AccountError> {
    Ok(AccountSetup {
        auth: auth_settings(account),
        store: store_spec(account, path)?,
        check: check_request(account)?,
    })
}

/// File → draft: what the wizard shows for a saved account (the client secret stays where it
/// is kept; the draft never carries it back).
pub fn draft_of(account: &Account) -> AccountDraft {
    let endpoint = |m: &Option<MailServer>| {
        m.as_ref().map(|m| Endpoint {
            host: m.host.clone(),
            port: m.port,
            security: m.security,
        })
    };
    AccountDraft {
        provider: account.auth.provider.clone(),
        cloud: account.auth.cloud,
        tenant: account.auth.tenant.clone(),
        client_id: account.auth.client_id.clone(),
        flow: account.auth.flow,
        purpose: account.purpose,
        mailbox: account.mailbox.clone(),
        smtp: endpoint(&account.smtp),
        imap: endpoint(&account.imap),
        client_secret: None,
        redirect_port: account.auth.redirect_port,
        readers: account.readers.clone(),
    }
}

impl Account {
    /// The engine's settings for this account ([`auth_settings`]); `path` is the config file.
    pub fn oauth_settings(&self, _path: &Path) -> Result<AccountAuth, ConfigError> {
        Ok(auth_settings(self))
    }

    /// Opens the store that holds this account's tokens ([`open_store`]).
    pub fn token_store(&self, path: &Path) -> Result<Box<dyn TokenStore>, ConfigError> {
        open_store(self, path)
    }
}
