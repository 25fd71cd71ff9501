//! Tests of the account façade and its conversions.

use super::*;
use crate::config::{Account, SecretRef, StoreSpec};
use crate::provider::{ClientAuth, Security, SANDBOX_PROVIDER};

fn draft(provider: &str, purpose: Purpose) -> AccountDraft {
    AccountDraft {
        provider: provider.into(),
        cloud: Cloud::Worldwide,
        tenant: Some(" contoso.com ".into()),
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        flow: Flow::DeviceCode,
        purpose,
        mailbox: " scanner@contoso.com ".into(),
        smtp: None,
        imap: None,
        client_secret: None,
        redirect_port: None,
        readers: Vec::new(),
    }
}

#[test]
fn a_client_secret_picks_the_profiles_secret_method_and_google_needs_one() {
    let mut d = draft("google", Purpose::Both);
    d.tenant = None;
    d.client_id = "1234-abc.apps.googleusercontent.com".into();
    d.mailbox = "scanner@example.com".into();
    d.flow = Flow::Loopback;
    let err = plan(&d, None).unwrap_err();
    assert!(matches!(err, AccountError::SecretNeeded { .. }), "{err}");
    assert!(
        err.to_string().starts_with("Client secret is empty"),
        "{err}"
    );
    d.client_secret = Some(crate::secret::Secret::new(" GOCSPX-abc ".into()));
    d.redirect_port = Some(8080);
    let s = plan(&d, None).unwrap();
    assert_eq!(s.auth.client_auth, ClientAuth::ClientSecretPost);
    assert_eq!(s.auth.redirect_port, Some(8080));
    assert_eq!(
        s.auth.client_secret,
        Some(SecretRef::Keyring {
            service: "mailoauth".into(),
            entry: "client-secret/scanner@example.com".into()
        })
    );
    // The plan travels to the UI: the secret itself is never in it.
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("GOCSPX-abc"), "{json}");
    // Microsoft's device code flow is public: no secret, no method.
    let m = plan(&draft("microsoft", Purpose::Both), None).unwrap();
    assert_eq!(m.auth.client_auth, ClientAuth::None);
    assert_eq!(m.auth.client_secret, None);
    // The config account names where the secret is, never the secret.
    let account = to_config("scanner", &s, None);
    assert_eq!(
        account.auth.client_secret.map(|r| r.to_string()).as_deref(),
        Some("keyring:mailoauth/client-secret/scanner@example.com")
    );
    assert_eq!(account.auth.redirect_port, Some(8080));
}

#[test]
fn microsoft_draft_gets_the_profile_s_mail_servers() {
    let s = plan(&draft("microsoft", Purpose::Both), None).unwrap();
    assert_eq!(s.auth.tenant.as_deref(), Some("contoso.com"));
    assert_eq!(s.auth.mailbox, "scanner@contoso.com");
    let smtp = s.check.smtp.expect("smtp for sending");
    assert_eq!((smtp.port, smtp.security), (587, Security::StartTls));
    let imap = s.check.imap.expect("imap for receiving");
    assert_eq!((imap.port, imap.security), (993, Security::Tls));
    let send_only = plan(&draft("microsoft", Purpose::Send), None).unwrap();
    assert!(send_only.check.imap.is_none());
    // The admin's server wins over the default, and only for a protocol the purpose uses.
    let mut d = draft("microsoft", Purpose::Send);
    let own = Endpoint {
        host: "relay.contoso.com".into(),
        port: 25,
        security: Security::StartTls,
    };
    d.smtp = Some(own.clone());
    d.imap = Some(own.clone());
    let s = plan(&d, None).unwrap();
    assert_eq!(s.check.smtp, Some(own));
    assert!(s.check.imap.is_none());
}

