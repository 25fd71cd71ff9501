//! Field-by-field validation, as the admin types or pastes.
//!
//! Every validator first cleans the pasted value (spaces, line breaks, invisible characters,
//! quotes) and says so, then checks the shape the provider expects and the mistakes people make
//! with that field. The answer is a [`FieldReport`]: the cleaned value and the findings.

use super::{has_errors, Finding, FindingCode, Severity};
pub use crate::provider::net::{check_cleartext, cleartext_allowed, CleartextRefused};
use crate::provider::net::{standard_security, STANDARD};
use crate::provider::{
    self, net, ClientType, Cloud, Flow, MailProtocol, Profile, Purpose, Security, Tenant,
};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

/// Field names as findings and the UI use them.
pub mod field {
    /// The OAuth client ID (Google client, Azure application, service account unique ID).
    pub const CLIENT_ID: &str = "clientId";
    /// The client secret.
    pub const CLIENT_SECRET: &str = "clientSecret";
    /// The Azure tenant.
    pub const TENANT: &str = "tenant";
    /// The Google Cloud project ID.
    pub const PROJECT: &str = "project";
    /// The mailbox address.
    pub const MAILBOX: &str = "mailbox";
    /// The IMAP server host.
    pub const IMAP_HOST: &str = "imapHost";
    /// The SMTP server host.
    pub const SMTP_HOST: &str = "smtpHost";
    /// The IMAP port and security.
    pub const IMAP_PORT: &str = "imapPort";
    /// The SMTP port and security.
    pub const SMTP_PORT: &str = "smtpPort";
    /// A redirect URI.
    pub const REDIRECT_URI: &str = "redirectUri";
    /// A JavaScript origin of a Google Web client.
    pub const JAVASCRIPT_ORIGIN: &str = "javascriptOrigin";
    /// The scopes to request.
    pub const SCOPES: &str = "scopes";
}

/// The name of a field as the admin sees it.
pub fn label(field: &str) -> &str {
    match field {
        field::CLIENT_ID => "Client ID",
        field::CLIENT_SECRET => "Client secret",
        field::TENANT => "Tenant",
        field::PROJECT => "Project ID",
        field::MAILBOX => "Mailbox",
        field::IMAP_HOST => "IMAP server",
        field::SMTP_HOST => "SMTP server",
        field::IMAP_PORT => "IMAP port",
        field::SMTP_PORT => "SMTP port",
        field::REDIRECT_URI => "Redirect URI",
        field::JAVASCRIPT_ORIGIN => "JavaScript origin",
        field::SCOPES => "Scopes",
        other => other,
    }
}

/// A field's cleaned value and what validation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldReport {
    /// The field.
    pub field: String,
    /// The value after cleaning and repair; absent for secrets, which never leave the core.
    pub normalized: Option<String>,
    /// What validation found, errors first.
    pub findings: Vec<Finding>,
}

impl FieldReport {
    fn new(field: &str, normalized: Option<String>, mut findings: Vec<Finding>) -> Self {
        findings.sort_by_key(|f| f.severity);
        FieldReport {
            field: field.to_string(),
            normalized,
            findings,
        }
    }

    /// True when no finding is an error.
    pub fn is_ok(&self) -> bool {
        !has_errors(&self.findings)
    }
}

/// A secret field's cleaned value (still wrapped) and what validation found.
#[derive(Debug, Clone)]
pub struct SecretReport {
    /// The cleaned secret.
    pub value: Secret<String>,
    /// What validation found; no finding contains the secret.
    pub findings: Vec<Finding>,
}

/// A pasted value after cleaning, with findings that say what was cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The cleaned value.
    pub value: String,
    /// What was removed.
    pub findings: Vec<Finding>,
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{00ad}'
    )
}

const QUOTE_PAIRS: [(char, char); 8] = [
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201c}', '\u{201d}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{201e}', '\u{201c}'),
    ('\u{ab}', '\u{bb}'),
    ('<', '>'),
];

