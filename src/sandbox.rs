//! The sandbox: the local test servers of `tests/peers/` (an OpenID provider, Dovecot IMAP and
//! submission) offered as a "Local test server" provider, so the whole journey can be tried on one
//! machine without a cloud account. `scripts/run.sh --sandbox` starts the servers and hands their
//! `peers.env` to the app in `MAILOAUTH_SANDBOX`.

use crate::error::{Coded, ErrorCode};
use crate::oauth::AccountAuth;
use crate::probe::{CheckRequest, Endpoint};
use crate::provider::{ClientAuth, EndpointOverrides, Flow, Purpose, Security};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// The environment variable naming the sandbox's `peers.env`.
pub const ENV_VAR: &str = "MAILOAUTH_SANDBOX";

/// The local test servers, as the wizard offers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Sandbox {
    /// The local provider's issuer URL (`http://127.0.0.1:<port>`).
    pub issuer: String,
    /// The public client registered at the local provider.
    pub client_id: String,
    /// The test mailboxes that can sign in, with their passwords (test data, not secrets).
    pub users: Vec<SandboxUser>,
    /// IMAP with implicit TLS.
    pub imap: Endpoint,
    /// SMTP submission with STARTTLS.
    pub smtp: Endpoint,
    /// The test CA that signed the mail servers' certificate (PEM).
    pub ca_pem: String,
    /// The same CA as a file, for the config's `[account.tls] ca_file`.
    pub ca_file: PathBuf,
    /// Where the sandbox keeps tokens and config (inside the test servers' run folder).
    pub dir: PathBuf,
}

/// A test mailbox of the local provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SandboxUser {
    /// The mailbox address.
    pub mailbox: String,
    /// Its password at the local provider's sign-in page.
    pub password: String,
}

/// Why the sandbox could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The file named by `MAILOAUTH_SANDBOX` cannot be read.
    #[error("the sandbox file {path} cannot be read ({detail}): start the app with scripts/run.sh --sandbox")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// A key is missing or not a number where one is needed.
    #[error("the sandbox file {path} has no valid {key}: restart the test servers (scripts/run.sh --sandbox)")]
    BadKey {
        /// The file.
        path: String,
        /// The key.
        key: &'static str,
    },
}

impl Coded for SandboxError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

impl Sandbox {
    /// The sandbox named by `MAILOAUTH_SANDBOX`, if the app was started with one.
    pub fn from_env() -> Option<Result<Sandbox, SandboxError>> {
        std::env::var_os(ENV_VAR).map(|p| Sandbox::load(Path::new(&p)))
    }

    /// Reads a `peers.env` written by `tests/peers/start.sh`.
    pub fn load(path: &Path) -> Result<Sandbox, SandboxError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SandboxError::Unreadable {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |key: &'static str| {
            vars.get(key)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string())
                .ok_or(SandboxError::BadKey {
                    path: shown.clone(),
                    key,
                })
        };
        let port = |key: &'static str| {
            get(key)?.parse::<u16>().map_err(|_| SandboxError::BadKey {
                path: shown.clone(),
                key,
            })
        };
        let ca_file = get("CA_FILE")?;
        let ca_pem = std::fs::read_to_string(&ca_file).map_err(|e| SandboxError::Unreadable {
            path: ca_file.clone(),
            detail: e.to_string(),
        })?;
        Ok(Sandbox {
            issuer: get("OP_ISSUER")?,
            client_id: String::from("mailapp-public"),
            users: [
                ("alice@example.test", "alice-pw"),
                ("bob@example.test", "bob-pw"),
            ]
            .into_iter()
            .map(|(m, p)| SandboxUser {
                mailbox: m.into(),
                password: p.into(),
            })
            .collect(),
            imap: Endpoint {
                host: "localhost".into(),
                port: port("IMAPS_PORT")?,
                security: Security::Tls,
            },
            smtp: Endpoint {
                host: "localhost".into(),
                port: port("SUBMISSION_PORT")?,
                security: Security::StartTls,
            },
            ca_pem,
            ca_file: PathBuf::from(&ca_file),
            dir: PathBuf::from(get("PEERS_DIR")?),
        })
    }

    /// What the OAuth engine needs to sign `mailbox` in at the local provider.
    pub fn account_auth(&self, mailbox: &str, flow: Flow, purpose: Purpose) -> AccountAuth {
        let at = |path: &str| Some(format!("{}{path}", self.issuer));
        AccountAuth {
            provider: String::from(crate::provider::SANDBOX_PROFILE),
            cloud: Default::default(),
            tenant: None,
            client_id: self.client_id.clone(),
            client_auth: ClientAuth::None,
            client_secret: None,
            key_id: None,
            certificate: None,
            flow,
            purpose,
            scopes: ["openid", "email", "offline_access", "mail"]
                .map(String::from)
                .to_vec(),
            endpoints: EndpointOverrides {
                authorization: at("/auth"),
                token: at("/token"),
                device_authorization: at("/device/auth"),
                revocation: at("/token/revocation"),
                issuer: Some(self.issuer.clone()),
                ..Default::default()
            },
            mailbox: mailbox.to_string(),
            redirect_port: None,
        }
    }

    /// The local provider's confidential client (Google-style: the client secret is sent with
    /// `client_secret_post`), and its secret, for trying the client-secret path offline.
    pub const CONFIDENTIAL_CLIENT: (&'static str, &'static str) =
        ("mailapp-secret", "mailapp-secret-value");

    /// The token store the sandbox uses (`file:` inside its run folder).
    pub fn token_store(&self) -> crate::config::StoreSpec {
        crate::config::StoreSpec::File(self.dir.join("mailoauth-tokens"))
    }

    /// Where the sandbox's config file goes (never beside real accounts).
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("mailoauth.toml")
    }

    /// The mail login test of `mailbox` against the local servers.
    pub fn check_request(&self, mailbox: &str, purpose: Purpose) -> CheckRequest {
        CheckRequest {
            mailbox: mailbox.to_string(),
            smtp: matches!(purpose, Purpose::Send | Purpose::Both).then(|| self.smtp.clone()),
            imap: matches!(purpose, Purpose::Receive | Purpose::Both).then(|| self.imap.clone()),
            mechanism: Default::default(),
            tls: crate::probe::TlsTrust {
                extra_ca_pem: Some(self.ca_pem.clone()),
                pinned_sha256: None,
            },
            send_test_to: None,
            source_address: None,
            timeouts: Default::default(),
        }
    }
}

