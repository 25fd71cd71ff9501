//! `mailoauth authorize`: the headless sign-in for servers without a desktop. The loopback flow
//! prints the URL to open (on this machine, or through an SSH tunnel to its port) and waits; the
//! device flow prints the code. On success the tokens are stored and what was granted is printed,
//! never a token.

use mailoauth::config::SecretRef;
use mailoauth::error::{Coded, ErrorCode};
use mailoauth::oauth::{self, AccountAuth, FlowEvent, FlowHooks};
use mailoauth::provider::{self, discovery, ClientAuth, Cloud, EndpointOverrides, Flow, Purpose};
use mailoauth::secret::Secret;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The provider: google, microsoft or generic (see `mailoauth providers`).
    #[arg(long)]
    provider: String,
    /// The mailbox the service signs in as; the sign-in must be done as this account.
    #[arg(long)]
    mailbox: String,
    /// loopback, device-code, client-credentials, service-account or password [default: the provider's recommended flow]
    #[arg(long)]
    flow: Option<Flow>,
    /// What the service does: send, receive or both.
    #[arg(long, default_value = "both")]
    purpose: Purpose,
    /// The OAuth client ID (not needed for service-account).
    #[arg(long, default_value = "")]
    client_id: String,
    /// none, client-secret-basic, client-secret-post or private-key-jwt [default: none, or client-secret-post when a secret is given, private-key-jwt with --private-key]
    #[arg(long)]
    client_auth: Option<ClientAuth>,
    /// Environment variable holding the client secret.
    #[arg(long, conflicts_with = "client_secret_file")]
    client_secret_env: Option<String>,
    /// File holding the client secret.
    #[arg(long)]
    client_secret_file: Option<PathBuf>,
    /// PEM private key (PKCS#8 or RSA) for private_key_jwt.
    #[arg(long)]
    private_key: Option<PathBuf>,
    /// Key id (kid) of the private key, when the provider needs one.
    #[arg(long)]
    key_id: Option<String>,
    /// PEM certificate of the key, for Entra's x5t thumbprint.
    #[arg(long)]
    certificate: Option<PathBuf>,
    /// Google service account key JSON (service-account flow).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Microsoft tenant ID or verified domain.
    #[arg(long)]
    tenant: Option<String>,
    /// worldwide, us-gov-gcc-high, us-gov-dod or china.
    #[arg(long, default_value = "worldwide")]
    cloud: Cloud,
    /// Issuer URL of a generic OpenID Connect provider; its endpoints are discovered.
    #[arg(long)]
    issuer: Option<String>,
    /// A scope to request (repeat); default: the profile's scopes for the purpose.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Where to store the tokens: file:<folder> or keyring [default: file in the user's data folder]
    #[arg(long)]
    store: Option<String>,
    /// Fixed loopback port (repeat for fallbacks), for clients registered with an exact redirect URI.
    #[arg(long = "port")]
    ports: Vec<u16>,
    /// Path of the loopback redirect URI.
    #[arg(long, default_value = "/")]
    redirect_path: String,
    /// Seconds to wait for the browser.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Environment variable holding the mailbox password (password flow only).
    #[arg(long)]
    password_env: Option<String>,
    /// Another Microsoft authority than the cloud's (a proxy, a new national cloud), with or
    /// without the tenant: https://login.example.net, .../organizations or .../common.
    #[arg(long)]
    authority: Option<String>,
    /// Write (or update) the account in this config file after the sign-in, discovery results included.
    #[arg(long, requires = "account")]
    config: Option<PathBuf>,
    /// The account's name in --config.
    #[arg(long, requires = "config")]
    account: Option<String>,
    /// The account's SMTP server as host:port:security (with --config) [default: the provider's].
    #[arg(long, requires = "config")]
    smtp: Option<String>,
    /// The account's IMAP server as host:port:security (with --config) [default: the provider's].
    #[arg(long, requires = "config")]
    imap: Option<String>,
    /// A PEM file of an extra CA the mail servers need (with --config; saved in [account.tls]).
    #[arg(long, requires = "config")]
    ca_file: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// The diagnosis context of a sign-in: every value the admin gave is filled into the fixes.
