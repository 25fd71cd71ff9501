//! How long mailoauth's own part of a loopback authorization takes: from the browser's redirect
//! reaching the listener to the tokens being checked and stored (fsync included), with a token
//! endpoint on this machine that answers at once. Network time to a real provider is not ours
//! and is left out. Run: `cargo bench -p mailoauth --bench loopback`; results in
//! docs/PERFORMANCE.md.

use base64::Engine;
use mailoauth::oauth::{authorize, AccountAuth, FlowEvent, FlowHooks};
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose};
use mailoauth::store::file::FileStore;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ROUNDS: usize = 300;

/// A token endpoint that answers every request with a complete token response.
async fn fake_token_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake");
    let base = format!("http://{}", listener.local_addr().expect("fake address"));
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let id_token = format!(
        "{}.{}.sig",
        e.encode(br#"{"alg":"RS256"}"#),
        e.encode(br#"{"email":"alice@example.test"}"#)
    );
    let body = serde_json::json!({
        "access_token": "at", "refresh_token": "rt", "token_type": "Bearer", "expires_in": 3600,
        "scope": "openid email offline_access mail", "id_token": id_token,
    })
    .to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the form body (Content-Length) before answering.
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    if let Some(at) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= at + 4 + len {
                            break;
                        }
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

/// Plays the browser's last step: GET the redirect URI with the code and the flow's state.
async fn redirect(auth_url: &str) {
    let url = url::Url::parse(auth_url).expect("authorization URL");
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .expect("query parameter")
    };
    let redirect = url::Url::parse(&get("redirect_uri")).expect("redirect URI");
    let addr = format!(
        "{}:{}",
        redirect.host_str().expect("host"),
        redirect.port().expect("port")
    );
    let mut s = TcpStream::connect(addr)
        .await
        .expect("connect to the listener");
    let req = format!(
        "GET {}?code=c&state={} HTTP/1.1\r\nHost: x\r\n\r\n",
        redirect.path(),
        get("state")
    );
    s.write_all(req.as_bytes())
        .await
        .expect("send the redirect");
    let mut page = String::new();
    let _ = s.read_to_string(&mut page).await;
    assert!(page.contains("Signed in"), "{page}");
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = std::env::temp_dir().join(format!("mailoauth-bench-{}", std::process::id()));
    let store = FileStore::new(dir.clone());
    let samples = rt.block_on(async {
        let base = fake_token_endpoint().await;
        let auth = AccountAuth {
            provider: "generic".into(),
            cloud: Default::default(),
            tenant: None,
            client_id: "bench".into(),
            client_auth: ClientAuth::None,
            client_secret: None,
            key_id: None,
            certificate: None,
            flow: Flow::Loopback,
            purpose: Purpose::Both,
            scopes: vec![
                "openid".into(),
                "email".into(),
                "offline_access".into(),
                "mail".into(),
            ],
            endpoints: EndpointOverrides {
                authorization: Some(format!("{base}/auth")),
                token: Some(format!("{base}/token")),
                ..Default::default()
            },
            mailbox: "alice@example.test".into(),
            redirect_port: None,
        };
        let mut samples = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let started: Arc<Mutex<Option<Instant>>> = Arc::default();
            let s2 = started.clone();
            let open = move |url: &str| {
                let (url, s2) = (url.to_string(), s2.clone());
                tokio::spawn(async move {
                    *s2.lock().expect("clock") = Some(Instant::now());
                    redirect(&url).await;
                });
                Ok(())
            };
            let on_event = |_: FlowEvent| {};
            let hooks = FlowHooks::new(&on_event, &open);
            authorize(&auth, &store, &hooks)
                .await
                .expect("authorization");
            let done = Instant::now();
            let t0 = started
                .lock()
                .expect("clock")
                .expect("the redirect was sent");
            samples.push(done - t0);
        }
        samples
    });
    let _ = std::fs::remove_dir_all(dir);
    let mut s = samples;
    s.sort();
    let pct = |p: f64| s[((s.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "loopback redirect received -> token stored, {ROUNDS} rounds: median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(*s.last().expect("samples"))
    );
}
