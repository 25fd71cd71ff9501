//! GUI end-to-end tests: the built app in a real window (Xvfb), driven through tauri-driver and
//! WebKitWebDriver. Each screen visited is saved as a PNG under `target/screenshots/`.

mod webdriver;

use mailoauth::provider::checklist::{checklist, ChecklistContext};
use mailoauth::provider::{Cloud, Flow, Purpose};
use std::path::PathBuf;
use webdriver::App;

fn screenshots_dir(test: &str) -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; screenshots go beside it.
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("../screenshots")
        .join(test)
}

fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mailoauth-app"))
}

/// The journey as the admin makes it: counts the clicks and typed values of the main path,
/// and checks every screen it passes (see [`Journey::screen`]).
struct Journey<'a> {
    app: &'a App,
    clicks: u32,
    typed: u32,
    /// Values the admin gave so far: no screen may show a placeholder for them.
    known: Vec<&'static str>,
}

/// The placeholders the app would show for each known value.
const PLACEHOLDER_FOR: &[(&str, &[&str])] = &[
    ("mailbox", &["<mailbox@example.com>", "<mailbox>"]),
    ("tenant", &["<tenant-id>", "<tenant>"]),
    ("client_id", &["<client-id>", "<client ID>", "<client_id>"]),
    ("name", &["<name>", "<account>"]),
];

impl<'a> Journey<'a> {
    fn new(app: &'a App) -> Self {
        Journey {
            app,
            clicks: 0,
            typed: 0,
            known: vec!["name"],
        }
    }

    /// Clicks the first element matching `css`, which must be on screen without scrolling.
    fn click(&mut self, css: &str) {
        let el = self.app.wait_for(css);
        self.assert_in_view(css);
        self.app.click(&el[0]);
        self.clicks += 1;
    }

    /// Clicks the element with this data-testid (on screen without scrolling).
    fn click_testid(&mut self, id: &str) {
        self.click(&format!("[data-testid={id}]"));
    }

    /// Types a value the admin has to give.
    fn type_value(&mut self, css: &str, text: &str) {
        let el = self.app.wait_for(css);
        self.app.type_text(&el[0], text);
        self.typed += 1;
    }

    fn assert_in_view(&self, css: &str) {
        let script = format!(
            "const e = document.querySelector({css:?}); const r = e.getBoundingClientRect(); \
             const d = document.documentElement; return [r.top, r.bottom, d.clientHeight, r.left, r.right, d.clientWidth];"
        );
        let v = self.app.script(&script);
        let n: Vec<f64> = v
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        assert!(
            n.len() == 6 && n[0] >= 0.0 && n[1] <= n[2] + 0.5 && n[3] >= 0.0 && n[4] <= n[5] + 0.5,
            "{css} is reachable without scrolling (top, bottom, height, left, right, width): {n:?}"
        );
    }

