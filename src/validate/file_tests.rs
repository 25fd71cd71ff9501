//! Real-shaped files: Google client JSON (installed and web), a service account key, and Azure
//! manifests in both formats with public client flows on and off.

use super::*;
use crate::validate::Severity;

const INSTALLED: &str = include_str!("testdata/google_installed.json");
const WEB: &str = include_str!("testdata/google_web.json");
const WEB_MISTAKES: &str = include_str!("testdata/google_web_mistakes.json");
const CLASSIC_PUBLIC_ON: &str = include_str!("testdata/azure_classic_public_on.json");
const CLASSIC_PUBLIC_OFF: &str = include_str!("testdata/azure_classic_public_off.json");
const GRAPH_PUBLIC_ON: &str = include_str!("testdata/azure_graph_public_on.json");
const GRAPH_APP_ONLY: &str = include_str!("testdata/azure_graph_app_only.json");

fn day(text: &str) -> CivilDate {
    CivilDate::parse_prefix(text).unwrap()
}

fn check(text: &str, ctx: &FileContext) -> FileReport {
    validate_file_on(text, ctx, day("2025-12-20"))
}

fn ctx(flow: Option<Flow>, purpose: Option<Purpose>) -> FileContext {
    FileContext {
        flow,
        purpose,
        ..Default::default()
    }
}

fn find(r: &FileReport, code: FindingCode) -> Option<&Finding> {
    r.findings.iter().find(|f| f.code == code)
}

fn errors(r: &FileReport) -> Vec<FindingCode> {
    r.findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| f.code)
        .collect()
}

fn service_account_key() -> String {
    // Built here so no private-key header sits in the repository.
    let pem = format!(
        "-----BEGIN {k} KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwTESTONLY\n-----END {k} KEY-----\n",
        k = "PRIVATE"
    );
    serde_json::json!({
        "type": "service_account",
        "project_id": "mail-relay-4711",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": "mail-relay@mail-relay-4711.iam.gserviceaccount.com",
        "client_id": "113456789012345678901",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/mail-relay%40mail-relay-4711.iam.gserviceaccount.com",
        "universe_domain": "googleapis.com"
    })
    .to_string()
}

#[test]
fn google_desktop_client_json_is_accepted_and_its_secret_stays_inside() {
    let r = check(INSTALLED, &FileContext::default());
    assert_eq!(r.kind, FileKind::GoogleClient);
    assert!(r.is_ok(), "{:#?}", r.findings);
    assert!(r.findings.iter().all(|f| f.severity == Severity::Info));
    let summary = find(&r, FindingCode::FileSummary).unwrap();
    assert!(summary.message.contains("Desktop app") && summary.message.contains("mail-relay-4711"));
    assert_eq!(
        summary.normalized_value.as_deref(),
        Some("123456789012-abcdefghij0123456789klmnopqrstuv.apps.googleusercontent.com")
    );
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        !json.contains("TestOnly0123456789"),
        "the client secret leaked: {json}"
    );
}

#[test]
fn google_client_json_against_the_wrong_flow_provider_or_ids() {
    let r = check(INSTALLED, &ctx(Some(Flow::DeviceCode), None));
    let f = find(&r, FindingCode::WrongFileForFlow).unwrap();
    assert!(
        f.is_error() && f.message.contains("https://mail.google.com/"),
        "{}",
        f.message
    );
    let r = check(INSTALLED, &ctx(Some(Flow::ServiceAccount), None));
    assert!(find(&r, FindingCode::WrongFileForFlow)
        .unwrap()
        .message
        .contains("key JSON"));
    let microsoft = FileContext {
        provider: Some("microsoft".into()),
        ..Default::default()
    };
    assert!(errors(&check(INSTALLED, &microsoft)).contains(&FindingCode::WrongFileForFlow));
    let other = FileContext {
        project: Some("another-project".into()),
        client_id: Some("999-zzzzzzzzzz.apps.googleusercontent.com".into()),
        client_type: Some(ClientType::Web),
        ..Default::default()
    };
    let r = check(INSTALLED, &other);
    assert_eq!(
        find(&r, FindingCode::ProjectMismatch).unwrap().severity,
        Severity::Warning
    );
    assert_eq!(
        find(&r, FindingCode::ClientIdMismatch).unwrap().severity,
        Severity::Warning
    );
    assert_eq!(
        find(&r, FindingCode::ClientTypeDiffers).unwrap().severity,
        Severity::Info
    );
}