/// Trims spaces, line breaks and invisible characters and removes surrounding quotes, saying so.
/// With `secret`, the findings do not carry the cleaned value.
pub fn normalize(field: &str, raw: &str, secret: bool) -> Normalized {
    let visible: String = raw
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect();
    let trimmed = visible.trim().to_string();
    let mut value = trimmed.clone();
    let mut dequoted = false;
    // `<...>` is only a quote around a whole URL or address someone copied from a mail.
    loop {
        let inner = QUOTE_PAIRS.iter().find_map(|(open, close)| {
            let rest = value.strip_prefix(*open)?.strip_suffix(*close)?;
            (*open != '<' || !rest.contains(['<', '>'])).then(|| rest.trim().to_string())
        });
        match inner {
            Some(inner) => {
                value = inner;
                dequoted = true;
            }
            None => break,
        }
    }
    let name = label(field);
    let mut findings = Vec::new();
    let with_value = |f: Finding, v: &str| if secret { f } else { f.normalized(v) };
    if trimmed != raw {
        findings.push(with_value(
            Finding::info(
                field,
                FindingCode::Trimmed,
                format!("{name}: removed spaces, line breaks or invisible characters around the pasted value."),
                "Nothing to do: mailoauth uses the cleaned value.",
            ),
            &value,
        ));
    }
    if dequoted {
        findings.push(with_value(
            Finding::info(
                field,
                FindingCode::Dequoted,
                format!("{name}: removed the quotes around the pasted value."),
                "Nothing to do: mailoauth uses the value without quotes.",
            ),
            &value,
        ));
    }
    Normalized { value, findings }
}

fn empty(field: &str, where_from: &str) -> Finding {
    Finding::error(
        field,
        FindingCode::Empty,
        format!("{} is empty.", label(field)),
        where_from.to_string(),
    )
}

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

const OIDC_SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];
const EXCHANGE_PERMISSIONS: [&str; 5] = [
    "IMAP.AccessAsUser.All",
    "SMTP.Send",
    "POP.AccessAsUser.All",
    "IMAP.AccessAsApp",
    "SMTP.SendAsApp",
];
const GRAPH_RESOURCES: [&str; 4] = [
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
];

