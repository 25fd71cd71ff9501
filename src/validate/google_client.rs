//! Google files an admin downloads: the OAuth client JSON (`installed` for Desktop app clients,
//! `web` for Web application clients) and a service account key. Neither file's secret appears in
//! a finding.

use super::file::FileContext;
use super::input;
use super::{Finding, FindingCode, Severity};
use crate::provider::{self, ClientType, Flow, DEFAULT_WEB_REDIRECT_PORT};
use crate::secret::Secret;
use serde_json::{Map, Value};
use url::Url;

const GOOGLE_HOSTS: [&str; 3] = [
    "accounts.google.com",
    "oauth2.googleapis.com",
    "www.googleapis.com",
];

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Moves findings of a field validator onto the file's JSON path and drops its notes about
/// pasting, which do not apply to a downloaded file.
fn at_path(findings: Vec<Finding>, path: &str) -> impl Iterator<Item = Finding> + '_ {
    findings
        .into_iter()
        .filter(|f| !matches!(f.code, FindingCode::Trimmed | FindingCode::Dequoted))
        .map(move |mut f| {
            f.field = path.to_string();
            f
        })
}

fn missing(path: &str, fix: &str) -> Finding {
    Finding::error(
        path,
        FindingCode::FileFieldMissing,
        format!("{path} is missing from the file."),
        fix,
    )
}

