//! Files an admin gives mailoauth: a Google OAuth client JSON, a Google service account key, an
//! Azure app manifest, or (later) a mailoauth config. The kind is recognised from the content, so
//! the admin never has to say what the file is.

use super::{azure_manifest, google_client};
use super::{Finding, FindingCode};
use crate::date::CivilDate;
use crate::error::{Coded, ErrorCode};
use crate::provider::{self, ClientType, Cloud, Flow, Purpose};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use ts_rs::TS;

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A Google OAuth client JSON (`installed` or `web`).
    GoogleClient,
    /// A Google service account key JSON.
    GoogleServiceAccount,
    /// An Azure app manifest, in either of the portal's formats.
    AzureManifest,
    /// A TOML file, presumably a mailoauth config: checked by a later version.
    Config,
    /// Nothing mailoauth knows.
    Unknown,
}

/// What the admin has chosen so far; a file is checked against it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct FileContext {
    /// The provider chosen, if any.
    pub provider: Option<String>,
    /// The flow; absent for the provider's recommended one.
    pub flow: Option<Flow>,
    /// The purpose; absent for both.
    pub purpose: Option<Purpose>,
    /// The client type; absent for the flow's recommended one.
    pub client_type: Option<ClientType>,
    /// The cloud.
    pub cloud: Cloud,
    /// The tenant entered, to check against the manifest's account types.
    pub tenant: Option<String>,
    /// The client ID entered, to check against the file.
    pub client_id: Option<String>,
    /// The Google Cloud project ID entered, to check against the file.
    pub project: Option<String>,
    /// The loopback port of a Web client's redirect; absent for mailoauth's default.
    pub redirect_port: Option<u16>,
}

/// What a file is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// What the file is.
    pub kind: FileKind,
    /// One line naming the file's client or app, never its secrets.
    pub description: String,
    /// The flow the file was checked for, when it was checked against one.
    pub flow: Option<Flow>,
    /// The client type the file was checked for.
    pub client_type: Option<ClientType>,
    /// The purpose the file was checked for.
    pub purpose: Option<Purpose>,
    /// The findings, errors first; JSON paths in `field`.
    pub findings: Vec<Finding>,
}

impl FileReport {
    /// True when no finding is an error.
    pub fn is_ok(&self) -> bool {
        !super::has_errors(&self.findings)
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// No file at that path.
    #[error("{path}: no such file; check the path (the browser usually saved it in Downloads)")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// The file exists but cannot be read.
    #[error("{path}: cannot be read ({reason}); check its permissions")]
    Unreadable {
        /// The path as given.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// Too big to be one of the files mailoauth reads.
    #[error("{path}: larger than {max} bytes, far too big for a client JSON or an app manifest; choose the downloaded .json file")]
    TooLarge {
        /// The path as given.
        path: String,
        /// The most mailoauth reads.
        max: u64,
    },
    /// A folder, a pipe or a device: nothing mailoauth imports.
    #[error("{path}: this is {what}, not a file; choose the downloaded .json file")]
    NotAFile {
        /// The path as given.
        path: String,
        /// What it is instead.
        what: &'static str,
    },
    /// Not UTF-8 text.
    #[error("{path}: not a text file; choose the downloaded .json file")]
    NotText {
        /// The path as given.
        path: String,
    },
}

impl Coded for FileError {
    fn code(&self) -> ErrorCode {
        match self {
            FileError::NotFound { .. } => ErrorCode::NotFound,
            _ => ErrorCode::InvalidInput,
        }
    }
}

/// The largest file mailoauth reads: manifests are a few kilobytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a file to validate, refusing what cannot be one of the files mailoauth knows.
pub fn read(path: &Path) -> Result<String, FileError> {
    use crate::config::BoundedRead;
    let shown = path.display().to_string();
    let bytes = crate::config::read_regular_file(path, MAX_FILE_BYTES).map_err(|e| match e {
        BoundedRead::Missing => FileError::NotFound {
            path: shown.clone(),
        },
        BoundedRead::NotAFile(what) => FileError::NotAFile {
            path: shown.clone(),
            what,
        },
        BoundedRead::TooLarge => FileError::TooLarge {
            path: shown.clone(),
            max: MAX_FILE_BYTES,
        },
        BoundedRead::Io(e) => FileError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        },
    })?;
    String::from_utf8(bytes).map_err(|_| FileError::NotText { path: shown })
}

/// The values an imported file fills into the wizard's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportedValues {
    /// The client (application) ID.
    #[ts(optional)]
    pub client_id: Option<String>,
    /// The client secret, when the file carries one (Google client JSON). Never serialised: the
    /// app hands it to the secret field itself.
    #[serde(skip)]
    #[ts(skip)]
    pub client_secret: Option<crate::secret::Secret<String>>,
    /// Desktop or Web client.
    #[ts(optional)]
    pub client_type: Option<ClientType>,
    /// The port of a registered loopback redirect URI that names one (`http://localhost:8080/`).
    #[ts(optional)]
    pub redirect_port: Option<u16>,
    /// The Google Cloud project.
    #[ts(optional)]
    pub project_id: Option<String>,
    /// The service account's address (Google service account key).
    #[ts(optional)]
    pub service_account: Option<String>,
}

