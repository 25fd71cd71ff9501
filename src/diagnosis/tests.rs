//! Tests of the catalog data itself and of `explain` on real error texts.

use super::*;
use std::collections::{BTreeSet, HashSet};

fn ids(text: &str) -> Vec<String> {
    explain(text, &Context::default())
        .matches
        .into_iter()
        .map(|m| m.diagnosis.id)
        .collect()
}

fn linked(a: &Entry, b: &Entry) -> bool {
    a.also_show.contains(&b.id) || b.also_show.contains(&a.id)
}

#[test]
fn catalog_is_large_and_well_formed() {
    let cat = catalog();
    assert!(cat.len() >= 70, "only {} entries", cat.len());
    let mut seen = HashSet::new();
    let mut last_area = Area::Microsoft;
    for e in cat {
        assert!(seen.insert(e.id.as_str()), "duplicate id {}", e.id);
        assert!(
            e.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "id {:?} must be lowercase ascii with dashes",
            e.id
        );
        assert!(e.area >= last_area, "{} is out of area order", e.id);
        last_area = e.area;
        assert!(!e.patterns.is_empty(), "{} has no pattern", e.id);
        assert!(
            !e.title.trim().is_empty() && !e.title.ends_with('.'),
            "{} title",
            e.id
        );
        assert!(!e.place.trim().is_empty(), "{} has no place", e.id);
        assert!(!e.fix.is_empty(), "{} has no fix", e.id);
        for step in &e.fix {
            assert!(!step.trim().is_empty(), "{} has an empty fix step", e.id);
        }
        for link in &e.links {
            assert!(
                link.starts_with("https://"),
                "{}: link {link} is not https",
                e.id
            );
        }
    }
}

#[test]
fn every_cause_is_one_sentence() {
    for e in catalog() {
        let c = e.cause.trim();
        assert!(c.ends_with('.'), "{}: cause must end with a period", e.id);
        let inner = &c[..c.len() - 1];
        let new_sentence = inner
            .match_indices(". ")
            .any(|(i, _)| inner[i + 2..].starts_with(|ch: char| ch.is_ascii_uppercase()));
        assert!(!new_sentence, "{}: cause has more than one sentence", e.id);
    }
}

#[test]
fn also_show_names_existing_other_entries() {
    for e in catalog() {
        for other in &e.also_show {
            assert_ne!(other, &e.id, "{} shows itself", e.id);
            assert!(entry(other).is_some(), "{} names unknown {other}", e.id);
        }
    }
}

#[test]
fn only_known_placeholders_are_used() {
    let known: HashSet<&str> = PLACEHOLDERS.iter().map(|p| p.name).collect();
    for e in catalog() {
        let texts = [&e.title, &e.cause, &e.place]
            .into_iter()
            .chain(&e.fix)
            .chain(&e.links);
        for t in texts {
            let mut rest = t.as_str();
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                let close = after.find('}').unwrap_or(0);
                let name = &after[..close];
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    assert!(
                        known.contains(name),
                        "{}: unknown placeholder {{{name}}}",
                        e.id
                    );
                }
                rest = after;
            }
        }
    }
}

#[test]
fn every_pattern_matches_its_own_wording() {
    for (e, matchers) in compiled().entries.iter().zip(&compiled().matchers) {
        for (p, m) in e.patterns.iter().zip(matchers) {
            let core = match p.kind {
                PatternKind::Imap => format!("a1 NO [{}] x", p.value),
                PatternKind::Challenge => continue,
                _ => p.value.clone(),
            };
            let text = std::iter::once(core)
                .chain(p.with.iter().map(|w| w.trim_end_matches('*').to_string()))
                .collect::<Vec<_>>()
                .join(" ; ");
            let hay = matcher::Haystack::new(&text, &[]);
            assert!(
                m.find(&hay).is_some(),
                "{}: pattern {} does not match {text:?}",
                e.id,
                p.label()
            );
        }
    }
}

