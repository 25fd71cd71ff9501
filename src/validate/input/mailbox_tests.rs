//! Every bad input the issue names, and the good ones next to them: mailbox addresses.

use super::*;
use crate::validate::input::test_support::*;

#[test]
fn mailboxes() {
    assert!(mailbox("scanner@example.com", None).findings.is_empty());
    let r = mailbox("Scan Station <scanner@example.com>", None);
    assert_eq!(r.normalized.as_deref(), Some("scanner@example.com"));
    assert!(has(&r, FindingCode::MailboxExtracted, Severity::Info));
    let r = mailbox("mailto:scanner@example.com", None);
    assert_eq!(r.normalized.as_deref(), Some("scanner@example.com"));
    // Regression: a multi-byte character across byte 7 panicked (slicing "mailto:" off).
    for pasted in ["mailto\u{e9}x@example.com", "mail\u{1F4E7}@example.com"] {
        assert!(has(
            &mailbox(pasted, None),
            FindingCode::MailboxShape,
            Severity::Error
        ));
    }
    for bad in [
        "scanner",
        "scanner@",
        "@example.com",
        "scan ner@example.com",
        "a..b@example.com",
        "x@example",
    ] {
        assert!(
            has(
                &mailbox(bad, None),
                FindingCode::MailboxShape,
                Severity::Error
            ),
            "{bad}"
        );
    }
    assert!(has(
        &mailbox("me@gmail.com", Some("microsoft")),
        FindingCode::MailboxWrongProvider,
        Severity::Error
    ));
    assert!(has(
        &mailbox("me@outlook.com", Some("google")),
        FindingCode::MailboxWrongProvider,
        Severity::Error
    ));
    assert!(has(
        &mailbox("me@hotmail.com", Some("microsoft")),
        FindingCode::MailboxPersonalAccount,
        Severity::Warning
    ));
    let r = mailbox("me@gmail.com", Some("google"));
    assert_eq!(
        r.findings[0].checklist_step.as_deref(),
        Some("google.publishing_status")
    );
}