fn context(auth: &AccountAuth) -> mailoauth::diagnosis::Context {
    mailoauth::diagnosis::Context {
        mailbox: Some(auth.mailbox.clone()).filter(|m| !m.is_empty()),
        tenant: auth.tenant.clone(),
        client_id: Some(auth.client_id.clone()).filter(|c| !c.is_empty()),
        ..Default::default()
    }
}

/// A diagnosis of a sign-in failure with the account's values filled in, and its Microsoft
/// links (admin consent) on the account's cloud or authority instead of the worldwide one.
pub(super) fn filled(
    id: &str,
    message: &str,
    auth: &AccountAuth,
) -> Option<mailoauth::diagnosis::Diagnosis> {
    let mut d = mailoauth::diagnosis::diagnose(id, message, &context(auth))?;
    // Some catalog texts name the tenant in words ('Grant admin consent for <tenant>').
    if let Some(t) = auth.tenant.as_deref().filter(|t| !t.is_empty()) {
        let name = |s: &str| s.replace("<tenant>", t);
        d.fix = d.fix.iter().map(|f| name(f)).collect();
        d.cause = name(&d.cause);
        d.title = name(&d.title);
    }
    let worldwide = "https://login.microsoftonline.com";
    let host = auth
        .endpoints
        .authority
        .clone()
        .or_else(|| {
            provider::profile(&auth.provider)
                .and_then(|p| p.cloud_vars(auth.cloud).ok())
                .and_then(|v| v.get("authority").cloned())
        })
        .map(|h| h.trim_end_matches('/').to_string());
    if let Some(host) = host.filter(|h| h != worldwide && auth.provider == "microsoft") {
        let swap = |t: &str| t.replace(worldwide, &host);
        d.fix = d.fix.iter().map(|f| swap(f)).collect();
        d.link = d.link.as_deref().map(swap);
        d.cause = swap(&d.cause);
    }
    Some(d)
}

/// Prints the diagnosis of a failed sign-in, filled with the account's values.
pub(super) fn explain(e: &oauth::OAuthError, auth: &AccountAuth) {
    let message = e.to_string();
    if let Some(d) = e.diagnosis_id().and_then(|id| filled(&id, &message, auth)) {
        eprintln!("\n{}\n{}", d.title, d.cause);
        for (i, step) in d.fix.iter().enumerate() {
            eprintln!("  {}. {step}", i + 1);
        }
        if let Some(link) = &d.link {
            eprintln!("  {link}");
        }
    }
}

/// Splits `--authority` into the authority base and the tenant its path names, if any
/// (`https://login.example.net/organizations` -> base and `organizations`).
pub(super) fn split_authority(url: &str) -> Result<(String, Option<String>), String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| {
        format!("--authority: {url:?} is not a URL ({e}); give e.g. https://login.microsoftonline.com/organizations")
    })?;
    let trimmed = url.trim().trim_end_matches('/');
    let last = parsed
        .path_segments()
        .and_then(|mut s| s.rfind(|x| !x.is_empty()).map(str::to_string));
    let is_tenant = |t: &str| {
        matches!(t, "organizations" | "common" | "consumers")
            || t.contains('.')
            || (t.len() == 36 && t.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
    };
    match last.filter(|t| is_tenant(t)) {
        Some(t) => Ok((
            trimmed[..trimmed.len() - t.len()]
                .trim_end_matches('/')
                .to_string(),
            Some(t),
        )),
        None => Ok((trimmed.to_string(), None)),
    }
}

/// The default token folder: the user's data folder, or %ProgramData% on Windows. Never the
/// shared temporary folder, where another account could prepare the folder first: without a
/// data folder or a home (`HOME`, else the account database), the admin must name the store.
pub(super) fn default_store() -> Result<String, String> {
    let base = if cfg!(windows) {
        std::env::var_os("ProgramData").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| mailoauth::config::location::home_dir().map(|h| h.join(".local/share")))
    };
    let Some(base) = base else {
        return Err(String::from(
            "this account has no home folder for the default token store: pass --store file:<folder> (a folder of this account) or --store keyring",
        ));
    };
    let dir = base.join("mailoauth").join("tokens");
    Ok(format!("file:{}", dir.display()))
}

