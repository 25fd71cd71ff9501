//! `mailoauth setup`: the wizard's journey in a terminal (over SSH too), on the same core as the
//! app: provider, purpose, cloud and flow, the registration checklist, the details checked as
//! they are typed (the core's validators, the window's messages), the sign-in, the SMTP and IMAP
//! tests, the save with its preview, and the export.
//!
//! One table ([`FIELDS`]) drives both the prompts and the flags: every prompt is also a flag, so
//! `mailoauth setup --provider ... --yes` runs the whole setup in a script and names the flags
//! that are missing. Secrets never come from the command line: a file, an environment variable
//! or a hidden prompt.

pub mod core_api;
pub mod service;
pub mod term;

use super::exit::EX_USAGE;
use mailoauth::config::{SecretRef, StoreSpec};
use mailoauth::oauth;
use mailoauth::probe::Endpoint;
use mailoauth::provider::{self, discovery, Cloud, Flow, MailProtocol, Profile, Purpose};
use mailoauth::secret::Secret;
use mailoauth::validate::input::{self, FieldContext, FieldKind};
use mailoauth::validate::Severity;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How a field takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One of a list.
    Choice,
    /// Free text, checked as typed.
    Text,
    /// Repeatable (`--scope a --scope b`; at the prompt, separated by spaces).
    Many,
    /// A secret: its flags name a file or an environment variable, the prompt hides it.
    Secret,
}

/// One question of the setup: its prompt and its flag(s).
pub struct Field {
    /// The key the answers are kept under (also the flag, for every kind but secrets).
    pub key: &'static str,
    /// The flags that give the value on the command line.
    pub flags: &'static [&'static str],
    /// The prompt's text; `None` for advanced settings that are flags only.
    pub prompt: Option<&'static str>,
    /// The flag's help and the prompt's help line.
    pub help: &'static str,
    pub kind: Kind,
    /// Whether the question is asked (or the flag read) for the answers so far.
    pub applies: fn(&Answers) -> bool,
    /// Whether a value is needed when the question applies (no default).
    pub required: fn(&Answers) -> bool,
}

fn always(_: &Answers) -> bool {
    true
}
fn never(_: &Answers) -> bool {
    false
}
fn is_generic(a: &Answers) -> bool {
    a.get("provider") == Some("generic")
}
fn is_microsoft(a: &Answers) -> bool {
    a.get("provider") == Some("microsoft")
}
fn sends(a: &Answers) -> bool {
    matches!(a.purpose(), Purpose::Send | Purpose::Both)
}
fn receives(a: &Answers) -> bool {
    matches!(a.purpose(), Purpose::Receive | Purpose::Both)
}
fn several_clouds(a: &Answers) -> bool {
    a.profile().is_some_and(|p| p.clouds().len() > 1)
}
/// A provider without default mail servers (generic) needs them given.
fn no_default_server(a: &Answers, protocol: MailProtocol) -> bool {
    a.profile()
        .and_then(|p| p.mail(protocol, a.cloud()).ok())
        .is_none_or(|d| d.host.is_none())
}
fn secret_applies(a: &Answers) -> bool {
    // Google's clients always have one; Microsoft's public clients (device code, loopback)
    // never; a generic provider's may; app-only access always needs a credential.
    match a.get("provider") {
        Some("google") => true,
        Some("generic") => true,
        _ => a.flow() == Some(Flow::ClientCredentials),
    }
}
fn secret_required(a: &Answers) -> bool {
    a.get("provider") == Some("google") || a.flow() == Some(Flow::ClientCredentials)
}

/// Every question of the setup, in the wizard's order. The flags of `mailoauth setup` are
/// made from this table, so a prompt cannot exist without its flag.
pub const FIELDS: &[Field] = &[
    Field {
        key: "provider",
        flags: &["provider"],
        prompt: Some("Mail provider"),
        help: "The provider: google, microsoft or generic (any OpenID Connect provider).",
        kind: Kind::Choice,
        applies: always,
        required: always,
    },
    Field {
        key: "purpose",
        flags: &["purpose"],
        prompt: Some("What does the service do with the mailbox"),
        help: "send, receive or both [default: both].",
        kind: Kind::Choice,
        applies: always,
        required: never,
    },
    Field {
        key: "cloud",
        flags: &["cloud"],
        prompt: Some("Cloud"),
        help: "worldwide, us-gov-gcc-high, us-gov-dod or china [default: worldwide].",
        kind: Kind::Choice,
        applies: several_clouds,
        required: never,
    },
    Field {
        key: "flow",
        flags: &["flow"],
        prompt: Some("How the mailbox signs in"),
        help: "loopback, device-code or client-credentials [default: the provider's recommended flow].",
        kind: Kind::Choice,
        applies: always,
        required: never,
    },
    Field {
        key: "issuer",
        flags: &["issuer"],
        prompt: Some("Issuer URL of the OpenID Connect provider"),
        help: "Issuer URL of a generic OpenID Connect provider; its endpoints are discovered and saved.",
        kind: Kind::Text,
        applies: is_generic,
        required: always,
    },
    Field {
        key: "authority",
        flags: &["authority"],
        prompt: None,
        help: "Another Microsoft authority than the cloud's (a proxy, a new national cloud), e.g. https://login.example.net/organizations; /common and /organizations work.",
        kind: Kind::Text,
        applies: is_microsoft,
        required: never,
    },
    Field {
        key: "tenant",
        flags: &["tenant"],
        prompt: Some("Tenant (directory ID or domain)"),
        help: "Microsoft tenant ID (GUID) or verified domain, e.g. contoso.onmicrosoft.com.",
        kind: Kind::Text,
        applies: is_microsoft,
        required: always,
    },
    Field {
        key: "client-id",
        flags: &["client-id"],
        prompt: Some("Client ID"),
        help: "The OAuth client ID from the provider's console (see the checklist).",
        kind: Kind::Text,
        applies: always,
        required: always,
    },
    Field {
        key: "client-secret",
        flags: &["client-secret-file", "client-secret-env"],
        prompt: Some("Client secret (hidden; empty for a public client)"),
        help: "The client secret: a file holding it, or the name of an environment variable holding it (never on the command line).",
        kind: Kind::Secret,
        applies: secret_applies,
        required: secret_required,
    },
    Field {
        key: "mailbox",
        flags: &["mailbox"],
        prompt: Some("Mailbox address"),
        help: "The mailbox the service signs in as; the sign-in must be done as this account.",
        kind: Kind::Text,
        applies: always,
        required: always,
    },
    Field {
        key: "scope",
        flags: &["scope"],
        prompt: Some("Scopes (separated by spaces)"),
        help: "A scope to request (repeat --scope for each); a generic provider needs them, e.g. openid email offline_access plus the mail scope.",
        kind: Kind::Many,
        applies: is_generic,
        required: always,
    },
    Field {
        key: "smtp",
        flags: &["smtp"],
        prompt: Some("SMTP server (host:port:security)"),
        help: "The SMTP server as host:port:security (tls, start_tls), e.g. smtp.office365.com:587:start_tls [default: the provider's].",
        kind: Kind::Text,
        applies: sends,
        required: |a| no_default_server(a, MailProtocol::Smtp),
    },
    Field {
        key: "imap",
        flags: &["imap"],
        prompt: Some("IMAP server (host:port:security)"),
        help: "The IMAP server as host:port:security, e.g. outlook.office365.com:993:tls [default: the provider's].",
        kind: Kind::Text,
        applies: receives,
        required: |a| no_default_server(a, MailProtocol::Imap),
    },
    Field {
        key: "ca-file",
        flags: &["ca-file"],
        prompt: None,
        help: "A PEM file of an extra CA the mail servers' certificates need (saved in [account.tls]).",
        kind: Kind::Text,
        applies: always,
        required: never,
    },
    Field {
        key: "store",
        flags: &["store"],
        prompt: None,
        help: "Where the tokens are kept: file:<folder>, keyring, or service (the mailoauth token service; implied by --reader) [default: file in the user's data folder].",
        kind: Kind::Text,
        applies: always,
        required: never,
    },
    Field {
        key: "port",
        flags: &["port"],
        prompt: None,
        help: "Fixed loopback port of the registered redirect URI (repeat for fallbacks).",
        kind: Kind::Many,
        applies: |a| a.flow() == Some(Flow::Loopback),
        required: never,
    },
    Field {
        key: "name",
        flags: &["name"],
        prompt: Some("Account name in the config"),
        help: "The account's name in the config file (what `mailoauth token NAME` takes) [default: the mailbox's local part].",
        kind: Kind::Text,
        applies: always,
        required: never,
    },
    Field {
        key: "readers",
        flags: &["reader"],
        prompt: Some("Which OS account runs the mail service (user, or group:NAME; empty: this user)"),
        help: "The OS user the mail service runs as, or group:NAME (several: spaces at the prompt, --reader again as flags). It gets the token from the mailoauth service, which then holds the tokens. Empty: they stay in this user's store.",
        kind: Kind::Many,
        applies: |a| a.get("store").is_none_or(|s| s == "service"),
        required: never,
    },
    Field {
        key: "export",
        flags: &["export"],
        prompt: Some("Export the account for a mail client"),
        help: "Print the account in a consumer's format after the save: msmtp, mbsync, neomutt, safeq, env, or none [default: none].",
        kind: Kind::Choice,
        applies: always,
        required: never,
    },
];

