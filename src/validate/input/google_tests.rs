//! Every bad input the issue names, and the good ones next to them: Google fields.

use super::*;
use crate::validate::input::test_support::*;

#[test]
fn google_client_id_shapes() {
    let r = google_client_id("123456789012-abcdefghij0123456789klmnopqrstuv", None);
    assert!(has(
        &r,
        FindingCode::GoogleClientIdSuffixMissing,
        Severity::Warning
    ));
    assert_eq!(r.normalized.as_deref(), Some(GOOGLE_ID));
    let r = google_client_id("GOCSPX-AbCdEf1234567890", None);
    assert!(has(&r, FindingCode::LooksLikeSecret, Severity::Error));
    let r = google_client_id("123456789012", None);
    assert!(has(&r, FindingCode::GoogleProjectNumber, Severity::Error));
    let r = google_client_id("my-client.apps.googleusercontent.com", None);
    assert!(has(&r, FindingCode::GoogleClientIdShape, Severity::Error));
    // A service account's Client ID is its numeric unique ID.
    assert!(clean(&google_client_id(
        "113456789012345678901",
        Some(Flow::ServiceAccount)
    )));
    let r = google_client_id(
        "relay@proj.iam.gserviceaccount.com",
        Some(Flow::ServiceAccount),
    );
    assert!(has(&r, FindingCode::ServiceAccountEmail, Severity::Error));
    assert_eq!(
        r.findings[0].checklist_step.as_deref(),
        Some("google.domain_wide_delegation")
    );
}

#[test]
fn google_client_secret_shapes_and_the_secret_never_leaks() {
    let secret = Secret::new(String::from("  GOCSPX-abcdefghijklmnopqrstuvwxyz12  "));
    let r = google_client_secret(&secret);
    assert_eq!(r.value.expose(), "GOCSPX-abcdefghijklmnopqrstuvwxyz12");
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].code, FindingCode::Trimmed);
    assert_eq!(r.findings[0].normalized_value, None);
    let json = serde_json::to_string(&r.findings).unwrap();
    assert!(!json.contains("abcdefghijklmnop"), "{json}");
    assert!(format!("{r:?}").contains("[redacted]"));
    let r = google_client_secret(&Secret::new(GOOGLE_ID.to_string()));
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == FindingCode::LooksLikeClientId && f.is_error()));
    let r = google_client_secret(&Secret::new(String::from("x1y2z3")));
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == FindingCode::GoogleSecretShape));
}

#[test]
fn project_ids() {
    assert!(project_id("mail-relay-4711").findings.is_empty());
    assert!(has(
        &project_id("123456789012"),
        FindingCode::ProjectIdShape,
        Severity::Error
    ));
    assert!(has(
        &project_id("My Project"),
        FindingCode::ProjectIdShape,
        Severity::Error
    ));
}
