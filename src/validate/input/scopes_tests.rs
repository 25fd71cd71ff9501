//! Every bad input the issue names, and the good ones next to them: scopes.

use super::*;
use crate::provider::profile;
use crate::validate::input::test_support::*;

#[test]
fn microsoft_scope_sets() {
    let m = profile("microsoft");
    let check =
        |raw: &str, flow, purpose| scopes(raw, m, Some(flow), Some(purpose), Cloud::Worldwide);
    let good = "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access openid email";
    assert!(check(good, Flow::Loopback, Purpose::Both)
        .findings
        .is_empty());

    let r = check(
        "https://graph.microsoft.com/User.Read https://outlook.office.com/SMTP.Send offline_access",
        Flow::Loopback,
        Purpose::Send,
    );
    assert!(has(&r, FindingCode::ScopeMixedResources, Severity::Error));
    let r = check(
        "User.Read https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
        Flow::DeviceCode,
        Purpose::Receive,
    );
    assert!(
        has(&r, FindingCode::ScopeMixedResources, Severity::Error),
        "bare names are Graph scopes"
    );

    let r = check("Mail.Send offline_access", Flow::Loopback, Purpose::Send);
    assert!(has(&r, FindingCode::GraphMailSendNotSmtp, Severity::Error));
    assert_eq!(
        r.normalized.as_deref(),
        Some("https://outlook.office.com/SMTP.Send offline_access")
    );
    let r = check(
        "https://graph.microsoft.com/Mail.Send",
        Flow::Loopback,
        Purpose::Send,
    );
    assert!(has(&r, FindingCode::GraphMailSendNotSmtp, Severity::Error));
    assert_eq!(
        r.findings[0].checklist_step.as_deref(),
        Some("microsoft.delegated_permissions")
    );

    let r = check(
        "IMAP.AccessAsUser.All, offline_access",
        Flow::Loopback,
        Purpose::Receive,
    );
    assert!(has(&r, FindingCode::ScopeMissingResource, Severity::Error));
    assert_eq!(
        r.normalized.as_deref(),
        Some("https://outlook.office.com/IMAP.AccessAsUser.All offline_access")
    );

    let r = check(
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        Flow::Loopback,
        Purpose::Both,
    );
    assert!(has(
        &r,
        FindingCode::ScopeMissingForPurpose,
        Severity::Error
    ));
    assert!(has(
        &r,
        FindingCode::ScopeMissingOfflineAccess,
        Severity::Warning
    ));
    assert_eq!(
        r.normalized.as_deref(),
        Some("https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All offline_access")
    );

    let r = check(
        "https://outlook.office.com/SMTP.Send offline_access",
        Flow::ClientCredentials,
        Purpose::Send,
    );
    assert!(has(&r, FindingCode::ScopeNeedsDefault, Severity::Error));
    assert_eq!(
        r.normalized.as_deref(),
        Some("https://outlook.office365.com/.default")
    );
    assert!(check(
        "https://outlook.office365.com/.default",
        Flow::ClientCredentials,
        Purpose::Both
    )
    .findings
    .is_empty());
    let r = check(
        "https://outlook.office365.com/.default offline_access",
        Flow::ClientCredentials,
        Purpose::Both,
    );
    assert!(has(&r, FindingCode::ScopeDefaultMixed, Severity::Error));

    let us = scopes(
        "https://outlook.office.com/SMTP.Send offline_access",
        m,
        Some(Flow::Loopback),
        Some(Purpose::Send),
        Cloud::UsGovGccHigh,
    );
    assert!(has(&us, FindingCode::ScopeWrongCloud, Severity::Warning));
    assert_eq!(
        us.normalized.as_deref(),
        Some("https://outlook.office365.us/SMTP.Send offline_access")
    );

    // The profile's own scopes pass their own checks, in every cloud and flow.
    let prof = m.unwrap();
    for cloud in prof.clouds() {
        for flow in [Flow::Loopback, Flow::DeviceCode, Flow::ClientCredentials] {
            for purpose in Purpose::all() {
                let own = prof.scopes(*purpose, flow, cloud).unwrap().join(" ");
                let r = scopes(&own, m, Some(flow), Some(*purpose), cloud);
                assert!(
                    r.findings.is_empty(),
                    "{cloud} {flow} {purpose}: {:?}",
                    r.findings
                );
            }
        }
    }
}

#[test]
fn google_scope_sets() {
    let g = profile("google");
    let check = |raw: &str, flow| scopes(raw, g, Some(flow), Some(Purpose::Both), Cloud::Worldwide);
    assert!(
        check("https://mail.google.com/ openid email", Flow::Loopback)
            .findings
            .is_empty()
    );
    let r = check(
        "https://www.googleapis.com/auth/gmail.send openid",
        Flow::Loopback,
    );
    assert!(has(&r, FindingCode::GmailApiScopeNotMail, Severity::Error));
    assert_eq!(
        r.normalized.as_deref(),
        Some("https://mail.google.com/ openid")
    );
    let r = check("https://mail.google.com", Flow::Loopback);
    assert!(has(&r, FindingCode::ScopeTrailingSlash, Severity::Warning));
    assert_eq!(r.normalized.as_deref(), Some("https://mail.google.com/"));
    let r = check("https://mail.google.com/", Flow::DeviceCode);
    assert!(has(&r, FindingCode::ScopeDeviceFlowGmail, Severity::Error));
    let r = check("openid email", Flow::Loopback);
    assert!(has(
        &r,
        FindingCode::ScopeMissingForPurpose,
        Severity::Error
    ));
    let r = check("https://mail.google.com/ offline_access", Flow::Loopback);
    assert!(has(
        &r,
        FindingCode::ScopeMissingOfflineAccess,
        Severity::Warning
    ));
    assert_eq!(r.normalized.as_deref(), Some("https://mail.google.com/"));
    assert!(has(
        &scopes("  ", g, None, None, Cloud::Worldwide),
        FindingCode::Empty,
        Severity::Error
    ));
}
