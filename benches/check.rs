//! How long a full check of both protocols takes against the local peers, run in parallel as
//! `mailoauth check` does, against the same two tests run one after the other.
//!
//! Run with `cargo bench -p mailoauth --bench check` (starts its own peers; one device flow of
//! about 5 s before measuring). Results are recorded in docs/PERFORMANCE.md.

#[path = "../tests/common/mod.rs"]
mod common;

use common::peers::{peers, ALICE};
use common::tokens::device_token;
use mailoauth::probe::{check, CheckRequest, Endpoint, MechanismChoice, Timeouts, TlsTrust};
use mailoauth::provider::Security;
use mailoauth::secret::Secret;
use std::time::{Duration, Instant};

const ROUNDS: usize = 30;

fn request(smtp: bool, imap: bool) -> CheckRequest {
    let p = peers();
    let ep = |port, security| Endpoint {
        host: "localhost".into(),
        port,
        security,
    };
    CheckRequest {
        mailbox: ALICE.0.into(),
        smtp: smtp.then(|| ep(p.submission_port(), Security::StartTls)),
        imap: imap.then(|| ep(p.imaps_port(), Security::Tls)),
        mechanism: MechanismChoice::Auto,
        tls: TlsTrust {
            extra_ca_pem: Some(String::from_utf8_lossy(&p.ca_pem()).into_owned()),
            pinned_sha256: None,
        },
        send_test_to: None,
        source_address: None,
        timeouts: Timeouts::default(),
    }
}

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    println!(
        "{name:<28} median {:>7.1} ms   mean {:>7.1} ms   min {:>7.1} ms   max {:>7.1} ms",
        ms(v[v.len() / 2]),
        mean,
        ms(v[0]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let token = Secret::new(device_token(ALICE).await);
        let cancel = mailoauth::oauth::CancellationToken::new();
        let both = request(true, true);
        let smtp = request(true, false);
        let imap = request(false, true);
        // Warm up: the system roots are loaded once per check, the servers start their workers.
        for _ in 0..3 {
            assert!(check(&both, &token, &|_| {}, &cancel).await.ok);
        }
        let (mut par, mut seq, mut s_only, mut i_only) = (vec![], vec![], vec![], vec![]);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            assert!(check(&both, &token, &|_| {}, &cancel).await.ok);
            par.push(t.elapsed());

            let t = Instant::now();
            assert!(check(&smtp, &token, &|_| {}, &cancel).await.ok);
            let mid = t.elapsed();
            assert!(check(&imap, &token, &|_| {}, &cancel).await.ok);
            seq.push(t.elapsed());
            s_only.push(mid);
            i_only.push(t.elapsed() - mid);
        }
        println!("{ROUNDS} rounds against the local peers (SMTP 587 STARTTLS, IMAP 993 TLS):");
        stats("SMTP alone", s_only);
        stats("IMAP alone", i_only);
        stats("both, one after the other", seq);
        stats("both in parallel (check)", par);
    });
}
