//! `mailoauth explain`: what an error text means and how to fix it, from the diagnosis catalog.

use mailoauth::diagnosis::{
    self, Area, Context, DiagnosisError, Explanation, MatchKind, Scheme, MAX_INPUT_BYTES,
};
use std::fmt::Write;
use std::io::Read;
use std::process::ExitCode;

/// Exit code when the text matched no catalog entry, so scripts can tell.
const NO_MATCH: u8 = 1;
/// Exit code for unusable arguments or input.
const USAGE: u8 = 2;

#[derive(clap::Args)]
pub struct Args {
    /// The error text or log excerpt (several words are joined); `-` reads it from standard input.
    #[arg(value_name = "TEXT", required_unless_present = "list")]
    text: Vec<String>,
    /// Print every entry and every code family of the catalog instead of explaining a text
    /// (with --json: the entries only).
    #[arg(long, conflicts_with = "text")]
    list: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The mailbox the service signs in as; filled into the fixes.
    #[arg(long)]
    mailbox: Option<String>,
    /// The Microsoft Entra tenant ID or domain; filled into the fixes and links.
    #[arg(long)]
    tenant: Option<String>,
    /// The OAuth client ID; filled into the fixes and links.
    #[arg(long = "client-id")]
    client_id: Option<String>,
    /// The name of the app registration or OAuth client; filled into the fixes.
    #[arg(long = "app-name")]
    app_name: Option<String>,
    /// The redirect URI mailoauth signs in with; filled into the fixes.
    #[arg(long = "redirect-uri")]
    redirect_uri: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let ctx = Context {
        mailbox: args.mailbox,
        tenant: args.tenant,
        client_id: args.client_id,
        app_name: args.app_name,
        redirect_uri: args.redirect_uri,
        ..Context::default()
    };
    if let Err(e) = ctx.validate() {
        let DiagnosisError::InvalidContext { field, .. } = &e;
        eprintln!("mailoauth: --{}: {e}", field.replace('_', "-"));
        return ExitCode::from(USAGE);
    }
    if args.list {
        return list(&ctx, args.json);
    }
    let text = match read_text(&args.text) {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("mailoauth: {msg}");
            return ExitCode::from(USAGE);
        }
    };
    let explanation = diagnosis::explain(&text, &ctx);
    if args.json {
        if let Err(code) = print_json(&explanation) {
            return code;
        }
    } else {
        print!("{}", render(&explanation));
    }
    if explanation.matches.is_empty() {
        ExitCode::from(NO_MATCH)
    } else {
        ExitCode::SUCCESS
    }
}

