//! The long-running commands: sign-in and the mail login tests. Progress goes to the UI over a
//! `Channel`; one flow runs at a time and `cancel_flow` stops it.

use crate::error::{CmdResult, IpcError};
use mailoauth::account::{self, AccountDraft, AccountSetup, SaveMode, SaveReport};
use mailoauth::config::{ConfigChoice, StoreSpec};
use mailoauth::oauth::{self, AccountAuth, CancellationToken, FlowEvent, FlowHooks, Granted};
use mailoauth::probe::{self, CheckReport, CheckRequest, ProbeEvent};
use mailoauth::sandbox::Sandbox;
use mailoauth::service::client::{self as service, HandOver, ServiceOverview};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tauri::ipc::Channel;
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

/// The app's running flow, if any, and the sandbox it was started with.
#[derive(Default)]
pub struct AppState {
    cancel: Mutex<Option<CancellationToken>>,
    /// The wizard's sign-in of an account the token service is to hold: its tokens wait in this
    /// process's memory (by store key) until the save hands them to the service.
    pending: Mutex<Option<(String, Arc<HandOver>)>>,
    /// The local test servers (`scripts/run.sh --sandbox`), or why they could not be read.
    pub sandbox: Option<Result<Sandbox, String>>,
    /// Which config file is used (the core's rule): the sandbox's, else the one the admin
    /// chose with the file dialog (remembered in the app's per-user config folder), else the
    /// platform's default.
    config: ConfigChoice,
}

impl AppState {
    /// State for this process: the sandbox comes from `MAILOAUTH_SANDBOX`.
    pub fn from_env() -> Self {
        let sandbox = Sandbox::from_env().map(|r| r.map_err(|e| e.to_string()));
        // The sandbox never mixes with real accounts: its file only.
        let fixed = match &sandbox {
            Some(Ok(s)) => Some(s.config_path()),
            _ => None,
        };
        Self {
            cancel: Mutex::new(None),
            pending: Mutex::new(None),
            sandbox,
            config: ConfigChoice::new(fixed),
        }
    }

    /// Reads the remembered config file from `prefs` (a text file holding one path).
    pub fn load_prefs(&self, prefs: std::path::PathBuf) {
        self.config.load_prefs(prefs);
    }

    /// Remembers `path` as the config file, for this run and the next.
    pub fn choose_config(&self, path: std::path::PathBuf) -> Result<(), String> {
        self.config.choose(path).map_err(|e| e.to_string())
    }

    fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref().and_then(|s| s.as_ref().ok())
    }

    /// The pending hand-over of the sign-in with store key `key`, if any.
    fn pending(&self, key: &str) -> Option<Arc<HandOver>> {
        let slot = self.pending.lock().ok()?;
        slot.as_ref()
            .filter(|(k, _)| k == key)
            .map(|(_, h)| Arc::clone(h))
    }

    fn set_pending(&self, value: Option<(String, Arc<HandOver>)>) {
        if let Ok(mut slot) = self.pending.lock() {
            *slot = value;
        }
    }

    fn start(&self) -> CancellationToken {
        let token = CancellationToken::new();
        if let Ok(mut slot) = self.cancel.lock() {
            if let Some(old) = slot.replace(token.clone()) {
                old.cancel(); // a new flow replaces an abandoned one
            }
        }
        token
    }

    fn cancel(&self) {
        if let Ok(mut slot) = self.cancel.lock() {
            if let Some(t) = slot.take() {
                t.cancel();
            }
        }
    }
}

/// A sign-in as the UI asks for it.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    /// The account's settings.
    pub auth: AccountAuth,
    /// Where to keep the tokens: `keyring` or `file:<folder>`.
    #[ts(type = "string")]
    pub store: StoreSpec,
    /// The client secret the admin typed, when the plan uses one (`auth.clientSecret` names
    /// where it goes): kept in the token store as this sign-in starts, the first time it is
    /// needed (for the token service: in the sign-in's private hand-over folder, given to the
    /// service with the tokens at the save); never sent back to the UI.
    #[serde(default)]
    #[ts(optional, type = "string")]
    pub client_secret: Option<mailoauth::secret::Secret<String>>,
}

/// The local test servers, when the app runs in sandbox mode.
#[tauri::command]
pub async fn sandbox_info(state: tauri::State<'_, AppState>) -> CmdResult<Option<Sandbox>> {
    sandbox_view(&state)
}

