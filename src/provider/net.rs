//! Shapes of identifiers and addresses that profiles, checklists and validation all need: GUIDs,
//! DNS names, loopback hosts and the rule that `http://` is only for this machine.

use super::{MailProtocol, Security};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use url::{Host, Url};

/// Seconds one request to the provider may take, unless `MAILOAUTH_HTTP_TIMEOUT_SECS` says.
pub const HTTP_TIMEOUT_SECS: u64 = 30;

/// The per-request timeout: `MAILOAUTH_HTTP_TIMEOUT_SECS` (1-600) for slow networks and tests,
/// else [`HTTP_TIMEOUT_SECS`].
pub fn http_timeout() -> Duration {
    let secs = std::env::var("MAILOAUTH_HTTP_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=600).contains(s))
        .unwrap_or(HTTP_TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// True for a GUID in its usual 8-4-4-4-12 hex form (any case).
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// True for a DNS host name (letters, digits, hyphens; labels of 1-63 characters). With
/// `need_dot`, a single label such as `contoso` is refused, because a tenant domain or a public
/// mail host always has one. A trailing dot is not accepted here: callers strip it first.
pub fn is_dns_name(text: &str, need_dot: bool) -> bool {
    if text.is_empty() || text.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = text.split('.').collect();
    if need_dot && labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    // An all-digit last label would make this an IPv4 address, which is not a name.
    let tld_ok = labels
        .last()
        .is_some_and(|l| !l.chars().all(|c| c.is_ascii_digit()));
    labels_ok && tld_ok
}

/// True for an address on this machine: 127.0.0.0/8, ::1 or the name `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True when `url`'s host is on this machine.
pub fn url_is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The IP address in `url`'s host, if it is one.
pub fn url_ip(url: &Url) -> Option<IpAddr> {
    match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

/// True for an address that is reachable from the internet (not private, loopback, link-local,
/// shared, documentation or unspecified).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let documentation = matches!(
        ip.octets(),
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
    );
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared
        || documentation)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation)
}

/// Why an endpoint URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointUrlProblem {
    /// Not an absolute URL; the text says what the parser found.
    Invalid(String),
    /// A scheme other than https/http.
    Scheme(String),
    /// `http://` to a host that is not this machine.
    InsecureHttp,
    /// A `#fragment`, which OAuth endpoints must not carry (RFC 6749 section 3.1).
    Fragment,
}

/// Checks an OAuth endpoint URL: absolute, https, or http only to this machine.
pub fn check_endpoint_url(text: &str) -> Result<Url, EndpointUrlProblem> {
    let url = Url::parse(text).map_err(|e| EndpointUrlProblem::Invalid(e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if url_is_loopback(&url) => {}
        "http" => return Err(EndpointUrlProblem::InsecureHttp),
        other => return Err(EndpointUrlProblem::Scheme(other.to_string())),
    }
    if url.host().is_none() {
        return Err(EndpointUrlProblem::Invalid(String::from("no host")));
    }
    if url.fragment().is_some() {
        return Err(EndpointUrlProblem::Fragment);
    }
    Ok(url)
}

/// A login that would send the access token in clear text to a host that is not this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleartextRefused {
    /// What is wrong, naming the host.
    pub problem: String,
    /// What to write instead.
    pub fix: String,
}

impl std::fmt::Display for CleartextRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.problem, self.fix)
    }
}

/// The one rule for unencrypted mail logins, used by the wizard's fields, the config file (check
/// and loader, hence the exports), the login tests and the command line: `security = none` sends
/// the bearer token in clear text, so it is allowed only to a loopback host (127.0.0.0/8, ::1, or
/// `localhost`, which the login tests resolve to those addresses only, never through DNS).
/// Anything else, `0.0.0.0` and this machine's other addresses included, is refused.
pub fn cleartext_allowed(host: &str, security: Security) -> bool {
    security != Security::None || is_loopback_host(host.trim())
}