/// Checks a Google OAuth client JSON; returns a one-line description and the findings.
pub(crate) fn check_client(root: &Map<String, Value>, ctx: &FileContext) -> (String, Vec<Finding>) {
    let mut findings = Vec::new();
    let (key, client_type) = if root.contains_key("installed") {
        ("installed", ClientType::Desktop)
    } else {
        ("web", ClientType::Web)
    };
    let kind_name = match client_type {
        ClientType::Web => "Web application",
        _ => "Desktop app",
    };
    let redownload = "Download the client JSON again from Google Cloud Console (Credentials, the client, Download JSON).";
    let Some(obj) = root.get(key).and_then(Value::as_object) else {
        findings.push(missing(key, redownload));
        return (format!("Google OAuth client ({kind_name})"), findings);
    };

    let client_id = text(obj, "client_id");
    match client_id {
        None => findings.push(missing(&format!("{key}.client_id"), redownload)),
        Some(id) => {
            let path = format!("{key}.client_id");
            findings.extend(at_path(input::google_client_id(id, None).findings, &path));
            if let Some(given) = ctx
                .client_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                if given != id {
                    findings.push(Finding::warning(
                        &path,
                        FindingCode::ClientIdMismatch,
                        format!("{path}: the file is for client {id}, not the client ID entered ({given})."),
                        "Import the JSON of the client you entered, or use the client ID from this file.",
                    ).normalized(id));
                }
            }
        }
    }
    let project = text(obj, "project_id");
    if let (Some(p), Some(given)) = (
        project,
        ctx.project
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    ) {
        if p != given {
            findings.push(
                Finding::warning(
                    &format!("{key}.project_id"),
                    FindingCode::ProjectMismatch,
                    format!("{key}.project_id: the client belongs to project {p}, not {given}."),
                    "Create the client in the project you set up, or continue with this project.",
                )
                .normalized(p)
                .step("google.project"),
            );
        }
    }
    match text(obj, "client_secret") {
        None => findings.push(
            Finding::error(
                &format!("{key}.client_secret"),
                FindingCode::ClientJsonNoSecret,
                format!("{key}.client_secret is missing: Google's token endpoint needs it, even from Desktop app clients."),
                "Add a secret to the client in Google Cloud Console and download the JSON again right away (Google shows new secrets only once).",
            )
            .step("google.import_client_json"),
        ),
        Some(secret) => {
            let report = input::google_client_secret(&Secret::new(secret.to_string()));
            findings.extend(at_path(report.findings, &format!("{key}.client_secret")));
        }
    }
    for endpoint in ["auth_uri", "token_uri"] {
        if let Some(uri) = text(obj, endpoint) {
            let google = Url::parse(uri)
                .ok()
                .and_then(|u| u.host_str().map(String::from))
                .is_some_and(|h| GOOGLE_HOSTS.contains(&h.as_str()));
            if !google {
                findings.push(Finding::error(
                    &format!("{key}.{endpoint}"),
                    FindingCode::ClientJsonNotGoogle,
                    format!("{key}.{endpoint} is {uri}, not a Google endpoint: this is not a Google client file, or it was edited."),
                    redownload,
                ));
            }
        }
    }

    let flow = ctx.flow.unwrap_or(Flow::Loopback);
    if flow != Flow::Loopback {
        let why = match flow {
            Flow::ServiceAccount => {
                "the service account flow needs the service account's key JSON, not an OAuth client"
            }
            Flow::DeviceCode => {
                "Google's device flow cannot get the Gmail scope https://mail.google.com/"
            }
            _ => "Google offers only the loopback flow with an OAuth client",
        };
        findings.push(Finding::error(
            key,
            FindingCode::WrongFileForFlow,
            format!("This OAuth client cannot be used with the {flow} flow: {why}."),
            "Choose the loopback flow, or import the file the chosen flow needs.",
        ));
    }
    if let Some(wanted) = ctx.client_type.filter(|t| *t != client_type) {
        findings.push(Finding::info(
            key,
            FindingCode::ClientTypeDiffers,
            format!("The file is a {kind_name} client, not a {wanted} client; mailoauth will use it as a {kind_name} client."),
            "Nothing to do, unless you meant to import another client.",
        ));
    }

    let redirects: Vec<&str> = obj
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if client_type == ClientType::Web {
        for (i, uri) in redirects.iter().enumerate() {
            let path = format!("web.redirect_uris[{i}]");
            let report = input::redirect_uri_at(&path, uri, Some("google"), Some(ClientType::Web));
            // A Web client may serve other apps too: their redirects are worth a note, no more.
            findings.extend(report.findings.into_iter().map(|mut f| {
                if f.code == FindingCode::RedirectNotLoopback {
                    f.severity = Severity::Info;
                }
                f
            }));
        }
        let port = ctx.redirect_port.unwrap_or(DEFAULT_WEB_REDIRECT_PORT);
        let expected = provider::profile("google")
            .and_then(|p| p.redirect(Flow::Loopback, ClientType::Web, port))
            .map(|r| r.uri);
        if let Some(expected) = expected {
            if !redirects.contains(&expected.as_str()) {
                findings.push(
                    Finding::error(
                        "web.redirect_uris",
                        FindingCode::ClientJsonRedirectMissing,
                        format!("web.redirect_uris does not contain mailoauth's redirect URI {expected}; Google would answer Error 400: redirect_uri_mismatch."),
                        format!("Add exactly {expected} under Authorized redirect URIs, save, and download the JSON again."),
                    )
                    .normalized(expected)
                    .step("google.oauth_client_web"),
                );
            }
        }
        let origins = obj
            .get("javascript_origins")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
            .unwrap_or_default();
        for (i, origin) in origins.iter().enumerate() {
            let path = format!("web.javascript_origins[{i}]");
            findings.extend(input::javascript_origin_at(&path, origin, Some("google")).findings);
        }
    } else if redirects
        .iter()
        .any(|r| r.starts_with("urn:ietf:wg:oauth:2.0:oob"))
    {
        findings.push(Finding::info(
            "installed.redirect_uris",
            FindingCode::FileSummary,
            "installed.redirect_uris lists the retired out-of-band redirect; mailoauth uses the loopback address instead, which Desktop app clients always accept.",
            "Nothing to do.",
        ));
    }

    // Only what the file says: a missing value is said in words, never as a `<...>` stand-in
    // (the missing fields have findings of their own).
    let description = format!(
        "Google OAuth client ({kind_name}) {}{}",
        client_id.unwrap_or("without a client ID"),
        project.map_or_else(
            || String::from(", with no project named in the file"),
            |p| format!(" of project {p}")
        )
    );
    let mut summary = Finding::info(
        key,
        FindingCode::FileSummary,
        description.clone(),
        "Use this file's client ID and secret in mailoauth.",
    );
    if let Some(id) = client_id {
        summary = summary.normalized(id);
    }
    findings.insert(0, summary);
    (description, findings)
}

