//! Registration checklists: the ordered steps an admin does in Google Cloud Console or Microsoft
//! Entra before mailoauth can authorize, as data (`checklists/<provider>.toml`).
//!
//! A step says what to do, why, where (a deep link with the project or app filled in when known),
//! the exact values to copy, the mistakes people make there, and which later mailoauth check
//! proves it was done. Steps and values carry conditions on flow, client type and purpose, so
//! one data file serves every combination.

use super::profile::{Profile, ProfileError, DEFAULT_WEB_REDIRECT_PORT};
use super::template;
use super::types::{ClientType, Cloud, Flow, Purpose};
use crate::error::{Coded, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use ts_rs::TS;

/// What the admin has told mailoauth so far; unknown values show as placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct ChecklistContext {
    /// The flow; absent for the provider's recommended one.
    pub flow: Option<Flow>,
    /// What the service does with the mailbox; absent for both.
    pub purpose: Option<Purpose>,
    /// The client type; absent for the flow's recommended one.
    pub client_type: Option<ClientType>,
    /// The cloud of the account.
    pub cloud: Cloud,
    /// The Google Cloud project ID.
    pub project: Option<String>,
    /// The Microsoft tenant ID or verified domain.
    pub tenant: Option<String>,
    /// The client ID (Google OAuth client, Azure application, or service account unique ID).
    pub client_id: Option<String>,
    /// The mailbox the service uses.
    pub mailbox: Option<String>,
    /// The Object ID of the Azure Enterprise application (service principal), for app-only access.
    pub sp_object_id: Option<String>,
    /// The loopback port of a Web client's redirect; absent for mailoauth's default.
    pub redirect_port: Option<u16>,
}

/// A mailoauth check that proves a step was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRef {
    /// Stable id (`sign_in`, `imap_login`, ...).
    pub id: String,
    /// What the check does, for the admin.
    pub description: String,
}

/// A value the admin copies into the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistValue {
    /// What the console calls the field, or what to do with the value.
    pub label: String,
    /// The value, with `<placeholders>` where mailoauth does not know it yet.
    pub value: String,
    /// False while the value still contains a placeholder.
    pub complete: bool,
    /// A setting to pick in the console (`Yes`, `Single tenant`), not text to paste: shown
    /// without a Copy button.
    pub choice: bool,
}

/// One step of a checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistStep {
    /// Stable id, `<provider>.<step>` (`microsoft.public_client`); findings point at it.
    pub id: String,
    /// Position in the list, from 1.
    pub number: u32,
    /// What to do.
    pub title: String,
    /// Why it matters.
    pub why: String,
    /// The console page to open, with project or app filled in when known.
    pub link: Option<String>,
    /// The exact values to enter or copy.
    pub values: Vec<ChecklistValue>,
    /// Something that breaks later if ignored, to show loudly.
    pub warning: Option<String>,
    /// The mistakes people make at this step.
    pub mistakes: Vec<String>,
    /// The mailoauth checks that prove the step was done.
    pub verified_by: Vec<CheckRef>,
}

/// The steps for one provider, flow, client type, purpose and cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Checklist {
    /// The provider id.
    pub provider: String,
    /// The flow the steps are for.
    pub flow: Flow,
    /// The client type the steps are for.
    pub client_type: ClientType,
    /// The purpose the steps are for.
    pub purpose: Purpose,
    /// The cloud the links point into.
    pub cloud: Cloud,
    /// The steps, in order.
    pub steps: Vec<ChecklistStep>,
}

