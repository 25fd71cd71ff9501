//! Shared by the client-JSON and app-manifest targets: the contexts a file is checked against
//! and the invariants every report keeps.

use mailoauth::provider::{ClientType, Cloud, Flow, Purpose};
use mailoauth::validate::{validate_file_on, CivilDate, FileContext, FileReport};
use serde_json::Value;

/// A fixed day, so a secret's expiry finding does not depend on when the fuzzer runs.
pub const TODAY: CivilDate = CivilDate {
    year: 2026,
    month: 1,
    day: 15,
};

/// A value no real file holds: if it shows up in a report, a secret leaked.
pub const SENTINEL: &str = "FuzzSentinelSecret0xQ7vKp2Lm9Rt4Wz8Yb3Nc6Hd1Jf5";

/// The contexts the wizard checks files against; `pick` chooses one per input.
pub fn context(pick: usize) -> FileContext {
    let google = |flow, client_type| FileContext {
        provider: Some("google".into()),
        flow: Some(flow),
        client_type,
        project: Some("mail-relay-4711".into()),
        client_id: Some(
            "123456789012-abcdefghij0123456789klmnopqrstuv.apps.googleusercontent.com".into(),
        ),
        redirect_port: Some(8400),
        ..Default::default()
    };
    let microsoft = |flow, client_type, purpose| FileContext {
        provider: Some("microsoft".into()),
        flow: Some(flow),
        client_type,
        purpose,
        cloud: Cloud::Worldwide,
        tenant: Some("contoso.onmicrosoft.com".into()),
        client_id: Some("9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into()),
        ..Default::default()
    };
    match pick % 7 {
        0 => FileContext::default(),
        1 => google(Flow::Loopback, None),
        2 => google(Flow::Loopback, Some(ClientType::Web)),
        3 => google(Flow::ServiceAccount, None),
        4 => microsoft(
            Flow::Loopback,
            Some(ClientType::Desktop),
            Some(Purpose::Both),
        ),
        5 => microsoft(Flow::DeviceCode, None, Some(Purpose::Send)),
        _ => microsoft(
            Flow::ClientCredentials,
            Some(ClientType::Daemon),
            Some(Purpose::Receive),
        ),
    }
}

/// Validates `text` and checks what holds for every report.
pub fn validate(text: &str, ctx: &FileContext) -> FileReport {
    let report = validate_file_on(text, ctx, TODAY);
    assert!(
        report
            .findings
            .windows(2)
            .all(|w| w[0].severity <= w[1].severity),
        "findings not sorted by severity: {:?}",
        report.findings
    );
    assert!(
        !report.findings.is_empty(),
        "a report without findings: {report:?}"
    );
    assert_eq!(
        validate_file_on(text, ctx, TODAY),
        report,
        "not deterministic"
    );
    report
}

/// Puts [`SENTINEL`] into every secret field `mark` chooses, validates the result, and fails if
/// the sentinel reaches the report.
pub fn secrets_stay_inside(root: &Value, ctx: &FileContext, mark: fn(&mut Value) -> bool) {
    let mut marked = root.clone();
    if !mark(&mut marked) {
        return;
    }
    let text = marked.to_string();
    let report = validate(&text, ctx);
    let json = serde_json::to_string(&report).expect("reports serialize");
    // The fuzzer may have put the sentinel into a non-secret field on purpose; only the
    // marked copies count then.
    let planted = text.matches(SENTINEL).count();
    let in_plain_fields = planted - count_marked(&marked);
    if in_plain_fields == 0 {
        assert!(
            !json.contains(SENTINEL),
            "a secret leaked into the report: {json}"
        );
    }
}

fn count_marked(v: &Value) -> usize {
    match v {
        Value::String(s) if s == SENTINEL => 1,
        Value::Array(a) => a.iter().map(count_marked).sum(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| {
                let secret_key = matches!(
                    k.as_str(),
                    "client_secret" | "private_key" | "secretText" | "key" | "value"
                );
                if secret_key {
                    count_marked(v)
                } else {
                    0
                }
            })
            .sum(),
        _ => 0,
    }
}

/// One fuzz input of an importer target: any UTF-8 text gives a sound report under a context
/// picked from `pick`, and when it is JSON, the secrets `mark` plants never reach the report.
pub fn check(data: &[u8], pick: usize, mark: fn(&mut Value) -> bool) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = context(pick);
    validate(text, &ctx);
    if let Ok(root) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
        secrets_stay_inside(&root, &ctx, mark);
    }
}
