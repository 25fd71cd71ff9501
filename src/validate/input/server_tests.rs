//! Every bad input the issue names, and the good ones next to them: mail servers and clear-text logins.

use super::*;
use crate::provider::profile;
use crate::validate::input::test_support::*;

#[test]
fn host_names() {
    let m = profile("microsoft");
    let r = host(
        field::SMTP_HOST,
        "smtp.office365.com",
        MailProtocol::Smtp,
        m,
        Cloud::Worldwide,
    );
    assert!(r.findings.is_empty());
    let r = host(
        field::IMAP_HOST,
        "imaps://outlook.office365.com:993/",
        MailProtocol::Imap,
        m,
        Cloud::Worldwide,
    );
    assert!(has(&r, FindingCode::HostWasUrl, Severity::Warning));
    assert_eq!(r.normalized.as_deref(), Some("outlook.office365.com"));
    assert!(r.is_ok());
    let r = host(
        field::SMTP_HOST,
        "smtp.gmail.com:587",
        MailProtocol::Smtp,
        None,
        Cloud::Worldwide,
    );
    assert!(has(&r, FindingCode::HostHadPort, Severity::Warning));
    assert_eq!(r.normalized.as_deref(), Some("smtp.gmail.com"));
    let r = host(
        field::IMAP_HOST,
        "smtp.office365.com",
        MailProtocol::Imap,
        m,
        Cloud::Worldwide,
    );
    assert!(has(&r, FindingCode::HostWrongProtocol, Severity::Warning));
    assert_eq!(
        r.findings[0].normalized_value.as_deref(),
        Some("outlook.office365.com")
    );
    let r = host(
        field::IMAP_HOST,
        "outlook.office365.com",
        MailProtocol::Imap,
        m,
        Cloud::UsGovGccHigh,
    );
    assert!(has(&r, FindingCode::HostOtherCloud, Severity::Warning));
    let r = host(
        field::IMAP_HOST,
        "imap-mail.outlook.com",
        MailProtocol::Imap,
        m,
        Cloud::Worldwide,
    );
    assert!(has(&r, FindingCode::HostNotDefault, Severity::Warning));
    let r = host(
        field::IMAP_HOST,
        "mail-proxy.corp.example",
        MailProtocol::Imap,
        profile("google"),
        Cloud::Worldwide,
    );
    assert!(has(&r, FindingCode::HostNotDefault, Severity::Info));
    for bad in [
        "mail_server.example.com",
        "user@example.com",
        "example.com/imap",
        "bad host",
    ] {
        let r = host(
            field::IMAP_HOST,
            bad,
            MailProtocol::Imap,
            None,
            Cloud::Worldwide,
        );
        assert!(has(&r, FindingCode::HostShape, Severity::Error), "{bad}");
    }
    assert!(host(
        field::IMAP_HOST,
        "127.0.0.1",
        MailProtocol::Imap,
        None,
        Cloud::Worldwide
    )
    .findings
    .is_empty());
    assert!(host(
        field::IMAP_HOST,
        "mailhost",
        MailProtocol::Imap,
        None,
        Cloud::Worldwide
    )
    .findings
    .is_empty());
    assert_eq!(
        host(
            field::IMAP_HOST,
            "IMAP.Example.COM.",
            MailProtocol::Imap,
            None,
            Cloud::Worldwide
        )
        .normalized
        .as_deref(),
        Some("imap.example.com")
    );
}

