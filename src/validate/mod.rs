//! Validation of what the admin types, pastes and imports.
//!
//! Every check answers with [`Finding`]s: the field, how bad it is, a stable code the UI can
//! switch on, a message naming the field, the fix, and, when mailoauth could repair the value
//! (a pasted value with spaces or quotes, a URL where a host was asked), the repaired value.
//! Secrets are checked like any field but never appear in a finding.
//!
//! - [`input`]: one field at a time, as it is typed.
//! - [`file`]: a downloaded Google client JSON, a service account key or an Azure app manifest.

mod azure_manifest;
pub mod file;
mod google_client;
pub mod input;

pub use crate::date::CivilDate;
pub use file::{
    imported_values, validate_file, validate_file_on, FileContext, FileKind, FileReport,
    ImportedValues,
};
pub use input::{
    validate_field, validate_port_security, FieldContext, FieldKind, FieldReport, PortSecurityInput,
};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// It will not work this way.
    Error,
    /// It may work but is risky or will break later.
    Warning,
    /// What mailoauth noticed or changed, for the record.
    Info,
}

/// What a finding is about, for the UI to switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// Spaces, line breaks or invisible characters were removed around a pasted value.
    Trimmed,
    /// Quotes around a pasted value were removed.
    Dequoted,
    /// The field is empty.
    Empty,
    /// Not the shape of a Google OAuth client ID.
    GoogleClientIdShape,
    /// A Google client ID without its `.apps.googleusercontent.com` ending.
    GoogleClientIdSuffixMissing,
    /// A bare number where a Google client ID is asked (usually the project number).
    GoogleProjectNumber,
    /// A client secret was pasted where the client ID goes.
    LooksLikeSecret,
    /// A client ID was pasted where the client secret goes.
    LooksLikeClientId,
    /// Not the shape of a Google client secret.
    GoogleSecretShape,
    /// A service account's email address where its numeric client ID is asked.
    ServiceAccountEmail,
    /// Not the shape of a Google Cloud project ID.
    ProjectIdShape,
    /// A value that cannot contain spaces contains some.
    ValueHasSpaces,
    /// Not a GUID where Azure shows one.
    NotAGuid,
    /// The all-zero GUID.
    NilGuid,
    /// The same GUID as client ID and tenant ID.
    SameClientAndTenant,
    /// Not a tenant ID, verified domain or special tenant name.
    TenantShape,
    /// The tenant was taken out of a pasted URL.
    TenantFromUrl,
    /// `organizations` or `common`: only for multi-tenant apps.
    TenantMultiTenant,
    /// `consumers`: personal accounts, not Microsoft 365.
    TenantConsumers,
    /// An app-only flow with a tenant that is not one specific tenant.
    TenantNotSpecific,
    /// An Azure Secret ID (a GUID) where the secret's Value goes.
    SecretIsSecretId,
    /// A client secret that does not look like one of this provider's.
    SecretShape,
    /// A secret for a client type that uses none.
    SecretNotNeeded,
    /// Not a mailbox address.
    MailboxShape,
    /// The address was taken out of `Name <address>` or `mailto:`.
    MailboxExtracted,
    /// A personal account where the provider's business service is expected.
    MailboxPersonalAccount,
    /// A mailbox of another provider.
    MailboxWrongProvider,
    /// Not a host name or IP address.
    HostShape,
    /// A URL where a host name goes; the host was kept.
    HostWasUrl,
    /// `host:port` in the host field; the port belongs in the port field.
    HostHadPort,
    /// The provider's host for the other protocol.
    HostWrongProtocol,
    /// The provider's host of another cloud.
    HostOtherCloud,
    /// Not the provider's usual host.
    HostNotDefault,
    /// Port 0 or out of range.
    PortInvalid,
    /// A port used with the security of the other convention (993 with STARTTLS, ...).
    PortSecurityMismatch,
    /// No encryption to a server that is not on this machine.
    CleartextAuth,
    /// A port and security the provider does not offer.
    ProviderPortSecurity,
    /// A port other than the protocol's standard ones.
    NonStandardPort,
    /// Not an absolute URL.
    UrlInvalid,
    /// An `http://` redirect to a host that is not this machine.
    RedirectHttpNotLoopback,
    /// An IP address other than loopback in a Google Web client's redirect.
    RedirectPublicIp,
    /// A wildcard in a redirect URI.
    RedirectWildcard,
    /// A `#fragment` in a redirect URI.
    RedirectFragment,
    /// A redirect that does not reach mailoauth's loopback listener.
    RedirectNotLoopback,
    /// A JavaScript origin with a path, query or trailing slash.
    OriginHasPath,
    /// A loopback JavaScript origin without an explicit non-default port.
    OriginDefaultPort,
    /// A wildcard in a JavaScript origin.
    OriginWildcard,
    /// An `http://` origin to a host that is not this machine.
    OriginHttpNotLoopback,
    /// Microsoft Graph and Exchange scopes in one request.
    ScopeMixedResources,
    /// Graph `Mail.Send` where SMTP is meant.
    GraphMailSendNotSmtp,
    /// An Exchange scope without its resource prefix.
    ScopeMissingResource,
    /// `.default` together with other scopes.
    ScopeDefaultMixed,
    /// An app-only flow without the `.default` scope.
    ScopeNeedsDefault,
    /// The Gmail scope with Google's device flow.
    ScopeDeviceFlowGmail,
    /// A Gmail API scope that IMAP and SMTP refuse.
    GmailApiScopeNotMail,
    /// The scope the purpose needs is missing.
    ScopeMissingForPurpose,
    /// No `offline_access`: no refresh token.
    ScopeMissingOfflineAccess,
    /// An Exchange scope of another cloud.
    ScopeWrongCloud,
    /// `https://mail.google.com` without the trailing slash.
    ScopeTrailingSlash,
    /// The file is neither JSON nor TOML.
    FileNotJson,
    /// JSON that is none of the files mailoauth knows.
    FileUnknownKind,
    /// A mailoauth config file that does not load: the message names the line and key.
    ConfigInvalid,
    /// What the file is.
    FileSummary,
    /// A field the file must have is missing.
    FileFieldMissing,
    /// The file is for another flow than the chosen one.
    WrongFileForFlow,
    /// The file's client type differs from the chosen one.
    ClientTypeDiffers,
    /// Endpoints in a Google client file that are not Google's.
    ClientJsonNotGoogle,
    /// A Google client file without its secret.
    ClientJsonNoSecret,
    /// A Web client without mailoauth's redirect URI.
    ClientJsonRedirectMissing,
    /// The file is of another project than the one given.
    ProjectMismatch,
    /// The file is of another client than the one given.
    ClientIdMismatch,
    /// The Object ID where the Application (client) ID goes.
    ObjectIdNotClientId,
    /// An app registration for personal accounts only.
    ManifestAudiencePersonal,
    /// A single-tenant app used with `organizations` or `common`.
    ManifestSingleTenant,
    /// An app that accepts users of any organization.
    ManifestMultiTenant,
    /// Allow public client flows is off where the flow needs it.
    PublicClientOff,
    /// The redirect mailoauth needs is not registered.
    RedirectMissing,
    /// The redirect is registered on the wrong platform.
    RedirectWrongPlatform,
    /// A permission the flow and purpose need is missing.
    PermissionMissing,
    /// The permission is there, but delegated where application is needed or the reverse.
    PermissionWrongType,
    /// A permission mailoauth cannot confirm by its ID.
    PermissionUnconfirmed,
    /// A confidential client without secret or certificate.
    SecretMissing,
    /// A client secret that has expired.
    SecretExpired,
    /// A client secret that expires soon.
    SecretExpiring,
    /// When a client secret expires.
    SecretExpiry,
}