/// Flags that are not questions (the test checks the command has exactly these and the table's).
#[cfg(test)]
pub const META_FLAGS: &[&str] = &["config", "yes", "json", "timeout", "socket"];

/// The answers so far: flags and prompts alike, by field key.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Answers {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
    fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }
    fn set(&mut self, key: &'static str, value: Vec<String>) {
        self.values.insert(key, value);
    }
    fn profile(&self) -> Option<&'static Profile> {
        self.get("provider").and_then(provider::profile)
    }
    fn purpose(&self) -> Purpose {
        self.get("purpose")
            .and_then(|p| p.parse().ok())
            .unwrap_or(Purpose::Both)
    }
    fn cloud(&self) -> Cloud {
        self.get("cloud")
            .and_then(|c| c.parse().ok())
            .unwrap_or_default()
    }
    fn flow(&self) -> Option<Flow> {
        self.get("flow")
            .and_then(|f| f.parse().ok())
            .or_else(|| self.profile().map(|p| p.recommended_flow()))
    }
    fn field_context(&self) -> FieldContext {
        FieldContext {
            provider: self.get("provider").map(str::to_string),
            flow: self.flow(),
            client_type: None,
            purpose: Some(self.purpose()),
            cloud: self.cloud(),
        }
    }
}

/// The arguments: one flag per question of [`FIELDS`] plus [`META_FLAGS`].
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// Values given by flag, by flag name.
    given: BTreeMap<String, Vec<String>>,
    config: Option<PathBuf>,
    yes: bool,
    json: bool,
    timeout: Option<u64>,
    socket: Option<PathBuf>,
}

