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
                let Some(o) = entry(other) else {
                    failures.push(format!("{}: {ex:?} also gets family {other}", e.id));
                    continue;
                };
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
    // An unknown longer number is not the entry's code; it still gets the catch-all family.
    assert_eq!(ids("AADSTS5001130"), ["entra-other"]);
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
        ..Context::default()
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

// ---------------------------------------------------------------------------------------------
// Families: any code of a known scheme gets a cause and a fix.

fn family_ids(text: &str) -> Vec<(String, Option<MatchKind>)> {
    explain(text, &Context::default())
        .matches
        .into_iter()
        .map(|m| (m.diagnosis.id, m.kind))
        .collect()
}

/// The one match of `text`, which must be a family match of `family`.
fn only_family(text: &str, family: &str) -> Match {
    let x = explain(text, &Context::default());
    let got: Vec<&str> = x.matches.iter().map(|m| m.diagnosis.id.as_str()).collect();
    assert_eq!(got, [family], "{text}");
    let m = x.matches.into_iter().next().expect("one match");
    assert_eq!(m.kind, Some(MatchKind::Family), "{text}");
    m
}

#[test]
fn families_are_well_formed_backed_and_cite_their_own_codes() {
    let entry_ids: HashSet<&str> = catalog().iter().map(|e| e.id.as_str()).collect();
    for e in catalog() {
        if let Some(src) = &e.source {
            assert!(src.starts_with("https://"), "{}: source {src}", e.id);
        }
    }
    // The entries added from the providers' references say where they come from.
    for id in [
        "ms-storedrv-recipient-thread-limit",
        "g-access-not-configured",
    ] {
        assert!(entry(id).and_then(|e| e.source.as_ref()).is_some(), "{id}");
    }
    let mut seen = HashSet::new();
    for f in families() {
        assert!(seen.insert(f.id.as_str()), "duplicate family {}", f.id);
        assert!(
            !entry_ids.contains(f.id.as_str()),
            "{} is also an entry id",
            f.id
        );
        assert!(f.source.starts_with("https://"), "{}: source", f.id);
        assert!(!f.fix.is_empty() && !f.title.ends_with('.'), "{}", f.id);
        let c = f.cause.trim();
        assert!(c.ends_with('.'), "{}: cause must end with a period", f.id);
        if f.is_catch_all() {
            assert_eq!(f.codes, ["*"], "{}: a catch-all covers nothing else", f.id);
            continue;
        }
        // Entra families are derived from Microsoft's codes one by one: at least three each.
        let least = if f.scheme == Scheme::Aadsts { 3 } else { 2 };
        assert!(
            f.cited.len() >= least,
            "{}: only {} cited codes",
            f.id,
            f.cited.len()
        );
        for cited in &f.cited {
            let codes: Vec<Code> = match f.scheme {
                Scheme::Aadsts => vec![Code::Aadsts(cited.code.clone())],
                Scheme::Imap => vec![Code::Imap(cited.code.clone())],
                Scheme::Smtp => match cited.code.strip_prefix("X.") {
                    Some(rest) => ["4", "5"]
                        .iter()
                        .map(|c| Code::parse(&format!("{c}.{rest}")).expect("valid code"))
                        .collect(),
                    None => vec![Code::parse(&cited.code).expect("valid code")],
                },
            };
            for code in codes {
                assert_eq!(
                    family_of(&code).map(|g| g.id.as_str()),
                    Some(f.id.as_str()),
                    "{}: cites {} which falls elsewhere",
                    f.id,
                    cited.code
                );
            }
        }
    }
    for scheme in [Scheme::Aadsts, Scheme::Smtp, Scheme::Imap] {
        let proper = families()
            .iter()
            .filter(|f| f.scheme == scheme && !f.is_catch_all())
            .count();
        let catch_all = families()
            .iter()
            .filter(|f| f.scheme == scheme && f.is_catch_all())
            .count();
        assert_eq!(catch_all, 1, "{scheme:?} needs exactly one catch-all");
        assert!(proper >= 4, "{scheme:?}: only {proper} families");
    }
}

