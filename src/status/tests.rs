use super::*;
use crate::config::tests::{scratch, SAMPLE};

fn sample_config() -> Config {
    config::parse(Path::new("m.toml"), SAMPLE).unwrap()
}

fn day(text: &str) -> CivilDate {
    CivilDate::parse_prefix(text).unwrap()
}

const T0: u64 = 1_795_000_000;

#[test]
fn the_status_file_sits_beside_the_config() {
    assert_eq!(
        status_path(Path::new("/etc/mailoauth/mailoauth.toml")),
        PathBuf::from("/etc/mailoauth/mailoauth.status.json")
    );
    assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
    assert_eq!(format_time(86_400 + 3_723), "1970-01-02 01:02 UTC");
}

#[test]
fn invalid_grant_is_recorded_scrubbed_and_asks_for_reauthorization() {
    let dir = scratch("status-grant");
    let cfg_path = dir.join("mailoauth.toml");
    let cfg = sample_config();
    record_success(&cfg_path, "scanner", T0).unwrap();
    let error = "token refresh failed: 400 {\"error\":\"invalid_grant\",\"refresh_token\":\"M.C5_BAY.0.U.-Cq1secretsecretsecretsecret\"}";
    record_failure(&cfg_path, "scanner", error, None, false, T0 + 60).unwrap();
    record_failure(&cfg_path, "scanner", error, None, false, T0 + 120).unwrap();

    let text = fs::read_to_string(status_path(&cfg_path)).unwrap();
    assert!(!text.contains("secretsecret"), "{text}");
    let status = read(&cfg_path).unwrap();
    let rec = &status.accounts["scanner"];
    let failure = rec.last_failure.as_ref().unwrap();
    assert_eq!(failure.at, T0 + 120);
    assert_eq!(failure.diagnosis_id.as_deref(), Some("oauth-invalid-grant"));
    assert_eq!(rec.failing_since, Some(T0 + 60), "since the first failure");

    let all = overview(&cfg, &status, day("2026-11-23"));
    let scanner = &all[0];
    assert_eq!(scanner.state, AccountState::NeedsReauthorization);
    assert!(scanner
        .reauthorize_reason
        .as_deref()
        .unwrap()
        .contains("invalid_grant"));
    let d = scanner.diagnosis.as_ref().unwrap();
    assert!(d.fix[0].contains("scanner@contoso.com"), "{:?}", d.fix);
    assert_eq!(scanner.failing_since, Some(T0 + 60));
    assert_eq!(all[1].state, AccountState::Unused);

    // A success afterwards clears the failure state but keeps the last failure for history,
    // even in the very second of the last failure (a quick re-authorization): what counts is
    // the order of events, not the clock.
    record_success(&cfg_path, "scanner", T0 + 120).unwrap();
    let status = read(&cfg_path).unwrap();
    let scanner = account_status(
        cfg.account("scanner").unwrap(),
        status.accounts.get("scanner"),
        day("2026-11-23"),
    );
    assert_eq!(scanner.state, AccountState::Ok);
    assert!(scanner.diagnosis.is_none() && scanner.failing_since.is_none());
    assert!(scanner.last_failure.is_some());

    clear(&cfg_path, "scanner").unwrap();
    assert!(read(&cfg_path).unwrap().accounts.is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failure_without_known_cause_is_failing_not_reauthorization() {
    let cfg = sample_config();
    let record = AccountRecord {
        last_success: Some(T0),
        last_failure: Some(Failure {
            at: T0 + 1,
            error: "connection reset by peer".into(),
            diagnosis_id: None,
            reauthorize: false,
        }),
        failing_since: Some(T0 + 1),
    };
    let alerts = cfg.account("alerts").unwrap();
    let s = account_status(alerts, Some(&record), day("2026-11-23"));
    assert_eq!(s.state, AccountState::Failing);
    assert!(s.reauthorize_reason.is_none());
    // The engine's verdict counts even when the text matched no catalog entry.
    let mut engine_says = record.clone();
    if let Some(f) = engine_says.last_failure.as_mut() {
        f.error = "no tokens stored for alerts@example.com: run the wizard first".into();
        f.reauthorize = true;
    }
    let s = account_status(alerts, Some(&engine_says), day("2026-11-23"));
    assert_eq!(s.state, AccountState::NeedsReauthorization);
    assert!(s.reauthorize_reason.unwrap().contains("no tokens stored"));
}

#[test]
fn secret_expiry_warns_then_needs_reauthorization() {
    let cfg = sample_config();
    let scanner = cfg.account("scanner").unwrap(); // expires 2027-01-31
    let ok = AccountRecord {
        last_success: Some(T0),
        ..Default::default()
    };
    let early = account_status(scanner, Some(&ok), day("2026-11-01"));
    assert_eq!(early.secret_expires_in_days, Some(91));
    assert!(!early.secret_expiring());
    assert_eq!(early.state, AccountState::Ok);
    let soon = account_status(scanner, Some(&ok), day("2027-01-21"));
    assert_eq!(soon.secret_expires_in_days, Some(10));
    assert!(soon.secret_expiring());
    assert_eq!(soon.state, AccountState::Ok);
    let late = account_status(scanner, Some(&ok), day("2027-02-01"));
    assert_eq!(late.state, AccountState::NeedsReauthorization);
    assert!(late
        .reauthorize_reason
        .unwrap()
        .contains("expired on 2027-01-31"));
    assert_eq!(
        account_status(cfg.account("alerts").unwrap(), None, day("2027-02-01"))
            .secret_expires_in_days,
        None
    );
}

#[test]
fn concurrent_updates_lose_nothing() {
    let dir = scratch("status-concurrent");
    let cfg_path = dir.join("mailoauth.toml");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let p = cfg_path.clone();
            std::thread::spawn(move || {
                for j in 0..10u64 {
                    record_success(&p, &format!("acct{i}"), T0 + j).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let status = read(&cfg_path).unwrap();
    assert_eq!(status.accounts.len(), 8);
    assert!(status
        .accounts
        .values()
        .all(|r| r.last_success == Some(T0 + 9)));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_status_file_counts_as_empty_and_is_replaced() {
    let dir = scratch("status-damaged");
    let cfg_path = dir.join("mailoauth.toml");
    fs::write(status_path(&cfg_path), "{not json").unwrap();
    assert!(read(&cfg_path).unwrap().accounts.is_empty());
    record_success(&cfg_path, "scanner", T0).unwrap();
    assert_eq!(
        read(&cfg_path).unwrap().accounts["scanner"].last_success,
        Some(T0)
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// A recorded failure to reach the token endpoint is shown with the host that could not be
/// reached, from the recorded error text, not as "the server".
#[test]
fn an_unreachable_token_endpoint_is_named_in_the_status() {
    let dir = scratch("status-unreachable");
    let cfg_path = dir.join("mailoauth.toml");
    let cfg = sample_config();
    let error = "the token endpoint could not be reached: error sending request for url (https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token): client error (Connect): dns error: failed to lookup address information; check the endpoint URL, the proxy and the firewall";
    record_failure(
        &cfg_path,
        "scanner",
        error,
        Some("net-host-unreachable"),
        false,
        T0,
    )
    .unwrap();
    let status = read(&cfg_path).unwrap();
    let all = overview(&cfg, &status, day("2026-11-23"));
    let d = all[0].diagnosis.as_ref().expect("a diagnosis");
    assert_eq!(d.title, "Can't reach login.microsoftonline.com", "{d:?}");
    assert!(
        d.fix
            .iter()
            .any(|f| f.contains("nslookup login.microsoftonline.com")),
        "{:?}",
        d.fix
    );
    fs::remove_dir_all(&dir).unwrap();
}