/// The shape of an example text, so each entry is tested on differently written inputs.
fn shape(example: &str) -> &'static str {
    let t = example.trim();
    if !challenge::find(t).is_empty() {
        if t.contains("{\"status\"") {
            "challenge-json"
        } else {
            "challenge-base64"
        }
    } else if t.contains('{') && t.contains('"') {
        "json"
    } else if t.contains("error=") || t.contains("%3a") || t.contains("%3A") {
        "url"
    } else if !t.contains(char::is_whitespace) {
        "bare"
    } else if t.contains('\n')
        || t.contains("Exception")
        || t.contains("rror:")
        || t.contains(" - ")
        || t.contains(": ")
    {
        "wrapped"
    } else {
        "sentence"
    }
}

#[test]
fn every_entry_has_examples_of_two_shapes() {
    let mut failures = Vec::new();
    for e in catalog() {
        let shapes: BTreeSet<&str> = e.examples.iter().map(|x| shape(x)).collect();
        if e.examples.len() < 2 || shapes.len() < 2 {
            failures.push(format!(
                "{}: {} examples, shapes {shapes:?}",
                e.id,
                e.examples.len()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_example_is_recognised_by_its_entry_and_claimed_by_no_other() {
    let mut failures = Vec::new();
    for e in catalog() {
        for ex in &e.examples {
            let got = ids(ex);
            if !got.contains(&e.id) {
                failures.push(format!("{}: not recognised in {ex:?} (got {got:?})", e.id));
                continue;
            }
            for other in got.iter().filter(|o| **o != e.id) {
                let o = entry(other).expect("matched ids exist");
                if !linked(e, o) {
                    failures.push(format!("{}: {ex:?} also claimed by {other}", e.id));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The real strings of the starting set (`failures.md`) and of the local test servers, with
/// the entries `explain` must show for each, in order.
const REAL: &[(&str, &[&str])] = &[
    // Microsoft Entra
    ("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", &["ms-public-client-flows-disabled"]),
    (r#"{"error":"expired_token","error_description":"AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.","error_codes":[70020]}"#, &["ms-device-code-expired", "oauth-expired-token"]),
    ("AADSTS70018: Invalid verification code", &["ms-device-code-mistyped"]),
    ("AADSTS90120: The request was already authorized or declined.", &["ms-device-code-used"]),
    (r#"{"error":"authorization_declined"}"#, &["ms-device-code-used"]),
    ("AADSTS70000: The provided grant is invalid or malformed.", &["ms-grant-invalid"]),
    ("AADSTS700082: The refresh token has expired due to inactivity.", &["ms-refresh-token-inactive"]),
    ("AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", &["ms-refresh-token-inactive"]),
    ("AADSTS50133: Session is invalid due to expiration or recent password change.", &["ms-grant-revoked"]),
    ("AADSTS65001: The user or administrator has not consented to use the application", &["ms-consent-missing"]),
    ("AADSTS90094: The grant requires admin permission.", &["ms-admin-consent-required"]),
    ("AADSTS50076", &["ms-mfa-required"]),
    ("AADSTS50079", &["ms-mfa-required"]),
    ("AADSTS700016: Application with identifier 'scanner@contoso.com' was not found in the directory 'Contoso'.", &["ms-app-not-found"]),
    ("AADSTS50020: User account from identity provider 'live.com' does not exist in tenant 'Contoso'", &["ms-account-type-mismatch"]),
    ("AADSTS500208: The domain is not a valid login domain for the account type.", &["ms-account-type-mismatch"]),
    ("AADSTS50011: The redirect URI 'http://localhost:8400/' specified in the request does not match the redirect URIs configured for the application", &["ms-redirect-uri-mismatch"]),
    ("AADSTS500113: No reply address is registered for the application.", &["ms-redirect-uri-missing"]),
    ("AADSTS900971: No reply address provided.", &["ms-redirect-uri-missing"]),
    ("AADSTS7000215: Invalid client secret provided.", &["ms-client-secret-invalid"]),
    ("AADSTS7000222: The provided client secret keys for app 'x' are expired.", &["ms-client-secret-expired"]),
    ("AADSTS700022: The provided value for the input parameter scope is not valid because it contains more than one resource.", &["ms-scopes-mixed-resources"]),
    ("AADSTS70011: The provided value for the input parameter 'scope' is not valid.", &["ms-scope-invalid"]),
    ("No refresh token in the token response", &["client-no-refresh-token"]),
    // Google
    ("Error 400: redirect_uri_mismatch", &["g-redirect-uri-mismatch"]),
    ("Access blocked: the app's request is invalid. redirect_uri=urn:ietf:wg:oauth:2.0:oob", &["g-oob-flow-blocked"]),
    ("Error 403: disallowed_useragent. This browser or app may not be secure.", &["g-disallowed-useragent"]),
    ("Error 403: access_denied. The app has not completed the Google verification process.", &["g-app-testing-not-test-user"]),
    ("invalid_grant: Token has been expired or revoked.", &["g-token-expired-or-revoked"]),
    (r#"POST https://oauth2.googleapis.com/device/code {"error": "invalid_scope"}"#, &["g-device-flow-gmail-scope"]),
    // IMAP and SMTP answers
    ("A1 NO AUTHENTICATE failed.", &["ms-imap-authenticate-failed"]),
    ("Email to Print - Error while fetching mail - AUTHENTICATE failed.", &["ms-imap-authenticate-failed"]),
    ("A2 BAD User is authenticated but not connected.", &["ms-imap-not-connected"]),
    ("Email to Print - Error while fetching mail - No login methods supported!", &["mail-no-login-methods"]),
    ("Connecting to outlook.office365.com:143 with STARTTLS ... AUTHENTICATE failed.", &["ms-imap-port-143"]),
    ("535 5.7.3 Authentication unsuccessful [SN6PR01CA0001.namprd05.prod.outlook.com]", &["ms-smtp-auth-unsuccessful"]),
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.", &["ms-smtp-auth-disabled-tenant"]),
    ("530 5.7.57 Client not authenticated to send mail.", &["ms-smtp-client-not-authenticated"]),
    ("Could not connect to SMTP host: smtp.office365.com, port: 465, response: -1", &["ms-smtp-port-465"]),
    ("S: 334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\nC:\nS: 535-5.7.8 Username and Password not accepted.", &["mail-token-rejected", "g-smtp-bad-credentials"]),
    ("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\nA1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", &["mail-token-rejected", "g-imap-invalid-credentials"]),
    ("javax.mail.AuthenticationFailedException: OAUTH2 asked for more", &["client-java-oauth2-asked-for-more"]),
    // Dovecot, as the local test servers answer
    ("a1 NO [AUTHENTICATIONFAILED] Authentication failed.", &["imap-authentication-failed"]),
    ("a1 NO [PRIVACYREQUIRED] Plaintext authentication disabled.", &["mail-tls-required"]),
    ("a1 NO [UNAVAILABLE] Temporary authentication failure. [localhost:2024-05-02 10:14:07]", &["mail-temporary-failure"]),
    ("535 5.7.8 Authentication failed.", &["smtp-credentials-invalid"]),
    ("523 5.7.10 Plaintext authentication disabled.", &["mail-tls-required"]),
    ("454 4.7.0 Temporary authentication failure. [localhost:2024-05-02 10:14:07]", &["mail-temporary-failure"]),
    // XOAUTH2: {"status":"401","schemes":"bearer","scope":"mail","openid-configuration":"http://127.0.0.1:9090/.well-known/openid-configuration"}
    ("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwOi8vMTI3LjAuMC4xOjkwOTAvLndlbGwta25vd24vb3BlbmlkLWNvbmZpZ3VyYXRpb24ifQ==\r\n535 5.7.8 Authentication failed.", &["mail-token-rejected"]),
    // OAUTHBEARER: {"status":"invalid_token","openid-configuration":"http://127.0.0.1:9090/.well-known/openid-configuration"}
    ("+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwOi8vMTI3LjAuMC4xOjkwOTAvLndlbGwta25vd24vb3BlbmlkLWNvbmZpZ3VyYXRpb24ifQ==\r\na1 NO [AUTHENTICATIONFAILED] Authentication failed.", &["mail-token-rejected"]),
];

#[test]
fn real_strings_get_the_right_entries() {
    let mut failures = Vec::new();
    for (text, want) in REAL {
        let got = ids(text);
        if got != *want {
            failures.push(format!("{text:?}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn specific_entries_hide_generic_and_fallback_ones() {
    // Specific beats generic (5.7.139) and fallback (535).
    assert_eq!(
        ids("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."),
        ["ms-smtp-auth-disabled-mailbox"]
    );
    // Without the specific text, the generic entry is shown, and it beats the fallback.
    assert_eq!(
        ids("535 5.7.139 Authentication unsuccessful"),
        ["ms-smtp-auth-refused-by-policy"]
    );
    // With nothing but the basic code, the fallback is all there is.
    assert_eq!(
        ids("535 Incorrect authentication data"),
        ["smtp-auth-rejected"]
    );
    // Two fallbacks do not pile up: the server's 535 says more than the product's wording.
    assert_eq!(ids("535 Authentication failed."), ["smtp-auth-rejected"]);
    // A provider's own description beats the OAuth error value.
    assert_eq!(ids(r#"{"error":"invalid_grant"}"#), ["oauth-invalid-grant"]);
    assert_eq!(
        ids(
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#
        ),
        ["g-token-expired-or-revoked"]
    );
    // A Java wrapper adds nothing when the server's answer is inside.
    assert_eq!(
        ids("javax.mail.AuthenticationFailedException: 535 5.7.3 Authentication unsuccessful"),
        ["ms-smtp-auth-unsuccessful"]
    );
    assert_eq!(
        ids("javax.mail.AuthenticationFailedException: failed to connect"),
        ["client-auth-failed-no-detail"]
    );
    // also_show keeps a linked generic entry next to the specific one.
    assert_eq!(
        ids(r#"{"error":"authorization_pending","error_description":"AADSTS70016: pending"}"#),
        ["ms-device-code-pending", "oauth-authorization-pending"]
    );
}

#[test]
fn code_alone_full_sentence_and_json_body_all_match() {
    let shapes = [
        "AADSTS50011",
        "aadsts50011: the redirect uri doesn't match",
        r#"{"error":"invalid_request","error_description":"AADSTS50011: The redirect URI...","error_codes":[50011]}"#,
        r#"{"error":"invalid_request","error_codes":[50011]}"#,
        "error=invalid_request&error_description=AADSTS50011%3a+The+redirect+URI",
    ];
    for s in shapes {
        assert_eq!(ids(s), ["ms-redirect-uri-mismatch"], "{s}");
    }
    assert_eq!(ids("AADSTS500113"), ["ms-redirect-uri-missing"]);
    assert!(ids("AADSTS5001130").is_empty());
}

#[test]
fn several_errors_in_one_log_are_all_explained_in_order() {
    let log = "10:00 token refresh: AADSTS700082: The refresh token has expired due to inactivity.\n\
               10:01 smtp: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.";
    assert_eq!(
        ids(log),
        ["ms-refresh-token-inactive", "ms-smtp-auth-disabled-mailbox"]
    );
}

#[test]
fn fixes_carry_the_context_or_readable_placeholders() {
    let e = entry("ms-smtp-auth-disabled-mailbox").expect("entry exists");
    let blank = e.diagnosis(&Context::default());
    assert!(blank.fix.iter().any(|s| s.contains(
        r#"Set-CASMailbox -Identity "<mailbox>" -SmtpClientAuthenticationDisabled $false"#
    )));
    let ctx = Context {
        mailbox: Some("scanner@contoso.com".into()),
        tenant: Some("contoso.onmicrosoft.com".into()),
        client_id: Some("a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d".into()),
        app_name: Some("Scan to Mail".into()),
        redirect_uri: None,
    };
    assert_eq!(ctx.validate(), Ok(()));
    let filled = e.diagnosis(&ctx);
    assert!(filled.fix.iter().any(|s| s.contains(
        r#"Set-CASMailbox -Identity "scanner@contoso.com" -SmtpClientAuthenticationDisabled $false"#
    )));
    assert!(filled.place.contains("scanner@contoso.com"));

    // Links: the precise one when the client ID is known, the general one otherwise.
    let consent = entry("ms-consent-missing").expect("entry exists");
    assert_eq!(
        consent.diagnosis(&ctx).link.as_deref(),
        Some("https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
    );
    let redirect = entry("ms-redirect-uri-mismatch").expect("entry exists");
    assert_eq!(
        redirect.diagnosis(&Context::default()).link.as_deref(),
        Some(
            "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade"
        )
    );
    assert!(redirect.diagnosis(&Context::default()).fix[1].contains("<redirect URI>"));
}

#[test]
fn unsafe_context_values_are_refused_and_never_pasted() {
    let ctx = Context {
        mailbox: Some("x@y.com\" ; Remove-Mailbox -Identity \"boss@y.com".into()),
        ..Context::default()
    };
    let err = ctx.validate().expect_err("quotes in a mailbox are refused");
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("mailbox"));
    assert!(
        !err.to_string().contains("Remove-Mailbox"),
        "the value is not echoed"
    );
    let d = entry("ms-imap-not-connected")
        .expect("entry exists")
        .diagnosis(&ctx);
    assert!(d.fix.iter().all(|s| !s.contains("Remove-Mailbox")));
    assert!(d.fix.iter().any(|s| s.contains("<mailbox>")));
    for bad in [
        Context {
            tenant: Some("contoso.com/../x".into()),
            ..Context::default()
        },
        Context {
            client_id: Some("id with space".into()),
            ..Context::default()
        },
        Context {
            app_name: Some("$(calc)".into()),
            ..Context::default()
        },
        Context {
            redirect_uri: Some("javascript:alert(1)".into()),
            ..Context::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?} accepted");
    }
}

#[test]
fn nothing_matched_says_so_and_suggests_checks() {
    let x = explain("the printer is out of paper", &Context::default());
    assert!(x.matches.is_empty());
    assert!(x.suggestions.iter().any(|s| s.contains("mailoauth check")));
    assert!(x.suggestions.iter().any(|s| s.contains("sign in again")));
    let y = explain("AADSTS50011", &Context::default());
    assert!(y.suggestions.is_empty());
}

#[test]
fn secrets_in_pasted_text_are_never_returned() {
    let secret_token = "ya29.a0AfB_byDsEcReTtOkEn1234567890abcdef";
    let refresh = "1//0gSeCrEtReFrEsHtOkEn-abcdefghij";
    let text = format!(
        "POST /token client_secret=GOCSPX-TopSecretValue123&refresh_token={refresh}\n\
         C: AUTH XOAUTH2 dXNlcj1zY2FuQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIHlhMjkuc2VjcmV0AQE=\n\
         Authorization: Bearer {secret_token}\n\
         {{\"error\": \"invalid_grant\", \"error_description\": \"Token has been expired or revoked.\"}}"
    );
    let x = explain(&text, &Context::default());
    let json = serde_json::to_string(&x).expect("explanation serialises");
    for secret in [secret_token, refresh, "TopSecretValue123", "dXNlcj1zY2Fu"] {
        assert!(!json.contains(secret), "{secret} leaked");
    }
    assert_eq!(
        x.matches
            .iter()
            .map(|m| m.diagnosis.id.as_str())
            .collect::<Vec<_>>(),
        ["g-token-expired-or-revoked"]
    );
    assert!(x.scrubbed_input.contains(crate::secret::REDACTED));
}

#[test]
fn decoded_challenges_are_reported() {
    let x = explain(
        "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
        &Context::default(),
    );
    assert_eq!(x.decoded_challenges.len(), 1);
    assert_eq!(x.decoded_challenges[0].status.as_deref(), Some("400"));
    assert_eq!(
        x.decoded_challenges[0].scope.as_deref(),
        Some("https://mail.google.com/")
    );
    assert_eq!(x.matches[0].diagnosis.id, "mail-token-rejected");
    assert_eq!(x.matches[0].matched_by, ["challenge status 400"]);
}

#[test]
fn explanation_serialises_in_camel_case() {
    let x = explain("AADSTS50011", &Context::default());
    let v = serde_json::to_value(&x).expect("serialises");
    assert!(v.get("decodedChallenges").is_some() && v.get("scrubbedInput").is_some());
    assert!(v["matches"][0].get("matchedBy").is_some());
    let e = serde_json::to_value(entry("ms-consent-missing")).expect("serialises");
    assert!(e.get("alsoShow").is_some() && e["patterns"][0]["kind"] == "code");
}

#[test]
fn huge_input_is_cut_on_a_character_boundary() {
    let big = "é".repeat(MAX_INPUT_BYTES);
    let cut = truncate(&big, MAX_INPUT_BYTES - 1);
    assert!(cut.len() < MAX_INPUT_BYTES);
    assert!(explain(&big, &Context::default()).matches.is_empty());
}
