//! GUI end-to-end tests: the built app in a real window (Xvfb), driven through tauri-driver and
//! WebKitWebDriver. Each screen visited is saved as a PNG under `target/screenshots/`.

mod webdriver;

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

#[test]
fn provider_choice_comes_from_the_core_and_leads_to_the_next_screen() {
    let app = App::launch(&app_binary(), screenshots_dir("provider_choice"));
    assert_eq!(app.title(), "mailoauth");

    let buttons = app.wait_for("[data-testid=provider-list] button[data-provider-id]");
    let shown: Vec<(String, String)> = buttons
        .iter()
        .map(|b| {
            let id = app.attr(b, "data-provider-id").unwrap_or_default();
            let text = app.text(b);
            (id, text)
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

    let microsoft = buttons
        .iter()
        .zip(&shown)
        .find(|(_, (id, _))| id == "microsoft")
        .map(|(b, _)| b.clone())
        .expect("a Microsoft 365 button");
    app.click(&microsoft);
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
