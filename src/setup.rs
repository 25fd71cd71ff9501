//! Turns what the wizard collected into the settings the OAuth engine and the mail tests run
//! with, so the app and the CLI build accounts the same way.

use crate::error::{Coded, ErrorCode};
use crate::oauth::AccountAuth;
use crate::probe::{CheckRequest, Endpoint};
use crate::provider::{self, ClientAuth, Cloud, Flow, MailProtocol, ProfileError, Purpose};
use crate::sandbox::Sandbox;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The provider id the wizard uses for the sandbox's local test server.
pub const SANDBOX_PROVIDER: &str = "sandbox";

/// The provider profile the sandbox's accounts use (its local provider is a generic OpenID one).
pub const SANDBOX_PROFILE: &str = "generic";

/// The provider profile of a wizard provider id: the sandbox's is [`SANDBOX_PROFILE`], the
/// others are their own.
pub fn profile_id(provider: &str) -> &str {
    if provider == SANDBOX_PROVIDER {
        SANDBOX_PROFILE
    } else {
        provider
    }
}

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
}

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

/// Everything the sign-in and the mail tests need, derived from a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountSetup {
    /// The OAuth engine's settings.
    pub auth: AccountAuth,
    /// Where the tokens are kept (`keyring` or `file:<folder>`).
    pub store: String,
    /// The SMTP and IMAP login tests for the purpose, with the provider's servers.
    pub check: CheckRequest,
}

/// Why a draft cannot become an account.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
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
    Token(#[from] crate::status::TokenError),
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
    /// The account's extra CA file cannot be read.
    #[error("the account's CA file {path} cannot be read ({detail}): fix [account.tls] ca_file")]
    CaFile {
        /// The file.
        path: String,
        /// The I/O error.
        detail: String,
    },
}

impl Coded for SetupError {
    fn code(&self) -> ErrorCode {
        match self {
            SetupError::Profile(e) => e.code(),
            SetupError::Config(e) => e.code(),
            SetupError::Token(e) => e.code(),
            SetupError::Store(e) => e.code(),
            _ => ErrorCode::InvalidInput,
        }
    }
}

/// Builds the account settings for `draft`; `sandbox` is the running local test server, if any.
pub fn plan(draft: &AccountDraft, sandbox: Option<&Sandbox>) -> Result<AccountSetup, SetupError> {
    let mailbox = draft.mailbox.trim();
    if mailbox.is_empty() {
        return Err(SetupError::Missing {
            field: "Mailbox address",
            fix: "enter the address the service sends as or reads",
        });
    }
    if draft.provider == SANDBOX_PROVIDER {
        let s = sandbox.ok_or(SetupError::NoSandbox)?;
        let mut check = s.check_request(mailbox, draft.purpose);
        let (smtp, imap) = (check.smtp.take(), check.imap.take());
        check.smtp = chosen(smtp.is_some(), &draft.smtp, || Ok::<_, SetupError>(smtp))?;
        check.imap = chosen(imap.is_some(), &draft.imap, || Ok::<_, SetupError>(imap))?;
        let mut auth = s.account_auth(mailbox, draft.flow, draft.purpose);
        let store = s.token_store();
        auth.redirect_port = draft.redirect_port.filter(|p| *p != 0);
        if draft
            .client_secret
            .as_ref()
            .is_some_and(|x| !x.expose().trim().is_empty())
        {
            // The local provider's confidential client: the secret path, as with Google.
            auth.client_id = Sandbox::CONFIDENTIAL_CLIENT.0.to_string();
            auth.client_auth = ClientAuth::ClientSecretPost;
            auth.client_secret = Some(secret_place(&store, mailbox));
        }
        return Ok(AccountSetup { auth, store, check });
    }
    let profile = provider::require_profile(&draft.provider)?;
    if draft.client_id.trim().is_empty() {
        return Err(SetupError::Missing {
            field: "Client ID",
            fix: "copy it from the provider's console (see the registration checklist)",
        });
    }
    let server = |protocol| -> Result<Option<Endpoint>, SetupError> {
        let d = profile.mail(protocol, draft.cloud)?;
        Ok(d.host.map(|host| Endpoint {
            host,
            port: d.port,
            security: d.security,
        }))
    };
    let sends = matches!(draft.purpose, Purpose::Send | Purpose::Both);
    let receives = matches!(draft.purpose, Purpose::Receive | Purpose::Both);
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
            return Err(SetupError::SecretNeeded {
                provider: profile.name().to_string(),
                flow: draft.flow,
            })
        }
        None => ClientAuth::None,
    };
    let store = String::from("keyring");
    let client_secret = match (secret, client_auth) {
        (Some(_), ClientAuth::ClientSecretPost | ClientAuth::ClientSecretBasic) => {
            Some(secret_place(&store, mailbox))
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
            smtp: chosen(sends, &draft.smtp, || server(MailProtocol::Smtp))?,
            imap: chosen(receives, &draft.imap, || server(MailProtocol::Imap))?,
            mechanism: Default::default(),
            tls: Default::default(),
            send_test_to: None,
            source_address: None,
            timeouts: Default::default(),
        },
    })
}

