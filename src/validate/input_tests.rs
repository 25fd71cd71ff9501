//! Every bad input the issue names, and the good ones next to them.

use super::*;
use crate::provider::profile;

fn codes(r: &FieldReport) -> Vec<FindingCode> {
    r.findings.iter().map(|f| f.code).collect()
}

fn has(r: &FieldReport, code: FindingCode, severity: Severity) -> bool {
    r.findings
        .iter()
        .any(|f| f.code == code && f.severity == severity)
}

fn clean(r: &FieldReport) -> bool {
    r.findings.iter().all(|f| f.severity == Severity::Info)
}

const GOOGLE_ID: &str = "123456789012-abcdefghij0123456789klmnopqrstuv.apps.googleusercontent.com";

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