/// The text to explain: the arguments joined, or standard input for `-`.
fn read_text(args: &[String]) -> Result<String, String> {
    if args != ["-"] {
        let text = args.join(" ");
        return if text.trim().is_empty() {
            Err("give the error text as an argument, or `-` to read it from standard input".into())
        } else {
            Ok(text)
        };
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    // Logs come in every encoding; undecodable bytes must not stop the diagnosis.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.trim().is_empty() {
        return Err("standard input was empty: pipe the error text or log excerpt into `mailoauth explain -`".into());
    }
    Ok(text)
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), ExitCode> {
    match serde_json::to_string_pretty(value) {
        Ok(s) => {
            println!("{s}");
            Ok(())
        }
        Err(e) => {
            eprintln!("mailoauth: cannot print JSON: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The explanation as an admin reads it in a terminal. Shows nothing of the input itself.
fn render(x: &Explanation) -> String {
    let mut out = String::new();
    if x.matches.is_empty() {
        out.push_str("No known error matched this text.\n\nChecks to run:\n");
        for (i, s) in x.suggestions.iter().enumerate() {
            let _ = writeln!(out, "  {}. {s}", i + 1);
        }
    } else {
        let n = x.matches.len();
        let families = x
            .matches
            .iter()
            .filter(|m| m.kind == Some(MatchKind::Family))
            .count();
        let _ = writeln!(
            out,
            "{n} {} matched this text{}.",
            if n == 1 { "diagnosis" } else { "diagnoses" },
            match families {
                0 => String::new(),
                f if f == n => " (by the code's family only)".to_string(),
                f => format!(" ({f} by the code's family only)"),
            }
        );
        for (i, m) in x.matches.iter().enumerate() {
            let d = &m.diagnosis;
            let _ = writeln!(out, "\n{}. {}  [{}]", i + 1, d.title, d.id);
            if let Some(kind) = m.kind {
                let _ = writeln!(out, "   Match: {}", kind.label());
            }
            let _ = writeln!(out, "   Recognised by: {}", m.matched_by.join(", "));
            if let Some(q) = &m.quote {
                let _ = writeln!(out, "   The code's own text: {q}");
            }
            let _ = writeln!(out, "   Cause: {}", d.cause);
            out.push_str("   Fix:\n");
            for (j, step) in d.fix.iter().enumerate() {
                let _ = writeln!(out, "     {}. {step}", j + 1);
            }
            let _ = writeln!(out, "   Where: {}", d.place);
            if let Some(link) = &d.link {
                let _ = writeln!(out, "   Link: {link}");
            }
            let _ = writeln!(
                out,
                "   Sign in again afterwards: {}",
                if d.reauthorize { "yes" } else { "no" }
            );
        }
    }
    for c in &x.decoded_challenges {
        let _ = writeln!(
            out,
            "\nThe server's login challenge, decoded: {}",
            c.summary()
        );
    }
    out
}

fn list(ctx: &Context, json: bool) -> ExitCode {
    let catalog = diagnosis::catalog();
    if json {
        return match print_json(&catalog) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        };
    }
    let width = catalog.iter().map(|e| e.id.len()).max().unwrap_or(0);
    for area in Area::ALL {
        let entries: Vec<_> = catalog.iter().filter(|e| e.area == area).collect();
        println!("{} ({})", area.title(), entries.len());
        for e in entries {
            println!("  {:width$}  {}", e.id, ctx.fill(&e.title));
        }
        println!();
    }
    let families = diagnosis::families();
    for scheme in [Scheme::Aadsts, Scheme::Smtp, Scheme::Imap] {
        let of: Vec<_> = families.iter().filter(|f| f.scheme == scheme).collect();
        println!("Families: {} ({})", scheme.title(), of.len());
        for f in of {
            println!("  {:width$}  {} ({})", f.id, f.title, f.codes.join(" "));
        }
        println!();
    }
    println!(
        "{} entries and {} families. `mailoauth explain \"<error text>\"` shows cause and fix; docs/TROUBLESHOOTING.md has them all.",
        catalog.len(),
        families.len()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_cause_fix_and_place_but_not_the_input() {
        let ctx = Context {
            mailbox: Some("scanner@contoso.com".into()),
            ..Context::default()
        };
        let x = diagnosis::explain(
            "Bearer ya29.a0AfB_bySecretToken1234567890 -> 535 5.7.139 Authentication unsuccessful, \
             SmtpClientAuthentication is disabled for the Mailbox.",
            &ctx,
        );
        let out = render(&x);
        assert!(out.starts_with("1 diagnosis matched this text."));
        assert!(out.contains("Match: exact known error"));
        assert!(out.contains("[ms-smtp-auth-disabled-mailbox]"));
        assert!(out.contains(
            r#"Set-CASMailbox -Identity "scanner@contoso.com" -SmtpClientAuthenticationDisabled $false"#
        ));
        assert!(out.contains("Where: Exchange admin center"));
        assert!(!out.contains("SecretToken"));
    }

    #[test]
    fn render_says_a_family_match_is_one_and_quotes_the_code_text() {
        // Microsoft Entra error code reference: a code without an exact entry.
        let x = diagnosis::explain(
            "AADSTS50014: GuestUserInPendingState - The user account doesn't exist in the directory.",
            &Context::default(),
        );
        let out = render(&x);
        assert!(out.starts_with("1 diagnosis matched this text (by the code's family only)."));
        assert!(out.contains("[entra-credentials]"));
        assert!(out.contains("Match: family match by the code alone"));
        assert!(out.contains(
            "The code's own text: GuestUserInPendingState - The user account doesn't exist in the directory."
        ));
        assert!(out.contains("Link: https://login.microsoftonline.com/error?code=50014"));
    }

    #[test]
    fn render_says_when_nothing_matched_and_what_to_check() {
        let out = render(&diagnosis::explain("printer jammed", &Context::default()));
        assert!(out.starts_with("No known error matched this text."));
        assert!(out.contains("mailoauth check"));
    }

    #[test]
    fn render_reports_decoded_challenges() {
        let x = diagnosis::explain(
            "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
            &Context::default(),
        );
        assert!(render(&x).contains(
            "decoded: status 400, schemes Bearer, wanted scope https://mail.google.com/"
        ));
    }

    #[test]
    fn arguments_are_joined_and_empty_text_is_refused() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            read_text(&args(&["535", "5.7.3"])).as_deref(),
            Ok("535 5.7.3")
        );
        assert!(read_text(&args(&["  "])).is_err());
    }
}