fn sandbox_view(state: &AppState) -> CmdResult<Option<Sandbox>> {
    match &state.sandbox {
        None => Ok(None),
        Some(Ok(s)) => Ok(Some(s.clone())),
        Some(Err(e)) => Err(IpcError::new(
            mailoauth::error::ErrorCode::InvalidInput,
            e.clone(),
        )),
    }
}

/// Signs the mailbox in (browser or device code), checks scopes and identity, stores the tokens.
#[tauri::command]
pub async fn authorize<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: tauri::State<'_, AppState>,
    request: AuthorizeRequest,
    on_event: Channel<FlowEvent>,
) -> CmdResult<Granted> {
    let store = request.store.clone();
    if store == StoreSpec::Service {
        // The service is to hold the tokens (and the client secret): asked first (running,
        // takes tokens from this user), then the sign-in keeps the tokens in memory (a typed
        // secret in a private folder) until the save hands them over.
        let socket = service::socket_path(None);
        service::ready_for_handover(&socket).await?;
        let mut handover = HandOver::new()
            .map_err(|e| IpcError::from_core(&service::HandOverError::Io(e.to_string())))?;
        let mut auth = request.auth;
        if let (Some(secret), Some(_)) = (&request.client_secret, &auth.client_secret) {
            handover
                .keep_secret(&mut auth, secret)
                .map_err(|e| IpcError::from_core(&e))?;
        }
        let handover = Arc::new(handover);
        let granted = sign_in(app, &state, &auth, Tokens::HandOver(&handover), on_event).await;
        if granted.is_ok() {
            state.set_pending(Some((oauth::store_key(&auth), handover)));
        }
        return granted;
    }
    let auth = keep_secret(request)?;
    sign_in(app, &state, &auth, Tokens::Store(&store), on_event).await
}

/// Where a sign-in's tokens go.
enum Tokens<'a> {
    /// The plan's store (the keyring, a folder).
    Store(&'a StoreSpec),
    /// In memory, until the save hands them to the token service.
    HandOver(&'a HandOver),
    /// Straight to the token service for the saved account (config, name, socket).
    Held(
        &'a mailoauth::config::ConfigDocument,
        &'a str,
        &'a std::path::Path,
    ),
}

/// The sign-in's settings with the admin's client secret (if the plan uses one) kept in the
/// token store, where the sign-in and later the service read it.
fn keep_secret(request: AuthorizeRequest) -> CmdResult<AccountAuth> {
    let mut auth = request.auth;
    if let (Some(secret), Some(_)) = (&request.client_secret, &auth.client_secret) {
        let trimmed = mailoauth::secret::Secret::new(secret.expose().trim().to_string());
        auth.client_secret = Some(mailoauth::store::keep_client_secret(
            &request.store,
            &auth.mailbox,
            &trimmed,
        )?);
    }
    Ok(auth)
}

/// Runs a sign-in with progress on the channel and the system browser, stoppable through
/// `cancel_flow`.
async fn sign_in<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: &AppState,
    auth: &AccountAuth,
    into: Tokens<'_>,
    on_event: Channel<FlowEvent>,
) -> CmdResult<Granted> {
    // Tokens on their way to the token service stay in memory: say where they end up.
    let bound_for = match &into {
        Tokens::Store(_) => None,
        Tokens::HandOver(_) => {
            Some("this app's memory until Save gives them to the mailoauth service")
        }
        Tokens::Held(..) => Some("this app's memory, then given to the mailoauth service"),
    };
    let events = move |e: FlowEvent| {
        let e = match (e, bound_for) {
            (FlowEvent::Stored { .. }, Some(to)) => FlowEvent::Stored {
                store: to.to_string(),
            },
            (e, _) => e,
        };
        let _ = on_event.send(e);
    };
    // The system browser, never the webview (Google blocks sign-in there).
    let open = move |url: &str| {
        app.opener().open_url(url, None::<&str>).map_err(|e| {
            // The launcher's own words (command line, exit status) go to the log; the admin
            // reads what it means. The URL is left out: the screen shows it beside.
            tracing::warn!("the browser could not be started: {e}");
            String::from("no web browser could be started on this desktop")
        })
    };
    let mut hooks = FlowHooks::new(&events, &open);
    hooks.cancel = state.start();
    // The diagnosis's fixes name this account's mailbox, tenant and client ID.
    let ctx = mailoauth::diagnosis::Context {
        mailbox: Some(auth.mailbox.clone()),
        tenant: auth.tenant.clone(),
        client_id: Some(auth.client_id.clone()),
        ..Default::default()
    };
    let result = match into {
        Tokens::Store(store) => account::authorize(auth, store, &hooks)
            .await
            .map_err(IpcError::from),
        Tokens::HandOver(h) => h.sign_in(auth, &hooks).await.map_err(IpcError::from),
        Tokens::Held(doc, name, socket) => service::reauthorize_held(doc, name, socket, &hooks)
            .await
            .map_err(IpcError::from),
    };
    result.map_err(|e| e.with_context(&ctx))
}