#[test]
fn google_client_json_without_secret_or_with_foreign_endpoints() {
    let mut v: serde_json::Value = serde_json::from_str(INSTALLED).unwrap();
    v["installed"]
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    v["installed"]["token_uri"] = "https://idp.example.com/token".into();
    let r = check(&v.to_string(), &FileContext::default());
    let codes = errors(&r);
    assert!(
        codes.contains(&FindingCode::ClientJsonNoSecret),
        "{codes:?}"
    );
    assert!(
        codes.contains(&FindingCode::ClientJsonNotGoogle),
        "{codes:?}"
    );
    assert_eq!(
        find(&r, FindingCode::ClientJsonNoSecret)
            .unwrap()
            .checklist_step
            .as_deref(),
        Some("google.import_client_json")
    );
}

#[test]
fn google_web_client_json_with_mailoauths_redirect() {
    let r = check(WEB, &FileContext::default());
    assert_eq!(r.kind, FileKind::GoogleClient);
    assert!(r.is_ok(), "{:#?}", r.findings);
    assert!(find(&r, FindingCode::FileSummary)
        .unwrap()
        .message
        .contains("Web application"));
    assert_eq!(r.client_type, Some(ClientType::Web));
    // The helpdesk's own redirect is noted, not flagged.
    assert_eq!(
        find(&r, FindingCode::RedirectNotLoopback).unwrap().severity,
        Severity::Info
    );
    // Another port than the one registered is a mismatch.
    let r = check(
        WEB,
        &FileContext {
            redirect_port: Some(9000),
            ..Default::default()
        },
    );
    let f = find(&r, FindingCode::ClientJsonRedirectMissing).unwrap();
    assert_eq!(
        f.normalized_value.as_deref(),
        Some("http://127.0.0.1:9000/")
    );
}

#[test]
fn google_web_client_json_mistakes() {
    let r = check(WEB_MISTAKES, &FileContext::default());
    let missing = find(&r, FindingCode::ClientJsonRedirectMissing).unwrap();
    assert!(missing.is_error());
    assert_eq!(
        missing.normalized_value.as_deref(),
        Some("http://127.0.0.1:8400/")
    );
    assert_eq!(
        missing.checklist_step.as_deref(),
        Some("google.oauth_client_web")
    );
    let ip = find(&r, FindingCode::RedirectPublicIp).unwrap();
    assert_eq!(ip.field, "web.redirect_uris[1]");
    let origin = find(&r, FindingCode::OriginDefaultPort).unwrap();
    assert_eq!(origin.field, "web.javascript_origins[0]");
    assert!(origin.is_error());
    assert_eq!(r.findings[0].severity, Severity::Error, "errors come first");
}

#[test]
fn google_service_account_key() {
    let key = service_account_key();
    let r = check(&key, &FileContext::default());
    assert_eq!(r.kind, FileKind::GoogleServiceAccount);
    assert!(r.is_ok(), "{:#?}", r.findings);
    let dwd = r
        .findings
        .iter()
        .find(|f| f.checklist_step.as_deref() == Some("google.domain_wide_delegation"))
        .unwrap();
    assert_eq!(
        dwd.normalized_value.as_deref(),
        Some("113456789012345678901")
    );
    assert!(
        !serde_json::to_string(&r).unwrap().contains("TESTONLY"),
        "the private key leaked"
    );
    let r = check(&key, &ctx(Some(Flow::Loopback), None));
    assert!(errors(&r).contains(&FindingCode::WrongFileForFlow));
    let mut v: serde_json::Value = serde_json::from_str(&key).unwrap();
    v["private_key"] = "not a key".into();
    assert!(errors(&check(&v.to_string(), &FileContext::default()))
        .contains(&FindingCode::FileFieldMissing));
}