impl clap::FromArgMatches for Args {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut given = BTreeMap::new();
        for f in FIELDS {
            for flag in f.flags {
                if let Some(v) = m.get_many::<String>(flag) {
                    given.insert(flag.to_string(), v.cloned().collect());
                }
            }
        }
        Ok(Args {
            given,
            config: m.get_one::<PathBuf>("config").cloned(),
            yes: m.get_flag("yes"),
            json: m.get_flag("json"),
            timeout: m.get_one::<u64>("timeout").copied(),
            socket: m.get_one::<PathBuf>("socket").cloned(),
        })
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for Args {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        use clap::{Arg, ArgAction};
        for f in FIELDS {
            for flag in f.flags {
                let help = match (f.kind, *flag) {
                    (Kind::Secret, flag) if flag.ends_with("-file") => {
                        "File holding the client secret (never on the command line)."
                    }
                    (Kind::Secret, _) => "Environment variable holding the client secret.",
                    _ => f.help,
                };
                let mut arg = Arg::new(*flag).long(*flag).help(help);
                arg = match f.kind {
                    Kind::Many => arg.action(ArgAction::Append),
                    _ => arg.action(ArgAction::Set),
                };
                cmd = cmd.arg(arg);
            }
        }
        cmd.arg(
            Arg::new("config")
                .long("config")
                .value_parser(clap::value_parser!(PathBuf))
                .help("The config file [default: $MAILOAUTH_CONFIG, else the platform's default location]"),
        )
        .arg(
            Arg::new("yes")
                .long("yes")
                .short('y')
                .action(ArgAction::SetTrue)
                .help("Save without asking (needed in a script, and to update an existing account there)."),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print the result as JSON on standard output."),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .value_parser(clap::value_parser!(u64).range(1..))
                .help("Seconds to wait for the browser of a loopback sign-in [default: 300]."),
        )
        .arg(
            Arg::new("socket")
                .long("socket")
                .value_parser(clap::value_parser!(PathBuf))
                .help("The token service's socket, for an account with --reader [default: $MAILOAUTH_SERVICE_SOCKET, else the platform's]"),
        )
        .after_help(
            "Without a terminal (a script, a pipe), every needed value must be a flag and --yes confirms the save; the missing flags are named.\n\
Secrets are read from --client-secret-file or --client-secret-env, or asked with a hidden prompt.",
        )
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// A value checked as the window checks it: the cleaned value, the errors (refused) and the
/// warnings (shown, accepted).
#[derive(Debug, Default)]
pub struct Checked {
    pub value: Vec<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

fn from_report(report: input::FieldReport, raw: &str) -> Checked {
    let mut c = Checked {
        value: vec![report
            .normalized
            .clone()
            .unwrap_or_else(|| raw.trim().to_string())],
        ..Default::default()
    };
    for f in &report.findings {
        let text = format!("{} {}", f.message, f.fix).trim().to_string();
        match f.severity {
            Severity::Error => c.errors.push(text),
            Severity::Warning => c.warnings.push(text),
            _ => {}
        }
    }
    c
}

fn one(value: &str) -> Checked {
    Checked {
        value: vec![value.trim().to_string()],
        ..Default::default()
    }
}

fn refuse(value: &str, error: String) -> Checked {
    Checked {
        value: vec![value.trim().to_string()],
        errors: vec![error],
        warnings: vec![],
    }
}

/// The choices of a choice field, for the answers so far: (value, what it means).
pub fn choices(key: &str, a: &Answers) -> Vec<(String, String)> {
    match key {
        "provider" => provider::catalog()
            .iter()
            .map(|p| (p.id.clone(), format!("{}: {}", p.name, p.summary)))
            .collect(),
        "purpose" => vec![
            ("both".into(), "sends and receives (SMTP and IMAP)".into()),
            ("send".into(), "sends only (SMTP)".into()),
            ("receive".into(), "receives only (IMAP)".into()),
        ],
        "cloud" => a
            .profile()
            .map(|p| p.clouds())
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.as_str().replace('_', "-"), c.label().to_string()))
            .collect(),
        "flow" => {
            let Some(p) = a.profile() else {
                return Vec::new();
            };
            let recommended = p.recommended_flow();
            let mut out: Vec<(String, String)> =
                [Flow::DeviceCode, Flow::Loopback, Flow::ClientCredentials]
                    .into_iter()
                    .filter_map(|f| {
                        p.flow_support(f)
                            .ok()
                            .filter(|s| s.supported)
                            .map(|s| (f, s))
                    })
                    .map(|(f, s)| {
                        let mut note = s.note.clone();
                        if f == recommended {
                            note = format!("recommended. {note}");
                        }
                        (f.as_str().replace('_', "-"), note)
                    })
                    .collect();
            // The recommended flow first, so Enter picks it.
            out.sort_by_key(|(f, _)| f.replace('-', "_") != recommended.as_str());
            out
        }
        "export" => {
            let mut out = vec![("none".to_string(), "nothing to export".to_string())];
            let provider = a.get("provider").unwrap_or("generic");
            out.extend(
                mailoauth::export::formats_for(provider, a.purpose())
                    .into_iter()
                    .map(|f| (f.id.clone(), f.description.clone())),
            );
            out
        }
        _ => Vec::new(),
    }
}

/// Checks one answer with the core's validators (the window's messages).
pub fn check(key: &str, raw: &str, a: &Answers) -> Checked {
    let ctx = a.field_context();
    match key {
        "provider" | "purpose" | "cloud" | "flow" | "export" => {
            let options = choices(key, a);
            let norm = raw.trim().to_ascii_lowercase().replace('_', "-");
            if options.iter().any(|(v, _)| *v == norm) {
                one(&norm)
            } else {
                let names: Vec<&str> = options.iter().map(|(v, _)| v.as_str()).collect();
                refuse(raw, format!("{raw:?} is not one of: {}.", names.join(", ")))
            }
        }
        "client-id" => from_report(input::validate_field(FieldKind::ClientId, raw, &ctx), raw),
        "tenant" => from_report(input::validate_field(FieldKind::Tenant, raw, &ctx), raw),
        "mailbox" => from_report(input::validate_field(FieldKind::Mailbox, raw, &ctx), raw),
        "scope" => {
            let mut c = from_report(input::validate_field(FieldKind::Scopes, raw, &ctx), raw);
            c.value = c.value[0].split_whitespace().map(str::to_string).collect();
            if c.value.is_empty() && c.errors.is_empty() {
                c.errors.push(String::from(
                    "Scopes: enter the scopes the mail server expects, separated by spaces (--scope, repeatable), e.g. openid email offline_access plus the mail scope.",
                ));
            }
            c
        }
        "issuer" => match discovery::discovery_url(raw.trim()) {
            Ok(_) => one(raw.trim().trim_end_matches('/')),
            Err(e) => refuse(raw, format!("Issuer: {e}")),
        },
        "authority" => match super::authorize::split_authority(raw) {
            Ok((base, _)) => {
                let mut c = one(raw.trim().trim_end_matches('/'));
                if !(base.starts_with("https://")
                    || base.starts_with("http://127.0.0.1")
                    || base.starts_with("http://localhost"))
                {
                    c.errors.push(String::from("Authority: give the https:// URL of the authority, e.g. https://login.microsoftonline.com/organizations."));
                }
                c
            }
            Err(e) => refuse(raw, e.replace("--authority: ", "Authority: ")),
        },
        "smtp" | "imap" => {
            let kind = if key == "smtp" {
                FieldKind::SmtpHost
            } else {
                FieldKind::ImapHost
            };
            match Endpoint::parse(raw) {
                Ok(e) => {
                    let mut c = from_report(input::validate_field(kind, &e.host, &ctx), &e.host);
                    c.value = vec![format!("{}:{}:{}", e.host, e.port, e.security.as_str())];
                    c
                }
                Err(e) => refuse(raw, format!("{} server: {e}", key.to_ascii_uppercase())),
            }
        }
        "ca-file" => {
            if std::fs::metadata(raw.trim()).is_ok_and(|m| m.is_file()) {
                one(raw)
            } else {
                refuse(
                    raw,
                    format!(
                        "CA file: {} is not a readable file; give the path of the PEM file itself.",
                        raw.trim()
                    ),
                )
            }
        }
        "readers" => {
            let mut c = Checked::default();
            for entry in raw.split_whitespace() {
                match service::check_reader(entry) {
                    Ok(v) if !c.value.contains(&v) => c.value.push(v),
                    Ok(_) => {}
                    Err(e) => c.errors.push(e),
                }
            }
            c
        }
        "store" => {
            let s = raw.trim();
            if s == "keyring"
                || s == "service"
                || s.strip_prefix("file:")
                    .is_some_and(|d| !d.trim().is_empty())
            {
                one(s)
            } else {
                refuse(
                    raw,
                    String::from("Token store: write file:<folder>, keyring or service."),
                )
            }
        }
        "port" => match raw.trim().parse::<u16>() {
            Ok(p) if p != 0 => one(raw),
            _ => refuse(
                raw,
                String::from("Port: give the port of the registered redirect URI (1-65535)."),
            ),
        },
        "name" => {
            let n = raw.trim();
            let valid = !n.is_empty()
                && n.len() <= 64
                && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if valid {
                one(n)
            } else {
                refuse(raw, String::from("Account name: use 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit, so the name works on a command line."))
            }
        }
        _ => one(raw),
    }
}

/// The default of a question that has one, for the answers so far.
pub fn default_of(key: &str, a: &Answers) -> Option<String> {
    match key {
        "purpose" => Some("both".into()),
        "cloud" => Some("worldwide".into()),
        "flow" => a
            .profile()
            .map(|p| p.recommended_flow().as_str().replace('_', "-")),
        "name" => a
            .get("mailbox")
            .and_then(|m| m.split('@').next())
            .map(|l| {
                l.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect::<String>()
            })
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())),
        "export" => Some("none".into()),
        // An authority with a tenant path (`.../organizations`) names the tenant.
        "tenant" => a
            .get("authority")
            .and_then(|u| super::authorize::split_authority(u).ok())
            .and_then(|(_, t)| t),
        "smtp" | "imap" => {
            let protocol = if key == "smtp" {
                MailProtocol::Smtp
            } else {
                MailProtocol::Imap
            };
            let d = a.profile()?.mail(protocol, a.cloud()).ok()?;
            Some(format!("{}:{}:{}", d.host?, d.port, d.security.as_str()))
        }
        _ => None,
    }
}