/// Tests the SMTP and IMAP logins with the account's stored (refreshed when needed) token.
#[tauri::command]
pub async fn check_mail(
    state: tauri::State<'_, AppState>,
    request: CheckRequest,
    auth: AccountAuth,
    store: StoreSpec,
    on_event: Channel<ProbeEvent>,
) -> CmdResult<CheckReport> {
    let token = if store == StoreSpec::Service {
        // The wizard's sign-in for the service: its tokens wait in the hand-over.
        let handover = state.pending(&oauth::store_key(&auth)).ok_or_else(|| {
            IpcError::new(
                mailoauth::error::ErrorCode::NeedsReauthorization,
                "Sign in first: the tokens for the mailoauth service come from the sign-in on the previous screen.",
            )
        })?;
        handover.token(&auth).await?
    } else {
        let store = mailoauth::store::open(&store).map_err(|e| IpcError::from_core(&e))?;
        oauth::refresh_if_needed(&auth, store.as_ref(), oauth::unix_now())
            .await
            .map_err(|e| IpcError::from_core(&e))?
    };
    Ok(run_check(&state, &request, &token, on_event).await)
}

/// Runs the probe with progress on the channel, stoppable through `cancel_flow`.
async fn run_check(
    state: &AppState,
    request: &CheckRequest,
    token: &mailoauth::secret::Secret<String>,
    on_event: Channel<ProbeEvent>,
) -> CheckReport {
    let cancel = state.start();
    let progress = move |e: ProbeEvent| {
        let _ = on_event.send(e);
    };
    probe::check(request, token, &progress, &cancel).await
}

/// Stops the running sign-in or test.
#[tauri::command]
pub async fn cancel_flow(state: tauri::State<'_, AppState>) -> CmdResult<()> {
    state.cancel();
    Ok(())
}

/// The settings the sign-in and the mail tests run with, for what the wizard collected.
#[tauri::command]
pub async fn plan_account(
    state: tauri::State<'_, AppState>,
    draft: AccountDraft,
) -> CmdResult<AccountSetup> {
    plan_for(&state, &draft)
}

/// Only the plan: the client secret is kept when a sign-in starts ([`keep_secret`]), not each
/// time the wizard asks what it would do.
fn plan_for(state: &AppState, draft: &AccountDraft) -> CmdResult<AccountSetup> {
    Ok(account::plan(draft, state.sandbox())?)
}

/// Where the config goes: the sandbox's own file, the admin's choice, or the platform's default
/// location ([`ConfigChoice`]).
pub(crate) fn config_path(state: &AppState) -> std::path::PathBuf {
    state.config.path()
}

/// Adds the account to the config file: a preview, or an atomic write that refuses a file
/// changed since the preview the admin saw (`mode` carries its base) unless told to overwrite.
/// `tested_at`: when the wizard's mail tests passed with these settings (Unix seconds); a
/// written account records it as its last success, so the home screen does not say "not used
/// yet" right after the tests passed.
#[tauri::command]
pub async fn save_setup(
    state: tauri::State<'_, AppState>,
    draft: AccountDraft,
    name: String,
    mode: SaveMode,
    tested_at: Option<u64>,
) -> CmdResult<SaveReport> {
    let path = config_path(&state);
    // Only a record of history: a status file that cannot be written is logged, not reported
    // as a failed save.
    let warn = |w: &str| tracing::warn!("{w}");
    let socket = service::socket_path(None);
    let service_held = !draft.readers.is_empty();
    let through_service = service_held
        && !matches!(mode, SaveMode::Preview)
        && account::saves_through_service(
            &path,
            service::served_config(&socket).await.as_deref(),
            account::can_write(&path),
            service_held,
        );
    let report = if through_service {
        // The machine config, which this wizard cannot write (or is not its file): the service
        // writes it for a manager.
        service::save_draft(&draft, &name, state.sandbox(), &socket)
            .await
            .map_err(|e| IpcError::from_core(&e))?
    } else {
        account::save(
            &path,
            &draft,
            &name,
            state.sandbox(),
            mode,
            tested_at,
            &warn,
        )
        .map_err(|e| IpcError::from_core(&e))?
    };
    if report.saved && !draft.readers.is_empty() {
        // Saved for the token service: the sign-in's tokens go to it now.
        let setup = account::plan(&draft, state.sandbox())?;
        let key = oauth::store_key(&setup.auth);
        let handover = state.pending(&key).ok_or_else(|| {
            IpcError::new(
                mailoauth::error::ErrorCode::NeedsReauthorization,
                "The account is saved, but this window holds no sign-in for it: sign it in again from Mailboxes (Re-authorize) to give its tokens to the mailoauth service.",
            )
        })?;
        handover.give(&socket, name.trim(), &key).await.map_err(|e| {
            let mut err = IpcError::from_core(&e);
            err.message = format!(
                "The account is saved in {}, but its tokens did not reach the mailoauth service: {}",
                report.path, err.message
            );
            err
        })?;
        state.set_pending(None);
    }
    Ok(report)
}

