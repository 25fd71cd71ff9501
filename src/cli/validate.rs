//! `mailoauth validate <file>`: checks a downloaded Google client JSON, a Google service account
//! key or an Azure app manifest against the setup chosen, offline. Secrets in the file are never
//! printed.

use mailoauth::provider::{ClientType, Cloud, Flow, Purpose};
use mailoauth::validate::file::{self, FileContext, FileReport};
use mailoauth::validate::{Finding, FindingCode, Severity};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The file: a Google client JSON, a Google service account key, or an Azure app manifest.
    file: PathBuf,
    /// The provider chosen: google or microsoft [default: from the file]
    #[arg(long)]
    provider: Option<String>,
    /// loopback, device-code, client-credentials or service-account [default: loopback]
    #[arg(long)]
    flow: Option<Flow>,
    /// What the service does: send, receive or both [default: both]
    #[arg(long)]
    purpose: Option<Purpose>,
    /// desktop, web or daemon [default: the flow's recommended client type]
    #[arg(long)]
    client_type: Option<ClientType>,
    /// worldwide, us-gov-gcc-high, us-gov-dod or china
    #[arg(long, default_value = "worldwide")]
    cloud: Cloud,
    /// The Microsoft tenant mailoauth will use, checked against the app's account types.
    #[arg(long)]
    tenant: Option<String>,
    /// The client ID entered, checked against the file.
    #[arg(long)]
    client_id: Option<String>,
    /// The Google Cloud project ID, checked against the file.
    #[arg(long)]
    project: Option<String>,
    /// Loopback port of a Web client's redirect URI [default: 8400]
    #[arg(long)]
    port: Option<u16>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let text = match file::read(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = FileContext {
        provider: args.provider.map(|p| p.trim().to_ascii_lowercase()),
        flow: args.flow,
        purpose: args.purpose,
        client_type: args.client_type,
        cloud: args.cloud,
        tenant: args.tenant,
        client_id: args.client_id,
        project: args.project,
        redirect_port: args.port,
    };
    let report = file::validate_file(&text, &ctx);
    if report.kind == file::FileKind::Config {
        return super::config::check_text(&args.file, &text, args.json);
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("mailoauth: cannot print the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render(&args.file.display().to_string(), &report));
    }
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn render(name: &str, report: &FileReport) -> String {
    let mut out = format!("{name}: {}\n", report.description);
    // The summary repeats the header; only the client ID it offers is news.
    let is_summary =
        |f: &&Finding| f.code == FindingCode::FileSummary && f.message == report.description;
    if let Some(id) = report
        .findings
        .iter()
        .find(is_summary)
        .and_then(|f| f.normalized_value.as_deref())
    {
        out.push_str(&format!("  client ID: {id}\n"));
    }
    for f in report.findings.iter().filter(|f| !is_summary(f)) {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        out.push_str(&format!("\n{severity:8} {}\n", f.message));
        out.push_str(&format!("         fix: {}\n", f.fix));
        if let Some(v) = &f.normalized_value {
            out.push_str(&format!("         value: {v}\n"));
        }
        if let Some(step) = &f.checklist_step {
            let provider = step.split('.').next().unwrap_or_default();
            out.push_str(&format!(
                "         checklist: step {step} (mailoauth checklist {provider})\n"
            ));
        }
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "\n{}, {}.\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_findings_with_fix_value_and_step() {
        let manifest = r#"{"appId":"3f2c9b1e-7d4a-4c8e-9a61-2b5f0d8e7c10","allowPublicClient":false,
            "replyUrlsWithType":[],"requiredResourceAccess":[],"signInAudience":"AzureADMyOrg"}"#;
        let ctx = FileContext {
            flow: Some(Flow::DeviceCode),
            ..Default::default()
        };
        let report = file::validate_file(manifest, &ctx);
        let text = render("manifest.json", &report);
        assert!(
            text.starts_with("manifest.json: Azure app manifest (classic format)"),
            "{text}"
        );
        assert!(
            text.contains("\n  client ID: 3f2c9b1e-7d4a-4c8e-9a61-2b5f0d8e7c10\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("Azure app manifest (classic format)").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("\nerror    allowPublicClient is false"),
            "{text}"
        );
        assert!(text
            .contains("checklist: step microsoft.public_client (mailoauth checklist microsoft)"));
        assert!(text.contains("value: true"));
        assert!(text.trim_end().ends_with("warnings."), "{text}");
        assert!(!report.is_ok());
    }
}
