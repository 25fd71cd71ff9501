//! OpenID Connect discovery for the generic provider: where the document lives, and what it says,
//! turned into [`EndpointOverrides`]. Fetching it is the OAuth engine's job; this module never
//! touches the network, so it is tested against real-shaped documents.

use super::endpoints::EndpointOverrides;
use super::net;
use super::types::{ClientAuth, Flow};
use crate::error::{Coded, ErrorCode};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why a discovery document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The issuer is not an https URL (or http to this machine).
    #[error("issuer {issuer:?} is not usable: enter the issuer as an absolute https:// URL (http:// only for 127.0.0.1, ::1 or localhost), without /.well-known/...")]
    BadIssuer {
        /// The issuer as given.
        issuer: String,
    },
    /// The document is not the JSON object OpenID Connect Discovery defines.
    #[error("the discovery document is not valid JSON for OpenID Connect discovery ({reason}): check that the issuer URL is right")]
    NotJson {
        /// What the parser said.
        reason: String,
    },
    /// The document names another issuer: OpenID Connect Discovery 1.0 section 4.3.
    #[error("the discovery document names issuer {found:?}, not {expected:?}: enter the issuer exactly as the provider publishes it")]
    IssuerMismatch {
        /// The issuer mailoauth asked.
        expected: String,
        /// The issuer in the document.
        found: String,
    },
}

impl Coded for DiscoveryError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

/// The parts of an OpenID Connect discovery document mailoauth uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Discovered {
    /// The issuer.
    pub issuer: String,
    /// The authorization endpoint.
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    pub token_endpoint: Option<String>,
    /// The device authorization endpoint (RFC 8628), if offered.
    pub device_authorization_endpoint: Option<String>,
    /// The revocation endpoint (RFC 7009), if offered.
    pub revocation_endpoint: Option<String>,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Option<String>,
    /// The scopes the provider lists.
    pub scopes_supported: Vec<String>,
    /// The grant types the provider lists.
    pub grant_types_supported: Vec<String>,
    /// The client authentication methods of the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

#[derive(Deserialize)]
struct RawDocument {
    issuer: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    #[serde(default)]
    grant_types_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// The discovery document's URL for `issuer` (OpenID Connect Discovery 1.0 section 4).
pub fn discovery_url(issuer: &str) -> Result<String, DiscoveryError> {
    let issuer = issuer.trim();
    let bad = || DiscoveryError::BadIssuer {
        issuer: issuer.to_string(),
    };
    let url = net::check_endpoint_url(issuer).map_err(|_| bad())?;
    if url.query().is_some() || url.path().contains("/.well-known/") {
        return Err(bad());
    }
    Ok(format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
}

/// Parses a discovery document fetched for `expected_issuer`.
pub fn parse_discovery(json: &str, expected_issuer: &str) -> Result<Discovered, DiscoveryError> {
    let raw: RawDocument =
        serde_json::from_str(json.trim_start_matches('\u{feff}')).map_err(|e| {
            DiscoveryError::NotJson {
                reason: e.to_string(),
            }
        })?;
    let expected = expected_issuer.trim();
    if raw.issuer.trim_end_matches('/') != expected.trim_end_matches('/') {
        return Err(DiscoveryError::IssuerMismatch {
            expected: expected.to_string(),
            found: raw.issuer,
        });
    }
    Ok(Discovered {
        issuer: raw.issuer,
        authorization_endpoint: raw.authorization_endpoint,
        token_endpoint: raw.token_endpoint,
        device_authorization_endpoint: raw.device_authorization_endpoint,
        revocation_endpoint: raw.revocation_endpoint,
        userinfo_endpoint: raw.userinfo_endpoint,
        scopes_supported: raw.scopes_supported,
        // The defaults when absent come from the Discovery spec and RFC 8414.
        grant_types_supported: raw
            .grant_types_supported
            .unwrap_or_else(|| vec!["authorization_code".into(), "implicit".into()]),
        token_endpoint_auth_methods_supported: raw
            .token_endpoint_auth_methods_supported
            .unwrap_or_else(|| vec!["client_secret_basic".into()]),
    })
}

impl Discovered {
    /// The endpoints as overrides for the generic profile.
    pub fn overrides(&self) -> EndpointOverrides {
        EndpointOverrides {
            authority: None,
            authorization: self.authorization_endpoint.clone(),
            token: self.token_endpoint.clone(),
            device_authorization: self.device_authorization_endpoint.clone(),
            revocation: self.revocation_endpoint.clone(),
            userinfo: self.userinfo_endpoint.clone(),
            issuer: Some(self.issuer.clone()),
        }
    }

    /// The client authentication methods the token endpoint accepts, as mailoauth names them.
    pub fn client_auth(&self) -> Vec<ClientAuth> {
        self.token_endpoint_auth_methods_supported
            .iter()
            .filter_map(|m| m.parse::<ClientAuth>().ok())
            .collect()
    }

    /// True when the document lists what `flow` needs.
    pub fn supports(&self, flow: Flow) -> bool {
        let grant = |g: &str| self.grant_types_supported.iter().any(|x| x == g);
        match flow {
            Flow::Loopback => grant("authorization_code") && self.authorization_endpoint.is_some(),
            Flow::DeviceCode => {
                grant("urn:ietf:params:oauth:grant-type:device_code")
                    && self.device_authorization_endpoint.is_some()
            }
            Flow::ClientCredentials => grant("client_credentials"),
            Flow::Password => grant("password"),
            Flow::ServiceAccount => false,
        }
    }

    /// True when the provider says it can issue refresh tokens for offline use.
    pub fn offers_refresh(&self) -> bool {
        self.grant_types_supported
            .iter()
            .any(|g| g == "refresh_token")
    }
}

#[cfg(test)]
mod tests {
    use super::super::{profile, Cloud, EndpointContext};
    use super::*;

    // Shaped like the document the local test peer (npm oidc-provider) serves.
    const LOCAL_PEER: &str = r#"{
      "authorization_endpoint": "http://127.0.0.1:9090/auth",
      "device_authorization_endpoint": "http://127.0.0.1:9090/device/auth",
      "claims_parameter_supported": false,
      "claims_supported": ["sub", "email", "email_verified", "sid", "auth_time", "iss"],
      "code_challenge_methods_supported": ["S256"],
      "end_session_endpoint": "http://127.0.0.1:9090/session/end",
      "grant_types_supported": ["implicit", "authorization_code", "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code", "client_credentials"],
      "issuer": "http://127.0.0.1:9090",
      "jwks_uri": "http://127.0.0.1:9090/jwks",
      "response_types_supported": ["code"],
      "scopes_supported": ["openid", "offline_access", "email", "mail"],
      "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_jwt",
        "client_secret_post", "private_key_jwt", "none"],
      "token_endpoint": "http://127.0.0.1:9090/token",
      "revocation_endpoint": "http://127.0.0.1:9090/token/revocation",
      "userinfo_endpoint": "http://127.0.0.1:9090/me"
    }"#;

