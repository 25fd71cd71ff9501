//! The `oauth2` client for an [`AccountAuth`]: endpoints from the profile, client authentication,
//! an HTTP client that never follows redirects, and provider errors turned into [`OAuthError`].

use super::error::{Endpoint, OAuthError, ProviderReply};
use super::{jwt, AccountAuth};
use crate::provider::{self, ClientAuth, EndpointContext, Endpoints, Flow, Profile};
use crate::secret::Secret;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl,
    EndpointMaybeSet, EndpointNotSet, ExtraTokenFields, HttpClientError, HttpRequest, HttpResponse,
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, RwLock};

/// The `id_token` next to the OAuth fields of a token response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdTokenField {
    /// The OpenID Connect id_token (a JWT), when `openid` was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

/// A token response with its id_token.
pub type TokenResp = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// The oauth2 client type every flow uses: each endpoint may or may not be configured.
pub type OClient = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
>;

/// reqwest without redirects (a redirect from a token endpoint is never legitimate and could
/// leak the code), remembering the status of the last failed reply for the error.
pub struct Http {
    client: oauth2::reqwest::Client,
    last_status: Mutex<Option<u16>>,
}

pub use crate::provider::net::{http_timeout, HTTP_TIMEOUT_SECS};

/// The proxy of every provider request of this process, set by [`set_proxy`].
static PROXY: RwLock<Option<String>> = RwLock::new(None);

fn proxy_err(_: oauth2::reqwest::Error) -> OAuthError {
    // The URL may carry a password: never quote it.
    OAuthError::Config {
        field: "proxy",
        problem: String::from(
            "is not a valid proxy URL: give http://host:port or https://host:port (user:password@ allowed)",
        ),
    }
}

/// Sends every later provider request of this process through `url` (the service's
/// `[service] proxy`: a service does not inherit an admin's `HTTPS_PROXY` or Windows proxy
/// settings); `None` restores reqwest's default (the `HTTPS_PROXY`/`NO_PROXY` environment).
/// A process-wide setting, because the service has one proxy for all its accounts and the
/// flows build their client deep inside.
pub fn set_proxy(url: Option<&str>) -> Result<(), OAuthError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = url {
        oauth2::reqwest::Proxy::all(u).map_err(proxy_err)?;
    }
    if let Ok(mut p) = PROXY.write() {
        *p = url.map(str::to_string);
    }
    Ok(())
}

impl Http {
    /// A client with [`http_timeout`] per request and the proxy of [`set_proxy`]; certificates
    /// are always verified.
    pub fn new() -> Result<Self, OAuthError> {
        let proxy = PROXY.read().ok().and_then(|p| p.clone());
        Self::with_proxy(proxy.as_deref())
    }

    /// A client like [`Http::new`] that goes through `proxy` (all schemes), or reqwest's
    /// default when `None`.
    pub fn with_proxy(proxy: Option<&str>) -> Result<Self, OAuthError> {
        let mut builder = oauth2::reqwest::ClientBuilder::new()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .timeout(http_timeout());
        if let Some(url) = proxy {
            builder = builder.proxy(oauth2::reqwest::Proxy::all(url).map_err(proxy_err)?);
        }
        let client = builder.build().map_err(|e| OAuthError::Config {
            field: "http client",
            problem: e.to_string(),
        })?;
        Ok(Self {
            client,
            last_status: Mutex::new(None),
        })
    }

    /// The status of the last non-2xx reply.
    pub fn last_status(&self) -> Option<u16> {
        self.last_status.lock().ok().and_then(|s| *s)
    }

    /// Plain access to reqwest, for the one grant the crate lacks (JWT bearer).
    pub fn reqwest(&self) -> &oauth2::reqwest::Client {
        &self.client
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpClientError<oauth2::reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let resp = self.client.call(request).await?;
            if !resp.status().is_success() {
                if let Ok(mut s) = self.last_status.lock() {
                    *s = Some(resp.status().as_u16());
                }
            }
            Ok(resp)
        })
    }
}

/// The profile, the endpoints and the oauth2 client of an account.
pub struct Prepared {
    /// The provider profile.
    pub profile: &'static Profile,
    /// The resolved endpoints.
    pub endpoints: Endpoints,
    /// The oauth2 client with client authentication configured.
    pub client: OClient,
    /// Extra token-request parameters (the client assertion of private_key_jwt).
    pub assertion: Option<Secret<String>>,
}

fn url_err(field: &'static str, e: impl std::fmt::Display) -> OAuthError {
    OAuthError::Config {
        field,
        problem: format!("not a valid URL: {e}"),
    }
}

