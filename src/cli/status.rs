//! `mailoauth status`: every account of the config with its state: OK, failing (with the
//! catalog's diagnosis), needs re-authorization (why, since when), secret expiring in N days.
//!
//! The hidden `--write-loop ACCOUNT` exists for the crash-safety test only: it records outcomes in
//! the status file in a loop until it is killed.

use mailoauth::config;
use mailoauth::status::{self, AccountState, AccountStatus};
use mailoauth::validate::CivilDate;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 every account works (or has not been used yet); 1 an account is failing (the text says why); 78 the config file cannot be used; 80 an account must sign in again (an admin must re-authorize it)."
)]
pub struct Args {
    /// The config file [default: $MAILOAUTH_CONFIG, else the platform's default location]
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Delete this account's stored tokens and status so it can be set up afresh (asks for --yes).
    #[arg(long, value_name = "ACCOUNT")]
    start_over: Option<String>,
    /// Confirm --start-over.
    #[arg(long, requires = "start_over")]
    yes: bool,
    /// The token service's socket, asked about the accounts it holds [default: $MAILOAUTH_SERVICE_SOCKET, else the platform's]
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Test hook: record successes and failures of ACCOUNT forever, until killed.
    #[arg(long, hide = true, value_name = "ACCOUNT")]
    write_loop: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let path = args.config.unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(super::exit::EX_CONFIG);
        }
    };
    if let Some(name) = &args.start_over {
        return start_over(&doc, name, args.yes);
    }
    if let Some(name) = &args.write_loop {
        return write_loop(&path, name);
    }
    let recorded = match status::read(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    // The service's view of the accounts it holds, merged in by the core (the app's home
    // screen shows the same).
    let socket = mailoauth::service::client::socket_path(args.socket.as_deref());
    let merged = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| {
            rt.block_on(mailoauth::service::client::status_with_service(
                &doc.config,
                recorded,
                CivilDate::today(),
                &socket,
                false,
            ))
        });
    let all = match merged {
        Ok((all, _)) => all,
        Err(e) => {
            eprintln!("mailoauth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&all) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("mailoauth: cannot print the status: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render(&path.display().to_string(), &all));
    }
    ExitCode::from(overall_status(&all))
}

/// The exit status of `status`: 80 when any account must sign in again (that needs an admin),
/// else 1 when any account is failing, else 0 (src/cli/exit.rs).
fn overall_status(all: &[status::AccountStatus]) -> u8 {
    if all
        .iter()
        .any(|a| a.state == AccountState::NeedsReauthorization)
    {
        super::exit::NEEDS_REAUTHORIZATION
    } else if all.iter().any(|a| a.state == AccountState::Failing) {
        1
    } else {
        0
    }
}