fn fail(e: &dyn std::fmt::Display, diagnosis: Option<String>) -> ExitCode {
    eprintln!("mailoauth authorize: {e}");
    let message = e.to_string();
    if let Some(d) = diagnosis
        .as_deref()
        .and_then(|id| mailoauth::diagnosis::diagnose(id, &message, &Default::default()))
    {
        eprintln!("\n{}\n{}", d.title, d.cause);
        for (i, step) in d.fix.iter().enumerate() {
            eprintln!("  {}. {step}", i + 1);
        }
    }
    ExitCode::FAILURE
}

pub(super) async fn discover(issuer: &str) -> Result<EndpointOverrides, String> {
    let url = discovery::discovery_url(issuer).map_err(|e| e.to_string())?;
    let http = oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())?;
    let text = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?
        .text()
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))?;
    Ok(discovery::parse_discovery(&text, issuer)
        .map_err(|e| e.to_string())?
        .overrides())
}

fn show(e: &FlowEvent, mailbox: &str) {
    match e {
        FlowEvent::ListeningOn { redirect_uri } => {
            eprintln!("Waiting for the browser at {redirect_uri}")
        }
        FlowEvent::BrowserNotOpened { url, .. } | FlowEvent::BrowserOpened { url } => {
            eprintln!("\nOpen this URL in a browser on this machine and sign in as {mailbox}:\n\n  {url}\n")
        }
        FlowEvent::RedirectIgnored { reason } => eprintln!("(ignored: {reason})"),
        FlowEvent::DeviceCode {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_at,
        } => {
            let left = expires_at.saturating_sub(oauth::unix_now()) / 60;
            eprintln!(
                "\nOn any device, open {verification_uri} and enter the code\n\n  {user_code}\n"
            );
            if let Some(c) = verification_uri_complete {
                eprintln!("(or open {c})");
            }
            eprintln!("Sign in as {mailbox}. The code expires in {left} minutes.");
        }
        FlowEvent::PasteRedirect { reason } => {
            eprintln!("No loopback listener ({reason}); continuing without one.")
        }
        FlowEvent::SlowDown { interval_secs } => {
            eprintln!("(the provider asked to poll every {interval_secs} s)")
        }
        FlowEvent::Polling { .. } | FlowEvent::TokenReceived => {}
        FlowEvent::IdentityChecked { account } => eprintln!("Signed in as {account}."),
        FlowEvent::Stored { store } => eprintln!("Tokens saved in the {store}."),
    }
}

pub fn run(args: Args) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&e, None),
    };
    rt.block_on(run_async(args))
}

use super::exit::EX_USAGE;

/// The values of the command line after the wizard's checks, cleaned as the wizard cleans them.
struct Checked {
    mailbox: String,
    client_id: String,
    tenant: Option<String>,
}

