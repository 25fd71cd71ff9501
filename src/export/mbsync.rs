//! An mbsync/isync IMAP account (`~/.mbsyncrc`) that gets its token from `mailoauth token`.

use super::{ExportContext, ExportError, Exporter};
use crate::config::Account;
use crate::provider::{SaslMechanism, Security};

/// mbsync: `PassCmd` runs mailoauth at each sync.
pub struct Mbsync;

/// A value in mbsync's double quotes: backslash and quote escaped.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Exporter for Mbsync {
    fn id(&self) -> &'static str {
        "mbsync"
    }

    fn describe(&self) -> &'static str {
        "An mbsync (isync) IMAPAccount and IMAPStore for ~/.mbsyncrc, signing in with a token from mailoauth token."
    }

    fn fits(&self) -> super::Fit {
        super::Fit {
            receives: true,
            ..super::Fit::default()
        }
    }

    fn export(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
        let imap = account.imap.as_ref().ok_or(ExportError::MissingServer {
            account: account.name.clone(),
            format: "mbsync",
            protocol: "IMAP",
            key: "imap",
        })?;
        if account
            .tls
            .as_ref()
            .is_some_and(|t| t.pinned_sha256.is_some())
        {
            // Dropping the pin silently would weaken what the admin configured.
            return Err(ExportError::Unsupported {
                account: account.name.clone(),
                format: "mbsync",
                reason: "mbsync cannot pin a certificate fingerprint; use tls.ca_file with the server's CA instead, or a consumer that supports pinning (msmtp)".into(),
            });
        }
        // SSLType is the name isync 1.4 knows; 1.5 still accepts it next to its new TLSType.
        let ssl_type = match imap.security {
            Security::Tls => "IMAPS",
            Security::StartTls => "STARTTLS",
            Security::None => "None",
        };
        let mech = match imap.sasl {
            SaslMechanism::Xoauth2 => "XOAUTH2",
            SaslMechanism::Oauthbearer => "OAUTHBEARER",
        };
        let mut out = format!(
            "# mailoauth account {name}: exported by mailoauth, re-export after changing it there.\n\
             # {mech} needs the matching Cyrus SASL plugin (Debian: libsasl2-modules-kdexoauth2 or cyrus-sasl-xoauth2).\n\
             IMAPAccount {name}\n\
             Host {host}\n\
             Port {port}\n\
             User {user}\n\
             PassCmd {cmd}\n\
             AuthMechs {mech}\n\
             SSLType {ssl_type}\n",
            name = account.name,
            host = imap.host,
            port = imap.port,
            user = account.mailbox,
            cmd = quoted(&ctx.token_command(account)),
        );
        if let Some(ca) = account.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            out.push_str(&format!("CertificateFile {}\n", ca.display()));
        }
        out.push_str(&format!(
            "\nIMAPStore {name}-remote\nAccount {name}\n",
            name = account.name
        ));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn imaps_account_with_extra_ca() {
        let out = Mbsync
            .export(&sample("scanner"), &ExportContext::default())
            .unwrap();
        assert_eq!(
            out,
            "# mailoauth account scanner: exported by mailoauth, re-export after changing it there.\n\
             # XOAUTH2 needs the matching Cyrus SASL plugin (Debian: libsasl2-modules-kdexoauth2 or cyrus-sasl-xoauth2).\n\
             IMAPAccount scanner\n\
             Host outlook.office365.com\n\
             Port 993\n\
             User scanner@contoso.com\n\
             PassCmd \"mailoauth token scanner\"\n\
             AuthMechs XOAUTH2\n\
             SSLType IMAPS\n\
             CertificateFile /etc/ssl/proxy-ca.pem\n\
             \n\
             IMAPStore scanner-remote\n\
             Account scanner\n"
        );
    }

    #[test]
    fn quoting_starttls_and_refusals() {
        let mut a = sample("scanner");
        if let Some(i) = a.imap.as_mut() {
            i.security = Security::StartTls;
            i.port = 143;
        }
        let ctx = ExportContext {
            program: r#"C:\mail "oauth"\mailoauth.exe"#.into(),
            config: None,
        };
        let out = Mbsync.export(&a, &ctx).unwrap();
        assert!(out.contains("SSLType STARTTLS\n"), "{out}");
        assert!(
            out.contains(r#"PassCmd "'C:\\mail \"oauth\"\\mailoauth.exe' token scanner""#),
            "{out}"
        );
        a.tls = Some(crate::config::TlsTrust {
            ca_file: None,
            pinned_sha256: Some("0".repeat(64)),
        });
        assert!(matches!(
            Mbsync.export(&a, &ExportContext::default()),
            Err(ExportError::Unsupported { .. })
        ));
        assert!(matches!(
            Mbsync.export(&sample("alerts"), &ExportContext::default()),
            Err(ExportError::MissingServer { key: "imap", .. })
        ));
    }
}