/// Why a checklist cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistError {
    /// The provider, flow or cloud is not possible.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The provider has no console mailoauth can describe.
    #[error("{provider} has no registration checklist: register a client at your provider with the redirect URI {redirect}, then enter its endpoints and scopes in mailoauth")]
    NoChecklist {
        /// The provider's name.
        provider: String,
        /// The loopback redirect to register.
        redirect: String,
    },
    /// The client type does not go with the flow.
    #[error(
        "the {flow} flow of {provider} does not work with a {client_type} client: use {allowed}"
    )]
    ClientTypeNotForFlow {
        /// The provider's name.
        provider: String,
        /// The flow.
        flow: Flow,
        /// The client type asked for.
        client_type: ClientType,
        /// The client types that work.
        allowed: String,
    },
    /// A value would break the commands and links it is pasted into.
    #[error("{field} {value:?} contains {bad:?}, which cannot be part of it: paste the value alone, without quotes or spaces")]
    InvalidValue {
        /// Which field.
        field: &'static str,
        /// The value as given.
        value: String,
        /// The character that cannot appear.
        bad: char,
    },
}

impl Coded for ChecklistError {
    fn code(&self) -> ErrorCode {
        match self {
            ChecklistError::Profile(e) => e.code(),
            ChecklistError::NoChecklist { .. } => ErrorCode::NotFound,
            _ => ErrorCode::InvalidInput,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct When {
    flows: Vec<Flow>,
    client_types: Vec<ClientType>,
    purposes: Vec<Purpose>,
}

impl When {
    fn matches(&self, flow: Flow, client_type: ClientType, purpose: Purpose) -> bool {
        (self.flows.is_empty() || self.flows.contains(&flow))
            && (self.client_types.is_empty() || self.client_types.contains(&client_type))
            && (self.purposes.is_empty() || self.purposes.contains(&purpose))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueData {
    label: String,
    value: String,
    #[serde(default)]
    when: When,
    #[serde(default)]
    choice: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepData {
    id: String,
    title: String,
    why: String,
    #[serde(default)]
    when: When,
    link: Option<String>,
    link_fallback: Option<String>,
    warning: Option<String>,
    verified_by: Vec<String>,
    mistakes: Vec<String>,
    #[serde(default)]
    value: Vec<ValueData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistFile {
    step: Vec<StepData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    check: Vec<CheckRef>,
    placeholder: BTreeMap<String, String>,
}

const CHECKLIST_TOMLS: [(&str, &str); 2] = [
    ("google", include_str!("checklists/google.toml")),
    ("microsoft", include_str!("checklists/microsoft.toml")),
];

fn checklist_files() -> &'static [(&'static str, ChecklistFile)] {
    static FILES: OnceLock<Vec<(&'static str, ChecklistFile)>> = OnceLock::new();
    FILES.get_or_init(|| {
        // Embedded and checked by the tests below: a parse error is a build defect.
        CHECKLIST_TOMLS
            .iter()
            .map(|(id, text)| {
                let file = toml::from_str::<ChecklistFile>(text)
                    .unwrap_or_else(|e| panic!("embedded checklists/{id}.toml is invalid: {e}"));
                (*id, file)
            })
            .collect()
    })
}

fn checks_file() -> &'static ChecksFile {
    static FILE: OnceLock<ChecksFile> = OnceLock::new();
    FILE.get_or_init(|| {
        toml::from_str(include_str!("checklists/checks.toml"))
            .unwrap_or_else(|e| panic!("embedded checklists/checks.toml is invalid: {e}"))
    })
}

/// Every mailoauth check a step can name.
pub fn checks() -> &'static [CheckRef] {
    &checks_file().check
}

/// True when some checklist has a step with this id (`microsoft.public_client`).
pub fn step_exists(step_id: &str) -> bool {
    checklist_files().iter().any(|(provider, file)| {
        file.step
            .iter()
            .any(|s| step_id == format!("{provider}.{}", s.id))
    })
}

/// Characters that would break the PowerShell lines, URLs and file names values are pasted into.
const FORBIDDEN: &[char] = &[
    '"', '\'', '`', ';', '$', '|', '&', '<', '>', '(', ')', '{', '}', '\\', '#', '?', '/', '%',
];

fn clean(field: &'static str, value: &Option<String>) -> Result<Option<String>, ChecklistError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Some(bad) = v
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c))
    {
        return Err(ChecklistError::InvalidValue {
            field,
            value: v.to_string(),
            bad,
        });
    }
    Ok(Some(v.to_string()))
}

/// The checklist of `provider` for what `ctx` says.
pub fn checklist(provider: &str, ctx: &ChecklistContext) -> Result<Checklist, ChecklistError> {
    let profile = super::require_profile(provider)?;
    let flow = ctx.flow.unwrap_or_else(|| profile.recommended_flow());
    let support = profile.flow_support(flow)?;
    let purpose = ctx.purpose.unwrap_or(Purpose::Both);
    let client_type = match ctx.client_type {
        Some(ct) if support.client_types.contains(&ct) => ct,
        Some(ct) => {
            return Err(ChecklistError::ClientTypeNotForFlow {
                provider: profile.name().to_string(),
                flow,
                client_type: ct,
                allowed: support
                    .client_types
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
            })
        }
        None => support
            .client_types
            .first()
            .copied()
            .unwrap_or(ClientType::Desktop),
    };
    let port = ctx.redirect_port.unwrap_or(DEFAULT_WEB_REDIRECT_PORT);
    let Some((_, file)) = checklist_files().iter().find(|(id, _)| *id == profile.id()) else {
        return Err(ChecklistError::NoChecklist {
            provider: profile.name().to_string(),
            redirect: profile
                .redirect(Flow::Loopback, ClientType::Desktop, port)
                .map_or_else(|| format!("http://127.0.0.1:{port}/"), |r| r.uri),
        });
    };
    let vars = variables(profile, ctx, flow, client_type, purpose, port)?;

    let mut steps = Vec::new();
    for step in file
        .step
        .iter()
        .filter(|s| s.when.matches(flow, client_type, purpose))
    {
        let number = steps.len() as u32 + 1;
        steps.push(render_step(
            profile,
            step,
            &vars,
            number,
            (flow, client_type, purpose),
        ));
    }
    Ok(Checklist {
        provider: profile.id().to_string(),
        flow,
        client_type,
        purpose,
        cloud: ctx.cloud,
        steps,
    })
}

fn variables(
    profile: &Profile,
    ctx: &ChecklistContext,
    flow: Flow,
    client_type: ClientType,
    purpose: Purpose,
    port: u16,
) -> Result<BTreeMap<String, String>, ChecklistError> {
    let mut vars = profile.cloud_vars(ctx.cloud)?.clone();
    let inputs = [
        ("project", "project", &ctx.project),
        ("tenant", "tenant", &ctx.tenant),
        ("client_id", "client ID", &ctx.client_id),
        ("mailbox", "mailbox", &ctx.mailbox),
        (
            "sp_object_id",
            "enterprise application object ID",
            &ctx.sp_object_id,
        ),
    ];
    for (var, field, value) in inputs {
        if let Some(v) = clean(field, value)? {
            vars.insert(var.to_string(), v);
        }
    }
    if let Some(r) = profile.redirect(flow, client_type, port) {
        vars.insert(String::from("redirect_uri"), r.uri);
    }
    if let Ok(scopes) = profile.scopes(purpose, flow, ctx.cloud) {
        vars.insert(String::from("scopes"), scopes.join(" "));
    }
    Ok(vars)
}

fn render_step(
    profile: &Profile,
    step: &StepData,
    vars: &BTreeMap<String, String>,
    number: u32,
    (flow, client_type, purpose): (Flow, ClientType, Purpose),
) -> ChecklistStep {
    let known = |t: &str| template::variables(t).iter().all(|v| vars.contains_key(*v));
    let link = match (&step.link, &step.link_fallback) {
        (Some(link), _) if known(link) => Some(fill(link, vars).0),
        (_, Some(fallback)) => Some(fill(fallback, vars).0),
        (Some(link), None) => Some(fill(link, vars).0),
        (None, None) => None,
    };
    let values = step
        .value
        .iter()
        .filter(|v| v.when.matches(flow, client_type, purpose))
        .map(|v| {
            let (value, complete) = fill(&v.value, vars);
            ChecklistValue {
                label: v.label.clone(),
                value,
                complete,
                choice: v.choice,
            }
        })
        .collect();
    ChecklistStep {
        id: format!("{}.{}", profile.id(), step.id),
        number,
        title: step.title.clone(),
        why: step.why.clone(),
        link,
        values,
        warning: step.warning.clone(),
        mistakes: step.mistakes.clone(),
        verified_by: step
            .verified_by
            .iter()
            .map(|id| {
                checks()
                    .iter()
                    .find(|c| &c.id == id)
                    .cloned()
                    .unwrap_or_else(|| CheckRef {
                        id: id.clone(),
                        description: String::new(),
                    })
            })
            .collect(),
    }
}

/// Fills a template, showing unknown values as placeholders; the flag says whether all were known.
fn fill(template: &str, vars: &BTreeMap<String, String>) -> (String, bool) {
    let mut complete = true;
    let text = template::render_with(template, |name| match vars.get(name) {
        Some(v) => v.clone(),
        None => {
            complete = false;
            checks_file()
                .placeholder
                .get(name)
                .cloned()
                .unwrap_or_else(|| format!("<{name}>"))
        }
    });
    (text, complete)
}

#[cfg(test)]
mod tests {
    use super::super::{profile, profiles};
    use super::*;
    use std::collections::HashSet;

    fn ids(c: &Checklist) -> Vec<&str> {
        c.steps
            .iter()
            .map(|s| s.id.split_once('.').map_or(s.id.as_str(), |(_, id)| id))
            .collect()
    }

    fn step<'a>(c: &'a Checklist, id: &str) -> &'a ChecklistStep {
        let full = format!("{}.{id}", c.provider);
        c.steps
            .iter()
            .find(|s| s.id == full)
            .unwrap_or_else(|| panic!("no step {full} in {:?}", ids(c)))
    }