#[test]
fn no_code_falls_into_two_families() {
    let fams = families();
    for (i, a) in fams.iter().enumerate() {
        for b in &fams[i + 1..] {
            if a.scheme != b.scheme {
                continue;
            }
            for pa in &a.codes {
                for pb in &b.codes {
                    assert!(
                        !family::overlap(a.scheme, pa, pb),
                        "{} {pa} overlaps {} {pb}",
                        a.id,
                        b.id
                    );
                }
            }
        }
        for (j, pa) in a.codes.iter().enumerate() {
            for pb in &a.codes[j + 1..] {
                assert!(!family::overlap(a.scheme, pa, pb), "{}: {pa} twice", a.id);
            }
        }
    }
    // The overlap check itself: same length and agreeing digits overlap, different tiers do not.
    assert!(family::overlap(Scheme::Aadsts, "530xx", "53003"));
    assert!(family::overlap(Scheme::Aadsts, "530xx", "53xx1"));
    assert!(!family::overlap(Scheme::Aadsts, "530xx", "5300xx"));
    // SMTP detail families refine a subject family on purpose (the detail wins).
    assert!(!family::overlap(Scheme::Aadsts, "50126", "50127"));
    assert!(family::overlap(Scheme::Smtp, "7.5xx", "7.50x"));
    assert!(!family::overlap(Scheme::Smtp, "7.*", "7.5xx"));
}

/// Every AADSTS number listed in Microsoft's reference (learn.microsoft.com/entra/identity-
/// platform/reference-error-codes), as read for this catalog.
const ENTRA_REFERENCE_CODES: &[u32] = &[
    16000, 16001, 16002, 160021, 16003, 17003, 20001, 20012, 20033, 230109, 28002, 28003, 40008,
    40009, 40010, 40015, 50000, 50001, 50002, 500011, 500021, 500022, 50003, 50005, 50006, 50007,
    50008, 5000819, 50010, 50011, 50012, 50013, 500133, 50014, 50015, 50017, 50020, 500208, 500212,
    500213, 50027, 50029, 50032, 50033, 50034, 50042, 50043, 50048, 50049, 50050, 50053, 50055,
    50056, 50057, 50058, 50059, 50061, 50064, 50068, 50070, 50071, 50072, 50074, 50076, 50078,
    50079, 50085, 50086, 50087, 50088, 50089, 50097, 50099, 50105, 50107, 50120, 50124, 501241,
    50125, 50126, 50127, 50128, 50129, 50131, 50132, 50133, 50134, 50135, 50136, 50139, 50140,
    50143, 50144, 50146, 501461, 50147, 501481, 501491, 50155, 50158, 50161, 50166, 50168, 50169,
    50170, 50173, 50177, 50178, 50180, 50187, 50192, 50194, 50196, 50197, 50199, 51000, 51001,
    1000104, 51004, 51005, 51006, 52004, 53000, 53001, 53002, 53003, 530035, 53004, 53010, 53011,
    530034, 54000, 54005, 65001, 65002, 65004, 65005, 650052, 650054, 650056, 650057, 67003, 70000,
    70001, 700011, 70002, 700025, 700027, 70003, 700030, 70004, 70005, 700054, 70007, 70008,
    700082, 700084, 70011, 70012, 70016, 70018, 70019, 70043, 75001, 75003, 75005, 7500514, 750054,
    75008, 75011, 75016, 76021, 76026, 80001, 80002, 80005, 80007, 80010, 80012, 80013, 80014,
    81004, 81005, 81006, 81007, 81009, 81010, 81011, 81012, 90002, 90004, 90005, 90006, 90007,
    90008, 90009, 90010, 9001023, 90012, 90013, 90014, 900144, 90015, 90016, 90019, 90020, 90022,
    90023, 900236, 9002313, 9002332, 90024, 90027, 90033, 90036, 90038, 900384, 90043, 900432,
    90051, 90055, 90056, 900561, 90072, 90081, 90082, 90084, 90085, 90086, 90087, 90090, 90091,
    90092, 90093, 90094, 900382, 90095, 90099, 900971, 90100, 901002, 90101, 90102, 90107, 90114,
    90117, 90119, 90120, 90121, 90123, 90124, 90125, 90126, 90130, 120000, 120002, 120003, 120004,
    120005, 120008, 120011, 120012, 120013, 120014, 120015, 120016, 120018, 120020, 120021, 130004,
    130005, 130006, 130007, 130008, 135010, 135011, 140000, 140001, 165004, 165900, 220450, 220501,
    221000, 240001, 240002, 501621, 530032, 700016, 700020, 700022, 700023, 7000215, 7000218,
    7000222, 700229, 700005, 1000000, 1000002, 100007, 1000031, 7000112, 7000114, 7500529,
];