/// Checks every value before anything starts (no discovery, no listener, no browser URL), with
/// the validators and messages of the wizard's fields; every problem is listed at once.
fn check_input(
    args: &Args,
    profile: &provider::Profile,
    flow: Flow,
) -> Result<Checked, Vec<String>> {
    use mailoauth::validate::input::{self, FieldContext, FieldKind, FieldReport};
    let mut errors = Vec::new();
    let ctx = FieldContext {
        provider: Some(profile.id().to_string()),
        flow: Some(flow),
        client_type: None,
        purpose: Some(args.purpose),
        cloud: args.cloud,
    };
    // Errors refuse the command; warnings are shown as the wizard shows them, and the cleaned
    // value (spaces, quotes, `mailto:` removed) is the one used.
    let take = |errors: &mut Vec<String>, flag: &str, report: FieldReport| -> Option<String> {
        for f in &report.findings {
            match f.severity {
                mailoauth::validate::Severity::Error => {
                    errors.push(format!("--{flag}: {} {}", f.message, f.fix))
                }
                mailoauth::validate::Severity::Warning => {
                    eprintln!(
                        "mailoauth authorize: warning: --{flag}: {} {}",
                        f.message, f.fix
                    )
                }
                _ => {}
            }
        }
        report.normalized
    };
    let mailbox = take(
        &mut errors,
        "mailbox",
        input::mailbox(&args.mailbox, Some(profile.id())),
    );
    // A service account signs its own grant: its client ID is optional.
    let client_id = if flow == Flow::ServiceAccount && args.client_id.trim().is_empty() {
        Some(String::new())
    } else {
        take(
            &mut errors,
            "client-id",
            input::validate_field(FieldKind::ClientId, &args.client_id, &ctx),
        )
    };
    let authority_tenant = args
        .authority
        .as_deref()
        .and_then(|a| split_authority(a).ok())
        .and_then(|(_, t)| t);
    let tenant = match args.tenant.as_ref().or(authority_tenant.as_ref()) {
        Some(t) if profile.id() == "microsoft" => {
            take(&mut errors, "tenant", input::azure_tenant(t, Some(flow)))
        }
        Some(t) => {
            if t.trim().is_empty() || t.chars().any(char::is_whitespace) {
                errors.push(String::from(
                    "--tenant: Tenant: give the tenant without spaces, or leave --tenant out.",
                ));
            }
            Some(t.trim().to_string())
        }
        None => None,
    };
    if args.scopes.is_empty() && profile.is_hand_entered() && flow != Flow::ServiceAccount {
        errors.push(format!(
            "--scope: {} has no scopes of its own; give each scope the mail server expects with --scope (repeatable), e.g. --scope openid --scope email --scope offline_access plus the mail scope.",
            profile.name()
        ));
    }
    if args.config.is_some() {
        let sends = matches!(args.purpose, Purpose::Send | Purpose::Both);
        let receives = matches!(args.purpose, Purpose::Receive | Purpose::Both);
        for (flag, used, given, protocol) in [
            ("smtp", sends, &args.smtp, provider::MailProtocol::Smtp),
            ("imap", receives, &args.imap, provider::MailProtocol::Imap),
        ] {
            match given {
                Some(text) => {
                    if let Err(e) = mailoauth::probe::Endpoint::parse(text) {
                        errors.push(format!("--{flag}: {e}"));
                    }
                }
                None if used
                    && profile
                        .mail(protocol, args.cloud)
                        .ok()
                        .and_then(|d| d.host)
                        .is_none() =>
                {
                    errors.push(format!(
                        "--{flag}: {} has no {} server of its own; give it as host:port:security for the account in --config.",
                        profile.name(),
                        flag.to_ascii_uppercase()
                    ));
                }
                None => {}
            }
        }
        if let Some(f) = &args.ca_file {
            if !std::fs::metadata(f).is_ok_and(|m| m.is_file()) {
                errors.push(format!(
                    "--ca-file: {} is not a readable file; give the path of the PEM file itself.",
                    f.display()
                ));
            }
        }
    }
    if let Some(a) = &args.authority {
        if profile.id() != "microsoft" {
            errors.push(String::from(
                "--authority: only for the Microsoft profile; a generic provider takes --issuer.",
            ));
        }
        match split_authority(a) {
            Ok((_, Some(t))) => {
                if let Some(given) = args.tenant.as_deref() {
                    if !given.trim().eq_ignore_ascii_case(&t) {
                        errors.push(format!(
                            "--authority names the tenant {t:?} but --tenant is {given:?}: give one of them."
                        ));
                    }
                }
            }
            Ok((_, None)) => {}
            Err(e) => errors.push(e),
        }
    }
    if !args.scopes.is_empty() {
        take(
            &mut errors,
            "scope",
            input::scopes(
                &args.scopes.join(" "),
                Some(profile),
                Some(flow),
                Some(args.purpose),
                args.cloud,
            ),
        );
    }
    if let Some(issuer) = &args.issuer {
        if let Err(e) = discovery::discovery_url(issuer) {
            errors.push(format!("--issuer: {e}"));
        }
    }
    if !args.redirect_path.starts_with('/')
        || args
            .redirect_path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        errors.push(String::from(
            "--redirect-path: write the path of the registered redirect URI, starting with / and without spaces, ? or #, e.g. / or /callback.",
        ));
    }
    if args.timeout == 0 {
        errors.push(String::from(
            "--timeout: give the seconds to wait for the browser, at least 1 (default 300).",
        ));
    }
    if args.ports.contains(&0) {
        errors.push(String::from(
            "--port: give the port of the registered redirect URI (1-65535), or leave --port out for any free port.",
        ));
    }
    for (flag, var) in [
        ("client-secret-env", &args.client_secret_env),
        ("password-env", &args.password_env),
    ] {
        if let Some(var) = var {
            if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
                errors.push(format!(
                    "--{flag}: the environment variable {var:?} is not set, empty or not UTF-8; set it before running mailoauth authorize."
                ));
            }
        }
    }
    for (flag, file) in [
        ("client-secret-file", &args.client_secret_file),
        ("private-key", &args.private_key),
        ("certificate", &args.certificate),
        ("key-file", &args.key_file),
    ] {
        if let Some(file) = file {
            if !std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
                errors.push(format!(
                    "--{flag}: {} is not a readable file; give the path of the file itself.",
                    file.display()
                ));
            }
        }
    }
    match (mailbox, client_id) {
        (Some(mailbox), Some(client_id)) if errors.is_empty() => Ok(Checked {
            mailbox,
            client_id,
            tenant,
        }),
        _ => Err(errors),
    }
}

