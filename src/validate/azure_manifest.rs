//! An Azure app manifest, as downloaded from the portal's Manifest page, checked offline against
//! the flow and purpose: supported account types, public-client setting, redirect URIs and their
//! platform, required permissions and client secret expiry. Each missing item points at the
//! registration checklist step that fixes it.
//!
//! Both shapes the portal has used are read: the classic Azure AD Graph one
//! (`allowPublicClient`, `replyUrlsWithType`) and the Microsoft Graph one
//! (`isFallbackPublicClient`, `publicClient.redirectUris`, `web.redirectUris`).

use super::file::FileContext;
use super::input;
use super::{Finding, FindingCode, Severity};
use crate::date::CivilDate;
use crate::provider::{self, net, ClientType, Flow, Purpose, Tenant, DEFAULT_WEB_REDIRECT_PORT};
use serde_json::{Map, Value};
use url::Url;

/// Microsoft Graph's application ID.
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's application ID.
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A delegated permission (`"type": "Scope"`).
    Scope,
    /// An application permission (`"type": "Role"`).
    Role,
}

struct Known {
    resource: &'static str,
    id: &'static str,
    name: &'static str,
    kind: Kind,
}

// Where the IDs come from (see docs/PROVIDERS.md):
// - Microsoft Graph delegated permissions: the Graph permissions reference as published in
//   merill/graph-permissions-explorer (permission/<name>.md), generated from Graph's service
//   principal.
// - Office 365 Exchange Online delegated permissions and IMAP.AccessAsApp: a public listing of the
//   Exchange Online service principal's oauth2PermissionScopes and appRoles; IMAP.AccessAsApp also
//   appears with the same ID in several public manifests.
// - SMTP.SendAsApp: not in that listing nor in Microsoft's docs; the ID is from two independent
//   public manifests only, so a missing SMTP.SendAsApp is reported as unconfirmed when the manifest
//   has other Exchange application permissions.
const KNOWN: &[Known] = &[
    Known {
        resource: GRAPH,
        id: "652390e4-393a-48de-9484-05f9b1212954",
        name: "IMAP.AccessAsUser.All",
        kind: Kind::Scope,
    },
    Known {
        resource: GRAPH,
        id: "258f6531-6087-4cc4-bb90-092c5fb3ed3f",
        name: "SMTP.Send",
        kind: Kind::Scope,
    },
    Known {
        resource: GRAPH,
        id: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        name: "offline_access",
        kind: Kind::Scope,
    },
    Known {
        resource: GRAPH,
        id: "37f7f235-527c-4136-accd-4a02d197296e",
        name: "openid",
        kind: Kind::Scope,
    },
    Known {
        resource: GRAPH,
        id: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        name: "email",
        kind: Kind::Scope,
    },
    Known {
        resource: GRAPH,
        id: "e383f46e-2787-4529-855e-0e479a3ffac0",
        name: "Mail.Send",
        kind: Kind::Scope,
    },
    Known {
        resource: GRAPH,
        id: "b633e1c5-b582-4048-a93e-9f11b44c7e96",
        name: "Mail.Send",
        kind: Kind::Role,
    },
    Known {
        resource: EXCHANGE,
        id: "195adc35-e27b-454b-a7ed-1ecdffa1c09f",
        name: "IMAP.AccessAsUser.All",
        kind: Kind::Scope,
    },
    Known {
        resource: EXCHANGE,
        id: "76faac2a-0f20-42f1-928a-50de5b9dbe52",
        name: "SMTP.Send",
        kind: Kind::Scope,
    },
    Known {
        resource: EXCHANGE,
        id: "5eb43c10-865a-4259-960a-83946678f8dd",
        name: "Mail.Send",
        kind: Kind::Scope,
    },
    Known {
        resource: EXCHANGE,
        id: "5e5addcd-3e8d-4e90-baf5-964efab2b20a",
        name: "IMAP.AccessAsApp",
        kind: Kind::Role,
    },
    Known {
        resource: EXCHANGE,
        id: "7146a1f0-8703-45b3-9eae-527a64c00995",
        name: "SMTP.SendAsApp",
        kind: Kind::Role,
    },
    Known {
        resource: EXCHANGE,
        id: "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
        name: "full_access_as_app",
        kind: Kind::Role,
    },
];

