//! Every bad input the issue names, and the good ones next to them: redirect URIs and JavaScript origins.

use super::*;
use crate::validate::input::test_support::*;

#[test]
fn redirect_uris() {
    for good in [
        "http://127.0.0.1:8400/",
        "http://localhost",
        "http://[::1]:9000/cb",
    ] {
        assert!(
            redirect_uri(good, Some("google"), Some(ClientType::Web))
                .findings
                .is_empty(),
            "{good}"
        );
    }
    let r = redirect_uri("http://mail-relay.example.com/callback", None, None);
    assert!(has(
        &r,
        FindingCode::RedirectHttpNotLoopback,
        Severity::Error
    ));
    let r = redirect_uri(
        "https://203.0.113.77/cb",
        Some("google"),
        Some(ClientType::Web),
    );
    assert!(has(&r, FindingCode::RedirectPublicIp, Severity::Error));
    let r = redirect_uri("https://8.8.4.4/cb", Some("google"), Some(ClientType::Web));
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == FindingCode::RedirectPublicIp && f.message.contains("public IP")));
    let r = redirect_uri(
        "https://*.example.com/cb",
        Some("google"),
        Some(ClientType::Web),
    );
    assert!(has(&r, FindingCode::RedirectWildcard, Severity::Error));
    let r = redirect_uri("http://localhost:8400/#done", None, None);
    assert!(has(&r, FindingCode::RedirectFragment, Severity::Error));
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.code == FindingCode::RedirectFragment)
            .unwrap()
            .normalized_value
            .as_deref(),
        Some("http://localhost:8400/")
    );
    assert!(has(
        &redirect_uri("/callback", None, None),
        FindingCode::UrlInvalid,
        Severity::Error
    ));
    assert!(has(
        &redirect_uri("https://app.example.com/cb", Some("microsoft"), None),
        FindingCode::RedirectNotLoopback,
        Severity::Warning
    ));
    // Only Google Web clients refuse IP hosts.
    assert!(!has(
        &redirect_uri(
            "https://8.8.4.4/cb",
            Some("microsoft"),
            Some(ClientType::Web)
        ),
        FindingCode::RedirectPublicIp,
        Severity::Error
    ));
}

#[test]
fn javascript_origins() {
    assert!(javascript_origin("http://localhost:8400", Some("google"))
        .findings
        .is_empty());
    assert!(javascript_origin("https://app.example.com", Some("google"))
        .findings
        .is_empty());
    let r = javascript_origin("http://localhost", Some("google"));
    assert!(has(&r, FindingCode::OriginDefaultPort, Severity::Error));
    assert!(has(
        &javascript_origin("http://127.0.0.1:80", Some("google")),
        FindingCode::OriginDefaultPort,
        Severity::Error
    ));
    let r = javascript_origin("http://localhost:8400/oauth", Some("google"));
    assert!(has(&r, FindingCode::OriginHasPath, Severity::Error));
    assert_eq!(r.normalized.as_deref(), Some("http://localhost:8400"));
    assert!(has(
        &javascript_origin("https://app.example.com/", None),
        FindingCode::OriginHasPath,
        Severity::Error
    ));
    assert!(has(
        &javascript_origin("https://*.example.com", None),
        FindingCode::OriginWildcard,
        Severity::Error
    ));
    assert!(has(
        &javascript_origin("http://app.example.com", None),
        FindingCode::OriginHttpNotLoopback,
        Severity::Error
    ));
    assert!(has(
        &javascript_origin("https://198.51.100.3:8443", Some("google")),
        FindingCode::RedirectPublicIp,
        Severity::Error
    ));
}