async fn run_async(args: Args) -> ExitCode {
    let profile = match provider::require_profile(&args.provider) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mailoauth authorize: --provider: {e}");
            return ExitCode::from(EX_USAGE);
        }
    };
    let flow = args.flow.unwrap_or_else(|| profile.recommended_flow());
    let checked = match check_input(&args, profile, flow) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors {
                eprintln!("mailoauth authorize: {e}");
            }
            eprintln!("mailoauth authorize: nothing was started; correct the values above and run the command again.");
            return ExitCode::from(EX_USAGE);
        }
    };
    let mut endpoints = EndpointOverrides::default();
    if let Some(issuer) = &args.issuer {
        match discover(issuer).await {
            Ok(o) => endpoints = o,
            Err(e) => return fail(&format!("--issuer {issuer}: {e}"), None),
        }
    }
    if let Some(a) = &args.authority {
        if let Ok((base, _)) = split_authority(a) {
            endpoints.authority = Some(base);
        }
    }
    let client_secret = match (
        &args.client_secret_env,
        &args.client_secret_file,
        &args.private_key,
        &args.key_file,
    ) {
        (Some(env), _, _, _) => Some(SecretRef::Env(env.clone())),
        (_, Some(f), _, _) => Some(SecretRef::File(f.clone())),
        (_, _, Some(k), _) => Some(SecretRef::File(k.clone())),
        (_, _, _, Some(k)) => Some(SecretRef::File(k.clone())),
        _ => None,
    };
    let client_auth = args.client_auth.unwrap_or(if args.private_key.is_some() {
        ClientAuth::PrivateKeyJwt
    } else if args.client_secret_env.is_some() || args.client_secret_file.is_some() {
        ClientAuth::ClientSecretPost
    } else {
        ClientAuth::None
    });
    let auth = AccountAuth {
        provider: profile.id().to_string(),
        cloud: args.cloud,
        tenant: checked.tenant,
        client_id: checked.client_id,
        client_auth,
        client_secret,
        key_id: args.key_id.clone(),
        certificate: args.certificate.clone(),
        flow,
        purpose: args.purpose,
        scopes: args.scopes.clone(),
        endpoints,
        mailbox: checked.mailbox,
        // --port goes to the listener directly (it may list several ports).
        redirect_port: None,
    };
    let store_text = match args.store.clone().map_or_else(default_store, Ok) {
        Ok(spec) => spec,
        Err(e) => return fail(&e, None),
    };
    let store_spec = match mailoauth::config::StoreSpec::parse(&store_text) {
        Ok(spec) => spec,
        Err(e) => return fail(&format!("--store: {e}"), None),
    };
    let store = match mailoauth::store::open(&store_spec) {
        Ok(s) => s,
        Err(e) => return fail(&e, None),
    };
    let mailbox = auth.mailbox.clone();
    let on_event = move |e: FlowEvent| show(&e, &mailbox);
    // A server has no browser to start: the URL is printed for the admin to open.
    let open = |_: &str| Err(String::from("headless: open the URL by hand"));
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback.ports = args.ports.clone();
    hooks.loopback.path = args.redirect_path.clone();
    hooks.loopback.timeout = Duration::from_secs(args.timeout);
    // Without a loopback port the sign-in can still finish: the admin pastes the address the
    // browser's last (unloadable) page shows.
    let paste = || -> Pin<Box<dyn Future<Output = Option<String>> + Send>> {
        Box::pin(async {
            eprintln!("\nAfter signing in, the browser shows a page that cannot be reached.");
            eprintln!("Copy its whole address from the address bar and paste it here:");
            tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                match std::io::stdin().read_line(&mut line) {
                    Ok(n) if n > 0 && !line.trim().is_empty() => Some(line),
                    _ => None,
                }
            })
            .await
            .ok()
            .flatten()
        })
    };
    hooks.paste_redirect = Some(&paste);
    if flow == Flow::Password {
        eprintln!("Warning: the password grant is forbidden by RFC 9700 and fails for accounts with MFA; use it only for products that require it.");
        match args.password_env.as_deref().map(std::env::var) {
            Some(Ok(p)) => hooks.password = Some(Secret::new(p)),
            _ => {
                return fail(
                    &"--flow password needs --password-env with the mailbox password",
                    None,
                )
            }
        }
    }
    match oauth::authorize_and_store(&auth, store.as_ref(), &hooks).await {
        Ok(g) => {
            if let (Some(config), Some(name)) = (&args.config, &args.account) {
                if let Err(code) = write_account(&args, config, name, &auth, &store_spec) {
                    return code;
                }
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&g).unwrap_or_default());
            } else {
                println!("Authorized {} ({} flow).", g.account, flow);
                println!("Granted scopes: {}", g.scopes.join(" "));
                println!(
                    "Refresh token: {}",
                    if g.refresh_token {
                        "stored"
                    } else {
                        "none (app-only access is requested again when it expires)"
                    }
                );
                println!("Stored in: {}", g.store);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailoauth authorize: {e}");
            explain(&e, &auth);
            let code = ExitCode::FAILURE;
            if e.code() == ErrorCode::Cancelled {
                return ExitCode::from(130);
            }
            code
        }
    }
}