/// The flows the local test provider is set up for (its clients allow no other).
pub const FLOWS: [Flow; 2] = [Flow::Loopback, Flow::DeviceCode];

/// The wizard's entry for the local test server, offered after the catalog in sandbox mode. Its
/// id is [`crate::provider::SANDBOX_PROVIDER`]; the profile behind it is the generic one.
pub fn provider_summary() -> crate::provider::ProviderSummary {
    crate::provider::ProviderSummary {
        id: String::from(crate::provider::SANDBOX_PROVIDER),
        name: String::from("Local test server (sandbox)"),
        summary: String::from(
            "The test provider and mail servers on this computer: try the whole journey without a cloud account.",
        ),
    }
}

/// What the wizard shows of the local test provider: the generic profile in one cloud, with
/// only the flows the test provider is set up for ([`FLOWS`]).
pub fn profile_view(
    cloud: crate::provider::Cloud,
) -> Result<crate::provider::ProfileView, crate::provider::ProfileError> {
    let mut view =
        crate::provider::require_profile(crate::provider::SANDBOX_PROFILE)?.view(cloud)?;
    view.clouds = vec![crate::provider::Cloud::Worldwide];
    view.flows.retain(|f| FLOWS.contains(&f.flow));
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_peers_env_and_builds_the_local_account() {
        let dir = std::env::temp_dir().join(format!("mailoauth-sandbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        let env = format!(
            "PEERS_DIR={d}\nOP_ISSUER=http://127.0.0.1:4000\nIMAPS_PORT=4993\nSUBMISSION_PORT=4587\nCA_FILE={d}/ca.crt\n",
            d = dir.display()
        );
        std::fs::write(dir.join("peers.env"), env).unwrap();
        let s = Sandbox::load(&dir.join("peers.env")).unwrap();
        assert_eq!(s.imap.port, 4993);
        assert_eq!(s.smtp.security, Security::StartTls);
        let a = s.account_auth("alice@example.test", Flow::DeviceCode, Purpose::Both);
        assert_eq!(
            a.endpoints.device_authorization.as_deref(),
            Some("http://127.0.0.1:4000/device/auth")
        );
        let req = s.check_request("alice@example.test", Purpose::Receive);
        assert!(req.smtp.is_none() && req.imap.is_some());
        assert!(s.token_store().to_string().starts_with("file:"));

        std::fs::write(
            dir.join("bad.env"),
            "OP_ISSUER=http://127.0.0.1:4000\nIMAPS_PORT=x\n",
        )
        .unwrap();
        let err = Sandbox::load(&dir.join("bad.env")).unwrap_err().to_string();
        assert!(
            err.contains("CA_FILE") || err.contains("IMAPS_PORT"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_wizard_offers_the_sandbox_as_the_generic_profile_with_its_two_flows() {
        assert_eq!(provider_summary().id, crate::provider::SANDBOX_PROVIDER);
        assert_eq!(
            crate::provider::profile_id(&provider_summary().id),
            crate::provider::SANDBOX_PROFILE
        );
        let view = profile_view(crate::provider::Cloud::Worldwide).expect("view");
        assert_eq!(view.id, crate::provider::SANDBOX_PROFILE);
        assert_eq!(view.clouds, vec![crate::provider::Cloud::Worldwide]);
        let flows: Vec<Flow> = view.flows.iter().map(|f| f.flow).collect();
        assert_eq!(flows, FLOWS.to_vec());
    }
}