    #[test]
    fn discovery_url_appends_the_well_known_path() {
        assert_eq!(
            discovery_url("https://accounts.google.com").unwrap(),
            "https://accounts.google.com/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://login.microsoftonline.com/contoso.com/v2.0/").unwrap(),
            "https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("http://127.0.0.1:9090").unwrap(),
            "http://127.0.0.1:9090/.well-known/openid-configuration"
        );
        assert!(discovery_url("http://idp.example.com").is_err());
        assert!(discovery_url("https://idp.example.com/.well-known/openid-configuration").is_err());
    }

    #[test]
    fn local_peer_document_drives_the_generic_profile() {
        let d = parse_discovery(LOCAL_PEER, "http://127.0.0.1:9090/").unwrap();
        assert!(d.supports(Flow::Loopback));
        assert!(d.supports(Flow::DeviceCode));
        assert!(d.supports(Flow::ClientCredentials));
        assert!(!d.supports(Flow::Password));
        assert!(d.offers_refresh());
        assert_eq!(
            d.client_auth(),
            [
                ClientAuth::ClientSecretBasic,
                ClientAuth::ClientSecretPost,
                ClientAuth::PrivateKeyJwt,
                ClientAuth::None
            ]
        );
        let ctx = EndpointContext {
            cloud: Cloud::Worldwide,
            tenant: None,
            flow: Some(Flow::DeviceCode),
            overrides: d.overrides(),
        };
        let e = profile("generic").unwrap().endpoints(&ctx).unwrap();
        assert_eq!(e.token, "http://127.0.0.1:9090/token");
        assert_eq!(
            e.device_authorization.as_deref(),
            Some("http://127.0.0.1:9090/device/auth")
        );
        assert_eq!(e.userinfo.as_deref(), Some("http://127.0.0.1:9090/me"));
    }

    #[test]
    fn wrong_issuer_and_garbage_are_refused() {
        assert!(matches!(
            parse_discovery(LOCAL_PEER, "https://evil.example"),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
        let err = parse_discovery("<html>", "https://x.example").unwrap_err();
        assert!(matches!(err, DiscoveryError::NotJson { .. }));
        let minimal = r#"{"issuer":"https://x.example","token_endpoint":"https://x.example/t"}"#;
        let d = parse_discovery(minimal, "https://x.example").unwrap();
        assert_eq!(d.client_auth(), [ClientAuth::ClientSecretBasic]);
        assert!(!d.supports(Flow::ClientCredentials));
    }
}