/// The config account `name` the wizard's answers make (in the sandbox: its servers and CA),
/// as the save and the export preview both write it.
pub(crate) fn planned_account(
    state: &AppState,
    draft: &AccountDraft,
    name: &str,
) -> CmdResult<mailoauth::config::Account> {
    account::planned_account(draft, name, state.sandbox()).map_err(|e| IpcError::from_core(&e))
}

/// The home screen: the config file and every account in it with its status.
#[derive(Debug, Clone, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HomeView {
    /// The config file shown.
    pub config_path: String,
    /// Its accounts: OK, failing, needs re-authorization, secret expiring; for those the
    /// token service holds, its state and its refresh and check times.
    pub accounts: Vec<mailoauth::status::AccountStatus>,
    /// The token service: running or not, and how to start it.
    pub service: ServiceOverview,
}

/// The accounts of the config file (none when there is no file yet).
#[tauri::command]
pub async fn home(state: tauri::State<'_, AppState>) -> CmdResult<HomeView> {
    home_view(&state).await
}

async fn home_view(state: &AppState) -> CmdResult<HomeView> {
    let path = config_path(state);
    let today = mailoauth::validate::CivilDate::today();
    let (accounts, service) = service::home_status(&path, today, &service::socket_path(None))
        .await
        .map_err(|e| IpcError::from_core(&e))?;
    Ok(HomeView {
        config_path: path.display().to_string(),
        accounts,
        service,
    })
}

/// The token service as the sign-in screen shows it before a sign-in for it starts: running,
/// and whether it takes tokens from this user (the error says why not).
#[tauri::command]
pub async fn service_ready() -> CmdResult<()> {
    Ok(service::ready_for_handover(&service::socket_path(None)).await?)
}

/// The OS accounts typed on the purpose screen, checked on this machine.
#[tauri::command]
pub async fn check_readers(text: String) -> CmdResult<account::readers::ReadersCheck> {
    Ok(account::readers::check(&text))
}

/// What the first screen shows: computed before the window opens and handed to the page with
/// it (`window.__MAILOAUTH_START__`), so the first screen needs no IPC round trip. Each part
/// carries its own error, shown where the IPC call's would have been.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StartView {
    /// Milliseconds since the Unix epoch when this was made: a page reloaded much later
    /// ignores it and asks again.
    pub made_at_ms: u64,
    /// The sandbox, when the app runs in sandbox mode.
    pub sandbox: Option<Sandbox>,
    /// Why the sandbox could not be read.
    pub sandbox_error: Option<String>,
    /// The config file's accounts.
    pub home: Option<HomeView>,
    /// Why they could not be read.
    pub home_error: Option<String>,
    /// The providers to choose from.
    pub providers: Vec<mailoauth::provider::ProviderSummary>,
}

/// The first screen's data, from the same functions as the `sandbox_info`, `home` and
/// `list_providers` commands.
pub fn start_view(state: &AppState) -> StartView {
    let (sandbox, sandbox_error) = match sandbox_view(state) {
        Ok(s) => (s, None),
        Err(e) => (None, Some(e.message)),
    };
    let (home, home_error) = match tauri::async_runtime::block_on(home_view(state)) {
        Ok(h) => (Some(h), None),
        Err(e) => (None, Some(e.message)),
    };
    StartView {
        made_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        sandbox,
        sandbox_error,
        home,
        home_error,
        providers: crate::commands::providers(state),
    }
}