/// Where [`crate::store::keep_client_secret`] keeps `mailbox`'s client secret in `store`.
fn secret_place(store: &str, mailbox: &str) -> crate::oauth::SecretSource {
    let key = mailbox.trim().to_ascii_lowercase();
    match store.strip_prefix("file:") {
        Some(dir) => crate::oauth::SecretSource::File(
            std::path::Path::new(dir).join(format!("{key}.client-secret")),
        ),
        None => crate::oauth::SecretSource::Keyring {
            service: crate::store::keyring::SERVICE.to_string(),
            entry: format!("client-secret/{key}"),
        },
    }
}

/// [`plan`], then keeps the draft's client secret (if the plan uses one) in the token store,
/// where the sign-in and later the service read it.
pub fn plan_and_keep(
    draft: &AccountDraft,
    sandbox: Option<&Sandbox>,
) -> Result<AccountSetup, SetupError> {
    let mut setup = plan(draft, sandbox)?;
    if let (Some(secret), Some(_)) = (&draft.client_secret, &setup.auth.client_secret) {
        let trimmed = crate::secret::Secret::new(secret.expose().trim().to_string());
        setup.auth.client_secret = Some(crate::store::keep_client_secret(
            &setup.store,
            &setup.auth.mailbox,
            &trimmed,
        )?);
    }
    Ok(setup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Security;

    fn draft(provider: &str, purpose: Purpose) -> AccountDraft {
        AccountDraft {
            provider: provider.into(),
            cloud: Cloud::Worldwide,
            tenant: Some(" contoso.com ".into()),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            flow: Flow::DeviceCode,
            purpose,
            mailbox: " scanner@contoso.com ".into(),
            smtp: None,
            imap: None,
            client_secret: None,
            redirect_port: None,
        }
    }

    #[test]
    fn a_client_secret_picks_the_profiles_secret_method_and_google_needs_one() {
        let mut d = draft("google", Purpose::Both);
        d.tenant = None;
        d.client_id = "1234-abc.apps.googleusercontent.com".into();
        d.mailbox = "scanner@example.com".into();
        d.flow = Flow::Loopback;
        let err = plan(&d, None).unwrap_err();
        assert!(matches!(err, SetupError::SecretNeeded { .. }), "{err}");
        assert!(
            err.to_string().starts_with("Client secret is empty"),
            "{err}"
        );
        d.client_secret = Some(crate::secret::Secret::new(" GOCSPX-abc ".into()));
        d.redirect_port = Some(8080);
        let s = plan(&d, None).unwrap();
        assert_eq!(s.auth.client_auth, ClientAuth::ClientSecretPost);
        assert_eq!(s.auth.redirect_port, Some(8080));
        assert_eq!(
            s.auth.client_secret,
            Some(crate::oauth::SecretSource::Keyring {
                service: "mailoauth".into(),
                entry: "client-secret/scanner@example.com".into()
            })
        );
        // The plan travels to the UI: the secret itself is never in it.
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("GOCSPX-abc"), "{json}");
        // Microsoft's device code flow is public: no secret, no method.
        let m = plan(&draft("microsoft", Purpose::Both), None).unwrap();
        assert_eq!(m.auth.client_auth, ClientAuth::None);
        assert_eq!(m.auth.client_secret, None);
        // The config account names where the secret is, never the secret.
        let account = config_account("scanner", &s, None).unwrap();
        assert_eq!(
            account.auth.client_secret.map(|r| r.to_string()).as_deref(),
            Some("keyring:mailoauth/client-secret/scanner@example.com")
        );
        assert_eq!(account.auth.redirect_port, Some(8080));
    }

    #[test]
    fn microsoft_draft_gets_the_profile_s_mail_servers() {
        let s = plan(&draft("microsoft", Purpose::Both), None).unwrap();
        assert_eq!(s.auth.tenant.as_deref(), Some("contoso.com"));
        assert_eq!(s.auth.mailbox, "scanner@contoso.com");
        let smtp = s.check.smtp.expect("smtp for sending");
        assert_eq!((smtp.port, smtp.security), (587, Security::StartTls));
        let imap = s.check.imap.expect("imap for receiving");
        assert_eq!((imap.port, imap.security), (993, Security::Tls));
        let send_only = plan(&draft("microsoft", Purpose::Send), None).unwrap();
        assert!(send_only.check.imap.is_none());
        // The admin's server wins over the default, and only for a protocol the purpose uses.
        let mut d = draft("microsoft", Purpose::Send);
        let own = Endpoint {
            host: "relay.contoso.com".into(),
            port: 25,
            security: Security::StartTls,
        };
        d.smtp = Some(own.clone());
        d.imap = Some(own.clone());
        let s = plan(&d, None).unwrap();
        assert_eq!(s.check.smtp, Some(own));
        assert!(s.check.imap.is_none());
    }

    #[test]
    fn a_planned_account_is_saved_atomically_and_reads_back() {
        let setup = plan(&draft("microsoft", Purpose::Both), None).unwrap();
        let account = config_account("scanner", &setup, None).unwrap();
        assert_eq!(
            account.token_store.to_string(),
            "keyring:mailoauth/scanner@contoso.com"
        );
        let dir = std::env::temp_dir().join(format!("mailoauth-setup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("mailoauth.toml");
        let preview = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
        assert!(!preview.saved && !path.exists(), "a preview writes nothing");
        assert_eq!(preview.base, "none", "made from no file");
        let write = SaveMode::Write {
            base: Some(preview.base.clone()),
        };
        let saved = save_account(&path, account.clone(), write).unwrap();
        assert!(saved.saved && saved.text == preview.text);
        let back = crate::config::load(&path).unwrap();
        assert_eq!(back.config.account("scanner"), Some(&account));
        // Edited by hand since it was read: the next save shows the difference instead.
        let edited = std::fs::read_to_string(&path).unwrap() + "\n# edited by hand\n";
        let mut doc = crate::config::load(&path).unwrap();
        std::fs::write(&path, edited).unwrap();
        doc.set_account(account);
        assert!(matches!(
            doc.save().unwrap(),
            crate::config::SaveOutcome::ChangedOnDisk { .. }
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_changed_between_the_preview_and_the_save_is_not_overwritten() {
        let setup = plan(&draft("microsoft", Purpose::Both), None).unwrap();
        let account = config_account("scanner", &setup, None).unwrap();
        let dir = std::env::temp_dir().join(format!("mailoauth-setup-base-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("mailoauth.toml");
        let write = |base: &str| SaveMode::Write {
            base: Some(base.to_string()),
        };

        // No file at the preview; one appears before Save (another admin, another wizard).
        let preview = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, "version = 1\n# written by hand\n").unwrap();
        let refused = save_account(&path, account.clone(), write(&preview.base)).unwrap();
        assert!(!refused.saved, "not written over a file that appeared");
        let diff = refused.changed_on_disk.expect("the difference is shown");
        assert!(diff.contains("-# written by hand"), "{diff}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "version = 1\n# written by hand\n",
            "the hand edit is intact"
        );

        // A new preview is made from the file as it is now, and then Save goes through.
        let again = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
        assert_ne!(again.base, preview.base);
        let saved = save_account(&path, account.clone(), write(&again.base)).unwrap();
        assert!(saved.saved, "{:?}", saved.changed_on_disk);

        // Edited after that preview: refused again; an unknown base never matches; Overwrite
        // writes after the admin saw the difference.
        let preview = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
        let edited = std::fs::read_to_string(&path).unwrap() + "# later\n";
        std::fs::write(&path, &edited).unwrap();
        assert!(
            !save_account(&path, account.clone(), write(&preview.base))
                .unwrap()
                .saved
        );
        assert!(
            !save_account(&path, account.clone(), write("zz"))
                .unwrap()
                .saved
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
        let forced = save_account(&path, account.clone(), SaveMode::Overwrite).unwrap();
        assert!(forced.saved && !std::fs::read_to_string(&path).unwrap().contains("# later"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn empty_fields_and_a_missing_sandbox_are_named() {
        let mut d = draft("google", Purpose::Receive);
        d.client_id = "  ".into();
        assert!(plan(&d, None)
            .unwrap_err()
            .to_string()
            .starts_with("Client ID is empty"));
        d.mailbox = String::new();
        assert!(plan(&d, None)
            .unwrap_err()
            .to_string()
            .starts_with("Mailbox address is empty"));
        let err = plan(&draft(SANDBOX_PROVIDER, Purpose::Both), None).unwrap_err();
        assert!(matches!(err, SetupError::NoSandbox));
        assert!(plan(&draft("yahoo", Purpose::Both), None).is_err());
    }
}

/// The config file's account for a planned setup. `ca_file` is the extra CA the mail servers
/// need (the sandbox's test CA), if any.
pub fn config_account(
    name: &str,
    setup: &AccountSetup,
    ca_file: Option<&std::path::Path>,
) -> Result<crate::config::Account, SetupError> {
    use crate::config::{Account, AuthSettings, EndpointSettings, MailServer, SecretRef, TlsTrust};
    let auth = &setup.auth;
    let server = |e: &Option<Endpoint>| {
        e.as_ref().map(|e| MailServer {
            host: e.host.clone(),
            port: e.port,
            security: e.security,
            sasl: crate::provider::SaslMechanism::Xoauth2,
        })
    };
    let token_store = match setup.store.strip_prefix("file:") {
        Some(dir) => SecretRef::File(dir.into()),
        None => SecretRef::Keyring {
            service: String::from("mailoauth"),
            entry: crate::oauth::store_key(auth),
        },
    };
    let e = &auth.endpoints;
    let overridden = [
        &e.authority,
        &e.authorization,
        &e.token,
        &e.device_authorization,
        &e.revocation,
        &e.userinfo,
        &e.issuer,
    ]
    .iter()
    .any(|v| v.is_some());
    Ok(Account {
        name: name.trim().to_string(),
        purpose: auth.purpose,
        mailbox: auth.mailbox.clone(),
        smtp: server(&setup.check.smtp),
        imap: server(&setup.check.imap),
        token_store,
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
            client_secret: auth.client_secret.as_ref().map(|s| match s {
                crate::oauth::SecretSource::Env(n) => SecretRef::Env(n.clone()),
                crate::oauth::SecretSource::File(p) => SecretRef::File(p.clone()),
                crate::oauth::SecretSource::Keyring { service, entry } => SecretRef::Keyring {
                    service: service.clone(),
                    entry: entry.clone(),
                },
            }),
            key_id: None,
            certificate: None,
            client_secret_expires: None,
            flow: auth.flow,
            scopes: auth.scopes.clone(),
            endpoints: overridden.then(|| EndpointSettings {
                authority: e.authority.clone(),
                authorization: e.authorization.clone(),
                token: e.token.clone(),
                device_authorization: e.device_authorization.clone(),
                revocation: e.revocation.clone(),
                userinfo: e.userinfo.clone(),
                issuer: e.issuer.clone(),
            }),
            redirect_port: auth.redirect_port,
        },
    })
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

/// The mail login test of the saved account `name`, with a fresh token from its store (refreshed
/// when needed, and the outcome recorded in the status file as the service's would be).
pub async fn saved_account_check(
    doc: &crate::config::ConfigDocument,
    name: &str,
    warn: &(dyn Fn(&str) + Send + Sync),
) -> Result<(CheckRequest, crate::secret::Secret<String>), SetupError> {
    let req = check_request(doc.account(name)?)?;
    let token = crate::status::access_token(doc, name, crate::oauth::unix_now(), warn).await?;
    Ok((req, token))
}

/// The mail login test of a saved account (its servers and TLS trust), without the token.
pub fn check_request(account: &crate::config::Account) -> Result<CheckRequest, SetupError> {
    let server = |m: &Option<crate::config::MailServer>| {
        m.as_ref().map(|m| Endpoint {
            host: m.host.clone(),
            port: m.port,
            security: m.security,
        })
    };
    let tls = account.tls.clone().unwrap_or_default();
    let extra_ca_pem = match &tls.ca_file {
        Some(f) => Some(std::fs::read_to_string(f).map_err(|e| SetupError::CaFile {
            path: f.display().to_string(),
            detail: e.to_string(),
        })?),
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