#[test]
fn classic_manifest_with_public_flows_on() {
    for flow in [Flow::DeviceCode, Flow::Loopback] {
        let r = check(CLASSIC_PUBLIC_ON, &ctx(Some(flow), Some(Purpose::Both)));
        assert_eq!(r.kind, FileKind::AzureManifest);
        assert!(r.is_ok(), "{flow}: {:#?}", r.findings);
        assert!(
            !r.findings.iter().any(|f| f.severity == Severity::Warning),
            "{flow}: {:#?}",
            r.findings
        );
    }
    let r = check(CLASSIC_PUBLIC_ON, &FileContext::default());
    assert!(find(&r, FindingCode::FileSummary)
        .unwrap()
        .message
        .contains("classic format"));
    assert_eq!(
        find(&r, FindingCode::FileSummary)
            .unwrap()
            .normalized_value
            .as_deref(),
        Some("3f2c9b1e-7d4a-4c8e-9a61-2b5f0d8e7c10")
    );
    // Without a tenant, the single-tenant app needs one.
    assert_eq!(
        find(&r, FindingCode::ManifestSingleTenant)
            .unwrap()
            .severity,
        Severity::Info
    );
    // The assumptions are said.
    assert!(r
        .findings
        .iter()
        .any(|f| f.message.contains("Checked for the loopback flow")));
}

#[test]
fn classic_manifest_with_public_flows_off_and_the_usual_mistakes() {
    let r = check(
        CLASSIC_PUBLIC_OFF,
        &ctx(Some(Flow::DeviceCode), Some(Purpose::Both)),
    );
    assert_eq!(r.kind, FileKind::AzureManifest, "the BOM is skipped");
    let public = find(&r, FindingCode::PublicClientOff).unwrap();
    assert!(public.is_error());
    assert_eq!(public.field, "allowPublicClient");
    assert_eq!(
        public.checklist_step.as_deref(),
        Some("microsoft.public_client")
    );
    let mail_send = find(&r, FindingCode::GraphMailSendNotSmtp).unwrap();
    assert!(mail_send.is_error() && mail_send.message.contains("SMTP.Send"));
    assert_eq!(
        mail_send.checklist_step.as_deref(),
        Some("microsoft.delegated_permissions")
    );
    let openid = r
        .findings
        .iter()
        .find(|f| f.code == FindingCode::PermissionMissing && f.message.contains("openid"))
        .unwrap();
    assert_eq!(openid.severity, Severity::Warning);
    // Receiving only: IMAP is there, so no permission error at all.
    let r2 = check(
        CLASSIC_PUBLIC_OFF,
        &ctx(Some(Flow::DeviceCode), Some(Purpose::Receive)),
    );
    assert_eq!(errors(&r2), [FindingCode::PublicClientOff]);
    // The secret is not used by a public client, and it expires in 21 days.
    assert!(find(&r, FindingCode::SecretNotNeeded).is_some());
    let expiring = find(&r, FindingCode::SecretExpiring).unwrap();
    assert!(
        expiring.message.contains("2026-01-10") && expiring.message.contains("21 days"),
        "{}",
        expiring.message
    );

    // Loopback with a desktop client: http://localhost sits under Web.
    let r = check(
        CLASSIC_PUBLIC_OFF,
        &ctx(Some(Flow::Loopback), Some(Purpose::Receive)),
    );
    assert!(
        find(&r, FindingCode::PublicClientOff).is_none(),
        "loopback needs no public client flows"
    );
    let platform = find(&r, FindingCode::RedirectWrongPlatform).unwrap();
    assert_eq!(platform.field, "replyUrlsWithType[0]");
    assert!(platform.message.contains("AADSTS7000218"));
    assert_eq!(
        platform.checklist_step.as_deref(),
        Some("microsoft.platform_desktop")
    );
}

