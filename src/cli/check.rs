//! `mailoauth check`: log in to the SMTP and IMAP servers with a token, step by step, and say
//! what failed and how to fix it.
//!
//! Until accounts are stored (issue 7) the servers and the token are given as flags; the
//! `mailoauth check <account>` form is added with the configuration.

use mailoauth::probe::{
    self, CheckReport, CheckRequest, Endpoint, MechanismChoice, ProbeEvent, ProtocolReport,
    StepStatus, Timeouts, TlsTrust,
};
use mailoauth::provider::{Cloud, MailProtocol};
use mailoauth::secret::Secret;
use mailoauth::validate;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when a test failed.
const FAILED: u8 = 1;
use super::exit::EX_USAGE as USAGE;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  MAIL_TOKEN=... mailoauth check --mailbox scanner@contoso.com \\\n      --smtp smtp.office365.com:587:starttls --imap outlook.office365.com:993:tls --token-env MAIL_TOKEN\n\nServers are host:port[:security]. Security is tls (implicit, ports 993/465), starttls (ports 587/143/25) or none; left out, it is the standard port's. none (the token in clear text) is accepted only for a server on this machine: 127.0.0.1, ::1 or localhost.\n\nWith an account name, servers, TLS trust and a fresh token come from the config file:\n  mailoauth check scanner            (the default config)\n  mailoauth check --config /etc/mailoauth/mailoauth.toml scanner\n\nExit status: 0 every test passed; 1 a test failed (the report says why); 64 a value on the command line cannot be used; 67 no account of that name; 69 the mailoauth service holds the account and is not running; 75 temporary failure while getting the token (try again later); 77 the account is held by the mailoauth service and this user may not manage it; 78 the config file cannot be used; 80 the account must sign in again.\n\nAn account the mailoauth service holds (token_store = \"service\") is checked by the service itself (a refresh first, then the logins), asked by a manager: root or a member of the group mailoauth."
)]
pub struct Args {
    /// An account of the config file: test it with its saved servers and a fresh token.
    #[arg(conflicts_with_all = ["mailbox", "smtp", "imap", "token_env", "token_file", "ca_file", "pin"])]
    account: Option<String>,
    /// The config file holding the account (default: the platform's location).
    #[arg(long, value_name = "FILE", requires = "account")]
    config: Option<std::path::PathBuf>,
    /// The mailoauth service's socket, for an account it holds (default:
    /// $MAILOAUTH_SERVICE_SOCKET, else the platform's).
    #[arg(long, value_name = "PATH", requires = "account")]
    socket: Option<PathBuf>,
    /// The mailbox the token belongs to (the login's user name).
    #[arg(long, required_unless_present = "account")]
    mailbox: Option<String>,
    /// SMTP server to test as host:port[:security], e.g. smtp.office365.com:587:starttls.
    #[arg(long, value_name = "HOST:PORT[:SECURITY]")]
    smtp: Option<String>,
    /// IMAP server to test as host:port[:security], e.g. outlook.office365.com:993:tls.
    #[arg(long, value_name = "HOST:PORT[:SECURITY]")]
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

/// A server flag as `host:port[:security]`, checked before anything is looked up: the host as
/// the wizard's server field checks it (a URL such as `smtp://host` is refused, not sent to DNS
/// with its scheme), the security given or the port's usual one, and never a login in clear text
/// to another machine.
fn parse_server(flag: &str, protocol: MailProtocol, text: &str) -> Result<Endpoint, String> {
    let example = match protocol {
        MailProtocol::Smtp => "smtp.office365.com:587:starttls",
        MailProtocol::Imap => "outlook.office365.com:993:tls",
    };
    let form = format!(
        "write host:port[:security], e.g. {example}; security is tls, starttls or none, and may be left out for the standard ports (993 and 465 tls; 143, 587 and 25 starttls)"
    );
    let shown = mailoauth::diagnosis::scrub(text.trim());
    let text = text.trim();
    if let Some((scheme, _)) = text.split_once("://") {
        return Err(format!(
            "--{flag} {shown:?}: {scheme}:// makes this a URL, not a server; {form}"
        ));
    }
    let security_given = text
        .rsplit_once(':')
        .is_some_and(|(_, last)| !last.is_empty() && !last.chars().all(|c| c.is_ascii_digit()));
    let full = if security_given {
        text.to_string()
    } else {
        let port = text
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .ok_or_else(|| format!("--{flag} {shown:?}: no port; {form}"))?;
        let security = validate::input::usual_security(protocol, port).ok_or_else(|| {
            format!(
                "--{flag} {shown:?}: {port} is not a standard {} port, so the security must be given; {form}",
                protocol.label()
            )
        })?;
        format!("{text}:{}", security.as_str())
    };
    let ep = Endpoint::parse(&full).map_err(|_| format!("--{flag} {shown:?}: {form}"))?;
    let field = match protocol {
        MailProtocol::Smtp => validate::input::field::SMTP_HOST,
        MailProtocol::Imap => validate::input::field::IMAP_HOST,
    };
    let host = validate::input::host(field, &ep.host, protocol, None, Cloud::Worldwide);
    if let Some(f) = host.findings.iter().find(|f| f.is_error()) {
        return Err(format!("--{flag} {shown:?}: {} {}", f.message, f.fix));
    }
    validate::input::check_cleartext(protocol, &ep.host, ep.port, ep.security)
        .map_err(|refused| format!("--{flag} {shown:?}: {refused}"))?;
    Ok(ep)
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

/// The request and token for `mailoauth check <account>`: everything from the config file;
/// the command line may still set the mechanism, a test recipient and the source address.
fn from_account(
    args: &Args,
    name: &str,
    runtime: &tokio::runtime::Runtime,
) -> Result<(CheckRequest, Secret<String>), (u8, String)> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(mailoauth::config::default_path);
    // The same statuses as `mailoauth token` for the same causes (src/cli/exit.rs): a config
    // that cannot be used, an unknown account, a sign-in to repeat, a temporary failure.
    let status = super::exit::token_status;
    let doc = mailoauth::config::load(&path).map_err(|e| {
        let code = status(mailoauth::account::TokenFailure::of_config(&e));
        (code, e.to_string())
    })?;
    let (mut req, token) = runtime
        .block_on(mailoauth::account::check(&doc, name, &|w| {
            eprintln!("mailoauth check: {w}")
        }))
        .map_err(|e| {
            let code = match &e {
                mailoauth::account::AccountError::Token(t) if t.needs_reauthorization() => {
                    return (
                        status(t.failure()),
                        format!(
                            "{e}\nmailoauth check: account {name:?} must sign in again: run {}",
                            super::reauthorize::command(Some(&path), name)
                        ),
                    );
                }
                mailoauth::account::AccountError::Token(t) => status(t.failure()),
                mailoauth::account::AccountError::Config(c) => {
                    status(mailoauth::account::TokenFailure::of_config(c))
                }
                _ => FAILED,
            };
            (code, e.to_string())
        })?;
    req.mechanism = args.mechanism;
    req.send_test_to = args.send_test_to.clone();
    req.source_address = args.source_address.clone();
    req.timeouts.greeting_ms = args.greeting_timeout.saturating_mul(1000);
    Ok((req, token))
}

/// `mailoauth check NAME` for an account the service holds: the service runs the check (a
/// forced refresh, then the logins) and answers with the report, printed as a direct check's.
/// `None` when the account is not held by the service (or the config cannot be read: the
/// direct path says why).
fn held_by_service(args: &Args, name: &str, runtime: &tokio::runtime::Runtime) -> Option<ExitCode> {
    use super::exit::{EX_NOPERM, EX_NOUSER, EX_TEMPFAIL, EX_UNAVAILABLE, NEEDS_REAUTHORIZATION};
    use mailoauth::service::client::{self, ClientError};
    use mailoauth::service::protocol::Request;
    let path = args
        .config
        .clone()
        .unwrap_or_else(mailoauth::config::default_path);
    let doc = mailoauth::config::load(&path).ok()?;
    let account = doc.account(name).ok()?;
    if !mailoauth::service::is_service_owned(account) {
        return None;
    }
    let fail = |code: u8, msg: String| {
        eprintln!("mailoauth check: {msg}");
        Some(ExitCode::from(code))
    };
    let socket = client::socket_path(args.socket.as_deref());
    let req = Request::Check {
        account: name.to_string(),
    };
    // The refresh, then both logins with their time-outs: a bound only against a hang.
    let wait = client::wait_for(&req) + std::time::Duration::from_secs(90);
    if !args.json {
        eprintln!("mailoauth check: account {name:?} is held by the mailoauth service; the service runs the check");
    }
    if args.send_test_to.is_some()
        || args.source_address.is_some()
        || !matches!(args.mechanism, MechanismChoice::Auto)
    {
        eprintln!("mailoauth check: --send-test-to, --source-address and --mechanism are not used: the service checks with the account's saved settings");
    }
    let value = match runtime.block_on(client::ask(&socket, &req, wait)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            let reauthorize = || {
                format!(
                    "\nmailoauth check: account {name:?} must sign in again: run {}",
                    super::reauthorize::command(Some(&path), name)
                )
            };
            return match e.code.as_str() {
                "refused" => fail(
                    EX_NOPERM,
                    format!("the mailoauth service refused: {} (run the check as root, or as a member of the group {})", e.message, mailoauth::service::peer::MANAGER_GROUP),
                ),
                "unknown_account" | "not_service_owned" => fail(EX_NOUSER, e.message),
                _ if e.reauthorize => fail(
                    NEEDS_REAUTHORIZATION,
                    format!("{}{}", e.message, reauthorize()),
                ),
                "temporary" | "busy" | "rate_limited" => fail(EX_TEMPFAIL, e.message),
                _ => fail(FAILED, e.message),
            };
        }
        Err(e @ ClientError::NotRunning { .. }) => {
            return fail(
                EX_UNAVAILABLE,
                format!(
                    "{e}; it holds account {name:?} and runs its checks. Start it: {}",
                    client::start_command()
                ),
            )
        }
        Err(e @ ClientError::Timeout { .. }) => return fail(EX_TEMPFAIL, e.to_string()),
        Err(e) => return fail(FAILED, e.to_string()),
    };
    let report: probe::CheckReport = match serde_json::from_value(value["report"].clone()) {
        Ok(r) => r,
        Err(_) => {
            return fail(
                FAILED,
                String::from("the mailoauth service answered without a report"),
            )
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(FAILED, format!("cannot write JSON: {e}")),
        }
    } else {
        print!("{}", render(&report));
    }
    Some(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("mailoauth check: cannot start the async runtime: {e}");
            ExitCode::from(FAILED)
        })
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Some(name) = args.account.clone() {
        if let Some(code) = held_by_service(&args, &name, &runtime) {
            return code;
        }
        return match from_account(&args, &name, &runtime) {
            Ok((req, token)) => run_check(&args, &runtime, &req, &token),
            Err((code, msg)) => {
                // Not a usage error: the account exists in the admin's mind but not in a usable
                // form (missing, no token, needs re-authorization) — say why and fail.
                eprintln!("mailoauth check: {msg}");
                ExitCode::from(code)
            }
        };
    }
    let token = match read_token(&args) {
        Ok(t) => t,
        Err(msg) => return usage(msg),
    };
    let parse = |flag: &str, protocol: MailProtocol, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_server(flag, protocol, s))
            .transpose()
    };
    let (smtp, imap) = match (
        parse("smtp", MailProtocol::Smtp, &args.smtp),
        parse("imap", MailProtocol::Imap, &args.imap),
    ) {
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
        mailbox: args.mailbox.clone().unwrap_or_default(),
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
    run_check(&args, &runtime, &req, &token)
}

