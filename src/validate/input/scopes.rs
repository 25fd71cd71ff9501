//! The scopes to request, checked against the provider, the flow and the purpose.

use super::{field, normalize, report::empty, FieldReport, Normalized};
use crate::provider::{Cloud, Flow, Profile, Purpose};
use crate::validate::{Finding, FindingCode};

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

#[cfg(test)]
#[path = "scopes_tests.rs"]
mod tests;