#[test]
fn graph_format_manifest_with_public_flows_on_and_off() {
    let r = check(
        GRAPH_PUBLIC_ON,
        &ctx(Some(Flow::DeviceCode), Some(Purpose::Both)),
    );
    assert!(r.is_ok(), "{:#?}", r.findings);
    assert!(find(&r, FindingCode::FileSummary)
        .unwrap()
        .message
        .contains("Microsoft Graph format"));
    // Exchange's own delegated permission IDs count as well as Graph's.
    assert!(
        find(&r, FindingCode::PermissionMissing).is_none(),
        "{:#?}",
        r.findings
    );
    let loopback = check(GRAPH_PUBLIC_ON, &ctx(Some(Flow::Loopback), None));
    assert!(loopback.is_ok(), "{:#?}", loopback.findings);

    let mut v: serde_json::Value = serde_json::from_str(GRAPH_PUBLIC_ON).unwrap();
    v["isFallbackPublicClient"] = serde_json::Value::Null;
    v["publicClient"]["redirectUris"] = serde_json::json!([]);
    v["spa"]["redirectUris"] = serde_json::json!(["http://localhost"]);
    let off = v.to_string();
    let r = check(&off, &ctx(Some(Flow::DeviceCode), None));
    let f = find(&r, FindingCode::PublicClientOff).unwrap();
    assert_eq!(f.field, "isFallbackPublicClient");
    assert!(f.message.contains("not set"));
    let r = check(&off, &ctx(Some(Flow::Loopback), None));
    let f = find(&r, FindingCode::RedirectWrongPlatform).unwrap();
    assert_eq!(f.field, "spa.redirectUris[0]");
    assert!(f.message.contains("AADSTS9002327"));
    v["spa"]["redirectUris"] = serde_json::json!([]);
    let r = check(&v.to_string(), &ctx(Some(Flow::Loopback), None));
    let f = find(&r, FindingCode::RedirectMissing).unwrap();
    assert_eq!(
        (f.field.as_str(), f.normalized_value.as_deref()),
        ("publicClient.redirectUris", Some("http://localhost"))
    );
}

#[test]
fn graph_format_app_only_manifest() {
    let app_only = FileContext {
        flow: Some(Flow::ClientCredentials),
        tenant: Some("contoso.onmicrosoft.com".into()),
        ..Default::default()
    };
    let r = check(GRAPH_APP_ONLY, &app_only);
    assert!(r.is_ok(), "{:#?}", r.findings);
    assert_eq!(r.client_type, Some(ClientType::Daemon));
    let expiry = find(&r, FindingCode::SecretExpiry).unwrap();
    assert!(expiry.message.contains("2026-08-01") && expiry.message.contains("record"));
    let r = validate_file_on(GRAPH_APP_ONLY, &app_only, day("2026-08-02"));
    let expired = find(&r, FindingCode::SecretExpired).unwrap();
    assert!(expired.is_error() && expired.message.contains("AADSTS7000222"));
    assert_eq!(expired.field, "passwordCredentials[0]");

    // The same app for a signed-in user: the roles are the wrong kind, and nothing is registered.
    let r = check(
        GRAPH_APP_ONLY,
        &ctx(Some(Flow::Loopback), Some(Purpose::Both)),
    );
    let wrong: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.code == FindingCode::PermissionWrongType)
        .collect();
    assert_eq!(wrong.len(), 2, "{:#?}", r.findings);
    assert!(
        wrong[0].message.contains("IMAP.AccessAsApp")
            && wrong[0].message.contains("IMAP.AccessAsUser.All")
    );
    assert!(find(&r, FindingCode::RedirectMissing).is_some());

    // Single tenant with organizations; the Object ID pasted as client ID.
    let mixed_up = FileContext {
        flow: Some(Flow::DeviceCode),
        tenant: Some("organizations".into()),
        client_id: Some("4A6C8E0B-2D4F-4A6B-8C0E-2A4C6E8A0B2D".into()),
        ..Default::default()
    };
    let r = check(GRAPH_APP_ONLY, &mixed_up);
    let single = find(&r, FindingCode::ManifestSingleTenant).unwrap();
    assert!(single.is_error() && single.message.contains("AADSTS50194"));
    let object = find(&r, FindingCode::ObjectIdNotClientId).unwrap();
    assert_eq!(
        object.normalized_value.as_deref(),
        Some("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5e")
    );
}

