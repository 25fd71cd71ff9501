//! `mailoauth reauthorize ACCOUNT`: signs a saved account in again with its own settings (flow,
//! client, tenant, endpoints, scopes, store: all read back from the config, so accounts saved
//! before this command existed work too), checks the identity and the scopes, runs the mail
//! tests and saves the account. The one command every "must sign in again" message prints on a
//! machine without the app.

use super::setup::{core_api, term};
use mailoauth::config;
use mailoauth::oauth;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 signed in, mail tests passed, account saved; 1 the sign-in or a mail test failed (the text says why); 64 a value on the command line cannot be used; 67 no account of that name; 78 the config file cannot be used."
)]
pub struct Args {
    /// The account's name in the config.
    account: String,
    /// The config file [default: $MAILOAUTH_CONFIG, else the platform's default location]
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seconds to wait for the browser of a loopback sign-in.
    #[arg(long)]
    timeout: Option<u64>,
    /// Fixed loopback port (repeat for fallbacks) [default: the account's redirect_port, else any free port].
    #[arg(long = "port")]
    ports: Vec<u16>,
    /// Skip the SMTP and IMAP tests after the sign-in.
    #[arg(long)]
    no_check: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// The token service's socket, for an account the service holds (`token_store = "service"`)
    /// [default: $MAILOAUTH_SERVICE_SOCKET, else the platform's]
    #[arg(long)]
    socket: Option<PathBuf>,
    /// A file holding a new client secret (or private key, or service account key) for an
    /// account whose secret the service holds (`client_secret = "service"`): used for this
    /// sign-in and handed to the service with the tokens. Without it, the held one is used
    /// when this user may read the service's custody (root).
    #[arg(long, conflicts_with = "client_secret_env")]
    client_secret_file: Option<PathBuf>,
    /// An environment variable holding that new secret (see --client-secret-file).
    #[arg(long)]
    client_secret_env: Option<String>,
}

/// The command that signs `account` in again, exactly as the admin types it: `--config` is added
/// when the file is not the default one (which is the file a bare command would read).
pub fn command(config: Option<&Path>, account: &str) -> String {
    let quote = |t: &str| mailoauth::export::Shell::current().quote(t);
    let mut out = format!("mailoauth reauthorize {}", quote(account));
    if let Some(path) = config.filter(|p| *p != config::default_path().as_path()) {
        out.push_str(&format!(" --config {}", quote(&path.display().to_string())));
    }
    out
}

/// What `--json` prints.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    account: String,
    config: String,
    granted: oauth::Granted,
    check: Option<mailoauth::probe::CheckReport>,
    saved: bool,
}

fn fail(m: impl std::fmt::Display) -> ExitCode {
    eprintln!("mailoauth reauthorize: {m}");
    ExitCode::FAILURE
}

pub fn run(args: Args) -> ExitCode {
    let path = args.config.clone().unwrap_or_else(config::default_path);
    let doc = match config::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mailoauth reauthorize: {e}");
            return super::exit::for_token(mailoauth::account::TokenFailure::of_config(&e));
        }
    };
    let account = match doc.account(&args.account) {
        Ok(a) => a.clone(),
        Err(e) => {
            eprintln!("mailoauth reauthorize: {e}");
            return super::exit::for_token(mailoauth::account::TokenFailure::of_config(&e));
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run_async(args, path, doc, account))
}