/// Checks a Google service account key JSON; returns a one-line description and the findings.
pub(crate) fn check_service_account(
    root: &Map<String, Value>,
    ctx: &FileContext,
) -> (String, Vec<Finding>) {
    let mut findings = Vec::new();
    let fix = "Create a new JSON key for the service account (IAM, Service accounts, Keys, Add key) and import that file.";
    let email = text(root, "client_email");
    let client_id = text(root, "client_id");
    let project = text(root, "project_id");
    for key in ["client_email", "client_id", "private_key", "token_uri"] {
        if text(root, key).is_none() {
            findings.push(missing(key, fix));
        }
    }
    if let Some(key) = text(root, "private_key") {
        if !key.starts_with("-----BEGIN PRIVATE KEY-----") {
            findings.push(Finding::error(
                "private_key",
                FindingCode::FileFieldMissing,
                "private_key is not a PEM private key: the file was edited or is not a key file.",
                fix,
            ));
        }
    }
    if let Some(e) = email.filter(|e| !e.ends_with(".iam.gserviceaccount.com")) {
        findings.push(Finding::warning(
            "client_email",
            FindingCode::ServiceAccountEmail,
            format!("client_email {e} is not a service account address (those end in .iam.gserviceaccount.com)."),
            fix,
        ));
    }
    if let Some(uri) = text(root, "token_uri") {
        let google = Url::parse(uri)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .is_some_and(|h| GOOGLE_HOSTS.contains(&h.as_str()));
        if !google {
            findings.push(Finding::error(
                "token_uri",
                FindingCode::ClientJsonNotGoogle,
                format!("token_uri is {uri}, not a Google endpoint."),
                fix,
            ));
        }
    }
    if let Some(id) = client_id {
        findings.push(
            Finding::info(
                "client_id",
                FindingCode::FileSummary,
                format!("client_id {id} is the Client ID to authorize in the Admin console's domain-wide delegation, with the scope https://mail.google.com/."),
                "Enter it in Security, Access and data control, API controls, Manage domain-wide delegation.",
            )
            .normalized(id)
            .step("google.domain_wide_delegation"),
        );
    }
    if let (Some(p), Some(given)) = (
        project,
        ctx.project
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    ) {
        if p != given {
            findings.push(
                Finding::warning(
                    "project_id",
                    FindingCode::ProjectMismatch,
                    format!("project_id: the key belongs to project {p}, not {given}."),
                    "Use a key of a service account in the project you set up, or continue with this project.",
                )
                .normalized(p),
            );
        }
    }
    if let Some(flow) = ctx.flow.filter(|f| *f != Flow::ServiceAccount) {
        findings.push(Finding::error(
            "type",
            FindingCode::WrongFileForFlow,
            format!("This is a service account key, which works only with the service_account flow, not {flow}."),
            "Choose the service_account flow (Workspace only), or import an OAuth client JSON for the loopback flow.",
        ));
    }
    let description = format!(
        "Google service account key {}{}",
        email.map_or_else(
            || String::from("without a client_email"),
            |e| format!("for {e}")
        ),
        project.map_or_else(
            || String::from(", with no project named in the file"),
            |p| format!(" of project {p}")
        )
    );
    findings.insert(
        0,
        Finding::info(
            "type",
            FindingCode::FileSummary,
            description.clone(),
            "mailoauth signs its token requests with this key; keep the file readable only by the service.",
        ),
    );
    (description, findings)
}
