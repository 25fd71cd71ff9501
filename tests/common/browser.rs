//! A scripted "user with a browser" for the provider in `tests/peers/`: it signs in on the
//! provider's own pages, as a person would, so the app's side of each flow runs for real.

use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
use url::Url;

/// A cookie-keeping HTTP client that follows redirects by hand, so each hop can be inspected.
pub struct Browser {
    http: reqwest::Client,
}

/// A value of a hidden form field, e.g. `name="xsrf" value="..."`.
fn form_value(page: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let start = page.find(&key)? + key.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("build the test browser");
        Self { http }
    }

    /// Follows redirects from `url` until a page is shown, or until `stop` says the URL is the
    /// app's own (which is then not fetched). Returns the last URL and the page shown there
    /// (empty when stopped).
    pub async fn follow(&self, mut url: Url, stop: impl Fn(&Url) -> bool) -> (Url, String) {
        for _ in 0..20 {
            if stop(&url) {
                return (url, String::new());
            }
            let resp = self.http.get(url.clone()).send().await.expect("GET");
            let loc = resp
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            match loc {
                Some(loc) => url = url.join(&loc).expect("redirect URL"),
                None => return (url, resp.text().await.unwrap_or_default()),
            }
        }
        panic!("too many redirects from {url}");
    }

    /// Signs in on the provider's login page at `interaction` (a `/interaction/<uid>` URL) and
    /// follows the redirects after it until `stop`. Returns what [`Browser::follow`] returns.
    pub async fn login(
        &self,
        interaction: &Url,
        user: (&str, &str),
        stop: impl Fn(&Url) -> bool,
    ) -> (Url, String) {
        let login_url = Url::parse(&format!(
            "{}/login",
            interaction.as_str().trim_end_matches('/')
        ))
        .expect("login URL");
        let resp = self
            .http
            .post(login_url)
            .form(&[("login", user.0), ("password", user.1)])
            .send()
            .await
            .expect("POST login");
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let Some(loc) = loc else {
            let page = resp.text().await.unwrap_or_default();
            panic!("sign-in as {} was refused: {page}", user.0);
        };
        self.follow(interaction.join(&loc).expect("redirect URL"), stop)
            .await
    }

    /// Plays the user's part of a device authorization grant: opens
    /// `verification_uri_complete`, confirms the code, and signs in as `user`.
    pub async fn approve_device(&self, verification_uri_complete: &str, user: (&str, &str)) {
        let start = Url::parse(verification_uri_complete).expect("verification URI");
        let page = self
            .http
            .get(start.clone())
            .send()
            .await
            .expect("GET verification URI")
            .text()
            .await
            .expect("verification page");
        let xsrf = form_value(&page, "xsrf").expect("xsrf field on the device page");
        let code = form_value(&page, "user_code").expect("user_code field on the device page");
        let device = start.join("/device").expect("device URL");
        let confirm = [("xsrf", xsrf.as_str()), ("user_code", code.as_str())];
        self.http
            .post(device.clone())
            .form(&confirm)
            .send()
            .await
            .expect("POST code");
        let resp = self
            .http
            .post(device)
            .form(&[
                ("xsrf", xsrf.as_str()),
                ("user_code", code.as_str()),
                ("confirm", "yes"),
            ])
            .send()
            .await
            .expect("POST confirm");
        let interaction = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| start.join(l).expect("interaction URL"))
            .expect("the provider asks the user to sign in after confirming the code");
        let (_, text) = self.login(&interaction, user, |_| false).await;
        assert!(
            text.contains("Sign-in Success"),
            "device approval did not end on the success page: {text}"
        );
    }
}

/// Signs `user` in with the device flow of `auth`, the scripted browser approving the code as a
/// person would, and stores the tokens in `store`: the admin's one sign-in of many tests.
pub async fn sign_in_device(
    auth: &mailoauth::oauth::AccountAuth,
    store: &dyn mailoauth::store::TokenStore,
    user: (&'static str, &'static str),
) {
    use mailoauth::oauth::{FlowEvent, FlowHooks};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let on_event = move |e: FlowEvent| {
        if let FlowEvent::DeviceCode {
            verification_uri_complete: Some(u),
            ..
        } = &e
        {
            let _ = tx.send(u.clone());
        }
    };
    let open = |_: &str| Err(String::from("the device flow opens no browser"));
    let hooks = FlowHooks::new(&on_event, &open);
    let approver = tokio::spawn(async move {
        let complete = rx.recv().await.expect("the device code was shown");
        Browser::new().approve_device(&complete, user).await;
    });
    mailoauth::oauth::authorize(auth, store, &hooks)
        .await
        .expect("device code sign-in");
    approver.await.unwrap();
}

/// The device code's complete URL (`...user_code=...`) in a line a CLI sign-in printed, if any
/// (its "(or open URL)" line).
pub fn device_url_in(line: &str) -> Option<String> {
    let at = line.find("http")?;
    let url = line[at..]
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(')')
        .to_string();
    url.contains("user_code=").then_some(url)
}

/// Runs the CLI sign-in `cmd` (`mailoauth reauthorize`, `authorize`: device flow), approves the
/// code it prints as `user` with the scripted browser, and waits at most `bound` for it to end
/// (killed past that, and the test fails). Returns its exit status and all it printed on stderr.
pub async fn approve_cli_device_sign_in(
    mut cmd: std::process::Command,
    user: (&'static str, &'static str),
    bound: std::time::Duration,
    what: &str,
) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = device_url_in(&line) {
                let _ = tx.send(url);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = tokio::task::spawn_blocking(move || rx.recv_timeout(bound))
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("{what}: no device code shown"));
    Browser::new().approve_device(&url, user).await;
    let what_owned = what.to_string();
    let status = tokio::task::spawn_blocking(move || {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > bound {
                let _ = child.kill();
                panic!("{what_owned}: no exit within {} s", bound.as_secs());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    (status, reader.join().unwrap())
}
