//! Faults the real test provider cannot be made to show, served by a small in-process fake with
//! the providers' exact reply bodies: Entra's AADSTS7000218, `slow_down`, `expired_token`,
//! `authorization_declined`, Google's `invalid_grant` wording. Also what needs a provider that
//! counts requests: two processes refreshing one account at once, and the JWT grants (service
//! account, private_key_jwt with x5t) whose assertions the fake decodes.

use base64::Engine;
use mailoauth::config::SecretRef;
use mailoauth::oauth::{
    authorize, refresh_if_needed, unix_now, AccountAuth, FlowEvent, FlowHooks, OAuthError,
};
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose};
use mailoauth::secret::Secret;
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenSet;
use mailoauth::store::TokenStore;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the fake received: path and form fields.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    form: HashMap<String, String>,
}

type Handler = Arc<dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync>;

/// A fake authorization server: answers every request with `handler(request, n)`, where `n`
/// counts the requests to that path so far.
struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn serve(
    listener: TcpListener,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
    delay: Duration,
) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        let handler = handler.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, len) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (at + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let path = head.split(' ').nth(1).unwrap_or("/").to_string();
            let form = url::form_urlencoded::parse(&buf[head_end..])
                .into_owned()
                .collect::<HashMap<_, _>>();
            let req = Seen {
                path: path.clone(),
                form,
            };
            let n = {
                let mut all = seen.lock().unwrap();
                all.push(req.clone());
                all.iter().filter(|r| r.path == path).count() - 1
            };
            tokio::time::sleep(delay).await;
            let (status, body) = handler(&req, n);
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        });
    }
}