/// Why the setup stopped.
#[derive(Debug)]
pub enum Stop {
    /// Values are missing or wrong (script): every problem, each naming its flag.
    Usage(Vec<String>),
    /// The admin cancelled at a prompt.
    Cancelled,
    /// Anything else, already explained.
    Failed(String),
}

/// Where the answers come from besides the flags.
pub trait Asker {
    /// Asks a question; `None` when the admin cancelled.
    fn ask(
        &mut self,
        field: &Field,
        a: &Answers,
        retry: Option<&Checked>,
    ) -> Result<Vec<String>, Stop>;
    /// Asks for a secret (hidden).
    fn secret(&mut self, field: &Field) -> Result<Option<Secret<String>>, Stop>;
    /// Shows the registration checklist once the provider, flow and purpose are known.
    fn checklist(&mut self, a: &Answers);
    /// Whether a person answers (false: a script, everything must be a flag).
    fn interactive(&self) -> bool;
}

/// Goes through [`FIELDS`]: flags first, then the asker for what is missing. In a script every
/// missing or wrong value is collected and reported at once, naming its flag.
pub fn resolve(
    args: &Args,
    asker: &mut dyn Asker,
) -> Result<(Answers, Option<Secret<String>>), Stop> {
    let mut a = Answers::default();
    let mut problems = Vec::new();
    let mut secret = None;
    let mut checklist_shown = false;
    for f in FIELDS {
        if !(f.applies)(&a) {
            if f.key == "readers" && args.given.contains_key("reader") {
                problems.push(format!(
                    "--reader: the readers get the token from the mailoauth service, but --store {} keeps it in this user's store: drop --store (or give --store service).",
                    a.get("store").unwrap_or_default()
                ));
            }
            continue;
        }
        if f.key == "issuer" || f.key == "tenant" || f.key == "client-id" {
            if !checklist_shown && asker.interactive() {
                asker.checklist(&a);
            }
            checklist_shown = true;
        }
        if f.kind == Kind::Secret {
            secret = match read_secret(args) {
                Ok(Some(s)) => Some(s),
                Ok(None) if asker.interactive() && f.prompt.is_some() => asker.secret(f)?,
                Ok(None) => None,
                Err(e) => {
                    problems.push(e);
                    None
                }
            };
            if secret.is_none() && (f.required)(&a) {
                let provider = a.profile().map_or("the provider", |p| p.name());
                problems.push(format!(
                    "missing --client-secret-file or --client-secret-env: {provider} needs the client secret for this flow."
                ));
            }
            continue;
        }
        let flag = f.flags[0];
        let given = args.given.get(flag).cloned();
        let mut value: Option<Vec<String>> = None;
        if let Some(raw) = given {
            let c = check_all(f, &raw, &a);
            for w in &c.warnings {
                eprintln!("mailoauth setup: warning: --{flag}: {w}");
            }
            if c.errors.is_empty() {
                value = Some(c.value);
            } else if asker.interactive() && f.prompt.is_some() {
                value = Some(ask_until_valid(asker, f, &a, Some(&c))?);
            } else {
                problems.extend(c.errors.iter().map(|e| format!("--{flag}: {e}")));
                continue;
            }
        } else if asker.interactive() && f.prompt.is_some() {
            value = Some(ask_until_valid(asker, f, &a, None)?);
        } else if let Some(d) = default_of(f.key, &a) {
            value = Some(vec![d]);
        } else if (f.required)(&a) {
            problems.push(format!("missing --{flag}: {}", f.prompt.unwrap_or(f.help)));
        }
        if let Some(v) = value.filter(|v| v.iter().any(|x| !x.is_empty())) {
            a.set(f.key, v);
        }
    }
    if !asker.interactive() && !args.yes {
        problems.push(String::from(
            "missing --yes: confirms the save (there is no one to ask in a script).",
        ));
    }
    if problems.is_empty() {
        Ok((a, secret))
    } else {
        Err(Stop::Usage(problems))
    }
}

fn check_all(f: &Field, raw: &[String], a: &Answers) -> Checked {
    if f.kind == Kind::Many {
        let joined = raw.join(" ");
        let mut c = check(f.key, &joined, a);
        if f.key == "port" {
            c = Checked::default();
            for r in raw {
                let one = check("port", r, a);
                c.errors.extend(one.errors);
                c.value.extend(one.value);
            }
        }
        c
    } else {
        check(f.key, raw.first().map_or("", String::as_str), a)
    }
}

fn ask_until_valid(
    asker: &mut dyn Asker,
    f: &Field,
    a: &Answers,
    first: Option<&Checked>,
) -> Result<Vec<String>, Stop> {
    let mut retry: Option<Checked> = None;
    if let Some(c) = first {
        retry = Some(Checked {
            value: c.value.clone(),
            errors: c.errors.clone(),
            warnings: c.warnings.clone(),
        });
    }
    loop {
        let raw = asker.ask(f, a, retry.as_ref())?;
        if raw.is_empty() || (raw.len() == 1 && raw[0].trim().is_empty()) {
            if let Some(d) = default_of(f.key, a) {
                return Ok(vec![d]);
            }
            if !(f.required)(a) {
                return Ok(Vec::new());
            }
        }
        let c = check_all(f, &raw, a);
        if c.errors.is_empty() {
            for w in &c.warnings {
                eprintln!("  note: {w}");
            }
            return Ok(c.value);
        }
        retry = Some(c);
    }
}

/// The client secret from `--client-secret-file` or `--client-secret-env`.
fn read_secret(args: &Args) -> Result<Option<Secret<String>>, String> {
    let file = args.given.get("client-secret-file").and_then(|v| v.first());
    let env = args.given.get("client-secret-env").and_then(|v| v.first());
    match (file, env) {
        (Some(_), Some(_)) => Err(String::from(
            "--client-secret-file and --client-secret-env: give only one of them.",
        )),
        (Some(f), None) => SecretRef::File(PathBuf::from(f))
            .read()
            .map(|s| Some(Secret::new(s.expose().trim().to_string())))
            .map_err(|e| format!("--client-secret-file: {e}")),
        (None, Some(v)) => match std::env::var(v) {
            Ok(s) if !s.trim().is_empty() => Ok(Some(Secret::new(s.trim().to_string()))),
            _ => Err(format!(
                "--client-secret-env: the environment variable {v:?} is not set, empty or not UTF-8; set it before running mailoauth setup."
            )),
        },
        (None, None) => Ok(None),
    }
}