    fn values(s: &ChecklistStep) -> Vec<&str> {
        s.values.iter().map(|v| v.value.as_str()).collect()
    }

    #[test]
    fn google_desktop_checklist_in_order_with_the_testing_warning() {
        let ctx = ChecklistContext {
            project: Some("mail-relay-4711".into()),
            mailbox: Some("scanner@example.com".into()),
            ..Default::default()
        };
        let c = checklist("google", &ctx).unwrap();
        assert_eq!(
            (c.flow, c.client_type, c.purpose),
            (Flow::Loopback, ClientType::Desktop, Purpose::Both)
        );
        assert_eq!(
            ids(&c),
            [
                "project",
                "gmail_api",
                "consent_audience",
                "publishing_status",
                "restricted_scope",
                "oauth_client_desktop",
                "one_client",
                "import_client_json"
            ]
        );
        assert_eq!(
            c.steps.iter().map(|s| s.number).collect::<Vec<_>>(),
            (1..=8).collect::<Vec<_>>()
        );
        let api = step(&c, "gmail_api");
        assert_eq!(
            api.link.as_deref(),
            Some("https://console.cloud.google.com/apis/library/gmail.googleapis.com?project=mail-relay-4711")
        );
        let publish = step(&c, "publishing_status");
        assert!(publish.warning.as_deref().unwrap().contains("7 days"));
        assert!(step(&c, "restricted_scope")
            .values
            .iter()
            .any(|v| v.value == "https://mail.google.com/"));
        // Publishing is the advice, so no step asks for test users (only apps in Testing need them).
        assert!(!ids(&c).contains(&"test_users"));
        // Settings to pick are marked as such (no Copy button); values to paste are not.
        assert!(step(&c, "publishing_status").values[0].choice);
        assert!(!step(&c, "restricted_scope").values[0].choice);
        assert_eq!(values(step(&c, "oauth_client_desktop"))[0], "Desktop app");
        assert_eq!(
            step(&c, "project").verified_by[0].id,
            "validate_client_json"
        );
        assert!(!step(&c, "project").verified_by[0].description.is_empty());
    }

