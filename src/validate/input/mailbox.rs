//! The mailbox address, checked against the provider's personal-account domains.

use super::{field, normalize, report::empty, FieldReport, Normalized};
use crate::provider::net;
use crate::validate::{Finding, FindingCode};

const MICROSOFT_PERSONAL: &[&str] = &[
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "passport.com",
    "hotmail.co.uk",
    "live.co.uk",
    "outlook.de",
    "hotmail.de",
    "outlook.fr",
    "hotmail.fr",
    "live.fr",
];
const GOOGLE_PERSONAL: &[&str] = &["gmail.com", "googlemail.com"];

fn is_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
}

/// A mailbox address, checked against the provider when it is known.
pub fn mailbox(raw: &str, provider: Option<&str>) -> FieldReport {
    let f = field::MAILBOX;
    let Normalized {
        mut value,
        mut findings,
    } = normalize(f, raw, false);
    let fix = "Enter the full address of the mailbox the service uses, like scanner@example.com.";
    if value.is_empty() {
        findings.push(empty(f, fix));
        return FieldReport::new(f, Some(value), findings);
    }
    let mut extracted = value.clone();
    if let (Some(open), true) = (extracted.rfind('<'), extracted.ends_with('>')) {
        extracted = extracted[open + 1..extracted.len() - 1].trim().to_string();
    }
    // `get`: a pasted value may have a multi-byte character across byte 7.
    if let Some(rest) = extracted
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| extracted.get(7..))
        .filter(|rest| !rest.is_empty())
    {
        extracted = rest.to_string();
    }
    if extracted != value {
        findings.push(
            Finding::info(
                f,
                FindingCode::MailboxExtracted,
                "Mailbox: kept only the address of what was pasted.",
                "Nothing to do, unless it is the wrong address.",
            )
            .normalized(extracted.clone()),
        );
        value = extracted;
    }
    let valid = value.rsplit_once('@').is_some_and(|(local, domain)| {
        is_local_part(local) && net::is_dns_name(&domain.to_ascii_lowercase(), true)
    });
    if !valid {
        findings.push(Finding::error(
            f,
            FindingCode::MailboxShape,
            "Mailbox: this is not a mailbox address.",
            fix,
        ));
        return FieldReport::new(f, Some(value), findings);
    }
    let domain = value
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    let ms_personal = MICROSOFT_PERSONAL.contains(&domain.as_str());
    let google_personal = GOOGLE_PERSONAL.contains(&domain.as_str());
    match provider {
        Some("microsoft") if google_personal => findings.push(Finding::error(
            f,
            FindingCode::MailboxWrongProvider,
            format!("Mailbox: {domain} is a Google address, but Microsoft 365 is chosen."),
            "Choose Google as the provider, or enter the Microsoft 365 mailbox.",
        )),
        Some("microsoft") if ms_personal => findings.push(Finding::warning(
            f,
            FindingCode::MailboxPersonalAccount,
            format!("Mailbox: {domain} is a personal Outlook.com account, not Microsoft 365; it needs an app that allows personal accounts and the consumers tenant."),
            "Use a mailbox of your organization's Microsoft 365 domain if there is one.",
        ).step("microsoft.account_types")),
        Some("google") if ms_personal => findings.push(Finding::error(
            f,
            FindingCode::MailboxWrongProvider,
            format!("Mailbox: {domain} is a Microsoft address, but Google is chosen."),
            "Choose Microsoft 365 as the provider, or enter the Gmail or Workspace mailbox.",
        )),
        Some("google") if google_personal => findings.push(Finding::warning(
            f,
            FindingCode::MailboxPersonalAccount,
            "Mailbox: a gmail.com account needs an External consent screen, and the app must be In production or its refresh tokens die after 7 days.",
            "Set the publishing status to In production before authorizing.",
        ).step("google.publishing_status")),
        _ => {}
    }
    FieldReport::new(f, Some(value), findings)
}

#[cfg(test)]
#[path = "mailbox_tests.rs"]
mod tests;
