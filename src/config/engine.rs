//! From a config account to what the OAuth engine and the token store need.
//!
//! The config file is the admin's view (`docs/CONFIG.md`); [`crate::oauth::AccountAuth`] is the
//! engine's. The mapping lives here so the engine never parses files and the file format can
//! grow without touching the engine.

use super::{Account, ConfigError, SecretRef};
use crate::oauth::{AccountAuth, SecretSource};
use crate::store::{self, TokenStore};
use std::path::Path;

fn invalid(path: &Path, account: &Account, key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        account: account.name.clone(),
        key: key.to_string(),
        message,
    }
}

impl Account {
    /// The engine's settings for this account; `path` is the config file, named in errors.
    pub fn oauth_settings(&self, _path: &Path) -> Result<AccountAuth, ConfigError> {
        let client_secret = match &self.auth.client_secret {
            None => None,
            Some(SecretRef::File(p)) => Some(SecretSource::File(p.clone())),
            Some(SecretRef::Service) => {
                return Err(invalid(
                    _path,
                    self,
                    "auth.client_secret",
                    "`service` holds tokens only; give the client secret as `file:`, `env:` or `keyring:`".into(),
                ))
            }
            Some(SecretRef::Env(n)) => Some(SecretSource::Env(n.clone())),
            Some(SecretRef::Keyring { service, entry }) => Some(SecretSource::Keyring {
                service: service.clone(),
                entry: entry.clone(),
            }),
        };
        Ok(AccountAuth {
            provider: self.auth.provider.clone(),
            cloud: self.auth.cloud,
            tenant: self.auth.tenant.clone(),
            client_id: self.auth.client_id.clone(),
            client_auth: self.auth.client_auth,
            client_secret,
            key_id: self.auth.key_id.clone(),
            certificate: self.auth.certificate.clone(),
            flow: self.auth.flow,
            purpose: self.purpose,
            scopes: self.auth.scopes.clone(),
            endpoints: self
                .auth
                .endpoints
                .as_ref()
                .map(Into::into)
                .unwrap_or_default(),
            mailbox: self.mailbox.clone(),
            redirect_port: self.auth.redirect_port,
        })
    }

    /// Opens the store that holds this account's tokens.
    pub fn token_store(&self, path: &Path) -> Result<Box<dyn TokenStore>, ConfigError> {
        let spec = match &self.token_store {
            SecretRef::File(dir) => format!("file:{}", dir.display()),
            SecretRef::Keyring { service, entry }
                if service == store::keyring::SERVICE
                    && entry.eq_ignore_ascii_case(self.mailbox.trim()) =>
            {
                String::from("keyring")
            }
            SecretRef::Keyring { .. } => {
                return Err(invalid(
                    path,
                    self,
                    "token_store",
                    format!(
                        "mailoauth files tokens in the keyring as `keyring:{}/<mailbox>`; write `keyring:{}/{}`",
                        store::keyring::SERVICE,
                        store::keyring::SERVICE,
                        self.mailbox.trim()
                    ),
                ))
            }
            SecretRef::Service => {
                return Err(invalid(
                    path,
                    self,
                    "token_store",
                    "the mailoauth service holds this account's tokens: ask it (`mailoauth token`), it is their only writer".into(),
                ))
            }
            SecretRef::Env(_) => {
                return Err(invalid(
                    path,
                    self,
                    "token_store",
                    "tokens change at every refresh and cannot live in an environment variable; use `file:<folder>` or the keyring".into(),
                ))
            }
        };
        store::open(&spec).map_err(|e| invalid(path, self, "token_store", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::SAMPLE;

    fn account(name: &str) -> Account {
        crate::config::parse(Path::new("m.toml"), SAMPLE)
            .unwrap()
            .account(name)
            .unwrap()
            .clone()
    }

    #[test]
    fn settings_carry_every_value_the_engine_reads() {
        let a = account("alerts");
        let auth = a.oauth_settings(Path::new("m.toml")).unwrap();
        // alerts keeps its client secret in the keyring: the engine reads it from there.
        assert_eq!(
            auth.client_secret,
            Some(SecretSource::Keyring {
                service: "mailoauth".into(),
                entry: "alerts-client".into()
            })
        );
        let s = account("scanner")
            .oauth_settings(Path::new("m.toml"))
            .unwrap();
        assert_eq!(s.mailbox, "scanner@contoso.com");
        assert_eq!(s.purpose, crate::provider::Purpose::Both);
        assert_eq!(s.tenant.as_deref(), Some("contoso.com"));
        assert_eq!(
            s.client_secret,
            Some(SecretSource::File("/etc/mailoauth/scanner.secret".into()))
        );
        assert_eq!(s.scopes.len(), 3);
        let mut g = account("alerts");
        g.auth.client_secret = Some(SecretRef::Env("GSECRET".into()));
        let gs = g.oauth_settings(Path::new("m.toml")).unwrap();
        assert_eq!(
            gs.endpoints.token.as_deref(),
            Some("http://127.0.0.1:9090/token")
        );
    }

    #[test]
    fn token_store_references_map_to_the_engines_stores() {
        let mut a = account("alerts");
        assert!(a.token_store(Path::new("m.toml")).is_ok());
        a.token_store = SecretRef::Keyring {
            service: "other".into(),
            entry: "x".into(),
        };
        let err = a.token_store(Path::new("m.toml")).err().unwrap();
        assert!(
            err.to_string()
                .contains("keyring:mailoauth/alerts@example.com"),
            "{err}"
        );
        a.token_store = SecretRef::Env("T".into());
        assert!(a.token_store(Path::new("m.toml")).is_err());
    }
}