    #[test]
    fn google_links_fall_back_and_values_show_placeholders_when_unknown() {
        let c = checklist("google", &ChecklistContext::default()).unwrap();
        assert_eq!(
            step(&c, "gmail_api").link.as_deref(),
            Some("https://console.cloud.google.com/apis/library/gmail.googleapis.com")
        );
        let import = &step(&c, "import_client_json").values[0];
        assert_eq!(
            (import.value.as_str(), import.complete),
            ("mailoauth validate client_secret_<client-id>.json", false)
        );
    }

    #[test]
    fn google_web_client_gets_the_exact_redirect_and_send_only_skips_one_client() {
        let ctx = ChecklistContext {
            client_type: Some(ClientType::Web),
            purpose: Some(Purpose::Send),
            redirect_port: Some(9123),
            ..Default::default()
        };
        let c = checklist("google", &ctx).unwrap();
        assert!(!ids(&c).contains(&"oauth_client_desktop"));
        assert!(!ids(&c).contains(&"one_client"));
        let web = step(&c, "oauth_client_web");
        assert_eq!(values(web), ["Web application", "http://127.0.0.1:9123/"]);
        assert!(web.values.iter().all(|v| v.complete));
    }

    #[test]
    fn google_service_account_checklist() {
        let ctx = ChecklistContext {
            flow: Some(Flow::ServiceAccount),
            client_id: Some("113456789012345678901".into()),
            ..Default::default()
        };
        let c = checklist("google", &ctx).unwrap();
        assert_eq!(c.client_type, ClientType::Daemon);
        assert_eq!(
            ids(&c),
            [
                "project",
                "gmail_api",
                "service_account",
                "service_account_key",
                "domain_wide_delegation"
            ]
        );
        let dwd = step(&c, "domain_wide_delegation");
        assert_eq!(
            dwd.link.as_deref(),
            Some("https://admin.google.com/ac/owl/domainwidedelegation")
        );
        assert_eq!(
            values(dwd)[..2],
            ["113456789012345678901", "https://mail.google.com/"]
        );
    }

