//! A NeoMutt configuration (`~/.config/neomutt/neomuttrc`, or a file given with `-F`) that reads
//! the account's IMAP mailbox and, when it has an SMTP server, sends through it, with a fresh
//! token from `mailoauth token` at each sign-in (`imap_oauth_refresh_command`,
//! `smtp_oauth_refresh_command`). NeoMutt speaks XOAUTH2 and OAUTHBEARER itself, without SASL.

use super::{ExportContext, ExportError, Exporter};
use crate::config::{Account, MailServer};
use crate::provider::{SaslMechanism, Security};

/// NeoMutt.
pub struct Neomutt;

/// A value in NeoMutt's config: single quotes keep everything literal; a value with a single
/// quote goes in double quotes, where `\`, `"`, `$` and `` ` `` are escaped so nothing expands.
fn value(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        let mut out = String::from("\"");
        for c in text.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}

/// Percent-encodes what a URL's user part cannot hold (`@` of the mailbox, `:`, `/` ...).
fn url_user(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `host:port`, with an IPv6 address in brackets.
fn authority(s: &MailServer) -> String {
    if s.host.contains(':') && !s.host.starts_with('[') {
        format!("[{}]:{}", s.host, s.port)
    } else {
        format!("{}:{}", s.host, s.port)
    }
}

fn mechanism(s: &MailServer) -> &'static str {
    match s.sasl {
        SaslMechanism::Xoauth2 => "xoauth2",
        SaslMechanism::Oauthbearer => "oauthbearer",
    }
}

impl Exporter for Neomutt {
    fn id(&self) -> &'static str {
        "neomutt"
    }

    fn describe(&self) -> &'static str {
        "A NeoMutt configuration (neomuttrc) that reads the IMAP mailbox and sends through SMTP, signing in with a token from mailoauth token."
    }

    fn fits(&self) -> super::Fit {
        super::Fit {
            receives: true,
            ..super::Fit::default()
        }
    }

    fn render(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
        let imap = super::server_for(account, "neomutt", "IMAP")?;
        super::refuse_pin(account, "neomutt", "NeoMutt cannot pin a SHA-256 certificate fingerprint; use tls.ca_file with the server's CA instead, or a consumer that supports pinning (msmtp)")?;
        // NeoMutt runs the refresh commands with /bin/sh -c on every platform.
        let command = ctx.posix().token_command(account);
        let servers: Vec<&MailServer> = [Some(imap), account.smtp.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let mut lines = vec![
            format!(
                "# mailoauth account {}: exported by mailoauth, re-export after changing it there.",
                account.name
            ),
            "# NeoMutt runs the refresh command at each sign-in; it prints a fresh access token."
                .into(),
            format!("set from = {}", value(&account.mailbox)),
            format!("set imap_user = {}", value(&account.mailbox)),
            format!(
                "set folder = {}",
                value(&format!(
                    "{}://{}/",
                    if imap.security == Security::Tls {
                        "imaps"
                    } else {
                        "imap"
                    },
                    authority(imap)
                ))
            ),
            "set spoolfile = '+INBOX'".into(),
            format!("set imap_authenticators = {}", value(mechanism(imap))),
            format!("set imap_oauth_refresh_command = {}", value(&command)),
        ];
        if let Some(smtp) = &account.smtp {
            lines.push(format!(
                "set smtp_url = {}",
                value(&format!(
                    "{}://{}@{}/",
                    if smtp.security == Security::Tls {
                        "smtps"
                    } else {
                        "smtp"
                    },
                    url_user(&account.mailbox),
                    authority(smtp)
                ))
            ));
            lines.push(format!(
                "set smtp_authenticators = {}",
                value(mechanism(smtp))
            ));
            lines.push(format!(
                "set smtp_oauth_refresh_command = {}",
                value(&command)
            ));
        }
        // STARTTLS on the plain ports, and never a sign-in without TLS unless the account
        // itself has a server without it.
        let any_plain = servers.iter().any(|s| s.security == Security::None);
        lines.push("set ssl_starttls = yes".into());
        lines.push(format!(
            "set ssl_force_tls = {}",
            if any_plain { "no" } else { "yes" }
        ));
        if let Some(ca) = account.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            // Only GnuTLS builds (Debian's) have this variable; ifdef keeps others from failing.
            let set = format!(
                "set ssl_ca_certificates_file = {}",
                value(&ca.display().to_string())
            );
            lines.push(format!("ifdef ssl_ca_certificates_file {}", value(&set)));
        }
        let mut out = lines.join("\n");
        out.push('\n');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{ctx, sample};

    #[test]
    fn imap_and_smtp_with_extra_ca() {
        let out = Neomutt.export(&sample("scanner"), &ctx()).unwrap();
        assert_eq!(
            out,
            "# mailoauth account scanner: exported by mailoauth, re-export after changing it there.\n\
             # NeoMutt runs the refresh command at each sign-in; it prints a fresh access token.\n\
             set from = 'scanner@contoso.com'\n\
             set imap_user = 'scanner@contoso.com'\n\
             set folder = 'imaps://outlook.office365.com:993/'\n\
             set spoolfile = '+INBOX'\n\
             set imap_authenticators = 'xoauth2'\n\
             set imap_oauth_refresh_command = 'mailoauth token --config /etc/mailoauth/mailoauth.toml scanner'\n\
             set smtp_url = 'smtp://scanner%40contoso.com@smtp.office365.com:587/'\n\
             set smtp_authenticators = 'xoauth2'\n\
             set smtp_oauth_refresh_command = 'mailoauth token --config /etc/mailoauth/mailoauth.toml scanner'\n\
             set ssl_starttls = yes\n\
             set ssl_force_tls = yes\n\
             ifdef ssl_ca_certificates_file \"set ssl_ca_certificates_file = '/etc/ssl/proxy-ca.pem'\"\n"
        );
    }

    #[test]
    fn quoting_oauthbearer_and_refusals() {
        let mut a = sample("scanner");
        a.smtp = None;
        if let Some(i) = a.imap.as_mut() {
            i.sasl = SaslMechanism::Oauthbearer;
            i.security = Security::StartTls;
            i.port = 143;
        }
        let c = ExportContext {
            program: "/opt/it's/mailoauth".into(),
            shell: crate::export::Shell::Windows,
            ..ctx()
        };
        let out = Neomutt.export(&a, &c).unwrap();
        assert!(
            out.contains("set folder = 'imap://outlook.office365.com:143/'\n"),
            "{out}"
        );
        assert!(
            out.contains("set imap_authenticators = 'oauthbearer'\n"),
            "{out}"
        );
        assert!(!out.contains("smtp_url"), "{out}");
        // POSIX quoting inside (sh runs it), then NeoMutt's double quotes around it.
        assert!(
            out.contains(
                r#"set imap_oauth_refresh_command = "'/opt/it'\\''s/mailoauth' token --config /etc/mailoauth/mailoauth.toml scanner""#
            ),
            "{out}"
        );
        assert_eq!(value("a$b`c\"d'e\\"), r#""a\$b\`c\"d'e\\""#);
        assert_eq!(url_user("a b@c:d"), "a%20b%40c%3Ad");
        a.tls = Some(crate::config::TlsTrust {
            ca_file: None,
            pinned_sha256: Some("0".repeat(64)),
        });
        assert!(matches!(
            Neomutt.export(&a, &ctx()),
            Err(ExportError::Unsupported { .. })
        ));
        assert!(matches!(
            Neomutt.export(&sample("alerts"), &ctx()),
            Err(ExportError::DoesNotFit { .. })
        ));
    }
}