/// A permission the flow and purpose need.
struct Need {
    name: &'static str,
    kind: Kind,
    /// For the other kind of flow, the permission people add by mistake.
    other_kind: Option<&'static str>,
    sends: bool,
    receives: bool,
    severity: Severity,
    step: &'static str,
    why: &'static str,
}

const DELEGATED_NEEDS: &[Need] = &[
    Need {
        name: "IMAP.AccessAsUser.All",
        kind: Kind::Scope,
        other_kind: Some("IMAP.AccessAsApp"),
        sends: false,
        receives: true,
        severity: Severity::Error,
        step: "microsoft.delegated_permissions",
        why: "IMAP accepts only tokens carrying it",
    },
    Need {
        name: "SMTP.Send",
        kind: Kind::Scope,
        other_kind: Some("SMTP.SendAsApp"),
        sends: true,
        receives: false,
        severity: Severity::Error,
        step: "microsoft.delegated_permissions",
        why: "SMTP AUTH accepts only tokens carrying it",
    },
    Need {
        name: "offline_access",
        kind: Kind::Scope,
        other_kind: None,
        sends: true,
        receives: true,
        severity: Severity::Warning,
        step: "microsoft.delegated_permissions",
        why: "without it there is no refresh token unless users may consent themselves",
    },
    Need {
        name: "openid",
        kind: Kind::Scope,
        other_kind: None,
        sends: true,
        receives: true,
        severity: Severity::Warning,
        step: "microsoft.delegated_permissions",
        why: "mailoauth reads the signed-in mailbox from the id_token",
    },
    Need {
        name: "email",
        kind: Kind::Scope,
        other_kind: None,
        sends: true,
        receives: true,
        severity: Severity::Warning,
        step: "microsoft.delegated_permissions",
        why: "the id_token then carries the mailbox address",
    },
];

const APP_ONLY_NEEDS: &[Need] = &[
    Need {
        name: "IMAP.AccessAsApp",
        kind: Kind::Role,
        other_kind: Some("IMAP.AccessAsUser.All"),
        sends: false,
        receives: true,
        severity: Severity::Error,
        step: "microsoft.application_permissions",
        why: "IMAP accepts app-only tokens only with this role",
    },
    Need {
        name: "SMTP.SendAsApp",
        kind: Kind::Role,
        other_kind: Some("SMTP.Send"),
        sends: true,
        receives: false,
        severity: Severity::Error,
        step: "microsoft.application_permissions",
        why: "SMTP AUTH accepts app-only tokens only with this role",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    Web,
    Spa,
    PublicClient,
}

impl Platform {
    fn label(self) -> &'static str {
        match self {
            Platform::Web => "Web",
            Platform::Spa => "Single-page application",
            Platform::PublicClient => "Mobile and desktop applications",
        }
    }
}

struct Redirect {
    uri: String,
    platform: Platform,
    field: String,
}

struct Permission {
    resource: String,
    id: String,
    kind: Option<Kind>,
}

struct PasswordCredential {
    name: Option<String>,
    end: Option<String>,
    field: String,
}

/// The manifest in either shape, reduced to what mailoauth checks.
struct AzureApp {
    graph_shape: bool,
    display_name: Option<String>,
    app_id: Option<String>,
    object_id: Option<String>,
    audience: Option<String>,
    public_client: Option<bool>,
    public_client_field: &'static str,
    redirects: Vec<Redirect>,
    permissions: Vec<Permission>,
    secrets: Vec<PasswordCredential>,
    certificates: usize,
}

