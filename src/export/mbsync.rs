//! An mbsync/isync IMAP account (`~/.mbsyncrc`) that gets its token from `mailoauth token`, and
//! with `--complete` the local Maildir and the channel too, so `mbsync <account>` syncs as is.
//!
//! mbsync signs in through Cyrus SASL, so the mechanism is whatever SASL plugin is installed.
//! The export always uses XOAUTH2: Debian's plugin for OAuth, `libsasl2-modules-kdexoauth2`,
//! has only XOAUTH2, and `cyrus-sasl-xoauth2` (XOAUTH2 as well) is not a Debian package. No
//! packaged plugin offers OAUTHBEARER, so an export with `AuthMechs OAUTHBEARER` fails with
//! "selected SASL mechanism(s) not available". Gmail and Microsoft 365 accept XOAUTH2.

use super::{ExportContext, ExportError, Exporter};
use crate::config::Account;
use crate::provider::{SaslMechanism, Security};

/// mbsync: `PassCmd` runs mailoauth at each sync.
pub struct Mbsync;

/// A value in mbsync's double quotes: backslash and quote escaped.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A value mbsync reads as one word: bare when it has no blank or quote.
fn word(text: &str) -> String {
    if !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        text.to_string()
    } else {
        quoted(text)
    }
}

impl Exporter for Mbsync {
    fn id(&self) -> &'static str {
        "mbsync"
    }

    fn describe(&self) -> &'static str {
        "An mbsync (isync) IMAPAccount and IMAPStore for ~/.mbsyncrc signing in with XOAUTH2 and a token from mailoauth token; with --complete also the MaildirStore and Channel, ready to sync."
    }

    fn fits(&self) -> super::Fit {
        super::Fit {
            receives: true,
            ..super::Fit::default()
        }
    }

    fn render(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
        let imap = super::server_for(account, "mbsync", "IMAP")?;
        super::refuse_pin(account, "mbsync", "mbsync cannot pin a certificate fingerprint; use tls.ca_file with the server's CA instead, or a consumer that supports pinning (msmtp)")?;
        // SSLType is the name isync 1.4 knows; 1.5 still accepts it next to its new TLSType.
        let ssl_type = match imap.security {
            Security::Tls => "IMAPS",
            Security::StartTls => "STARTTLS",
            Security::None => "None",
        };
        // mbsync runs PassCmd with /bin/sh -c on every platform (Cygwin and MSYS2 included).
        let command = ctx.posix().token_command(account);
        let mut out = format!(
            "# mailoauth account {name}: exported by mailoauth, re-export after changing it there.\n\
             # XOAUTH2 through Cyrus SASL: on Debian/Ubuntu install libsasl2-modules-kdexoauth2.\n\
             # Not OAUTHBEARER: that plugin has only XOAUTH2, and cyrus-sasl-xoauth2 (XOAUTH2 too)\n\
             # is not a Debian package, so mbsync would fail with \"selected SASL mechanism(s) not available\".\n",
            name = account.name,
        );
        if imap.sasl == SaslMechanism::Oauthbearer {
            out.push_str(
                "# The account names OAUTHBEARER for IMAP; mbsync uses XOAUTH2, which the server must offer too.\n",
            );
        }
        out.push_str(&format!(
            "IMAPAccount {name}\n\
             Host {host}\n\
             Port {port}\n\
             User {user}\n\
             PassCmd {cmd}\n\
             AuthMechs XOAUTH2\n\
             SSLType {ssl_type}\n",
            name = account.name,
            host = imap.host,
            port = imap.port,
            user = word(&account.mailbox),
            cmd = quoted(&command),
        ));
        if let Some(ca) = account.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            out.push_str(&format!(
                "CertificateFile {}\n",
                word(&ca.display().to_string())
            ));
        }
        out.push_str(&format!(
            "\nIMAPStore {name}-remote\nAccount {name}\n",
            name = account.name
        ));
        if ctx.complete {
            let dir = match &ctx.maildir {
                Some(d) if d.ends_with('/') => d.clone(),
                Some(d) => format!("{d}/"),
                None => format!("~/Mail/{}/", account.name),
            };
            // Only the inbox, which is what a service reads. A MaildirStore with a Path needs
            // that folder to exist before the first sync ("cannot open store"); the inbox alone
            // is created by mbsync itself (Create Near), so the file works as exported.
            out.push_str(&format!(
                "\n# The local copy: a Maildir that mbsync creates on the first sync.\n\
                 # For every folder instead of only the inbox: create {dir}, add \"Path {dir}\"\n\
                 # here and set \"Patterns *\" in the channel (Gmail: also !\"[Gmail]/All Mail\").\n\
                 MaildirStore {name}-local\n\
                 Inbox {inbox}\n\
                 \n\
                 # mbsync {name}: the inbox, new mail and flags both ways, nothing deleted.\n\
                 Channel {name}\n\
                 Far :{name}-remote:\n\
                 Near :{name}-local:\n\
                 Patterns INBOX\n\
                 Create Near\n\
                 Expunge None\n\
                 SyncState *\n",
                name = account.name,
                inbox = word(&format!("{dir}INBOX")),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{ctx, sample};

    const HEAD: &str = "# mailoauth account scanner: exported by mailoauth, re-export after changing it there.\n\
         # XOAUTH2 through Cyrus SASL: on Debian/Ubuntu install libsasl2-modules-kdexoauth2.\n\
         # Not OAUTHBEARER: that plugin has only XOAUTH2, and cyrus-sasl-xoauth2 (XOAUTH2 too)\n\
         # is not a Debian package, so mbsync would fail with \"selected SASL mechanism(s) not available\".\n";

    #[test]
    fn imaps_account_with_extra_ca() {
        let out = Mbsync.export(&sample("scanner"), &ctx()).unwrap();
        assert_eq!(
            out,
            format!(
                "{HEAD}\
                 IMAPAccount scanner\n\
                 Host outlook.office365.com\n\
                 Port 993\n\
                 User scanner@contoso.com\n\
                 PassCmd \"mailoauth token --config /etc/mailoauth/mailoauth.toml scanner\"\n\
                 AuthMechs XOAUTH2\n\
                 SSLType IMAPS\n\
                 CertificateFile /etc/ssl/proxy-ca.pem\n\
                 \n\
                 IMAPStore scanner-remote\n\
                 Account scanner\n"
            )
        );
    }

    #[test]
    fn oauthbearer_accounts_still_get_xoauth2_and_are_told_why() {
        let mut a = sample("scanner");
        if let Some(i) = a.imap.as_mut() {
            i.sasl = SaslMechanism::Oauthbearer;
        }
        let out = Mbsync.export(&a, &ctx()).unwrap();
        assert!(out.contains("\nAuthMechs XOAUTH2\n"), "{out}");
        assert!(!out.contains("AuthMechs OAUTHBEARER"), "{out}");
        assert!(out.contains("mbsync uses XOAUTH2"), "{out}");
    }

    #[test]
    fn complete_adds_the_maildir_and_the_channel() {
        let c = ExportContext {
            complete: true,
            ..ctx()
        };
        let out = Mbsync.export(&sample("scanner"), &c).unwrap();
        assert!(
            out.ends_with(
                "MaildirStore scanner-local\n\
                 Inbox ~/Mail/scanner/INBOX\n\
                 \n\
                 # mbsync scanner: the inbox, new mail and flags both ways, nothing deleted.\n\
                 Channel scanner\n\
                 Far :scanner-remote:\n\
                 Near :scanner-local:\n\
                 Patterns INBOX\n\
                 Create Near\n\
                 Expunge None\n\
                 SyncState *\n"
            ),
            "{out}"
        );
        let c = ExportContext {
            complete: true,
            maildir: Some("/srv/mail box".into()),
            ..ctx()
        };
        let out = Mbsync.export(&sample("scanner"), &c).unwrap();
        assert!(out.contains("\nInbox \"/srv/mail box/INBOX\"\n"), "{out}");
    }

    #[test]
    fn quoting_starttls_and_refusals() {
        let mut a = sample("scanner");
        if let Some(i) = a.imap.as_mut() {
            i.security = Security::StartTls;
            i.port = 143;
        }
        // Quoted for /bin/sh even when asked for Windows: mbsync runs PassCmd with sh -c.
        let ctx_win = ExportContext {
            program: r#"C:\mail "oauth"\mailoauth.exe"#.into(),
            shell: crate::export::Shell::Windows,
            ..ctx()
        };
        let out = Mbsync.export(&a, &ctx_win).unwrap();
        assert!(out.contains("SSLType STARTTLS\n"), "{out}");
        assert!(
            out.contains(r#"PassCmd "'C:\\mail \"oauth\"\\mailoauth.exe' token --config /etc/mailoauth/mailoauth.toml scanner""#),
            "{out}"
        );
        a.tls = Some(crate::config::TlsTrust {
            ca_file: None,
            pinned_sha256: Some("0".repeat(64)),
        });
        assert!(matches!(
            Mbsync.export(&a, &ctx()),
            Err(ExportError::Unsupported { .. })
        ));
        let mut send_only_leftover = sample("alerts");
        send_only_leftover.imap = None;
        send_only_leftover.purpose = crate::provider::Purpose::Both;
        assert!(matches!(
            Mbsync.export(&send_only_leftover, &ctx()),
            Err(ExportError::MissingServer { key: "imap", .. })
        ));
        assert!(matches!(
            Mbsync.export(&sample("alerts"), &ctx()),
            Err(ExportError::DoesNotFit { .. })
        ));
    }
}
