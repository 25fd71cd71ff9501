//! `mailoauth check`: log in to the SMTP and IMAP servers with a token, step by step, and say
//! what failed and how to fix it.
//!
//! Until accounts are stored (issue 7) the servers and the token are given as flags; the
//! `mailoauth check <account>` form is added with the configuration.

use mailoauth::probe::{
    self, CheckReport, CheckRequest, Endpoint, MechanismChoice, ProbeEvent, ProtocolReport,
    StepStatus, Timeouts, TlsTrust,
};
use mailoauth::secret::Secret;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when a test failed.
const FAILED: u8 = 1;
/// Exit code for unusable arguments.
const USAGE: u8 = 2;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  MAIL_TOKEN=... mailoauth check --mailbox scanner@contoso.com \\\n      --smtp smtp.office365.com:587:starttls --imap outlook.office365.com:993:tls --token-env MAIL_TOKEN\n\nSecurity is tls (implicit, ports 993/465), starttls (ports 587/143/25) or none.\nThe form `mailoauth check <account>`, reading servers and token from a stored account, is not built yet (it comes with the configuration)."
)]
pub struct Args {
    /// The mailbox the token belongs to (the login's user name).
    #[arg(long)]
    mailbox: String,
    /// SMTP server to test as host:port:security, e.g. smtp.office365.com:587:starttls.
    #[arg(long, value_name = "HOST:PORT:SECURITY")]
    smtp: Option<String>,
    /// IMAP server to test as host:port:security, e.g. outlook.office365.com:993:tls.
    #[arg(long, value_name = "HOST:PORT:SECURITY")]
    imap: Option<String>,
    /// Name of the environment variable that holds the access token.
    #[arg(long, value_name = "VAR", conflicts_with = "token_file")]
    token_env: Option<String>,
    /// File that holds the access token (only the token, surrounding spaces are ignored).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Login mechanism: auto, xoauth2 or oauthbearer.
    #[arg(long, default_value = "auto", value_parser = parse_mechanism)]
    mechanism: MechanismChoice,
    /// PEM file of an extra CA to trust (an on-premise server's own CA).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the one server certificate to accept (shown by a failed check).
    #[arg(long, value_name = "SHA256")]
    pin: Option<String>,
    /// After the SMTP login, send a test message to this address.
    #[arg(long, value_name = "ADDRESS")]
    send_test_to: Option<String>,
    /// Local address to connect from.
    #[arg(long, value_name = "IP")]
    source_address: Option<String>,
    /// Seconds to wait for a server's greeting before concluding the port expects implicit TLS.
    #[arg(long, default_value_t = 4, value_name = "SECONDS")]
    greeting_timeout: u32,
    /// Print the report as JSON (no live progress).
    #[arg(long)]
    json: bool,
}

fn parse_mechanism(s: &str) -> Result<MechanismChoice, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(MechanismChoice::Auto),
        "xoauth2" => Ok(MechanismChoice::Xoauth2),
        "oauthbearer" => Ok(MechanismChoice::Oauthbearer),
        _ => Err("use auto, xoauth2 or oauthbearer".into()),
    }
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("mailoauth check: {msg}");
    ExitCode::from(USAGE)
}

fn read_token(args: &Args) -> Result<Secret<String>, String> {
    let token = match (&args.token_env, &args.token_file) {
        (Some(var), _) => std::env::var(var)
            .map_err(|_| format!("--token-env: the variable {var} is not set (or not UTF-8)"))?,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("--token-file: cannot read {}: {e}", path.display()))?,
        (None, None) => {
            return Err("give the access token with --token-env VAR or --token-file FILE".into())
        }
    };
    let token = token.trim().to_string();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err("the token is empty or has spaces inside: give only the access token".into());
    }
    Ok(Secret::new(token))
}