const CLASSIC_KEYS: [&str; 3] = [
    "allowPublicClient",
    "replyUrlsWithType",
    "oauth2AllowIdTokenImplicitFlow",
];
const GRAPH_KEYS: [&str; 4] = [
    "isFallbackPublicClient",
    "publicClient",
    "spa",
    "signInAudience",
];

/// True when `root` looks like an Azure app manifest of either shape.
pub(crate) fn looks_like_manifest(root: &Map<String, Value>) -> bool {
    let has = |k: &str| root.contains_key(k);
    (has("appId") || has("requiredResourceAccess"))
        && (CLASSIC_KEYS.iter().any(|k| has(k))
            || GRAPH_KEYS.iter().any(|k| has(k))
            || has("requiredResourceAccess"))
}

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn parse(root: &Map<String, Value>) -> AzureApp {
    let graph_shape = root.contains_key("isFallbackPublicClient")
        || root.contains_key("publicClient")
        || root.get("web").is_some_and(Value::is_object);
    let mut redirects = Vec::new();
    if let Some(list) = root.get("replyUrlsWithType").and_then(Value::as_array) {
        for (i, r) in list.iter().enumerate() {
            let Some(obj) = r.as_object() else { continue };
            let Some(uri) = str_of(obj, "url") else {
                continue;
            };
            let platform = match str_of(obj, "type") {
                Some("InstalledClient") => Platform::PublicClient,
                Some("Spa") => Platform::Spa,
                _ => Platform::Web,
            };
            redirects.push(Redirect {
                uri: uri.to_string(),
                platform,
                field: format!("replyUrlsWithType[{i}]"),
            });
        }
    } else if let Some(list) = root.get("replyUrls").and_then(Value::as_array) {
        for (i, uri) in list.iter().filter_map(Value::as_str).enumerate() {
            redirects.push(Redirect {
                uri: uri.to_string(),
                platform: Platform::Web,
                field: format!("replyUrls[{i}]"),
            });
        }
    }
    for (key, platform) in [
        ("web", Platform::Web),
        ("spa", Platform::Spa),
        ("publicClient", Platform::PublicClient),
    ] {
        let list = root
            .get(key)
            .and_then(|v| v.get("redirectUris"))
            .and_then(Value::as_array);
        for (i, uri) in list
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .enumerate()
        {
            redirects.push(Redirect {
                uri: uri.to_string(),
                platform,
                field: format!("{key}.redirectUris[{i}]"),
            });
        }
    }

    let mut permissions = Vec::new();
    for resource in root
        .get("requiredResourceAccess")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(app) = resource.get("resourceAppId").and_then(Value::as_str) else {
            continue;
        };
        for access in resource
            .get("resourceAccess")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(id) = access.get("id").and_then(Value::as_str) else {
                continue;
            };
            let kind = match access.get("type").and_then(Value::as_str) {
                Some("Scope") => Some(Kind::Scope),
                Some("Role") => Some(Kind::Role),
                _ => None,
            };
            permissions.push(Permission {
                resource: app.to_ascii_lowercase(),
                id: id.to_ascii_lowercase(),
                kind,
            });
        }
    }

    let secrets = root
        .get("passwordCredentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, c)| {
            let obj = c.as_object()?;
            Some(PasswordCredential {
                name: str_of(obj, "displayName")
                    .or_else(|| str_of(obj, "customKeyIdentifier"))
                    .map(String::from),
                end: str_of(obj, "endDateTime")
                    .or_else(|| str_of(obj, "endDate"))
                    .map(String::from),
                field: format!("passwordCredentials[{i}]"),
            })
        })
        .collect();
    let certificates = root
        .get("keyCredentials")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let (public_client, public_client_field) = if graph_shape {
        (
            root.get("isFallbackPublicClient").and_then(Value::as_bool),
            "isFallbackPublicClient",
        )
    } else {
        (
            root.get("allowPublicClient").and_then(Value::as_bool),
            "allowPublicClient",
        )
    };
    AzureApp {
        graph_shape,
        display_name: str_of(root, "displayName")
            .or_else(|| str_of(root, "name"))
            .map(String::from),
        app_id: str_of(root, "appId").map(str::to_ascii_lowercase),
        object_id: str_of(root, "id").map(str::to_ascii_lowercase),
        audience: str_of(root, "signInAudience").map(String::from),
        public_client,
        public_client_field,
        redirects,
        permissions,
        secrets,
        certificates,
    }
}

