//! Which host could not be reached, and what it is for.
//!
//! An admin told "check imap.gmail.com" after the sign-in server failed looks in the wrong
//! place. The OAuth engine says which endpoint it called and the HTTP client names the URL;
//! [`find`] reads both from an error text, so the diagnosis can name the host, its role and the
//! port to open, and the same words reach the CLI and the app.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What an unreachable host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisHostRole")]
pub enum HostRole {
    /// The provider's token endpoint: sign-in completion and every refresh.
    TokenEndpoint,
    /// The provider's authorization endpoint, opened in the browser.
    AuthorizationEndpoint,
    /// The provider's device authorization endpoint (device code sign-in).
    DeviceEndpoint,
    /// The SMTP server the service sends through.
    Smtp,
    /// The IMAP server the service reads from.
    Imap,
}

impl HostRole {
    /// The role as an admin reads it after "the": `token endpoint (sign-in and token refresh)`.
    pub fn label(self) -> &'static str {
        match self {
            HostRole::TokenEndpoint => "token endpoint (sign-in and every token refresh)",
            HostRole::AuthorizationEndpoint => "authorization endpoint (the browser sign-in)",
            HostRole::DeviceEndpoint => "device authorization endpoint (the device code sign-in)",
            HostRole::Smtp => "SMTP server (sending mail)",
            HostRole::Imap => "IMAP server (reading mail)",
        }
    }

    /// The port used when the text names none.
    pub fn default_port(self) -> u16 {
        match self {
            HostRole::Smtp => 587,
            HostRole::Imap => 993,
            _ => 443,
        }
    }
}

/// A host a text says could not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// The host name or address, without port.
    pub host: Option<String>,
    /// What the host is for.
    pub role: HostRole,
    /// The port, from the URL or the role's default.
    pub port: u16,
}

/// The unreachable host of an (already scrubbed) error text: the OAuth engine's
/// "the token endpoint could not be reached: ... (https://host/...)" and the like.
pub fn find(text: &str) -> Option<HostFacts> {
    let lower = text.to_ascii_lowercase();
    let roles = [
        (
            "device authorization endpoint could not be reached",
            HostRole::DeviceEndpoint,
        ),
        (
            "token endpoint could not be reached",
            HostRole::TokenEndpoint,
        ),
        (
            "authorization endpoint could not be reached",
            HostRole::AuthorizationEndpoint,
        ),
    ];
    let Some((at, role)) = roles
        .iter()
        .find_map(|(phrase, role)| lower.find(phrase).map(|at| (at, *role)))
    else {
        return mail_host(text);
    };
    let (host, port) = match url_host(&text[at..]).or_else(|| url_host(text)) {
        Some((h, p)) => (Some(h), p.unwrap_or(role.default_port())),
        None => (None, role.default_port()),
    };
    Some(HostFacts { host, role, port })
}

/// The mail test's "the host name smtp.example.com does not resolve": a mail host, when its
/// name says which protocol it serves.
fn mail_host(text: &str) -> Option<HostFacts> {
    const LEAD: &str = "the host name ";
    let at = text.to_ascii_lowercase().find(LEAD)? + LEAD.len();
    let rest = &text[at..];
    let host = rest.split(' ').next()?.to_ascii_lowercase();
    if !rest[host.len()..].starts_with(" does not resolve") || !valid_host(&host) {
        return None;
    }
    let role = if host.starts_with("smtp") {
        HostRole::Smtp
    } else if host.starts_with("imap") || host == "outlook.office365.com" {
        HostRole::Imap
    } else {
        return None;
    };
    Some(HostFacts {
        host: Some(host),
        role,
        port: role.default_port(),
    })
}

/// The host (and port, when given) of the first `http(s)://` URL in `text`.
pub fn url_host(text: &str) -> Option<(String, Option<u16>)> {
    let lower = text.to_ascii_lowercase();
    let (at, scheme_len, default) = [("https://", 443u16), ("http://", 80u16)]
        .iter()
        .filter_map(|(s, d)| lower.find(s).map(|at| (at, s.len(), *d)))
        .min_by_key(|(at, ..)| *at)?;
    let rest = &text[at + scheme_len..];
    let authority: &str = rest
        .split(['/', '?', '#', ')', ' ', '"', '\'', ',', ';'])
        .next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        (
            h.to_string(),
            p.strip_prefix(':').and_then(|p| p.parse().ok()),
        )
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (authority.to_string(), None),
        }
    };
    if !valid_host(&host) {
        return None;
    }
    let port = port.or((default == 80).then_some(80));
    Some((host.to_ascii_lowercase(), port))
}

/// A host name or IP address that is safe to paste into a command line.
pub fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        && !h.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_host_is_named_from_the_engine_message() {
        let f = find("the token endpoint could not be reached: error sending request for url (https://login.microsoftonline.com/organizations/oauth2/v2.0/token): client error (Connect): dns error: failed to lookup address information: Temporary failure in name resolution; check the endpoint URL, the proxy and the firewall")
            .expect("found");
        assert_eq!(f.role, HostRole::TokenEndpoint);
        assert_eq!(f.host.as_deref(), Some("login.microsoftonline.com"));
        assert_eq!(f.port, 443);
        let d = find("the device authorization endpoint could not be reached: error sending request for url (http://127.0.0.1:9090/device/auth)").expect("found");
        assert_eq!(d.role, HostRole::DeviceEndpoint);
        assert_eq!(d.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(d.port, 9090);
        let a = find("the authorization endpoint could not be reached: timed out").expect("found");
        assert_eq!((a.role, a.host), (HostRole::AuthorizationEndpoint, None));
        assert!(find("connection refused").is_none());
        // The mail test's own wording names a mail host.
        let m = find("the host name smtp.offce365.com does not resolve (failed to lookup address information: Name or service not known): check its spelling and the DNS of this machine").expect("found");
        assert_eq!(
            (m.role, m.host.as_deref(), m.port),
            (HostRole::Smtp, Some("smtp.offce365.com"), 587)
        );
    }

    #[test]
    fn hosts_with_user_info_ipv6_and_odd_characters() {
        assert_eq!(
            url_host("x https://u:p@oauth2.googleapis.com:8443/token"),
            Some(("oauth2.googleapis.com".into(), Some(8443)))
        );
        assert_eq!(
            url_host("(https://[::1]:9090/token)"),
            Some(("::1".into(), Some(9090)))
        );
        assert_eq!(url_host("https://evil$(x).com/"), None);
    }
}