/// The port of a loopback redirect URI (`http://localhost:8080/`, `http://127.0.0.1:9191/cb`).
fn loopback_port(uri: &str) -> Option<u16> {
    let url = url::Url::parse(uri.trim()).ok()?;
    let host = url.host_str()?;
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if url.scheme() == "http" && loopback {
        url.port()
    } else {
        None
    }
}

/// Reads the values a downloaded Google client JSON, service account key or Azure app manifest
/// fills in; what it lacks stays `None` (the findings of [`validate_file`] say why).
pub fn imported_values(text: &str) -> ImportedValues {
    let text = text.trim_start_matches('\u{feff}');
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(text) else {
        return ImportedValues::default();
    };
    let s = |o: &serde_json::Map<String, Value>, k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let uris = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().or_else(|| u.get("url").and_then(Value::as_str)))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    for (key, client_type) in [("installed", ClientType::Desktop), ("web", ClientType::Web)] {
        if let Some(obj) = root.get(key).and_then(Value::as_object) {
            if obj.contains_key("client_id") {
                return ImportedValues {
                    client_id: s(obj, "client_id"),
                    client_secret: s(obj, "client_secret").map(crate::secret::Secret::new),
                    client_type: Some(client_type),
                    redirect_port: uris(obj.get("redirect_uris"))
                        .iter()
                        .find_map(|u| loopback_port(u)),
                    project_id: s(obj, "project_id"),
                    service_account: None,
                };
            }
        }
    }
    if s(&root, "type").as_deref() == Some("service_account") {
        return ImportedValues {
            client_id: s(&root, "client_id"),
            client_type: Some(ClientType::Daemon),
            project_id: s(&root, "project_id"),
            service_account: s(&root, "client_email"),
            ..Default::default()
        };
    }
    if azure_manifest::looks_like_manifest(&root) {
        let mut redirects = uris(root.get("replyUrlsWithType"));
        for platform in ["publicClient", "web", "spa"] {
            redirects.extend(uris(root.get(platform).and_then(|p| p.get("redirectUris"))));
        }
        let web = root
            .get("web")
            .and_then(|w| w.get("redirectUris"))
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        return ImportedValues {
            client_id: s(&root, "appId"),
            client_type: Some(if web {
                ClientType::Web
            } else {
                ClientType::Desktop
            }),
            redirect_port: redirects.iter().find_map(|u| loopback_port(u)),
            ..Default::default()
        };
    }
    ImportedValues::default()
}

/// Checks a file's content against `ctx`, with today's date for secret expiry.
pub fn validate_file(text: &str, ctx: &FileContext) -> FileReport {
    validate_file_on(text, ctx, CivilDate::today())
}

/// Checks a file's content against `ctx` as of `today`.
pub fn validate_file_on(text: &str, ctx: &FileContext, today: CivilDate) -> FileReport {
    let text = text.trim_start_matches('\u{feff}');
    let mut report = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(root)) => from_json(&root, ctx, today),
        Ok(_) => unknown("The file is JSON, but not an object: it is none of the files mailoauth knows."),
        Err(json_err) => match toml::from_str::<toml::Table>(text) {
            Ok(_) => config_report(text),
            // The position is safe to show; the content may hold a secret and is never echoed.
            Err(_) => FileReport {
                kind: FileKind::Unknown,
                description: String::from("not JSON"),
                flow: None,
                client_type: None,
                purpose: None,
                findings: vec![Finding::error(
                    "file",
                    FindingCode::FileNotJson,
                    format!(
                        "The file is not valid JSON (line {}, column {}): {}.",
                        json_err.line(),
                        json_err.column(),
                        json_category(&json_err)
                    ),
                    "Choose the .json file exactly as downloaded from Google Cloud Console or the Azure portal's Manifest page, without editing it.",
                )],
            },
        },
    };
    report.findings.sort_by_key(|f| f.severity);
    report
}

/// A TOML file, checked as a mailoauth config by the config loader. Its errors name line and
/// key and never repeat a value.
fn config_report(text: &str) -> FileReport {
    let finding = match crate::config::parse(std::path::Path::new("the file"), text) {
        Ok(c) => Finding::info(
            "file",
            FindingCode::FileSummary,
            format!(
                "A valid mailoauth config (format version {}) with {} account(s).",
                c.version,
                c.accounts.len()
            ),
            "Nothing to fix.",
        ),
        Err(e) => Finding::error(
            "file",
            FindingCode::ConfigInvalid,
            e.to_string(),
            "Fix the key named, as docs/CONFIG.md describes, or restore the previous version from the .bak file beside it.",
        ),
    };
    FileReport {
        kind: FileKind::Config,
        description: String::from("a mailoauth config file"),
        flow: None,
        client_type: None,
        purpose: None,
        findings: vec![finding],
    }
}