/// Prompts in a terminal (inquire: Unix terminals, SSH sessions and the Windows console).
struct Terminal;

fn inquire_stop(e: inquire::InquireError) -> Stop {
    match e {
        inquire::InquireError::OperationCanceled | inquire::InquireError::OperationInterrupted => {
            Stop::Cancelled
        }
        other => Stop::Failed(format!("the prompt failed: {other}")),
    }
}

impl Asker for Terminal {
    fn ask(
        &mut self,
        f: &Field,
        a: &Answers,
        retry: Option<&Checked>,
    ) -> Result<Vec<String>, Stop> {
        let prompt = f.prompt.unwrap_or(f.key);
        if let Some(c) = retry {
            for e in &c.errors {
                eprintln!("  ✗ {e}");
            }
        }
        if f.kind == Kind::Choice {
            let options = choices(f.key, a);
            // One line per choice: the description is cut to fit an 80-column terminal.
            let labels: Vec<String> = options
                .iter()
                .map(|(v, d)| {
                    let short: String = d.chars().take(56).collect();
                    let cut = if short.len() < d.len() { "..." } else { "" };
                    format!("{v:<20} {short}{cut}")
                })
                .collect();
            let start = default_of(f.key, a)
                .and_then(|d| options.iter().position(|(v, _)| *v == d))
                .unwrap_or(0);
            let picked = inquire::Select::new(prompt, labels.clone())
                .with_starting_cursor(start)
                .with_page_size(8)
                .prompt()
                .map_err(inquire_stop)?;
            let i = labels.iter().position(|l| *l == picked).unwrap_or(0);
            return Ok(vec![options[i].0.clone()]);
        }
        let a2 = a.clone();
        let key = f.key;
        let many = f.kind == Kind::Many;
        let validator =
            move |s: &str| -> Result<inquire::validator::Validation, inquire::CustomUserError> {
                if s.trim().is_empty() {
                    return Ok(inquire::validator::Validation::Valid);
                }
                let c = if many {
                    let parts: Vec<String> = s.split_whitespace().map(str::to_string).collect();
                    check_all(
                        FIELDS.iter().find(|f| f.key == key).unwrap_or(&FIELDS[0]),
                        &parts,
                        &a2,
                    )
                } else {
                    check(key, s, &a2)
                };
                Ok(match c.errors.first() {
                    Some(e) => inquire::validator::Validation::Invalid(e.clone().into()),
                    None => inquire::validator::Validation::Valid,
                })
            };
        let default = default_of(f.key, a);
        let initial = retry.map(|c| c.value.join(" "));
        let mut text = inquire::Text::new(prompt)
            .with_help_message(f.help)
            .with_validator(validator);
        if let Some(d) = &default {
            text = text.with_default(d);
        }
        if let Some(i) = &initial {
            text = text.with_initial_value(i);
        }
        let answer = text.prompt().map_err(inquire_stop)?;
        Ok(if many {
            answer.split_whitespace().map(str::to_string).collect()
        } else {
            vec![answer]
        })
    }

    fn secret(&mut self, f: &Field) -> Result<Option<Secret<String>>, Stop> {
        let answer = inquire::Password::new(f.prompt.unwrap_or("Client secret"))
            .without_confirmation()
            .with_display_mode(inquire::PasswordDisplayMode::Masked)
            .with_help_message("Pasted text is not shown. Leave empty for a public client.")
            .prompt()
            .map_err(inquire_stop)?;
        let answer = answer.trim().to_string();
        if answer.is_empty() {
            // The prompt's own line shows a mask either way: say what was taken.
            eprintln!("  (no client secret: a public client)");
        }
        Ok((!answer.is_empty()).then(|| Secret::new(answer)))
    }

    fn checklist(&mut self, a: &Answers) {
        let ctx = provider::checklist::ChecklistContext {
            flow: a.flow(),
            purpose: Some(a.purpose()),
            cloud: a.cloud(),
            ..Default::default()
        };
        let Some(id) = a.get("provider") else { return };
        match provider::checklist::checklist(id, &ctx) {
            Ok(list) => {
                eprintln!(
                    "\nRegistration checklist (do this in the provider's console first; the values and links can be copied):\n"
                );
                // The command's closing hint names its own flags; here the values are asked next.
                let text = super::checklist::render(&list);
                for line in text
                    .lines()
                    .filter(|l| !l.starts_with("Values in <angle brackets>"))
                {
                    eprintln!("{line}");
                }
                eprintln!("Values in <angle brackets> are the ones you enter next.");
                eprintln!();
            }
            Err(e) => eprintln!("(no checklist: {e})"),
        }
    }

    fn interactive(&self) -> bool {
        true
    }
}

/// A script: nothing to ask.
struct Script;

impl Asker for Script {
    fn ask(&mut self, _: &Field, _: &Answers, _: Option<&Checked>) -> Result<Vec<String>, Stop> {
        Ok(Vec::new())
    }
    fn secret(&mut self, _: &Field) -> Result<Option<Secret<String>>, Stop> {
        Ok(None)
    }
    fn checklist(&mut self, _: &Answers) {}
    fn interactive(&self) -> bool {
        false
    }
}