#[test]
fn app_only_manifest_without_secret_or_smtp_role() {
    let mut v: serde_json::Value = serde_json::from_str(GRAPH_APP_ONLY).unwrap();
    v["passwordCredentials"] = serde_json::json!([]);
    v["requiredResourceAccess"][0]["resourceAccess"] = serde_json::json!([
        {"id": "5e5addcd-3e8d-4e90-baf5-964efab2b20a", "type": "Role"}
    ]);
    let app_only = ctx(Some(Flow::ClientCredentials), Some(Purpose::Send));
    let r = check(&v.to_string(), &app_only);
    assert!(errors(&r).contains(&FindingCode::SecretMissing));
    let smtp = find(&r, FindingCode::PermissionMissing).unwrap();
    assert!(smtp.is_error() && smtp.message.contains("SMTP.SendAsApp"));
    assert_eq!(
        smtp.checklist_step.as_deref(),
        Some("microsoft.application_permissions")
    );
    // An Exchange role mailoauth cannot name might be SMTP.SendAsApp: say so instead.
    v["requiredResourceAccess"][0]["resourceAccess"] = serde_json::json!([
        {"id": "0f0e0d0c-0b0a-4909-8807-060504030201", "type": "Role"}
    ]);
    let r = check(&v.to_string(), &app_only);
    assert_eq!(
        find(&r, FindingCode::PermissionUnconfirmed)
            .unwrap()
            .severity,
        Severity::Warning
    );
    assert!(find(&r, FindingCode::PermissionMissing).is_none());
    // Graph's Mail.Send application permission is not SMTP.
    v["requiredResourceAccess"] = serde_json::json!([{
        "resourceAppId": "00000003-0000-0000-c000-000000000000",
        "resourceAccess": [{"id": "b633e1c5-b582-4048-a93e-9f11b44c7e96", "type": "Role"}]
    }]);
    let r = check(&v.to_string(), &app_only);
    assert!(find(&r, FindingCode::GraphMailSendNotSmtp)
        .unwrap()
        .is_error());
}

#[test]
fn web_client_manifest_needs_the_exact_web_redirect_and_a_secret() {
    let mut v: serde_json::Value = serde_json::from_str(GRAPH_PUBLIC_ON).unwrap();
    v["web"]["redirectUris"] = serde_json::json!(["http://localhost:8400/"]);
    let web = FileContext {
        flow: Some(Flow::Loopback),
        client_type: Some(ClientType::Web),
        ..Default::default()
    };
    let r = check(&v.to_string(), &web);
    assert_eq!(
        errors(&r),
        [FindingCode::SecretMissing],
        "{:#?}",
        r.findings
    );
    v["web"]["redirectUris"] = serde_json::json!(["http://localhost:8400"]);
    let r = check(&v.to_string(), &web);
    let f = find(&r, FindingCode::RedirectMissing).unwrap();
    assert_eq!(
        f.normalized_value.as_deref(),
        Some("http://localhost:8400/")
    );
    assert_eq!(f.checklist_step.as_deref(), Some("microsoft.platform_web"));
}

#[test]
fn personal_account_manifest_is_refused() {
    let mut v: serde_json::Value = serde_json::from_str(GRAPH_PUBLIC_ON).unwrap();
    v["signInAudience"] = "PersonalMicrosoftAccount".into();
    let r = check(&v.to_string(), &FileContext::default());
    assert!(find(&r, FindingCode::ManifestAudiencePersonal)
        .unwrap()
        .is_error());
    v["signInAudience"] = "AzureADMultipleOrgs".into();
    let r = check(&v.to_string(), &FileContext::default());
    assert_eq!(
        find(&r, FindingCode::ManifestMultiTenant).unwrap().severity,
        Severity::Warning
    );
}

#[test]
fn other_files_are_named_not_echoed() {
    let r = check(
        "client_secret = \"hunter2\"\n[smtp]\nhost = \"smtp.example.com\"\n",
        &FileContext::default(),
    );
    assert_eq!(r.kind, FileKind::Config);
    assert_eq!(r.findings[0].code, FindingCode::ConfigInvalid);
    assert!(
        r.findings[0].message.contains("version"),
        "{:?}",
        r.findings[0]
    );
    assert!(!r.findings[0].message.contains("hunter2"));
    assert!(!r.is_ok());
    let valid = check("version = 1\n", &FileContext::default());
    assert_eq!(valid.findings[0].code, FindingCode::FileSummary);
    assert!(valid.is_ok());
    let r = check("{\"client_secret\": \"hunter2\", ", &FileContext::default());
    assert_eq!(r.kind, FileKind::Unknown);
    let f = &r.findings[0];
    assert_eq!(f.code, FindingCode::FileNotJson);
    assert!(f.message.contains("line 1"), "{}", f.message);
    assert!(!serde_json::to_string(&r).unwrap().contains("hunter2"));
    let r = check("{\"name\": \"something else\"}", &FileContext::default());
    assert_eq!(
        (r.kind, r.findings[0].code),
        (FileKind::Unknown, FindingCode::FileUnknownKind)
    );
    assert!(!r.is_ok());
    assert_eq!(
        check("[1, 2]", &FileContext::default()).kind,
        FileKind::Unknown
    );
}