    #[test]
    fn google_device_flow_has_no_checklist() {
        let ctx = ChecklistContext {
            flow: Some(Flow::DeviceCode),
            ..Default::default()
        };
        let err = checklist("google", &ctx).unwrap_err();
        assert!(matches!(
            err,
            ChecklistError::Profile(ProfileError::UnsupportedFlow { .. })
        ));
        assert!(
            err.to_string().contains("https://mail.google.com/"),
            "{err}"
        );
    }

    #[test]
    fn microsoft_desktop_receive_checklist() {
        let ctx = ChecklistContext {
            purpose: Some(Purpose::Receive),
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            mailbox: Some("helpdesk@contoso.com".into()),
            ..Default::default()
        };
        let c = checklist("microsoft", &ctx).unwrap();
        assert_eq!(
            ids(&c),
            [
                "app_registration",
                "account_types",
                "platform_desktop",
                "delegated_permissions",
                "admin_consent",
                "mailbox_license",
                "mailbox_imap"
            ]
        );
        let platform = step(&c, "platform_desktop");
        assert_eq!(
            values(platform),
            ["Mobile and desktop applications", "http://localhost"]
        );
        assert_eq!(
            platform.link.as_deref(),
            Some("https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Authentication/appId/11111111-2222-3333-4444-555555555555")
        );
        let perms = values(step(&c, "delegated_permissions"));
        assert_eq!(
            perms,
            [
                "IMAP.AccessAsUser.All",
                "offline_access",
                "openid",
                "email",
                "https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid email"
            ]
        );
        assert!(step(&c, "delegated_permissions")
            .mistakes
            .iter()
            .any(|m| m.contains("Mail.Send")));
        assert_eq!(
            values(step(&c, "mailbox_imap"))[1],
            "Set-CASMailbox -Identity helpdesk@contoso.com -ImapEnabled $true"
        );
    }