async fn run_async(
    args: Args,
    path: PathBuf,
    doc: config::ConfigDocument,
    account: config::Account,
) -> ExitCode {
    // Every setting comes from the saved account; nothing is asked.
    let mut auth = mailoauth::account::convert::auth_settings(&account);
    let new_secret = match new_secret(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mailoauth reauthorize: {e}");
            return ExitCode::from(super::exit::EX_USAGE);
        }
    };
    let secret_held = account.auth.client_secret == Some(config::SecretRef::Service);
    if new_secret.is_some() && !secret_held {
        eprintln!("mailoauth reauthorize: --client-secret-file/--client-secret-env are for an account whose secret the mailoauth service holds (client_secret = \"service\"); the secret of {:?} is kept at {}: change it there.", account.name, account.auth.client_secret.as_ref().map_or_else(|| String::from("(none: a public client)"), |r| r.to_string()));
        return ExitCode::from(super::exit::EX_USAGE);
    }
    // An account the service holds: the new tokens go to the service, not to a store here; a
    // secret the service holds is needed by the sign-in too (a new one given, or the held one
    // when this user may read it).
    let handover = if mailoauth::service::is_service_owned(&account) {
        let mut h = match mailoauth::service::client::HandOver::new() {
            Ok(h) => h,
            Err(e) => return fail(format!("cannot prepare the hand-over to the service: {e}")),
        };
        let kept = match &new_secret {
            Some(s) => h.keep_secret(&mut auth, s).map_err(|e| e.to_string()),
            None => h
                .reuse_held_secret(
                    &mut auth,
                    &account.name,
                    &mailoauth::service::state_dir_from_env(),
                )
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = kept {
            return fail(e);
        }
        Some(h)
    } else {
        None
    };
    let store: Box<dyn mailoauth::store::TokenStore> = match &handover {
        Some(h) => Box::new(h.store().clone()),
        None => match mailoauth::account::convert::open_store(&account, &path) {
            Ok(s) => s,
            Err(e) => return fail(e),
        },
    };
    if matches!(auth.flow, mailoauth::provider::Flow::Password) {
        return fail("the password flow needs the mailbox password: sign it in with mailoauth authorize --flow password --password-env VAR --config FILE --account NAME");
    }
    eprintln!(
        "Signing {} ({}) in again: {} flow, {} client {}{}.",
        account.name,
        account.mailbox,
        auth.flow.as_str().replace('_', "-"),
        auth.provider,
        auth.client_id,
        auth.tenant
            .as_deref()
            .map(|t| format!(", tenant {t}"))
            .unwrap_or_default()
    );
    let listener = term::Listener {
        ports: args.ports.clone(),
        path: None,
        timeout_secs: args.timeout,
    };
    let granted = match term::sign_in(&auth, store.as_ref(), &listener, None).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("mailoauth reauthorize: the sign-in failed: {e}");
            super::authorize::explain(&e, &auth);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("Granted scopes: {}", granted.scopes.join(" "));
    let mut handed = None;
    if let Some(h) = &handover {
        let socket = mailoauth::service::client::socket_path(args.socket.as_deref());
        match h
            .send(&socket, &account.name, &oauth::store_key(&auth))
            .await
        {
            Ok(t) => {
                eprintln!(
                    "The new tokens{} are in the mailoauth service's custody.",
                    if new_secret.is_some() {
                        " and the new secret"
                    } else {
                        ""
                    }
                );
                handed = Some(t);
            }
            Err(e) => {
                return fail(format!(
                    "the mailoauth service did not take the new tokens of {:?}: {e}",
                    account.name
                ))
            }
        }
    }

    // The mail tests: the saved account's servers and TLS trust, a token from its store (this
    // also records the success in the status file, so `status` no longer asks for a sign-in).
    let mut report = None;
    let warn = |m: &str| eprintln!("mailoauth reauthorize: warning: {m}");
    if !args.no_check && (account.smtp.is_some() || account.imap.is_some()) {
        let checked = match &handed {
            Some(t) => mailoauth::account::convert::check_request(&account)
                .map(|r| (r, t.access_token.clone())),
            None => core_api::saved_account_check(&doc, &account.name, &warn).await,
        };
        let (req, token) = match checked {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        eprintln!("\nTesting the mail servers with the new token ...");
        let r = term::mail_tests(&req, &token, args.json).await;
        eprint!("{}", term::render_report(&r));
        if !r.ok {
            eprintln!("mailoauth reauthorize: the sign-in worked but a mail test failed; the tokens are stored. Fix what the diagnosis says, then run mailoauth check {}.", account.name);
            return ExitCode::FAILURE;
        }
        report = Some(r);
    } else if handed.is_none() {
        // Still record the new state for `status`.
        if let Err(e) =
            mailoauth::account::token(&doc, &account.name, oauth::unix_now(), &warn).await
        {
            return fail(e);
        }
    }

    // The save: the account as rebuilt from the config (written only when that adds or changes
    // anything, e.g. an account written by hand before this command existed).
    let rebuilt = match mailoauth::account::convert::setup_of(&account, &path) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let ca_file = account.tls.as_ref().and_then(|t| t.ca_file.clone());
    let mut saved = false;
    if let Ok(mut new) = core_api::config_account(&account.name, &rebuilt, ca_file.as_deref()) {
        // What the rebuild does not know stays as saved.
        new.tls = account.tls.clone();
        new.token_store = account.token_store.clone();
        new.readers = account.readers.clone();
        new.google_testing_consent = account.google_testing_consent;
        new.auth.key_id = account.auth.key_id.clone();
        new.auth.certificate = account.auth.certificate.clone();
        new.auth.client_secret_expires = account.auth.client_secret_expires.clone();
        new.auth.endpoints = account.auth.endpoints.clone();
        new.smtp = account.smtp.clone();
        new.imap = account.imap.clone();
        if new != account {
            match core_api::save_account(&path, new, core_api::SaveMode::Write { base: None }) {
                Ok(r) if r.saved => {
                    saved = true;
                    eprintln!("Saved the account's settings in {}.", path.display());
                }
                Ok(r) => eprintln!(
                    "The config file changed while signing in; the account was not rewritten:\n{}",
                    r.changed_on_disk.unwrap_or_default()
                ),
                Err(e) => return fail(e),
            }
        }
    }
    if args.json {
        let out = Outcome {
            account: account.name.clone(),
            config: path.display().to_string(),
            granted,
            check: report,
            saved,
        };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!(
            "Account {:?} is signed in again and works; the mail service needs no change.",
            account.name
        );
    }
    ExitCode::SUCCESS
}

/// The new secret of `--client-secret-file` or `--client-secret-env`, if given.
fn new_secret(args: &Args) -> Result<Option<mailoauth::secret::Secret<String>>, String> {
    if let Some(f) = &args.client_secret_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("--client-secret-file {}: {e}", f.display()))?;
        return non_empty(text, "--client-secret-file").map(Some);
    }
    if let Some(v) = &args.client_secret_env {
        let text = std::env::var(v).map_err(|_| {
            format!("--client-secret-env: the environment variable {v:?} is not set or not UTF-8")
        })?;
        return non_empty(text, "--client-secret-env").map(Some);
    }
    Ok(None)
}

fn non_empty(text: String, flag: &str) -> Result<mailoauth::secret::Secret<String>, String> {
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(format!("{flag}: the secret is empty"));
    }
    Ok(mailoauth::secret::Secret::new(text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_names_the_config_only_when_it_is_not_the_default() {
        assert_eq!(
            super::command(None, "scanner"),
            "mailoauth reauthorize scanner"
        );
        let default = mailoauth::config::default_path();
        assert_eq!(
            super::command(Some(&default), "scanner"),
            "mailoauth reauthorize scanner"
        );
        let other = std::path::Path::new("/etc/mailoauth/other.toml");
        assert_eq!(
            super::command(Some(other), "scanner"),
            "mailoauth reauthorize scanner --config /etc/mailoauth/other.toml"
        );
    }
}
