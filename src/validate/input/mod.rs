//! Field-by-field validation, as the admin types or pastes.
//!
//! Every validator first cleans the pasted value (spaces, line breaks, invisible characters,
//! quotes) and says so, then checks the shape the provider expects and the mistakes people make
//! with that field. The answer is a [`FieldReport`]: the cleaned value and the findings.

mod google;
mod mailbox;
mod microsoft;
mod redirect;
mod report;
mod scopes;
mod server;
#[cfg(test)]
mod test_support;

pub use google::{google_client_id, google_client_secret, project_id};
pub use mailbox::mailbox;
pub use microsoft::{azure_client_id, azure_client_secret, azure_tenant, same_client_and_tenant};
pub use redirect::{javascript_origin, redirect_uri};
pub(crate) use redirect::{javascript_origin_at, redirect_uri_at};
pub use report::{normalize, FieldReport, Normalized, SecretReport};
pub use scopes::scopes;
pub use server::{
    check_cleartext, cleartext_allowed, host, port_security, usual_security, CleartextRefused,
};

use crate::provider::{self, ClientType, Cloud, Flow, MailProtocol, Profile, Purpose, Security};
use crate::secret::Secret;
use crate::validate::{Finding, FindingCode};
use report::empty;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
mod tests;
