//! Every bad input the issue names, and the good ones next to them: Microsoft fields.

use super::*;
use crate::validate::input::test_support::*;

#[test]
fn azure_client_ids() {
    let r = azure_client_id("{11111111-2222-3333-4444-55555555AAAA}");
    assert!(clean(&r));
    assert_eq!(
        r.normalized.as_deref(),
        Some("11111111-2222-3333-4444-55555555aaaa")
    );
    assert!(has(
        &azure_client_id("my-app"),
        FindingCode::NotAGuid,
        Severity::Error
    ));
    assert!(has(
        &azure_client_id("00000000-0000-0000-0000-000000000000"),
        FindingCode::NilGuid,
        Severity::Error
    ));
    let r = azure_client_id("api://11111111-2222-3333-4444-555555555555");
    assert_eq!(
        r.normalized.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert!(has(&r, FindingCode::NotAGuid, Severity::Warning));
}

#[test]
fn azure_tenants() {
    assert!(azure_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47", None)
        .findings
        .is_empty());
    assert!(azure_tenant("Contoso.onmicrosoft.com", None)
        .findings
        .is_empty());
    assert_eq!(
        azure_tenant("Contoso.onmicrosoft.com", None)
            .normalized
            .as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    let r = azure_tenant("contoso", None);
    assert!(has(&r, FindingCode::TenantShape, Severity::Error));
    assert_eq!(
        r.findings[0].normalized_value.as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    let r = azure_tenant(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
        None,
    );
    assert!(has(&r, FindingCode::TenantFromUrl, Severity::Info));
    assert_eq!(
        r.normalized.as_deref(),
        Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
    );
    let r = azure_tenant("organizations", Some(Flow::DeviceCode));
    assert!(has(&r, FindingCode::TenantMultiTenant, Severity::Warning));
    assert_eq!(
        r.findings[0].checklist_step.as_deref(),
        Some("microsoft.account_types")
    );
    assert!(has(
        &azure_tenant("common", Some(Flow::ClientCredentials)),
        FindingCode::TenantNotSpecific,
        Severity::Error
    ));
    assert!(has(
        &azure_tenant("consumers", None),
        FindingCode::TenantConsumers,
        Severity::Error
    ));
    assert!(has(
        &azure_tenant("00000000-0000-0000-0000-000000000000", None),
        FindingCode::NilGuid,
        Severity::Error
    ));
    let same = same_client_and_tenant(
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        " 72F988BF-86F1-41AF-91AB-2D7CD011DB47",
    );
    assert_eq!(same.map(|f| f.code), Some(FindingCode::SameClientAndTenant));
    assert!(
        same_client_and_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.com").is_none()
    );
}

#[test]
fn azure_secret_id_instead_of_value() {
    let r = azure_client_secret(
        &Secret::new(String::from("9a8b7c6d-1111-2222-3333-444455556666")),
        None,
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.code == FindingCode::SecretIsSecretId)
        .unwrap();
    assert!(f.is_error());
    assert!(f.message.contains("Secret ID") && f.fix.contains("Value"));
    assert_eq!(f.checklist_step.as_deref(), Some("microsoft.client_secret"));
    let value = "Abc8Q~xYz0123456789abcdefghijklmnopqrstu";
    let r = azure_client_secret(&Secret::new(value.to_string()), Some(ClientType::Web));
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let r = azure_client_secret(
        &Secret::new(String::from("short")),
        Some(ClientType::Daemon),
    );
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == FindingCode::SecretShape && f.severity == Severity::Warning));
    let r = azure_client_secret(&Secret::new(value.to_string()), Some(ClientType::Desktop));
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == FindingCode::SecretNotNeeded));
    let r = azure_client_secret(&Secret::new(String::new()), Some(ClientType::Desktop));
    assert!(!r.findings.iter().any(|f| f.code == FindingCode::Empty));
    let json = serde_json::to_string(
        &azure_client_secret(&Secret::new(format!(" '{value}' ")), None).findings,
    )
    .unwrap();
    assert!(!json.contains("xYz0123456789"), "{json}");
}
