//! The same account in the formats of other consumers of the mailbox.
//!
//! Some mail services read their own config format rather than mailoauth's. An [`Exporter`]
//! turns one [`Account`] into the snippet such a service needs; the list is [`exporters`], so a
//! new consumer is one more small file and one more line there. Exporters never see or write a
//! secret: a consumer that can run a command gets `mailoauth token <account>` as its password
//! command, and the others are told where the tokens are.

mod env;
mod mbsync;
mod msmtp;
mod neomutt;
mod safeq;

use crate::config::Account;
use crate::error::{Coded, ErrorCode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// The shell that runs an exported command, which decides how it is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// `/bin/sh -c` (Linux, macOS, BSD, and Cygwin/MSYS2 builds on Windows).
    Posix,
    /// `cmd.exe /c`, through which native Windows programs (msmtp's MinGW build: `_popen`) run
    /// a command line; the program then splits its arguments by the Microsoft C runtime rules.
    Windows,
}

impl Shell {
    /// The shell of the platform mailoauth runs on.
    pub fn current() -> Self {
        if cfg!(windows) {
            Shell::Windows
        } else {
            Shell::Posix
        }
    }

    /// `posix` or `windows`, as `mailoauth export --shell` takes it.
    pub fn id(self) -> &'static str {
        match self {
            Shell::Posix => "posix",
            Shell::Windows => "windows",
        }
    }

    /// Quotes one argument, only when it needs quoting.
    pub fn quote(self, text: &str) -> String {
        match self {
            Shell::Posix => shell_quote(text),
            Shell::Windows => windows_quote(text),
        }
    }
}

impl std::str::FromStr for Shell {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "posix" | "sh" => Ok(Shell::Posix),
            "windows" | "cmd" => Ok(Shell::Windows),
            other => Err(format!(
                "no shell {other:?}: use posix (sh, also Cygwin/MSYS2) or windows (cmd.exe)"
            )),
        }
    }
}

/// What every exporter needs besides the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportContext {
    /// How the consumer runs mailoauth: a full path when the service's `PATH` may not have it.
    pub program: String,
    /// The config file, always passed as `--config`: the default location differs per user
    /// (root: `/etc/mailoauth`, a daemon user: its own `~/.config`) and a service started by
    /// cron or systemd may not have `MAILOAUTH_CONFIG`, so a command without it could read
    /// another file than the one exported from.
    pub config: PathBuf,
    /// The shell that runs the command on the consumer's platform.
    pub shell: Shell,
    /// A configuration the client uses as it is, not only the account part (mbsync: adds the
    /// `MaildirStore` and the `Channel`).
    pub complete: bool,
    /// The local mail folder of a complete configuration (mbsync: the `MaildirStore` path);
    /// `None` for `~/Mail/<account>/`.
    pub maildir: Option<String>,
}

impl ExportContext {
    /// The context for the config file at `path` (made absolute, so the command reads the same
    /// file from any working folder), run as `mailoauth` by this platform's shell.
    pub fn for_config(path: &Path) -> Self {
        ExportContext {
            program: String::from("mailoauth"),
            config: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            shell: Shell::current(),
            complete: false,
            maildir: None,
        }
    }

    /// The same context for a consumer whose commands always run in a POSIX shell (mbsync and
    /// NeoMutt use `/bin/sh -c` on every platform, Cygwin and MSYS2 included).
    pub fn posix(&self) -> Self {
        ExportContext {
            shell: Shell::Posix,
            ..self.clone()
        }
    }

    /// The command that prints a fresh access token for `account`, quoted for [`Self::shell`].
    pub fn token_command(&self, account: &Account) -> String {
        self.command("token", &[&account.name])
    }

    /// `mailoauth <subcommand> --config <file> <args>`, quoted for [`Self::shell`].
    pub fn command(&self, subcommand: &str, args: &[&str]) -> String {
        let q = |t: &str| self.shell.quote(t);
        let mut parts = vec![q(&self.program), subcommand.into()];
        parts.push("--config".into());
        parts.push(q(&self.config.display().to_string()));
        parts.extend(args.iter().map(|a| q(a)));
        parts.join(" ")
    }
}

