use super::*;

/// A complete file with every kind of key, as an admin would see it.
pub(crate) const SAMPLE: &str = r#"version = 1

[[account]]
name = "scanner"
purpose = "both"
mailbox = "scanner@contoso.com"
token_store = "keyring:mailoauth/scanner"

[account.smtp]
host = "smtp.office365.com"
port = 587
security = "start_tls"
sasl = "xoauth2"

[account.imap]
host = "outlook.office365.com"
port = 993
security = "tls"
sasl = "xoauth2"

[account.tls]
ca_file = "/etc/ssl/proxy-ca.pem"

[account.auth]
provider = "microsoft"
cloud = "worldwide"
tenant = "contoso.com"
client_id = "00000000-1111-2222-3333-444444444444"
client_auth = "client_secret_post"
client_secret = "file:/etc/mailoauth/scanner.secret"
client_secret_expires = "2027-01-31"
flow = "device_code"
scopes = ["https://outlook.office.com/SMTP.Send", "https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"]

[[account]]
name = "alerts"
purpose = "send"
mailbox = "alerts@example.com"
token_store = "file:/var/lib/mailoauth/alerts.tokens"

[account.smtp]
host = "smtp.gmail.com"
port = 465
security = "tls"
sasl = "xoauth2"

[account.auth]
provider = "google"
client_id = "123-abc.apps.googleusercontent.com"
client_auth = "client_secret_post"
client_secret = "keyring:mailoauth/alerts-client"
flow = "loopback"
scopes = ["https://mail.google.com/"]

[account.auth.endpoints]
token = "http://127.0.0.1:9090/token"
"#;

pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailoauth-config-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Validates a config file's text against the committed JSON Schema.
pub(crate) fn assert_matches_schema(text: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/config.schema.json")).unwrap();
    let value: toml::Value = toml::from_str(text).unwrap();
    let json = serde_json::to_value(value).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:#?}\n{text}");
}

fn err_of(text: &str) -> ConfigError {
    parse(Path::new("m.toml"), text).unwrap_err()
}

#[test]
fn committed_schema_is_the_generated_one() {
    let generated = config_schema_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.schema.json");
        fs::write(path, &generated).unwrap();
    }
    // Compared without printing both: the schema is long and the fix is the same either way.
    assert!(
        include_str!("../../docs/config.schema.json") == generated,
        "docs/config.schema.json is stale: run UPDATE_SCHEMA=1 cargo test -p mailoauth --lib config"
    );
}

#[test]
fn sample_round_trips_through_text_and_schema() {
    assert_matches_schema(SAMPLE);
    let config = parse(Path::new("m.toml"), SAMPLE).unwrap();
    assert_eq!(config.accounts.len(), 2);
    let scanner = config.account("scanner").unwrap();
    assert_eq!(scanner.auth.flow, crate::provider::Flow::DeviceCode);
    assert_eq!(scanner.imap.as_ref().unwrap().port, 993);
    let text = render(&config).unwrap();
    assert_matches_schema(&text);
    assert_eq!(parse(Path::new("m.toml"), &text).unwrap(), config);
    assert!(text.starts_with("# mailoauth configuration"));
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/config.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut json = serde_json::to_value(toml::from_str::<toml::Value>(SAMPLE).unwrap()).unwrap();
    json["account"][0]["auth"]["client_secret"] = "Abc8Q~pasted-secret".into();
    assert!(!validator.is_valid(&json));
    let mut json2 = serde_json::to_value(toml::from_str::<toml::Value>(SAMPLE).unwrap()).unwrap();
    json2["account"][0]["password"] = "hunter2".into();
    assert!(!validator.is_valid(&json2));
}

#[test]
fn a_pasted_secret_names_line_and_key_and_is_not_echoed() {
    let text = SAMPLE.replace(
        "client_secret = \"file:/etc/mailoauth/scanner.secret\"",
        "client_secret = \"Abc8Q~pasted-secret-value\"",
    );
    let err = err_of(&text);
    let shown = err.to_string();
    assert!(!shown.contains("pasted-secret"), "{shown}");
    match err {
        ConfigError::Damaged { line, key, .. } => {
            assert_eq!(line, 30);
            assert_eq!(key.as_deref(), Some("account[1].auth.client_secret"));
        }
        other => panic!("{other:?}"),
    }
    assert!(shown.contains("never the secret itself"), "{shown}");
}

