//! The capability file grants exactly the commands the UI calls, and every command the app
//! registers is one the UI calls: a new command without its permission, or a permission left
//! behind after a command was removed, fails here. Of the plugins, the window gets the opener's
//! `open_url` for https links (what `openLink` in the IPC module calls) and nothing else: no
//! shell command, no other scheme, no path.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Command names the UI invokes: every `call<...>('name'` in the IPC module.
fn ui_calls() -> BTreeSet<String> {
    let src =
        std::fs::read_to_string(root().join("../ui/src/lib/ipc/index.ts")).expect("ipc/index.ts");
    let mut names = BTreeSet::new();
    for part in src.split("call<").skip(1) {
        if let Some(rest) = part.split_once(">('").map(|(_, r)| r) {
            if let Some((name, _)) = rest.split_once('\'') {
                names.insert(name.to_string());
            }
        }
    }
    names
}

fn capability() -> serde_json::Value {
    let text =
        std::fs::read_to_string(root().join("capabilities/default.json")).expect("capability");
    serde_json::from_str(&text).expect("capability JSON")
}

/// Commands granted by the capability file (`allow-<command>` with dashes).
fn granted() -> BTreeSet<String> {
    capability()["permissions"]
        .as_array()
        .expect("permissions list")
        .iter()
        .filter_map(|p| p.as_str())
        .map(|p| {
            p.strip_prefix("allow-")
                .unwrap_or_else(|| panic!("only app command permissions are granted, found {p:?}"))
                .replace('-', "_")
        })
        .collect()
}

/// Plugin permissions granted (written as objects, with their scope).
fn plugin_grants() -> Vec<serde_json::Value> {
    capability()["permissions"]
        .as_array()
        .expect("permissions list")
        .iter()
        .filter(|p| !p.is_string())
        .cloned()
        .collect()
}

/// Commands declared in build.rs (each gets a permission).
fn declared() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("build.rs")).expect("build.rs");
    let list = text
        .split_once(".commands(&[")
        .and_then(|(_, r)| r.split_once("])"))
        .map(|(l, _)| l)
        .expect("a commands list in build.rs");
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Commands registered with the invoke handler in lib.rs.
fn registered() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("src/lib.rs")).expect("lib.rs");
    let list = text
        .split_once("generate_handler![")
        .and_then(|(_, r)| r.split_once(']'))
        .map(|(l, _)| l)
        .expect("generate_handler! in lib.rs");
    list.split(',')
        .map(|s| s.trim().rsplit("::").next().unwrap_or_default().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn capabilities_grant_exactly_what_the_ui_calls() {
    let calls = ui_calls();
    assert!(
        !calls.is_empty(),
        "found no call<...>('...') in ui/src/lib/ipc/index.ts"
    );
    assert_eq!(
        granted(),
        calls,
        "capabilities/default.json vs the UI's calls"
    );
    assert_eq!(declared(), calls, "build.rs commands vs the UI's calls");
    assert_eq!(
        registered(),
        calls,
        "lib.rs generate_handler! vs the UI's calls"
    );
}

#[test]
fn the_window_may_open_https_links_and_nothing_else_of_the_plugins() {
    assert_eq!(
        plugin_grants(),
        vec![serde_json::json!({
            "identifier": "opener:allow-open-url",
            "allow": [{ "url": "https://*" }]
        })],
        "plugin permissions in capabilities/default.json"
    );
    let text = std::fs::read_to_string(root().join("capabilities/default.json")).unwrap();
    assert!(
        !text.contains("shell:"),
        "the window is granted no shell command"
    );
    // The IPC module is where the UI opens links: through the opener's openUrl only.
    let ipc =
        std::fs::read_to_string(root().join("../ui/src/lib/ipc/index.ts")).expect("ipc/index.ts");
    assert!(
        ipc.contains("import { openUrl } from '@tauri-apps/plugin-opener';"),
        "ipc/index.ts opens links with the opener plugin's openUrl"
    );
    assert!(
        !ipc.contains("plugin-shell"),
        "the UI does not use the shell plugin"
    );
}

/// The token service's elevated install is started from Rust only, by the one command that asks
/// the core what to start (`mailoauth::service::elevate::install_launch`): the window is granted
/// no shell permission (the shell plugin's Rust API is not limited by capabilities, so a grant
/// would only let the page start programs itself), and no other module uses the shell plugin.
#[test]
fn only_the_install_command_starts_a_program_and_only_what_the_core_plans() {
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "elevate.rs" {
            assert!(text.contains("elevate::install_launch()"), "{name}");
            assert!(
                text.contains(".command(&program)"),
                "{name} starts the program the core planned"
            );
            assert!(
                !text.contains("command(\""),
                "{name} names no program itself"
            );
        } else if name != "capabilities_test.rs" && name != "lib.rs" {
            assert!(!text.contains("ShellExt"), "{name} uses the shell plugin");
        }
    }
    let granted = granted_all();
    assert!(granted.iter().any(|p| p == "allow-install-service"));
    assert!(!granted.iter().any(|p| p.starts_with("shell:")));
}

/// Every permission string granted, plugin ones included.
fn granted_all() -> Vec<String> {
    capability()["permissions"]
        .as_array()
        .expect("permissions list")
        .iter()
        .map(|p| match p.as_str() {
            Some(s) => s.to_string(),
            None => p["identifier"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}
