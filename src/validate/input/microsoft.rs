//! Microsoft (Entra ID) fields: the application (client) ID, the tenant and the client secret.

use super::{field, normalize, report::empty, FieldReport, Normalized, SecretReport};
use crate::provider::{net, ClientType, Flow, Tenant};
use crate::secret::Secret;
use crate::validate::{Finding, FindingCode};
use url::Url;

fn guid_of(value: &str) -> Option<String> {
    let v = value.trim_start_matches('{').trim_end_matches('}');
    net::is_guid(v).then(|| v.to_ascii_lowercase())
}

const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// An Azure Application (client) ID: a GUID.
pub fn azure_client_id(raw: &str) -> FieldReport {
    let f = field::CLIENT_ID;
    let Normalized {
        mut value,
        mut findings,
    } = normalize(f, raw, false);
    let from = "Copy the Application (client) ID from the app registration's Overview page.";
    if value.is_empty() {
        findings.push(empty(f, from));
        return FieldReport::new(f, Some(value), findings);
    }
    if let Some(rest) = value.strip_prefix("api://") {
        if let Some(guid) = guid_of(rest.trim_end_matches('/')) {
            findings.push(
                Finding::warning(
                    f,
                    FindingCode::NotAGuid,
                    "Client ID: this is the Application ID URI (api://...), not the Application (client) ID.",
                    "Use the GUID alone; mailoauth took it out of the URI.",
                )
                .normalized(guid.clone()),
            );
            return FieldReport::new(f, Some(guid), findings);
        }
    }
    match guid_of(&value) {
        Some(guid) if guid == NIL_GUID => findings.push(Finding::error(
            f,
            FindingCode::NilGuid,
            "Client ID: the all-zero GUID is a placeholder from an example, not your application's ID.",
            from,
        )),
        Some(guid) => value = guid,
        None => findings.push(Finding::error(
            f,
            FindingCode::NotAGuid,
            "Client ID: an Application (client) ID is a GUID like 11111111-2222-3333-4444-555555555555.",
            from,
        )),
    }
    FieldReport::new(f, Some(value), findings)
}

fn tenant_from_url(value: &str) -> Option<String> {
    let url = Url::parse(value).ok()?;
    let first = url.path_segments()?.find(|s| !s.is_empty())?;
    Tenant::parse(first).map(|t| t.to_string())
}

/// An Azure tenant: the Directory (tenant) ID, a verified domain, or `organizations`/`common`.
pub fn azure_tenant(raw: &str, flow: Option<Flow>) -> FieldReport {
    let f = field::TENANT;
    let Normalized {
        mut value,
        mut findings,
    } = normalize(f, raw, false);
    let from = "Copy the Directory (tenant) ID from the app registration's Overview page, or enter your domain (contoso.onmicrosoft.com).";
    if value.is_empty() {
        findings.push(empty(f, from));
        return FieldReport::new(f, Some(value), findings);
    }
    if value.contains("://") {
        match tenant_from_url(&value) {
            Some(t) => {
                findings.push(
                    Finding::info(
                        f,
                        FindingCode::TenantFromUrl,
                        "Tenant: took the tenant out of the pasted URL.",
                        "Nothing to do, unless it is not your tenant.",
                    )
                    .normalized(t.clone()),
                );
                value = t;
            }
            None => {
                findings.push(Finding::error(
                    f,
                    FindingCode::TenantShape,
                    "Tenant: this URL contains no tenant.",
                    from,
                ));
                return FieldReport::new(f, Some(value), findings);
            }
        }
    }
    let Some(tenant) = Tenant::parse(&value) else {
        let single_label =
            !value.contains('.') && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let message = if single_label {
            format!("Tenant: {value:?} is not a domain; the tenant's default domain is {value}.onmicrosoft.com.")
        } else {
            String::from("Tenant: this is not a Directory (tenant) ID (a GUID), a verified domain, organizations or common.")
        };
        let finding = Finding::error(f, FindingCode::TenantShape, message, from);
        let finding = if single_label {
            finding.normalized(format!("{}.onmicrosoft.com", value.to_ascii_lowercase()))
        } else {
            finding
        };
        findings.push(finding);
        return FieldReport::new(f, Some(value), findings);
    };
    value = tenant.to_string();
    match &tenant {
        Tenant::Id(id) if id == NIL_GUID => findings.push(Finding::error(
            f,
            FindingCode::NilGuid,
            "Tenant: the all-zero GUID is a placeholder from an example, not your tenant.",
            from,
        )),
        Tenant::Consumers => findings.push(Finding::error(
            f,
            FindingCode::TenantConsumers,
            "Tenant: consumers signs in personal Microsoft accounts (Outlook.com) only, never Microsoft 365 mailboxes.",
            from,
        )),
        Tenant::Organizations | Tenant::Common if flow == Some(Flow::ClientCredentials) => {
            findings.push(Finding::error(
                f,
                FindingCode::TenantNotSpecific,
                format!("Tenant: {value} cannot be used for app-only access; without a signed-in user Microsoft needs your own tenant."),
                from,
            ))
        }
        Tenant::Organizations | Tenant::Common => findings.push(
            Finding::warning(
                f,
                FindingCode::TenantMultiTenant,
                format!("Tenant: {value} works only for apps whose supported account types include other organizations; a single-tenant app fails with AADSTS50194."),
                "Prefer the Directory (tenant) ID; it works for every app type.",
            )
            .step("microsoft.account_types"),
        ),
        _ => {}
    }
    FieldReport::new(f, Some(value), findings)
}