/// The IMAP response codes of the IANA registry (RFC 3501, RFC 5530 and later), and two a
/// server might invent.
const IMAP_CODES: &[&str] = &[
    "ALERT",
    "BADCHARSET",
    "CAPABILITY",
    "PARSE",
    "PERMANENTFLAGS",
    "READ-ONLY",
    "READ-WRITE",
    "TRYCREATE",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "UNKNOWN-CTE",
    "UIDNOTSTICKY",
    "APPENDUID",
    "COPYUID",
    "URLMECH",
    "TOOBIG",
    "BADURL",
    "HIGHESTMODSEQ",
    "NOMODSEQ",
    "MODIFIED",
    "COMPRESSIONACTIVE",
    "CLOSED",
    "NOTSAVED",
    "BADCOMPARATOR",
    "ANNOTATE",
    "ANNOTATIONS",
    "TEMPFAIL",
    "MAXCONVERTMESSAGES",
    "MAXCONVERTPARTS",
    "NOUPDATE",
    "METADATA",
    "NOTIFICATIONOVERFLOW",
    "BADEVENT",
    "UNDEFINED-FILTER",
    "UNAVAILABLE",
    "AUTHENTICATIONFAILED",
    "AUTHORIZATIONFAILED",
    "EXPIRED",
    "PRIVACYREQUIRED",
    "CONTACTADMIN",
    "NOPERM",
    "INUSE",
    "EXPUNGEISSUED",
    "CORRUPTION",
    "SERVERBUG",
    "CLIENTBUG",
    "CANNOT",
    "LIMIT",
    "OVERQUOTA",
    "ALREADYEXISTS",
    "NONEXISTENT",
    "USEATTR",
    "WEBALERT",
    "X-MADE-UP",
    "THROTTLED",
];

/// At least one match with a family (or exact entry), a cause and a fix; returns the ids.
fn assert_named(text: &str) -> Vec<String> {
    let x = explain(text, &Context::default());
    assert!(!x.matches.is_empty(), "nothing for {text:?}");
    for m in &x.matches {
        let d = &m.diagnosis;
        assert!(
            !d.title.is_empty() && !d.cause.is_empty() && !d.fix.is_empty(),
            "{text:?}: {d:?}"
        );
        assert!(m.kind.is_some(), "{text:?}: match kind missing");
    }
    x.matches.into_iter().map(|m| m.diagnosis.id).collect()
}

#[test]
fn any_entra_code_gets_a_family_cause_fix_and_lookup_link() {
    let mut codes: Vec<u32> = ENTRA_REFERENCE_CODES.to_vec();
    codes.extend((10_000..100_000).step_by(97));
    codes.extend((100_000..1_000_000).step_by(9_973));
    codes.extend((1_000_000..10_000_000).step_by(99_991));
    for n in codes {
        let text = format!("AADSTS{n}: something went wrong");
        let ids = assert_named(&text);
        // Without an exact entry, the family (or the catch-all) links to Microsoft's page.
        let code = Code::Aadsts(n.to_string());
        let fam = family_of(&code).expect("every AADSTS code has a family");
        if ids == [fam.id.clone()] {
            let d = fam.diagnosis(&code, &Context::default());
            assert_eq!(
                d.link.as_deref(),
                Some(format!("https://login.microsoftonline.com/error?code={n}").as_str())
            );
        }
    }
}

#[test]
fn any_enhanced_smtp_code_gets_a_family_cause_and_fix() {
    for class in [2, 4, 5] {
        for subject in (0..=9).chain([10, 99, 999]) {
            for detail in (0..=30).chain((31..1000).step_by(37)) {
                let text = format!(
                    "{class}{}0 {class}.{subject}.{detail} the server's words",
                    5
                );
                assert_named(&text);
                // The code alone, as an admin types it.
                assert_named(&format!("{class}.{subject}.{detail}"));
            }
        }
    }
}

#[test]
fn any_imap_response_code_gets_a_family_cause_and_fix() {
    for code in IMAP_CODES {
        assert_named(&format!("a1 NO [{code}] the server's words"));
        assert_named(&format!("[{code}]"));
    }
}

