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
mod safeq;

use crate::config::Account;
use crate::error::{Coded, ErrorCode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

/// What every exporter needs besides the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportContext {
    /// How the consumer runs mailoauth: a full path when the service's `PATH` may not have it.
    pub program: String,
    /// The config file, passed as `--config` when it is not the default one.
    pub config: Option<PathBuf>,
}

impl Default for ExportContext {
    fn default() -> Self {
        ExportContext {
            program: String::from("mailoauth"),
            config: None,
        }
    }
}

impl ExportContext {
    /// The context for a config file at `path`: `--config` only when it is not the default one.
    pub fn for_config(path: &std::path::Path) -> Self {
        ExportContext {
            config: (path != crate::config::default_path()).then(|| path.to_path_buf()),
            ..Self::default()
        }
    }

    /// The command that prints a fresh access token for `account`, quoted for a POSIX shell.
    pub fn token_command(&self, account: &Account) -> String {
        self.command("token", &[&account.name])
    }

    /// `mailoauth <subcommand> [--config <file>] <args>`, quoted for a POSIX shell.
    pub fn command(&self, subcommand: &str, args: &[&str]) -> String {
        let mut parts = vec![shell_quote(&self.program), subcommand.into()];
        if let Some(c) = &self.config {
            parts.push("--config".into());
            parts.push(shell_quote(&c.display().to_string()));
        }
        parts.extend(args.iter().map(|a| shell_quote(a)));
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
            ExportError::MissingServer { .. } | ExportError::Unsupported { .. } => {
                ErrorCode::InvalidInput
            }
        }
    }
}

/// One consumer format.
pub trait Exporter: Sync {
    /// Stable id used on the command line and by the GUI (`msmtp`).
    fn id(&self) -> &'static str;
    /// What the output is and where it goes, in one sentence.
    fn describe(&self) -> &'static str;
    /// The snippet for `account`.
    fn export(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError>;
    /// What an account needs for this format: the providers it supports (empty: any) and the
    /// protocols it uses. The GUI offers a format only for setups that fit it.
    fn fits(&self) -> Fit {
        Fit::default()
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
        (self.providers.is_empty() || self.providers.contains(&provider))
            && (!self.sends || purpose.sends())
            && (!self.receives || purpose.receives())
    }
}

/// An exporter as the GUI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportFormat {
    /// Stable id (`msmtp`, `mbsync`, `safeq-mps`, `env`).
    pub id: String,
    /// What the output is and where it goes.
    pub description: String,
}

static EXPORTERS: [&dyn Exporter; 4] = [
    &msmtp::Msmtp,
    &mbsync::Mbsync,
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
/// `purpose` can use: msmtp only for sending, mbsync only for reading, SafeQ MPS only for a
/// Microsoft 365 mailbox it reads.
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

/// Exports `account` in format `id`.
pub fn export(id: &str, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
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
    use std::path::Path;

    /// The accounts of the config module's sample file: `scanner` (Microsoft, both) and
    /// `alerts` (Google, send only).
    pub(crate) fn sample(name: &str) -> Account {
        let cfg = config::parse(Path::new("m.toml"), crate::config::tests::SAMPLE).unwrap();
        cfg.account(name).unwrap().clone()
    }

    #[test]
    fn ids_are_unique_and_described() {
        let mut ids: Vec<&str> = exporters().iter().map(|e| e.id()).collect();
        assert_eq!(ids, ["msmtp", "mbsync", "safeq-mps", "env"]);
        ids.dedup();
        assert_eq!(ids.len(), exporters().len());
        assert!(formats().iter().all(|f| f.description.ends_with('.')));
    }

    #[test]
    fn token_command_quotes_only_what_needs_it() {
        let a = sample("scanner");
        assert_eq!(
            ExportContext::default().token_command(&a),
            "mailoauth token scanner"
        );
        let ctx = ExportContext {
            program: "/opt/mail oauth/mailoauth".into(),
            config: Some("/etc/it's/m.toml".into()),
        };
        assert_eq!(
            ctx.token_command(&a),
            r"'/opt/mail oauth/mailoauth' token --config '/etc/it'\''s/m.toml' scanner"
        );
    }

    #[test]
    fn a_format_is_offered_exactly_when_its_export_works() {
        use crate::provider::{Purpose, Security};
        // Every provider and purpose, on an account with the provider's usual servers: the
        // list the GUI offers and what the exporter then does must agree.
        for provider in ["google", "microsoft", "generic"] {
            for purpose in [Purpose::Send, Purpose::Receive, Purpose::Both] {
                let mut a = sample("scanner");
                a.auth.provider = provider.into();
                a.purpose = purpose;
                if !purpose.sends() {
                    a.smtp = None;
                }
                if !purpose.receives() {
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
                    let works = e.export(&a, &ExportContext::default()).is_ok();
                    assert_eq!(
                        offered.contains(&e.id().to_string()),
                        works,
                        "{} for {provider} / {purpose:?}",
                        e.id()
                    );
                }
            }
        }
        let ids = |p, u| -> Vec<String> { formats_for(p, u).into_iter().map(|f| f.id).collect() };
        assert_eq!(ids("google", Purpose::Send), ["msmtp", "env"]);
        assert_eq!(
            ids("microsoft", Purpose::Receive),
            ["mbsync", "safeq-mps", "env"]
        );
    }

    #[test]
    fn commands_name_the_config_only_when_it_is_not_the_default() {
        let at_default = ExportContext::for_config(&crate::config::default_path());
        assert_eq!(
            at_default.command("export", &["msmtp", "scanner"]),
            "mailoauth export msmtp scanner"
        );
        let elsewhere = ExportContext::for_config(Path::new("/srv/print/mail oauth.toml"));
        assert_eq!(
            elsewhere.command("export", &["msmtp", "scanner"]),
            "mailoauth export --config '/srv/print/mail oauth.toml' msmtp scanner"
        );
        assert_eq!(
            elsewhere.token_command(&sample("scanner")),
            "mailoauth token --config '/srv/print/mail oauth.toml' scanner"
        );
    }

    #[test]
    fn unknown_format_lists_the_ids() {
        let err = export("thunderbird", &sample("scanner"), &ExportContext::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
        assert!(err.to_string().contains("msmtp, mbsync, safeq-mps, env"));
    }

    #[test]
    fn no_export_contains_a_secret_reference_value() {
        // The references are not secrets, but the exports are meant for other tools' folders,
        // which are often world-readable: they say how to get a token, never where keys lie.
        for e in exporters() {
            for name in ["scanner", "alerts"] {
                if let Ok(out) = e.export(&sample(name), &ExportContext::default()) {
                    assert!(!out.contains("scanner.secret"), "{}: {out}", e.id());
                    assert!(!out.contains("alerts-client"), "{}: {out}", e.id());
                }
            }
        }
    }
}