impl Fake {
    async fn start(
        delay: Duration,
        handler: impl Fn(&Seen, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(serve(listener, Arc::new(handler), seen.clone(), delay));
        Fake { base, seen }
    }

    fn requests(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    fn account(&self, flow: Flow, client_auth: ClientAuth) -> AccountAuth {
        AccountAuth {
            provider: "generic".into(),
            cloud: Default::default(),
            tenant: None,
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            client_auth,
            client_secret: None,
            key_id: None,
            certificate: None,
            flow,
            purpose: Purpose::Both,
            scopes: vec![
                "openid".into(),
                "email".into(),
                "offline_access".into(),
                "mail".into(),
            ],
            endpoints: EndpointOverrides {
                authorization: Some(format!("{}/authorize", self.base)),
                token: Some(format!("{}/token", self.base)),
                device_authorization: Some(format!("{}/devicecode", self.base)),
                ..Default::default()
            },
            mailbox: "alice@example.test".into(),
            redirect_port: None,
        }
    }
}

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn id_token(email: &str) -> String {
    format!(
        "{}.{}.sig",
        b64(&serde_json::json!({"alg": "RS256"})),
        b64(&serde_json::json!({"email": email}))
    )
}

fn jwt_part(jwt: &str, i: usize) -> serde_json::Value {
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn token_body(access: &str, refresh: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 3600,
        "scope": "openid email offline_access mail", "id_token": id_token("alice@example.test"),
    });
    if let Some(r) = refresh {
        v["refresh_token"] = r.into();
    }
    v.to_string()
}

const DEVICE_AUTH: &str = r#"{"user_code":"GQVQ-THLR","device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code GQVQ-THLR to authenticate."}"#;
const PENDING: &str = r#"{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.\r\nTrace ID: 0f3b9f2c-1b7e-4f0e-9d8e-7c2b0a6c1d00\r\nCorrelation ID: 5e1c7b1a-8d3f-4a2b-9c6e-2f4d8a1b3c5e\r\nTimestamp: 2024-05-13 09:12:44Z","error_codes":[70016],"timestamp":"2024-05-13 09:12:44Z","trace_id":"0f3b9f2c-1b7e-4f0e-9d8e-7c2b0a6c1d00","correlation_id":"5e1c7b1a-8d3f-4a2b-9c6e-2f4d8a1b3c5e","error_uri":"https://login.microsoftonline.com/error?code=70016"}"#;
const SLOW_DOWN: &str = r#"{"error":"slow_down","error_description":"Polling too frequently"}"#;
const EXPIRED: &str = r#"{"error":"expired_token","error_description":"AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.\r\nTrace ID: 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f\r\nCorrelation ID: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\r\nTimestamp: 2024-05-13 09:27:44Z","error_codes":[70020],"timestamp":"2024-05-13 09:27:44Z","trace_id":"1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","correlation_id":"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"}"#;
const DECLINED: &str = r#"{"error":"authorization_declined","error_description":"AADSTS70000: The user denied the authorization request.\r\nTrace ID: 2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d\r\nCorrelation ID: 7d6c5b4a-3928-4716-a5f4-e3d2c1b0a9f8\r\nTimestamp: 2024-05-13 09:14:02Z","error_codes":[70000]}"#;
const AADSTS7000218: &str = r#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Trace ID: 9d3a2b1c-4e5f-4a6b-8c7d-0e1f2a3b4c5d Correlation ID: 6c5b4a39-2817-4f6e-9d8c-7b6a5f4e3d2c Timestamp: 2024-05-13 09:30:11Z","error_codes":[7000218],"timestamp":"2024-05-13 09:30:11Z","trace_id":"9d3a2b1c-4e5f-4a6b-8c7d-0e1f2a3b4c5d","correlation_id":"6c5b4a39-2817-4f6e-9d8c-7b6a5f4e3d2c","error_uri":"https://login.microsoftonline.com/error?code=7000218"}"#;
const GOOGLE_INVALID_GRANT: &str = "{\n  \"error\": \"invalid_grant\",\n  \"error_description\": \"Token has been expired or revoked.\"\n}";

async fn device_run(
    fake: &Fake,
    store: &dyn TokenStore,
) -> (Result<TokenSet, OAuthError>, Vec<FlowEvent>, Vec<u64>) {
    let events: Arc<Mutex<Vec<FlowEvent>>> = Default::default();
    let sleeps: Arc<Mutex<Vec<u64>>> = Default::default();
    let (ev, sl) = (events.clone(), sleeps.clone());
    let on_event = move |e: FlowEvent| ev.lock().unwrap().push(e);
    let sleep = move |d: Duration| -> Pin<Box<dyn Future<Output = ()> + Send>> {
        sl.lock().unwrap().push(d.as_secs());
        Box::pin(async {})
    };
    // The sleep records the wait and returns at once, so the test does not wait 5 s per poll.
    let mut hooks = FlowHooks::new(&on_event, &|_| Ok(()));
    hooks.sleep = &sleep;
    let auth = fake.account(Flow::DeviceCode, ClientAuth::None);
    let r = authorize(&auth, store, &hooks).await;
    let events = events.lock().unwrap().clone();
    let sleeps = sleeps.lock().unwrap().clone();
    (r, events, sleeps)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mailoauth-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn slow_down_adds_five_seconds_to_every_later_poll() {
    let fake = Fake::start(Duration::ZERO, |req, n| match req.path.as_str() {
        "/devicecode" => (200, DEVICE_AUTH.into()),
        _ => match n {
            0 => (400, PENDING.into()),
            1 => (400, SLOW_DOWN.into()),
            2 => (400, PENDING.into()),
            _ => (200, token_body("at-1", Some("rt-1"))),
        },
    })
    .await;
    let dir = temp_dir("slowdown");
    let store = FileStore::new(dir.clone());
    let (r, events, sleeps) = device_run(&fake, &store).await;
    r.expect("the device flow succeeds after slow_down");
    assert_eq!(
        sleeps,
        [5, 10, 10],
        "interval 5 s, plus 5 s after slow_down for all later polls"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FlowEvent::SlowDown { interval_secs: 10 })),
        "{events:?}"
    );
    let code = events.iter().find_map(|e| match e {
        FlowEvent::DeviceCode {
            user_code,
            verification_uri,
            expires_at,
            ..
        } => Some((user_code.clone(), verification_uri.clone(), *expires_at)),
        _ => None,
    });
    let (code, uri, expires_at) = code.expect("the device code was shown");
    assert_eq!(
        (code.as_str(), uri.as_str()),
        ("GQVQ-THLR", "https://microsoft.com/devicelogin")
    );
    assert!(expires_at >= unix_now() + 890, "countdown to expires_in");
    assert_eq!(
        fake.requests("/token")[0]
            .form
            .get("grant_type")
            .map(String::as_str),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert!(store.load("alice@example.test").unwrap().is_some());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn expired_token_and_authorization_declined_stop_polling() {
    for (body, error) in [
        (EXPIRED, "expired_token"),
        (DECLINED, "authorization_declined"),
    ] {
        let fake = Fake::start(Duration::ZERO, move |req, n| match (req.path.as_str(), n) {
            ("/devicecode", _) => (200, DEVICE_AUTH.into()),
            (_, 0) => (400, PENDING.into()),
            _ => (400, body.into()),
        })
        .await;
        let dir = temp_dir(error);
        let store = FileStore::new(dir.clone());
        let (r, _, sleeps) = device_run(&fake, &store).await;
        let e = r.unwrap_err();
        let reply = e
            .reply()
            .unwrap_or_else(|| panic!("typed provider error: {e}"));
        assert_eq!(reply.error, error);
        assert_eq!(reply.status, Some(400));
        assert!(reply.aadsts.is_some(), "{reply:?}");
        assert_eq!(sleeps.len(), 1, "polling stopped at {error}");
        assert_eq!(fake.requests("/token").len(), 2);
        assert!(store.load("alice@example.test").unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn entra_aadsts7000218_on_the_password_grant_is_typed_and_diagnosed() {
    let fake = Fake::start(Duration::ZERO, |_, _| (401, AADSTS7000218.into())).await;
    let dir = temp_dir("aadsts");
    let store = FileStore::new(dir.clone());
    let auth = fake.account(Flow::Password, ClientAuth::None);
    let mut hooks = FlowHooks::silent();
    hooks.password = Some(Secret::new("mailbox-password".into()));
    let e = authorize(&auth, &store, &hooks).await.unwrap_err();
    let r = e.reply().expect("a provider reply");
    assert_eq!(r.error, "invalid_client");
    assert_eq!(r.aadsts.as_deref(), Some("AADSTS7000218"));
    assert_eq!(r.status, Some(401));
    let id = e.diagnosis_id().expect("the catalog knows AADSTS7000218");
    assert!(mailoauth::diagnosis::entry(&id).is_some());
    assert!(!e.to_string().contains("mailbox-password"));
    let form = &fake.requests("/token")[0].form;
    assert_eq!(form.get("grant_type").map(String::as_str), Some("password"));
    assert_eq!(
        form.get("username").map(String::as_str),
        Some("alice@example.test")
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn expired_tokens(refresh: &str) -> TokenSet {
    TokenSet {
        access_token: Secret::new("at-old".into()),
        refresh_token: Some(Secret::new(refresh.into())),
        expires_at: Some(unix_now() + 30),
        scopes: vec!["mail".into()],
        account: Some("alice@example.test".into()),
        obtained_at: unix_now() - 3570,
    }
}

#[tokio::test]
async fn google_invalid_grant_on_refresh_needs_reauthorization() {
    let fake = Fake::start(Duration::ZERO, |_, _| (400, GOOGLE_INVALID_GRANT.into())).await;
    let dir = temp_dir("google");
    let store = FileStore::new(dir.clone());
    let auth = fake.account(Flow::Loopback, ClientAuth::None);
    store
        .save("alice@example.test", &expired_tokens("rt-revoked"))
        .unwrap();
    let e = refresh_if_needed(&auth, &store, unix_now())
        .await
        .unwrap_err();
    assert!(e.needs_reauthorization(), "{e}");
    assert!(matches!(e, OAuthError::NeedsReauthorization { .. }));
    assert_eq!(
        e.diagnosis_id().as_deref(),
        Some("g-token-expired-or-revoked")
    );
    assert!(
        e.to_string().contains("Token has been expired or revoked"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn two_processes_refreshing_at_once_spend_the_rotated_token_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(Fake::start(Duration::from_millis(300), |req, _| match req
        .form
        .get("refresh_token")
        .map(String::as_str)
    {
        Some("rt-1") if req.form.get("grant_type").map(String::as_str) == Some("refresh_token") => {
            (200, token_body("at-2", Some("rt-2")))
        }
        _ => (
            400,
            r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#.into(),
        ),
    }));
    let dir = temp_dir("concurrent");
    let store = FileStore::new(dir.clone());
    store
        .save("alice@example.test", &expired_tokens("rt-1"))
        .unwrap();
    let auth = fake.account(Flow::Loopback, ClientAuth::None);
    // Two threads with their own runtimes and stores stand for two processes.
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (auth, dir) = (auth.clone(), dir.clone());
            std::thread::spawn(move || {
                let store = FileStore::new(dir);
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    refresh_if_needed(&auth, &store, unix_now())
                        .await
                        .map(|t| t.expose().clone())
                })
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().expect("both refreshes succeed"), "at-2");
    }
    assert_eq!(
        fake.requests("/token").len(),
        1,
        "the second waited for the lock and used the saved token"
    );
    let saved = store.load("alice@example.test").unwrap().unwrap();
    assert_eq!(
        saved.refresh_token.map(|t| t.expose().clone()).as_deref(),
        Some("rt-2")
    );
    drop(rt);
    let _ = std::fs::remove_dir_all(dir);
}

fn openssl(args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test]
async fn service_account_jwt_bearer_names_the_mailbox_as_subject() {
    let dir = temp_dir("sa");
    let key = dir.join("key.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key.to_str().unwrap(),
    ]);
    let fake = Fake::start(Duration::ZERO, |_, _| {
        (
            200,
            r#"{"access_token":"ya29.c.fake","expires_in":3599,"token_type":"Bearer"}"#.into(),
        )
    })
    .await;
    let key_json = serde_json::json!({
        "type": "service_account", "project_id": "p", "private_key_id": "abc123",
        "private_key": std::fs::read_to_string(&key).unwrap(),
        "client_email": "mailer@p.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": format!("{}/token", fake.base),
    });
    let key_file = dir.join("sa.json");
    std::fs::write(&key_file, key_json.to_string()).unwrap();
    let mut auth = fake.account(Flow::ServiceAccount, ClientAuth::PrivateKeyJwt);
    auth.provider = "google".into();
    auth.scopes = vec![];
    auth.endpoints = Default::default();
    auth.client_secret = Some(SecretRef::File(key_file));
    let store = FileStore::new(dir.join("store"));
    let t = authorize(&auth, &store, &FlowHooks::silent())
        .await
        .expect("service account token");
    assert_eq!(t.scopes, ["https://mail.google.com/"]);
    let form = &fake.requests("/token")[0].form;
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let (head, claims) = (
        jwt_part(&form["assertion"], 0),
        jwt_part(&form["assertion"], 1),
    );
    assert_eq!(
        (head["alg"].as_str(), head["kid"].as_str()),
        (Some("RS256"), Some("abc123"))
    );
    assert_eq!(claims["sub"], "alice@example.test");
    assert_eq!(claims["iss"], "mailer@p.iam.gserviceaccount.com");
    assert_eq!(claims["scope"], "https://mail.google.com/");
    assert!(store.load("alice@example.test").unwrap().is_some());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn client_credentials_with_a_certificate_sends_an_assertion_with_x5t() {
    let dir = temp_dir("cert");
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=mailoauth",
        "-days",
        "2",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    let fp = openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    let hex: String = fp.split('=').nth(1).unwrap().trim().replace(':', "");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let expected_x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let fake = Fake::start(Duration::ZERO, |_, _| {
        (200, r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.app.only"}"#.into())
    })
    .await;
    let mut auth = fake.account(Flow::ClientCredentials, ClientAuth::PrivateKeyJwt);
    auth.scopes = vec!["https://outlook.office365.com/.default".into()];
    auth.client_secret = Some(SecretRef::File(key));
    auth.certificate = Some(cert);
    let store = FileStore::new(dir.join("store"));
    authorize(&auth, &store, &FlowHooks::silent())
        .await
        .expect("client credentials");
    let form = &fake.requests("/token")[0].form;
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!form.contains_key("client_secret"));
    let (head, claims) = (
        jwt_part(&form["client_assertion"], 0),
        jwt_part(&form["client_assertion"], 1),
    );
    assert_eq!(head["x5t"].as_str(), Some(expected_x5t.as_str()));
    assert_eq!(
        claims["aud"].as_str(),
        Some(format!("{}/token", fake.base).as_str())
    );
    assert_eq!(claims["iss"], claims["sub"]);
    // App-only tokens have no refresh token: an expired one is simply requested again.
    let later = unix_now() + 7200;
    refresh_if_needed(&auth, &store, later)
        .await
        .expect("app-only renewal");
    assert_eq!(fake.requests("/token").len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_taken_port_falls_back_to_pasting_the_address_the_browser_ended_on() {
    let fake = Fake::start(Duration::ZERO, |_, _| {
        (200, token_body("at-pasted", Some("rt-pasted")))
    })
    .await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = temp_dir("paste");
    let store = FileStore::new(dir.clone());
    let auth = fake.account(Flow::Loopback, ClientAuth::None);
    let opened: Arc<Mutex<Option<String>>> = Arc::default();
    let o2 = opened.clone();
    let open = move |url: &str| {
        *o2.lock().unwrap() = Some(url.to_string());
        Ok(())
    };
    let events: Arc<Mutex<Vec<FlowEvent>>> = Arc::default();
    let ev = events.clone();
    let on_event = move |e: FlowEvent| ev.lock().unwrap().push(e);
    // The user signs in; the last page does not load; its address is pasted.
    let o3 = opened.clone();
    let paste = move || -> Pin<Box<dyn Future<Output = Option<String>> + Send>> {
        let url = o3.lock().unwrap().clone().expect("the URL was shown first");
        let url = url::Url::parse(&url).unwrap();
        let get = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let pasted = format!(
            "{}?code=the-code&state={}",
            get("redirect_uri"),
            get("state")
        );
        Box::pin(async move { Some(pasted) })
    };
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback.ports = vec![port];
    hooks.paste_redirect = Some(&paste);
    let t = authorize(&auth, &store, &hooks)
        .await
        .expect("the pasted address completes the sign-in");
    assert_eq!(t.access_token.expose(), "at-pasted");
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, FlowEvent::PasteRedirect { .. })));
    let form = &fake.requests("/token")[0].form;
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["redirect_uri"], format!("http://127.0.0.1:{port}/"));
    assert!(
        form.contains_key("code_verifier"),
        "PKCE also on the pasted path"
    );
    drop(taken);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_refreshes_in_one_single_threaded_runtime_do_not_deadlock() {
    let fake = Fake::start(Duration::from_millis(100), |req, _| {
        match req.form.get("refresh_token").map(String::as_str) {
            Some("rt-1") => (200, token_body("at-2", Some("rt-2"))),
            _ => (400, r#"{"error":"invalid_grant"}"#.into()),
        }
    })
    .await;
    let dir = temp_dir("samethread");
    let store = FileStore::new(dir.clone());
    store
        .save("alice@example.test", &expired_tokens("rt-1"))
        .unwrap();
    let auth = fake.account(Flow::Loopback, ClientAuth::None);
    let (a, b) = tokio::join!(
        refresh_if_needed(&auth, &store, unix_now()),
        refresh_if_needed(&auth, &store, unix_now())
    );
    assert_eq!(a.unwrap().expose(), "at-2");
    assert_eq!(b.unwrap().expose(), "at-2");
    assert_eq!(fake.requests("/token").len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}
