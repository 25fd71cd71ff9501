//! URLs registered at the provider: redirect URIs and a Google Web client's JavaScript origins.

use super::{field, label, normalize, report::empty, FieldReport, Normalized};
use crate::provider::{net, ClientType};
use crate::validate::{Finding, FindingCode};
use url::Url;

/// A redirect URI as registered at the provider.
pub fn redirect_uri(
    raw: &str,
    provider: Option<&str>,
    client_type: Option<ClientType>,
) -> FieldReport {
    redirect_uri_at(field::REDIRECT_URI, raw, provider, client_type)
}

/// A URL field cleaned and parsed: the URL, the cleaned text, and what cleaning found.
struct AbsoluteUrl {
    url: Url,
    value: String,
    findings: Vec<Finding>,
}

/// The checks every URL field starts with: cleaned of pasted whitespace and quotes, not empty,
/// no wildcard (`wildcard` names the rule that forbids it), an absolute URL. The report to
/// return when one fails.
fn absolute_url(
    f: &str,
    raw: &str,
    fix: &str,
    wildcard_code: FindingCode,
    wildcard: &str,
) -> Result<AbsoluteUrl, FieldReport> {
    let name = label(f);
    let Normalized {
        value,
        mut findings,
    } = normalize(f, raw, false);
    let problem = if value.is_empty() {
        Some(empty(f, fix))
    } else if value.contains('*') {
        Some(Finding::error(
            f,
            wildcard_code,
            format!("{name}: {wildcard}"),
            fix,
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        findings.push(problem);
        return Err(FieldReport::new(f, Some(value), findings));
    }
    match Url::parse(&value) {
        Ok(url) if url.host().is_some() => Ok(AbsoluteUrl {
            url,
            value,
            findings,
        }),
        _ => {
            findings.push(Finding::error(
                f,
                FindingCode::UrlInvalid,
                format!("{name}: this is not an absolute URL."),
                fix,
            ));
            Err(FieldReport::new(f, Some(value), findings))
        }
    }
}

pub(crate) fn redirect_uri_at(
    f: &str,
    raw: &str,
    provider: Option<&str>,
    client_type: Option<ClientType>,
) -> FieldReport {
    let name = label(f);
    let fix = "Use http://127.0.0.1:<port>/ or http://localhost (mailoauth's loopback listener), exactly as mailoauth shows it.";
    let AbsoluteUrl {
        url,
        value,
        mut findings,
    } = match absolute_url(
        f,
        raw,
        fix,
        FindingCode::RedirectWildcard,
        "wildcards are not allowed in redirect URIs; providers compare them exactly.",
    ) {
        Ok(parsed) => parsed,
        Err(report) => return report,
    };
    if url.fragment().is_some() {
        let mut clean = url.clone();
        clean.set_fragment(None);
        findings.push(
            Finding::error(
                f,
                FindingCode::RedirectFragment,
                format!("{name}: a redirect URI must not contain a #fragment."),
                "Remove everything from #.",
            )
            .normalized(clean.to_string()),
        );
    }
    let loopback = net::url_is_loopback(&url);
    let google_web = provider == Some("google") && client_type == Some(ClientType::Web);
    match url.scheme() {
        "http" if !loopback => findings.push(Finding::error(
            f,
            FindingCode::RedirectHttpNotLoopback,
            format!("{name}: http:// is allowed only for this machine (127.0.0.1, [::1], localhost); anywhere else the code would travel unencrypted."),
            fix,
        )),
        "http" | "https" => {}
        other => findings.push(Finding::warning(
            f,
            FindingCode::RedirectNotLoopback,
            format!("{name}: {other}:// redirects go to another app; mailoauth receives the code on an http:// loopback listener."),
            fix,
        )),
    }
    if let Some(ip) = net::url_ip(&url).filter(|ip| !ip.is_loopback()) {
        if google_web {
            let what = if net::is_public_ip(ip) {
                "a public IP address"
            } else {
                "an IP address"
            };
            findings.push(Finding::error(
                f,
                FindingCode::RedirectPublicIp,
                format!("{name}: Google refuses {what} as the host of a Web client's redirect URI (only loopback addresses are exempt)."),
                fix,
            ).step("google.oauth_client_web"));
        }
    }
    if url.scheme() == "https" && !loopback {
        findings.push(Finding::warning(
            f,
            FindingCode::RedirectNotLoopback,
            format!("{name}: {} is not this machine; mailoauth's listener never receives a redirect to it.", url.host_str().unwrap_or_default()),
            fix,
        ));
    }
    FieldReport::new(f, Some(value), findings)
}

/// A JavaScript origin of a Google Web client (`scheme://host:port`, nothing else).
pub fn javascript_origin(raw: &str, provider: Option<&str>) -> FieldReport {
    javascript_origin_at(field::JAVASCRIPT_ORIGIN, raw, provider)
}

pub(crate) fn javascript_origin_at(f: &str, raw: &str, provider: Option<&str>) -> FieldReport {
    let name = label(f);
    let fix = "An origin is scheme, host and port only, like http://localhost:8400 or https://app.example.com.";
    let AbsoluteUrl {
        url,
        mut value,
        mut findings,
    } = match absolute_url(
        f,
        raw,
        fix,
        FindingCode::OriginWildcard,
        "wildcards are not allowed in JavaScript origins.",
    ) {
        Ok(parsed) => parsed,
        Err(report) => return report,
    };
    let origin = url.origin().ascii_serialization();
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || value.ends_with('/')
    {
        findings.push(
            Finding::error(
                f,
                FindingCode::OriginHasPath,
                format!("{name}: an origin has no path, query or trailing slash."),
                fix,
            )
            .normalized(origin.clone()),
        );
        value = origin;
    }
    let loopback = net::url_is_loopback(&url);
    if url.scheme() == "http" && !loopback {
        findings.push(Finding::error(
            f,
            FindingCode::OriginHttpNotLoopback,
            format!(
                "{name}: http:// origins are allowed only for this machine (localhost, 127.0.0.1)."
            ),
            "Use https://, or a loopback host.",
        ));
    }
    if loopback && url.port().is_none() {
        findings.push(Finding::error(
            f,
            FindingCode::OriginDefaultPort,
            format!("{name}: a loopback origin must carry an explicit, non-default port; the page is served by a local listener on its own port and the browser compares origins exactly."),
            "Add the listener's port, like http://localhost:8400.",
        ));
    }
    if provider == Some("google") {
        if let Some(ip) = net::url_ip(&url).filter(|ip| !ip.is_loopback()) {
            let what = if net::is_public_ip(ip) {
                "a public IP address"
            } else {
                "an IP address"
            };
            findings.push(Finding::error(
                f,
                FindingCode::RedirectPublicIp,
                format!("{name}: Google refuses {what} as an origin's host."),
                fix,
            ));
        }
    }
    FieldReport::new(f, Some(value), findings)
}

#[cfg(test)]
#[path = "redirect_tests.rs"]
mod tests;
