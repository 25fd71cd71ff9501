//! The loopback listener of the authorization code flow under attack (issue #9), while a real
//! sign-in at the test provider runs through it: thousands of malformed requests, oversized
//! ones, slow ones (one byte at a time), all concurrently, plus another process guessing the
//! path and the `state`. The sign-in must still complete with the right redirect, the process's
//! peak memory must not grow with what the attackers send, and the port must answer nothing on a
//! non-loopback address. Every attack loop is bounded in count and in time.

mod common;

use common::browser::Browser;
use common::peers::{peers, ALICE, MAIL_SCOPES, PUBLIC_CLIENT};
use mailoauth::oauth::loopback::{LoopbackOptions, MAX_REPORTED};
use mailoauth::oauth::{authorize, AccountAuth, FlowEvent, FlowHooks};
use mailoauth::provider::{ClientAuth, EndpointOverrides, Flow, Purpose};
use mailoauth::store::file::FileStore;
use mailoauth::store::TokenStore;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
// The network namespace test (Linux only).
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use url::Url;
#[cfg(target_os = "linux")]
use {
    mailoauth::oauth::loopback,
    std::net::{Ipv4Addr, TcpStream as StdTcpStream},
};

/// Malformed requests sent, 64 at a time.
const MALFORMED: usize = 2000;
const MALFORMED_PARALLEL: usize = 64;
/// Requests of the other process guessing the path and the state.
const GUESSES: usize = 300;
/// Oversized requests, each offering this many bytes without ever ending its head.
const OVERSIZED: usize = 16;
const OVERSIZED_BYTES: usize = 32 * 1024 * 1024;
/// Slow clients kept open at once, each sending one byte every `SLOW_BYTE_EVERY`.
const SLOW_AT_ONCE: usize = 96;
const SLOW_BYTE_EVERY: Duration = Duration::from_millis(40);
/// Growth of the process's peak resident memory allowed during the attack. The attackers offer
/// `OVERSIZED * OVERSIZED_BYTES` = 512 MiB; a listener that buffered it would blow far past this.
const PEAK_GROWTH_LIMIT_KB: u64 = 48 * 1024;

fn account() -> AccountAuth {
    let issuer = peers().issuer().to_string();
    AccountAuth {
        provider: "generic".into(),
        cloud: Default::default(),
        tenant: None,
        client_id: PUBLIC_CLIENT.into(),
        client_auth: ClientAuth::None,
        client_secret: None,
        key_id: None,
        certificate: None,
        flow: Flow::Loopback,
        purpose: Purpose::Both,
        scopes: MAIL_SCOPES.iter().map(|s| s.to_string()).collect(),
        endpoints: EndpointOverrides {
            authorization: Some(format!("{issuer}/auth")),
            token: Some(format!("{issuer}/token")),
            device_authorization: Some(format!("{issuer}/device/auth")),
            issuer: Some(issuer),
            ..Default::default()
        },
        mailbox: ALICE.0.into(),
        redirect_port: None,
    }
}