/// Regression (fuzz, config_parse): a secret pasted on a line of its own is "a key with no
/// value", and the error's key path repeated it.
#[test]
fn a_secret_on_a_line_of_its_own_is_not_echoed_as_the_key() {
    const SECRET: &str = "Zq8Abc1XyZ0pastedSecretOnItsOwnLine7777777777";
    let text = SAMPLE.replace(
        "flow = \"loopback\"",
        &format!("flow = \"loopback\"\n{SECRET}"),
    );
    let err = err_of(&text);
    let shown = err.to_string();
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        matches!(err, ConfigError::Damaged { line: 53, .. }),
        "{err:?}"
    );
    // Nor a long value left of an `=` (found by fuzzing: words like "office" kept it from the
    // scrubber), nor control characters from a binary file.
    let err = err_of("Cyyyrryom3vyyyof4vyyyoffyyrryom3vyyyof4vyyyoffice}}}}ersion = 1\n");
    assert!(!err.to_string().contains("Cyyyrryom3"), "{err}");
    assert!(
        matches!(err, ConfigError::Damaged { key: None, .. }),
        "{err:?}"
    );
    let err = err_of("version = 1\nab\u{0}\u{1b}[31mcd\n");
    assert!(!err.to_string().contains('\u{1b}'), "{err}");
    // A secret in the wrong place of a valid file: the account name and the provider.
    let text = SAMPLE
        .replace("name = \"alerts\"", &format!("name = \"{SECRET}\""))
        .replace("provider = \"google\"", &format!("provider = \"{SECRET}\""));
    let shown = err_of(&text).to_string();
    assert!(!shown.contains(SECRET), "{shown}");
    let text = SAMPLE.replace("provider = \"google\"", &format!("provider = \"{SECRET}\""));
    let shown = err_of(&text).to_string();
    assert!(
        !shown.contains(SECRET) && shown.contains("auth.provider"),
        "{shown}"
    );
}

