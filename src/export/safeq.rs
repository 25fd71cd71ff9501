//! The `emailSources` entry of YSoft SafeQ Mobile Print Server's `mps.config`.
//!
//! YSoft documents an OAuth mail source only for Microsoft Exchange Online IMAP, with
//! `type = ImapOAuthMicrosoft`; MPS obtains its tokens with its own `OAuthClient.exe` (run once
//! as the mailbox user), so the entry carries no password and no mailoauth command. mailoauth's
//! part is the app registration, the login tests and the diagnosis; this entry is what goes
//! into `<install_dir>\MPS\Service\conf\mps.config` for the same mailbox.

use super::{ExportContext, ExportError, Exporter};
use crate::config::Account;

/// One `emailSources` item, keys in the order YSoft's documentation lists them.
#[derive(serde::Serialize)]
struct Entry<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    host: &'a str,
    port: u16,
    username: &'a str,
}

/// SafeQ Mobile Print Server.
pub struct SafeqMps;

impl Exporter for SafeqMps {
    fn id(&self) -> &'static str {
        "safeq-mps"
    }

    fn describe(&self) -> &'static str {
        "The emailSources entry for YSoft SafeQ Mobile Print Server's mps.config (Microsoft 365 IMAP; MPS signs in with its own OAuthClient.exe)."
    }

    fn fits(&self) -> super::Fit {
        super::Fit {
            providers: &["microsoft"],
            receives: true,
            ..super::Fit::default()
        }
    }

    fn render(&self, account: &Account, _ctx: &ExportContext) -> Result<String, ExportError> {
        let unsupported = |reason: &str| ExportError::Unsupported {
            account: account.name.clone(),
            format: "safeq-mps",
            reason: reason.to_string(),
        };
        if account.auth.provider != "microsoft" {
            return Err(unsupported(
                "SafeQ MPS documents OAuth mail sources only for Microsoft 365 (ImapOAuthMicrosoft); for other providers configure MPS with the provider's own instructions",
            ));
        }
        let imap = super::server_for(account, "safeq-mps", "IMAP")?;
        if imap.security != crate::provider::Security::Tls {
            return Err(unsupported(
                "the ImapOAuthMicrosoft source connects with implicit TLS; set the account's IMAP security to tls (port 993)",
            ));
        }
        let entry = Entry {
            kind: "ImapOAuthMicrosoft",
            host: &imap.host,
            port: imap.port,
            username: &account.mailbox,
        };
        // Serialising strings and a number into JSON cannot fail.
        let body = serde_json::to_string_pretty(&entry).unwrap_or_default();
        Ok(format!("{body}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{ctx, sample};

    #[test]
    fn microsoft_imap_entry() {
        let out = SafeqMps.export(&sample("scanner"), &ctx()).unwrap();
        assert_eq!(
            out,
            "{\n  \"type\": \"ImapOAuthMicrosoft\",\n  \"host\": \"outlook.office365.com\",\n  \"port\": 993,\n  \"username\": \"scanner@contoso.com\"\n}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["username"], "scanner@contoso.com");
    }

    #[test]
    fn google_and_starttls_are_refused_with_the_reason() {
        let err = SafeqMps.render(&sample("alerts"), &ctx()).unwrap_err();
        assert!(err.to_string().contains("only for Microsoft 365"), "{err}");
        let mut a = sample("scanner");
        if let Some(i) = a.imap.as_mut() {
            i.security = crate::provider::Security::StartTls;
        }
        assert!(matches!(
            SafeqMps.export(&a, &ctx()),
            Err(ExportError::Unsupported { .. })
        ));
    }
}