fn split_scopes(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.split(|c: char| c.is_whitespace() || c == ',') {
        let item = item.trim_matches(|c| c == '"' || c == '\'');
        if !item.is_empty() && !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    out
}

/// The scopes to request, checked against the provider, flow and purpose.
pub fn scopes(
    raw: &str,
    provider: Option<&Profile>,
    flow: Option<Flow>,
    purpose: Option<Purpose>,
    cloud: Cloud,
) -> FieldReport {
    let f = field::SCOPES;
    let Normalized {
        value,
        mut findings,
    } = normalize(f, raw, false);
    let mut list = split_scopes(&value);
    if list.is_empty() {
        findings.push(empty(
            f,
            "Enter the scopes separated by spaces, or let mailoauth fill in the provider's.",
        ));
        return FieldReport::new(f, Some(String::new()), findings);
    }
    match provider.map(Profile::id) {
        Some("microsoft") => {
            if let Some(p) = provider {
                microsoft_scopes(p, &mut list, &mut findings, flow, purpose, cloud);
            }
        }
        Some("google") => google_scopes(&mut list, &mut findings, flow),
        _ => {}
    }
    let normalized = list.join(" ");
    if value.contains(',') && !findings.iter().any(|x| x.normalized_value.is_some()) {
        findings.push(
            Finding::info(
                f,
                FindingCode::Trimmed,
                "Scopes: scopes are separated by spaces; mailoauth replaced the commas.",
                "Nothing to do.",
            )
            .normalized(normalized.clone()),
        );
    }
    // Every finding that repairs something offers the whole repaired list.
    for finding in &mut findings {
        if finding.normalized_value.is_some() {
            finding.normalized_value = Some(normalized.clone());
        }
    }
    FieldReport::new(f, Some(normalized), findings)
}

fn microsoft_scopes(
    p: &Profile,
    list: &mut Vec<String>,
    findings: &mut Vec<Finding>,
    flow: Option<Flow>,
    purpose: Option<Purpose>,
    cloud: Cloud,
) {
    let f = field::SCOPES;
    let vars = p.cloud_vars(cloud).ok();
    let var = |n: &str| vars.and_then(|v| v.get(n)).cloned().unwrap_or_default();
    let (exchange, exchange_app) = (var("exchange"), var("exchange_app"));
    let all_exchange: Vec<String> = p
        .clouds()
        .iter()
        .filter_map(|c| p.cloud_vars(*c).ok())
        .flat_map(|v| [v.get("exchange").cloned(), v.get("exchange_app").cloned()])
        .flatten()
        .chain([String::from("https://ps.outlook.com")])
        .collect();
    let resource_of = |s: &str| s.rsplit_once('/').map(|(r, _)| r.to_string());
    let app_only = flow.is_some_and(|fl| !fl.is_delegated());

    let mut replaced = Vec::with_capacity(list.len());
    for scope in list.iter() {
        let perm = scope.rsplit('/').next().unwrap_or(scope);
        let resource = resource_of(scope).filter(|_| scope.starts_with("https://"));
        let is_graph = match &resource {
            Some(r) => GRAPH_RESOURCES.contains(&r.as_str()),
            None => {
                !OIDC_SCOPES.contains(&scope.as_str())
                    && !EXCHANGE_PERMISSIONS.contains(&scope.as_str())
            }
        };
        if perm == "Mail.Send" && is_graph {
            findings.push(
                Finding::error(
                    f,
                    FindingCode::GraphMailSendNotSmtp,
                    "Scopes: Mail.Send is Microsoft Graph's permission for its sendMail API; SMTP does not accept it.",
                    format!("For SMTP AUTH request {exchange}/SMTP.Send."),
                )
                .normalized(String::new())
                .step("microsoft.delegated_permissions"),
            );
            replaced.push(format!("{exchange}/SMTP.Send"));
            continue;
        }
        if resource.is_none() && EXCHANGE_PERMISSIONS.contains(&scope.as_str()) {
            let fixed = format!("{exchange}/{scope}");
            findings.push(
                Finding::error(
                    f,
                    FindingCode::ScopeMissingResource,
                    format!("Scopes: {scope} without its resource is requested from Microsoft Graph, and IMAP/SMTP reject Graph tokens."),
                    format!("Request {fixed}."),
                )
                .normalized(String::new()),
            );
            replaced.push(fixed);
            continue;
        }
        if let Some(r) = &resource {
            if all_exchange.contains(r)
                && r != &exchange
                && r != &exchange_app
                && r != "https://ps.outlook.com"
            {
                let fixed = format!("{exchange}/{perm}");
                findings.push(
                    Finding::warning(
                        f,
                        FindingCode::ScopeWrongCloud,
                        format!(
                            "Scopes: {r} belongs to another Microsoft cloud than {}.",
                            cloud.label()
                        ),
                        format!("Request {fixed}, or choose the right cloud."),
                    )
                    .normalized(String::new()),
                );
                replaced.push(fixed);
                continue;
            }
        }
        replaced.push(scope.clone());
    }
    *list = replaced;
    list.dedup();

    let is_exchange = |s: &String| {
        s.starts_with("https://") && resource_of(s).is_some_and(|r| all_exchange.contains(&r))
    };
    let is_graph_scope = |s: &String| {
        if OIDC_SCOPES.contains(&s.as_str()) {
            return false;
        }
        match resource_of(s).filter(|_| s.starts_with("https://")) {
            Some(r) => GRAPH_RESOURCES.contains(&r.as_str()),
            None => true,
        }
    };
    if list.iter().any(is_exchange) && list.iter().any(is_graph_scope) {
        let graph: Vec<&str> = list
            .iter()
            .filter(|s| is_graph_scope(s))
            .map(String::as_str)
            .collect();
        findings.push(Finding::error(
            f,
            FindingCode::ScopeMixedResources,
            format!("Scopes: Microsoft Graph scopes ({}) and Exchange scopes cannot be in one request; Azure answers AADSTS28000 or issues a token for only one of them.", graph.join(", ")),
            "Request only the Exchange scopes (plus openid, email, offline_access) for IMAP and SMTP.",
        ));
    }
    let defaults: Vec<&String> = list.iter().filter(|s| s.ends_with("/.default")).collect();
    if !defaults.is_empty() && list.len() > defaults.len() {
        findings.push(Finding::error(
            f,
            FindingCode::ScopeDefaultMixed,
            "Scopes: .default cannot be combined with other scopes in one request.",
            if app_only {
                format!("For app-only access request {exchange_app}/.default alone.")
            } else {
                format!("For a signed-in user request {exchange}/IMAP.AccessAsUser.All and/or {exchange}/SMTP.Send instead.")
            },
        ));
    }
    if app_only {
        if defaults.is_empty() {
            findings.push(
                Finding::error(
                    f,
                    FindingCode::ScopeNeedsDefault,
                    "Scopes: app-only access (client credentials) takes exactly one scope, the resource's .default.",
                    format!("Request {exchange_app}/.default alone."),
                )
                .normalized(String::new()),
            );
            *list = vec![format!("{exchange_app}/.default")];
        }
        return;
    }
    let has = |perm: &str| list.iter().any(|s| s.ends_with(&format!("/{perm}")));
    let purpose = purpose.unwrap_or(Purpose::Both);
    let mut missing = Vec::new();
    if purpose.receives() && !has("IMAP.AccessAsUser.All") && defaults.is_empty() {
        missing.push(format!("{exchange}/IMAP.AccessAsUser.All"));
    }
    if purpose.sends() && !has("SMTP.Send") && defaults.is_empty() {
        missing.push(format!("{exchange}/SMTP.Send"));
    }
    if !missing.is_empty() {
        findings.push(
            Finding::error(
                f,
                FindingCode::ScopeMissingForPurpose,
                format!(
                    "Scopes: {} missing for what the service does.",
                    missing.join(" and ")
                ),
                "Add it; mailoauth can fill in the scopes for the purpose.",
            )
            .normalized(String::new()),
        );
        for m in missing.into_iter().rev() {
            list.insert(0, m);
        }
    }
    if !list.iter().any(|s| s == "offline_access") {
        findings.push(
            Finding::warning(
                f,
                FindingCode::ScopeMissingOfflineAccess,
                "Scopes: without offline_access Microsoft issues no refresh token, and the service stops after about an hour.",
                "Add offline_access.",
            )
            .normalized(String::new()),
        );
        list.push(String::from("offline_access"));
    }
}

fn google_scopes(list: &mut Vec<String>, findings: &mut Vec<Finding>, flow: Option<Flow>) {
    let f = field::SCOPES;
    const MAIL: &str = "https://mail.google.com/";
    let mut replaced: Vec<String> = Vec::new();
    for scope in list.iter() {
        let fixed = if scope == "https://mail.google.com" || scope == "mail.google.com" {
            findings.push(
                Finding::warning(
                    f,
                    FindingCode::ScopeTrailingSlash,
                    format!("Scopes: the Gmail scope is {MAIL}, with the trailing slash."),
                    format!("Request {MAIL}."),
                )
                .normalized(String::new()),
            );
            Some(MAIL.to_string())
        } else if scope.starts_with("https://www.googleapis.com/auth/gmail.") {
            findings.push(
                Finding::error(
                    f,
                    FindingCode::GmailApiScopeNotMail,
                    format!("Scopes: {scope} is a Gmail API scope; Gmail's IMAP and SMTP servers accept only {MAIL}."),
                    format!("Request {MAIL} instead."),
                )
                .normalized(String::new())
                .step("google.restricted_scope"),
            );
            Some(MAIL.to_string())
        } else if scope == "offline_access" {
            findings.push(
                Finding::warning(
                    f,
                    FindingCode::ScopeMissingOfflineAccess,
                    "Scopes: Google does not know offline_access and refuses the request; it gives refresh tokens through access_type=offline, which mailoauth adds.",
                    "Remove offline_access.",
                )
                .normalized(String::new()),
            );
            None
        } else {
            Some(scope.clone())
        };
        if let Some(s) = fixed {
            if !replaced.contains(&s) {
                replaced.push(s);
            }
        }
    }
    *list = replaced;
    let has_mail = list.iter().any(|s| s == MAIL);
    if flow == Some(Flow::DeviceCode) && has_mail {
        findings.push(Finding::error(
            f,
            FindingCode::ScopeDeviceFlowGmail,
            format!("Scopes: Google's device flow does not allow {MAIL}, so it cannot give a token for IMAP or SMTP."),
            "Use the loopback flow (a browser on any machine), or a service account for Workspace.",
        ));
    }
    if !has_mail {
        findings.push(
            Finding::error(
                f,
                FindingCode::ScopeMissingForPurpose,
                format!(
                    "Scopes: {MAIL} is missing; it is the only scope Gmail's IMAP and SMTP accept."
                ),
                format!("Add {MAIL}."),
            )
            .normalized(String::new())
            .step("google.restricted_scope"),
        );
        list.insert(0, MAIL.to_string());
    }
}

/// The fields [`validate_field`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// The client ID (Google, Azure, or generic by provider).
    ClientId,
    /// The client secret.
    ClientSecret,
    /// The Azure tenant.
    Tenant,
    /// The Google Cloud project ID.
    Project,
    /// The mailbox address.
    Mailbox,
    /// The IMAP server host.
    ImapHost,
    /// The SMTP server host.
    SmtpHost,
    /// A redirect URI.
    RedirectUri,
    /// A JavaScript origin.
    JavascriptOrigin,
    /// The scopes, separated by spaces.
    Scopes,
}