/// The same GUID as client ID and tenant ID is a copy-paste slip.
pub fn same_client_and_tenant(client_id: &str, tenant: &str) -> Option<Finding> {
    let (c, t) = (guid_of(client_id.trim())?, guid_of(tenant.trim())?);
    (c == t).then(|| {
        Finding::error(
            field::TENANT,
            FindingCode::SameClientAndTenant,
            "Tenant: it is the same GUID as the client ID; one of them was pasted twice.",
            "The Overview page shows both: Application (client) ID and Directory (tenant) ID are different GUIDs.",
        )
    })
}

/// An Azure client secret: the Value, not the Secret ID.
pub fn azure_client_secret(raw: &Secret<String>, client_type: Option<ClientType>) -> SecretReport {
    let f = field::CLIENT_SECRET;
    let Normalized {
        value,
        mut findings,
    } = normalize(f, raw.expose(), true);
    if client_type == Some(ClientType::Desktop) {
        findings.push(Finding::warning(
            f,
            FindingCode::SecretNotNeeded,
            "Client secret: a desktop (public) client uses no secret; with one, Azure expects the app to be a Web client.",
            "Leave the secret empty for Mobile and desktop applications, or choose the Web client type.",
        ).step("microsoft.platform_desktop"));
    }
    if value.is_empty() {
        if client_type != Some(ClientType::Desktop) {
            findings.push(empty(
                f,
                "Create a secret under Certificates & secrets and copy its Value.",
            ));
        }
    } else if guid_of(&value).is_some() {
        findings.push(
            Finding::error(
                f,
                FindingCode::SecretIsSecretId,
                "Client secret: this is the Secret ID (a GUID), not the secret's Value; Azure would answer AADSTS7000215 (invalid client secret).",
                "Copy the Value column under Certificates & secrets. It is shown only right after creation; if it is hidden, create a new secret.",
            )
            .step("microsoft.client_secret"),
        );
    } else if value.starts_with("GOCSPX-") {
        findings.push(Finding::error(
            f,
            FindingCode::SecretShape,
            "Client secret: this is a Google client secret, not an Azure one.",
            "Copy the Value of a secret under the app registration's Certificates & secrets.",
        ));
    } else if value.len() < 30 || value.chars().any(char::is_whitespace) {
        findings.push(Finding::warning(
            f,
            FindingCode::SecretShape,
            "Client secret: this is shorter than Azure's secret values (40 characters) or contains spaces; it may be cut off.",
            "Copy the whole Value with the copy button next to it.",
        ).step("microsoft.client_secret"));
    }
    SecretReport {
        value: Secret::new(value),
        findings,
    }
}

#[cfg(test)]
#[path = "microsoft_tests.rs"]
mod tests;
