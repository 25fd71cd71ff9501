//! Every `token_store` and `client_secret` string the committed configs hold (the example in
//! docs/CONFIG.md, the config corpus of the fuzzer) reads as a `StoreSpec` / `SecretRef` and
//! prints back unchanged, and a config saved again keeps them as written. Plus the forms the
//! command line and the token service write (`keyring`, `service`) and the documented forms
//! that no committed file holds yet (`env:`).

use mailoauth::config::{SecretRef, StoreSpec};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed config documents: the ```toml blocks of docs/CONFIG.md and the fuzzer's
/// config corpus.
fn committed_configs() -> Vec<(String, String)> {
    let mut docs = Vec::new();
    let md = std::fs::read_to_string(root().join("docs/CONFIG.md")).unwrap();
    for (i, block) in md.split("```toml\n").skip(1).enumerate() {
        let body = block.split("```").next().unwrap();
        docs.push((format!("docs/CONFIG.md block {i}"), body.to_string()));
    }
    let corpus = root().join("fuzz/corpus/config_parse");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            docs.push((f.display().to_string(), text));
        }
    }
    docs
}

/// The raw `token_store` and `auth.client_secret` strings of each `[[account]]` of a document
/// that is TOML at all (corpus entries that are not are skipped: they test the parser).
fn raw_references(text: &str) -> (Vec<String>, Vec<String>) {
    let Ok(value) = text.parse::<toml::Table>() else {
        return (Vec::new(), Vec::new());
    };
    let mut stores = Vec::new();
    let mut secrets = Vec::new();
    for account in value
        .get("account")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(s) = account.get("token_store").and_then(|s| s.as_str()) {
            stores.push(s.to_string());
        }
        if let Some(s) = account
            .get("auth")
            .and_then(|a| a.get("client_secret"))
            .and_then(|s| s.as_str())
        {
            secrets.push(s.to_string());
        }
    }
    (stores, secrets)
}

#[test]
fn every_committed_token_store_and_client_secret_reads_and_prints_back_unchanged() {
    let mut stores_seen = Vec::new();
    let mut secrets_seen = Vec::new();
    for (name, text) in committed_configs() {
        let (stores, secrets) = raw_references(&text);
        for s in &stores {
            let spec = StoreSpec::parse(s).unwrap_or_else(|e| panic!("{name}: {s:?}: {e}"));
            assert_eq!(&spec.to_string(), s, "{name}");
        }
        for s in &secrets {
            let r = SecretRef::parse(s).unwrap_or_else(|e| panic!("{name}: {s:?}: {e}"));
            assert_eq!(&r.to_string(), s, "{name}");
        }
        // A whole config that loads is written back with the same strings.
        if let Ok(config) = mailoauth::config::parse(Path::new(&name), &text) {
            let rendered = mailoauth::config::render(&config).unwrap();
            for s in stores.iter().chain(&secrets) {
                assert!(
                    rendered.contains(&format!("\"{s}\"")),
                    "{name}: {s:?} not kept in\n{rendered}"
                );
            }
        }
        stores_seen.extend(stores);
        secrets_seen.extend(secrets);
    }
    // The reader saw the committed forms (an empty scan would pass vacuously), the service's
    // custody of a client secret among them.
    assert!(
        secrets_seen.iter().any(|s| s == "service"),
        "no committed client_secret = \"service\": {secrets_seen:?}"
    );
    for prefix in ["keyring:", "file:"] {
        assert!(
            stores_seen.iter().any(|s| s.starts_with(prefix)),
            "no committed token_store starts with {prefix}: {stores_seen:?}"
        );
        assert!(
            secrets_seen.iter().any(|s| s.starts_with(prefix)),
            "no committed client_secret starts with {prefix}: {secrets_seen:?}"
        );
    }
}

#[test]
fn the_command_lines_and_the_services_forms_read_too() {
    for s in [
        "keyring",
        "service",
        "keyring:mailoauth/scanner@contoso.com",
        r"file:C:\ProgramData\mailoauth\tokens",
    ] {
        assert_eq!(StoreSpec::parse(s).unwrap().to_string(), s);
    }
    for s in [
        "env:MAILOAUTH_CLIENT_SECRET",
        "keyring:mailoauth/client-secret/a@b.c",
        "service",
    ] {
        assert_eq!(SecretRef::parse(s).unwrap().to_string(), s);
    }
    // Tokens change at every refresh: never an environment variable, said plainly.
    let err = StoreSpec::parse("env:TOKENS").unwrap_err().to_string();
    assert!(
        err.contains("cannot live in an environment variable"),
        "{err}"
    );
}