impl AzureApp {
    fn has(&self, name: &str, kind: Kind) -> bool {
        self.permissions.iter().any(|p| {
            KNOWN.iter().any(|k| {
                k.name == name
                    && k.kind == kind
                    && k.resource == p.resource
                    && k.id == p.id
                    && p.kind.is_none_or(|pk| pk == kind)
            })
        })
    }

    fn unknown_exchange_roles(&self) -> bool {
        self.permissions.iter().any(|p| {
            p.resource == EXCHANGE
                && p.kind == Some(Kind::Role)
                && !KNOWN.iter().any(|k| k.resource == EXCHANGE && k.id == p.id)
        })
    }
}

/// Checks a manifest; returns a one-line description and the findings.
pub(crate) fn check_manifest(
    root: &Map<String, Value>,
    ctx: &FileContext,
    flow: Flow,
    client_type: ClientType,
    purpose: Purpose,
    today: CivilDate,
) -> (String, Vec<Finding>) {
    let app = parse(root);
    let mut findings = Vec::new();
    let shape = if app.graph_shape {
        "Microsoft Graph format"
    } else {
        "classic format"
    };
    let description = format!(
        "Azure app manifest ({shape}) of {}, Application (client) ID {}",
        app.display_name
            .as_deref()
            .map_or_else(|| String::from("an unnamed app"), |n| format!("{n:?}")),
        app.app_id.as_deref().unwrap_or("<no appId>")
    );
    let mut summary = Finding::info(
        "appId",
        FindingCode::FileSummary,
        description.clone(),
        "Use the appId as mailoauth's client ID.",
    );
    if let Some(id) = &app.app_id {
        summary = summary.normalized(id.clone());
    }
    findings.push(summary);

    check_ids(&app, ctx, &mut findings);
    check_audience(&app, ctx, &mut findings);
    check_public_client(&app, flow, &mut findings);
    check_redirects(&app, ctx, flow, client_type, &mut findings);
    check_permissions(&app, flow, purpose, &mut findings);
    check_secrets(&app, flow, client_type, today, &mut findings);
    (description, findings)
}

fn check_ids(app: &AzureApp, ctx: &FileContext, findings: &mut Vec<Finding>) {
    let Some(given) = ctx
        .client_id
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    if app.object_id.as_deref() == Some(given.as_str()) {
        let mut f = Finding::error(
            "id",
            FindingCode::ObjectIdNotClientId,
            "The client ID entered is this app's Object ID; sign-in needs the Application (client) ID.",
            "Use the appId (Application (client) ID on the Overview page).",
        )
        .step("microsoft.app_registration");
        if let Some(id) = &app.app_id {
            f = f.normalized(id.clone());
        }
        findings.push(f);
    } else if let Some(app_id) = app.app_id.as_deref().filter(|a| *a != given) {
        findings.push(
            Finding::warning(
                "appId",
                FindingCode::ClientIdMismatch,
                format!("This manifest is of application {app_id}, not of the client ID entered ({given})."),
                "Download the manifest of the app you entered, or use this app's ID.",
            )
            .normalized(app_id),
        );
    }
}