#[test]
fn a_planned_account_is_saved_atomically_and_reads_back() {
    let setup = plan(&draft("microsoft", Purpose::Both), None).unwrap();
    let account = to_config("scanner", &setup, None);
    assert_eq!(
        account.token_store.to_string(),
        "keyring:mailoauth/scanner@contoso.com"
    );
    let dir = std::env::temp_dir().join(format!("mailoauth-setup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("mailoauth.toml");
    let preview = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
    assert!(!preview.saved && !path.exists(), "a preview writes nothing");
    assert_eq!(preview.base, "none", "made from no file");
    let write = SaveMode::Write {
        base: Some(preview.base.clone()),
    };
    let saved = save_account(&path, account.clone(), write).unwrap();
    assert!(saved.saved && saved.text == preview.text);
    let back = crate::config::load(&path).unwrap();
    assert_eq!(back.config.account("scanner"), Some(&account));
    // Edited by hand since it was read: the next save shows the difference instead.
    let edited = std::fs::read_to_string(&path).unwrap() + "\n# edited by hand\n";
    let mut doc = crate::config::load(&path).unwrap();
    std::fs::write(&path, edited).unwrap();
    doc.set_account(account);
    assert!(matches!(
        doc.save().unwrap(),
        crate::config::SaveOutcome::ChangedOnDisk { .. }
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_changed_between_the_preview_and_the_save_is_not_overwritten() {
    let setup = plan(&draft("microsoft", Purpose::Both), None).unwrap();
    let account = to_config("scanner", &setup, None);
    let dir = std::env::temp_dir().join(format!("mailoauth-setup-base-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("mailoauth.toml");
    let write = |base: &str| SaveMode::Write {
        base: Some(base.to_string()),
    };

    // No file at the preview; one appears before Save (another admin, another wizard).
    let preview = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, "version = 1\n# written by hand\n").unwrap();
    let refused = save_account(&path, account.clone(), write(&preview.base)).unwrap();
    assert!(!refused.saved, "not written over a file that appeared");
    let diff = refused.changed_on_disk.expect("the difference is shown");
    assert!(diff.contains("-# written by hand"), "{diff}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "version = 1\n# written by hand\n",
        "the hand edit is intact"
    );

    // A new preview is made from the file as it is now, and then Save goes through.
    let again = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
    assert_ne!(again.base, preview.base);
    let saved = save_account(&path, account.clone(), write(&again.base)).unwrap();
    assert!(saved.saved, "{:?}", saved.changed_on_disk);

    // Edited after that preview: refused again; an unknown base never matches; Overwrite
    // writes after the admin saw the difference.
    let preview = save_account(&path, account.clone(), SaveMode::Preview).unwrap();
    let edited = std::fs::read_to_string(&path).unwrap() + "# later\n";
    std::fs::write(&path, &edited).unwrap();
    assert!(
        !save_account(&path, account.clone(), write(&preview.base))
            .unwrap()
            .saved
    );
    assert!(
        !save_account(&path, account.clone(), write("zz"))
            .unwrap()
            .saved
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    let forced = save_account(&path, account.clone(), SaveMode::Overwrite).unwrap();
    assert!(forced.saved && !std::fs::read_to_string(&path).unwrap().contains("# later"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_fields_and_a_missing_sandbox_are_named() {
    let mut d = draft("google", Purpose::Receive);
    d.client_id = "  ".into();
    assert!(plan(&d, None)
        .unwrap_err()
        .to_string()
        .starts_with("Client ID is empty"));
    d.mailbox = String::new();
    assert!(plan(&d, None)
        .unwrap_err()
        .to_string()
        .starts_with("Mailbox address is empty"));
    let err = plan(&draft(SANDBOX_PROVIDER, Purpose::Both), None).unwrap_err();
    assert!(matches!(err, AccountError::NoSandbox));
    assert!(plan(&draft("yahoo", Purpose::Both), None).is_err());
}

fn account(name: &str) -> Account {
    crate::config::parse(std::path::Path::new("m.toml"), crate::config::tests::SAMPLE)
        .unwrap()
        .account(name)
        .unwrap()
        .clone()
}

#[test]
fn settings_carry_every_value_the_engine_reads() {
    let a = account("alerts");
    let auth = a.oauth_settings(std::path::Path::new("m.toml")).unwrap();
    // alerts keeps its client secret in the keyring: the engine reads it from there.
    assert_eq!(
        auth.client_secret,
        Some(SecretRef::Keyring {
            service: "mailoauth".into(),
            entry: "alerts-client".into()
        })
    );
    let s = account("scanner")
        .oauth_settings(std::path::Path::new("m.toml"))
        .unwrap();
    assert_eq!(s.mailbox, "scanner@contoso.com");
    assert_eq!(s.purpose, crate::provider::Purpose::Both);
    assert_eq!(s.tenant.as_deref(), Some("contoso.com"));
    assert_eq!(
        s.client_secret,
        Some(SecretRef::File("/etc/mailoauth/scanner.secret".into()))
    );
    assert_eq!(s.scopes.len(), 3);
    let mut g = account("alerts");
    g.auth.client_secret = Some(SecretRef::Env("GSECRET".into()));
    let gs = g.oauth_settings(std::path::Path::new("m.toml")).unwrap();
    assert_eq!(
        gs.endpoints.token.as_deref(),
        Some("http://127.0.0.1:9090/token")
    );
}

#[test]
fn token_store_references_map_to_the_engines_stores() {
    let mut a = account("alerts");
    assert!(a.token_store(std::path::Path::new("m.toml")).is_ok());
    a.token_store = StoreSpec::KeyringEntry {
        service: "other".into(),
        entry: "x".into(),
    };
    let err = a.token_store(std::path::Path::new("m.toml")).err().unwrap();
    assert!(
        err.to_string()
            .contains("keyring:mailoauth/alerts@example.com"),
        "{err}"
    );
    a.token_store = StoreSpec::Service;
    let err = a.token_store(std::path::Path::new("m.toml")).err().unwrap();
    assert!(
        err.to_string()
            .contains("this account's tokens are held by the mailoauth service"),
        "{err}"
    );
}

#[test]
fn a_saved_account_goes_back_to_a_draft_and_a_plan_and_saves_the_same() {
    // Draft → plan → config account → draft → plan → config account: nothing lost or changed.
    let first = to_config(
        "scanner",
        &plan(&draft("microsoft", Purpose::Both), None).unwrap(),
        None,
    );
    let again = draft_of(&first);
    assert_eq!(again.mailbox, "scanner@contoso.com");
    assert_eq!(again.tenant.as_deref(), Some("contoso.com"));
    assert!(
        again.client_secret.is_none(),
        "a draft never carries a secret back"
    );
    let second = to_config("scanner", &plan(&again, None).unwrap(), None);
    assert_eq!(second, first);
    // Re-authorization gets the saved settings as a plan, the store as the file names it.
    let path = std::path::Path::new("m.toml");
    let setup = convert::setup_of(&first, path).unwrap();
    assert_eq!(setup.auth, convert::auth_settings(&first));
    assert_eq!(
        setup.store.to_string(),
        "keyring:mailoauth/scanner@contoso.com"
    );
    assert_eq!(setup.check.smtp.as_ref().map(|e| e.port), Some(587));
    // A keyring entry under another name is refused with the spelling to write.
    let mut other = first.clone();
    other.token_store = StoreSpec::parse("keyring:mailoauth/someone@else.com").unwrap();
    let err = convert::setup_of(&other, path).unwrap_err().to_string();
    assert!(
        err.contains("write `keyring:mailoauth/scanner@contoso.com`"),
        "{err}"
    );
}

#[test]
fn endpoint_overrides_cross_to_the_file_and_back() {
    let none = crate::provider::EndpointOverrides::default();
    assert!(
        convert::endpoints_to_config(&none).is_none(),
        "nothing overridden, no table"
    );
    let e = crate::provider::EndpointOverrides {
        token: Some("http://127.0.0.1:9090/token".into()),
        issuer: Some("http://127.0.0.1:9090".into()),
        ..Default::default()
    };
    let file = convert::endpoints_to_config(&e).unwrap();
    assert_eq!(convert::endpoints_to_engine(Some(&file)), e);
}

/// The façade's errors keep the diagnosis the engine chose: the app's IpcError and the CLI show
/// it without explaining the message again (a state mismatch is a refused sign-in with its diagnosis, not "internal").
#[test]
fn wrapped_errors_keep_the_engine_s_code_and_diagnosis() {
    use crate::error::{Coded, ErrorCode};
    let mismatch = || crate::oauth::OAuthError::StateMismatch;
    let direct = Coded::diagnosis_id(&mismatch()).expect("the engine's diagnosis");
    for e in [
        AccountError::OAuth(mismatch()),
        AccountError::Token(TokenError::OAuth(mismatch())),
    ] {
        assert_eq!(
            Coded::diagnosis_id(&e).as_deref(),
            Some(direct.as_str()),
            "{e}"
        );
        assert_eq!(e.code(), mismatch().code(), "{e}");
        assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    }
}

#[test]
fn readers_make_a_service_held_account_and_come_back_from_the_file() {
    let mut d = draft("microsoft", Purpose::Send);
    d.readers = vec![" root ".into(), "group:root".into()];
    let setup = plan(&d, None).unwrap();
    assert_eq!(
        setup.store,
        StoreSpec::Service,
        "readers: the service holds it"
    );
    let account = convert::config_of_draft("scanner", &d, &setup, None);
    assert_eq!(account.token_store, StoreSpec::Service);
    assert_eq!(
        account.readers,
        vec!["root".to_string(), "group:root".into()]
    );
    // Through the file's text and back: the draft the wizard shows again has the readers.
    let text = crate::config::render(&crate::config::Config {
        accounts: vec![account.clone()],
        ..Default::default()
    })
    .unwrap();
    assert!(text.contains("token_store = \"service\""), "{text}");
    let back = draft_of(&account);
    assert_eq!(back.readers, vec!["root".to_string(), "group:root".into()]);
    assert_eq!(plan(&back, None).unwrap().store, StoreSpec::Service);
    // No readers: the admin's keyring, as before.
    let mut none = d.clone();
    none.readers.clear();
    assert!(matches!(
        plan(&none, None).unwrap().store,
        StoreSpec::Keyring
    ));
}

#[test]
fn a_reader_that_does_not_exist_is_refused_naming_the_field_and_a_secret_goes_to_the_service() {
    let mut d = draft("microsoft", Purpose::Send);
    d.readers = vec!["nosuchuser-mailoauth".into()];
    // Looked up on Unix; on Windows a reader is checked for its shape only.
    if cfg!(unix) {
        let err = plan(&d, None).unwrap_err();
        assert!(matches!(err, AccountError::Readers { .. }), "{err}");
        assert!(err.to_string().starts_with(readers::FIELD), "{err}");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }
    // A client secret with readers: the service holds it (no longer refused).
    let mut d = draft("google", Purpose::Send);
    d.tenant = None;
    d.client_id = "1234-abc.apps.googleusercontent.com".into();
    d.mailbox = "scanner@example.com".into();
    d.flow = Flow::Loopback;
    d.readers = vec!["root".into()];
    d.client_secret = Some(crate::secret::Secret::new("s3cret".into()));
    let setup = plan(&d, None).unwrap();
    assert_eq!(setup.store, StoreSpec::Service);
    assert_eq!(setup.auth.client_secret, Some(SecretRef::Service));
    let kept = plan_and_keep(&d, None).unwrap();
    assert_eq!(
        kept.auth.client_secret,
        Some(SecretRef::Service),
        "nothing kept in this user's store"
    );
}

#[test]
fn a_service_account_goes_through_the_service_when_its_file_is_not_the_wizards_or_not_writable() {
    let mine = Path::new("/home/admin/.config/mailoauth/mailoauth.toml");
    let machine = Path::new("/etc/mailoauth/mailoauth.toml");
    // A non-root admin: the service reads another file.
    assert!(super::saves_through_service(
        mine,
        Some(machine),
        true,
        true
    ));
    // The same file, but not writable by this wizard.
    assert!(super::saves_through_service(
        machine,
        Some(machine),
        false,
        true
    ));
    // Root, or a file the service reads and the wizard writes: straight into it.
    assert!(!super::saves_through_service(
        machine,
        Some(machine),
        true,
        true
    ));
    // Not for the service, or no service to ask: the wizard's own file (and its errors).
    assert!(!super::saves_through_service(
        mine,
        Some(machine),
        true,
        false
    ));
    assert!(!super::saves_through_service(mine, None, false, true));
}
