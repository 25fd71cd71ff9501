//! `mailoauth export <format> <account>`: the account in another consumer's format (msmtp,
//! mbsync, NeoMutt, SafeQ MPS, env file), printed or written to a file.

use mailoauth::config;
use mailoauth::export::{self, ExportContext, Shell};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `export --help` and `export --list` say about clients OAuth cannot reach.
const WITHOUT_OAUTH_HELP: &str = "\
Every export names its config file with --config (the default location differs per user, and a \
service started by cron or systemd may not have MAILOAUTH_CONFIG).

Clients that cannot use OAuth2 at all: fetchmail 6.4.x (Debian 12: 6.4.37) and 6.5.x have no \
XOAUTH2 or OAUTHBEARER. Fetch with mbsync (export mbsync --complete) or NeoMutt (export neomutt) \
instead, both through mailoauth token; or, where available, fetchmail 7 with auth oauthbearer \
and the output of mailoauth token as the password.

mbsync signs in with XOAUTH2 (Debian: install libsasl2-modules-kdexoauth2); no Debian package \
gives Cyrus SASL OAUTHBEARER.

Examples:
  mailoauth export msmtp scanner --out /etc/msmtprc.d/scanner
  mailoauth export mbsync --complete --maildir /var/mail/scanner scanner
  mailoauth export neomutt scanner
  mailoauth export --shell windows --program 'C:\\Program Files\\mailoauth\\mailoauth.exe' msmtp scanner";

#[derive(clap::Args)]
#[command(after_help = WITHOUT_OAUTH_HELP)]
pub struct Args {
    /// The format: msmtp, mbsync, neomutt, safeq-mps or env (see --list).
    #[arg(required_unless_present = "list")]
    format: Option<String>,
    /// The account's name in the config.
    #[arg(required_unless_present = "list")]
    account: Option<String>,
    /// The config file, named in every exported command [default: $MAILOAUTH_CONFIG, else the platform's default location]
    #[arg(long)]
    config: Option<PathBuf>,
    /// How the consumer runs mailoauth, e.g. a full path
    #[arg(long, default_value = "mailoauth")]
    program: String,
    /// The shell that runs the exported command: posix (sh) or windows (cmd.exe, e.g. msmtp on
    /// Windows) [default: this platform's]. mbsync, NeoMutt and env files always use posix.
    #[arg(long, value_parser = parse_shell)]
    shell: Option<Shell>,
    /// A configuration the client uses as it is (mbsync: adds the MaildirStore and Channel).
    #[arg(long)]
    complete: bool,
    /// The local Maildir of --complete [default: ~/Mail/<account>/]
    #[arg(long, requires = "complete")]
    maildir: Option<String>,
    /// Write to this file (atomically, owner-only) instead of printing.
    #[arg(long)]
    out: Option<PathBuf>,
    /// List the formats.
    #[arg(long)]
    list: bool,
}

fn parse_shell(text: &str) -> Result<Shell, String> {
    text.parse()
}

pub fn run(args: Args) -> ExitCode {
    if args.list {
        for f in export::formats() {
            println!("{:10} {}", f.id, f.description);
        }
        // On stderr: stdout stays the list of formats, one per line, for scripts.
        for (client, advice) in export::WITHOUT_OAUTH {
            eprintln!("\n{client}: no export: {advice}.");
        }
        return ExitCode::SUCCESS;
    }
    let (Some(format), Some(name)) = (args.format, args.account) else {
        eprintln!("mailoauth: give the format and the account, or --list");
        return ExitCode::from(2);
    };
    if let Some(e) = export::without_oauth(&format) {
        eprintln!("mailoauth: {e}");
        return ExitCode::FAILURE;
    }
    let path = args.config.unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    let account = match doc.account(&name) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::from(2);
        }
    };
    // The file is named always, even the default one: the consumer may run as another user,
    // whose default is elsewhere, or without MAILOAUTH_CONFIG.
    let ctx = ExportContext {
        program: args.program,
        shell: args.shell.unwrap_or_else(Shell::current),
        complete: args.complete,
        maildir: args.maildir,
        ..ExportContext::for_config(&path)
    };
    let text = match export::export(&format, account, &ctx) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mailoauth: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.out {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(out) => match config::atomic::write_atomic(&out, text.as_bytes(), true) {
            Ok(()) => {
                eprintln!("mailoauth: wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mailoauth: writing {} failed: {e}", out.display());
                ExitCode::FAILURE
            }
        },
    }
}