/// Resolves endpoints and builds the client for `auth` running `flow`.
pub fn prepare(auth: &AccountAuth, flow: Flow) -> Result<Prepared, OAuthError> {
    let profile = provider::require_profile(&auth.provider)?;
    let endpoints = profile.endpoints(&EndpointContext {
        cloud: auth.cloud,
        tenant: auth.tenant.clone(),
        flow: Some(flow),
        overrides: auth.endpoints.clone(),
    })?;
    if auth.client_id.trim().is_empty() {
        return Err(OAuthError::Config {
            field: "client id",
            problem: String::from("is empty: copy the client ID from the provider's console"),
        });
    }
    let auth_url = endpoints
        .authorization
        .as_deref()
        .map(|u| AuthUrl::new(u.to_string()).map_err(|e| url_err("authorization endpoint", e)))
        .transpose()?;
    let device_url = endpoints
        .device_authorization
        .as_deref()
        .map(|u| {
            DeviceAuthorizationUrl::new(u.to_string())
                .map_err(|e| url_err("device authorization endpoint", e))
        })
        .transpose()?;
    let token_url =
        TokenUrl::new(endpoints.token.clone()).map_err(|e| url_err("token endpoint", e))?;
    let mut client = oauth2::Client::new(ClientId::new(auth.client_id.trim().to_string()))
        .set_auth_uri_option(auth_url)
        .set_device_authorization_url_option(device_url)
        .set_token_uri_option(Some(token_url));
    let mut assertion = None;
    // A service account signs its own grant; the key file is not a client credential.
    let client_auth = if flow == Flow::ServiceAccount {
        ClientAuth::None
    } else {
        auth.client_auth
    };
    match client_auth {
        ClientAuth::None => client = client.set_auth_type(AuthType::RequestBody),
        ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => {
            let source = auth.client_secret.as_ref().ok_or(OAuthError::Config {
                field: "client secret",
                problem: String::from("is needed for this client authentication: give --client-secret-env or --client-secret-file"),
            })?;
            let secret = source
                .read()
                .map_err(|e| super::secret_unreadable("client secret", e))?;
            client = client.set_client_secret(ClientSecret::new(secret.expose().clone()));
            client = client.set_auth_type(if client_auth == ClientAuth::ClientSecretBasic {
                AuthType::BasicAuth
            } else {
                AuthType::RequestBody
            });
        }
        ClientAuth::PrivateKeyJwt => {
            client = client.set_auth_type(AuthType::RequestBody);
            // The server checks iat/exp against its clock: sign with the real one, never a test's.
            assertion = Some(jwt::client_assertion(auth, &endpoints, super::unix_now())?);
        }
    }
    Ok(Prepared {
        profile,
        endpoints,
        client,
        assertion,
    })
}

/// The form fields of a private_key_jwt client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn config_err(e: oauth2::ConfigurationError) -> OAuthError {
    OAuthError::Config {
        field: "endpoints",
        problem: format!("{e}: the provider profile has no such endpoint for this flow; give it with an endpoint override"),
    }
}

/// Turns a configuration error of the crate into ours.
pub fn configured<T>(r: Result<T, oauth2::ConfigurationError>) -> Result<T, OAuthError> {
    r.map_err(config_err)
}

/// Turns a failed token request into an [`OAuthError`], keeping the provider's code.
pub fn request_error<RE, TE>(
    e: RequestTokenError<RE, TE>,
    endpoint: Endpoint,
    http: &Http,
) -> OAuthError
where
    RE: std::error::Error + 'static,
    TE: oauth2::ErrorResponse + Serialize,
{
    match e {
        RequestTokenError::ServerResponse(resp) => {
            let v = serde_json::to_value(&resp).unwrap_or_default();
            let error = v["error"].as_str().unwrap_or("unknown_error").to_string();
            let description = v["error_description"].as_str();
            OAuthError::Provider(Box::new(ProviderReply::new(
                endpoint,
                &error,
                description,
                http.last_status(),
            )))
        }
        RequestTokenError::Request(re) => OAuthError::Unreachable {
            endpoint,
            detail: crate::diagnosis::scrub(&error_chain(&re)),
        },
        RequestTokenError::Parse(pe, body) => OAuthError::UnexpectedReply {
            endpoint,
            status: http.last_status().unwrap_or(200),
            body: format!(
                "{} ({pe})",
                crate::diagnosis::scrub(
                    &String::from_utf8_lossy(&body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                )
            ),
        },
        RequestTokenError::Other(text) => OAuthError::UnexpectedReply {
            endpoint,
            status: http.last_status().unwrap_or(0),
            body: crate::diagnosis::scrub(&text),
        },
    }
}

/// The error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-request HTTP proxy on loopback: returns the request head it received.
    async fn one_request_proxy() -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let body = r#"{"access_token":"via-proxy","token_type":"Bearer"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        (url, task)
    }

    #[tokio::test]
    async fn the_configured_proxy_carries_provider_requests() {
        let (proxy, seen) = one_request_proxy().await;
        let http = Http::with_proxy(Some(&proxy)).unwrap();
        // The name does not resolve: only the proxy can answer it.
        let reply = http
            .reqwest()
            .post("http://token.provider.invalid/oauth2/token")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
        let head = seen.await.unwrap();
        assert!(
            head.starts_with("POST http://token.provider.invalid/oauth2/token HTTP/1.1"),
            "{head}"
        );
    }

    #[test]
    fn a_bad_proxy_url_is_refused_without_quoting_it() {
        let e = set_proxy(Some("http://user:s3cret@[bad")).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("proxy"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(Http::with_proxy(Some("::not a url::")).is_err());
        // (Setting a valid proxy is tested in tests/service_proxy.rs, its own process: the
        // setting is process-wide and would reach the other tests' clients here.)
    }
}