fn json_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends too early, probably cut off",
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "a read error",
    }
}

fn unknown(message: &str) -> FileReport {
    FileReport {
        kind: FileKind::Unknown,
        description: String::from("unknown JSON"),
        flow: None,
        client_type: None,
        purpose: None,
        findings: vec![Finding::error(
            "file",
            FindingCode::FileUnknownKind,
            message,
            "mailoauth reads a Google OAuth client JSON (Credentials, Download JSON), a Google service account key, or an Azure app manifest (App registrations, the app, Manifest, Download).",
        )],
    }
}

fn wrong_provider(kind: FileKind, ctx: &FileContext) -> Option<Finding> {
    let file_provider = match kind {
        FileKind::GoogleClient | FileKind::GoogleServiceAccount => "google",
        FileKind::AzureManifest => "microsoft",
        _ => return None,
    };
    let chosen = ctx.provider.as_deref()?;
    (chosen != file_provider).then(|| {
        let name = |id: &str| provider::find(id).map_or(id.to_string(), |p| p.name.clone());
        Finding::error(
            "",
            FindingCode::WrongFileForFlow,
            format!(
                "This is a {} file, but {} is chosen.",
                name(file_provider),
                name(chosen)
            ),
            format!(
                "Choose {} as the provider, or import the {} file.",
                name(file_provider),
                name(chosen)
            ),
        )
    })
}

fn assumed(what: &[String]) -> Option<Finding> {
    (!what.is_empty()).then(|| {
        Finding::info(
            "",
            FindingCode::FileSummary,
            format!("Checked for {} (not chosen yet).", what.join(", ")),
            "Choose flow, client type and purpose (on the command line --flow, --client-type, --purpose) to check another setup.",
        )
    })
}

fn from_json(
    root: &serde_json::Map<String, Value>,
    ctx: &FileContext,
    today: CivilDate,
) -> FileReport {
    let is_google_client = root.contains_key("installed")
        || root
            .get("web")
            .is_some_and(|w| w.get("client_id").is_some() || w.get("redirect_uris").is_some());
    let is_service_account = root.get("type").and_then(Value::as_str) == Some("service_account");
    let (kind, description, mut findings, flow, client_type, purpose) = if is_google_client {
        let (d, f) = google_client::check_client(root, ctx);
        let client_type = if root.contains_key("installed") {
            ClientType::Desktop
        } else {
            ClientType::Web
        };
        (
            FileKind::GoogleClient,
            d,
            f,
            Some(ctx.flow.unwrap_or(Flow::Loopback)),
            Some(client_type),
            None,
        )
    } else if is_service_account {
        let (d, f) = google_client::check_service_account(root, ctx);
        (
            FileKind::GoogleServiceAccount,
            d,
            f,
            ctx.flow.or(Some(Flow::ServiceAccount)),
            Some(ClientType::Daemon),
            None,
        )
    } else if azure_manifest::looks_like_manifest(root) {
        let profile = provider::profile("microsoft");
        let mut guessed = Vec::new();
        let flow = ctx.flow.unwrap_or_else(|| {
            guessed.push(String::from("the loopback flow"));
            Flow::Loopback
        });
        let client_type = ctx.client_type.unwrap_or_else(|| {
            let ct = profile
                .and_then(|p| p.recommended_client_type(flow))
                .unwrap_or(ClientType::Desktop);
            guessed.push(format!("a {ct} client"));
            ct
        });
        let purpose = ctx.purpose.unwrap_or_else(|| {
            guessed.push(String::from("sending and receiving"));
            Purpose::Both
        });
        let (d, mut f) =
            azure_manifest::check_manifest(root, ctx, flow, client_type, purpose, today);
        f.extend(assumed(&guessed));
        (
            FileKind::AzureManifest,
            d,
            f,
            Some(flow),
            Some(client_type),
            Some(purpose),
        )
    } else {
        return unknown("The file is JSON, but none of the files mailoauth knows: not a Google client JSON (no installed or web), not a service account key, not an Azure app manifest.");
    };
    findings.extend(wrong_provider(kind, ctx));
    // Findings about the file as a whole have no path: name it for the UI.
    for f in &mut findings {
        if f.field.is_empty() {
            f.field = String::from("file");
        }
    }
    FileReport {
        kind,
        description,
        flow,
        client_type,
        purpose,
        findings,
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