#[test]
fn every_entra_family_matches_its_reference_text() {
    // The descriptions in Microsoft Entra's error code reference
    // (learn.microsoft.com/entra/identity-platform/reference-error-codes), for codes that have no
    // exact entry, in the shapes products log them.
    let cases = [
        ("AADSTS50014: GuestUserInPendingState - The user account doesn't exist in the directory.", "entra-credentials"),
        ("AADSTS53004: ProofUpBlockedDueToRisk - User needs to complete the multifactor authentication registration process before accessing this content.", "entra-conditional-access"),
        ("AADSTS65002: Consent between first party application 'x' and first party resource 'y' must be configured via preauthorization", "entra-consent"),
        ("AADSTS700054: Response_type 'id_token' isn't enabled for the application.", "entra-app-configuration"),
        ("AADSTS50139: SessionMissingMsaOAuth2RefreshToken - The session is invalid due to a missing external refresh token.", "entra-grant-lifetime"),
        ("AADSTS50134: DeviceFlowAuthorizeWrongDatacenter - Wrong data center.", "entra-device-code"),
        ("AADSTS500213: NotAllowedByInboundPolicyTenant - The resource tenant's cross-tenant access policy doesn't allow this user to access this tenant.", "entra-tenant-cloud"),
        ("AADSTS80012: OnPremisePasswordValidationAccountLogonInvalidHours - The users attempted to log on outside of the allowed hours (this is specified in AD).", "entra-federation"),
        ("AADSTS90055: TenantThrottlingError - There are too many incoming requests. This exception is thrown for blocked tenants.", "entra-service"),
        ("AADSTS90100: InvalidRequestParameter - The parameter is empty or not valid.", "entra-request"),
        ("AADSTS75011: NoMatchedAuthnContextInOutputClaims - The authentication method by which the user authenticated with the service doesn't match requested authentication method.", "entra-other"),
    ];
    for (text, family) in cases {
        let m = only_family(text, family);
        let n = text[6..].split(':').next().expect("code");
        assert_eq!(m.code.as_deref(), Some(format!("AADSTS{n}").as_str()));
        // The code's own text is quoted, so the admin sees Microsoft's words beside the family's.
        let quote = m.quote.expect("quoted");
        assert!(text.contains(&quote), "{quote:?} not from {text:?}");
        assert_eq!(
            m.diagnosis.link.as_deref(),
            Some(format!("https://login.microsoftonline.com/error?code={n}").as_str())
        );
    }
    // A token endpoint reply in Microsoft's JSON: the family comes first, the OAuth error value
    // (a kind of error) after it, and the quote stops at the JSON escape.
    let json = r#"{"error":"invalid_grant","error_description":"AADSTS50139: SessionMissingMsaOAuth2RefreshToken - The session is invalid due to a missing external refresh token.\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333","error_codes":[50139]}"#;
    let x = explain(json, &Context::default());
    assert_eq!(x.matches[0].diagnosis.id, "entra-grant-lifetime");
    assert_eq!(
        x.matches[0].quote.as_deref(),
        Some("SessionMissingMsaOAuth2RefreshToken - The session is invalid due to a missing external refresh token.")
    );
    assert!(x
        .matches
        .iter()
        .any(|m| m.diagnosis.id == "oauth-invalid-grant"));
    // A code only in `error_codes` still finds its family.
    assert_eq!(
        family_ids(r#"{"error":"invalid_request","error_codes":[90100]}"#)[0],
        ("entra-request".to_string(), Some(MatchKind::Family))
    );
}

#[test]
fn exact_entries_win_over_families_and_say_so() {
    let x = explain(
        "AADSTS50126: Error validating credentials due to invalid username or password.",
        &Context::default(),
    );
    assert_eq!(x.matches.len(), 1);
    assert_eq!(x.matches[0].diagnosis.id, "ms-password-grant-rejected");
    assert_eq!(x.matches[0].kind, Some(MatchKind::Exact));
    let x = explain(r#"{"error":"invalid_grant"}"#, &Context::default());
    assert_eq!(x.matches[0].kind, Some(MatchKind::Known));
}

#[test]
fn every_smtp_family_matches_its_reference_text() {
    // Exchange Online's NDR reference (learn.microsoft.com/exchange/troubleshoot/email-delivery/
    // ndr/non-delivery-reports-in-exchange-online) and Gmail's SMTP error reference
    // (support.google.com/a/answer/3726730).
    let cases = [
        (
            "550 5.0.350 Requested action not taken: policy violation detected (AS345)",
            "smtp-undefined",
        ),
        ("550 5.1.10 Recipient not found", "smtp-addressing"),
        (
            "452 4.2.2 The email account that you tried to reach is over quota.",
            "smtp-mailbox",
        ),
        (
            "451 4.3.0 Mail server temporarily rejected message.",
            "smtp-mail-system",
        ),
        (
            "421 4.4.5 Server busy, try again later.",
            "smtp-network-routing",
        ),
        (
            "451 4.5.0 SMTP protocol violation, see RFC 2821.",
            "smtp-protocol",
        ),
        ("550 5.6.11 Invalid characters", "smtp-content"),
        (
            "550 5.7.124 Sender not in allowed-senders list",
            "smtp-security-policy",
        ),
        (
            "550 5.7.708 Access denied, traffic not accepted from this IP",
            "exo-anti-abuse",
        ),
        (
            "550 5.7.501 Access denied, spam abuse detected",
            "exo-anti-abuse",
        ),
        (
            "550 5.9.1 A subject RFC 3463 does not define",
            "smtp-other-subject",
        ),
    ];
    for (text, family) in cases {
        let m = only_family(text, family);
        assert_eq!(
            m.quote.as_deref(),
            Some(text),
            "the server's line is quoted"
        );
        let class = &text[4..5];
        let first = &m.diagnosis.fix[0];
        assert!(first.starts_with(&format!("Class {class} ")), "{first}");
    }
    // The RFC 3463 meaning of a known detail is named in the title.
    let m = only_family(
        "550 5.1.1 <nobody@example.com>: Recipient address rejected",
        "smtp-addressing",
    );
    assert!(
        m.diagnosis
            .title
            .contains("Bad destination mailbox address"),
        "{}",
        m.diagnosis.title
    );
    // The STOREDRV errors Exchange Online's store driver answers with have entries of their own.
    assert_eq!(
        ids("432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded"),
        ["ms-storedrv-recipient-thread-limit"]
    );
    assert_eq!(
        ids("554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message."),
        ["ms-smtp-send-as-denied"]
    );
    // Success lines in a transcript are not news next to the failure.
    assert_eq!(
        ids("250 2.1.0 Sender OK\n550 5.1.10 Recipient not found"),
        ["smtp-addressing"]
    );
}

#[test]
fn every_imap_family_matches_its_reference_text() {
    // Example responses of RFC 5530 section 3 (IMAP Response Codes) and RFC 3501.
    let cases = [
        (
            "a NO [AUTHORIZATIONFAILED] No such authorization-ID",
            "imap-login-refused",
        ),
        (
            "a NO [EXPIRED] That password isn't valid any more",
            "imap-login-refused",
        ),
        (
            "a NO [CONTACTADMIN] You need to contact the system administrator",
            "imap-login-refused",
        ),
        ("a NO [INUSE] Mailbox in use", "imap-server-unavailable"),
        ("a NO [NOPERM] Access denied", "imap-permission-limit"),
        ("a NO [OVERQUOTA] Sorry", "imap-permission-limit"),
        ("a NO [NONEXISTENT] No such mailbox", "imap-request"),
        ("* OK [ALERT] System shutdown in 10 minutes", "imap-status"),
        ("a NO [X-SOMETHING] A code no registry lists", "imap-other"),
    ];
    for (text, family) in cases {
        let m = only_family(text, family);
        assert_eq!(m.quote.as_deref(), Some(text));
    }
    // Brackets that are not response codes are not taken for one.
    assert!(explain(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
        &Context::default()
    )
    .matches
    .iter()
    .all(|m| m.kind != Some(MatchKind::Family)));
}

#[test]
fn an_unreachable_token_endpoint_is_named_with_its_role_not_the_mail_hosts() {
    // What `mailoauth token` printed with an expired token and no network (issue 18).
    let text = "mailoauth: the token endpoint could not be reached: error sending request for url (https://login.microsoftonline.com/organizations/oauth2/v2.0/token): client error (Connect): dns error: failed to lookup address information: Temporary failure in name resolution; check the endpoint URL, the proxy and the firewall";
    let x = explain(text, &Context::default());
    let got: Vec<&str> = x.matches.iter().map(|m| m.diagnosis.id.as_str()).collect();
    assert_eq!(got, ["net-host-unreachable"]);
    let d = &x.matches[0].diagnosis;
    assert_eq!(d.title, "Can't reach login.microsoftonline.com");
    assert_eq!(d.host.as_deref(), Some("login.microsoftonline.com"));
    assert_eq!(d.host_role, Some(HostRole::TokenEndpoint));
    let all = format!("{} {} {}", d.cause, d.fix.join(" "), d.place);
    for word in [
        "nslookup login.microsoftonline.com",
        "proxy",
        "firewall",
        "TCP 443",
    ] {
        assert!(all.contains(word), "{word} missing: {all}");
    }
    for mail_host in ["imap.gmail.com", "smtp.gmail.com", "smtp.office365.com"] {
        assert!(!all.contains(mail_host), "{mail_host} in {all}");
    }
    // The sandbox's device endpoint on a port of its own.
    let x = explain(
        "the device authorization endpoint could not be reached: error sending request for url (http://127.0.0.1:9090/device/auth): connection refused",
        &Context::default(),
    );
    let d = &x.matches[0].diagnosis;
    assert_eq!(d.title, "Can't reach 127.0.0.1");
    assert!(
        d.fix.iter().any(|s| s.contains("TCP 9090 to 127.0.0.1")),
        "{:?}",
        d.fix
    );
    // The mail test's own wording for a mail host that does not resolve.
    let x = explain(
        "the host name smtp.offce365.com does not resolve (failed to lookup address information: Name or service not known): check its spelling and the DNS of this machine",
        &Context::default(),
    );
    let got: Vec<&str> = x.matches.iter().map(|m| m.diagnosis.id.as_str()).collect();
    assert_eq!(got, ["net-mail-host-unreachable"]);
    let d = &x.matches[0].diagnosis;
    assert_eq!(d.title, "Can't reach smtp.offce365.com");
    assert_eq!(d.host_role, Some(HostRole::Smtp));
    assert!(d
        .fix
        .iter()
        .any(|s| s.contains("nslookup smtp.offce365.com")));
    // Code that knows the host and its role asks directly.
    let d = unreachable(
        &HostFacts {
            host: Some("outlook.office365.com".into()),
            role: HostRole::Imap,
            port: 993,
        },
        &Context::default(),
    )
    .expect("entry exists");
    assert_eq!(d.title, "Can't reach outlook.office365.com");
    assert!(d.cause.contains("IMAP server"), "{}", d.cause);
    assert!(d
        .fix
        .iter()
        .any(|s| s.contains("TCP 993 to outlook.office365.com")));
    // A pasted mail connection error without an endpoint keeps the mail hosts' advice.
    assert_eq!(
        ids("java.net.ConnectException: Connection refused (Connection refused)"),
        ["net-connection-failed"]
    );
}

#[test]
fn no_refresh_token_says_which_cause() {
    assert_eq!(
        ids("the provider returned no refresh token (offline_access was not requested); request the offline_access scope"),
        ["client-no-refresh-token-not-requested"]
    );
    assert_eq!(
        ids("the provider returned no refresh token (offline access was requested but not granted); sign in again"),
        ["client-no-refresh-token-not-granted"]
    );
}

#[test]
fn a_log_full_of_codes_is_explained_by_a_bounded_number_of_families() {
    // Thousands of lines with distinct codes of every scheme.
    let mut log = String::new();
    for n in 0..3000u32 {
        log.push_str(&format!(
            "550 5.{}.{} x\nAADSTS{}: y\na{n} NO [X-C{n}] z\n",
            n % 8,
            n % 1000,
            70000 + n
        ));
    }
    let x = explain(&log, &Context::default());
    let families = x
        .matches
        .iter()
        .filter(|m| m.kind == Some(MatchKind::Family))
        .count();
    assert!(families > 0 && families <= 40, "{families}");
}

#[test]
fn an_endpoint_whose_certificate_is_refused_is_a_certificate_problem_not_a_network_one() {
    // What the OAuth engine says when the token endpoint's certificate is self-signed
    // (tests/tls_and_faults.rs): "could not be reached" names the endpoint, the certificate
    // is the cause.
    let text = "the token endpoint could not be reached: client error: error sending request for url (https://127.0.0.1:46213/token): client error (Connect): invalid peer certificate: Other(OtherError(CaUsedAsEndEntity)); check the endpoint URL, the proxy and the firewall";
    let x = explain(text, &Context::default());
    let got: Vec<&str> = x.matches.iter().map(|m| m.diagnosis.id.as_str()).collect();
    assert_eq!(
        got.first().copied(),
        Some("net-tls-untrusted-certificate"),
        "{got:?}"
    );
    assert!(!got.contains(&"net-host-unreachable"), "{got:?}");
}
