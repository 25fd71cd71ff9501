//! A small W3C WebDriver client for the GUI tests, plus the processes behind it: Xvfb (a real
//! X display), tauri-driver and WebKitWebDriver, all stopped when the [`App`] is dropped, even
//! when a test fails.

use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A process group we started; killed as a whole on drop. The signal is sent with
/// `kill(2)` itself: the `kill` programs on PATH differ (procps, util-linux) in how they read a
/// negative group id, and one reading it as a signal number signals every process.
struct Group(Child);

fn signal_group(pgid: u32, signal: libc::c_int) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        if pgid > 1 {
            // SAFETY: kill(2) with a negative pid only signals that process group.
            unsafe {
                libc::kill(-pgid, signal);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id();
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(pgid, libc::SIGKILL);
        let _ = self.0.wait();
    }
}

/// The app under test in a real window, driven over WebDriver.
pub struct App {
    http: reqwest::blocking::Client,
    base: String,
    session: String,
    shots: PathBuf,
    // dropped in reverse order of start: driver (and the app) first, then the display
    _driver: Group,
    _display: Option<Group>,
}

/// A found element (its WebDriver id).
#[derive(Clone, Debug)]
pub struct Element(String);

impl App {
    /// Starts a display (unless `MAILOAUTH_E2E_DISPLAY` names one), tauri-driver, and the app.
    pub fn launch(binary: &Path, shots: PathBuf) -> App {
        Self::launch_with_env(binary, shots, &[])
    }

    /// Like [`App::launch`], with extra environment variables for the app.
    pub fn launch_with_env(binary: &Path, shots: PathBuf, envs: &[(&str, &str)]) -> App {
        let (display, display_proc) = match std::env::var("MAILOAUTH_E2E_DISPLAY") {
            Ok(d) => (d, None),
            Err(_) => start_xvfb(),
        };
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        let log = std::fs::File::create(shots.join("tauri-driver.log")).expect("driver log");
        let port = free_port();
        let native_port = free_port();
        let mut cmd = Command::new("dbus-run-session");
        cmd.args(["--", "tauri-driver", "--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .env("DISPLAY", &display)
            .envs(envs.iter().copied())
            .env("NO_AT_BRIDGE", "1")
            // cargo test points LD_LIBRARY_PATH at the toolchain's libraries (libLLVM among
            // them), which WebKit's web process then loads instead of the system's and dies.
            .env_remove("LD_LIBRARY_PATH")
            // The app turns WebKit's compositing off to save memory, but WebKitWebDriver's
            // screenshot command then never answers: under the driver it stays on ("0" is the
            // admin's override the app respects).
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "0")
            .stdout(log.try_clone().expect("driver log"))
            .stderr(log)
            .process_group(0);
        let driver =
            Group(cmd.spawn().expect(
                "start tauri-driver under dbus-run-session (scripts/setup.sh installs both)",
            ));
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not come up on {base}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": binary.to_string_lossy()}
        }}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .and_then(|r| r.json())
            .expect("new WebDriver session");
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_string();
        App {
            http,
            base,
            session,
            shots,
            _driver: driver,
            _display: display_proc,
        }
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let req = self.http.request(method, url);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let v: Value = req.send().and_then(|r| r.json()).expect("WebDriver call");
        v["value"].clone()
    }

    /// The document title.
    pub fn title(&self) -> String {
        self.cmd(reqwest::Method::GET, "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// All elements matching a CSS selector (no waiting).
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.cmd(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits up to 20 s for at least one element matching `css`.
    pub fn wait_for(&self, css: &str) -> Vec<Element> {
        self.wait_for_secs(css, 20)
    }

    /// Waits up to `secs` seconds for at least one element matching `css`.
    pub fn wait_for_secs(&self, css: &str, secs: u64) -> Vec<Element> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let found = self.find_all(css);
            if !found.is_empty() {
                return found;
            }
            if Instant::now() >= deadline {
                // What the window showed when the wait gave up, for whoever reads the failure.
                let shot = self.screenshot("timeout");
                panic!(
                    "nothing matched {css:?} within {secs} s; the window is in {}",
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn text(&self, el: &Element) -> String {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/text", el.0),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub fn attr(&self, el: &Element, name: &str) -> Option<String> {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", el.0),
            None,
        )
        .as_str()
        .map(str::to_string)
    }

    /// Runs `script` in the page (W3C Execute Script) and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Resizes the window (W3C Set Window Rect).
    pub fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// A DOM property (e.g. an input's current `value`), which attributes do not follow.
    pub fn prop(&self, el: &Element, name: &str) -> Option<String> {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/property/{name}", el.0),
            None,
        )
        .as_str()
        .map(str::to_string)
    }

    pub fn click(&self, el: &Element) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/click", el.0),
            Some(json!({})),
        );
    }

    /// Empties an input.
    pub fn clear(&self, el: &Element) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        );
    }

    /// Types text into an input or textarea.
    pub fn type_text(&self, el: &Element, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        );
    }

    /// Waits up to 20 s until `css` matches an element whose text contains `needle`.
    pub fn wait_for_text(&self, css: &str, needle: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(el) = self
                .find_all(css)
                .into_iter()
                .find(|e| self.text(e).contains(needle))
            {
                return el;
            }
            assert!(
                Instant::now() < deadline,
                "no {css:?} showed {needle:?} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG of the window as `<name>.png` in the screenshot folder, once the UI settled.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // Let the last click's re-render and transitions finish before taking the picture.
        std::thread::sleep(Duration::from_millis(400));
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("screenshot data"))
            .expect("screenshot base64");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
    }
}

/// Starts Xvfb on the first free display number and returns `:N`.
fn start_xvfb() -> (String, Option<Group>) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start Xvfb (scripts/setup.sh installs it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("Xvfb stdout"))
        .read_line(&mut line)
        .expect("Xvfb display number");
    let n = line.trim();
    assert!(!n.is_empty(), "Xvfb did not report a display");
    (format!(":{n}"), Some(Group(child)))
}