/// Quotes `text` for a POSIX shell, only when it needs quoting.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=+,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Characters `cmd.exe` acts on outside double quotes; `^` makes each literal there.
const CMD_SPECIAL: &str = "^&|<>()%!";

/// Quotes one argument for a command line that `cmd.exe /c` reads and the program then splits
/// by the Microsoft C runtime rules (`CommandLineToArgvW`): only when it needs quoting.
///
/// Two readers see the text. The C runtime splits at blanks outside double quotes, and takes
/// backslashes literally except before a quote (2n backslashes + `"`: n backslashes and a quote
/// that opens or closes; 2n+1: n backslashes and a literal quote). `cmd.exe` toggles its own
/// quote state at every `"` and, outside quotes, treats `^ & | < > ( )` as operators (a `^`
/// escapes the next character and is removed); `%` expands variables even inside quotes, and
/// `!` does so when delayed expansion is on. A path with blanks and none of `% ! "` becomes
/// `"C:\Program Files\..."`. Anything else is written outside quotes, character by
/// character: blanks as `" "`, cmd's characters with `^` (a `^%` also ends any variable name
/// before it, so `%name%` cannot expand), and a `"` as `\^"` (a literal quote for the runtime
/// that does not toggle cmd's quote state).
pub fn windows_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:\\@=+,".contains(c));
    if plain {
        return text.to_string();
    }
    let blank = |c: char| c == ' ' || c == '\t';
    if !text.chars().any(|c| "%!\"\n\r".contains(c)) {
        // Inside quotes only backslashes right before the closing quote need doubling.
        let trailing = text.chars().rev().take_while(|c| *c == '\\').count();
        return format!("\"{text}{}\"", "\\".repeat(trailing));
    }
    let mut out = String::new();
    let mut backslashes = 0usize;
    for c in text.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                continue;
            }
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push_str("^\"");
            }
            c if blank(c) => {
                out.push_str(&"\\".repeat(backslashes * 2));
                out.push('"');
                out.push(c);
                out.push('"');
            }
            c if CMD_SPECIAL.contains(c) => {
                out.push_str(&"\\".repeat(backslashes));
                out.push('^');
                out.push(c);
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                out.push(c);
            }
        }
        backslashes = 0;
    }
    out.push_str(&"\\".repeat(backslashes));
    if out.is_empty() {
        out.push_str("\"\"");
    }
    out
}

/// A command line for `cmd.exe /c`: wrapped in one more pair of quotes, which cmd removes
/// (with more than two quotes on the line, `/c` strips the first and the last one), so a
/// program path in quotes keeps its own.
pub fn for_cmd_c(command_line: &str) -> String {
    format!("\"{command_line}\"")
}

/// Clients that cannot sign in with OAuth2 at all, and what to use instead: `mailoauth export`
/// names them rather than answering "no such format".
pub const WITHOUT_OAUTH: &[(&str, &str)] = &[(
    "fetchmail",
    "fetchmail 6.4.x (Debian 12 ships 6.4.37) and 6.5.x cannot sign in with OAuth2 (no XOAUTH2, no OAUTHBEARER), so no export can make it work. Instead: fetch with mbsync (mailoauth export mbsync --complete) or NeoMutt (mailoauth export neomutt), both through mailoauth token; or, where your system offers it, fetchmail 7 (or a build patched with its OAuth support) with auth oauthbearer and the output of mailoauth token as the password",
)];

