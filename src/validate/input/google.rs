//! Google fields: the OAuth client ID (or a service account's unique ID), the client secret and
//! the Cloud project ID.

use super::{field, normalize, report::empty, FieldReport, Normalized, SecretReport};
use crate::provider::Flow;
use crate::secret::Secret;
use crate::validate::{Finding, FindingCode};

fn is_google_client_id(v: &str) -> bool {
    let Some(prefix) = v.strip_suffix(".apps.googleusercontent.com") else {
        return false;
    };
    is_google_client_prefix(prefix)
}

fn is_google_client_prefix(v: &str) -> bool {
    v.split_once('-').is_some_and(|(num, hash)| {
        !num.is_empty()
            && num.chars().all(|c| c.is_ascii_digit())
            && hash.len() >= 8
            && hash
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// A Google OAuth client ID (`1234-abc.apps.googleusercontent.com`), or for a service account
/// the numeric unique ID used in domain-wide delegation.
pub fn google_client_id(raw: &str, flow: Option<Flow>) -> FieldReport {
    let f = field::CLIENT_ID;
    let Normalized {
        mut value,
        mut findings,
    } = normalize(f, raw, false);
    let service_account = flow == Some(Flow::ServiceAccount);
    if value.is_empty() {
        let from = if service_account {
            "Copy the service account's Unique ID (a long number) from its Details page, or take client_id from its key file."
        } else {
            "Copy the Client ID from Google Cloud Console, APIs & Services, Credentials (it ends in .apps.googleusercontent.com)."
        };
        findings.push(empty(f, from));
        return FieldReport::new(f, Some(value), findings);
    }
    let lower = value.to_ascii_lowercase();
    if lower.ends_with(".apps.googleusercontent.com") && lower != value {
        value = lower;
    }
    if value.starts_with("GOCSPX-") {
        findings.push(Finding::error(
            f,
            FindingCode::LooksLikeSecret,
            "Client ID: this is the client secret (it starts with GOCSPX-), not the client ID.",
            "Paste the Client ID instead (it ends in .apps.googleusercontent.com), and keep the secret for the secret field.",
        ));
    } else if service_account {
        if value.ends_with(".iam.gserviceaccount.com") {
            findings.push(Finding::error(
                f,
                FindingCode::ServiceAccountEmail,
                "Client ID: this is the service account's email address; domain-wide delegation needs its numeric Client ID.",
                "Copy the Unique ID from the service account's Details page, or client_id from its key file.",
            ).step("google.domain_wide_delegation"));
        } else if !(value.len() >= 15 && value.chars().all(|c| c.is_ascii_digit())) {
            findings.push(Finding::error(
                f,
                FindingCode::GoogleClientIdShape,
                "Client ID: a service account's Client ID is a long number (its Unique ID).",
                "Copy the Unique ID from the service account's Details page, or client_id from its key file.",
            ));
        }
    } else if value.chars().all(|c| c.is_ascii_digit()) {
        findings.push(Finding::error(
            f,
            FindingCode::GoogleProjectNumber,
            "Client ID: this is only a number, usually the project number or a service account ID, not an OAuth client ID.",
            "Copy the Client ID of the OAuth client from APIs & Services, Credentials; it looks like 1234567890-abc123.apps.googleusercontent.com.",
        ));
    } else if is_google_client_prefix(&value) {
        let full = format!("{value}.apps.googleusercontent.com");
        findings.push(
            Finding::warning(
                f,
                FindingCode::GoogleClientIdSuffixMissing,
                "Client ID: the ending .apps.googleusercontent.com is missing.",
                "Use the complete Client ID; mailoauth can add the ending.",
            )
            .normalized(full.clone()),
        );
        value = full;
    } else if !is_google_client_id(&value) {
        findings.push(Finding::error(
            f,
            FindingCode::GoogleClientIdShape,
            "Client ID: this is not a Google OAuth client ID, which looks like 1234567890-abc123def456.apps.googleusercontent.com.",
            "Copy the Client ID from APIs & Services, Credentials, or import the downloaded client JSON.",
        ));
    }
    FieldReport::new(f, Some(value), findings)
}

/// A Google client secret.
pub fn google_client_secret(raw: &Secret<String>) -> SecretReport {
    let f = field::CLIENT_SECRET;
    let Normalized {
        value,
        mut findings,
    } = normalize(f, raw.expose(), true);
    if value.is_empty() {
        findings.push(empty(
            f,
            "Import the client JSON downloaded when the client was created, or add a new secret to the client in Google Cloud Console.",
        ));
    } else if value.ends_with(".apps.googleusercontent.com") {
        findings.push(Finding::error(
            f,
            FindingCode::LooksLikeClientId,
            "Client secret: this is the client ID, not the secret.",
            "Paste the client secret (it starts with GOCSPX-); if it is no longer shown, add a new secret to the client.",
        ));
    } else if !value.starts_with("GOCSPX-") {
        findings.push(Finding::warning(
            f,
            FindingCode::GoogleSecretShape,
            "Client secret: Google client secrets start with GOCSPX-; this one does not (only very old clients have such secrets).",
            "Check that the whole secret was copied, or import the downloaded client JSON.",
        ));
    }
    SecretReport {
        value: Secret::new(value),
        findings,
    }
}

/// A Google Cloud project ID.
pub fn project_id(raw: &str) -> FieldReport {
    let f = field::PROJECT;
    let Normalized {
        value,
        mut findings,
    } = normalize(f, raw, false);
    let fix = "Copy the Project ID (not the name or number) from the project picker or the dashboard's Project info.";
    if value.is_empty() {
        findings.push(empty(f, fix));
    } else {
        let ok = (6..=30).contains(&value.len())
            && value.starts_with(|c: char| c.is_ascii_lowercase())
            && !value.ends_with('-')
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            let why = if value.chars().all(|c| c.is_ascii_digit()) {
                "this is the project number"
            } else {
                "a project ID is 6-30 lowercase letters, digits and hyphens, starting with a letter"
            };
            findings.push(Finding::error(
                f,
                FindingCode::ProjectIdShape,
                format!("Project ID: {why}."),
                fix,
            ));
        }
    }
    FieldReport::new(f, Some(value), findings)
}

#[cfg(test)]
#[path = "google_tests.rs"]
mod tests;