fn check_audience(app: &AzureApp, ctx: &FileContext, findings: &mut Vec<Finding>) {
    let tenant = ctx.tenant.as_deref().and_then(Tenant::parse);
    match app.audience.as_deref() {
        Some("PersonalMicrosoftAccount") => findings.push(
            Finding::error(
                "signInAudience",
                FindingCode::ManifestAudiencePersonal,
                "signInAudience is PersonalMicrosoftAccount: only personal Microsoft accounts can sign in, never Microsoft 365 mailboxes.",
                "Register a new app with Accounts in this organizational directory only (the account type of an existing app cannot always be changed).",
            )
            .step("microsoft.account_types"),
        ),
        Some("AzureADMyOrg") => match tenant {
            Some(t) if !t.is_specific() => findings.push(
                Finding::error(
                    "signInAudience",
                    FindingCode::ManifestSingleTenant,
                    format!("signInAudience is AzureADMyOrg (single tenant), but mailoauth is set to the {t} tenant: the sign-in fails with AADSTS50194."),
                    "Give mailoauth the Directory (tenant) ID or your domain instead.",
                )
                .step("microsoft.account_types"),
            ),
            Some(_) => {}
            None => findings.push(
                Finding::info(
                    "signInAudience",
                    FindingCode::ManifestSingleTenant,
                    "signInAudience is AzureADMyOrg (single tenant): mailoauth must use your Directory (tenant) ID, not organizations.",
                    "Enter the Directory (tenant) ID from the app's Overview page.",
                )
                .step("microsoft.account_types"),
            ),
        },
        Some(other @ ("AzureADMultipleOrgs" | "AzureADandPersonalMicrosoftAccount")) => findings.push(
            Finding::warning(
                "signInAudience",
                FindingCode::ManifestMultiTenant,
                format!("signInAudience is {other}: users of any organization can sign in to this app."),
                "For a service of your own organization choose Accounts in this organizational directory only.",
            )
            .step("microsoft.account_types"),
        ),
        _ => {}
    }
}

fn check_public_client(app: &AzureApp, flow: Flow, findings: &mut Vec<Finding>) {
    if flow == Flow::DeviceCode && app.public_client != Some(true) {
        let state = match app.public_client {
            Some(false) => "false",
            _ => "not set (No)",
        };
        findings.push(
            Finding::error(
                app.public_client_field,
                FindingCode::PublicClientOff,
                format!("{} is {state}: the device code flow fails with AADSTS7000218 until Allow public client flows is Yes.", app.public_client_field),
                "Authentication, Advanced settings, Allow public client flows: Yes, then Save.",
            )
            .normalized("true")
            .step("microsoft.public_client"),
        );
    }
}

fn is_loopback_http(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| u.scheme() == "http" && net::url_is_loopback(&u))
}

