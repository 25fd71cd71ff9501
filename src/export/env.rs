//! A plain environment file (systemd `EnvironmentFile=`, Docker `--env-file`, `. file` in sh).

use super::{ExportContext, ExportError, Exporter};
use crate::config::{Account, MailServer};

/// `KEY=value` lines with the account's settings and the token command; no token, no secret.
pub struct EnvFile;

/// A value safe for systemd, Docker and sh alike: plain, or in single quotes for sh and systemd.
fn value(text: &str) -> String {
    super::shell_quote(text)
}

fn server_lines(out: &mut Vec<String>, prefix: &str, s: &MailServer) {
    out.push(format!("{prefix}_HOST={}", value(&s.host)));
    out.push(format!("{prefix}_PORT={}", s.port));
    out.push(format!("{prefix}_SECURITY={}", s.security));
    out.push(format!("{prefix}_SASL={}", s.sasl.label()));
}

impl Exporter for EnvFile {
    fn id(&self) -> &'static str {
        "env"
    }

    fn describe(&self) -> &'static str {
        "An environment file (MAILOAUTH_*) for systemd EnvironmentFile=, docker --env-file or a shell script."
    }

    fn render(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
        // systemd, Docker and sh read this file: POSIX quoting on every platform.
        let ctx = &ctx.posix();
        let mut lines = vec![
            format!(
                "# mailoauth account {}: exported by mailoauth; MAILOAUTH_TOKEN_COMMAND prints a fresh access token.",
                account.name
            ),
            format!("MAILOAUTH_ACCOUNT={}", value(&account.name)),
            format!("MAILOAUTH_MAILBOX={}", value(&account.mailbox)),
            format!("MAILOAUTH_PROVIDER={}", value(&account.auth.provider)),
            format!("MAILOAUTH_PURPOSE={}", account.purpose),
        ];
        if let Some(s) = &account.smtp {
            server_lines(&mut lines, "MAILOAUTH_SMTP", s);
        }
        if let Some(s) = &account.imap {
            server_lines(&mut lines, "MAILOAUTH_IMAP", s);
        }
        if let Some(ca) = account.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            lines.push(format!(
                "MAILOAUTH_CA_FILE={}",
                value(&ca.display().to_string())
            ));
        }
        // Quoted as one value: a consumer runs it with `sh -c "$MAILOAUTH_TOKEN_COMMAND"`.
        lines.push(format!(
            "MAILOAUTH_TOKEN_COMMAND={}",
            value(&ctx.token_command(account))
        ));
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
    fn both_servers_and_the_token_command() {
        let out = EnvFile.export(&sample("scanner"), &ctx()).unwrap();
        assert_eq!(
            out,
            "# mailoauth account scanner: exported by mailoauth; MAILOAUTH_TOKEN_COMMAND prints a fresh access token.\n\
             MAILOAUTH_ACCOUNT=scanner\n\
             MAILOAUTH_MAILBOX=scanner@contoso.com\n\
             MAILOAUTH_PROVIDER=microsoft\n\
             MAILOAUTH_PURPOSE=both\n\
             MAILOAUTH_SMTP_HOST=smtp.office365.com\n\
             MAILOAUTH_SMTP_PORT=587\n\
             MAILOAUTH_SMTP_SECURITY=start_tls\n\
             MAILOAUTH_SMTP_SASL=XOAUTH2\n\
             MAILOAUTH_IMAP_HOST=outlook.office365.com\n\
             MAILOAUTH_IMAP_PORT=993\n\
             MAILOAUTH_IMAP_SECURITY=tls\n\
             MAILOAUTH_IMAP_SASL=XOAUTH2\n\
             MAILOAUTH_CA_FILE=/etc/ssl/proxy-ca.pem\n\
             MAILOAUTH_TOKEN_COMMAND='mailoauth token --config /etc/mailoauth/mailoauth.toml scanner'\n"
        );
    }

    #[test]
    fn the_file_is_valid_shell_that_yields_the_values() {
        let ctx = ExportContext {
            program: "/opt/mail oauth/mailoauth".into(),
            shell: crate::export::Shell::Windows,
            ..ctx()
        };
        let out = EnvFile.export(&sample("alerts"), &ctx).unwrap();
        assert!(!out.contains("IMAP"), "{out}");
        let script = format!("{out}\nprintf '%s' \"$MAILOAUTH_TOKEN_COMMAND\"");
        // Only Unix is sure to have a POSIX shell; elsewhere the exact-output test covers quoting.
        if cfg!(unix) {
            let o = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(
                String::from_utf8_lossy(&o.stdout),
                "'/opt/mail oauth/mailoauth' token --config /etc/mailoauth/mailoauth.toml alerts"
            );
        }
    }
}