/// [`cleartext_allowed`] as an error that says what to do: `Ok` when the login may go ahead.
pub fn check_cleartext(
    protocol: MailProtocol,
    host: &str,
    port: u16,
    security: Security,
) -> Result<(), CleartextRefused> {
    if cleartext_allowed(host, security) {
        return Ok(());
    }
    let proto = protocol.label();
    let usual = standard_security(protocol, port).map_or_else(
        || match protocol {
            MailProtocol::Imap => String::from("IMAP uses 993 with TLS or 143 with STARTTLS"),
            MailProtocol::Smtp => {
                String::from("SMTP submission uses 587 with STARTTLS or 465 with TLS")
            }
        },
        |s| format!("{proto} on port {port} normally uses {}", s.label()),
    );
    // The host is named when it is a plain address or host name the scrubber leaves alone: a
    // config or command line may hold anything there, and a message never repeats a secret.
    let host = host.trim();
    let named = (host.parse::<std::net::IpAddr>().is_ok()
        || is_dns_name(host.trim_end_matches('.'), false))
        && crate::diagnosis::scrub(host) == host;
    let target = if named {
        host.to_string()
    } else {
        String::from("this host")
    };
    Err(CleartextRefused {
        problem: format!(
            "no encryption would send the access token in clear text to {target}, which is not this machine, and anyone on the network could use it"
        ),
        fix: format!(
            "choose TLS or STARTTLS ({usual}); no encryption is accepted only for a server on this machine (127.0.0.1, ::1 or localhost)"
        ),
    })
}

/// The port and security conventions of the mail protocols: the pairs that belong together.
pub const STANDARD: &[(MailProtocol, u16, Security)] = &[
    (MailProtocol::Imap, 993, Security::Tls),
    (MailProtocol::Imap, 143, Security::StartTls),
    (MailProtocol::Smtp, 587, Security::StartTls),
    (MailProtocol::Smtp, 465, Security::Tls),
    (MailProtocol::Smtp, 25, Security::StartTls),
];

/// The security a protocol's port normally uses (993 TLS, 143 STARTTLS, 587 STARTTLS, ...).
pub fn standard_security(protocol: MailProtocol, port: u16) -> Option<Security> {
    STANDARD
        .iter()
        .find(|(p, n, _)| *p == protocol && *n == port)
        .map(|(_, _, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000002-0000-0ff1-ce00-000000000000"));
        assert!(is_guid("652390E4-393A-48DE-9484-05F9B1212954"));
        assert!(!is_guid("652390e4393a48de948405f9b1212954"));
        assert!(!is_guid("652390e4-393a-48de-9484-05f9b121295"));
        assert!(!is_guid("652390e4-393a-48de-9484-05f9b121295g"));
        assert!(!is_guid(""));
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_name("contoso.onmicrosoft.com", true));
        assert!(is_dns_name("smtp.office365.com", true));
        assert!(is_dns_name("mailhost", false));
        assert!(!is_dns_name("mailhost", true));
        assert!(!is_dns_name("-bad.example", true));
        assert!(!is_dns_name("bad_name.example", true));
        assert!(!is_dns_name("a..b", false));
        assert!(!is_dns_name("10.0.0.1", true));
        assert!(!is_dns_name("smtp.office365.com:587", true));
    }

    #[test]
    fn loopback_and_public_addresses() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "example.com",
            "localhost.example.com",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "100.64.0.1",
            "169.254.1.1",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
            "192.0.2.7",
            "::ffff:192.168.1.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn endpoint_urls() {
        assert!(
            check_endpoint_url("https://login.microsoftonline.com/x/oauth2/v2.0/token").is_ok()
        );
        assert!(check_endpoint_url("http://127.0.0.1:9090/token").is_ok());
        assert!(check_endpoint_url("http://[::1]:9090/token").is_ok());
        assert!(check_endpoint_url("http://localhost/token").is_ok());
        assert_eq!(
            check_endpoint_url("http://idp.example.com/token"),
            Err(EndpointUrlProblem::InsecureHttp)
        );
        assert_eq!(
            check_endpoint_url("http://10.0.0.5/token"),
            Err(EndpointUrlProblem::InsecureHttp)
        );
        assert!(matches!(
            check_endpoint_url("ftp://example.com/token"),
            Err(EndpointUrlProblem::Scheme(_))
        ));
        assert!(matches!(
            check_endpoint_url("/oauth2/token"),
            Err(EndpointUrlProblem::Invalid(_))
        ));
        assert_eq!(
            check_endpoint_url("https://example.com/token#x"),
            Err(EndpointUrlProblem::Fragment)
        );
    }
}