#[test]
fn reading_files() {
    let dir = std::env::temp_dir().join(format!("mailoauth-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ok = dir.join("client.json");
    std::fs::write(&ok, INSTALLED).unwrap();
    assert_eq!(read(&ok).unwrap(), INSTALLED);
    assert!(matches!(
        read(&dir.join("nope.json")),
        Err(FileError::NotFound { .. })
    ));
    let binary = dir.join("blob.bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    assert!(matches!(read(&binary), Err(FileError::NotText { .. })));
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; (MAX_FILE_BYTES + 1) as usize]).unwrap();
    assert!(matches!(read(&big), Err(FileError::TooLarge { .. })));
    assert!(matches!(
        read(&dir),
        Err(FileError::NotAFile {
            what: "a folder",
            ..
        })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `mailoauth validate` reads like the config loader: a FIFO neither hangs the open nor the
/// read, and a device is never read (`/dev/zero` would read until memory runs out).
#[cfg(unix)]
#[test]
fn a_pipe_or_a_device_is_refused_without_reading_it() {
    let dir = std::env::temp_dir().join(format!("mailoauth-file-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("client.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // The read runs on a thread so that a regression fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send((read(&fifo), read(Path::new("/dev/zero"))));
    });
    let (pipe, device) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("read returned instead of blocking on the FIFO or reading /dev/zero");
    for r in [pipe, device] {
        assert!(
            matches!(r, Err(FileError::NotAFile { what, .. }) if what.contains("not a regular file")),
            "{r:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn imported_values_fill_the_wizard_fields_and_keep_the_secret_wrapped() {
    let v = imported_values(INSTALLED);
    assert!(v
        .client_id
        .as_deref()
        .is_some_and(|id| id.ends_with(".apps.googleusercontent.com")));
    assert_eq!(v.client_type, Some(ClientType::Desktop));
    let secret = v.client_secret.clone().expect("the JSON's client secret");
    assert!(!secret.expose().is_empty());
    // The secret never reaches the serialised values (they go to the UI and to logs).
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains(secret.expose().as_str()), "{json}");
    assert!(!format!("{v:?}").contains(secret.expose().as_str()));

    let w = imported_values(WEB);
    assert_eq!(w.client_type, Some(ClientType::Web));
    assert_eq!(w.redirect_port, Some(8400));
    assert_eq!(w.project_id.as_deref(), Some("mail-relay-4711"));

    let m = imported_values(GRAPH_PUBLIC_ON);
    assert!(m.client_id.is_some());
    assert_eq!(m.client_secret, None);
    assert_eq!(imported_values("not json"), ImportedValues::default());
    assert_eq!(imported_values("{}"), ImportedValues::default());
}

#[test]
fn loopback_ports_come_only_from_http_loopback_redirects() {
    assert_eq!(loopback_port("http://localhost:8080/"), Some(8080));
    assert_eq!(loopback_port("http://127.0.0.1:9191/cb"), Some(9191));
    assert_eq!(loopback_port("http://localhost"), None);
    assert_eq!(loopback_port("https://localhost:8443/"), None);
    assert_eq!(loopback_port("http://example.com:8080/"), None);
    let text = r#"{"web": {"client_id": "1-a.apps.googleusercontent.com", "client_secret": "GOCSPX-x",
        "redirect_uris": ["https://app.example.com/cb", "http://localhost:8765/"]}}"#;
    assert_eq!(imported_values(text).redirect_port, Some(8765));
}

/// A summary says in words what the file leaves out, never with a `<...>` stand-in that reads
/// like a placeholder to fill in (issue: "client of project `<no project_id>`").
#[test]
fn a_summary_without_a_project_says_so_in_words() {
    let text = r#"{"installed":{"client_id":"123456789012-abcdefghij0123456789klmnopqrstuv.apps.googleusercontent.com","client_secret":"GOCSPX-AbCdEfGhIjKlMnOpQrStUvWxYz01","redirect_uris":["http://localhost"],"auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token"}}"#;
    let report = validate_file_on(text, &FileContext::default(), day("2025-12-20"));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("<no "), "{json}");
    assert!(json.contains("with no project named in the file"), "{json}");
}
