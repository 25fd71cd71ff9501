#![cfg(unix)] // it drives Wine from Linux
//! The Windows installer (installer/windows/mailoauth.nsi, built by scripts/windows-installer.sh
//! with Debian's makensis) run silently under Wine in the tests' prefix, then checked from the
//! outside: the files in Program Files, the machine PATH (the folder exactly once, also after an
//! install over an install, and every other entry kept), the Add/Remove Programs key, the
//! service's registration (ImagePath, LocalSystem, automatic start) and its Event Log source,
//! the service running after an upgrade in place; then the silent uninstall (files, PATH entry,
//! shortcut, service, keys gone; `%ProgramData%\mailoauth` kept) and the uninstall with /PURGE
//! (that folder gone too); a machine PATH too long for NSIS's strings left exactly as it was.
//!
//! Run by scripts/windows-tests.sh, which builds the installer from the debug executables and
//! sets `MAILOAUTH_WINE_INSTALLER`, `WINE` and `WINEPREFIX`; ignored in a plain `cargo test`.
//! What Wine cannot check is printed (and in docs/SECURITY.md): no UAC prompt (Wine runs every
//! process with full rights), no service started by a real SCM as LocalSystem, no ACLs, and
//! Wine's service manager accepts recovery actions without keeping them. The release workflow's
//! Windows job runs the same installer on a real Windows runner.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Generous bounds, only to stop a hang (Wine starts slowly on a busy machine).
const STEP: Duration = Duration::from_secs(180);

const INSTALL_DIR: &str = r"C:\Program Files\mailoauth";
const SERVICE_KEY: &str = r"HKLM\System\CurrentControlSet\Services\mailoauth";
const EVENT_KEY: &str = r"HKLM\System\CurrentControlSet\Services\EventLog\Application\mailoauth";
const UNINSTALL_KEY: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\mailoauth";
const ENV_KEY: &str = r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment";
/// An entry of the test's own, put on the PATH before the install: it must survive both.
const SENTINEL: &str = r"C:\mailoauth-test-sentinel";

struct Wine {
    wine: String,
    prefix: PathBuf,
    installer: PathBuf,
}

fn wine() -> Wine {
    let installer = std::env::var("MAILOAUTH_WINE_INSTALLER").expect(
        "MAILOAUTH_WINE_INSTALLER: the installer built by scripts/windows-installer.sh (scripts/windows-tests.sh sets it)",
    );
    let prefix =
        std::env::var("WINEPREFIX").expect("WINEPREFIX (scripts/windows-tests.sh sets it)");
    Wine {
        wine: std::env::var("WINE").unwrap_or_else(|_| String::from("wine64")),
        prefix: PathBuf::from(prefix),
        installer: PathBuf::from(installer),
    }
}