/// A field of /proc/self/status in kB (`VmHWM` is the peak resident set).
fn proc_status_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// A small deterministic generator for the malformed requests.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// The `i`-th malformed request: broken request lines, bad encodings, wrong methods, stray
/// paths, redirects without or with a wrong state, random bytes, heads that never end.
fn malformed(i: usize, path: &str) -> Vec<u8> {
    let mut rng = Lcg(i as u64 + 1);
    match i % 14 {
        0 => b"\r\n\r\n".to_vec(),
        1 => b"GARBAGE\r\n\r\n".to_vec(),
        2 => b"GET\r\n\r\n".to_vec(),
        3 => format!("GET {path}?code=%ZZ&state=%\r\n\r\n").into_bytes(),
        4 => format!("GET http://evil.example{path}?code=x HTTP/1.1\r\n\r\n").into_bytes(),
        5 => b"GET /\xff\xfe\x00 HTTP/1.1\r\n\r\n".to_vec(),
        6 => format!("POST {path} HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").into_bytes(),
        7 => format!("GET {path}?code=forged&state=wrong-{i} HTTP/1.1\r\n\r\n").into_bytes(),
        8 => format!("GET {path}?error=access_denied HTTP/1.1\r\n\r\n").into_bytes(),
        9 => format!("GET /{path}/../{path}?code=x HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        10 => format!("GET {path}?code={} HTTP/1.1\r\n\r\n", "a".repeat(15_000)).into_bytes(),
        11 => format!("GET {path} HTTP/1.1\r\nHost: x\r\n").into_bytes(), // head never ends
        12 => (0..(rng.next() % 4096 + 1))
            .map(|_| rng.next() as u8)
            .collect(),
        _ => {
            let mut v = b"GET / HTTP/1.1\r\n".to_vec();
            for n in 0..(rng.next() % 300) {
                v.extend_from_slice(format!("X-H{n}: {}\r\n", "v".repeat(40)).as_bytes());
            }
            v.extend_from_slice(b"\r\n");
            v
        }
    }
}

/// The kinds of [`malformed`] request the listener must answer (with an error page); the others
/// (no request line, random bytes, a head that never ends) may also be closed unanswered.
fn must_answer(i: usize) -> bool {
    matches!(i % 14, 3 | 5 | 6 | 7 | 8 | 9 | 10 | 13)
}

/// Sends `request` on a new connection, then ends the sending side unless the head is meant to
/// stay open; returns the status line answered, if any.
async fn send(addr: SocketAddr, request: Vec<u8>, keep_open: bool) -> Option<String> {
    let mut s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return Some(format!("connect: {e}")),
    };
    if let Err(e) = s.write_all(&request).await {
        return Some(format!("write: {e}"));
    }
    if !keep_open {
        let _ = s.shutdown().await;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    text.lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .map(str::to_string)
}

/// Opens slow connections (one byte every `SLOW_BYTE_EVERY` of a redirect that never ends),
/// keeping `SLOW_AT_ONCE` open, until `stop`. Returns how many were opened.
async fn slow_clients(addr: SocketAddr, path: String, stop: Arc<AtomicBool>) -> usize {
    let opened = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        while tasks.len() < SLOW_AT_ONCE {
            let (path, stop, opened) = (path.clone(), stop.clone(), opened.clone());
            tasks.spawn(async move {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    return;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                let line = format!("GET {path}?code=slow&state=slow HTTP/1.1\r\nHost: x\r\nX: ");
                for b in line.bytes().chain(std::iter::repeat(b'z')).take(400) {
                    if stop.load(Ordering::Relaxed) || s.write_all(&[b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(SLOW_BYTE_EVERY).await;
                }
            });
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), tasks.join_next()).await;
    }
    tasks.shutdown().await;
    opened.load(Ordering::Relaxed)
}

/// Offers `OVERSIZED_BYTES` of a request head that never ends; returns how many were accepted
/// by the socket before the listener cut the connection.
async fn oversized(addr: SocketAddr, path: String) -> usize {
    static CHUNK: [u8; 64 * 1024] = [b'a'; 64 * 1024];
    let mut s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("oversized: connect: {e}");
            return 0;
        }
    };
    let mut sent = 0;
    if let Err(e) = s.write_all(format!("GET {path}?code=").as_bytes()).await {
        eprintln!("oversized: first write: {e}");
        return 0;
    }
    let until = Instant::now() + Duration::from_secs(20);
    while sent < OVERSIZED_BYTES && Instant::now() < until {
        match tokio::time::timeout(Duration::from_secs(6), s.write(&CHUNK)).await {
            Ok(Ok(n)) if n > 0 => sent += n,
            _ => break,
        }
    }
    sent
}

/// Another process (python3) guessing the path and the state; returns its tally of statuses.
fn guessing_process(redirect_uri: &str, count: usize) -> serde_json::Value {
    let script = r#"
import http.client, json, secrets, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); n = int(sys.argv[2]); path = u.path
paths = ["/", "/favicon.ico", path + "/", path.upper(), "/admin", "/callback/../callback",
         path + "?code=guess", path + "?error=access_denied"]
tally = {}
for i in range(n):
    p = paths[i % len(paths)] if i % 2 else f"{path}?code=guess{i}&state={secrets.token_urlsafe(16)}"
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", p)
        s = str(c.getresponse().status)
        c.close()
    except Exception as e:
        s = type(e).__name__
    tally[s] = tally.get(s, 0) + 1
print(json.dumps(tally))
"#;
    let out = Command::new("python3")
        .args(["-c", script, redirect_uri, &count.to_string()])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the guessing process failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the guessing process prints its tally")
}

/// What the attack saw, for the assertions.
struct Attack {
    statuses: Vec<Option<String>>,
    guesses: serde_json::Value,
    oversized_accepted: Vec<usize>,
    slow_opened: usize,
    landing_page: String,
    peak_growth_kb: u64,
}