    /// Checks the screen on show: no placeholder for a value the admin already gave, the
    /// primary action (if the screen has one) on screen without scrolling; then screenshots at
    /// 1000x720 and 900x650, the two window sizes an admin is likely to have.
    fn screen(&self, name: &str) {
        let app = self.app;
        let text = app
            .script("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_string();
        for (what, marks) in PLACEHOLDER_FOR {
            if self.known.contains(what) {
                for m in *marks {
                    assert!(
                        !text.contains(m),
                        "{name}: the screen shows {m} although the {what} is known:\n{text}"
                    );
                }
            }
        }
        if !app.find_all("[data-testid=action-bar] .primary").is_empty() {
            self.assert_in_view("[data-testid=action-bar] .primary");
        }
        app.resize(1000, 720);
        app.screenshot(name);
        app.resize(900, 650);
        std::thread::sleep(std::time::Duration::from_millis(300));
        if !app.find_all("[data-testid=action-bar] .primary").is_empty() {
            self.assert_in_view("[data-testid=action-bar] .primary");
        }
        let overflow = app.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        );
        assert_eq!(
            overflow.as_i64(),
            Some(0),
            "{name}: no sideways scrolling at 900x650"
        );
        app.screenshot(&format!("{name}-900x650"));
        app.resize(1000, 720);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn click_provider(app: &App, id: &str) {
    // With saved accounts the app opens on the home screen: start a new setup from there.
    let first = app.wait_for(
        "[data-testid=provider-list] button[data-provider-id], [data-testid=new-mailbox]",
    );
    if app.attr(&first[0], "data-testid").as_deref() == Some("new-mailbox") {
        app.click(&first[0]);
    }
    let buttons = app.wait_for("[data-testid=provider-list] button[data-provider-id]");
    let button = buttons
        .iter()
        .find(|b| app.attr(b, "data-provider-id").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("a {id} button"));
    app.click(button);
}

#[test]
fn provider_choice_comes_from_the_core_and_leads_to_the_next_screen() {
    let app = App::launch(&app_binary(), screenshots_dir("provider_choice"));
    assert_eq!(app.title(), "mailoauth");

    let buttons = app.wait_for("[data-testid=provider-list] button[data-provider-id]");
    let shown: Vec<(String, String)> = buttons
        .iter()
        .map(|b| {
            (
                app.attr(b, "data-provider-id").unwrap_or_default(),
                app.text(b),
            )
        })
        .collect();
    let expected = mailoauth::provider::catalog();
    assert_eq!(
        shown.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        expected.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        "the window lists the core's providers, in order"
    );
    for ((_, text), p) in shown.iter().zip(expected) {
        assert!(text.contains(&p.name), "button {text:?} names {:?}", p.name);
    }
    app.screenshot("01-provider");

    // The smallest window the app allows (900x650) holds the layout: nothing runs off the side.
    app.resize(900, 650);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let overflow = app.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    );
    assert_eq!(
        overflow.as_i64(),
        Some(0),
        "no horizontal scrolling at 900x650"
    );
    app.screenshot("01b-provider-900x650");

    // Keyboard only: the provider buttons take focus with a visible outline, and Enter chooses.
    let first = &app.wait_for("[data-testid=provider-list] button[data-provider-id]")[0];
    app.script(
        "document.querySelector('[data-testid=provider-list] button[data-provider-id]').focus();",
    );
    let outline = app.script(
        "const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth;",
    );
    let outline = outline.as_str().unwrap_or_default().to_string();
    assert!(
        !outline.starts_with("none") && !outline.ends_with(" 0px"),
        "the focused button shows a focus outline: {outline}"
    );
    let focused_id = app.attr(first, "data-provider-id").unwrap_or_default();
    app.type_text(first, "\u{E007}"); // Enter
    app.wait_for("[data-testid=purpose-step]");
    let crumb = app.text(&app.wait_for("[data-testid=purpose-step] .crumb")[0]);
    let chosen = mailoauth::provider::catalog()
        .iter()
        .find(|p| p.id == focused_id)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    assert_eq!(crumb, chosen, "Enter on the focused provider chose it");
    app.click(&app.wait_for("[data-testid=back]")[0]);

    click_provider(&app, "microsoft");
    app.wait_for("[data-testid=purpose-step]");
    let heading = app.wait_for("#purpose-title");
    assert_eq!(
        app.text(&heading[0]),
        "What will the service do with this mailbox?"
    );
    let crumb = app.wait_for("[data-testid=purpose-step] .crumb");
    assert_eq!(app.text(&crumb[0]), "Microsoft 365");
    assert!(
        app.find_all("[data-testid=provider-list]").is_empty(),
        "the provider list is gone once a provider is chosen"
    );
    app.screenshot("02-purpose");
}

/// The window follows the desktop's theme: a dark GTK theme gives the dark palette.
#[test]
fn a_dark_desktop_theme_gives_the_dark_palette() {
    let light = App::launch(&app_binary(), screenshots_dir("theme_light"));
    light.wait_for("[data-testid=provider-list] button[data-provider-id]");
    let background = |app: &App| {
        app.script("return getComputedStyle(document.documentElement).backgroundColor;")
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let light_bg = background(&light);
    drop(light);

    let dark = App::launch_with_env(
        &app_binary(),
        screenshots_dir("theme_dark"),
        &[("GTK_THEME", "Adwaita:dark")],
    );
    dark.wait_for("[data-testid=provider-list] button[data-provider-id]");
    let prefers_dark = dark.script("return matchMedia('(prefers-color-scheme: dark)').matches;");
    assert_eq!(
        prefers_dark.as_bool(),
        Some(true),
        "WebKit reports the dark theme"
    );
    let dark_bg = background(&dark);
    assert_eq!(dark_bg, "rgb(20, 23, 28)", "the dark palette's background");
    assert_ne!(light_bg, dark_bg, "the light theme has its own background");
    dark.screenshot("01-provider-dark");
}

#[test]
fn microsoft_checklist_details_and_troubleshooter_show_the_core_s_answers() {
    let app = App::launch(&app_binary(), screenshots_dir("microsoft_checklist"));
    click_provider(&app, "microsoft");

    // Purpose: receiving; the recommended flow comes pre-selected from the profile.
    let receive = app.wait_for("input[name=purpose][value=receive]");
    app.click(&receive[0]);
    app.wait_for("[data-flow=device_code] input");
    let chosen: Vec<String> = app
        .find_all("[data-flow]")
        .iter()
        .filter(|l| {
            app.attr(l, "class")
                .unwrap_or_default()
                .contains("selected")
        })
        .filter_map(|l| app.attr(l, "data-flow"))
        .collect();
    let recommended = mailoauth::provider::profile("microsoft")
        .and_then(|p| p.view(Cloud::Worldwide).ok())
        .map(|v| v.recommended_flow)
        .expect("microsoft profile");
    let recommended = serde_json::to_value(recommended).expect("flow as JSON");
    assert_eq!(
        chosen,
        [recommended.as_str().unwrap_or_default()],
        "exactly the recommended flow is pre-selected"
    );
    let device = app.wait_for("[data-flow=device_code] input");
    app.click(&device[0]);
    // The services offered are those the core says fit a Microsoft 365 mailbox that is read:
    // mbsync and SafeQ MPS, not msmtp (it sends).
    app.wait_for("[data-testid=consumer] input[value=safeq-mps]");
    let offered: Vec<String> = app
        .find_all("[data-testid=consumer] input")
        .iter()
        .filter_map(|i| app.attr(i, "value"))
        .filter(|v| !v.is_empty())
        .collect();
    let fitting: Vec<String> = mailoauth::export::formats_for("microsoft", Purpose::Receive)
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(offered, fitting, "the services offered are the core's");
    assert!(!offered.contains(&"msmtp".to_string()));
    app.screenshot("01-purpose-and-flow");

    let mut j = Journey::new(&app);
    j.screen("01b-purpose");
    app.click(&app.wait_for("[data-testid=continue]")[0]);
    app.wait_for("[data-testid=checklist-step] li[data-step-id]");

    // The mailbox and the tenant are asked first, on this screen: every step then shows them.
    let mailbox = "scanner@contoso.com";
    let tenant = "contoso.onmicrosoft.com";
    j.type_value("[data-testid=checklist-inputs] #field-mailbox", mailbox);
    j.type_value("[data-testid=checklist-inputs] #field-tenant", tenant);
    j.known.extend(["mailbox", "tenant"]);
    // One step at a time by default: all steps to compare with the core's list.
    click_testid(&app, "checklist-all");
    app.wait_for_text("[data-testid=checklist-step] li[data-step-id]", tenant);
    let ctx = ChecklistContext {
        flow: Some(Flow::DeviceCode),
        purpose: Some(Purpose::Receive),
        client_type: None,
        cloud: Cloud::Worldwide,
        project: None,
        tenant: Some(tenant.into()),
        client_id: None,
        mailbox: Some(mailbox.into()),
        sp_object_id: None,
        redirect_port: None,
    };
    let core = checklist("microsoft", &ctx).expect("core checklist");
    let expected: Vec<String> = core.steps.iter().map(|s| s.id.clone()).collect();
    // The mailbox commands are shown filled in, each with Copy.
    let enable_imap = core
        .steps
        .iter()
        .flat_map(|s| s.values.iter())
        .find(|v| v.value.starts_with("Set-CASMailbox"))
        .expect("the IMAP command")
        .value
        .clone();
    assert!(enable_imap.contains(mailbox), "{enable_imap}");
    let shown = app.wait_for_text("[data-testid=checklist-step] dd", &enable_imap);
    assert!(
        app.text(&shown).contains("Copy"),
        "the command has a Copy button: {}",
        app.text(&shown)
    );
    // Settings to pick (Yes) have none.
    let choice = app.wait_for("[data-testid=checklist-step] [data-kind=choice]");
    assert!(!choice.is_empty());
    let ids: Vec<String> = app
        .find_all("[data-testid=checklist-step] li[data-step-id]")
        .iter()
        .filter_map(|li| app.attr(li, "data-step-id"))
        .collect();
    assert_eq!(
        ids, expected,
        "the window shows the core's checklist, in order"
    );
    let first = app.wait_for("[data-testid=checklist-step] li[data-step-id] input[type=checkbox]");
    app.click(&first[0]);
    app.wait_for_text(
        "[data-testid=checklist-progress]",
        &format!("1 of {}", expected.len()),
    );
    j.screen("02-checklist");

    // One step at a time: it opens on the first step not ticked, and ticking moves on.
    let n = expected.len();
    click_testid(&app, "checklist-one");
    app.wait_for_text(
        "[data-testid=checklist-position]",
        &format!("Step 2 of {n}"),
    );
    let shown = app.find_all("[data-testid=checklist-step] li[data-step-id]");
    assert_eq!(shown.len(), 1, "one step on screen");
    assert_eq!(
        app.attr(&shown[0], "data-step-id"),
        Some(expected[1].clone())
    );
    app.click(
        &app.wait_for("[data-testid=checklist-step] li[data-step-id] input[type=checkbox]")[0],
    );
    app.wait_for_text(
        "[data-testid=checklist-position]",
        &format!("Step 3 of {n}"),
    );
    app.wait_for_text("[data-testid=checklist-progress]", &format!("2 of {n}"));
    j.screen("02b-checklist-one-at-a-time");
    click_testid(&app, "checklist-previous");
    app.wait_for_text(
        "[data-testid=checklist-position]",
        &format!("Step 2 of {n}"),
    );

    // Details: the mailbox and tenant typed before are there; a Secret ID pasted as the client
    // ID is caught as it is typed.
    app.click(&app.wait_for("[data-testid=continue]")[0]);
    let field = app.wait_for("#field-mailbox");
    assert_eq!(
        app.prop(&field[0], "value").as_deref(),
        Some(mailbox),
        "typed once"
    );
    let client_id = app.wait_for("#field-client_id");
    app.type_text(&client_id[0], "  \"not a guid\"  ");
    app.wait_for("[data-field=client_id] .finding");
    app.screenshot("03-details");

    // Import of the downloaded app manifest (pasted here; the file dialog is native): the client
    // ID is filled in and what the registration lacks for the device code flow is reported.
    // As downloaded from the portal, with a byte order mark; a paste carries none.
    let manifest = include_str!("../../src/validate/testdata/azure_classic_public_off.json")
        .trim_start_matches('\u{feff}');
    let app_id = serde_json::from_str::<serde_json::Value>(manifest).expect("manifest JSON")
        ["appId"]
        .as_str()
        .expect("appId")
        .to_string();
    app.click(&app.wait_for_text("[data-testid=import] button", "paste"));
    // Typed as one line: WebDriver would turn the file's tabs into focus moves.
    let one_line = serde_json::to_string(
        &serde_json::from_str::<serde_json::Value>(manifest).expect("manifest JSON"),
    )
    .expect("manifest as one line");
    app.type_text(&app.wait_for("#import-text")[0], &one_line);
    app.click(&app.wait_for_text("[data-testid=import] button", "Import pasted content"));
    let result = app.text(&app.wait_for_secs("[data-testid=import-result]", 10)[0]);
    assert!(
        result.contains("client ID"),
        "the import says what it filled: {result}"
    );
    let report = mailoauth::validate::validate_file(
        manifest,
        &mailoauth::validate::FileContext {
            provider: Some("microsoft".into()),
            flow: Some(Flow::DeviceCode),
            purpose: Some(Purpose::Receive),
            ..Default::default()
        },
    );
    let first_error = report
        .findings
        .iter()
        .find(|f| f.severity == mailoauth::validate::Severity::Error)
        .expect("the manifest has public client flows off");
    assert!(
        result.contains(&first_error.message),
        "the core's finding is shown: {result}"
    );
    let client_id = app.wait_for("#field-client_id");
    assert_eq!(
        app.prop(&client_id[0], "value").as_deref().map(str::trim),
        Some(app_id.as_str()),
        "the client ID field is filled from the manifest"
    );
    j.known.push("client_id");
    j.screen("03b-details-imported-manifest");
    // Mailbox and tenant typed once each; the client ID came with the manifest (the text typed
    // into the client ID field above was the check of a wrong value, not part of the journey).
    assert!(j.typed <= 3, "{} typed values", j.typed);

    // Back on the checklist, the client ID from the manifest is filled in too: no placeholder
    // is left for a value mailoauth knows.
    click_testid(&app, "back");
    click_testid(&app, "checklist-all");
    app.wait_for_text("[data-testid=checklist-step] li[data-step-id]", &app_id);
    j.screen("02c-checklist-filled-in");
    let left = app
        .script("return document.querySelector('[data-testid=checklist-step]').innerText;")
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !left.contains('<'),
        "every value of the device code checklist is known now:\n{left}"
    );

    // Troubleshooter: a pasted Entra error gets the catalog's diagnosis.
    app.click(&app.wait_for("[data-testid=open-troubleshoot]")[0]);
    let line = "Email to Print - Error: AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";
    app.type_text(&app.wait_for("#trouble-text")[0], line);
    app.click(&app.wait_for_text("[data-testid=troubleshoot] button", "Explain"));
    let expected_id = mailoauth::diagnosis::explain(line, &Default::default())
        .matches
        .first()
        .map(|m| m.diagnosis.id.clone())
        .expect("the catalog knows AADSTS7000218");
    app.wait_for(&format!("[data-diagnosis-id='{expected_id}']"));
    j.screen("04-troubleshoot");
}

#[path = "../common/mod.rs"]
mod common;

/// Waits for the SMTP and IMAP tests to end and asserts they passed; `what` names the moment.
fn assert_mail_tests_pass(app: &App, what: &str) {
    let summary = app.wait_for_secs(
        "[data-testid=test-summary], [data-testid=test-step] .fail",
        60,
    );
    let steps: Vec<String> = app
        .find_all("[data-testid=test-step]")
        .iter()
        .map(|s| app.text(s))
        .collect();
    assert_eq!(
        app.attr(&summary[0], "data-ok").as_deref(),
        Some("true"),
        "{what}; the screen says: {steps:?}"
    );
}

fn click_testid(app: &App, id: &str) {
    app.click(&app.wait_for(&format!("[data-testid={id}]"))[0]);
}

/// The whole journey in the sandbox, against the real local provider and mail servers: device
/// code (the test plays the user at the provider), identity and scope checks, then both mail
/// login tests.
#[test]
fn sandbox_device_code_journey_signs_in_and_passes_the_mail_tests() {
    let peers = common::peers::peers();
    let env_file = peers.own_env_file("sandbox_device_code");
    let app = App::launch_with_env(
        &app_binary(),
        screenshots_dir("sandbox_device_code"),
        &[("MAILOAUTH_SANDBOX", env_file.to_str().expect("utf-8 path"))],
    );
    app.wait_for("[data-testid=sandbox-badge]");
    // The main path is counted: every click and typed value of the admin, provider to Saved.
    // The two detours below (a wrong port, a file changed by someone else) are not part of it.
    let mut j = Journey::new(&app);
    app.wait_for("[data-testid=provider-list] button[data-provider-id=sandbox]");
    j.screen("00-provider");
    j.click("[data-testid=provider-list] button[data-provider-id=sandbox]");
    app.wait_for("[data-testid=purpose-step]");
    let preselected =
        app.script("return document.querySelector('input[name=purpose]:checked')?.value ?? null;");
    assert_eq!(
        preselected.as_str(),
        Some("send"),
        "a sensible purpose comes preselected"
    );
    // Continue says why it cannot go on until the flow list is loaded and one is chosen; with
    // the defaults it can.
    app.wait_for("[data-flow] input:checked");
    j.click("input[name=purpose][value=both]");
    j.click("[data-flow=device_code] input");
    j.screen("01-purpose");
    // The admin scrolled down to the last choices; the next screen still opens at its top.
    app.script("document.querySelector('main').scrollTop = 100000;");
    let scrolled = app.script("return document.querySelector('main').scrollTop;");
    assert!(
        scrolled.as_f64().unwrap_or_default() > 0.0,
        "the purpose screen scrolls"
    );
    j.click_testid("continue");
    app.wait_for("[data-testid=details-step] [data-server]");
    let top = app.script("return document.querySelector('main').scrollTop;");
    assert_eq!(top.as_f64(), Some(0.0), "the next screen opens at its top");
    // Nothing to register in the sandbox: the registration screen does not apply.
    app.wait_for("[data-testid=details-step]");
    let why = app.text(&app.wait_for("[data-testid=action-why]")[0]);
    assert_eq!(
        why, "Enter the mailbox address first.",
        "a disabled Continue says why"
    );
    assert_eq!(
        app.attr(&app.wait_for("[data-testid=continue]")[0], "disabled")
            .as_deref(),
        Some("true")
    );
    j.type_value("#field-mailbox", common::peers::ALICE.0);
    j.known.push("mailbox");
    j.screen("02-details");
    j.click_testid("continue");

    app.wait_for("[data-testid=authorize-step]");
    j.screen("03-sign-in");
    j.click_testid("start-sign-in");
    let link = app.wait_for("[data-testid=device-link]");
    let complete = app.attr(&link[0], "href").expect("the verification link");
    let code = app.text(&app.wait_for("[data-testid=device-code]")[0]);
    assert!(!code.is_empty(), "a code is shown");
    // The link shown is the complete one (the code filled in), and the screen says what happens.
    let open = app.text(&app.wait_for("[data-testid=device-open]")[0]);
    assert_eq!(open, complete, "the complete verification URI is the link");
    app.wait_for_text("[data-testid=sign-in-doing]", "Waiting for you to sign in");
    app.wait_for_text("[data-testid=countdown]", "Expires in");
    j.screen("04-device-code");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(common::browser::Browser::new().approve_device(&complete, common::peers::ALICE));
    // After the sign-in the wizard moves on by itself and runs the mail tests at once.
    app.wait_for_secs("[data-testid=test-step]", 60);
    let intro = app.text(&app.wait_for("[data-testid=test-step] .lead")[0]);
    assert!(
        intro.contains(common::peers::ALICE.0),
        "signed in as alice: {intro}"
    );
    assert_mail_tests_pass(&app, "the mail tests pass");
    app.wait_for("[data-protocol=smtp][data-ok=true]");
    app.wait_for("[data-protocol=imap][data-ok=true]");
    app.wait_for_text(
        "[data-testid=action-bar] [data-testid=continue]",
        "Continue",
    );
    j.screen("05-mail-tests");

    // Detour: a wrong port, IMAP pointed at the SMTP submission port (plain text, not TLS). The
    // failure shows its diagnosis beside the IMAP step; Continue is replaced by Try again.
    click_testid(&app, "back");
    click_testid(&app, "back");
    let sandbox = mailoauth::sandbox::Sandbox::load(&env_file).expect("sandbox file");
    // Security "none" to another machine is refused as it is chosen, by the core's rule (the
    // token would travel in clear); back to the default, the server is fine again.
    let host = app.wait_for("[data-testid=smtp-host]");
    app.clear(&host[0]);
    app.type_text(&host[0], "mail.example.com");
    app.script(
        "const s = document.querySelector('[data-testid=smtp-security]'); \
         s.value = 'none'; s.dispatchEvent(new Event('change', { bubbles: true }));",
    );
    let refused = app.wait_for("[data-testid=smtp-finding][data-code=cleartext_auth]");
    assert!(
        app.text(&refused[0]).contains("clear text")
            && app
                .attr(&refused[0], "class")
                .is_some_and(|c| c.contains("error")),
        "the refusal is an error that says why: {}",
        app.text(&refused[0])
    );
    app.screenshot("05b-cleartext-refused");
    app.click(&app.wait_for_text("[data-server=smtp] button", "Back to the default"));
    let port = app.wait_for("[data-testid=imap-port]");
    app.clear(&port[0]);
    app.type_text(&port[0], &sandbox.smtp.port.to_string());
    click_testid(&app, "continue");
    click_testid(&app, "continue");
    let failed = app.wait_for_secs(
        "[data-protocol=imap][data-ok=false] [data-diagnosis-id]",
        60,
    );
    let id = app
        .attr(&failed[0], "data-diagnosis-id")
        .unwrap_or_default();
    assert_eq!(
        id, "net-tls-mode-mismatch",
        "wrong security for the port is diagnosed"
    );
    app.wait_for("[data-testid=action-bar] [data-testid=run-tests]");
    assert!(
        app.find_all("[data-testid=action-bar] [data-testid=continue]")
            .is_empty(),
        "no Continue after a failed test"
    );
    app.wait_for_text("[data-testid=action-why]", "A test failed");
    app.screenshot("05a-wrong-port");
    click_testid(&app, "back");
    click_testid(&app, "back");
    app.click(&app.wait_for_text("[data-server=imap] button", "Back to the default"));
    click_testid(&app, "continue");
    click_testid(&app, "continue");
    assert_mail_tests_pass(&app, "the mail tests pass with the default port");

    // Save: a preview first, then the atomic write; the file reads back with the account.
    j.click_testid("continue");
    let path = app.text(&app.wait_for("[data-testid=config-path]")[0]);
    assert!(
        path.ends_with("mailoauth.toml"),
        "the sandbox writes its own file: {path}"
    );
    let preview = app.text(&app.wait_for("[data-testid=config-preview]")[0]);
    assert!(preview.contains("name = \"alice\""), "preview: {preview}");
    app.wait_for("[data-testid=save-config]:not([disabled])");
    j.screen("06-save");
    // Someone else writes the file between the preview and Save (another admin adds an
    // account): Save refuses and shows what saving would now change in the file on disk (alice
    // added, the other account kept), then a new preview is made from that file.
    let by_hand = preview.replace("name = \"alice\"", "name = \"frontdesk\"");
    std::fs::write(&path, &by_hand).expect("the other admin's file");
    j.click_testid("save-config");
    let diff = app.text(&app.wait_for("[data-testid=changed-diff]")[0]);
    assert!(
        diff.contains("+name = \"alice\"") && !diff.contains("-name"),
        "the diff adds alice and removes nothing: {diff}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("config text"),
        by_hand,
        "nothing was written over it"
    );
    app.screenshot("06a-changed-on-disk");
    click_testid(&app, "preview-again");
    app.wait_for_text("[data-testid=config-preview]", "frontdesk");
    click_testid(&app, "save-config");
    app.wait_for("[data-testid=saved]");
    // Saved: a clear end state, no form left to edit, the next step one click away.
    assert!(
        app.find_all("#account-name").is_empty(),
        "nothing editable after saving"
    );
    assert!(
        app.find_all("[data-testid=back]").is_empty(),
        "no Back after saving"
    );
    app.wait_for_text("[data-testid=done-home]", "Done: go to Mailboxes");
    let how = app.text(&app.wait_for("[data-testid=saved-how]")[0]);
    assert!(
        how.contains("fresh access token"),
        "one sentence on how the service uses it: {how}"
    );
    j.screen("07-saved");
    // The targets of a setup flow: provider to Saved in at most 8 clicks and 1 typed value.
    assert!(
        j.clicks <= 8 && j.typed <= 1,
        "provider to Saved took {} clicks and {} typed values",
        j.clicks,
        j.typed
    );
    eprintln!(
        "sandbox device code, provider to Saved: {} clicks, {} typed value(s)",
        j.clicks, j.typed
    );
    let doc = mailoauth::config::load(std::path::Path::new(&path)).expect("the saved config loads");
    let account = doc
        .config
        .account("alice")
        .expect("the account is in the file");
    assert_eq!(account.mailbox, common::peers::ALICE.0);
    assert!(
        doc.config.account("frontdesk").is_some(),
        "the other admin's account stays"
    );
    let text = std::fs::read_to_string(&path).expect("config text");
    assert!(!text.contains("alice-pw"), "no secret in the config");
    let command = app.text(&app.wait_for("[data-testid=token-command]")[0]);
    assert_eq!(command, format!("mailoauth token --config {path} alice"));

    // The consumer side reads what the wizard saved and gets a token the way the service will.
    let token = rt
        .block_on(mailoauth::account::token(
            &doc,
            "alice",
            mailoauth::oauth::unix_now(),
            &|_| {},
        ))
        .expect("the saved account yields an access token");
    assert!(!token.expose().is_empty());

    // Done leads to Mailboxes, where the wizard's passing tests already count as a success,
    // with the provider's name.
    click_testid(&app, "done-home");
    let card = "[data-testid=home] [data-account=alice]";
    app.wait_for("[data-testid=home] [data-account=alice][data-state=ok]");
    let provider = app.text(&app.wait_for(&format!("{card} [data-testid=provider-name]"))[0]);
    assert_eq!(
        provider, "Local test server (sandbox)",
        "the provider's name, not its profile id"
    );
    j.screen("08-home");
    // Re-authorize it with the saved settings, then test it, all from its card.
    // Every action goes through alice's own card (another saved account may come first).
    app.click(&app.wait_for(&format!("{card} [data-testid=reauthorize]"))[0]);
    click_testid(&app, "start-sign-in");
    let link = app.wait_for("[data-testid=device-link]");
    let complete = app.attr(&link[0], "href").expect("the verification link");
    rt.block_on(common::browser::Browser::new().approve_device(&complete, common::peers::ALICE));
    app.wait_for_secs("[data-testid=signed-in]", 60);
    app.screenshot("09-reauthorized");
    // The new sign-in is proven at once: the login tests run by themselves.
    assert_mail_tests_pass(&app, "the re-authorized account tests OK");
    app.screenshot("10-home-test");

    // Start over, after a confirmation: tokens and history are gone, the settings stay.
    app.click(&app.wait_for(&format!("{card} [data-testid=start-over]"))[0]);
    app.wait_for(&format!("{card} [data-testid=start-over-confirm]"));
    app.screenshot("11-start-over-confirm");
    app.click(&app.wait_for(&format!("{card} [data-testid=start-over-yes]"))[0]);
    app.wait_for("[data-testid=home] [data-account=alice][data-state=unused]");
    let doc = mailoauth::config::load(std::path::Path::new(&path)).expect("config still loads");
    assert!(doc.config.account("alice").is_some(), "the settings stay");
    let gone = rt.block_on(mailoauth::account::token(
        &doc,
        "alice",
        mailoauth::oauth::unix_now(),
        &|_| {},
    ));
    assert!(gone.is_err(), "no token after starting over");
}

/// Plays the admin's browser for a loopback sign-in: opens the URL the app shows, signs in at
/// the provider as `user` and follows the redirect to the app's listener.
fn play_browser(rt: &tokio::runtime::Runtime, url: &str, user: (&str, &str)) {
    use url::Url;
    let url = Url::parse(url.trim()).expect("the sign-in URL shown");
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri in the sign-in URL");
    rt.block_on(async {
        let b = common::browser::Browser::new();
        let is_app = |u: &Url| u.as_str().starts_with(&redirect);
        let (interaction, page) = b.follow(url.clone(), is_app).await;
        assert!(
            page.contains("password"),
            "the provider's login form: {page}"
        );
        let (landing, _) = b.login(&interaction, user, is_app).await;
        let page = reqwest::get(landing)
            .await
            .expect("the app's listener answers")
            .text()
            .await
            .unwrap_or_default();
        assert!(page.contains("Signed in"), "the listener's page: {page}");
    });
}

/// A Google-style setup in the sandbox: a confidential client (client secret typed in the
/// wizard), the loopback redirect with the test playing the browser, the mail tests, save. Then
/// the grant is revoked at the provider, the service's next refresh fails, and the home screen
/// says the account needs a new sign-in and why; one re-authorization fixes it.
#[test]
fn sandbox_loopback_journey_with_a_client_secret_then_a_revoked_grant_is_reauthorized() {
    let peers = common::peers::peers();
    let env_file = peers.own_env_file("sandbox_loopback");
    let envs = [
        ("MAILOAUTH_SANDBOX", env_file.to_str().expect("utf-8 path")),
        // No real browser: the test plays it from the link the app shows.
        ("BROWSER", "true"),
        // This journey runs in the dark theme, for its screenshots.
        ("GTK_THEME", "Adwaita:dark"),
    ];
    let app = App::launch_with_env(&app_binary(), screenshots_dir("sandbox_loopback"), &envs);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (secret_client, secret) = mailoauth::sandbox::Sandbox::CONFIDENTIAL_CLIENT;
    app.wait_for("[data-testid=sandbox-badge]");
    let mut j = Journey::new(&app);
    click_provider(&app, "sandbox");
    app.click(&app.wait_for("input[name=purpose][value=both]")[0]);
    app.click(&app.wait_for("[data-flow=loopback] input")[0]);
    // The service is msmtp: the save screen will show its entry without being asked again.
    app.click(&app.wait_for("[data-testid=consumer] input[value=msmtp]")[0]);
    j.screen("00-purpose-with-consumer");
    click_testid(&app, "continue");
    app.type_text(&app.wait_for("#field-mailbox")[0], common::peers::BOB.0);
    app.type_text(&app.wait_for("#field-client_secret")[0], secret);
    j.known.push("mailbox");
    j.screen("01-details-with-secret");
    let field = app.wait_for("#field-client_secret");
    assert_eq!(
        app.attr(&field[0], "type").as_deref(),
        Some("password"),
        "the secret is masked"
    );
    click_testid(&app, "continue");

    click_testid(&app, "start-sign-in");
    let url = app.text(&app.wait_for_secs("[data-testid=sign-in-url]", 30)[0]);
    assert!(
        url.contains(&format!("client_id={secret_client}")),
        "the confidential client signs in: {url}"
    );
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("login_hint=bob"),
        "PKCE and the mailbox as login hint: {url}"
    );
    // Where no browser can be started here, the screen says so in words, not the launcher's.
    for problem in app.find_all("[data-testid=browser-problem]") {
        let text = app.text(&problem);
        assert!(
            text.contains("no web browser could be started") && !text.contains("ExitStatus"),
            "{text}"
        );
    }
    app.wait_for_text("[data-testid=sign-in-doing]", "Waiting for you");
    j.screen("02-waiting-for-browser");
    play_browser(&rt, &url, common::peers::BOB);
    // Signed in: on to the mail tests by itself, which run at once.
    app.wait_for_secs("[data-testid=test-step]", 60);
    let intro = app.text(&app.wait_for("[data-testid=test-step] .lead")[0]);
    assert!(
        intro.contains(common::peers::BOB.0),
        "signed in as bob: {intro}"
    );
    assert_mail_tests_pass(&app, "the mail tests pass");
    j.screen("03-mail-tests");
    click_testid(&app, "continue");
    let path = app.text(&app.wait_for("[data-testid=config-path]")[0]);
    // The consumer's own format, previewed from the same account (msmtp calls mailoauth token).
    let exported = app.text(&app.wait_for_secs("[data-testid=export-preview]", 10)[0]);
    assert!(
        exported.contains("passwordeval") && exported.contains("token"),
        "the msmtp account asks mailoauth for the token: {exported}"
    );
    assert!(!exported.contains(secret), "no secret in the export");
    let command = app.text(&app.wait_for("[data-testid=export-command]")[0]);
    assert_eq!(
        command,
        format!("mailoauth export --config {path} msmtp bob"),
        "the export command names the sandbox's file"
    );
    let chosen = app.attr(
        &app.wait_for("[data-testid=export-format]")[0],
        "data-format",
    );
    assert_eq!(
        chosen.as_deref(),
        Some("msmtp"),
        "the consumer chosen with the purpose is the one shown, not asked again"
    );
    j.screen("04-save-with-export");
    click_testid(&app, "save-config");
    app.wait_for("[data-testid=saved]");
    // The saved screen keeps the consumer's entry in view.
    app.wait_for("[data-testid=saved] [data-testid=export-preview]");
    j.screen("05-saved-with-export");
    let text = std::fs::read_to_string(&path).expect("config text");
    assert!(
        !text.contains(secret),
        "no client secret in the config:\n{text}"
    );
    assert!(
        text.contains("client_secret = \"file:"),
        "the config names where the secret is:\n{text}"
    );