pub fn run(args: Args) -> ExitCode {
    let token = match read_token(&args) {
        Ok(t) => t,
        Err(msg) => return usage(msg),
    };
    let parse = |flag: &str, v: &Option<String>| -> Result<Option<Endpoint>, String> {
        v.as_deref()
            .map(|s| Endpoint::parse(s).map_err(|e| format!("--{flag}: {e}")))
            .transpose()
    };
    let (smtp, imap) = match (parse("smtp", &args.smtp), parse("imap", &args.imap)) {
        (Ok(s), Ok(i)) => (s, i),
        (Err(m), _) | (_, Err(m)) => return usage(m),
    };
    if smtp.is_none() && imap.is_none() {
        return usage("give --smtp, --imap or both");
    }
    let extra_ca_pem = match &args.ca_file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(pem) => Some(pem),
            Err(e) => return usage(format!("--ca-file: cannot read {}: {e}", path.display())),
        },
        None => None,
    };
    let req = CheckRequest {
        mailbox: args.mailbox.clone(),
        smtp,
        imap,
        mechanism: args.mechanism,
        tls: TlsTrust {
            extra_ca_pem,
            pinned_sha256: args.pin.clone(),
        },
        send_test_to: args.send_test_to.clone(),
        source_address: args.source_address.clone(),
        timeouts: Timeouts {
            greeting_ms: args.greeting_timeout.saturating_mul(1000),
            ..Timeouts::default()
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailoauth check: cannot start the async runtime: {e}");
            return ExitCode::from(FAILED);
        }
    };
    let json = args.json;
    let live = move |e: ProbeEvent| {
        if !json && e.status != StepStatus::Running {
            eprintln!("{}", event_line(&e));
        }
    };
    let (_cancel, rx) = tokio::sync::watch::channel(false);
    let report = runtime.block_on(probe::check(&req, &token, &live, &rx));
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("mailoauth check: cannot write JSON: {e}");
                return ExitCode::from(FAILED);
            }
        }
    } else {
        print!("{}", render(&report));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}

fn event_line(e: &ProbeEvent) -> String {
    let mark = if e.status == StepStatus::Passed {
        "ok  "
    } else {
        "FAIL"
    };
    format!(
        "  [{:>5} ms] {} {mark} {}: {}",
        e.at_ms,
        e.protocol.label(),
        e.step.label(),
        e.detail.lines().next().unwrap_or_default()
    )
}

/// The report as a person reads it: a summary per protocol, and for a failure the server's
/// words, the cause and the numbered fix.
fn render(r: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nmailoauth check for {}", r.mailbox);
    if let Some(f) = &r.failure {
        let _ = writeln!(out, "  cannot start: {}", f.message);
    }
    for p in [&r.smtp, &r.imap].into_iter().flatten() {
        render_protocol(&mut out, p);
    }
    let _ = writeln!(
        out,
        "\n{} in {} ms (SMTP and IMAP tested at the same time).",
        if r.ok { "PASSED" } else { "FAILED" },
        r.elapsed_ms
    );
    out
}

fn render_protocol(out: &mut String, p: &ProtocolReport) {
    let _ = writeln!(
        out,
        "\n{} {}:{} ({}): {}",
        p.protocol.label(),
        p.endpoint.host,
        p.endpoint.port,
        p.endpoint.security.label(),
        if p.ok { "passed" } else { "FAILED" }
    );
    for s in &p.steps {
        let mark = if s.status == StepStatus::Passed {
            "ok  "
        } else {
            "FAIL"
        };
        let _ = writeln!(
            out,
            "  {mark} {:<20} {:>5} ms  {}",
            s.step.label(),
            s.elapsed_ms,
            // A failure's server lines follow below; the first line says what happened.
            s.detail.lines().next().unwrap_or_default()
        );
    }
    if let Some(t) = &p.tls {
        let _ = writeln!(
            out,
            "  certificate: {} (issuer {}), SHA-256 {}",
            t.subject, t.issuer, t.sha256
        );
    }
    let Some(f) = &p.failure else {
        return;
    };
    if let Some(reply) = &f.server_reply {
        let _ = writeln!(out, "  server said:");
        for line in reply.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    if let Some(c) = &f.challenge {
        let _ = writeln!(out, "  decoded challenge: {}", c.summary());
    }
    match &f.diagnosis {
        Some(d) => {
            let _ = writeln!(out, "  diagnosis: {} [{}]", d.title, d.id);
            let _ = writeln!(out, "  cause: {}", d.cause);
            let _ = writeln!(out, "  fix:");
            for (i, step) in d.fix.iter().enumerate() {
                let _ = writeln!(out, "    {}. {step}", i + 1);
            }
            let _ = writeln!(out, "  where: {}", d.place);
            if let Some(link) = &d.link {
                let _ = writeln!(out, "  link: {link}");
            }
        }
        None => {
            let _ = writeln!(out, "  {}", f.message);
        }
    }
}