/// Why an account cannot be exported in a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The format needs a server the account does not have.
    #[error("account {account:?} has no {protocol} server, which the {format} format needs: add an [account.{key}] table or choose another format")]
    MissingServer {
        /// The account.
        account: String,
        /// The format.
        format: &'static str,
        /// `SMTP` or `IMAP`.
        protocol: &'static str,
        /// `smtp` or `imap`.
        key: &'static str,
    },
    /// The consumer cannot use this account's provider or settings.
    #[error("the {format} format cannot use account {account:?}: {reason}")]
    Unsupported {
        /// The account.
        account: String,
        /// The format.
        format: &'static str,
        /// Why, and what to do instead.
        reason: String,
    },
    /// The account's provider or purpose is not one the format declares ([`Exporter::fits`]).
    #[error("the {format} format does not fit account {account:?}: {reason}")]
    DoesNotFit {
        /// The account.
        account: String,
        /// The format.
        format: &'static str,
        /// What the format needs that the account does not have.
        reason: String,
    },
    /// The client cannot use OAuth2 at all ([`WITHOUT_OAUTH`]).
    #[error("{client}: {advice}")]
    ClientWithoutOAuth {
        /// The client asked for.
        client: &'static str,
        /// Why not, and what to use instead.
        advice: &'static str,
    },
    /// No exporter has that id.
    #[error("no export format {id:?}; use one of {known}")]
    UnknownFormat {
        /// The id asked for.
        id: String,
        /// The ids there are.
        known: String,
    },
}

impl Coded for ExportError {
    fn code(&self) -> ErrorCode {
        match self {
            ExportError::UnknownFormat { .. } => ErrorCode::NotFound,
            ExportError::MissingServer { .. }
            | ExportError::Unsupported { .. }
            | ExportError::DoesNotFit { .. }
            | ExportError::ClientWithoutOAuth { .. } => ErrorCode::InvalidInput,
        }
    }
}

/// The account's server for `protocol` ("SMTP" or "IMAP"), or the error that names the format
/// needing it and the config key to add.
pub(crate) fn server_for<'a>(
    account: &'a Account,
    format: &'static str,
    protocol: &'static str,
) -> Result<&'a crate::config::MailServer, ExportError> {
    let (server, key) = match protocol {
        "SMTP" => (account.smtp.as_ref(), "smtp"),
        _ => (account.imap.as_ref(), "imap"),
    };
    server.ok_or(ExportError::MissingServer {
        account: account.name.clone(),
        format,
        protocol,
        key,
    })
}

/// Refuses an account that pins a certificate fingerprint, for a format whose client cannot
/// pin: dropping the pin silently would weaken what the admin configured. `instead` says what
/// to use.
pub(crate) fn refuse_pin(
    account: &Account,
    format: &'static str,
    instead: &str,
) -> Result<(), ExportError> {
    if account
        .tls
        .as_ref()
        .is_some_and(|t| t.pinned_sha256.is_some())
    {
        return Err(ExportError::Unsupported {
            account: account.name.clone(),
            format,
            reason: instead.to_string(),
        });
    }
    Ok(())
}

/// One consumer format.
pub trait Exporter: Sync {
    /// Stable id used on the command line and by the GUI (`msmtp`).
    fn id(&self) -> &'static str;
    /// What the output is and where it goes, in one sentence.
    fn describe(&self) -> &'static str;
    /// The snippet for `account`, once [`Exporter::export`] has checked the fit.
    fn render(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError>;
    /// What an account needs for this format: the providers it supports (empty: any) and the
    /// protocols it uses. The GUI offers a format only for setups that fit it.
    fn fits(&self) -> Fit {
        Fit::default()
    }
    /// The snippet for `account`, refused when the account does not fit the format (so what
    /// the GUI offers and what exports agree).
    fn export(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
        let provider = crate::provider::profile_id(&account.auth.provider);
        if let Some(reason) = self.fits().mismatch(provider, account.purpose) {
            return Err(ExportError::DoesNotFit {
                account: account.name.clone(),
                format: self.id(),
                reason,
            });
        }
        self.render(account, ctx)
    }
}

/// What a format needs of an account ([`Exporter::fits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fit {
    /// Provider ids it supports; empty for any.
    pub providers: &'static [&'static str],
    /// It sends mail, so the account must (SMTP).
    pub sends: bool,
    /// It reads mail, so the account must (IMAP).
    pub receives: bool,
}