/// Runs the check, prints the report (text or JSON), and turns the result into the exit code.
fn run_check(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    req: &CheckRequest,
    token: &Secret<String>,
) -> ExitCode {
    let json = args.json;
    let live = move |e: ProbeEvent| {
        if !json && e.status != StepStatus::Running {
            eprintln!("{}", event_line(&e));
        }
    };
    let cancel = mailoauth::oauth::CancellationToken::new();
    let report = runtime.block_on(probe::check(req, token, &live, &cancel));
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

#[cfg(test)]
mod tests {
    use super::*;
    use mailoauth::probe::{Protocol, Step, StepReport};
    use mailoauth::provider::Security;

    #[test]
    fn mechanisms_parse_case_insensitively() {
        assert_eq!(parse_mechanism("XOAUTH2"), Ok(MechanismChoice::Xoauth2));
        assert_eq!(
            parse_mechanism("oauthbearer"),
            Ok(MechanismChoice::Oauthbearer)
        );
        assert!(parse_mechanism("plain").is_err());
    }

    #[test]
    fn a_passed_report_lists_every_step() {
        let report = CheckReport {
            ok: true,
            mailbox: "scanner@contoso.com".into(),
            smtp: Some(ProtocolReport {
                protocol: Protocol::Smtp,
                endpoint: Endpoint {
                    host: "smtp.office365.com".into(),
                    port: 587,
                    security: Security::StartTls,
                },
                ok: true,
                steps: vec![StepReport {
                    step: Step::Authenticate,
                    status: StepStatus::Passed,
                    detail: "logged in as scanner@contoso.com with XOAUTH2".into(),
                    elapsed_ms: 120,
                }],
                address: Some("52.98.0.1:587".into()),
                tls: None,
                offers_xoauth2: true,
                offers_oauthbearer: false,
                mechanism: None,
                inbox_messages: None,
                test_message_sent: false,
                failure: None,
                elapsed_ms: 300,
            }),
            imap: None,
            failure: None,
            elapsed_ms: 310,
        };
        let text = render(&report);
        assert!(
            text.contains("SMTP smtp.office365.com:587 (STARTTLS): passed"),
            "{text}"
        );
        assert!(text.contains("ok   login"), "{text}");
        assert!(text.contains("PASSED in 310 ms"), "{text}");
    }

    #[test]
    fn a_token_with_spaces_is_refused_before_connecting() {
        std::env::set_var("MAILOAUTH_CHECK_TEST_TOKEN", "two words");
        let args = Args {
            account: None,
            config: None,
            socket: None,
            mailbox: Some("a@b.c".into()),
            smtp: None,
            imap: None,
            token_env: Some("MAILOAUTH_CHECK_TEST_TOKEN".into()),
            token_file: None,
            mechanism: MechanismChoice::Auto,
            ca_file: None,
            pin: None,
            send_test_to: None,
            source_address: None,
            greeting_timeout: 4,
            json: false,
        };
        let err = read_token(&args).err().unwrap_or_default();
        assert!(err.contains("spaces"), "{err}");
        assert!(!err.contains("two words"));
    }
}
