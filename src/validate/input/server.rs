//! Mail servers: host names, port and security pairs, and the one rule for clear-text logins.

use super::{field, label, normalize, report::empty, FieldReport, Normalized};
pub use crate::provider::net::{check_cleartext, cleartext_allowed, CleartextRefused};
use crate::provider::net::{standard_security, STANDARD};
use crate::provider::{net, Cloud, MailProtocol, Profile, Security};
use crate::validate::{Finding, FindingCode, Severity};
use url::Url;

fn split_host_port(value: &str) -> Option<(String, String)> {
    if let Some(rest) = value.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = value.rsplit_once(':')?;
    (!host.contains(':') && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .then(|| (host.to_string(), port.to_string()))
}

/// A mail server host name, checked against the provider's hosts for `protocol` when known.
pub fn host(
    field: &str,
    raw: &str,
    protocol: MailProtocol,
    provider: Option<&Profile>,
    cloud: Cloud,
) -> FieldReport {
    let name = label(field);
    let Normalized {
        mut value,
        mut findings,
    } = normalize(field, raw, false);
    let fix = format!(
        "Enter only the {} server's host name, like {}.",
        protocol.label(),
        match protocol {
            MailProtocol::Imap => "imap.example.com",
            MailProtocol::Smtp => "smtp.example.com",
        }
    );
    if value.is_empty() {
        findings.push(empty(field, &fix));
        return FieldReport::new(field, Some(value), findings);
    }
    if value.contains("://") {
        if let Some(h) = Url::parse(&value)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
        {
            let h = h.trim_start_matches('[').trim_end_matches(']').to_string();
            findings.push(
                Finding::warning(
                    field,
                    FindingCode::HostWasUrl,
                    format!(
                        "{name}: a URL was entered; the server field takes only the host name."
                    ),
                    "mailoauth kept the host name; set port and security in their own fields.",
                )
                .normalized(h.clone()),
            );
            value = h;
        }
    } else if let Some((h, port)) = split_host_port(&value) {
        findings.push(
            Finding::warning(
                field,
                FindingCode::HostHadPort,
                format!("{name}: the port {port} was part of the host name."),
                "mailoauth kept the host name; enter the port in the port field.",
            )
            .normalized(h.clone()),
        );
        value = h;
    }
    value = value.trim_end_matches('.').to_ascii_lowercase();
    let is_ip = value.parse::<std::net::IpAddr>().is_ok();
    if !is_ip && !net::is_dns_name(&value, false) {
        let why = if value.contains('@') {
            "this is a mailbox address, not a server"
        } else if value.contains('/') {
            "a path cannot be part of a host name"
        } else if value.contains('_') {
            "host names cannot contain underscores"
        } else {
            "this is not a host name or IP address"
        };
        findings.push(Finding::error(
            field,
            FindingCode::HostShape,
            format!("{name}: {why}."),
            fix,
        ));
        return FieldReport::new(field, Some(value), findings);
    }
    if let Some(p) = provider {
        findings.extend(provider_host(field, &value, protocol, p, cloud));
    }
    FieldReport::new(field, Some(value), findings)
}

fn provider_host(
    field: &str,
    value: &str,
    protocol: MailProtocol,
    p: &Profile,
    cloud: Cloud,
) -> Option<Finding> {
    let name = label(field);
    let host_of = |proto: MailProtocol, c: Cloud| p.mail(proto, c).ok().and_then(|m| m.host);
    let expected = host_of(protocol, cloud)?;
    if value == expected {
        return None;
    }
    let other = match protocol {
        MailProtocol::Imap => MailProtocol::Smtp,
        MailProtocol::Smtp => MailProtocol::Imap,
    };
    if host_of(other, cloud).as_deref() == Some(value) {
        return Some(
            Finding::warning(
                field,
                FindingCode::HostWrongProtocol,
                format!(
                    "{name}: {value} is {}'s {} server; its {} server is {expected}.",
                    p.name(),
                    other.label(),
                    protocol.label()
                ),
                format!("Use {expected}."),
            )
            .normalized(expected),
        );
    }
    if let Some(c) = p
        .clouds()
        .into_iter()
        .find(|c| *c != cloud && host_of(protocol, *c).as_deref() == Some(value))
    {
        return Some(
            Finding::warning(
                field,
                FindingCode::HostOtherCloud,
                format!(
                    "{name}: {value} is the {} server of {} {}, but the {} cloud is chosen.",
                    protocol.label(),
                    p.name(),
                    c.label(),
                    cloud.label()
                ),
                format!("Choose the {} cloud, or use {expected}.", c.label()),
            )
            .normalized(expected),
        );
    }
    let personal = matches!(value, "imap-mail.outlook.com" | "smtp-mail.outlook.com");
    let (severity, message) = if personal {
        (
            Severity::Warning,
            format!("{name}: {value} serves personal Outlook.com accounts; Microsoft 365 mailboxes use {expected}."),
        )
    } else {
        (
            Severity::Info,
            format!(
                "{name}: {value} is not {}'s usual {} server {expected}.",
                p.name(),
                protocol.label()
            ),
        )
    };
    Some(
        Finding::new(
            field,
            severity,
            FindingCode::HostNotDefault,
            message,
            format!("Use {expected} unless your network requires another host (a relay or proxy)."),
        )
        .normalized(expected),
    )
}

/// Checks a port and security pair for `protocol`, against the provider's documented pairs
/// when the provider is known.
pub fn port_security(
    protocol: MailProtocol,
    port: u32,
    security: Security,
    host: Option<&str>,
    provider: Option<&Profile>,
    cloud: Cloud,
) -> FieldReport {
    let f = match protocol {
        MailProtocol::Imap => field::IMAP_PORT,
        MailProtocol::Smtp => field::SMTP_PORT,
    };
    let name = label(f);
    let proto = protocol.label();
    let mut findings = Vec::new();
    let Some(port) = u16::try_from(port).ok().filter(|p| *p != 0) else {
        findings.push(Finding::error(
            f,
            FindingCode::PortInvalid,
            format!("{name}: {port} is not a TCP port (1-65535)."),
            match protocol {
                MailProtocol::Imap => "IMAP uses 993 with TLS, or 143 with STARTTLS.",
                MailProtocol::Smtp => "SMTP submission uses 587 with STARTTLS, or 465 with TLS.",
            },
        ));
        return FieldReport::new(f, None, findings);
    };
    let loopback = host.is_some_and(|h| cleartext_allowed(h, Security::None));
    if security == Security::None {
        let message = format!("{name}: without encryption the access token travels in clear text and anyone on the network can use it.");
        if loopback {
            findings.push(Finding::warning(
                f,
                FindingCode::CleartextAuth,
                format!("{message} Acceptable only because the server is on this machine."),
                "Use TLS or STARTTLS as soon as the server is elsewhere.",
            ));
        } else {
            findings.push(Finding::error(
                f,
                FindingCode::CleartextAuth,
                message,
                format!(
                    "Choose TLS or STARTTLS; {proto} on port {port} normally uses {}.",
                    standard_security(protocol, port).map_or("TLS", Security::label)
                ),
            ));
        }
    }
    let expected = standard_security(protocol, port);
    if let Some(expected) = expected {
        if security != Security::None && security != expected {
            findings.push(Finding::error(
                f,
                FindingCode::PortSecurityMismatch,
                format!("{name}: {proto} on port {port} uses {}, not {}; the connection would hang or fail at the first byte.", expected.label(), security.label()),
                format!("Choose {} for port {port}, or the port that goes with {}: {}.", expected.label(), security.label(), standard_port(protocol, security).map_or_else(|| String::from("see your provider"), |p| p.to_string())),
            ));
        }
    }
    let Some(p) = provider.filter(|p| !p.is_hand_entered()) else {
        if expected.is_none() && security != Security::None {
            findings.push(Finding::info(
                f,
                FindingCode::NonStandardPort,
                format!("{name}: {port} is not a standard {proto} port."),
                "Fine if your server listens there; make sure the security matches what it offers.",
            ));
        }
        return FieldReport::new(f, Some(port.to_string()), findings);
    };
    if let Ok(m) = p.mail(protocol, cloud) {
        let accepted = m
            .accepted
            .iter()
            .any(|a| a.port == port && a.security == security);
        let documented = m
            .accepted
            .iter()
            .map(|a| format!("{} with {}", a.port, a.security.label()))
            .collect::<Vec<_>>()
            .join(" or ");
        if let Some(bad) = m
            .bad
            .iter()
            .find(|b| b.port == port && b.security == security)
        {
            findings.push(Finding::error(
                f,
                FindingCode::ProviderPortSecurity,
                format!("{name}: {}.", bad.why),
                format!("Use {documented}."),
            ));
        } else if !(accepted || security == Security::None && loopback) {
            findings.push(Finding::warning(
                f,
                FindingCode::ProviderPortSecurity,
                format!(
                    "{name}: {} documents {proto} as {documented}, not {port} with {}.",
                    p.name(),
                    security.label()
                ),
                format!("Use {documented} unless your network requires otherwise."),
            ));
        }
    }
    FieldReport::new(f, Some(port.to_string()), findings)
}

/// The security a standard mail port uses (993 and 465 TLS; 143, 587 and 25 STARTTLS), if the
/// port is one of them.
pub fn usual_security(protocol: MailProtocol, port: u16) -> Option<Security> {
    standard_security(protocol, port)
}

fn standard_port(protocol: MailProtocol, security: Security) -> Option<u16> {
    STANDARD
        .iter()
        .find(|(p, _, s)| *p == protocol && *s == security)
        .map(|(_, n, _)| *n)
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
