//! RFC 9207 for providers whose profile leaves it to their metadata (the generic profile): does
//! the issuer say it puts `iss` in every authorization response?

use super::client::Http;
use super::loopback::IssuerCheck;
use crate::provider::Profile;
use serde::Deserialize;

/// The most of a metadata document read; real ones are a few KiB.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;
/// The longest the sign-in waits for one metadata document before the browser opens (the
/// request's own time-out may be longer).
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Deserialize)]
struct Document {
    issuer: String,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// How a redirect's `iss` is checked for a sign-in at `issuer` with `profile`: as the profile
/// says, or, for a profile that leaves it to the provider, as the issuer's metadata says.
pub(crate) async fn issuer_check<'a>(
    profile: &Profile,
    issuer: Option<&'a str>,
    http: &Http,
) -> IssuerCheck<'a> {
    let Some(issuer) = issuer else {
        return IssuerCheck::Unknown;
    };
    let sends = match profile.authorization_response_iss() {
        Some(sends) => sends,
        None => says_iss_is_sent(issuer, http).await,
    };
    if sends {
        IssuerCheck::Required(issuer)
    } else {
        IssuerCheck::IfPresent(issuer)
    }
}

/// True when the issuer's OpenID Connect discovery document, or else its RFC 8414 metadata,
/// names this issuer and says `authorization_response_iss_parameter_supported: true`. A provider
/// without a readable document has said nothing: its redirects are checked only when they carry
/// `iss` (state and PKCE still bind the answer to this sign-in).
async fn says_iss_is_sent(issuer: &str, http: &Http) -> bool {
    for url in metadata_urls(issuer) {
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, fetch(http, &url)).await;
        match fetched.ok().flatten() {
            Some(doc) if same_issuer(&doc.issuer, issuer) => {
                tracing::debug!(%url, iss = doc.authorization_response_iss_parameter_supported, "RFC 9207 support from the provider's metadata");
                return doc.authorization_response_iss_parameter_supported;
            }
            Some(doc) => {
                tracing::warn!(%url, named = %doc.issuer, "the metadata names another issuer: ignored");
            }
            None => tracing::debug!(%url, "no usable metadata document"),
        }
    }
    false
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// OpenID Connect discovery first, then RFC 8414 (section 3: the well-known part goes between
/// the host and the issuer's path).
fn metadata_urls(issuer: &str) -> Vec<String> {
    let mut urls = Vec::new();
    if let Ok(u) = crate::provider::discovery::discovery_url(issuer) {
        urls.push(u);
    }
    if let Ok(mut u) = url::Url::parse(issuer.trim()) {
        let path = u.path().trim_end_matches('/').to_string();
        u.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
        u.set_query(None);
        urls.push(u.to_string());
    }
    urls
}

async fn fetch(http: &Http, url: &str) -> Option<Document> {
    let mut resp = http.reqwest().get(url).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT_BYTES {
            return None;
        }
    }
    serde_json::from_slice(&body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_addresses() {
        assert_eq!(
            metadata_urls("https://op.example/tenant/"),
            [
                "https://op.example/tenant/.well-known/openid-configuration",
                "https://op.example/.well-known/oauth-authorization-server/tenant"
            ]
        );
        assert_eq!(
            metadata_urls("http://127.0.0.1:9090"),
            [
                "http://127.0.0.1:9090/.well-known/openid-configuration",
                "http://127.0.0.1:9090/.well-known/oauth-authorization-server"
            ]
        );
    }

    #[tokio::test]
    async fn built_in_profiles_say_it_themselves() {
        let http = Http::new().unwrap();
        let google = crate::provider::require_profile("google").unwrap();
        let microsoft = crate::provider::require_profile("microsoft").unwrap();
        // No network: the profile decides.
        assert_eq!(
            issuer_check(google, Some("https://accounts.google.com"), &http).await,
            IssuerCheck::Required("https://accounts.google.com")
        );
        assert_eq!(
            issuer_check(
                microsoft,
                Some("https://login.microsoftonline.com/x/v2.0"),
                &http
            )
            .await,
            IssuerCheck::IfPresent("https://login.microsoftonline.com/x/v2.0")
        );
        assert_eq!(
            issuer_check(google, None, &http).await,
            IssuerCheck::Unknown
        );
    }
}
