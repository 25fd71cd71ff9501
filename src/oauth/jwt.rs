//! The JWTs mailoauth signs itself: the private_key_jwt client assertion (RFC 7523 section 2.2,
//! with the `x5t` certificate thumbprint Entra wants) and the Google service account assertion
//! for domain-wide delegation (RFC 7523 section 2.1, `sub` = the mailbox).

use super::client::Http;
use super::error::{Endpoint, OAuthError, ProviderReply};
use super::AccountAuth;
use crate::provider::Endpoints;
use crate::secret::Secret;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// How long a client assertion is valid: long enough for a device-code poll series.
const ASSERTION_LIFETIME_SECS: u64 = 600;

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

fn sign_err(what: &'static str, detail: impl std::fmt::Display) -> OAuthError {
    OAuthError::Signing {
        what,
        detail: detail.to_string(),
    }
}

/// Signs `claims` with the PEM key: ES256 for an EC key, RS256 for an RSA key.
fn sign(
    what: &'static str,
    pem: &str,
    mut header: Header,
    claims: &impl Serialize,
) -> Result<String, OAuthError> {
    if let Ok(key) = EncodingKey::from_ec_pem(pem.as_bytes()) {
        header.alg = Algorithm::ES256;
        if let Ok(jwt) = jsonwebtoken::encode(&header, claims, &key) {
            return Ok(jwt);
        }
    }
    if pem.contains("BEGIN EC PRIVATE KEY") {
        return Err(sign_err(
            what,
            "the key is a SEC1 'EC PRIVATE KEY': convert it to PKCS#8 with openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.p8.pem",
        ));
    }
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
        sign_err(
            what,
            "the key file is not a PEM EC (P-256) or RSA private key",
        )
    })?;
    header.alg = Algorithm::RS256;
    jsonwebtoken::encode(&header, claims, &key).map_err(|e| sign_err(what, e))
}

/// The base64url SHA-1 thumbprint of the first certificate in a PEM file, as Entra's `x5t`.
pub fn x5t_thumbprint(cert_pem: &[u8]) -> Result<String, OAuthError> {
    let mut reader = cert_pem;
    let cert = rustls_pemfile::certs(&mut reader)
        .next()
        .ok_or_else(|| {
            sign_err(
                "client assertion",
                "the certificate file holds no PEM certificate",
            )
        })?
        .map_err(|e| sign_err("client assertion", e))?;
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref());
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// A fresh client assertion for `auth` at the token endpoint of `endpoints`.
pub fn client_assertion(
    auth: &AccountAuth,
    endpoints: &Endpoints,
    now: u64,
) -> Result<Secret<String>, OAuthError> {
    const WHAT: &str = "client assertion";
    let key = auth
        .client_secret
        .as_ref()
        .ok_or(OAuthError::Config {
            field: "private key",
            problem: String::from(
                "private_key_jwt needs the client's PEM private key: give --private-key <file>",
            ),
        })?
        .read()
        .map_err(|e| super::secret_unreadable("private key", e))?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = auth.key_id.clone();
    if let Some(cert) = &auth.certificate {
        let pem = std::fs::read(cert).map_err(|e| OAuthError::Config {
            field: "certificate",
            problem: format!("cannot read {}: {e}", cert.display()),
        })?;
        header.x5t = Some(x5t_thumbprint(&pem)?);
    }
    let id = auth.client_id.trim();
    let claims = AssertionClaims {
        iss: id,
        sub: id,
        aud: &endpoints.token,
        jti: oauth2::CsrfToken::new_random().secret().clone(),
        iat: now,
        nbf: now,
        exp: now + ASSERTION_LIFETIME_SECS,
        scope: None,
    };
    sign(WHAT, key.expose(), header, &claims).map(Secret::new)
}

/// The fields of a Google service account key file mailoauth uses.
#[derive(Deserialize)]
struct ServiceAccountKey {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    token_uri: String,
}

#[derive(Deserialize)]
struct JwtBearerReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// A token for `auth.mailbox` through domain-wide delegation: (access token, expires_in, scope).
///
/// The JWT bearer grant is the one flow the `oauth2` crate does not have, so it is one POST here.
pub async fn service_account_token(
    auth: &AccountAuth,
    scopes: &[String],
    http: &Http,
    now: u64,
) -> Result<(Secret<String>, Option<u64>, Option<String>), OAuthError> {
    const WHAT: &str = "service account assertion";
    let text = auth
        .client_secret
        .as_ref()
        .ok_or(OAuthError::Config {
            field: "service account key",
            problem: String::from(
                "give the JSON key file downloaded from the Google Cloud console with --key-file",
            ),
        })?
        .read()
        .map_err(|e| super::secret_unreadable("service account key", e))?;
    let key: ServiceAccountKey =
        serde_json::from_str(text.expose()).map_err(|e| OAuthError::Config {
            field: "service account key",
            problem: format!(
                "not a Google service account key file (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
    if key.kind != "service_account" {
        return Err(OAuthError::Config {
            field: "service account key",
            problem: format!("the file is of type {:?}, not service_account: download a key of the service account, not an OAuth client", key.kind),
        });
    }
    let token_uri = auth
        .endpoints
        .token
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(key.token_uri);
    let scope = scopes.join(" ");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key.private_key_id;
    #[derive(Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        sub: &'a str,
        scope: &'a str,
        aud: &'a str,
        iat: u64,
        exp: u64,
    }
    let claims = Claims {
        iss: &key.client_email,
        sub: auth.mailbox.trim(),
        scope: &scope,
        aud: &token_uri,
        iat: now,
        exp: now + 3600,
    };
    let key_pem = Secret::new(key.private_key);
    let assertion = Secret::new(sign(WHAT, key_pem.expose(), header, &claims)?);
    let resp = http
        .reqwest()
        .post(&token_uri)
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.expose().as_str()),
        ])
        .send()
        .await
        .map_err(|e| OAuthError::Unreachable {
            endpoint: Endpoint::Token,
            detail: crate::diagnosis::scrub(&e.to_string()),
        })?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        let r: JwtBearerReply =
            serde_json::from_str(&body).map_err(|_| OAuthError::UnexpectedReply {
                endpoint: Endpoint::Token,
                status,
                body: crate::diagnosis::scrub(&body.chars().take(300).collect::<String>()),
            })?;
        return Ok((Secret::new(r.access_token), r.expires_in, r.scope));
    }
    match serde_json::from_str::<ErrorReply>(&body) {
        Ok(e) => Err(OAuthError::Provider(Box::new(ProviderReply::new(
            Endpoint::Token,
            &e.error,
            e.error_description.as_deref(),
            Some(status),
        )))),
        Err(_) => Err(OAuthError::UnexpectedReply {
            endpoint: Endpoint::Token,
            status,
            body: crate::diagnosis::scrub(&body.chars().take(300).collect::<String>()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_pem_key_is_refused_without_echoing_it() {
        let e = sign(
            "client assertion",
            "not-a-key-SECRET",
            Header::default(),
            &serde_json::json!({}),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("SECRET"));
        assert!(x5t_thumbprint(b"no cert").is_err());
    }
}