/// What the wizard already knows when a field is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldContext {
    /// The provider id (`google`, `microsoft`, `generic`), if chosen.
    pub provider: Option<String>,
    /// The flow, if chosen.
    pub flow: Option<Flow>,
    /// The client type, if chosen.
    pub client_type: Option<ClientType>,
    /// The purpose, if chosen.
    pub purpose: Option<Purpose>,
    /// The cloud.
    pub cloud: Cloud,
}

impl FieldContext {
    fn profile(&self) -> Option<&'static Profile> {
        self.provider.as_deref().and_then(provider::profile)
    }
}

/// Checks one field as it is typed: the entry point for the UI. Secrets are checked too, but
/// their report never carries the value.
pub fn validate_field(kind: FieldKind, raw: &str, ctx: &FieldContext) -> FieldReport {
    let provider = ctx.provider.as_deref();
    let profile = ctx.profile();
    match kind {
        FieldKind::ClientId => match provider {
            Some("google") => google_client_id(raw, ctx.flow),
            Some("microsoft") => azure_client_id(raw),
            _ => generic_value(
                field::CLIENT_ID,
                raw,
                "Copy the client ID from your provider's client registration.",
            ),
        },
        FieldKind::ClientSecret => {
            let secret = Secret::new(raw.to_string());
            let findings = match provider {
                Some("google") => google_client_secret(&secret).findings,
                Some("microsoft") => azure_client_secret(&secret, ctx.client_type).findings,
                _ => {
                    let n = normalize(field::CLIENT_SECRET, raw, true);
                    let mut findings = n.findings;
                    if n.value.is_empty() && ctx.client_type != Some(ClientType::Desktop) {
                        findings.push(empty(
                            field::CLIENT_SECRET,
                            "Copy the client secret from your provider's client registration.",
                        ));
                    }
                    findings
                }
            };
            FieldReport::new(field::CLIENT_SECRET, None, findings)
        }
        FieldKind::Tenant => azure_tenant(raw, ctx.flow),
        FieldKind::Project => project_id(raw),
        FieldKind::Mailbox => mailbox(raw, provider),
        FieldKind::ImapHost => host(
            field::IMAP_HOST,
            raw,
            MailProtocol::Imap,
            profile,
            ctx.cloud,
        ),
        FieldKind::SmtpHost => host(
            field::SMTP_HOST,
            raw,
            MailProtocol::Smtp,
            profile,
            ctx.cloud,
        ),
        FieldKind::RedirectUri => redirect_uri(raw, provider, ctx.client_type),
        FieldKind::JavascriptOrigin => javascript_origin(raw, provider),
        FieldKind::Scopes => scopes(raw, profile, ctx.flow, ctx.purpose, ctx.cloud),
    }
}

fn generic_value(f: &str, raw: &str, fix: &str) -> FieldReport {
    let Normalized {
        value,
        mut findings,
    } = normalize(f, raw, false);
    if value.is_empty() {
        findings.push(empty(f, fix));
    } else if value.chars().any(char::is_whitespace) {
        findings.push(Finding::error(
            f,
            FindingCode::ValueHasSpaces,
            format!("{}: it contains spaces.", label(f)),
            fix,
        ));
    }
    FieldReport::new(f, Some(value), findings)
}

/// A port and security pair as the UI sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PortSecurityInput {
    /// IMAP or SMTP.
    pub protocol: MailProtocol,
    /// The port as typed (checked for range here).
    pub port: u32,
    /// The security chosen.
    pub security: Security,
    /// The host, when typed: `None` security is tolerated only for this machine.
    pub host: Option<String>,
}

/// Checks a port and security pair: the entry point for the UI.
pub fn validate_port_security(input: &PortSecurityInput, ctx: &FieldContext) -> FieldReport {
    port_security(
        input.protocol,
        input.port,
        input.security,
        input.host.as_deref(),
        ctx.profile(),
        ctx.cloud,
    )
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