fn check_redirects(
    app: &AzureApp,
    ctx: &FileContext,
    flow: Flow,
    client_type: ClientType,
    findings: &mut Vec<Finding>,
) {
    for r in &app.redirects {
        let report = input::redirect_uri_at(&r.field, &r.uri, Some("microsoft"), None);
        findings.extend(report.findings.into_iter().filter(|f| {
            !matches!(
                f.code,
                FindingCode::Trimmed | FindingCode::Dequoted | FindingCode::RedirectNotLoopback
            )
        }));
    }
    if flow != Flow::Loopback {
        return;
    }
    let wanted = match client_type {
        ClientType::Web => Platform::Web,
        _ => Platform::PublicClient,
    };
    let (step, expected) = match wanted {
        Platform::Web => {
            let port = ctx.redirect_port.unwrap_or(DEFAULT_WEB_REDIRECT_PORT);
            let uri = provider::profile("microsoft")
                .and_then(|p| p.redirect(Flow::Loopback, ClientType::Web, port))
                .map_or_else(|| format!("http://localhost:{port}/"), |r| r.uri);
            ("microsoft.platform_web", uri)
        }
        _ => (
            "microsoft.platform_desktop",
            String::from("http://localhost"),
        ),
    };
    let matches = |r: &&Redirect| match wanted {
        Platform::Web => r.uri == expected,
        _ => is_loopback_http(&r.uri),
    };
    if app
        .redirects
        .iter()
        .filter(|r| r.platform == wanted)
        .any(|r| matches(&r))
    {
        return;
    }
    if let Some(r) = app
        .redirects
        .iter()
        .filter(|r| r.platform != wanted)
        .find(|r| matches(r))
    {
        let consequence = match (wanted, r.platform) {
            (Platform::PublicClient, Platform::Web) => "Azure then treats the app as confidential and the token request fails with AADSTS7000218",
            (_, Platform::Spa) => "the token request fails with AADSTS9002327",
            _ => "Azure then treats the app as a public client and ignores its secret",
        };
        findings.push(
            Finding::error(
                &r.field,
                FindingCode::RedirectWrongPlatform,
                format!(
                    "{} is registered under {}, not {}: {consequence}.",
                    r.uri,
                    r.platform.label(),
                    wanted.label()
                ),
                format!(
                    "Remove it there and add {expected} under {}.",
                    wanted.label()
                ),
            )
            .normalized(expected)
            .step(step),
        );
        return;
    }
    let field = if app.graph_shape {
        match wanted {
            Platform::Web => "web.redirectUris",
            _ => "publicClient.redirectUris",
        }
    } else {
        "replyUrlsWithType"
    };
    findings.push(
        Finding::error(
            field,
            FindingCode::RedirectMissing,
            format!("No {} redirect {expected} is registered: the sign-in fails with AADSTS50011 (redirect URI mismatch).", wanted.label()),
            format!("Authentication, Add a platform, {}, redirect URI {expected}.", wanted.label()),
        )
        .normalized(expected)
        .step(step),
    );
}

fn check_permissions(app: &AzureApp, flow: Flow, purpose: Purpose, findings: &mut Vec<Finding>) {
    let field = "requiredResourceAccess";
    let (needs, other_kind) = if flow.is_delegated() {
        (DELEGATED_NEEDS, Kind::Role)
    } else {
        (APP_ONLY_NEEDS, Kind::Scope)
    };
    for need in needs {
        let applies = (need.sends && purpose.sends()) || (need.receives && purpose.receives());
        if !applies || app.has(need.name, need.kind) {
            continue;
        }
        let kind_word = match need.kind {
            Kind::Scope => "delegated",
            Kind::Role => "application",
        };
        if let Some(other) = need.other_kind.filter(|o| app.has(o, other_kind)) {
            let (has_word, flow_word) = match need.kind {
                Kind::Scope => ("application permission", "a signed-in user's token"),
                Kind::Role => ("delegated permission", "an app-only token"),
            };
            findings.push(
                Finding::error(
                    field,
                    FindingCode::PermissionWrongType,
                    format!("The app has the {has_word} {other}, but {flow_word} needs the {kind_word} permission {}.", need.name),
                    format!("Add {} ({kind_word}) and grant admin consent.", need.name),
                )
                .step(need.step),
            );
            continue;
        }
        let graph_mail_send =
            need.sends && (app.has("Mail.Send", Kind::Scope) || app.has("Mail.Send", Kind::Role));
        if graph_mail_send && need.severity == Severity::Error {
            findings.push(
                Finding::error(
                    field,
                    FindingCode::GraphMailSendNotSmtp,
                    format!("The app has Mail.Send, which is for the Graph API's sendMail; SMTP needs {} ({kind_word}).", need.name),
                    format!("Add {} and grant admin consent; Mail.Send can go unless something else uses it.", need.name),
                )
                .step(need.step),
            );
            continue;
        }
        if need.name == "SMTP.SendAsApp" && app.unknown_exchange_roles() {
            findings.push(
                Finding::warning(
                    field,
                    FindingCode::PermissionUnconfirmed,
                    "SMTP.SendAsApp was not found by its ID, but the app has Office 365 Exchange Online application permissions mailoauth does not know; one of them may be SMTP.SendAsApp.",
                    "Check API permissions in the portal: Office 365 Exchange Online, SMTP.SendAsApp (Application), consented.",
                )
                .step(need.step),
            );
            continue;
        }
        let resource = match need.kind {
            Kind::Scope => "Microsoft Graph",
            Kind::Role => "Office 365 Exchange Online",
        };
        findings.push(
            Finding::new(
                field,
                need.severity,
                FindingCode::PermissionMissing,
                format!("The {kind_word} permission {} is missing: {}.", need.name, need.why),
                format!("API permissions, Add a permission, {resource}, {} permissions, {}; then grant admin consent.", if need.kind == Kind::Scope { "Delegated" } else { "Application" }, need.name),
            )
            .step(need.step),
        );
    }
}

