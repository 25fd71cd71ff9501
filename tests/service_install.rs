//! `mailoauth service install --root DIR` / `uninstall --root DIR` against a staging folder:
//! the systemd unit passes `systemd-analyze verify` (Debian's `systemd` package, installed by
//! scripts/setup.sh; no systemd needs to run), the launchd plist parses as a plist (Python's
//! plistlib) with the keys launchd needs, and uninstall keeps the config and tokens unless
//! `--purge`. Linux only: the unit is checked by Linux's own systemd tools.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mailoauth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailoauth"))
        .args(args)
        .env("MAILOAUTH_LOG_DIR", std::env::temp_dir())
        .output()
        .expect("run mailoauth")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh staging folder of this test's own.
fn staging(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("service-install-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `systemd-analyze verify --root=ROOT UNIT`: its status and what it printed. verify needs the
/// units the service refers to (sysinit.target, network-online.target, multi-user.target)
/// below the root, and checks that ExecStart's binary exists there; it reports most problems
/// (unknown keys, bad values) as warnings with status 0, so a clean unit is one with status 0
/// and nothing on stderr.
fn verify(root: &Path, unit: &str) -> (bool, String) {
    let system_units = root.join("usr/lib/systemd/system");
    if !system_units.exists() {
        std::fs::create_dir_all(root.join("usr/lib/systemd")).unwrap();
        let copied = Command::new("cp")
            .args(["-a", "/usr/lib/systemd/system"])
            .arg(&system_units)
            .status()
            .expect("cp");
        assert!(
            copied.success(),
            "copy /usr/lib/systemd/system into the root"
        );
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .output()
        .expect("systemd-analyze is missing: run scripts/setup.sh (Debian package systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && stderr.trim().is_empty(), stderr)
}

const UNIT: &str = "/etc/systemd/system/mailoauth.service";

#[test]
fn the_staged_unit_passes_systemd_analyze_verify_and_a_broken_one_does_not() {
    let root = staging("unit");
    let out = ok(&mailoauth(&[
        "service",
        "install",
        "--root",
        root.to_str().unwrap(),
    ]));
    assert!(out.contains("staged only"), "{out}");
    let unit_path = root.join(UNIT.trim_start_matches('/'));
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    for line in [
        "After=network-online.target",
        "Wants=network-online.target",
        "ExecStart=/usr/local/bin/mailoauth service run --config /etc/mailoauth/mailoauth.toml",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RuntimeDirectory=mailoauth",
        "StateDirectory=mailoauth",
        "StateDirectoryMode=0700",
        "ReadWritePaths=/var/lib/mailoauth /run/mailoauth -/etc/mailoauth",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "missing {line:?} in\n{unit}"
        );
    }
    // The stop time-out covers a refresh in flight: the HTTP time-out (30 s) and the save.
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec");
    assert!(stop >= 30, "TimeoutStopSec={stop}");
    // The binary the unit runs is in the root, executable.
    assert!(root.join("usr/local/bin/mailoauth").is_file());

    let (clean, said) = verify(&root, UNIT);
    assert!(clean, "systemd-analyze verify: {said}");

    // The check itself can fail: a wrong value (a warning with status 0) and a missing binary.
    std::fs::write(&unit_path, unit.replace("Type=simple", "Type=simpel")).unwrap();
    let (clean, said) = verify(&root, UNIT);
    assert!(
        !clean && said.contains("simpel"),
        "broken unit passed: {said}"
    );
    std::fs::write(&unit_path, &unit).unwrap();
    std::fs::rename(root.join("usr/local/bin/mailoauth"), root.join("moved")).unwrap();
    let (clean, said) = verify(&root, UNIT);
    assert!(!clean, "unit without its binary passed: {said}");
}

#[test]
fn a_config_path_with_spaces_and_percent_signs_is_quoted_for_systemd() {
    let root = staging("quoted");
    let config = "/etc/mail oauth/100% \"ours\".toml";
    ok(&mailoauth(&[
        "service",
        "install",
        "--root",
        root.to_str().unwrap(),
        "--config",
        config,
    ]));
    let (clean, said) = verify(&root, UNIT);
    assert!(clean, "systemd-analyze verify: {said}");
    // An upgrade in place without --config keeps the installed config.
    ok(&mailoauth(&[
        "service",
        "install",
        "--root",
        root.to_str().unwrap(),
    ]));
    let unit = std::fs::read_to_string(root.join(UNIT.trim_start_matches('/'))).unwrap();
    assert!(
        unit.contains("ReadWritePaths=/var/lib/mailoauth /run/mailoauth \"-/etc/mail oauth\"\n"),
        "{unit}"
    );
    assert!(root.join("etc/mail oauth").is_dir());
}

/// The plist as JSON, parsed by Python's plistlib (a real plist parser, as on macOS).
fn parse_plist(path: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))",
        ])
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "plistlib refused {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_staged_launchd_plist_parses_and_has_the_keys_launchd_needs() {
    let root = staging("plist");
    let config = "/Library/Application Support/mailoauth/a&b.toml";
    ok(&mailoauth(&[
        "service",
        "install",
        "--root",
        root.to_str().unwrap(),
        "--for",
        "macos",
        "--config",
        config,
    ]));
    let path = root.join("Library/LaunchDaemons/app.mailoauth.service.plist");
    let plist = parse_plist(&path);
    assert_eq!(plist["Label"], "app.mailoauth.service");
    assert_eq!(
        plist["ProgramArguments"],
        serde_json::json!([
            "/usr/local/bin/mailoauth",
            "service",
            "run",
            "--config",
            config
        ])
    );
    assert_eq!(plist["RunAtLoad"], true);
    assert_eq!(plist["KeepAlive"]["SuccessfulExit"], false);
    assert!(plist["ExitTimeOut"].as_u64().unwrap() >= 30);
    assert!(root.join("usr/local/bin/mailoauth").is_file());
    // A broken plist is refused by the same parser.
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = root.join("broken.plist");
    std::fs::write(&broken, text.replace("</dict>\n</plist>", "</plist>")).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import plistlib,sys; plistlib.load(open(sys.argv[1],'rb'))",
        ])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a broken plist parsed");

    // Uninstall of the staged macOS files.
    let out = ok(&mailoauth(&[
        "service",
        "uninstall",
        "--root",
        root.to_str().unwrap(),
        "--for",
        "macos",
    ]));
    assert!(!path.exists(), "{out}");
}