    #[test]
    fn microsoft_device_code_needs_public_client_flows() {
        let ctx = ChecklistContext {
            flow: Some(Flow::DeviceCode),
            purpose: Some(Purpose::Send),
            ..Default::default()
        };
        let c = checklist("microsoft", &ctx).unwrap();
        assert!(ids(&c).contains(&"public_client"));
        assert!(!ids(&c).contains(&"platform_desktop"));
        assert!(ids(&c).contains(&"mailbox_smtp_auth"));
        assert!(ids(&c).contains(&"tenant_smtp_auth"));
        assert!(!ids(&c).contains(&"client_secret"));
        assert_eq!(values(step(&c, "public_client")), ["Yes"]);
        let perms = values(step(&c, "delegated_permissions"));
        assert!(perms.contains(&"SMTP.Send") && !perms.contains(&"IMAP.AccessAsUser.All"));
    }

    #[test]
    fn microsoft_app_only_in_gcc_high_fills_the_exchange_lines() {
        let ctx = ChecklistContext {
            flow: Some(Flow::ClientCredentials),
            cloud: Cloud::UsGovGccHigh,
            tenant: Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            sp_object_id: Some("66666666-7777-8888-9999-000000000000".into()),
            mailbox: Some("scans@agency.gov".into()),
            ..Default::default()
        };
        let c = checklist("microsoft", &ctx).unwrap();
        assert_eq!(c.client_type, ClientType::Daemon);
        assert!(ids(&c).contains(&"application_permissions"));
        assert!(!ids(&c).contains(&"delegated_permissions"));
        let secret = step(&c, "client_secret");
        assert!(secret.warning.as_deref().unwrap().contains("Value"));
        assert!(secret.mistakes.iter().any(|m| m.contains("Secret ID")));
        let exo = values(step(&c, "exchange_service_principal"));
        assert_eq!(
            exo,
            [
                "Connect-ExchangeOnline -ExchangeEnvironmentName O365USGovGCCHigh -Organization 72f988bf-86f1-41af-91ab-2d7cd011db47",
                "New-ServicePrincipal -AppId 11111111-2222-3333-4444-555555555555 -ObjectId 66666666-7777-8888-9999-000000000000",
                "Add-MailboxPermission -Identity scans@agency.gov -User 66666666-7777-8888-9999-000000000000 -AccessRights FullAccess"
            ]
        );
        assert!(step(&c, "application_permissions")
            .values
            .iter()
            .any(|v| v.value == "https://outlook.office365.us/.default"));
        assert!(step(&c, "app_registration")
            .link
            .as_deref()
            .unwrap()
            .starts_with("https://portal.azure.us/"));
    }

    #[test]
    fn wrong_client_type_unsafe_values_and_generic_are_refused() {
        let ctx = ChecklistContext {
            flow: Some(Flow::DeviceCode),
            client_type: Some(ClientType::Web),
            ..Default::default()
        };
        assert!(matches!(
            checklist("microsoft", &ctx),
            Err(ChecklistError::ClientTypeNotForFlow { .. })
        ));
        let ctx = ChecklistContext {
            mailbox: Some("a@contoso.com; Remove-Mailbox x".into()),
            ..Default::default()
        };
        let err = checklist("microsoft", &ctx).unwrap_err();
        assert!(
            matches!(
                err,
                ChecklistError::InvalidValue {
                    field: "mailbox",
                    ..
                }
            ),
            "{err}"
        );
        let err = checklist("generic", &ChecklistContext::default()).unwrap_err();
        assert!(matches!(err, ChecklistError::NoChecklist { .. }));
        assert_eq!(err.code(), ErrorCode::NotFound);
        assert!(matches!(
            checklist("yahoo", &ChecklistContext::default()),
            Err(ChecklistError::Profile(
                ProfileError::UnknownProvider { .. }
            ))
        ));
    }