/// One thing validation noticed about one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The field (`clientId`, `imapPort`, ...) or, in a file, the JSON path it is about.
    pub field: String,
    /// How much it matters.
    pub severity: Severity,
    /// What it is about, for the UI to switch on.
    pub code: FindingCode,
    /// What is wrong or was noticed, naming the field.
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// The value as mailoauth repaired it, to offer in the field; never set for secrets.
    pub normalized_value: Option<String>,
    /// The registration checklist step (`microsoft.public_client`) where this is done.
    pub checklist_step: Option<String>,
}

impl Finding {
    pub(crate) fn new(
        field: &str,
        severity: Severity,
        code: FindingCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            field: field.to_string(),
            severity,
            code,
            message: message.into(),
            fix: fix.into(),
            normalized_value: None,
            checklist_step: None,
        }
    }

    pub(crate) fn error(
        field: &str,
        code: FindingCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(field, Severity::Error, code, message, fix)
    }

    pub(crate) fn warning(
        field: &str,
        code: FindingCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(field, Severity::Warning, code, message, fix)
    }

    pub(crate) fn info(
        field: &str,
        code: FindingCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(field, Severity::Info, code, message, fix)
    }

    pub(crate) fn normalized(mut self, value: impl Into<String>) -> Self {
        self.normalized_value = Some(value.into());
        self
    }

    pub(crate) fn step(mut self, step: &str) -> Self {
        debug_assert!(
            crate::provider::checklist::step_exists(step),
            "finding points at unknown checklist step {step}"
        );
        self.checklist_step = Some(step.to_string());
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_serialise_for_the_ui() {
        let f = Finding::error(
            "clientSecret",
            FindingCode::SecretIsSecretId,
            "Client secret: this is the Secret ID",
            "Copy the Value column",
        )
        .step("microsoft.client_secret");
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["severity"], "error");
        assert_eq!(json["code"], "secret_is_secret_id");
        assert_eq!(json["checklistStep"], "microsoft.client_secret");
        assert!(json["normalizedValue"].is_null());
        assert!(has_errors(&[f]));
        let decl = <Finding as TS>::decl(&ts_rs::Config::default());
        assert!(decl.contains("normalizedValue: string | null"), "{decl}");
        assert!(decl.contains("checklistStep: string | null"), "{decl}");
        let codes = <FindingCode as TS>::decl(&ts_rs::Config::default());
        assert!(codes.contains("\"scope_mixed_resources\""), "{codes}");
    }
}