/// Signs a saved account in again with every saved setting, checks identity and scopes, and
/// stores the new tokens.
#[tauri::command]
pub async fn reauthorize<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: tauri::State<'_, AppState>,
    name: String,
    on_event: Channel<FlowEvent>,
) -> CmdResult<Granted> {
    let path = config_path(&state);
    let doc = mailoauth::config::load(&path).map_err(|e| IpcError::from_core(&e))?;
    let setup = account::reauthorize_plan(&doc, &name).map_err(|e| IpcError::from_core(&e))?;
    if setup.store == StoreSpec::Service {
        // Held by the token service: the new tokens go straight to it.
        let socket = service::socket_path(None);
        return sign_in(
            app,
            &state,
            &setup.auth,
            Tokens::Held(&doc, &name, &socket),
            on_event,
        )
        .await;
    }
    sign_in(
        app,
        &state,
        &setup.auth,
        Tokens::Store(&setup.store),
        on_event,
    )
    .await
}

/// Tests a saved account's SMTP and IMAP logins with a fresh token from its store.
#[tauri::command]
pub async fn check_account(
    state: tauri::State<'_, AppState>,
    name: String,
    on_event: Channel<ProbeEvent>,
) -> CmdResult<CheckReport> {
    let path = config_path(&state);
    let doc = mailoauth::config::load(&path).map_err(|e| IpcError::from_core(&e))?;
    let warn = |w: &str| tracing::warn!("{w}");
    let (request, token) = service::check_saved(&doc, &name, &service::socket_path(None), &warn)
        .await
        .map_err(|e| IpcError::from_core(&e))?;
    Ok(run_check(&state, &request, &token, on_event).await)
}

/// "Start over" for a saved account: deletes its stored tokens and its status history (the
/// settings stay), after the admin confirmed in the UI.
#[tauri::command]
pub async fn start_over(state: tauri::State<'_, AppState>, name: String) -> CmdResult<()> {
    let path = config_path(&state);
    let doc = mailoauth::config::load(&path).map_err(|e| IpcError::from_core(&e))?;
    account::start_over(&doc, &name).map_err(|e| IpcError::from_core(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sandbox whose token folder is a fresh temporary folder (nothing listens: planning and
    /// keeping a secret reach no server).
    fn sandbox_state(dir: &std::path::Path) -> AppState {
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, "not used here").unwrap();
        let env = dir.join("peers.env");
        std::fs::write(
            &env,
            format!(
                "OP_ISSUER=http://127.0.0.1:9\nCA_FILE={}\nIMAPS_PORT=9\nSUBMISSION_PORT=9\nPEERS_DIR={}\n",
                ca.display(),
                dir.display()
            ),
        )
        .unwrap();
        AppState {
            sandbox: Some(Sandbox::load(&env).map_err(|e| e.to_string())),
            ..AppState::default()
        }
    }

    #[test]
    fn planning_keeps_no_secret_and_a_sign_in_keeps_it_once() {
        let dir = std::env::temp_dir().join(format!("mailoauth-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let state = sandbox_state(&dir);
        let draft: AccountDraft = serde_json::from_value(serde_json::json!({
            "provider": "sandbox", "cloud": "worldwide", "clientId": "", "flow": "loopback",
            "purpose": "both", "mailbox": "alice@example.test", "clientSecret": " s3cret "
        }))
        .unwrap();
        let kept = dir.join("mailoauth-tokens/alice@example.test.client-secret");
        let plan = plan_for(&state, &draft).expect("plan");
        plan_for(&state, &draft).expect("plan again");
        assert!(
            plan.auth.client_secret.is_some(),
            "the plan names the secret's place"
        );
        assert!(!kept.exists(), "planning wrote the client secret");
        let auth = keep_secret(AuthorizeRequest {
            auth: plan.auth.clone(),
            store: plan.store.clone(),
            client_secret: Some(mailoauth::secret::Secret::new(" s3cret ".into())),
        })
        .expect("kept");
        assert_eq!(auth.client_secret, plan.auth.client_secret);
        let read = auth.client_secret.unwrap().read().unwrap();
        assert_eq!(read.expose(), "s3cret");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_sandbox_provider_comes_from_the_core_only_in_sandbox_mode() {
        let dir = std::env::temp_dir().join(format!("mailoauth-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ids = |state: &AppState| -> Vec<String> {
            crate::commands::providers(state)
                .into_iter()
                .map(|p| p.id)
                .collect()
        };
        let plain = ids(&AppState::default());
        assert!(!plain.contains(&String::from("sandbox")), "{plain:?}");
        let state = sandbox_state(&dir);
        let with = ids(&state);
        assert_eq!(with.last().map(String::as_str), Some("sandbox"), "{with:?}");
        // The first screen's list is the same one.
        let start: Vec<String> = start_view(&state)
            .providers
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(start, with);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