    #[test]
    fn checklist_data_is_complete_and_consistent() {
        let check_ids: HashSet<&str> = checks().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(check_ids.len(), checks().len(), "duplicate check ids");
        let mut used_checks = HashSet::new();
        for (provider, file) in checklist_files() {
            let prof = profile(provider).expect("checklist of a known provider");
            let mut known_vars: HashSet<String> = [
                "project",
                "tenant",
                "client_id",
                "mailbox",
                "sp_object_id",
                "redirect_uri",
                "scopes",
            ]
            .into_iter()
            .map(String::from)
            .collect();
            for cloud in prof.clouds() {
                known_vars.extend(prof.cloud_vars(cloud).unwrap().keys().cloned());
            }
            let mut seen = HashSet::new();
            for s in &file.step {
                assert!(seen.insert(&s.id), "{provider}: duplicate step {}", s.id);
                assert!(
                    !s.title.is_empty() && s.why.len() > 30,
                    "{provider}.{}",
                    s.id
                );
                assert!(
                    !s.mistakes.is_empty(),
                    "{provider}.{}: name the usual mistakes",
                    s.id
                );
                assert!(
                    !s.verified_by.is_empty(),
                    "{provider}.{}: name the check",
                    s.id
                );
                for c in &s.verified_by {
                    assert!(
                        check_ids.contains(c.as_str()),
                        "{provider}.{}: unknown check {c}",
                        s.id
                    );
                    used_checks.insert(c.clone());
                }
                let templates = s
                    .link
                    .iter()
                    .chain(&s.link_fallback)
                    .chain(s.value.iter().map(|v| &v.value));
                for t in templates {
                    for var in template::variables(t) {
                        assert!(
                            known_vars.contains(var),
                            "{provider}.{}: unknown variable {{{var}}}",
                            s.id
                        );
                    }
                }
                let user_vars = ["project", "tenant", "client_id", "mailbox", "sp_object_id"];
                if let Some(link) = &s.link {
                    let needs_input = template::variables(link)
                        .iter()
                        .any(|v| user_vars.contains(v));
                    assert!(
                        !needs_input || s.link_fallback.is_some(),
                        "{provider}.{}: a link that needs the admin's input needs a fallback",
                        s.id
                    );
                }
                if let Some(fallback) = &s.link_fallback {
                    let vars = template::variables(fallback);
                    assert!(
                        vars.iter().all(|v| !["project", "tenant", "client_id", "mailbox", "sp_object_id"].contains(v)),
                        "{provider}.{}: a fallback link must not need what the admin may not have given",
                        s.id
                    );
                }
            }
        }
        for c in checks() {
            assert!(
                used_checks.contains(&c.id),
                "check {} is used by no step",
                c.id
            );
        }
    }

    #[test]
    fn every_step_appears_for_some_supported_combination_and_links_are_https() {
        for prof in profiles() {
            let Some((_, file)) = checklist_files().iter().find(|(id, _)| *id == prof.id()) else {
                continue;
            };
            let mut shown = HashSet::new();
            for cloud in prof.clouds() {
                for support in prof.flows().iter().filter(|f| f.supported) {
                    for ct in &support.client_types {
                        for purpose in Purpose::all() {
                            let ctx = ChecklistContext {
                                flow: Some(support.flow),
                                client_type: Some(*ct),
                                purpose: Some(*purpose),
                                cloud,
                                project: Some("p-1".into()),
                                tenant: Some("contoso.com".into()),
                                client_id: Some("11111111-2222-3333-4444-555555555555".into()),
                                mailbox: Some("m@contoso.com".into()),
                                sp_object_id: Some("66666666-7777-8888-9999-000000000000".into()),
                                redirect_port: None,
                            };
                            let c = checklist(prof.id(), &ctx).unwrap();
                            assert!(!c.steps.is_empty());
                            for s in &c.steps {
                                shown.insert(s.id.clone());
                                if let Some(link) = &s.link {
                                    assert!(
                                        link.starts_with("https://") && !link.contains('<'),
                                        "{link}"
                                    );
                                    assert!(url::Url::parse(link).is_ok(), "{link}");
                                }
                                for v in &s.values {
                                    assert!(
                                        v.complete,
                                        "{}: {} has a placeholder with every input given",
                                        s.id, v.value
                                    );
                                }
                            }
                        }
                    }
                }
            }
            for s in &file.step {
                let id = format!("{}.{}", prof.id(), s.id);
                assert!(shown.contains(&id), "{id} never appears");
                assert!(step_exists(&id));
            }
        }
        assert!(!step_exists("microsoft.nonsense"));
    }
}
