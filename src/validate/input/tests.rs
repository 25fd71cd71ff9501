//! Every bad input the issue names, and the good ones next to them: the cleaning every field
//! starts with, and the entry points the UI calls.

use super::*;
use crate::validate::input::test_support::*;

#[test]
fn pasted_values_are_trimmed_and_dequoted_and_it_is_said() {
    let r = google_client_id(&format!("  \u{200b}\"{GOOGLE_ID}\"\n"), None);
    assert_eq!(r.normalized.as_deref(), Some(GOOGLE_ID));
    assert_eq!(codes(&r), [FindingCode::Trimmed, FindingCode::Dequoted]);
    assert!(r
        .findings
        .iter()
        .all(|f| f.normalized_value.as_deref() == Some(GOOGLE_ID)));
    assert!(
        r.findings[0].message.starts_with("Client ID:"),
        "{}",
        r.findings[0].message
    );
    let r = mailbox("\u{201c}scanner@example.com\u{201d}", None);
    assert_eq!(r.normalized.as_deref(), Some("scanner@example.com"));
    assert_eq!(codes(&r), [FindingCode::Dequoted]);
    assert!(clean(&google_client_id(GOOGLE_ID, None)));
    assert!(google_client_id(GOOGLE_ID, None).findings.is_empty());
}

#[test]
fn empty_fields_name_where_the_value_comes_from() {
    let r = azure_client_id("   ");
    assert_eq!(codes(&r), [FindingCode::Empty, FindingCode::Trimmed]);
    assert!(r.findings[0].message.contains("Client ID is empty"));
    assert!(r.findings[0].fix.contains("Overview"));
}

#[test]
fn validate_field_dispatches_by_provider_and_hides_secrets() {
    let google = FieldContext {
        provider: Some("google".into()),
        ..Default::default()
    };
    let microsoft = FieldContext {
        provider: Some("microsoft".into()),
        ..Default::default()
    };
    assert!(validate_field(FieldKind::ClientId, GOOGLE_ID, &google).is_ok());
    assert!(!validate_field(FieldKind::ClientId, GOOGLE_ID, &microsoft).is_ok());
    let r = validate_field(
        FieldKind::ClientSecret,
        " 9a8b7c6d-1111-2222-3333-444455556666 ",
        &microsoft,
    );
    assert_eq!(r.normalized, None);
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == FindingCode::SecretIsSecretId));
    assert!(!serde_json::to_string(&r).unwrap().contains("9a8b7c6d"));
    let generic = FieldContext {
        provider: Some("generic".into()),
        ..Default::default()
    };
    assert!(validate_field(FieldKind::ClientId, "mailapp-public", &generic).is_ok());
    assert!(!validate_field(FieldKind::ClientId, "mail app", &generic).is_ok());
    let r = validate_field(FieldKind::SmtpHost, "smtp.office365.com:587", &microsoft);
    assert_eq!(r.normalized.as_deref(), Some("smtp.office365.com"));
    let r = validate_port_security(
        &PortSecurityInput {
            protocol: MailProtocol::Imap,
            port: 143,
            security: Security::StartTls,
            host: None,
        },
        &microsoft,
    );
    assert!(!r.is_ok());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["field"], "imapPort");
    assert_eq!(json["findings"][0]["code"], "provider_port_security");
}
