//! An msmtp account (`~/.msmtprc`, `/etc/msmtprc`) that gets its token from `mailoauth token`.

use super::{ExportContext, ExportError, Exporter, Shell};
use crate::config::Account;
use crate::provider::{SaslMechanism, Security};

/// msmtp: `passwordeval` runs mailoauth for every message, so the token is always fresh.
pub struct Msmtp;

/// msmtp wants the fingerprint as colon-separated hex pairs.
fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// The `passwordeval` value. msmtp runs it with `popen`: `/bin/sh -c` on POSIX systems and, in
/// its MinGW build for Windows, `_popen`, i.e. `cmd.exe /c`. msmtp's config reader drops one pair
/// of double quotes around a whole value, so a Windows line gets its `cmd /c` quotes twice.
fn passwordeval(ctx: &ExportContext, account: &Account) -> String {
    let command = ctx.token_command(account);
    match ctx.shell {
        Shell::Posix => command,
        Shell::Windows => format!("\"{}\"", super::for_cmd_c(&command)),
    }
}

impl Exporter for Msmtp {
    fn id(&self) -> &'static str {
        "msmtp"
    }

    fn describe(&self) -> &'static str {
        "An msmtp account for /etc/msmtprc or ~/.msmtprc, sending with a token from mailoauth token."
    }

    fn fits(&self) -> super::Fit {
        super::Fit {
            sends: true,
            ..super::Fit::default()
        }
    }

    fn render(&self, account: &Account, ctx: &ExportContext) -> Result<String, ExportError> {
        let smtp = super::server_for(account, "msmtp", "SMTP")?;
        let (tls, starttls) = match smtp.security {
            Security::Tls => ("on", "off"),
            Security::StartTls => ("on", "on"),
            Security::None => ("off", "off"),
        };
        let auth = match smtp.sasl {
            SaslMechanism::Xoauth2 => "xoauth2",
            SaslMechanism::Oauthbearer => "oauthbearer",
        };
        let mut out = format!(
            "# mailoauth account {name}: exported by mailoauth, re-export after changing it there.\n\
             account {name}\n\
             host {host}\n\
             port {port}\n\
             tls {tls}\n\
             tls_starttls {starttls}\n",
            name = account.name,
            host = smtp.host,
            port = smtp.port,
        );
        if let Some(tls_cfg) = &account.tls {
            if let Some(ca) = &tls_cfg.ca_file {
                out.push_str(&format!("tls_trust_file {}\n", ca.display()));
            }
            if let Some(pin) = &tls_cfg.pinned_sha256 {
                out.push_str(&format!("tls_fingerprint {}\n", colon_hex(pin)));
            }
        }
        out.push_str(&format!(
            "auth {auth}\n\
             user {mailbox}\n\
             from {mailbox}\n\
             passwordeval {cmd}\n",
            mailbox = account.mailbox,
            cmd = passwordeval(ctx, account),
        ));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{ctx, sample};

    #[test]
    fn starttls_account_with_extra_ca() {
        let out = Msmtp.export(&sample("scanner"), &ctx()).unwrap();
        assert_eq!(
            out,
            "# mailoauth account scanner: exported by mailoauth, re-export after changing it there.\n\
             account scanner\n\
             host smtp.office365.com\n\
             port 587\n\
             tls on\n\
             tls_starttls on\n\
             tls_trust_file /etc/ssl/proxy-ca.pem\n\
             auth xoauth2\n\
             user scanner@contoso.com\n\
             from scanner@contoso.com\n\
             passwordeval mailoauth token --config /etc/mailoauth/mailoauth.toml scanner\n"
        );
    }

    #[test]
    fn implicit_tls_pin_and_oauthbearer() {
        let mut a = sample("alerts");
        a.tls = Some(crate::config::TlsTrust {
            ca_file: None,
            pinned_sha256: Some("ab".repeat(32)),
        });
        if let Some(s) = a.smtp.as_mut() {
            s.sasl = SaslMechanism::Oauthbearer;
        }
        let ctx = ExportContext {
            program: "/usr/local/bin/mailoauth".into(),
            config: "/etc/mailoauth/alt.toml".into(),
            ..ctx()
        };
        let out = Msmtp.export(&a, &ctx).unwrap();
        assert!(
            out.contains("\nport 465\ntls on\ntls_starttls off\n"),
            "{out}"
        );
        assert!(
            out.contains(&format!("tls_fingerprint {}\n", ["AB"; 32].join(":"))),
            "{out}"
        );
        assert!(out.contains("\nauth oauthbearer\n"), "{out}");
        assert!(out.ends_with(
            "passwordeval /usr/local/bin/mailoauth token --config /etc/mailoauth/alt.toml alerts\n"
        ));
    }

    #[test]
    fn a_receive_only_account_has_nothing_to_send_with() {
        let mut a = sample("scanner");
        a.smtp = None;
        assert!(matches!(
            Msmtp.render(&a, &ctx()),
            Err(ExportError::MissingServer { key: "smtp", .. })
        ));
    }

    #[test]
    fn windows_passwordeval_is_quoted_for_msmtp_then_cmd() {
        let win = ExportContext {
            program: r"C:\Program Files\mailoauth\mailoauth.exe".into(),
            config: r"C:\ProgramData\mailoauth\mailoauth.toml".into(),
            shell: Shell::Windows,
            ..ctx()
        };
        let out = Msmtp.export(&sample("scanner"), &win).unwrap();
        assert!(
            out.ends_with(
                "passwordeval \"\"\"C:\\Program Files\\mailoauth\\mailoauth.exe\" token --config C:\\ProgramData\\mailoauth\\mailoauth.toml scanner\"\"\n"
            ),
            "{out}"
        );
    }
}