#[test]
fn unknown_keys_and_bad_values_name_line_and_key() {
    let text = SAMPLE.replace("flow = \"loopback\"", "flow = \"magic\"");
    match err_of(&text) {
        ConfigError::Damaged {
            line, key, message, ..
        } => {
            assert_eq!(line, 52);
            assert_eq!(key.as_deref(), Some("account[2].auth.flow"));
            assert!(message.contains("magic"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let text = SAMPLE.replace("port = 993", "port = 993\nprot = 1");
    match err_of(&text) {
        ConfigError::Damaged { line, key, .. } => {
            assert_eq!(line, 18);
            assert_eq!(key.as_deref(), Some("account[1].imap.prot"));
        }
        other => panic!("{other:?}"),
    }
    let text = SAMPLE.replace("port = 465", "port = 465 x");
    assert!(matches!(
        err_of(&text),
        ConfigError::Damaged { line: 43, .. }
    ));
}

#[test]
fn version_missing_unknown_or_wrong_is_refused() {
    let newer = SAMPLE.replace("version = 1", "version = 2");
    match err_of(&newer) {
        ConfigError::UnknownVersion {
            line,
            found,
            supported,
            ..
        } => {
            assert_eq!((line, found, supported), (1, 2, 1));
        }
        other => panic!("{other:?}"),
    }
    // A newer version with keys this build does not know is still reported as a version problem.
    let newer_keys = format!(
        "{}\nfuture_key = 1\n",
        newer.replace("[[account]]", "[[account]]\nfuture = true")
    );
    assert!(matches!(
        err_of(&newer_keys),
        ConfigError::UnknownVersion { .. }
    ));
    let missing = SAMPLE.replace("version = 1\n", "");
    assert!(
        matches!(err_of(&missing), ConfigError::Damaged { key: Some(ref k), .. } if k == "version")
    );
    let text = SAMPLE.replace("version = 1", "version = \"1\"");
    assert!(matches!(err_of(&text), ConfigError::Damaged { .. }));
}

#[test]
fn a_secret_held_by_the_service_reads_and_prints_back() {
    let text = SAMPLE
        .replacen(
            "token_store = \"file:/var/lib/mailoauth/alerts.tokens\"",
            "token_store = \"service\"",
            1,
        )
        .replacen(
            "client_secret = \"keyring:mailoauth/alerts-client\"",
            "client_secret = \"service\"",
            1,
        );
    let config = parse(Path::new("m.toml"), &text).unwrap();
    let alerts = config.account("alerts").unwrap();
    assert_eq!(alerts.auth.client_secret, Some(SecretRef::Service));
    assert!(render(&config)
        .unwrap()
        .contains("client_secret = \"service\""));
}

#[test]
fn values_that_do_not_fit_together_name_account_and_key() {
    let cases = [
        (
            "purpose = \"send\"\nmailbox = \"alerts",
            "purpose = \"both\"\nmailbox = \"alerts",
            "imap",
        ),
        ("name = \"alerts\"", "name = \"scanner\"", "name"),
        ("name = \"alerts\"", "name = \"has space\"", "name"),
        (
            "provider = \"google\"",
            "provider = \"yahoo\"",
            "auth.provider",
        ),
        (
            "client_secret_expires = \"2027-01-31\"",
            "client_secret_expires = \"2027-02-31\"",
            "auth.client_secret_expires",
        ),
        (
            "mailbox = \"alerts@example.com\"",
            "mailbox = \"alerts\"",
            "mailbox",
        ),
        (
            "ca_file = \"/etc/ssl/proxy-ca.pem\"",
            "pinned_sha256 = \"abc\"",
            "tls.pinned_sha256",
        ),
        (
            "client_secret = \"keyring:mailoauth/alerts-client\"\n",
            "",
            "auth.client_secret",
        ),
        // The service holds the secret only of an account whose tokens it holds.
        (
            "client_secret = \"keyring:mailoauth/alerts-client\"",
            "client_secret = \"service\"",
            "auth.client_secret",
        ),
    ];
    for (from, to, want) in cases {
        assert!(SAMPLE.contains(from), "{from}");
        match err_of(&SAMPLE.replacen(from, to, 1)) {
            ConfigError::Invalid { key, message, .. } => {
                assert_eq!(key, want, "{message}");
                assert!(!message.is_empty());
            }
            other => panic!("{from} -> {to}: {other:?}"),
        }
    }
}

#[test]
fn a_damaged_file_is_reported_and_never_overwritten() {
    let dir = scratch("damaged");
    let path = dir.join("mailoauth.toml");
    let broken = SAMPLE.replace("port = 587", "port = ");
    fs::write(&path, &broken).unwrap();
    let err = load(&path).unwrap_err();
    assert!(
        matches!(err, ConfigError::Damaged { line: 11, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    // load_or_new must not offer a fresh document that would replace the damaged file.
    assert!(load_or_new(&path).is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_writes_atomically_keeps_a_backup_and_detects_hand_edits() {
    let dir = scratch("save");
    let path = dir.join("mailoauth.toml");
    let mut doc = load_or_new(&path).unwrap();
    doc.config = parse(&path, SAMPLE).unwrap();
    assert_eq!(doc.save().unwrap(), SaveOutcome::Saved);
    let first = fs::read_to_string(&path).unwrap();
    assert_matches_schema(&first);

    let mut doc = load(&path).unwrap();
    doc.config.accounts.retain(|a| a.name == "scanner");
    assert_eq!(doc.save().unwrap(), SaveOutcome::Saved);
    let second = fs::read_to_string(&path).unwrap();
    assert_matches_schema(&second);
    assert_eq!(
        fs::read_to_string(atomic::backup_path(&path)).unwrap(),
        first
    );

    // Someone edits the file by hand while the wizard holds its copy.
    let hand = second.replace("port = 587", "port = 2525");
    fs::write(&path, &hand).unwrap();
    doc.config.accounts[0].mailbox = "scan2@contoso.com".into();
    match doc.save().unwrap() {
        SaveOutcome::ChangedOnDisk { diff } => {
            assert!(diff.contains("-port = 2525"), "{diff}");
            assert!(diff.contains("+port = 587"), "{diff}");
            assert!(diff.contains("+mailbox = \"scan2@contoso.com\""), "{diff}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), hand, "nothing written");
    doc.save_overwriting().unwrap();
    let third = fs::read_to_string(&path).unwrap();
    assert_matches_schema(&third);
    assert!(third.contains("scan2@contoso.com"));
    // After its own save the document is in sync again.
    assert_eq!(doc.save().unwrap(), SaveOutcome::Saved);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_first_save_creates_the_folder() {
    let dir = scratch("folder");
    let path = dir.join("etc").join("mailoauth").join("mailoauth.toml");
    let mut doc = load_or_new(&path).unwrap();
    doc.config = parse(&path, SAMPLE).unwrap();
    assert_eq!(doc.save().unwrap(), SaveOutcome::Saved);
    assert_eq!(load(&path).unwrap().config, doc.config);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_document_does_not_overwrite_a_file_created_meanwhile() {
    let dir = scratch("created");
    let path = dir.join("mailoauth.toml");
    let mut doc = load_or_new(&path).unwrap();
    fs::write(&path, SAMPLE).unwrap();
    doc.config = parse(&path, SAMPLE).unwrap();
    doc.config.accounts.pop();
    assert!(matches!(
        doc.save().unwrap(),
        SaveOutcome::ChangedOnDisk { .. }
    ));
    assert_eq!(fs::read_to_string(&path).unwrap(), SAMPLE);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_account_lists_the_names() {
    let dir = scratch("unknown");
    let path = dir.join("m.toml");
    fs::write(&path, SAMPLE).unwrap();
    let doc = load(&path).unwrap();
    let err = doc.account("printer").unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.to_string().contains("scanner, alerts"), "{err}");
    assert!(matches!(
        load(&dir.join("none.toml")),
        Err(ConfigError::Missing { .. })
    ));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn accounts_are_added_replaced_and_removed_by_name() {
    let dir = scratch("accounts");
    let path = dir.join("mailoauth.toml");
    let sample = parse(&path, SAMPLE).unwrap();
    let mut doc = load_or_new(&path).unwrap();
    assert!(doc.set_account(sample.accounts[0].clone()).is_none());
    assert!(doc.set_account(sample.accounts[1].clone()).is_none());
    let mut changed = sample.accounts[0].clone();
    changed.mailbox = "scan3@contoso.com".into();
    let old = doc.set_account(changed).unwrap();
    assert_eq!(old.mailbox, "scanner@contoso.com");
    assert_eq!(doc.config.accounts.len(), 2);
    assert_eq!(doc.save().unwrap(), SaveOutcome::Saved);
    assert_matches_schema(&fs::read_to_string(&path).unwrap());
    let mut doc = load(&path).unwrap();
    assert_eq!(doc.account("scanner").unwrap().mailbox, "scan3@contoso.com");
    assert!(doc.remove_account("alerts").is_some());
    assert!(doc.remove_account("alerts").is_none());
    assert_eq!(doc.save().unwrap(), SaveOutcome::Saved);
    assert_eq!(load(&path).unwrap().config.accounts.len(), 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleartext_logins_are_refused_except_to_this_machine() {
    let plain = |host: &str| {
        SAMPLE
            .replacen(
                "host = \"smtp.gmail.com\"",
                &format!("host = \"{host}\""),
                1,
            )
            .replacen(
                "port = 465\nsecurity = \"tls\"",
                "port = 25\nsecurity = \"none\"",
                1,
            )
    };
    for host in [
        "smtp.example.com",
        "10.0.0.5",
        "0.0.0.0",
        "localhost.example.com",
    ] {
        match err_of(&plain(host)) {
            ConfigError::Invalid {
                account,
                key,
                message,
                ..
            } => {
                assert_eq!(
                    (account.as_str(), key.as_str()),
                    ("alerts", "smtp.security")
                );
                assert!(message.contains("clear text"), "{message}");
                assert!(message.contains("start_tls"), "{message}");
            }
            other => panic!("{host}: {other:?}"),
        }
    }
    for host in ["127.0.0.1", "127.3.2.1", "::1", "localhost"] {
        parse(Path::new("m.toml"), &plain(host)).unwrap_or_else(|e| panic!("{host}: {e}"));
    }
}

#[test]
fn endpoints_are_checked_as_when_they_are_used() {
    let to = SAMPLE.replacen(
        "token = \"http://127.0.0.1:9090/token\"",
        "token = \"http://idp.example.com/token\"",
        1,
    );
    match err_of(&to) {
        ConfigError::Invalid { key, message, .. } => {
            assert_eq!(key, "auth.endpoints.token");
            assert!(message.contains("http://"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let fragment = SAMPLE.replacen("/token\"", "/token#x\"", 1);
    assert!(
        matches!(err_of(&fragment), ConfigError::Invalid { key, .. } if key == "auth.endpoints.token")
    );
}

#[test]
fn the_loader_reads_at_most_the_bound_and_only_regular_files() {
    let dir = scratch("bounded");
    let big = dir.join("big.toml");
    let mut text = SAMPLE.to_string();
    text.push_str(&"#".repeat(MAX_BYTES as usize));
    fs::write(&big, &text).unwrap();
    assert!(
        matches!(load(&big), Err(ConfigError::NotAConfig { message, .. }) if message.contains("too big"))
    );
    assert!(
        matches!(load(&dir), Err(ConfigError::NotAConfig { message, .. }) if message.contains("folder"))
    );
    let not_utf8 = dir.join("latin1.toml");
    let mut bytes = SAMPLE.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    fs::write(&not_utf8, bytes).unwrap();
    assert!(
        matches!(load(&not_utf8), Err(ConfigError::Damaged { message, .. }) if message.contains("UTF-8"))
    );
    #[cfg(unix)]
    assert!(
        matches!(load(Path::new("/dev/zero")), Err(ConfigError::NotAConfig { message, .. }) if message.contains("not a regular file"))
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn notify_mail_names_a_valid_address_and_a_sending_account_the_service_holds() {
    // `alerts` sends; held by the service it can carry the notices.
    let held = SAMPLE.replace(
        "token_store = \"file:/var/lib/mailoauth/alerts.tokens\"",
        "token_store = \"service\"",
    );
    let with = |text: &str, table: &str| format!("{text}\n[service]\nnotify_mail = {table}\n");
    let ok = with(&held, r#"{ to = "admin@example.org", via = "alerts" }"#);
    let config = parse(Path::new("m.toml"), &ok).unwrap();
    assert_eq!(
        config.service.unwrap().notify_mail,
        Some(NotifyMail {
            to: "admin@example.org".into(),
            via: "alerts".into()
        })
    );
    assert_matches_schema(&ok);
    let cases = [
        // Not one address.
        (
            &held,
            r#"{ to = "admin", via = "alerts" }"#,
            "service.notify_mail.to",
            "mail address",
        ),
        (
            &held,
            r#"{ to = "a@b.org, c@d.org", via = "alerts" }"#,
            "service.notify_mail.to",
            "mail address",
        ),
        // No such account.
        (
            &held,
            r#"{ to = "admin@example.org", via = "nobody" }"#,
            "service.notify_mail.via",
            "alerts",
        ),
        // Held by the service? `scanner` is in the keyring.
        (
            &held,
            r#"{ to = "admin@example.org", via = "scanner" }"#,
            "service.notify_mail.via",
            "not held by the service",
        ),
        // Not held at all: no account to name.
        (
            &SAMPLE.to_string(),
            r#"{ to = "admin@example.org", via = "alerts" }"#,
            "service.notify_mail.via",
            "no account",
        ),
    ];
    for (text, table, want_key, want_text) in cases {
        match err_of(&with(text, table)) {
            ConfigError::InvalidService { key, message, .. } => {
                assert_eq!(key, want_key, "{table}: {message}");
                assert!(message.contains(want_text), "{table}: {message}");
            }
            other => panic!("{table}: {other:?}"),
        }
    }
    // An account without SMTP cannot send.
    let receive_only = held
        .replacen(
            "name = \"alerts\"\npurpose = \"send\"",
            "name = \"alerts\"\npurpose = \"receive\"",
            1,
        )
        .replace(
            "[account.smtp]\nhost = \"smtp.gmail.com\"\nport = 465",
            "[account.imap]\nhost = \"imap.gmail.com\"\nport = 993",
        );
    match err_of(&with(
        &receive_only,
        r#"{ to = "admin@example.org", via = "alerts" }"#,
    )) {
        ConfigError::InvalidService { key, message, .. } => {
            assert_eq!(key, "service.notify_mail.via");
            assert!(message.contains("no [account.smtp]"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Unknown keys of the table are refused by name too.
    let err = err_of(&with(
        &held,
        r#"{ to = "admin@example.org", via = "alerts", cc = "x@y.z" }"#,
    ));
    assert!(err.to_string().contains("cc"), "{err}");
}