/// Writes (or updates) the account `name` in `config` after a sign-in: the engine's settings as
/// used (discovered endpoints, scopes, the store the tokens went to), the provider's mail servers
/// for the purpose.
fn write_account(
    args: &Args,
    config: &std::path::Path,
    name: &str,
    auth: &AccountAuth,
    store: &mailoauth::config::StoreSpec,
) -> Result<(), ExitCode> {
    let profile = provider::profile(&auth.provider);
    let server = |protocol, used: bool| {
        if !used {
            return None;
        }
        let d = profile?.mail(protocol, auth.cloud).ok()?;
        Some(mailoauth::probe::Endpoint {
            host: d.host?,
            port: d.port,
            security: d.security,
        })
    };
    // Keep the servers of an account that exists (they may be the admin's own).
    let existing = mailoauth::config::load(config)
        .ok()
        .and_then(|d| d.config.account(name).cloned());
    let from_existing = |m: Option<&mailoauth::config::MailServer>| {
        m.map(|m| mailoauth::probe::Endpoint {
            host: m.host.clone(),
            port: m.port,
            security: m.security,
        })
    };
    let sends = matches!(auth.purpose, Purpose::Send | Purpose::Both);
    let receives = matches!(auth.purpose, Purpose::Receive | Purpose::Both);
    let given = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| mailoauth::probe::Endpoint::parse(t).ok())
    };
    let setup = super::setup::core_api::AccountSetup {
        auth: auth.clone(),
        store: store.clone(),
        check: mailoauth::probe::CheckRequest {
            mailbox: auth.mailbox.clone(),
            smtp: given(&args.smtp)
                .or_else(|| {
                    existing
                        .as_ref()
                        .and_then(|a| from_existing(a.smtp.as_ref()))
                })
                .or_else(|| server(provider::MailProtocol::Smtp, sends))
                .filter(|_| sends),
            imap: given(&args.imap)
                .or_else(|| {
                    existing
                        .as_ref()
                        .and_then(|a| from_existing(a.imap.as_ref()))
                })
                .or_else(|| server(provider::MailProtocol::Imap, receives))
                .filter(|_| receives),
            mechanism: Default::default(),
            tls: Default::default(),
            send_test_to: None,
            source_address: None,
            timeouts: Default::default(),
        },
    };
    let ca = args.ca_file.clone().or_else(|| {
        existing
            .as_ref()
            .and_then(|a| a.tls.as_ref())
            .and_then(|t| t.ca_file.clone())
    });
    let mut account = super::setup::core_api::config_account(name, &setup, ca.as_deref())
        .map_err(|e| fail(&e, None))?;
    account.auth.key_id = args.key_id.clone();
    account.auth.certificate = args.certificate.clone();
    if let Some(old) = existing.as_ref().filter(|_| args.ca_file.is_none()) {
        account.tls = old.tls.clone();
    }
    if let Some(old) = &existing {
        account.auth.client_secret_expires = old.auth.client_secret_expires.clone();
    }
    let mode = super::setup::core_api::SaveMode::Write { base: None };
    match super::setup::core_api::save_account(config, account, mode) {
        Ok(r) if r.saved => {
            eprintln!(
                "{} account {name:?} in {}. The mail service gets a fresh token with:\n  {}",
                if existing.is_some() {
                    "Updated"
                } else {
                    "Saved"
                },
                config.display(),
                r.token_command
            );
            Ok(())
        }
        Ok(r) => {
            eprintln!(
                "mailoauth authorize: {} changed while signing in; the account was not written. The difference:\n{}",
                config.display(),
                r.changed_on_disk.unwrap_or_default()
            );
            Err(ExitCode::from(75))
        }
        Err(e) => Err(fail(&e, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn microsoft(cloud: Cloud) -> AccountAuth {
        AccountAuth {
            provider: "microsoft".into(),
            cloud,
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_id: "a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d".into(),
            client_auth: ClientAuth::None,
            client_secret: None,
            key_id: None,
            certificate: None,
            flow: Flow::DeviceCode,
            purpose: Purpose::Both,
            scopes: vec![],
            endpoints: Default::default(),
            mailbox: "scanner@contoso.com".into(),
            redirect_port: None,
        }
    }

    #[test]
    fn a_sign_in_failure_names_the_account_s_values_and_cloud() {
        let text = "AADSTS90094: The grant requires admin permission.";
        let d = filled(
            "ms-admin-consent-required",
            text,
            &microsoft(Cloud::Worldwide),
        )
        .unwrap();
        let all = format!("{} {} {:?}", d.cause, d.fix.join(" "), d.link);
        assert!(all.contains("https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"), "{all}");
        assert!(
            !all.contains("<client ID>") && !all.contains("<tenant"),
            "{all}"
        );
        // China's tenants consent on China's login host.
        let d = filled("ms-admin-consent-required", text, &microsoft(Cloud::China)).unwrap();
        let all = format!("{} {:?}", d.fix.join(" "), d.link);
        assert!(all.contains("https://login.partner.microsoftonline.cn/contoso.onmicrosoft.com/adminconsent?client_id=a3f1c2d4"), "{all}");
        assert!(!all.contains("login.microsoftonline.com"), "{all}");
        // An authority override is the host the admin consents on.
        let mut a = microsoft(Cloud::Worldwide);
        a.endpoints.authority = Some("https://login.example.net".into());
        let d = filled("ms-admin-consent-required", text, &a).unwrap();
        assert!(
            d.fix
                .join(" ")
                .contains("https://login.example.net/contoso.onmicrosoft.com/adminconsent"),
            "{:?}",
            d.fix
        );
    }

    #[test]
    fn the_authority_s_tenant_path_is_the_tenant() {
        assert_eq!(
            split_authority("https://login.example.net/organizations").unwrap(),
            (
                "https://login.example.net".into(),
                Some("organizations".into())
            )
        );
        assert_eq!(
            split_authority("https://login.example.net/common/").unwrap(),
            ("https://login.example.net".into(), Some("common".into()))
        );
        assert_eq!(
            split_authority("https://proxy.example.net/entra").unwrap(),
            ("https://proxy.example.net/entra".into(), None)
        );
        assert!(split_authority("login.example.net").is_err());
        // /organizations reaches the profile's endpoints with the tenant in the path.
        let p = provider::profile("microsoft").unwrap();
        let ctx = provider::EndpointContext {
            cloud: Cloud::Worldwide,
            tenant: Some("organizations".into()),
            flow: Some(Flow::DeviceCode),
            overrides: EndpointOverrides {
                authority: Some("https://login.example.net".into()),
                ..Default::default()
            },
        };
        let e = p.endpoints(&ctx).unwrap();
        assert_eq!(
            e.token,
            "https://login.example.net/organizations/oauth2/v2.0/token"
        );
    }
}