/// How many days before expiry a secret is worth a warning.
const EXPIRY_WARNING_DAYS: i64 = 30;

fn check_secrets(
    app: &AzureApp,
    flow: Flow,
    client_type: ClientType,
    today: CivilDate,
    findings: &mut Vec<Finding>,
) {
    let confidential = client_type != ClientType::Desktop || flow == Flow::ClientCredentials;
    if confidential && app.secrets.is_empty() && app.certificates == 0 {
        findings.push(
            Finding::error(
                "passwordCredentials",
                FindingCode::SecretMissing,
                "The app has no client secret and no certificate, which this client type needs to get a token.",
                "Certificates & secrets, New client secret; copy its Value and record the expiry date.",
            )
            .step("microsoft.client_secret"),
        );
    }
    if !confidential && !app.secrets.is_empty() {
        findings.push(
            Finding::info(
                "passwordCredentials",
                FindingCode::SecretNotNeeded,
                "The app has client secrets, but a desktop (public) client uses none.",
                "Nothing to do for mailoauth; delete them if nothing else uses them.",
            )
            .step("microsoft.client_secret"),
        );
    }
    for s in &app.secrets {
        let name = s.name.as_deref().map_or_else(
            || String::from("A client secret"),
            |n| format!("Client secret {n:?}"),
        );
        let Some(end) = s.end.as_deref().and_then(CivilDate::parse_prefix) else {
            continue;
        };
        let days = end.days() - today.days();
        let (severity, code, message) = if days < 0 {
            (
                if confidential {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                FindingCode::SecretExpired,
                format!("{name} expired on {end}; token requests with it fail with AADSTS7000222."),
            )
        } else if days <= EXPIRY_WARNING_DAYS {
            (
                Severity::Warning,
                FindingCode::SecretExpiring,
                format!("{name} expires on {end}, in {days} days."),
            )
        } else {
            (
                Severity::Info,
                FindingCode::SecretExpiry,
                format!("{name} expires on {end}, in {days} days: record the date; mailoauth warns {EXPIRY_WARNING_DAYS} days before."),
            )
        };
        findings.push(
            Finding::new(
                &s.field,
                severity,
                code,
                message,
                "Create a new secret before the old one expires, give mailoauth its Value, then delete the old one.",
            )
            .step("microsoft.client_secret"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_permission_table_is_consistent() {
        for k in KNOWN {
            assert!(
                net::is_guid(k.id) && k.id == k.id.to_ascii_lowercase(),
                "{}",
                k.name
            );
            assert!(k.resource == GRAPH || k.resource == EXCHANGE);
        }
        for need in DELEGATED_NEEDS.iter().chain(APP_ONLY_NEEDS) {
            assert!(
                KNOWN
                    .iter()
                    .any(|k| k.name == need.name && k.kind == need.kind),
                "{} has no known ID",
                need.name
            );
            assert!(
                crate::provider::checklist::step_exists(need.step),
                "{}",
                need.step
            );
            if let Some(other) = need.other_kind {
                assert!(KNOWN.iter().any(|k| k.name == other), "{other}");
            }
        }
        let ids: std::collections::HashSet<(&str, &str)> =
            KNOWN.iter().map(|k| (k.resource, k.id)).collect();
        assert_eq!(ids.len(), KNOWN.len(), "duplicate permission IDs");
    }
}
