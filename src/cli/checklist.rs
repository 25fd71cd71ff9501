//! `mailoauth checklist <provider>`: the steps to do in the provider's console before mailoauth
//! can authorize, with the values to copy, the links to open and the mistakes to avoid.

use mailoauth::error::{Coded, ErrorCode};
use mailoauth::provider::checklist::{self, Checklist, ChecklistContext};
use mailoauth::provider::{self, ClientType, Cloud, Flow, Purpose};
use std::collections::BTreeSet;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The provider: google or microsoft (see `mailoauth providers`).
    provider: String,
    /// loopback, device-code, client-credentials or service-account [default: the provider's recommended flow]
    #[arg(long)]
    flow: Option<Flow>,
    /// What the service does: send, receive or both [default: both]
    #[arg(long)]
    purpose: Option<Purpose>,
    /// desktop, web or daemon [default: the flow's recommended client type]
    #[arg(long)]
    client_type: Option<ClientType>,
    /// worldwide, us-gov-gcc-high, us-gov-dod or china (Microsoft 365 only)
    #[arg(long, default_value = "worldwide")]
    cloud: Cloud,
    /// Google Cloud project ID, filled into links and values.
    #[arg(long)]
    project: Option<String>,
    /// Microsoft tenant ID or verified domain, filled into values.
    #[arg(long)]
    tenant: Option<String>,
    /// Client ID (Google OAuth client, Azure application, or service account unique ID).
    #[arg(long)]
    client_id: Option<String>,
    /// The mailbox the service uses.
    #[arg(long)]
    mailbox: Option<String>,
    /// Object ID of the Azure Enterprise application, for app-only access.
    #[arg(long)]
    sp_object_id: Option<String>,
    /// Loopback port of a Web client's redirect URI [default: 8400]
    #[arg(long)]
    port: Option<u16>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let ctx = ChecklistContext {
        flow: args.flow,
        purpose: args.purpose,
        client_type: args.client_type,
        cloud: args.cloud,
        project: args.project,
        tenant: args.tenant,
        client_id: args.client_id,
        mailbox: args.mailbox,
        sp_object_id: args.sp_object_id,
        redirect_port: args.port,
    };
    let list = match checklist::checklist(&args.provider, &ctx) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return match e.code() {
                ErrorCode::InvalidInput | ErrorCode::NotFound => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            };
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&list) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("mailoauth: cannot print the checklist: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render(&list));
    }
    ExitCode::SUCCESS
}

fn purpose_words(p: Purpose) -> &'static str {
    match p {
        Purpose::Send => "sending",
        Purpose::Receive => "receiving",
        Purpose::Both => "sending and receiving",
    }
}

/// The checklist as text for a terminal.
pub(super) fn render(list: &Checklist) -> String {
    let name = provider::find(&list.provider).map_or(list.provider.as_str(), |p| p.name.as_str());
    let mut out = format!(
        "{name}: {} flow, {} client, {}, {} cloud\n",
        list.flow,
        list.client_type,
        purpose_words(list.purpose),
        list.cloud.label()
    );
    let mut incomplete = false;
    let mut checks = BTreeSet::new();
    for step in &list.steps {
        out.push_str(&format!("\n{:2}. {}\n", step.number, step.title));
        out.push_str(&format!("    Why: {}\n", step.why));
        if let Some(link) = &step.link {
            out.push_str(&format!("    Open: {link}\n"));
        }
        for v in &step.values {
            incomplete |= !v.complete;
            out.push_str(&format!("    {}: {}\n", v.label, v.value));
        }
        if let Some(w) = &step.warning {
            out.push_str(&format!("    WARNING: {w}\n"));
        }
        if !step.mistakes.is_empty() {
            out.push_str("    Mistakes people make:\n");
            for m in &step.mistakes {
                out.push_str(&format!("      - {m}\n"));
            }
        }
        let ids: Vec<&str> = step.verified_by.iter().map(|c| c.id.as_str()).collect();
        out.push_str(&format!("    Proved by: {}\n", ids.join(", ")));
        checks.extend(
            step.verified_by
                .iter()
                .map(|c| (c.id.clone(), c.description.clone())),
        );
    }
    out.push_str("\nChecks:\n");
    for (id, description) in checks {
        out.push_str(&format!("  {id}: {description}\n"));
    }
    if incomplete {
        out.push_str("\nValues in <angle brackets> are filled in when you pass --project, --tenant, --client-id, --mailbox or --sp-object-id.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_steps_values_links_warnings_and_checks() {
        let ctx = ChecklistContext {
            project: Some("mail-relay-4711".into()),
            ..Default::default()
        };
        let list = checklist::checklist("google", &ctx).unwrap();
        let text = render(&list);
        assert!(
            text.starts_with(
                "Google Workspace / Gmail: loopback flow, desktop client, sending and receiving"
            ),
            "{text}"
        );
        assert!(text.contains(" 1. Create or choose a Google Cloud project\n"));
        assert!(text.contains("    Project ID: mail-relay-4711\n"));
        assert!(text.contains("Open: https://console.cloud.google.com/apis/library/gmail.googleapis.com?project=mail-relay-4711"));
        assert!(text.contains(
            "WARNING: An External app left in Testing gets refresh tokens that die after 7 days"
        ));
        assert!(text.contains("  refresh_token: "));
        assert!(
            text.contains("Values in <angle brackets>"),
            "the mailbox is unknown"
        );
    }
}