pub fn run(args: Args) -> ExitCode {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let result = if interactive {
        eprintln!("mailoauth setup: the wizard's journey in this terminal. Esc or Ctrl+C cancels; nothing is saved before the last step.\n");
        resolve(&args, &mut Terminal)
    } else {
        resolve(&args, &mut Script)
    };
    let (answers, secret) = match result {
        Ok(r) => r,
        Err(Stop::Usage(problems)) => {
            if !interactive {
                eprintln!("mailoauth setup: standard input is not a terminal, so nothing can be asked: every value must be a flag.");
            }
            for p in &problems {
                eprintln!("mailoauth setup: {p}");
            }
            eprintln!("mailoauth setup: nothing was started; see `mailoauth setup --help`.");
            return ExitCode::from(EX_USAGE);
        }
        Err(Stop::Cancelled) => {
            eprintln!("mailoauth setup: cancelled; nothing was saved.");
            return ExitCode::from(130);
        }
        Err(Stop::Failed(m)) => {
            eprintln!("mailoauth setup: {m}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailoauth setup: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(finish(&args, answers, secret, interactive))
}

/// What `--json` prints.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    account: String,
    config: String,
    saved: bool,
    granted: Option<oauth::Granted>,
    check: Option<mailoauth::probe::CheckReport>,
    token_command: String,
    export: Option<String>,
    /// The tokens were handed to the token service.
    service: bool,
    /// Who reads the token from the service.
    readers: Vec<String>,
}

fn fail(m: impl std::fmt::Display) -> ExitCode {
    eprintln!("mailoauth setup: {m}");
    ExitCode::FAILURE
}

/// The sign-in, the tests, the save and the export, after every answer is known.
async fn finish(
    args: &Args,
    a: Answers,
    secret: Option<Secret<String>>,
    interactive: bool,
) -> ExitCode {
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(mailoauth::config::default_path);
    let (Some(provider_id), Some(flow)) = (a.get("provider"), a.flow()) else {
        return fail("the provider is missing");
    };
    let name = a
        .get("name")
        .map(str::to_string)
        .or_else(|| default_of("name", &a))
        .unwrap_or_else(|| String::from("mail"));
    let endpoint = |key: &str| a.get(key).and_then(|s| Endpoint::parse(s).ok());
    let draft = core_api::AccountDraft {
        provider: provider_id.to_string(),
        cloud: a.cloud(),
        tenant: a.get("tenant").map(str::to_string),
        client_id: a.get("client-id").unwrap_or_default().to_string(),
        flow,
        purpose: a.purpose(),
        mailbox: a.get("mailbox").unwrap_or_default().to_string(),
        smtp: endpoint("smtp"),
        imap: endpoint("imap"),
        client_secret: secret.clone(),
        redirect_port: a.get("port").and_then(|p| p.parse().ok()),
        readers: Vec::new(),
    };
    let mut setup = match core_api::plan(&draft) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // An account read by other OS accounts is held by the token service: the sign-in's tokens
    // are handed to it, never kept in this user's store or keyring.
    let readers = a.all("readers").to_vec();
    // An account the service already holds stays there when setup runs again without --store
    // (its readers are kept by the save).
    let held_before = mailoauth::config::load(&config_path).ok().is_some_and(|d| {
        d.config
            .account(&name)
            .is_some_and(mailoauth::service::is_service_owned)
    });
    let to_service = !readers.is_empty()
        || a.get("store") == Some("service")
        || (held_before && a.get("store").is_none());
    let store_text = match a.get("store") {
        _ if to_service => String::from("service"),
        Some(s) => s.to_string(),
        None => match super::authorize::default_store() {
            Ok(s) => s,
            Err(e) => return fail(e.replace("--store", "--store (mailoauth setup)")),
        },
    };
    setup.store = match StoreSpec::parse(&store_text) {
        Ok(s) => s,
        Err(e) => return fail(format!("--store: {e}")),
    };
    setup.auth.scopes = a.all("scope").to_vec();
    if let Some(issuer) = a.get("issuer") {
        eprintln!("Reading the provider's discovery document at {issuer} ...");
        match super::authorize::discover(issuer).await {
            Ok(e) => setup.auth.endpoints = e,
            Err(e) => return fail(format!("--issuer {issuer}: {e}")),
        }
    }
    if let Some(authority) = a.get("authority") {
        match super::authorize::split_authority(authority) {
            Ok((base, tenant)) => {
                if let (Some(t), Some(given)) = (&tenant, &setup.auth.tenant) {
                    if !t.eq_ignore_ascii_case(given) {
                        eprintln!("mailoauth setup: --authority names the tenant {t:?} but --tenant is {given:?}: give one of them.");
                        return ExitCode::from(EX_USAGE);
                    }
                }
                setup.auth.endpoints.authority = Some(base);
            }
            Err(e) => return fail(e),
        }
    }
    // The client secret of an account the service holds goes to the service with the tokens
    // (the hand-over below keeps it in its private folder meanwhile); any other is kept in the
    // account's store.
    if let (Some(s), Some(_), false) = (&secret, &setup.auth.client_secret, to_service) {
        match core_api::keep_client_secret(&setup.store, &setup.auth.mailbox, s) {
            Ok(place) => setup.auth.client_secret = Some(place),
            Err(e) => return fail(e),
        }
    }
    let ca_file = a.get("ca-file").map(PathBuf::from);
    if let Some(f) = &ca_file {
        match std::fs::read_to_string(f) {
            Ok(pem) => setup.check.tls.extra_ca_pem = Some(pem),
            Err(e) => return fail(format!("--ca-file {}: {e}", f.display())),
        }
    }
    // An existing account is replaced only after the admin saw the difference.
    let existed = mailoauth::config::load(&config_path)
        .ok()
        .is_some_and(|d| d.config.account(&name).is_some());
    if existed && !interactive && !args.yes {
        return fail(format!(
            "account {name:?} already exists in {}: add --yes to update it",
            config_path.display()
        ));
    }

    // The service answers, reads this config and takes tokens from this user: checked before
    // the sign-in, so none is wasted.
    let socket = mailoauth::service::client::socket_path(args.socket.as_deref());
    let handover = if to_service {
        if let Err(stop) = service::preflight(&socket, &config_path).await {
            eprintln!("mailoauth setup: {}", stop.message);
            return ExitCode::from(stop.status);
        }
        let mut h = match mailoauth::service::client::HandOver::new() {
            Ok(h) => h,
            Err(e) => return fail(format!("cannot prepare the hand-over to the service: {e}")),
        };
        if let (Some(s), Some(_)) = (&secret, &setup.auth.client_secret) {
            if let Err(e) = h.keep_secret(&mut setup.auth, s) {
                return fail(e);
            }
        }
        Some(h)
    } else {
        None
    };
    let tokens_note = if to_service {
        "the tokens of this sign-in are discarded, nothing reached the service"
    } else {
        "the tokens stay in the store"
    };

    // The sign-in.
    let store: Box<dyn mailoauth::store::TokenStore> = match &handover {
        Some(h) => Box::new(h.store().clone()),
        None => match mailoauth::store::open(&setup.store) {
            Ok(s) => s,
            Err(e) => return fail(e),
        },
    };
    eprintln!(
        "\nSigning in {} ({} flow) ...",
        setup.auth.mailbox,
        flow.as_str().replace('_', "-")
    );
    let listener = term::Listener {
        ports: a
            .all("port")
            .iter()
            .filter_map(|p| p.parse::<u16>().ok())
            .collect(),
        path: None,
        timeout_secs: args.timeout,
    };
    let granted = match term::sign_in(&setup.auth, store.as_ref(), &listener, None).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("mailoauth setup: the sign-in failed: {e}");
            super::authorize::explain(&e, &setup.auth);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("Granted scopes: {}", granted.scopes.join(" "));

    // The mail tests, with the token just stored.
    let token = match store.load(&oauth::store_key(&setup.auth)) {
        Ok(Some(t)) => t.access_token,
        Ok(None) => return fail("the sign-in stored no token"),
        Err(e) => return fail(e),
    };
    let mut report = None;
    if setup.check.smtp.is_some() || setup.check.imap.is_some() {
        eprintln!("\nTesting the mail servers with the new token ...");
        let r = term::mail_tests(&setup.check, &token, false).await;
        eprint!("{}", term::render_report(&r));
        if !r.ok {
            let save_anyway = interactive
                && inquire::Confirm::new("The mail tests failed. Save the account anyway?")
                    .with_default(false)
                    .prompt()
                    .unwrap_or(false);
            if !save_anyway {
                eprintln!("mailoauth setup: the mail tests failed; the account was not saved ({tokens_note}). Fix what the diagnosis says and run mailoauth setup again.");
                return ExitCode::FAILURE;
            }
        }
        report = Some(r);
    }

    // The save: preview, difference, confirmation.
    let mut account = match core_api::config_account(&name, &setup, ca_file.as_deref()) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if to_service {
        account.token_store = StoreSpec::Service;
        if account.auth.client_secret.is_some() {
            // The service holds the secret too, from the hand-over below.
            account.auth.client_secret = Some(mailoauth::config::SecretRef::Service);
        }
        // None given: the saved account's readers stay (the core keeps them).
        account.readers = readers.clone();
    }
    let saved = match save_with_preview(
        &config_path,
        account.clone(),
        existed,
        interactive,
        args.yes,
        tokens_note,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The service takes the tokens once the account is in its config.
    if let Some(h) = &handover {
        let key = oauth::store_key(&setup.auth);
        if let Err(e) = h.send(&socket, &name, &key).await {
            let again = super::reauthorize::command(args.config.as_deref(), &name);
            let stop = service::refused_handover(&e, &name, &again);
            eprintln!("mailoauth setup: {}", stop.message);
            return ExitCode::from(stop.status);
        }
        eprintln!("The tokens{} are in the mailoauth service's custody (nothing was kept in this user's store).", if account.auth.client_secret.is_some() { " and the client secret" } else { "" });
    }
    let readers_saved = mailoauth::config::load(&config_path)
        .ok()
        .and_then(|d| d.config.account(&name).map(|a| a.readers.clone()))
        .unwrap_or_default();
    let export = match a.get("export").filter(|e| *e != "none") {
        Some(id) => {
            let ctx = mailoauth::export::ExportContext::for_config(&config_path);
            match mailoauth::export::export(id, &account, &ctx) {
                Ok(text) => Some(text),
                Err(e) => return fail(format!("--export {id}: {e}")),
            }
        }
        None => None,
    };
    if args.json {
        let out = Outcome {
            account: name,
            config: config_path.display().to_string(),
            saved: saved.saved,
            granted: Some(granted),
            check: report,
            token_command: saved.token_command,
            export,
            service: handover.is_some(),
            readers: readers_saved,
        };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("Saved account {name:?} in {}.", config_path.display());
        if handover.is_some() {
            let who = if readers_saved.is_empty() {
                String::from("root and the group mailoauth only (no readers)")
            } else {
                readers_saved.join(", ")
            };
            println!("The mailoauth service holds its tokens and keeps them fresh; it gives them to: {who}.");
            println!(
                "The mail service, running as one of them, gets a fresh token with:\n\n  {}\n",
                saved.token_command
            );
        } else {
            println!(
                "The mail service gets a fresh token with:\n\n  {}\n",
                saved.token_command
            );
        }
        if let Some(text) = export {
            println!(
                "Export ({}):\n\n{text}",
                a.get("export").unwrap_or_default()
            );
        }
    }
    ExitCode::SUCCESS
}

/// Shows what the save writes (the whole new file, or the difference to the file on disk),
/// asks, writes; a file changed since the preview is not overwritten without a second look.
pub fn save_with_preview(
    path: &Path,
    account: mailoauth::config::Account,
    existed: bool,
    interactive: bool,
    yes: bool,
    tokens_note: &str,
) -> Result<core_api::SaveReport, ExitCode> {
    let preview = match core_api::save_account(path, account.clone(), core_api::SaveMode::Preview) {
        Ok(p) => p,
        Err(e) => return Err(fail(e)),
    };
    let before = std::fs::read_to_string(path).unwrap_or_default();
    if before.is_empty() {
        eprintln!("\n{} will be created with:\n", path.display());
        for line in preview.text.lines() {
            eprintln!("  {line}");
        }
    } else {
        eprintln!(
            "\nChanges to {}{}:\n",
            path.display(),
            if existed {
                " (the account exists: it is updated)"
            } else {
                ""
            }
        );
        eprint!("{}", diff(&before, &preview.text));
    }
    eprintln!();
    if !yes {
        if !interactive {
            eprintln!("mailoauth setup: missing --yes: nothing was saved.");
            return Err(ExitCode::from(EX_USAGE));
        }
        let question = if existed {
            format!("Update account {:?} in {}?", account.name, path.display())
        } else {
            format!("Save to {}?", path.display())
        };
        match inquire::Confirm::new(&question).with_default(true).prompt() {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                eprintln!("mailoauth setup: not saved ({tokens_note}; run mailoauth setup again to save).");
                return Err(ExitCode::FAILURE);
            }
        }
    }
    let write = core_api::SaveMode::Write {
        base: Some(preview.base.clone()),
    };
    let report = match core_api::save_account(path, account.clone(), write) {
        Ok(r) => r,
        Err(e) => return Err(fail(e)),
    };
    if report.saved {
        return Ok(report);
    }
    eprintln!(
        "The file changed on disk since the preview; nothing was written. The difference:\n\n{}",
        report.changed_on_disk.clone().unwrap_or_default()
    );
    let overwrite = interactive
        && inquire::Confirm::new("Write the account over those changes?")
            .with_default(false)
            .prompt()
            .unwrap_or(false);
    if !overwrite {
        eprintln!(
            "mailoauth setup: not saved; run mailoauth setup again to see the file as it is now."
        );
        return Err(ExitCode::from(75));
    }
    match core_api::save_account(path, account, core_api::SaveMode::Overwrite) {
        Ok(r) => Ok(r),
        Err(e) => Err(fail(e)),
    }
}

/// A unified difference of two texts, for the preview.
pub fn diff(before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header("on disk", "after the save")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn the_flags_are_the_prompts() {
        let cmd = Cli::command();
        let flags: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .filter(|f| f != "help")
            .collect();
        let mut from_table: Vec<String> = FIELDS
            .iter()
            .flat_map(|f| f.flags.iter().map(|s| s.to_string()))
            .chain(META_FLAGS.iter().map(|s| s.to_string()))
            .collect();
        let mut flags_sorted = flags.clone();
        flags_sorted.sort();
        from_table.sort();
        assert_eq!(flags_sorted, from_table);
        // Every prompt has a flag, and a secret's flags are a file and an environment variable,
        // never the value itself.
        for f in FIELDS.iter().filter(|f| f.prompt.is_some()) {
            assert!(!f.flags.is_empty(), "{} has no flag", f.key);
            if f.kind == Kind::Secret {
                assert!(
                    f.flags
                        .iter()
                        .all(|fl| fl.ends_with("-file") || fl.ends_with("-env")),
                    "{:?}",
                    f.flags
                );
            }
        }
        assert!(!flags.iter().any(|f| f == "client-secret"));
    }

    fn parse(argv: &[&str]) -> Args {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("setup").chain(argv.iter().copied()))
            .expect("parses")
            .args
    }

    #[test]
    fn a_script_names_every_missing_flag() {
        let args = parse(&["--provider", "microsoft"]);
        let Err(Stop::Usage(problems)) = resolve(&args, &mut Script) else {
            panic!("refused")
        };
        let text = problems.join("\n");
        for flag in ["--tenant", "--client-id", "--mailbox", "--yes"] {
            assert!(text.contains(&format!("missing {flag}")), "{text}");
        }
        // Microsoft's servers are the profile's: not asked for.
        assert!(!text.contains("--smtp"), "{text}");
        let args = parse(&["--provider", "generic"]);
        let Err(Stop::Usage(problems)) = resolve(&args, &mut Script) else {
            panic!("refused")
        };
        let text = problems.join("\n");
        for flag in ["--issuer", "--scope", "--smtp", "--imap"] {
            assert!(text.contains(&format!("missing {flag}")), "{text}");
        }
    }

    #[test]
    fn wrong_values_get_the_windows_messages_with_their_flag() {
        let args = parse(&[
            "--provider",
            "microsoft",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            "not a guid",
            "--mailbox",
            "scanner",
            "--yes",
        ]);
        let Err(Stop::Usage(problems)) = resolve(&args, &mut Script) else {
            panic!("refused")
        };
        let a = Answers::default();
        let mut ms = a.clone();
        ms.set("provider", vec!["microsoft".into()]);
        let window = check("mailbox", "scanner", &ms).errors;
        assert!(!window.is_empty());
        assert!(
            problems
                .iter()
                .any(|p| *p == format!("--mailbox: {}", window[0])),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("--client-id: ")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_authority_with_organizations_is_the_tenant() {
        let args = parse(&[
            "--provider",
            "microsoft",
            "--authority",
            "https://login.example.net/organizations",
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
            "--mailbox",
            "scanner@contoso.com",
            "--yes",
        ]);
        let (a, _) = resolve(&args, &mut Script).expect("the tenant comes from the authority");
        assert_eq!(a.get("tenant"), Some("organizations"));
        let args = parse(&[
            "--provider",
            "microsoft",
            "--authority",
            "login.example.net",
        ]);
        let Err(Stop::Usage(problems)) = resolve(&args, &mut Script) else {
            panic!("refused")
        };
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("--authority: Authority:")),
            "{problems:?}"
        );
    }

    #[test]
    fn secrets_come_from_a_file_or_an_environment_variable_only() {
        let dir =
            std::env::temp_dir().join(format!("mailoauth-setup-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, " GOCSPX-from-file \n").unwrap();
        let f = file.display().to_string();
        let s = read_secret(&parse(&["--client-secret-file", &f]))
            .unwrap()
            .unwrap();
        assert_eq!(s.expose(), "GOCSPX-from-file");
        let both = parse(&["--client-secret-file", &f, "--client-secret-env", "X"]);
        assert!(read_secret(&both).unwrap_err().contains("only one"));
        let unset = parse(&["--client-secret-env", "MAILOAUTH_TEST_UNSET_SECRET_VAR"]);
        assert!(read_secret(&unset)
            .unwrap_err()
            .contains("MAILOAUTH_TEST_UNSET_SECRET_VAR"));
        // Google needs one: a script without it is told which flags give it.
        let args = parse(&["--provider", "google"]);
        let Err(Stop::Usage(problems)) = resolve(&args, &mut Script) else {
            panic!("refused")
        };
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("missing --client-secret-file or --client-secret-env")),
            "{problems:?}"
        );
        // There is no flag that takes the secret itself.
        use clap::Parser;
        assert!(Cli::try_parse_from(["setup", "--client-secret", "x"]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Users and groups are looked up on Unix (root exists there); on Windows a reader is
    // checked for its shape only, and the service resolves it to a SID.
    #[cfg(unix)]
    #[test]
    fn readers_are_checked_against_this_machine_and_kept_by_a_save_without_them() {
        // Checked as typed: an unknown user is named with its flag; a known one is kept, once.
        let base = [
            "--provider",
            "microsoft",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
            "--mailbox",
            "scanner@contoso.com",
            "--yes",
        ];
        let mut argv = base.to_vec();
        argv.extend(["--reader", "no-such-user-mailoauth"]);
        let Err(Stop::Usage(problems)) = resolve(&parse(&argv), &mut Script) else {
            panic!("refused")
        };
        assert!(
            problems.iter().any(|p| p
                .starts_with("--reader: Reader \"no-such-user-mailoauth\": there is no OS user")),
            "{problems:?}"
        );
        let mut argv = base.to_vec();
        argv.extend([
            "--reader",
            "root",
            "--reader",
            "root",
            "--reader",
            "group:root",
        ]);
        let (a, _) = resolve(&parse(&argv), &mut Script).expect("root exists");
        assert_eq!(a.all("readers"), ["root", "group:root"]);
        // A reader with a store of this user's: the two cannot both hold the tokens.
        argv.extend(["--store", "keyring"]);
        let Err(Stop::Usage(problems)) = resolve(&parse(&argv), &mut Script) else {
            panic!("refused")
        };
        assert!(
            problems.iter().any(|p| p.starts_with("--reader: ")),
            "{problems:?}"
        );

        // The save keeps the readers of the saved account when the new one names none
        // (a setup re-run without --reader, reauthorize's rebuilt account).
        let dir =
            std::env::temp_dir().join(format!("mailoauth-setup-readers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.toml");
        let draft = core_api::AccountDraft {
            provider: "microsoft".into(),
            cloud: Cloud::default(),
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            flow: Flow::DeviceCode,
            purpose: Purpose::Send,
            mailbox: "scanner@contoso.com".into(),
            smtp: None,
            imap: None,
            client_secret: None,
            redirect_port: None,
            readers: Vec::new(),
        };
        let setup = core_api::plan(&draft).expect("plan");
        let mut account = core_api::config_account("scanner", &setup, None).unwrap();
        account.token_store = StoreSpec::Service;
        account.readers = vec!["lp".into(), "group:scanners".into()];
        let write = || core_api::SaveMode::Write { base: None };
        assert!(
            core_api::save_account(&path, account.clone(), write())
                .unwrap()
                .saved
        );
        account.readers.clear();
        assert!(
            core_api::save_account(&path, account, write())
                .unwrap()
                .saved
        );
        let doc = mailoauth::config::load(&path).unwrap();
        assert_eq!(
            doc.config.account("scanner").unwrap().readers,
            ["lp", "group:scanners"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_complete_script_resolves_with_defaults() {
        let args = parse(&[
            "--provider",
            "microsoft",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
            "--mailbox",
            "scanner@contoso.com",
            "--flow",
            "device-code",
            "--yes",
        ]);
        let (a, secret) = resolve(&args, &mut Script).expect("complete");
        assert!(secret.is_none());
        assert_eq!(a.get("name"), Some("scanner"));
        assert_eq!(a.flow(), Some(Flow::DeviceCode));
        assert_eq!(a.get("smtp"), Some("smtp.office365.com:587:start_tls"));
    }
}