    // The grant is revoked at the provider (an admin removed the app's access, a password
    // reset): the service's next refresh fails and records why.
    let doc = mailoauth::config::load(std::path::Path::new(&path)).expect("config loads");
    let account = doc.config.account("bob").expect("bob").clone();
    let store = account
        .token_store(std::path::Path::new(&path))
        .expect("token store");
    let key = common::peers::BOB.0;
    let mut tokens = store.load(key).expect("load").expect("tokens stored");
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    rt.block_on(async {
        let revoked = reqwest::Client::new()
            .post(format!("{}/token/revocation", peers.issuer()))
            .form(&[
                ("token", refresh.expose().as_str()),
                ("token_type_hint", "refresh_token"),
                ("client_id", secret_client),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("revocation request");
        assert!(
            revoked.status().is_success(),
            "revoked: {}",
            revoked.status()
        );
    });
    tokens.expires_at = Some(1);
    store.save(key, &tokens).expect("expire the access token");
    let failed = rt.block_on(mailoauth::account::token(
        &doc,
        "bob",
        mailoauth::oauth::unix_now(),
        &|_| {},
    ));
    assert!(failed.is_err(), "a revoked grant cannot be refreshed");

    // The admin comes back later: the wizard opens on the home screen, which says so with the
    // reason, and one action signs in again with the saved settings.
    drop(app);
    let app = App::launch_with_env(&app_binary(), screenshots_dir("sandbox_loopback"), &envs);
    let card = "[data-testid=home] [data-account=bob][data-state=needs_reauthorization]";
    let shown = app.text(&app.wait_for_secs(card, 30)[0]);
    assert!(
        app.find_all("[data-testid=provider-list]").is_empty(),
        "the first screen is the home screen"
    );
    assert!(
        shown.contains("invalid_grant") || shown.to_lowercase().contains("sign"),
        "the card says why: {shown}"
    );
    app.screenshot("06-home-needs-reauthorization");
    app.click(&app.wait_for("[data-account=bob] [data-testid=reauthorize]")[0]);
    click_testid(&app, "start-sign-in");
    let url = app.text(&app.wait_for_secs("[data-testid=sign-in-url]", 30)[0]);
    play_browser(&rt, &url, common::peers::BOB);
    app.wait_for_secs("[data-testid=signed-in]", 60);
    assert_mail_tests_pass(&app, "the re-authorized account tests OK");
    // The card's badge follows: the status file now records the new success.
    app.wait_for_secs("[data-testid=home] [data-account=bob][data-state=ok]", 20);
    app.screenshot("07-reauthorized");
    let doc = mailoauth::config::load(std::path::Path::new(&path)).expect("config loads");
    let fresh = rt.block_on(mailoauth::account::token(
        &doc,
        "bob",
        mailoauth::oauth::unix_now(),
        &|_| {},
    ));
    assert!(
        fresh.is_ok(),
        "the service gets tokens again: {:?}",
        fresh.err()
    );
}

/// A sign-in that cannot reach the provider (here: nothing listens at the sandbox provider's
/// address) leads with the diagnosis, keeps the raw error under Details, and offers Retry in
/// the footer.
#[test]
fn a_sign_in_that_cannot_reach_the_provider_leads_with_the_diagnosis_and_offers_retry() {
    let peers = common::peers::peers();
    let env_file = peers.own_env_file("sandbox_unreachable");
    // A loopback port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let text = std::fs::read_to_string(&env_file).expect("env file");
    let text: String = text
        .lines()
        .map(|l| match l.split_once('=') {
            Some(("OP_ISSUER", _)) => format!("OP_ISSUER=http://127.0.0.1:{closed}\n"),
            Some(("OP_PORT", _)) => format!("OP_PORT={closed}\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&env_file, text).expect("env file without a provider");
    let app = App::launch_with_env(
        &app_binary(),
        screenshots_dir("sandbox_unreachable"),
        &[("MAILOAUTH_SANDBOX", env_file.to_str().expect("utf-8 path"))],
    );
    app.wait_for("[data-testid=sandbox-badge]");
    click_provider(&app, "sandbox");
    app.click(&app.wait_for("[data-flow=device_code] input")[0]);
    click_testid(&app, "continue");
    app.type_text(&app.wait_for("#field-mailbox")[0], common::peers::ALICE.0);
    click_testid(&app, "continue");
    click_testid(&app, "start-sign-in");
    let failed = app.wait_for_secs("[data-testid=sign-in-failed]", 60);
    // The headline is the diagnosis (its title), not the raw error chain.
    let first = app.script(
        "const f = document.querySelector('[data-testid=sign-in-failed]'); \
         const c = f.firstElementChild; return [c.className, c.getAttribute('data-diagnosis-id')];",
    );
    let first = first.as_array().cloned().unwrap_or_default();
    assert!(
        first
            .first()
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .contains("diag")
            && first.get(1).and_then(|v| v.as_str()).is_some(),
        "the failure starts with a diagnosis: {first:?}"
    );
    // The diagnosis and the code are the core's (IpcError), not found again from the message:
    // nobody answering at the provider's address is a network error, to try again unchanged.
    let next = app.wait_for("[data-testid=sign-in-next]");
    assert_eq!(app.attr(&next[0], "data-code").as_deref(), Some("network"));
    assert!(app.text(&next[0]).contains("try again"));
    let folded = app.script(
        "const d = document.querySelector('[data-testid=sign-in-error]').closest('details'); \
         return d !== null && !d.open;",
    );
    assert_eq!(
        folded.as_bool(),
        Some(true),
        "the raw error is folded under Details"
    );
    let shown = app.text(&failed[0]);
    assert!(shown.contains("Details"), "{shown}");
    let retry = app.wait_for("[data-testid=action-bar] [data-testid=start-sign-in]");
    assert_eq!(app.text(&retry[0]), "Retry");
    app.wait_for_text("[data-testid=action-why]", "did not work");
    app.screenshot("01-sign-in-unreachable");
    app.resize(900, 650);
    app.screenshot("01-sign-in-unreachable-900x650");
}

/// An OS user made for one test with `useradd`, removed on drop.
struct TestUser(String);

impl TestUser {
    fn new(prefix: &str) -> TestUser {
        let name = format!("{prefix}{}", std::process::id());
        let _ = std::process::Command::new("userdel").arg(&name).output();
        let out = std::process::Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", &name])
            .output()
            .expect("useradd");
        assert!(
            out.status.success(),
            "useradd {name} (the test runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestUser(name)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("userdel").arg(&self.0).output();
    }
}

/// `mailoauth service run` in the foreground (non-root mode: its own state folder and socket),
/// stopped on drop.
struct ForegroundService(std::process::Child);

impl ForegroundService {
    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child, not reaped yet.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        for _ in 0..1200 {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.0.kill();
        panic!("the service did not stop within 120 s");
    }
}

impl Drop for ForegroundService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when the service on `socket` answers `hello`.
fn service_answers(rt: &tokio::runtime::Runtime, socket: &std::path::Path) -> bool {
    matches!(
        rt.block_on(mailoauth::service::client::ask(
            socket,
            &mailoauth::service::protocol::Request::Hello,
            std::time::Duration::from_secs(2),
        )),
        Ok(Ok(_))
    )
}

/// `mailoauth token alice` run as `user` (runuser), through the service on `socket`.
fn token_as(cli: &std::path::Path, user: &str, socket: &std::path::Path) -> String {
    let out = std::process::Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(cli)
        .args(["token", "-v", "--socket"])
        .arg(socket)
        .arg("alice")
        .env_remove("MAILOAUTH_CONFIG")
        .env_remove("MAILOAUTH_LOG_DIR")
        .output()
        .expect("runuser mailoauth token");
    assert!(
        out.status.success(),
        "mailoauth token as {user}: {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("answered by the mailoauth service"),
        "the service answered: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The wizard's journey for a mail service that runs as another OS account: the purpose screen
/// names that account (checked on this machine as typed), the sign-in screen asks the token
/// service first, the save hands the tokens to the service (running as root, in the
/// foreground), and `mailoauth token` run as that account gets the token from it; the home
/// screen shows the service and its times, a re-authorization hands new tokens to it, and a
/// stopped service is said in words with the command to start it.
#[test]
fn sandbox_journey_for_the_token_service_hands_the_tokens_to_it_and_its_reader_gets_them() {
    let cli = app_binary().with_file_name("mailoauth");
    assert!(
        cli.exists(),
        "{} is built with the core's tests (cargo build -p mailoauth)",
        cli.display()
    );
    let peers = common::peers::peers();
    let env_file = peers.own_env_file("sandbox_service");
    let sandbox = mailoauth::sandbox::Sandbox::load(&env_file).expect("sandbox file");
    let config = sandbox.config_path();
    std::fs::write(&config, "version = 1\n").expect("an empty config for the service");
    let reader = TestUser::new("mosvc");
    // The service's folder: traversable by the reader, writable by root only.
    let dir = std::env::temp_dir().join(format!("mailoauth-guisvc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).expect("service folder");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.join("run").join("mailoauth.sock");
    let mut service = ForegroundService(
        std::process::Command::new(&cli)
            .args(["service", "run", "--config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--socket")
            .arg(&socket)
            .env("MAILOAUTH_LOG_DIR", dir.join("logs"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("service.err")).unwrap())
            .spawn()
            .expect("mailoauth service run"),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut up = false;
    for _ in 0..600 {
        if service_answers(&rt, &socket) {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        up,
        "the service answers: {}",
        std::fs::read_to_string(dir.join("service.err")).unwrap_or_default()
    );

    // The elevation prompt's stand-in (the app reads MAILOAUTH_ELEVATE_PROGRAM in debug builds
    // only): it gets pkexec's argv and answers with pkexec's statuses. No real pkexec, polkit
    // agent, macOS dialog or UAC prompt runs here (CI runs as root, with no agent to answer).
    // It records its argv; the first time it plays a closed prompt (126), then it runs the
    // install it was given, staged (no systemd here), and starts the service as systemd would.
    let stand_in = dir.join("elevate-stand-in.sh");
    let q = |p: &std::path::Path| format!("'{}'", p.display());
    std::fs::write(
        &stand_in,
        format!(
            r#"#!/bin/sh
printf '%s\n' "$@" > {argv}
if [ ! -e {once} ]; then
  : > {once}
  echo "Error executing command as another user: Request dismissed" >&2
  exit 126
fi
"$@" --root {stage} --for linux || exit $?
"$1" service run --config {config} --state-dir {state} --socket {socket} </dev/null >/dev/null 2>{err} &
echo $! > {pid}
"#,
            argv = q(&dir.join("elevate-argv")),
            once = q(&dir.join("elevate-cancelled-once")),
            stage = q(&dir.join("stage")),
            config = q(&config),
            state = q(&dir.join("state")),
            socket = q(&socket),
            err = q(&dir.join("service-2.err")),
            pid = q(&dir.join("service-2.pid")),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = App::launch_with_env(
        &app_binary(),
        screenshots_dir("sandbox_service"),
        &[
            ("MAILOAUTH_SANDBOX", env_file.to_str().expect("utf-8 path")),
            (
                "MAILOAUTH_SERVICE_SOCKET",
                socket.to_str().expect("utf-8 path"),
            ),
            (
                "MAILOAUTH_ELEVATE_PROGRAM",
                stand_in.to_str().expect("utf-8 path"),
            ),
        ],
    );
    app.wait_for("[data-testid=sandbox-badge]");
    click_provider(&app, "sandbox");
    app.wait_for("[data-flow] input:checked");
    click_testid(&app, "readers");
    // A user that does not exist here is named with the fix, and Continue says why it waits.
    let field = app.wait_for("[data-testid=readers]");
    app.type_text(&field[0], "nosuchuser-mailoauth");
    let problem = app.wait_for_text("[data-testid=readers-problem]", "no user");
    assert!(
        app.text(&problem)
            .starts_with("OS account that runs the mail service"),
        "the message names the field: {}",
        app.text(&problem)
    );
    app.wait_for_text("[data-testid=action-why]", "no user");
    app.screenshot("01-reader-unknown");
    app.clear(&field[0]);
    app.type_text(&field[0], &reader.0);
    app.wait_for_text("[data-testid=readers-hint]", &reader.0);
    app.click(&app.wait_for("[data-flow=device_code] input")[0]);
    app.screenshot("02-purpose-reader");
    click_testid(&app, "continue");
    app.type_text(&app.wait_for("#field-mailbox")[0], common::peers::ALICE.0);
    click_testid(&app, "continue");
    // The sign-in screen asked the service before anything starts.
    app.wait_for("[data-testid=authorize-step]");
    app.wait_for_secs("[data-testid=service-check][data-phase=ready]", 30);
    app.screenshot("03-sign-in-service-ready");
    click_testid(&app, "start-sign-in");
    let link = app.wait_for("[data-testid=device-link]");
    let complete = app.attr(&link[0], "href").expect("the verification link");
    rt.block_on(common::browser::Browser::new().approve_device(&complete, common::peers::ALICE));
    app.wait_for_secs("[data-testid=test-step]", 60);
    assert_mail_tests_pass(&app, "the mail tests pass with the sign-in's tokens");
    click_testid(&app, "continue");
    app.wait_for("[data-testid=save-config]:not([disabled])");
    let preview = app.text(&app.wait_for("[data-testid=config-preview]")[0]);
    assert!(
        preview.contains("token_store = \"service\"") && preview.contains(&reader.0),
        "the preview holds the service and the reader: {preview}"
    );
    click_testid(&app, "save-config");
    app.wait_for_secs("[data-testid=saved]", 30);
    app.screenshot("04-saved");

    let doc = mailoauth::config::load(&config).expect("the saved config loads");
    let account = doc.config.account("alice").expect("alice is saved");
    assert_eq!(account.token_store, mailoauth::config::StoreSpec::Service);
    assert_eq!(account.readers, vec![reader.0.clone()]);
    // The reader gets the token from the service; nothing was kept in the sandbox's own store.
    let first = token_as(&cli, &reader.0, &socket);
    assert!(!first.is_empty(), "a token for the reader");
    assert!(
        std::fs::read_dir(sandbox.dir.join("mailoauth-tokens"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no tokens in the sandbox's own folder"
    );

    // The home screen shows the service running and the account's times from it.
    click_testid(&app, "done-home");
    app.wait_for("[data-testid=service-panel][data-running=true]");
    let card = "[data-testid=home] [data-account=alice]";
    app.wait_for(&format!("{card}[data-state=ok]"));
    let times = app.text(&app.wait_for(&format!("{card} [data-testid=service-times]"))[0]);
    assert!(
        times.starts_with("Token service: last refresh") && !times.contains("next refresh —"),
        "the service's times: {times}"
    );
    let panel = app.text(&app.wait_for("[data-testid=service-text]")[0]);
    assert!(
        panel.contains("running") && panel.contains("alice"),
        "{panel}"
    );
    app.resize(1000, 720);
    // docs/screenshots/home-token-service.png is this screenshot.
    app.screenshot("05-home-service");

    // Re-authorize from the home screen: the new tokens go to the service.
    app.click(&app.wait_for(&format!("{card} [data-testid=reauthorize]"))[0]);
    click_testid(&app, "start-sign-in");
    let link = app.wait_for("[data-testid=device-link]");
    let complete = app.attr(&link[0], "href").expect("the verification link");
    rt.block_on(common::browser::Browser::new().approve_device(&complete, common::peers::ALICE));
    app.wait_for_secs("[data-testid=signed-in]", 60);
    assert_mail_tests_pass(
        &app,
        "the re-authorized account tests OK with the service's token",
    );
    let second = token_as(&cli, &reader.0, &socket);
    assert_ne!(
        first, second,
        "the service hands out the new sign-in's token"
    );

    let notes = app.text(&app.wait_for(&format!("{card} .notes"))[0]);
    assert!(
        notes.contains("given to the mailoauth service"),
        "the sign-in says where the tokens went: {notes}"
    );
    app.click(&app.wait_for_text(&format!("{card} .panel > button"), "Close"));

    // The service stops: the home screen says so in words, with the command to start it.
    service.stop();
    click_testid(&app, "open-home");
    app.wait_for("[data-testid=service-panel][data-running=false]");
    let panel = app.text(&app.wait_for("[data-testid=service-text]")[0]);
    assert!(
        panel.contains("not running") && panel.contains("alice"),
        "{panel}"
    );
    let command = app.text(&app.wait_for("[data-testid=service-command]")[0]);
    assert_eq!(command, "sudo mailoauth service install");
    // The words before the prompt, and the install as the panel's primary action.
    let words = app.text(&app.wait_for("[data-testid=install-words]")[0]);
    assert!(words.contains("administrator's password once"), "{words}");
    let button =
        app.wait_for("[data-testid=service-panel] button.primary[data-testid=install-service]");
    assert_eq!(app.text(&button[0]), "Install and start the service");
    assert_eq!(
        app.find_all("[data-testid=home] button.primary").len(),
        1,
        "the install is the screen's one primary action while alice waits for the service"
    );
    {
        let j = Journey::new(&app);
        j.assert_in_view("[data-testid=install-service]");
    }
    // docs/screenshots/home-token-service-stopped.png is this screenshot.
    app.screenshot("06-home-service-stopped");

    // The admin closes the prompt: a plain message, the command stays, nothing is installed.
    app.click(&button[0]);
    let said = app.wait_for_text("[data-testid=install-outcome]", "nothing was installed");
    assert!(app.text(&said).contains("Try again"), "{}", app.text(&said));
    app.wait_for_text(
        "[data-testid=service-command]",
        "sudo mailoauth service install",
    );
    assert!(!service_answers(&rt, &socket), "nothing started");
    app.screenshot("06b-home-install-cancelled");

    // Again, and the prompt is answered: the CLI beside the app runs `service install` (as
    // root here, so no --manager: root manages already), and the panel moves on by itself.
    app.click(&app.wait_for("[data-testid=install-service]")[0]);
    app.wait_for_secs("[data-testid=service-panel][data-running=true]", 60);
    let argv: Vec<String> = std::fs::read_to_string(dir.join("elevate-argv"))
        .expect("the stand-in ran")
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        argv,
        vec![
            cli.canonicalize().unwrap().display().to_string(),
            "service".into(),
            "install".into()
        ],
        "pkexec's argv: the CLI beside the app, then `service install`"
    );
    assert!(dir
        .join("stage/etc/systemd/system/mailoauth.service")
        .is_file());
    let panel = app.text(&app.wait_for("[data-testid=service-text]")[0]);
    assert!(
        panel.contains("running") && panel.contains("alice"),
        "{panel}"
    );
    assert!(app.find_all("[data-testid=install-service]").is_empty());
    app.screenshot("06c-home-installed-running");
    let restarted = std::fs::read_to_string(dir.join("service-2.pid"))
        .expect("the stand-in started the service")
        .trim()
        .parse::<i32>()
        .unwrap();
    // SAFETY: kill(2) on the service the stand-in started for this test.
    unsafe { libc::kill(restarted, libc::SIGTERM) };
    for _ in 0..1200 {
        if !service_answers(&rt, &socket) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    click_testid(&app, "open-home");
    app.wait_for("[data-testid=service-panel][data-running=false]");

    // A new setup for the stopped service: the sign-in screen says so before anything starts,
    // and a sign-in started anyway stops at once with the reason (no code, no browser).
    click_provider(&app, "sandbox");
    app.wait_for("[data-flow] input:checked");
    app.type_text(&app.wait_for("[data-testid=readers]")[0], &reader.0);
    app.wait_for_text("[data-testid=readers-hint]", &reader.0);
    app.click(&app.wait_for("[data-flow=device_code] input")[0]);
    click_testid(&app, "continue");
    app.type_text(&app.wait_for("#field-mailbox")[0], "bob@example.test");
    click_testid(&app, "continue");
    let check = app.wait_for_secs("[data-testid=service-check][data-phase=not-ready]", 30);
    assert!(
        app.text(&check[0]).contains("not running"),
        "{}",
        app.text(&check[0])
    );
    app.wait_for_text(
        "[data-testid=service-check] [data-testid=service-command]",
        "sudo mailoauth service install",
    );
    app.screenshot("07-sign-in-service-stopped");
    click_testid(&app, "start-sign-in");
    let failed = app.wait_for_text("[data-testid=sign-in-failed]", "not running");
    assert!(
        app.find_all("[data-testid=device-code]").is_empty(),
        "no sign-in started: {}",
        app.text(&failed)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