impl Fit {
    /// Whether an account of `provider` for `purpose` can use the format.
    pub fn accepts(&self, provider: &str, purpose: crate::provider::Purpose) -> bool {
        self.mismatch(provider, purpose).is_none()
    }

    /// Why an account of `provider` for `purpose` cannot use the format, if it cannot.
    pub fn mismatch(&self, provider: &str, purpose: crate::provider::Purpose) -> Option<String> {
        if !self.providers.is_empty() && !self.providers.contains(&provider) {
            Some(format!(
                "it is only for {} accounts, and this one is {provider}",
                self.providers.join(", ")
            ))
        } else if self.sends && !purpose.sends() {
            Some(format!(
                "it sends mail, and the account's purpose is {purpose}: set purpose to send or both"
            ))
        } else if self.receives && !purpose.receives() {
            Some(format!(
                "it reads mail, and the account's purpose is {purpose}: set purpose to receive or both"
            ))
        } else {
            None
        }
    }
}

/// An exporter as the GUI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportFormat {
    /// Stable id (`msmtp`, `mbsync`, `neomutt`, `safeq-mps`, `env`).
    pub id: String,
    /// What the output is and where it goes.
    pub description: String,
}

static EXPORTERS: [&dyn Exporter; 5] = [
    &msmtp::Msmtp,
    &mbsync::Mbsync,
    &neomutt::Neomutt,
    &safeq::SafeqMps,
    &env::EnvFile,
];

/// Every exporter, in the order the GUI offers them.
pub fn exporters() -> &'static [&'static dyn Exporter] {
    &EXPORTERS
}

/// The formats, for a list in the GUI or `mailoauth export --list`.
pub fn formats() -> Vec<ExportFormat> {
    exporters().iter().map(|e| format_of(*e)).collect()
}

/// The formats an account of `provider` (a profile id: `google`, `microsoft`, `generic`) for
/// `purpose` can use: msmtp only for sending, mbsync and NeoMutt only for reading, SafeQ MPS only
/// for a Microsoft 365 mailbox it reads.
pub fn formats_for(provider: &str, purpose: crate::provider::Purpose) -> Vec<ExportFormat> {
    exporters()
        .iter()
        .filter(|e| e.fits().accepts(provider, purpose))
        .map(|e| format_of(*e))
        .collect()
}

fn format_of(e: &dyn Exporter) -> ExportFormat {
    ExportFormat {
        id: e.id().into(),
        description: e.describe().into(),
    }
}

/// The refusal for a client in [`WITHOUT_OAUTH`] (`fetchmail`), before any account is read.
pub fn without_oauth(id: &str) -> Option<ExportError> {
    let wanted = id.trim().to_ascii_lowercase();
    WITHOUT_OAUTH
        .iter()
        .find(|(c, _)| *c == wanted)
        .map(|(client, advice)| ExportError::ClientWithoutOAuth { client, advice })
}