#[test]
fn port_and_security_pairs() {
    use MailProtocol::{Imap, Smtp};
    use Security::{None as Plain, StartTls, Tls};
    let ok = |proto, port, sec| {
        port_security(
            proto,
            port,
            sec,
            Some("mail.example.com"),
            None,
            Cloud::Worldwide,
        )
    };
    for (proto, port, sec) in [
        (Imap, 993, Tls),
        (Imap, 143, StartTls),
        (Smtp, 587, StartTls),
        (Smtp, 465, Tls),
        (Smtp, 25, StartTls),
    ] {
        assert!(
            ok(proto, port, sec).findings.is_empty(),
            "{proto} {port} {sec}"
        );
    }
    for (proto, port, sec) in [
        (Imap, 993, StartTls),
        (Imap, 143, Tls),
        (Smtp, 587, Tls),
        (Smtp, 465, StartTls),
        (Smtp, 25, Tls),
    ] {
        let r = ok(proto, port, sec);
        assert!(
            has(&r, FindingCode::PortSecurityMismatch, Severity::Error),
            "{proto} {port} {sec}"
        );
    }
    let r = ok(Imap, 993, StartTls);
    assert!(r.findings[0].message.starts_with("IMAP port:"));
    assert!(r.findings[0].fix.contains("143"), "{}", r.findings[0].fix);
    assert!(has(
        &ok(Imap, 143, Plain),
        FindingCode::CleartextAuth,
        Severity::Error
    ));
    assert!(has(
        &ok(Smtp, 0, Tls),
        FindingCode::PortInvalid,
        Severity::Error
    ));
    assert!(has(
        &ok(Smtp, 70000, Tls),
        FindingCode::PortInvalid,
        Severity::Error
    ));
    assert!(has(
        &ok(Imap, 10993, Tls),
        FindingCode::NonStandardPort,
        Severity::Info
    ));
    // The local test peers: plain ports on this machine are tolerated, loudly.
    let local = port_security(
        Imap,
        10143,
        Plain,
        Some("127.0.0.1"),
        None,
        Cloud::Worldwide,
    );
    assert!(has(&local, FindingCode::CleartextAuth, Severity::Warning) && local.is_ok());

    let m = profile("microsoft");
    let ms = |proto, port, sec| port_security(proto, port, sec, None, m, Cloud::Worldwide);
    assert!(ms(Imap, 993, Tls).findings.is_empty());
    assert!(ms(Smtp, 587, StartTls).findings.is_empty());
    let r = ms(Imap, 143, StartTls);
    assert!(has(&r, FindingCode::ProviderPortSecurity, Severity::Error));
    assert!(
        r.findings[0].message.contains("993 with TLS"),
        "{}",
        r.findings[0].message
    );
    let r = ms(Smtp, 465, Tls);
    assert!(has(&r, FindingCode::ProviderPortSecurity, Severity::Error));
    assert!(
        r.findings[0].message.contains("587 with STARTTLS"),
        "{}",
        r.findings[0].message
    );
    assert!(has(
        &ms(Smtp, 25, StartTls),
        FindingCode::ProviderPortSecurity,
        Severity::Warning
    ));
    let g = profile("google");
    let gm = |proto, port, sec| port_security(proto, port, sec, None, g, Cloud::Worldwide);
    assert!(gm(Smtp, 465, Tls).findings.is_empty());
    assert!(has(
        &gm(Imap, 143, StartTls),
        FindingCode::ProviderPortSecurity,
        Severity::Error
    ));
}

#[test]
fn cleartext_is_allowed_only_to_a_loopback_host() {
    for host in [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "[::1]",
        "localhost",
        "LocalHost",
    ] {
        assert!(cleartext_allowed(host, Security::None), "{host}");
        assert!(check_cleartext(MailProtocol::Smtp, host, 25, Security::None).is_ok());
    }
    for host in [
        "smtp.example.com",
        "0.0.0.0",
        "::",
        "10.0.0.5",
        "::ffff:127.0.0.1",
        "localhost.example.com",
        "127.0.0.1.example.com",
        "",
    ] {
        assert!(!cleartext_allowed(host, Security::None), "{host}");
        let refused = check_cleartext(MailProtocol::Imap, host, 143, Security::None).unwrap_err();
        assert!(refused.problem.contains("clear text"), "{refused}");
        assert!(
            refused
                .fix
                .contains("IMAP on port 143 normally uses STARTTLS"),
            "{refused}"
        );
        // Encrypted logins go anywhere.
        assert!(cleartext_allowed(host, Security::Tls));
        assert!(cleartext_allowed(host, Security::StartTls));
    }
    // The wizard's port field applies the same rule.
    let report = port_security(
        MailProtocol::Smtp,
        25,
        Security::None,
        Some("0.0.0.0"),
        None,
        Cloud::Worldwide,
    );
    assert!(!report.is_ok());
    let report = port_security(
        MailProtocol::Smtp,
        25,
        Security::None,
        Some("127.0.0.1"),
        None,
        Cloud::Worldwide,
    );
    assert!(report.is_ok(), "{report:?}");
}