#[test]
fn uninstall_keeps_config_and_tokens_unless_purge() {
    let root = staging("uninstall");
    let r = root.to_str().unwrap();
    ok(&mailoauth(&["service", "install", "--root", r]));
    let unit = root.join(UNIT.trim_start_matches('/'));
    let config = root.join("etc/mailoauth/mailoauth.toml");
    let tokens = root.join("var/lib/mailoauth/tokens/scan.json");
    std::fs::write(&config, "version = 1\n").unwrap();
    std::fs::create_dir_all(tokens.parent().unwrap()).unwrap();
    std::fs::write(&tokens, "{}").unwrap();

    let out = ok(&mailoauth(&["service", "uninstall", "--root", r]));
    assert!(!unit.exists(), "{out}");
    assert!(config.exists() && tokens.exists(), "{out}");
    assert!(out.contains("kept the config"), "{out}");
    assert!(out.contains("until revoked there"), "{out}");

    ok(&mailoauth(&["service", "install", "--root", r]));
    let out = ok(&mailoauth(&[
        "service",
        "uninstall",
        "--root",
        r,
        "--purge",
    ]));
    assert!(!unit.exists(), "{out}");
    assert!(!config.exists() && !tokens.exists(), "{out}");
    assert!(!root.join("var/lib/mailoauth").exists(), "{out}");
}

#[test]
fn install_arguments_that_cannot_be_used_are_refused_with_the_fix() {
    // Another platform's files only with --root: clap says so.
    let out = mailoauth(&["service", "install", "--for", "macos"]);
    assert!(!out.status.success());
    let out = mailoauth(&[
        "service",
        "install",
        "--root",
        "/tmp/x",
        "--config",
        "relative.toml",
    ]);
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--config") && err.contains("absolute"),
        "{err}"
    );
    // In this container no systemd runs: install on the machine itself refuses before writing
    // anything (the unit and the binary copy would otherwise be left behind).
    if !Path::new("/run/systemd/system").is_dir() {
        let out = mailoauth(&["service", "install"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(69), "{err}");
        assert!(
            err.contains("systemd is not running") && err.contains("--root"),
            "{err}"
        );
        assert!(!Path::new("/etc/systemd/system/mailoauth.service").exists());
    } else {
        println!("NOT CHECKED here: systemd runs on this machine, so the refusal without it cannot be shown");
    }
}