/// Exports `account` in format `id`.
pub fn export(id: &str, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
    if let Some(err) = without_oauth(id) {
        return Err(err);
    }
    let wanted = id.trim().to_ascii_lowercase();
    let exporter = exporters()
        .iter()
        .find(|e| e.id() == wanted)
        .ok_or_else(|| ExportError::UnknownFormat {
            id: id.to_string(),
            known: exporters()
                .iter()
                .map(|e| e.id())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    // An account not read through the config loader (the wizard's preview) meets the same
    // cleartext rule: no export may tell a client to send the token unencrypted elsewhere.
    if let Some((key, refused)) = crate::config::cleartext_problem(account) {
        return Err(ExportError::Unsupported {
            account: account.name.clone(),
            format: exporter.id(),
            reason: format!("{key}: {refused}"),
        });
    }
    exporter.export(account, ctx)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config;

    /// The accounts of the config module's sample file: `scanner` (Microsoft, both) and
    /// `alerts` (Google, send only).
    pub(crate) fn sample(name: &str) -> Account {
        let cfg = config::parse(Path::new("m.toml"), crate::config::tests::SAMPLE).unwrap();
        cfg.account(name).unwrap().clone()
    }

    /// A context for the file at `/etc/mailoauth/mailoauth.toml`, POSIX shell, account only.
    pub(crate) fn ctx() -> ExportContext {
        ExportContext {
            program: "mailoauth".into(),
            config: "/etc/mailoauth/mailoauth.toml".into(),
            shell: Shell::Posix,
            complete: false,
            maildir: None,
        }
    }

    #[test]
    fn ids_are_unique_and_described() {
        let mut ids: Vec<&str> = exporters().iter().map(|e| e.id()).collect();
        assert_eq!(ids, ["msmtp", "mbsync", "neomutt", "safeq-mps", "env"]);
        ids.dedup();
        assert_eq!(ids.len(), exporters().len());
        assert!(formats().iter().all(|f| f.description.ends_with('.')));
    }

    #[test]
    fn token_command_names_the_config_and_quotes_only_what_needs_it() {
        let a = sample("scanner");
        assert_eq!(
            ctx().token_command(&a),
            "mailoauth token --config /etc/mailoauth/mailoauth.toml scanner"
        );
        let odd = ExportContext {
            program: "/opt/mail oauth/mailoauth".into(),
            config: "/etc/it's/m.toml".into(),
            ..ctx()
        };
        assert_eq!(
            odd.token_command(&a),
            r"'/opt/mail oauth/mailoauth' token --config '/etc/it'\''s/m.toml' scanner"
        );
    }

    #[test]
    fn windows_commands_are_quoted_for_cmd_and_the_c_runtime() {
        let a = sample("scanner");
        let win = ExportContext {
            program: r"C:\Program Files\mailoauth\mailoauth.exe".into(),
            config: r"C:\ProgramData\mailoauth\mailoauth.toml".into(),
            shell: Shell::Windows,
            ..ctx()
        };
        assert_eq!(
            win.token_command(&a),
            r#""C:\Program Files\mailoauth\mailoauth.exe" token --config C:\ProgramData\mailoauth\mailoauth.toml scanner"#
        );
        assert_eq!(
            for_cmd_c(&win.token_command(&a)),
            r#"""C:\Program Files\mailoauth\mailoauth.exe" token --config C:\ProgramData\mailoauth\mailoauth.toml scanner""#
        );
        // cmd's characters outside quotes, a variable that must not expand, a trailing backslash.
        assert_eq!(windows_quote(r"D:\a&b (x)\"), r#""D:\a&b (x)\\""#);
        assert_eq!(windows_quote("100%PATH%x"), "100^%PATH^%x");
        assert_eq!(
            windows_quote(r"C:\50% off\m.toml"),
            r#"C:\50^%" "off\m.toml"#
        );
        assert_eq!(windows_quote(r#"say "hi"\"#), r#"say" "\^"hi\^"\"#);
        assert_eq!(windows_quote(""), r#""""#);
    }

    /// How `cmd.exe /c` and then the Microsoft C runtime turn a command line into the program's
    /// arguments, as Microsoft documents them ("cmd /?": the quote rule of /c; "Parsing C
    /// command-line arguments"), so the quoting is checked on every platform. Delayed expansion
    /// is off (cmd's default), and no variable is defined whose name ends with `^`.
    fn cmd_c_then_argv(line: &str, vars: &[(&str, &str)]) -> Vec<String> {
        // /c: more than two quotes, so the first and the last one go.
        let line = if let Some(rest) = line.strip_prefix('"') {
            let mut l = rest.to_string();
            if let Some(last) = l.rfind('"') {
                l.remove(last);
            }
            l
        } else {
            line.to_string()
        };
        // Phase 1: %name% expands when name is defined (command-line mode keeps it otherwise).
        let mut expanded = String::new();
        let mut rest = line.as_str();
        while let Some(start) = rest.find('%') {
            expanded.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('%') {
                Some(end) => match vars
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&after[..end]))
                {
                    Some((_, v)) => {
                        expanded.push_str(v);
                        rest = &after[end + 1..];
                    }
                    None => {
                        expanded.push('%');
                        rest = after;
                    }
                },
                None => {
                    expanded.push('%');
                    rest = after;
                }
            }
        }
        expanded.push_str(rest);
        // Phase 2: carets outside quotes escape the next character; quotes toggle and stay.
        let mut cmd_out = String::new();
        let mut quoted = false;
        let mut chars = expanded.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    quoted = !quoted;
                    cmd_out.push(c);
                }
                '^' if !quoted => {
                    if let Some(n) = chars.next() {
                        cmd_out.push(n);
                    }
                }
                '&' | '|' | '<' | '>' if !quoted => panic!("cmd would act on {c} in {line}"),
                c => cmd_out.push(c),
            }
        }
        // The C runtime: blanks split outside quotes; backslashes count only before a quote.
        let chars: Vec<char> = cmd_out.chars().collect();
        let mut args = Vec::new();
        let mut cur = String::new();
        let mut in_arg = false;
        let mut quoted = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let n = chars[i..].iter().take_while(|c| **c == '\\').count();
                if chars.get(i + n) == Some(&'"') {
                    cur.push_str(&"\\".repeat(n / 2));
                    if n % 2 == 1 {
                        cur.push('"');
                        i += n + 1;
                    } else {
                        i += n;
                    }
                } else {
                    cur.push_str(&"\\".repeat(n));
                    i += n;
                }
                in_arg = true;
                continue;
            }
            if c == '"' {
                quoted = !quoted;
                in_arg = true;
            } else if (c == ' ' || c == '\t') && !quoted {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            } else {
                cur.push(c);
                in_arg = true;
            }
            i += 1;
        }
        if in_arg {
            args.push(cur);
        }
        args
    }

    #[test]
    fn windows_quoting_survives_cmd_and_the_c_runtime() {
        let nasty = [
            r"C:\Program Files\mailoauth\mailoauth.exe",
            r"C:\ProgramData\mailoauth\mailoauth.toml",
            r"D:\a&b (x)\",
            r"D:\50% off\%PATH%\m.toml",
            r"E:\it's ^ here\ & there|<>!",
            r#"say "hi"\ there"#,
            "tab\tbetween",
            "",
        ];
        let vars = [("PATH", "EXPANDED"), ("off", "EXPANDED")];
        for program in nasty {
            for config in nasty {
                let win = ExportContext {
                    program: program.into(),
                    config: config.into(),
                    shell: Shell::Windows,
                    ..ctx()
                };
                let line = for_cmd_c(&win.token_command(&sample("scanner")));
                assert_eq!(
                    cmd_c_then_argv(&line, &vars),
                    [program, "token", "--config", config, "scanner"],
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn a_format_is_offered_exactly_when_its_export_works() {
        use crate::provider::{Purpose, Security};
        // Every provider and purpose, on an account with the provider's usual servers: the
        // list the GUI offers and what the exporter then does must agree.
        for provider in ["google", "microsoft", "generic"] {
            for purpose in [Purpose::Send, Purpose::Receive, Purpose::Both] {
                for keep_other_server in [false, true] {
                    let mut a = sample("scanner");
                    a.auth.provider = provider.into();
                    a.purpose = purpose;
                    // A server the purpose does not use is dropped, or kept as a leftover of
                    // an earlier purpose: either way the fit decides.
                    if !purpose.sends() && !keep_other_server {
                        a.smtp = None;
                    }
                    if !purpose.receives() && !keep_other_server {
                        a.imap = None;
                    }
                    if let Some(imap) = a.imap.as_mut() {
                        imap.security = Security::Tls;
                    }
                    let offered: Vec<String> = formats_for(provider, purpose)
                        .into_iter()
                        .map(|f| f.id)
                        .collect();
                    for e in exporters() {
                        for complete in [false, true] {
                            let works = e.export(&a, &ExportContext { complete, ..ctx() }).is_ok();
                            assert_eq!(
                                offered.contains(&e.id().to_string()),
                                works,
                                "{} for {provider} / {purpose:?} (complete: {complete})",
                                e.id()
                            );
                        }
                    }
                }
            }
        }
        let ids = |p, u| -> Vec<String> { formats_for(p, u).into_iter().map(|f| f.id).collect() };
        assert_eq!(ids("google", Purpose::Send), ["msmtp", "env"]);
        assert_eq!(
            ids("microsoft", Purpose::Receive),
            ["mbsync", "neomutt", "safeq-mps", "env"]
        );
        let mut receive_only = sample("scanner");
        receive_only.purpose = Purpose::Receive;
        let err = export("msmtp", &receive_only, &ctx()).unwrap_err();
        assert!(
            matches!(
                err,
                ExportError::DoesNotFit {
                    format: "msmtp",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("set purpose to send or both"),
            "{err}"
        );
    }

    #[test]
    fn commands_always_name_the_config_even_the_default_one() {
        let at_default = ExportContext::for_config(&crate::config::default_path());
        let default = std::path::absolute(crate::config::default_path()).unwrap();
        assert_eq!(
            at_default.command("export", &["msmtp", "scanner"]),
            format!(
                "mailoauth export --config {} msmtp scanner",
                Shell::current().quote(&default.display().to_string())
            )
        );
        // An absolute path of the platform the test runs on (`for_config` makes paths absolute).
        let file = if cfg!(windows) {
            r"C:\srv\print\mail oauth.toml"
        } else {
            "/srv/print/mail oauth.toml"
        };
        let elsewhere = ExportContext {
            shell: Shell::Posix,
            ..ExportContext::for_config(Path::new(file))
        };
        assert_eq!(
            elsewhere.command("export", &["msmtp", "scanner"]),
            format!("mailoauth export --config '{file}' msmtp scanner")
        );
        assert_eq!(
            elsewhere.token_command(&sample("scanner")),
            format!("mailoauth token --config '{file}' scanner")
        );
        // A relative file is named absolutely: the service runs from another folder.
        let relative = ExportContext::for_config(Path::new("m.toml"));
        assert!(relative.config.is_absolute(), "{:?}", relative.config);
        assert!(relative.config.ends_with("m.toml"));
    }

    #[test]
    fn unknown_format_lists_the_ids_and_fetchmail_is_named() {
        let err = export("thunderbird", &sample("scanner"), &ctx()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
        assert!(err
            .to_string()
            .contains("msmtp, mbsync, neomutt, safeq-mps, env"));
        let err = export("Fetchmail", &sample("scanner"), &ctx()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        let text = err.to_string();
        assert!(text.contains("6.4.37") && text.contains("OAuth2"), "{text}");
        assert!(text.contains("export mbsync --complete"), "{text}");
    }

    #[test]
    fn shells_parse_by_name() {
        assert_eq!("posix".parse::<Shell>(), Ok(Shell::Posix));
        assert_eq!("Windows".parse::<Shell>(), Ok(Shell::Windows));
        assert!("powershell".parse::<Shell>().unwrap_err().contains("posix"));
    }

    #[test]
    fn no_export_contains_a_secret_reference_value() {
        // The references are not secrets, but the exports are meant for other tools' folders,
        // which are often world-readable: they say how to get a token, never where keys lie.
        for e in exporters() {
            for name in ["scanner", "alerts"] {
                for complete in [false, true] {
                    let c = ExportContext { complete, ..ctx() };
                    if let Ok(out) = e.export(&sample(name), &c) {
                        assert!(!out.contains("scanner.secret"), "{}: {out}", e.id());
                        assert!(!out.contains("alerts-client"), "{}: {out}", e.id());
                    }
                }
            }
        }
    }
}
