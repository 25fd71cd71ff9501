//! The service's proxy (`[service] proxy`): once set, a refresh reaches the token endpoint only
//! through it. A tiny proxy on loopback records what it is asked: for an https endpoint (whose
//! name does not resolve, `.invalid`) the `CONNECT` tunnel to it; for a loopback http endpoint on
//! a closed port the request itself, which it answers as the provider would, so the refresh
//! completes only by way of the proxy. (No real provider is reached: the point is the way the
//! request goes.)

use mailoauth::oauth::{refresh_if_needed, set_proxy, AccountAuth};
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose};
use mailoauth::secret::Secret;
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenSet;
use mailoauth::store::TokenStore;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const MAILBOX: &str = "svc@example.test";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn account(base: &str) -> AccountAuth {
    AccountAuth {
        provider: "generic".into(),
        cloud: Default::default(),
        tenant: None,
        client_id: "mailapp-public".into(),
        client_auth: ClientAuth::None,
        client_secret: None,
        key_id: None,
        certificate: None,
        flow: Flow::DeviceCode,
        purpose: Purpose::Send,
        scopes: vec!["mail".into(), "offline_access".into()],
        endpoints: EndpointOverrides {
            authorization: Some(format!("{base}/auth")),
            token: Some(format!("{base}/token")),
            device_authorization: Some(format!("{base}/device")),
            ..Default::default()
        },
        mailbox: MAILBOX.into(),
        redirect_port: None,
    }
}

/// A loopback HTTP proxy: sends what each client asked on `seen` (before answering), refuses
/// tunnels with 403, and answers a plain request with a token, as the provider would.
async fn proxy(listener: TcpListener, seen: tokio::sync::mpsc::UnboundedSender<String>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap_or(0);
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let request = String::from_utf8_lossy(&got).into_owned();
        let tunnel = request.starts_with("CONNECT ");
        let _ = seen.send(request);
        let reply = if tunnel {
            String::from("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
        } else {
            let body = r#"{"access_token":"fresh-through-the-proxy","token_type":"Bearer","expires_in":3600,"refresh_token":"rotated-rt"}"#;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let _ = conn.write_all(reply.as_bytes()).await;
    }
}

#[tokio::test]
async fn a_refresh_goes_through_the_configured_proxy() {
    let dir = std::env::temp_dir().join(format!("mailoauth-proxy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = FileStore::new(dir.clone());
    store
        .save(
            MAILBOX,
            &TokenSet {
                access_token: Secret::new(String::from("expired-access-token")),
                refresh_token: Some(Secret::new(String::from("stored-rt"))),
                expires_at: Some(now().saturating_sub(10)),
                scopes: vec!["mail".into()],
                account: Some(MAILBOX.into()),
                obtained_at: now().saturating_sub(4000),
            },
        )
        .unwrap();

    let expire = |store: &FileStore| {
        let held = store.load(MAILBOX).unwrap().unwrap();
        store
            .save(
                MAILBOX,
                &TokenSet {
                    expires_at: Some(now().saturating_sub(10)),
                    ..held
                },
            )
            .unwrap();
    };
    // A loopback port nothing listens on: only the proxy can answer for it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(proxy(listener, tx));
    set_proxy(Some(&proxy_url)).unwrap();

    // https: the proxy is asked for a tunnel to the provider (and refuses it here).
    let err = refresh_if_needed(&account("https://login.provider.invalid"), &store, now())
        .await
        .unwrap_err();
    let request = seen.try_recv().expect("the proxy was not asked");
    assert!(
        request.starts_with("CONNECT login.provider.invalid:443 HTTP/1.1"),
        "{request}"
    );
    assert!(!err.to_string().contains("stored-rt"), "{err}");

    // http on loopback: the proxy carries the refresh itself and the rotated token is saved.
    let token = refresh_if_needed(&account(&closed), &store, now())
        .await
        .unwrap();
    assert_eq!(token.expose(), "fresh-through-the-proxy");
    let request = seen.try_recv().expect("the proxy was not asked");
    assert!(
        request.starts_with(&format!("POST {closed}/token HTTP/1.1")),
        "{request}"
    );
    assert!(request.contains("grant_type=refresh_token"), "{request}");
    let saved = store.load(MAILBOX).unwrap().unwrap();
    assert_eq!(saved.refresh_token.unwrap().expose(), "rotated-rt");

    // Unset, the same refresh has no way to the token endpoint.
    set_proxy(None).unwrap();
    expire(&store);
    assert!(refresh_if_needed(&account(&closed), &store, now())
        .await
        .is_err());
    assert!(
        seen.try_recv().is_err(),
        "the proxy was used after it was unset"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