impl Wine {
    /// Runs a Windows program (or a path in the prefix) with arguments, bounded by [`STEP`].
    /// Its output goes to files, not pipes: a wineserver (or the service) that this call starts
    /// inherits them and lives on, and a pipe would not reach its end until they exit.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("mailoauth-wine-installer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (out_file, err_file) = (dir.join(format!("{n}.out")), dir.join(format!("{n}.err")));
        let mut child = Command::new(&self.wine)
            .arg(program)
            .args(args)
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_file).unwrap())
            .stderr(std::fs::File::create(&err_file).unwrap())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > STEP {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{program} {args:?}: no exit within {} s\nstdout: {}\nstderr: {}",
                    STEP.as_secs(),
                    std::fs::read_to_string(&out_file).unwrap_or_default(),
                    std::fs::read_to_string(&err_file).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = Output {
            status,
            stdout: std::fs::read(&out_file).unwrap_or_default(),
            stderr: std::fs::read(&err_file).unwrap_or_default(),
        };
        let _ = std::fs::remove_file(&out_file);
        let _ = std::fs::remove_file(&err_file);
        output
    }

    /// `C:\...` as a path below the prefix.
    fn unix(&self, windows: &str) -> PathBuf {
        let rest = windows.strip_prefix(r"C:\").expect("a C: path");
        rest.split('\\')
            .fold(self.prefix.join("drive_c"), |p, part| p.join(part))
    }

    /// A registry value as `reg query` prints it (type, data), or None when key or value is
    /// missing.
    fn reg_value(&self, key: &str, name: &str) -> Option<(String, String)> {
        let out = self.run("reg", &["query", key, "/v", name]);
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(name)?.trim_start();
            let (ty, data) = rest.split_once(char::is_whitespace)?;
            ty.starts_with("REG_")
                .then(|| (ty.to_owned(), data.trim_start().to_owned()))
        })
    }

    fn key_exists(&self, key: &str) -> bool {
        self.run("reg", &["query", key]).status.success()
    }

    fn machine_path(&self) -> String {
        self.reg_value(ENV_KEY, "Path")
            .expect("the machine PATH in the Wine prefix")
            .1
    }

    fn set_machine_path(&self, value: &str) {
        let out = self.run(
            "reg",
            &[
                "add",
                ENV_KEY,
                "/v",
                "Path",
                "/t",
                "REG_EXPAND_SZ",
                "/d",
                value,
                "/f",
            ],
        );
        assert!(out.status.success(), "reg add Path: {out:?}");
    }

    /// The installer, silently, with `args`; its exit status must be 0.
    fn install(&self, what: &str) {
        let out = self.run(&self.installer.to_string_lossy(), &["/S"]);
        println!(
            "installer check: {what}: the installer exited with {}",
            out.status
        );
        assert!(
            out.status.success(),
            "{what}: the installer failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The uninstaller, silently. It copies itself to %TEMP% and returns at once (so it can
    /// delete itself), as on Windows: wait, bounded, until its folder is gone.
    fn uninstall(&self, args: &[&str]) {
        let uninstaller = format!(r"{INSTALL_DIR}\uninstall.exe");
        assert!(self.unix(&uninstaller).is_file(), "no {uninstaller}");
        let mut all = vec!["/S"];
        all.extend_from_slice(args);
        let out = self.run(&uninstaller, &all);
        assert!(out.status.success(), "uninstall.exe {all:?}: {out:?}");
        let start = Instant::now();
        while self.unix(INSTALL_DIR).exists() {
            assert!(
                start.elapsed() < STEP,
                "{INSTALL_DIR} still there {} s after uninstall.exe {all:?}: {:?}",
                STEP.as_secs(),
                std::fs::read_dir(self.unix(INSTALL_DIR))
                    .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        // The uninstaller's copy in %TEMP% may still be finishing its last registry writes.
        let start = Instant::now();
        while self.key_exists(UNINSTALL_KEY) && start.elapsed() < STEP {
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn service_state(&self) -> String {
        let out = self.run("sc", &["query", "mailoauth"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.trim().strip_prefix("STATE").map(str::to_owned))
            .map(|s| s.trim_start_matches([' ', ':']).to_owned())
            .unwrap_or_else(|| String::from("(not registered)"))
    }
}

/// How often `dir` is an entry of `path` (case-insensitive, with or without a trailing `\`).
fn entries(path: &str, dir: &str) -> usize {
    path.split(';')
        .filter(|e| e.trim_end_matches('\\').eq_ignore_ascii_case(dir))
        .count()
}

fn same_file(a: &Path, b: &Path) -> bool {
    std::fs::read(a)
        .ok()
        .is_some_and(|x| std::fs::read(b).is_ok_and(|y| x == y))
}

#[test]
#[ignore = "needs Wine and the installer built by makensis: scripts/windows-tests.sh runs it"]
fn the_windows_installer_installs_upgrades_and_uninstalls_under_wine() {
    let w = wine();
    let stage = w.installer.parent().unwrap().join("stage");
    let data = w.unix(r"C:\ProgramData\mailoauth");

    // A clean start: a run that failed halfway may have left an install behind.
    if w.unix(&format!(r"{INSTALL_DIR}\uninstall.exe")).is_file() {
        println!("installer check: an earlier install was found; uninstalling it with /PURGE");
        w.uninstall(&["/PURGE"]);
    }
    let _ = std::fs::remove_dir_all(&data);
    // The prefix's PATH without what an interrupted run may have left (the test's entries).
    let original_path = w
        .machine_path()
        .split(';')
        .filter(|e| !e.to_ascii_lowercase().starts_with(r"c:\mailoauth-test-"))
        .collect::<Vec<_>>()
        .join(";");
    assert_eq!(entries(&original_path, INSTALL_DIR), 0, "{original_path}");
    let before = format!("{original_path};{SENTINEL}");
    w.set_machine_path(&before);

    // 1. A fresh install.
    w.install("fresh install");
    for exe in ["mailoauth.exe", "mailoauth-app.exe", "WebView2Loader.dll"] {
        let at = w.unix(&format!(r"{INSTALL_DIR}\{exe}"));
        assert!(
            same_file(&at, &stage.join(exe)),
            "{} is not the packaged {exe}",
            at.display()
        );
    }
    assert!(w.unix(&format!(r"{INSTALL_DIR}\uninstall.exe")).is_file());
    assert!(w
        .unix(r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\mailoauth.lnk")
        .is_file());
    println!("installer check: files in {INSTALL_DIR} and the Start-menu shortcut: ok");

    let path = w.machine_path();
    assert_eq!(entries(&path, INSTALL_DIR), 1, "the machine PATH: {path}");
    assert_eq!(path, format!("{before};{INSTALL_DIR}"));
    println!("installer check: the machine PATH has {INSTALL_DIR} once, the rest unchanged: ok");

    let value = |key: &str, name: &str| {
        w.reg_value(key, name)
            .unwrap_or_else(|| panic!("{key} has no {name}"))
            .1
    };
    assert_eq!(value(UNINSTALL_KEY, "DisplayName"), "mailoauth");
    assert_eq!(value(UNINSTALL_KEY, "Publisher"), "mailoauth");
    assert_eq!(
        value(UNINSTALL_KEY, "DisplayVersion"),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        value(UNINSTALL_KEY, "UninstallString"),
        format!(r#""{INSTALL_DIR}\uninstall.exe""#)
    );
    assert_eq!(
        value(UNINSTALL_KEY, "QuietUninstallString"),
        format!(r#""{INSTALL_DIR}\uninstall.exe" /S"#)
    );
    println!("installer check: the Add/Remove Programs entry (name, publisher, version {}, uninstall strings): ok", env!("CARGO_PKG_VERSION"));

    // The service, as `mailoauth.exe service install` registered it.
    assert_eq!(
        value(SERVICE_KEY, "ImagePath"),
        format!(
            r#""{INSTALL_DIR}\mailoauth.exe" service run --config C:\ProgramData\mailoauth\mailoauth.toml"#
        )
    );
    assert_eq!(value(SERVICE_KEY, "ObjectName"), "LocalSystem");
    assert_eq!(value(SERVICE_KEY, "Start"), "0x2", "automatic start");
    assert_eq!(
        value(EVENT_KEY, "EventMessageFile"),
        format!(r"{INSTALL_DIR}\mailoauth.exe")
    );
    assert_eq!(value(EVENT_KEY, "TypesSupported"), "0x7");
    assert!(
        w.service_state().contains("RUNNING"),
        "the service after the install: {}",
        w.service_state()
    );
    println!("installer check: the service (ImagePath, LocalSystem, automatic start) and its Event Log source registered, the service running: ok");
    match w.reg_value(SERVICE_KEY, "FailureActions") {
        Some((_, data)) => {
            // SERVICE_FAILURE_ACTIONS as the SCM stores it: reset period (s), then the actions
            // (type 1 = restart, delay in ms) after a 20-byte header.
            let bytes: Vec<u8> = (0..data.len() / 2)
                .map(|i| u8::from_str_radix(&data[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
            assert_eq!(u32_at(0), 86_400, "reset period");
            assert_eq!(u32_at(12), 3, "three actions");
            let actions: Vec<(u32, u32)> = (0..3)
                .map(|k| (u32_at(20 + 8 * k), u32_at(24 + 8 * k)))
                .collect();
            assert_eq!(actions, [(1, 5_000), (1, 10_000), (1, 60_000)]);
            println!("installer check: recovery actions (restart after 5 s, 10 s, 60 s): ok");
        }
        None => println!(
            "installer check: recovery actions: NOT CHECKED (Wine's service manager accepts them without keeping them; the release workflow checks them with `sc qfailure` on Windows)"
        ),
    }
    let out = w.run("cmd", &["/c", "mailoauth", "--version"]);
    assert!(
        out.status.success(),
        "a new console does not find mailoauth on PATH: {out:?}"
    );
    println!(
        "installer check: a new console finds mailoauth on the PATH ({}): ok",
        String::from_utf8_lossy(&out.stdout).trim()
    );

    // 2. An install over the install (an upgrade in place): the wizard's file, made stale here,
    //    is replaced; `service install` stops the running service, replaces its binary and
    //    starts it again; PATH still has the folder once.
    let app = w.unix(&format!(r"{INSTALL_DIR}\mailoauth-app.exe"));
    std::fs::write(&app, b"an older build").unwrap();
    w.install("install over the install (upgrade in place)");
    assert!(same_file(&app, &stage.join("mailoauth-app.exe")));
    assert!(same_file(
        &w.unix(&format!(r"{INSTALL_DIR}\mailoauth.exe")),
        &stage.join("mailoauth.exe")
    ));
    let path = w.machine_path();
    assert_eq!(entries(&path, INSTALL_DIR), 1, "the machine PATH: {path}");
    assert!(
        w.service_state().contains("RUNNING"),
        "the service after the upgrade: {}",
        w.service_state()
    );
    println!("installer check: upgrade in place: files replaced, the service running, {INSTALL_DIR} still once on PATH: ok");

    // 3. The silent uninstall keeps %ProgramData%\mailoauth (config and tokens).
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("marker.txt"), b"config and tokens stand-in").unwrap();
    w.uninstall(&[]);
    assert!(!w.unix(INSTALL_DIR).exists());
    assert!(!w
        .unix(r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\mailoauth.lnk")
        .exists());
    assert_eq!(w.machine_path(), before, "the PATH after the uninstall");
    assert!(
        !w.key_exists(SERVICE_KEY),
        "the service is still registered"
    );
    assert!(
        !w.key_exists(EVENT_KEY),
        "the Event Log source is still there"
    );
    assert!(
        !w.key_exists(UNINSTALL_KEY),
        "the Add/Remove Programs entry is still there"
    );
    assert!(
        data.join("marker.txt").is_file(),
        "%ProgramData%\\mailoauth was removed without /PURGE"
    );
    println!("installer check: uninstall: files, shortcut, PATH entry (other entries kept), service, Event Log source, Add/Remove Programs entry gone; %ProgramData%\\mailoauth kept: ok");

    // 4. Install again, uninstall with /PURGE: %ProgramData%\mailoauth goes too.
    w.install("install again");
    assert!(data.join("marker.txt").is_file());
    w.uninstall(&["/PURGE"]);
    assert!(!w.unix(INSTALL_DIR).exists());
    assert!(!w.key_exists(SERVICE_KEY));
    assert!(!data.exists(), "%ProgramData%\\mailoauth survived /PURGE");
    assert_eq!(w.machine_path(), before);
    println!("installer check: uninstall /PURGE: %ProgramData%\\mailoauth removed as well: ok");

    // 5. A machine PATH longer than NSIS's strings (1024 characters) is never cut: the install
    //    and the uninstall leave it exactly as it was (and the install still succeeds).
    let mut long = original_path.clone();
    let mut k = 0;
    while long.len() <= 1100 {
        long.push_str(&format!(r";C:\mailoauth-test-long-path-entry-{k}"));
        k += 1;
    }
    w.set_machine_path(&long);
    w.install("install with a machine PATH of over 1024 characters");
    assert_eq!(
        w.machine_path(),
        long,
        "a long PATH was changed by the install"
    );
    w.uninstall(&["/PURGE"]);
    assert_eq!(
        w.machine_path(),
        long,
        "a long PATH was changed by the uninstall"
    );
    println!(
        "installer check: a machine PATH of {} characters (over NSIS's 1024) left unchanged by install and uninstall: ok",
        long.len()
    );

    w.set_machine_path(&original_path);
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("mailoauth-wine-installer-{}", std::process::id())),
    );
    println!(
        "installer check: NOT CHECKED under Wine: the UAC prompt (RequestExecutionLevel admin; Wine runs everything with full rights), \
         the service started by Windows' SCM as LocalSystem, the ACLs of Program Files and %ProgramData%\\mailoauth, \
         WM_SETTINGCHANGE reaching Explorer; the release workflow's Windows job runs this installer on a real Windows runner"
    );
}