/// The attack and the real user's sign-in, once mailoauth opened the browser at `url`.
async fn attack_then_sign_in(url: String) -> Attack {
    let auth_url = Url::parse(&url).expect("authorization URL");
    let redirect = auth_url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri in the authorization URL");
    let r = Url::parse(&redirect).expect("redirect URI");
    let addr = SocketAddr::new(
        r.host_str()
            .unwrap()
            .trim_matches(['[', ']'])
            .parse()
            .unwrap(),
        r.port().unwrap(),
    );
    let path = r.path().to_string();
    let peak_before = proc_status_kb("VmHWM");

    // Oversized requests first, alone: fewer than the listener reads at once, so only its
    // per-request limit keeps them from being buffered whole.
    let big: Vec<_> = (0..OVERSIZED)
        .map(|_| tokio::spawn(oversized(addr, path.clone())))
        .collect();
    let mut oversized_accepted = Vec::new();
    for b in big {
        oversized_accepted.push(b.await.unwrap());
    }
    // Then slow clients, all the time until the sign-in is done, malformed requests and the
    // guessing process meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let slow = tokio::spawn(slow_clients(addr, path.clone(), stop.clone()));
    let guesser = {
        let redirect = redirect.clone();
        tokio::task::spawn_blocking(move || guessing_process(&redirect, GUESSES))
    };
    let mut statuses = vec![None; MALFORMED];
    let mut running = tokio::task::JoinSet::new();
    for i in 0..MALFORMED {
        if running.len() >= MALFORMED_PARALLEL {
            let (n, s) = running.join_next().await.unwrap().unwrap();
            statuses[n] = s;
        }
        let request = malformed(i, &path);
        running.spawn(async move { (i, send(addr, request, i % 14 == 11).await) });
    }
    while let Some(done) = running.join_next().await {
        let (n, s) = done.unwrap();
        statuses[n] = s;
    }
    let guesses = guesser.await.unwrap();

    // The real user signs in while slow clients still hold connections.
    let browser = Browser::new();
    let is_app = |u: &Url| u.as_str().starts_with(&redirect);
    let (interaction, page) = browser.follow(auth_url, is_app).await;
    assert!(page.contains("password"), "the login form: {page}");
    let landing = browser.login(&interaction, ALICE, is_app).await.0;
    assert!(is_app(&landing), "redirected to the listener: {landing}");
    let started = Instant::now();
    let landing_page = reqwest::get(landing)
        .await
        .expect("GET the listener with the real redirect")
        .text()
        .await
        .unwrap_or_default();
    eprintln!(
        "the real redirect was answered {:?} after it was sent",
        started.elapsed()
    );
    stop.store(true, Ordering::Relaxed);
    let slow_opened = slow.await.unwrap();
    let peak_growth_kb = proc_status_kb("VmHWM").saturating_sub(peak_before);
    Attack {
        statuses,
        guesses,
        oversized_accepted,
        slow_opened,
        landing_page,
        peak_growth_kb,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_completes_while_the_listener_is_attacked_and_memory_stays_bounded() {
    let dir = std::env::temp_dir().join(format!("mailoauth-attack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = FileStore::new(dir.clone());
    let auth = account();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let on_event = move |e: FlowEvent| ev.lock().unwrap().push(e);
    let open = move |url: &str| tx.send(url.to_string()).map_err(|e| e.to_string());
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback = LoopbackOptions {
        path: "/callback".into(),
        timeout: Duration::from_secs(90),
        ..Default::default()
    };
    let started = Instant::now();
    let attacker = tokio::spawn(async move {
        let url = rx.recv().await.expect("mailoauth opened the browser");
        attack_then_sign_in(url).await
    });
    let result = tokio::time::timeout(Duration::from_secs(120), authorize(&auth, &store, &hooks))
        .await
        .expect("the sign-in ended within 120 s");
    let attack = tokio::time::timeout(Duration::from_secs(60), attacker)
        .await
        .expect("the attack ended")
        .expect("the attack task");
    eprintln!(
        "attack + sign-in took {:?}; peak memory grew {} kB; {} slow clients; oversized bytes accepted per connection: {:?}; guesses: {}",
        started.elapsed(),
        attack.peak_growth_kb,
        attack.slow_opened,
        attack.oversized_accepted,
        attack.guesses
    );

    // The flow completed with the real redirect: the code was exchanged and the tokens stored.
    let tokens = result.expect("the sign-in completes under attack");
    assert!(
        attack
            .landing_page
            .contains("Signed in as alice@example.test"),
        "{}",
        attack.landing_page
    );
    let stored = store.load(ALICE.0).unwrap().expect("tokens stored");
    assert_eq!(stored.access_token, tokens.access_token);

    // No attacker request was taken for the redirect; the listener answered the malformed ones
    // with errors (or closed them), never with success.
    let answered = attack.statuses.iter().flatten().count();
    let ok = |s: &String| s.contains(" 400 ") || s.contains(" 404 ") || s.contains(" 405 ");
    assert!(
        attack.statuses.iter().flatten().all(ok),
        "{:?}",
        attack.statuses.iter().flatten().find(|s| !ok(s))
    );
    let must = (0..MALFORMED).filter(|&i| must_answer(i)).count();
    let unanswered: Vec<usize> = (0..MALFORMED)
        .filter(|&i| {
            must_answer(i)
                && !attack.statuses[i]
                    .as_deref()
                    .is_some_and(|s| s.starts_with("HTTP"))
        })
        .collect();
    eprintln!(
        "{answered} of {MALFORMED} malformed requests answered; {} of the {must} that must be were not (kinds {:?})",
        unanswered.len(),
        unanswered.iter().map(|i| i % 14).collect::<Vec<_>>()
    );
    // A connection evicted by the flood of slow ones before it was read is closed unanswered,
    // which a busy machine may show for a few; most must get their error page.
    assert!(
        unanswered.len() * 20 <= must,
        "{} of {must} malformed requests got no answer, e.g. kinds {:?}",
        unanswered.len(),
        unanswered
            .iter()
            .take(40)
            .map(|&i| (i, attack.statuses[i].clone()))
            .collect::<Vec<_>>()
    );
    // The other process's guesses: wrong paths 404/405, wrong or missing state 400, nothing else.
    let tally = attack.guesses.as_object().expect("a tally");
    let total: u64 = tally.values().filter_map(|v| v.as_u64()).sum();
    assert_eq!(total, GUESSES as u64, "{tally:?}");
    assert!(
        tally.keys().all(|k| k == "400" || k == "404"),
        "the guesses got other answers: {tally:?}"
    );
    assert!(tally.contains_key("400") && tally.contains_key("404"));

    // The attackers offered 512 MiB; the listener read at most its limit of each.
    assert!(
        attack
            .oversized_accepted
            .iter()
            .all(|&n| n < OVERSIZED_BYTES),
        "an oversized request was read to its end: {:?}",
        attack.oversized_accepted
    );
    assert!(
        attack.peak_growth_kb < PEAK_GROWTH_LIMIT_KB,
        "peak resident memory grew {} kB during the attack (limit {PEAK_GROWTH_LIMIT_KB} kB)",
        attack.peak_growth_kb
    );
    assert!(attack.slow_opened >= SLOW_AT_ONCE, "{}", attack.slow_opened);

    // Ignored requests were reported, but only up to the bound.
    let ignored = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, FlowEvent::RedirectIgnored { .. }))
        .count();
    assert!(ignored > 0 && ignored <= MAX_REPORTED, "{ignored}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A local, non-loopback address, added to loopback inside a private network namespace.
#[cfg(target_os = "linux")]
const NETNS_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// The listener's port answers nothing on a non-loopback address. The check runs on a thread
/// moved into a private network namespace of its own (`unshare(CLONE_NEWNET)` affects only the
/// calling thread; `ip` started from it inherits it), where `192.0.2.1` is a local address: no
/// connection is ever made to an address of this machine's real network. Needs the right to
/// create network namespaces (root, as the test command runs) and `ip` (iproute2, installed by
/// scripts/setup.sh). Linux only (network namespaces).
#[cfg(target_os = "linux")]
#[test]
fn nothing_is_answered_on_a_non_loopback_address() {
    std::thread::spawn(|| {
        // SAFETY: unshare with CLONE_NEWNET only changes this thread's network namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "a private network namespace is needed for this check (run as root): {}",
            std::io::Error::last_os_error()
        );
        let ip = |args: &[&str]| {
            let st = Command::new("ip")
                .args(args)
                .status()
                .expect("run ip (iproute2)");
            assert!(st.success(), "ip {args:?}");
        };
        ip(&["link", "set", "lo", "up"]);
        ip(&["addr", "add", "192.0.2.1/24", "dev", "lo"]);

        // The address is local here: a socket bound to every address answers on it.
        let any = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let any_port = any.local_addr().unwrap().port();
        StdTcpStream::connect_timeout(
            &SocketAddr::from((NETNS_ADDR, any_port)),
            Duration::from_secs(2),
        )
        .expect("192.0.2.1 is reachable in the namespace");

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = loopback::bind(&LoopbackOptions::default()).await.unwrap();
            let port = listener.local_addr().unwrap().port();
            assert!(listener.local_addr().unwrap().ip().is_loopback());
            StdTcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                Duration::from_secs(2),
            )
            .expect("the listener answers on loopback");
            let e = StdTcpStream::connect_timeout(
                &SocketAddr::from((NETNS_ADDR, port)),
                Duration::from_secs(2),
            )
            .expect_err("the listener must not answer on a non-loopback address");
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
        });
    })
    .join()
    .expect("the namespace check passed");
}