fn start_over(doc: &config::ConfigDocument, name: &str, confirmed: bool) -> ExitCode {
    if let Err(e) = doc.account(name) {
        eprintln!("mailoauth: {e}");
        return ExitCode::from(2);
    }
    if !confirmed {
        eprintln!(
            "mailoauth: this deletes the stored tokens and the status of account {name:?}; the mail service stops working until the account signs in again. Repeat with --yes to do it."
        );
        return ExitCode::from(2);
    }
    match mailoauth::account::start_over(doc, name) {
        Ok(()) => {
            println!(
                "{name}: tokens and status deleted; sign the account in again with the wizard or: {}",
                super::reauthorize::command(Some(&doc.path), name)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailoauth: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The crash-safety test's writer: alternates a success and a long failure of `name` in the
/// status file beside `path`, each under the lock and written atomically, until killed.
fn write_loop(path: &std::path::Path, name: &str) -> ExitCode {
    let error = format!(
        "invalid_grant: {}",
        "the refresh token was refused. ".repeat(60)
    );
    // Times go on from the last one recorded, so the latest record is always the newest.
    let last = status::read(path)
        .ok()
        .and_then(|s| s.accounts.get(name).cloned())
        .map(|r| {
            r.last_success
                .unwrap_or(0)
                .max(r.last_failure.map(|f| f.at).unwrap_or(0))
        })
        .unwrap_or(0);
    println!("writing");
    for n in last + 1.. {
        let written = if n % 2 == 0 {
            status::record_success(path, name, n)
        } else {
            status::record_failure(path, name, &error, None, true, n)
        };
        if let Err(e) = written {
            eprintln!("mailoauth: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn render(path: &str, all: &[AccountStatus]) -> String {
    let mut out = format!("{path}: {} account(s)\n", all.len());
    for a in all {
        let state = match a.state {
            AccountState::Ok => "OK",
            AccountState::Failing => "FAILING",
            AccountState::NeedsReauthorization => "NEEDS RE-AUTHORIZATION",
            AccountState::Unused => "not used yet",
        };
        out.push_str(&format!(
            "\n{} ({}, {}): {state}\n",
            a.name, a.mailbox, a.provider
        ));
        if let Some(t) = a.last_success {
            out.push_str(&format!("  last success: {}\n", status::format_time(t)));
        }
        if let Some(f) = &a.last_failure {
            out.push_str(&format!(
                "  last failure: {}: {}\n",
                status::format_time(f.at),
                f.error.lines().next().unwrap_or_default()
            ));
        }
        if let Some(reason) = &a.reauthorize_reason {
            out.push_str(&format!("  why: {reason}\n"));
            out.push_str(&format!(
                "  fix: {}\n",
                super::reauthorize::command(
                    Some(std::path::Path::new(a.held_in.as_deref().unwrap_or(path))),
                    &a.name
                )
            ));
        }
        if let Some(file) = &a.held_in {
            out.push_str(&format!(
                "  held by the mailoauth service in {file} (not in this file)\n"
            ));
        }
        if let Some(t) = &a.service {
            let at = |s: Option<u64>| s.map_or_else(|| String::from("-"), status::format_time);
            out.push_str(&format!(
                "  service: last refresh {}, next refresh {}, last check {}, next check {}\n",
                at(t.last_refresh),
                at(t.next_refresh),
                at(t.last_check),
                at(t.next_check)
            ));
            if let Some(r) = t.last_report {
                out.push_str(&format!(
                    "  service: a mail server last rejected its token {}\n",
                    status::format_time(r)
                ));
            }
        }
        if let Some(since) = a.failing_since {
            out.push_str(&format!(
                "  failing since: {}\n",
                status::format_time(since)
            ));
        }
        if let Some(d) = &a.diagnosis {
            out.push_str(&format!("  diagnosis: {} [{}]\n", d.title, d.id));
            for (i, step) in d.fix.iter().enumerate() {
                out.push_str(&format!("    {}. {step}\n", i + 1));
            }
        }
        match a.secret_expires_in_days {
            Some(d) if d < 0 => {
                out.push_str(&format!("  client secret expired {} day(s) ago\n", -d))
            }
            Some(d) if a.secret_expiring() => out.push_str(&format!(
                "  client secret expires in {d} day(s): renew it now\n"
            )),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailoauth::status::Failure;

    #[test]
    fn text_shows_state_reason_diagnosis_and_expiry() {
        let a = AccountStatus {
            name: "scanner".into(),
            mailbox: "scanner@contoso.com".into(),
            provider: "microsoft".into(),
            state: AccountState::NeedsReauthorization,
            last_success: Some(0),
            last_failure: Some(Failure {
                at: 86_400,
                error: "invalid_grant\nmore".into(),
                diagnosis_id: Some("oauth-invalid-grant".into()),
                reauthorize: true,
            }),
            failing_since: Some(86_400),
            diagnosis: mailoauth::diagnosis::entry("oauth-invalid-grant")
                .map(|e| e.diagnosis(&Default::default())),
            reauthorize_reason: Some("refused".into()),
            secret_expires_in_days: Some(5),
            service: None,
            held_in: None,
        };
        let text = render("m.toml", &[a]);
        assert!(
            text.contains("scanner (scanner@contoso.com, microsoft): NEEDS RE-AUTHORIZATION"),
            "{text}"
        );
        assert!(
            text.contains("last failure: 1970-01-02 00:00 UTC: invalid_grant\n"),
            "{text}"
        );
        assert!(text.contains("why: refused"), "{text}");
        assert!(
            text.contains("fix: mailoauth reauthorize scanner --config m.toml\n"),
            "{text}"
        );
        assert!(text.contains("[oauth-invalid-grant]"), "{text}");
        assert!(text.contains("    1. "), "{text}");
        assert!(text.contains("expires in 5 day(s)"), "{text}");
    }
}
