//! The service's engine: the accounts it holds (those with `token_store = "service"`), their
//! tokens in memory, refreshes ahead of expiry through the core's refresh, and the answers to
//! each request. It is the only writer of the custody store, and writes only on a change.
//!
//! Every call into the core (config, OAuth refresh) is in the "core calls" section below, so
//! they can be pointed at the account façade in one place.

use super::custody;
use super::mailer::{self, Via};
use super::notify::{AccountState, Event, MailNotice, MailTarget, Notifier};
use super::peer::{may_read, PeerIdentity};
use super::protocol::{ErrorBody, Request};
use super::schedule::{self, AccountClock, Due, Policy};
use crate::config::{self, Account, ConfigDocument};
use crate::oauth;
use crate::store::file::FileStore;
use crate::store::TokenSet;
use crate::store::TokenStore;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---- core calls (the lead retargets these to `crate::account::*`) ----

/// Reads the machine config.
fn core_load(path: &Path) -> Result<ConfigDocument, config::ConfigError> {
    config::load(path)
}

/// True when the service holds `account`'s tokens (`token_store = "service"`). Stands in for
/// the façade's `StoreSpec::Service` until it lands.
pub fn is_service_owned(account: &Account) -> bool {
    matches!(account.token_store, config::StoreSpec::Service)
}

/// The key of `account`'s tokens in the custody store.
fn core_key(account: &Account, config_path: &Path) -> Result<String, String> {
    account
        .oauth_settings(config_path)
        .map(|auth| oauth::store_key(&auth))
        .map_err(|e| e.to_string())
}

/// Refreshes `account` through the core's refresh (store lock, rotation-safe save); `force`
/// refreshes even a token that is still valid. Returns the saved tokens.
async fn core_refresh(
    account: &Account,
    config_path: &Path,
    state_dir: &Path,
    store: &FileStore,
    force: bool,
) -> Result<TokenSet, Failure> {
    let mut auth = account
        .oauth_settings(config_path)
        .map_err(|e| Failure::config(e.to_string()))?;
    held_secret(&mut auth, &account.name, state_dir)?;
    let now = oauth::unix_now();
    let result = if force {
        oauth::refresh_if_needed(&auth, &custody::Expired(store), now).await
    } else {
        oauth::refresh_if_needed(&auth, store, now).await
    };
    result.map_err(|e| Failure {
        message: crate::diagnosis::scrub(&e.to_string()),
        diagnosis: e.diagnosis_id(),
        reauthorize: e.needs_reauthorization(),
        temporary: e.is_temporary(),
    })?;
    let key = oauth::store_key(&auth);
    store
        .load(&key)
        .map_err(|e| Failure::store(e.to_string()))?
        .ok_or_else(|| Failure::store(format!("the tokens of {key} vanished after the save")))
}

/// Points `auth`'s `client_secret = "service"` at the secret in custody, which only this
/// process reads; a secret not handed over yet is said plainly.
fn held_secret(auth: &mut oauth::AccountAuth, name: &str, state_dir: &Path) -> Result<(), Failure> {
    if auth.client_secret != Some(config::SecretRef::Service) {
        return Ok(());
    }
    let key = oauth::store_key(auth);
    let what = super::protocol::SecretKind::of(auth.flow, auth.client_auth)
        .map_or("secret", |k| k.describe());
    if !custody::has_secret(state_dir, &key) {
        return Err(Failure::config(format!(
            "the mailoauth service holds no {what} for account {name:?} (client_secret = \"service\"): hand it over with `mailoauth service adopt {name}` from its old place, or sign the account in again with the wizard or `mailoauth setup`"
        )));
    }
    auth.client_secret =
        Some(custody::secret_ref(state_dir, &key).map_err(|e| Failure::store(e.to_string()))?);
    Ok(())
}

// ---- the engine ----

/// Why an account has no fresh token.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Scrubbed text.
    pub message: String,
    /// The diagnosis id.
    pub diagnosis: Option<String>,
    /// Only a new sign-in helps.
    pub reauthorize: bool,
    /// Try again later.
    pub temporary: bool,
}

impl Failure {
    fn config(message: String) -> Self {
        Failure {
            message,
            diagnosis: None,
            reauthorize: false,
            temporary: false,
        }
    }
    fn store(message: String) -> Self {
        Failure {
            message: format!("the custody store cannot be used, refreshes are stopped: {message}"),
            diagnosis: None,
            reauthorize: false,
            temporary: false,
        }
    }
    fn body(&self) -> ErrorBody {
        let code = if self.reauthorize {
            "needs_reauthorization"
        } else if self.temporary {
            "temporary"
        } else {
            "failed"
        };
        ErrorBody {
            code: code.into(),
            message: self.message.clone(),
            diagnosis: self.diagnosis.clone(),
            reauthorize: self.reauthorize,
        }
    }
}

/// The check's mail login: SMTP and/or IMAP as the account's purpose says, with `tokens`.
async fn core_mail_login(
    account: &Account,
    tokens: &TokenSet,
) -> (Result<(), Failure>, Option<crate::probe::CheckReport>) {
    let req = match crate::account::convert::check_request(account) {
        Ok(r) => r,
        Err(e) => return (Err(Failure::config(e.to_string())), None),
    };
    let cancel = oauth::CancellationToken::new();
    let report = crate::probe::check(&req, &tokens.access_token, &|_| {}, &cancel).await;
    if report.ok {
        return (Ok(()), Some(report));
    }
    let failure = report
        .failure
        .as_ref()
        .or_else(|| report.smtp.as_ref().and_then(|r| r.failure.as_ref()))
        .or_else(|| report.imap.as_ref().and_then(|r| r.failure.as_ref()));
    let failure = Failure {
        message: crate::diagnosis::scrub(&failure.map_or_else(
            || String::from("the mail server login failed"),
            |f| format!("mail server login: {}", f.message),
        )),
        diagnosis: failure.and_then(|f| f.diagnosis.as_ref().map(|d| d.id.clone())),
        reauthorize: false,
        temporary: false,
    };
    (Err(failure), Some(report))
}

/// Tells `notifier` the account's state after a refresh or a check (`failure`: what failed).
fn observe(notifier: &mut Notifier, name: &str, e: &Entry, failure: Option<&Failure>) {
    let state = match failure {
        None => AccountState::Ok,
        Some(f) if f.reauthorize => AccountState::NeedsReauthorization,
        Some(_) => AccountState::Failing,
    };
    let mailbox = e
        .account
        .as_ref()
        .map(|a| a.mailbox.clone())
        .unwrap_or_default();
    notifier.observe(&Event {
        account: name,
        mailbox: &mailbox,
        state: &state,
        diagnosis: failure.and_then(|f| f.diagnosis.as_deref()),
        detail: failure.map_or("", |f| f.message.as_str()),
    });
}

#[derive(Default)]
struct Entry {
    account: Option<Account>,
    key: String,
    tokens: Option<TokenSet>,
    last_refresh: Option<u64>,
    last_error: Option<Failure>,
    failures: u32,
    last_attempt: Option<SystemTime>,
    last_report: Option<u64>,
    last_check: Option<SystemTime>,
    /// When the tokens handed over were obtained (a sign-in, for the Google Testing reminder).
    /// The next check counts from then too: a sign-in just proved the grant, and a forced
    /// refresh at once would only rotate it.
    authorized_at: Option<u64>,
    /// Successful refreshes so far: a request that waited for another's refresh takes its result.
    generation: u64,
}

struct State {
    /// Service-owned accounts by name.
    accounts: BTreeMap<String, Entry>,
    /// Every account of the config by name, service-owned or not.
    known: BTreeMap<String, bool>,
    config_stamp: Option<(SystemTime, u64)>,
    config_error: Option<String>,
    policy: Policy,
    report_interval: u64,
    /// Days ahead of an end (client secret, Google Testing grant) the admin is reminded.
    notify_days: u32,
    notifier: Notifier,
    refusals_logged: HashMap<(String, String), Instant>,
    refusals_suppressed: u64,
}

/// The engine shared by the endpoint and the refresh loop.
pub struct Engine {
    /// The engine itself, for the tasks that mail notices.
    me: std::sync::Weak<Engine>,
    config_path: PathBuf,
    state_path: PathBuf,
    /// The bytes last written to (or read from) the state file: a save that changes nothing
    /// writes nothing.
    state_written: Mutex<Vec<u8>>,
    /// The state folder: custody (tokens and held secrets) is its `tokens/`.
    state_dir: PathBuf,
    store: FileStore,
    service_uid: u32,
    state: Mutex<State>,
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// One scheduled refresh or check per account at a time, held from the loop's decision to
    /// the task's end: a check's mail login runs outside the refresh lock, and a second check
    /// started meanwhile made the account's state flap (and the admin be told twice).
    work_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Refreshes between request and save, right now.
    in_flight: AtomicUsize,
    stopping: AtomicBool,
    /// Wakes the refresh loop (reload, new tokens, stop).
    pub wake: tokio::sync::Notify,
}

/// The service's own state, `<state dir>/service-state.json`: what `status` shows across
/// restarts, and the states the admin was already told about.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Persisted {
    version: u32,
    accounts: BTreeMap<String, PersistedAccount>,
    notified: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct PersistedAccount {
    last_refresh: Option<u64>,
    last_report: Option<u64>,
    last_check: Option<u64>,
    authorized_at: Option<u64>,
    last_error: Option<String>,
    diagnosis: Option<String>,
    needs_reauthorization: bool,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn policy_of(doc: Option<&config::Config>) -> (Policy, u64) {
    let s = doc.and_then(|c| c.service.clone()).unwrap_or_default();
    (
        Policy {
            refresh_ahead: Duration::from_secs(s.refresh_ahead_secs.unwrap_or(600)),
            check_every: Duration::from_secs(s.check_every_secs.unwrap_or(14_400)),
            backoff_min: Duration::from_secs(10),
            backoff_max: Duration::from_secs(900),
        },
        s.report_min_interval_secs.unwrap_or(60),
    )
}

fn to_system(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn config_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Engine {
    /// Loads the config and the custody store of `state_dir`. A config that cannot be read is
    /// not fatal: the service starts with no accounts and says why in `status`.
    pub fn start(
        config_path: PathBuf,
        state_dir: &Path,
        service_uid: u32,
    ) -> Result<Arc<Engine>, crate::store::StoreError> {
        let store = custody::prepare(state_dir)?;
        let (policy, report_interval) = policy_of(None);
        let state_path = state_dir.join("service-state.json");
        let read = std::fs::read(&state_path).unwrap_or_default();
        let persisted: Persisted = serde_json::from_slice(&read).unwrap_or_default();
        let mut accounts = BTreeMap::new();
        for (name, p) in &persisted.accounts {
            let failure = p.last_error.as_ref().map(|m| Failure {
                message: m.clone(),
                diagnosis: p.diagnosis.clone(),
                reauthorize: p.needs_reauthorization,
                temporary: false,
            });
            accounts.insert(
                name.clone(),
                Entry {
                    last_refresh: p.last_refresh,
                    last_report: p.last_report,
                    last_check: p.last_check.map(to_system),
                    authorized_at: p.authorized_at,
                    failures: u32::from(failure.is_some()),
                    last_error: failure,
                    ..Entry::default()
                },
            );
        }
        let engine = Arc::new_cyclic(|me| Engine {
            me: me.clone(),
            config_path,
            state_path,
            state_written: Mutex::new(read),
            state_dir: state_dir.to_path_buf(),
            store,
            service_uid,
            state: Mutex::new(State {
                accounts,
                known: BTreeMap::new(),
                config_stamp: None,
                config_error: None,
                policy,
                report_interval,
                notify_days: super::notify::DEFAULT_NOTIFY_DAYS,
                notifier: Notifier::new(None, persisted.notified.clone()),
                refusals_logged: HashMap::new(),
                refusals_suppressed: 0,
            }),
            refresh_locks: Mutex::new(HashMap::new()),
            work_locks: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        });
        engine.reload();
        Ok(engine)
    }

    /// The uid the service runs as (a manager too).
    pub fn service_uid(&self) -> u32 {
        self.service_uid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the config again. A config that cannot be used keeps the last good accounts and
    /// records why. Returns the error text, if any.
    pub fn reload(&self) -> Option<String> {
        let stamp = config_stamp(&self.config_path);
        let doc = match core_load(&self.config_path) {
            Ok(d) => d,
            Err(e) => {
                let text = format!(
                    "the config cannot be used, the last good accounts stay in service: {e}"
                );
                tracing::error!(config = %self.config_path.display(), "{text}");
                let mut st = self.lock();
                st.config_stamp = stamp;
                st.config_error = Some(text.clone());
                return Some(text);
            }
        };
        let (policy, report_interval) = policy_of(Some(&doc.config));
        let hook = doc.config.service.as_ref().and_then(|s| s.hook.clone());
        // The proxy follows the config too: a reload changes it without a restart.
        let proxy = doc.config.service.as_ref().and_then(|s| s.proxy.as_deref());
        if let Err(e) = crate::oauth::set_proxy(proxy) {
            tracing::error!(error = %e, "the configured proxy is not used");
        }
        let mut st = self.lock();
        st.config_stamp = stamp;
        st.config_error = None;
        st.policy = policy;
        st.report_interval = report_interval;
        st.notify_days = doc
            .config
            .service
            .as_ref()
            .and_then(|s| s.notify_days)
            .unwrap_or(super::notify::DEFAULT_NOTIFY_DAYS);
        let notified = st.notifier.last_states().clone();
        let mail = doc
            .config
            .service
            .as_ref()
            .and_then(|s| s.notify_mail.as_ref())
            .map(|m| MailTarget {
                to: m.to.trim().to_string(),
                via: m.via.trim().to_string(),
            });
        let pending = st.notifier.take_mail();
        st.notifier = Notifier::new(hook, notified)
            .with_mail(mail)
            .with_pending_mail(pending);
        st.known = doc
            .config
            .accounts
            .iter()
            .map(|a| (a.name.clone(), is_service_owned(a)))
            .collect();
        let mut accounts = BTreeMap::new();
        for a in doc.config.accounts.iter().filter(|a| is_service_owned(a)) {
            let mut entry = st.accounts.remove(&a.name).unwrap_or_default();
            match core_key(a, &self.config_path) {
                Ok(key) => {
                    if entry.key != key || entry.tokens.is_none() {
                        entry.tokens = self.store.load(&key).unwrap_or_else(|e| {
                            tracing::error!(account = %a.name, "custody store: {e}");
                            None
                        });
                    }
                    entry.key = key;
                }
                Err(e) => {
                    entry.last_error = Some(Failure::config(e));
                }
            }
            entry.account = Some(a.clone());
            accounts.insert(a.name.clone(), entry);
        }
        tracing::info!(
            accounts = accounts.len(),
            config = %self.config_path.display(),
            "service accounts loaded"
        );
        st.accounts = accounts;
        drop(st);
        self.mail_notices();
        self.wake.notify_one();
        None
    }

    /// Writes `service-state.json` (atomically) when its content changed since the last write.
    /// A state file that cannot be written is logged loudly; the tokens are in the custody
    /// store either way.
    pub fn persist(&self) {
        let persisted = {
            let st = self.lock();
            Persisted {
                version: 1,
                accounts: st
                    .accounts
                    .iter()
                    .map(|(name, e)| {
                        (
                            name.clone(),
                            PersistedAccount {
                                last_refresh: e.last_refresh,
                                last_report: e.last_report,
                                last_check: e.last_check.map(secs),
                                authorized_at: e.authorized_at,
                                last_error: e.last_error.as_ref().map(|f| f.message.clone()),
                                diagnosis: e.last_error.as_ref().and_then(|f| f.diagnosis.clone()),
                                needs_reauthorization: e
                                    .last_error
                                    .as_ref()
                                    .is_some_and(|f| f.reauthorize),
                            },
                        )
                    })
                    .collect(),
                notified: st.notifier.last_states().clone(),
            }
        };
        let Ok(mut bytes) = serde_json::to_vec_pretty(&persisted) else {
            return;
        };
        bytes.push(b'\n');
        let mut written = self.state_written.lock().unwrap_or_else(|p| p.into_inner());
        if *written == bytes {
            return;
        }
        match crate::config::atomic::write_atomic(&self.state_path, &bytes, false) {
            Ok(()) => *written = bytes,
            Err(e) => {
                tracing::error!(path = %self.state_path.display(), "the service state cannot be written: {e}")
            }
        }
    }

    /// Reads the config again when its file changed since the last read.
    pub fn reload_if_changed(&self) {
        let stamp = config_stamp(&self.config_path);
        if stamp != self.lock().config_stamp {
            self.reload();
        }
    }

    /// Asks the engine to stop: no new refresh starts; those in flight finish and save.
    /// Returns how many refreshes were in flight when the stop arrived.
    pub fn stop(&self) -> usize {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.in_flight.load(Ordering::SeqCst)
    }

    /// True once [`Engine::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits until no refresh is in flight (each is bounded by the HTTP time-out).
    pub async fn drain(&self) {
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn refresh_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.refresh_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// The memory token of `name` when it is valid beyond the core's margin.
    fn fresh_token(&self, name: &str) -> Option<TokenSet> {
        let st = self.lock();
        let t = st.accounts.get(name)?.tokens.as_ref()?;
        t.fresh_at(oauth::unix_now(), oauth::CLOCK_SKEW_SECS)
            .then(|| t.clone())
    }

    /// Refreshes `name` (one at a time per account); without `force`, a token another request
    /// refreshed meanwhile is returned as is.
    pub async fn refresh(&self, name: &str, force: bool) -> Result<TokenSet, Failure> {
        self.refresh_with(name, force, true).await
    }

    /// [`Engine::refresh`]; `notify` says whether its outcome is the account's state to tell
    /// the admin about (a check tells it after its mail login instead).
    async fn refresh_with(
        &self,
        name: &str,
        force: bool,
        notify: bool,
    ) -> Result<TokenSet, Failure> {
        let generation = self.lock().accounts.get(name).map(|e| e.generation);
        let lock = self.refresh_lock(name);
        let _one = lock.lock().await;
        if !force {
            if let Some(t) = self.fresh_token(name) {
                return Ok(t);
            }
        }
        {
            // Another request refreshed while this one waited: its tokens are the answer (a
            // herd of consumers, or of reports of one rejected token, costs one refresh).
            let st = self.lock();
            if let Some(e) = st.accounts.get(name) {
                let now = oauth::unix_now();
                if Some(e.generation) != generation {
                    if let Some(t) = e
                        .tokens
                        .as_ref()
                        .filter(|t| t.expires_at.is_none_or(|x| x > now))
                    {
                        return Ok(t.clone());
                    }
                }
            }
        }
        let account = {
            let st = self.lock();
            let entry = st.accounts.get(name);
            match entry.and_then(|e| e.account.clone()) {
                Some(_) if entry.is_some_and(|e| e.tokens.is_none()) => {
                    return Err(Failure {
                        message: format!("the mailoauth service holds no tokens for account {name:?} yet: sign it in with the mailoauth wizard, or move its tokens in with `mailoauth service adopt {name}`"),
                        diagnosis: None,
                        reauthorize: true,
                        temporary: false,
                    })
                }
                Some(a) => a,
                None => {
                    return Err(Failure::config(format!(
                        "account {name:?} is not held by the mailoauth service"
                    )))
                }
            }
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.stopping() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(Failure {
                message: String::from("the mailoauth service is stopping"),
                diagnosis: None,
                reauthorize: false,
                temporary: true,
            });
        }
        tracing::info!(account = name, force, "refresh requested");
        let result = core_refresh(
            &account,
            &self.config_path,
            &self.state_dir,
            &self.store,
            force,
        )
        .await;
        if self.stopping() {
            tracing::warn!(
                account = name,
                "stop signal landed during this refresh; it finished and saved before the exit"
            );
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let now = SystemTime::now();
        let mut st = self.lock();
        let State {
            accounts, notifier, ..
        } = &mut *st;
        if let Some(e) = accounts.get_mut(name) {
            e.last_attempt = Some(now);
            match &result {
                Ok(t) => {
                    e.tokens = Some(t.clone());
                    e.last_refresh = Some(oauth::unix_now());
                    e.generation += 1;
                    e.last_error = None;
                    e.failures = 0;
                }
                Err(f) => {
                    e.failures = e.failures.saturating_add(1);
                    e.last_error = Some(f.clone());
                }
            }
            if notify {
                observe(notifier, name, e, result.as_ref().err());
            }
        }
        drop(st);
        self.persist();
        self.mail_notices();
        result
    }

    /// The account's check: a forced refresh first (where a revoked grant shows: Microsoft's
    /// access tokens stay valid after a revocation), then the SMTP/IMAP login with the new
    /// token. Its outcome is the account's state the admin is told about.
    pub async fn check(&self, name: &str) -> Result<TokenSet, Failure> {
        self.check_report(name).await.0
    }

    /// [`Engine::check`], with the mail login's report when the login ran (an on-demand check
    /// shows it as `mailoauth check` does).
    pub async fn check_report(
        &self,
        name: &str,
    ) -> (Result<TokenSet, Failure>, Option<crate::probe::CheckReport>) {
        let mut result = self.refresh_with(name, true, false).await;
        let mut report = None;
        if let Ok(tokens) = &result {
            let account = self
                .lock()
                .accounts
                .get(name)
                .and_then(|e| e.account.clone());
            if let Some(account) = account {
                let (login, r) = core_mail_login(&account, tokens).await;
                report = r;
                if let Err(f) = login {
                    result = Err(f);
                }
            }
        }
        let mut st = self.lock();
        let State {
            accounts, notifier, ..
        } = &mut *st;
        if let Some(e) = accounts.get_mut(name) {
            e.last_check = Some(SystemTime::now());
            if let Err(f) = &result {
                e.last_error = Some(f.clone());
            }
            observe(notifier, name, e, result.as_ref().err());
        }
        drop(st);
        self.persist();
        self.mail_notices();
        (result, report)
    }

    /// Sends the notices the notifier queued for mail, each on a task of its own within
    /// [`mailer::MAIL_TIMEOUT`]: a slow or failing mail server holds up no refresh, no request
    /// and no other notice. A notice that may not be sent (about the sending account itself, or
    /// the sending account is not working) is logged with the reason.
    fn mail_notices(&self) {
        let notices = self.lock().notifier.take_mail();
        for notice in notices {
            let via = self.via_state(&notice.via);
            if let Err(why) = mailer::may_send(
                &notice,
                via.as_ref().map_or(Via::NotHeld, |(_, v)| match v {
                    None => Via::Working,
                    Some(why) => Via::NotWorking(why),
                }),
            ) {
                mailer::log_not_sent(&notice, &why);
                continue;
            }
            let (Some(engine), Ok(rt)) = (self.me.upgrade(), tokio::runtime::Handle::try_current())
            else {
                mailer::log_not_sent(
                    &notice,
                    &mailer::NotSent::because("the service is stopping"),
                );
                continue;
            };
            rt.spawn(async move {
                let bound = mailer::MAIL_TIMEOUT;
                match tokio::time::timeout(bound, engine.send_notice(&notice, bound)).await {
                    Ok(Ok(())) => tracing::info!(
                        account = %notice.account,
                        state = notice.state,
                        via = %notice.via,
                        "the notice was mailed to the admin"
                    ),
                    Ok(Err(why)) => mailer::log_not_sent(&notice, &why),
                    Err(_) => mailer::log_not_sent(
                        &notice,
                        &mailer::NotSent::because(format!(
                            "it was not sent within {} s",
                            bound.as_secs()
                        )),
                    ),
                }
            });
        }
    }

    /// The sending account's config and, when it is not working, why (None: working); None
    /// when the service does not hold it.
    fn via_state(&self, via: &str) -> Option<(Account, Option<String>)> {
        let st = self.lock();
        let e = st.accounts.get(via)?;
        let account = e.account.clone().filter(|a| a.smtp.is_some())?;
        let why = match (&e.last_error, &e.tokens) {
            (Some(f), _) => Some(f.message.clone()),
            (None, None) => Some(String::from("the service holds no tokens for it")),
            (None, Some(_)) => None,
        };
        Some((account, why))
    }

    /// Sends `notice` through its `via` account, with that account's current token from the
    /// service's custody (refreshed first when it is about to expire).
    async fn send_notice(
        &self,
        notice: &MailNotice,
        bound: Duration,
    ) -> Result<(), mailer::NotSent> {
        let Some((account, _)) = self.via_state(&notice.via) else {
            return mailer::may_send(notice, Via::NotHeld);
        };
        let tokens = self
            .refresh(&notice.via, false)
            .await
            .map_err(|f| mailer::NotSent {
                message: format!(
                    "no token for the account it is sent through ({:?}): {}",
                    notice.via, f.message
                ),
                diagnosis: f.diagnosis,
            })?;
        mailer::send(&account, &tokens.access_token, notice, bound).await
    }

    /// Reminders (client secret ending, Google Testing grant ending) for every account; the
    /// notifier tells each once per date.
    fn remind(&self) {
        let today = crate::validate::CivilDate::today();
        let mut st = self.lock();
        let days = st.notify_days;
        let State {
            accounts, notifier, ..
        } = &mut *st;
        for (name, e) in accounts.iter() {
            let Some(account) = &e.account else { continue };
            let grant = super::notify::GrantFacts {
                google_testing_consent: account.google_testing_consent.unwrap_or(false),
                authorized_on: e
                    .authorized_at
                    .map(|s| crate::validate::CivilDate::from_days((s / 86_400) as i64)),
            };
            for state in super::notify::reminders(today, account, days, &grant) {
                notifier.observe(&Event {
                    account: name,
                    mailbox: &account.mailbox,
                    state: &state,
                    diagnosis: None,
                    detail: "",
                });
            }
        }
        drop(st);
        self.mail_notices();
    }

    /// The refresh loop: refreshes what is due, then sleeps until the next due time (at most
    /// 60 s, re-reading the wall clock on each wake, so suspend and clock jumps are caught) or
    /// until woken. Returns when the engine stops.
    pub async fn run_loop(self: Arc<Self>) {
        while !self.stopping() {
            self.reload_if_changed();
            self.remind();
            let now = SystemTime::now();
            let (due, wake_at) = {
                let st = self.lock();
                let mut due = Vec::new();
                let mut clocks = Vec::new();
                for (name, e) in &st.accounts {
                    let clock = AccountClock {
                        expires_at: e.tokens.as_ref().and_then(|t| t.expires_at).map(to_system),
                        last_check: e.last_check.max(e.authorized_at.map(to_system)),
                        failures: e.failures,
                        last_attempt: e.last_attempt,
                        needs_reauthorization: e.last_error.as_ref().is_some_and(|f| f.reauthorize)
                            || e.tokens.is_none(),
                    };
                    match schedule::due(now, &clock, &st.policy) {
                        Due::Refresh => due.push((name.clone(), false)),
                        Due::Check => due.push((name.clone(), true)),
                        Due::Nothing => {}
                    }
                    clocks.push(clock);
                }
                (due, schedule::next_wake(now, &clocks, &st.policy))
            };
            for (name, check) in due {
                // One refresh per account at a time: a wake during a slow (or failing) refresh
                // must not queue another behind it.
                if self.refresh_lock(&name).try_lock().is_err() {
                    continue;
                }
                let work = self
                    .work_locks
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(name.clone())
                    .or_default()
                    .clone();
                let Ok(busy) = work.try_lock_owned() else {
                    continue;
                };
                let engine = self.clone();
                tokio::spawn(async move {
                    let _busy = busy;
                    let _ = if check {
                        engine.check(&name).await
                    } else {
                        engine.refresh(&name, true).await
                    };
                    engine.wake.notify_one();
                });
            }
            let cap = now + Duration::from_secs(60);
            let until = wake_at.map_or(cap, |w| w.min(cap));
            let sleep = until
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::from_millis(200))
                .max(Duration::from_millis(200));
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    fn refuse(&self, peer: &PeerIdentity, account: &str, rule: &str) -> ErrorBody {
        let message = format!(
            "user {:?} may not {rule} account {account:?}: {}",
            peer.user,
            if rule == "read" {
                format!("the account's `readers` in {} do not name this user or one of its groups; an admin adds it there", self.config_path.display())
            } else {
                String::from("only root and members of the group `mailoauth` manage the service")
            }
        );
        let mut st = self.lock();
        let key = (peer.user.clone(), account.to_string());
        let now = Instant::now();
        let log = st
            .refusals_logged
            .get(&key)
            .is_none_or(|t| now.duration_since(*t) >= Duration::from_secs(60));
        if log {
            let suppressed = std::mem::take(&mut st.refusals_suppressed);
            st.refusals_logged.insert(key, now);
            tracing::warn!(user = %peer.user, uid = ?peer.uid, account, rule, suppressed, "refused: {message}");
        } else {
            st.refusals_suppressed += 1;
        }
        ErrorBody::new("refused", message)
    }

    /// Checks that `name` exists, is held by the service, and that `peer` may read it.
    fn readable(&self, peer: &PeerIdentity, name: &str) -> Result<(), ErrorBody> {
        let (known, readers) = {
            let st = self.lock();
            let readers = st
                .accounts
                .get(name)
                .and_then(|e| e.account.as_ref())
                .map(|a| a.readers.clone());
            (st.known.get(name).copied(), readers)
        };
        match (known, readers) {
            (None, _) => Err(ErrorBody::new(
                "unknown_account",
                format!("no account {name:?} in {}", self.config_path.display()),
            )),
            (Some(false), _) => Err(ErrorBody::new(
                "not_service_owned",
                format!("account {name:?} is not held by the mailoauth service (its token_store is not \"service\")"),
            )),
            (Some(true), Some(readers)) if may_read(peer, &readers) => Ok(()),
            _ => Err(self.refuse(peer, name, "read")),
        }
    }

    fn token_answer(t: &TokenSet) -> Value {
        json!({ "access_token": t.access_token.expose(), "expires_at": t.expires_at })
    }

    /// A token for `name`: from memory when valid, else refreshed now.
    async fn token(&self, peer: &PeerIdentity, name: &str) -> Result<Value, ErrorBody> {
        self.readable(peer, name)?;
        if let Some(t) = self.fresh_token(name) {
            return Ok(Self::token_answer(&t));
        }
        self.refresh(name, false)
            .await
            .map(|t| Self::token_answer(&t))
            .map_err(|f| f.body())
    }

    /// A forced refresh asked by a reader (rate-limited per account) or a manager.
    async fn forced(
        &self,
        peer: &PeerIdentity,
        name: &str,
        reply: Option<&str>,
    ) -> Result<Value, ErrorBody> {
        self.readable(peer, name)?;
        let now = oauth::unix_now();
        let limited = {
            let mut st = self.lock();
            let interval = st.report_interval;
            let Some(e) = st.accounts.get_mut(name) else {
                return Err(ErrorBody::new(
                    "unknown_account",
                    format!("account {name:?} left the config"),
                ));
            };
            let limited = !peer.is_manager && e.last_report.is_some_and(|t| now < t + interval);
            if !limited {
                e.last_report = Some(now);
            }
            limited
        };
        if let Some(reply) = reply {
            tracing::warn!(account = name, user = %peer.user, rate_limited = limited, "a consumer reports the token was rejected: {}", crate::diagnosis::scrub(reply));
        }
        if limited {
            // The token refreshed a moment ago is the answer; the provider is not asked again.
            return self.token(peer, name).await;
        }
        self.refresh(name, true)
            .await
            .map(|t| Self::token_answer(&t))
            .map_err(|f| f.body())
    }

    fn status(&self, peer: &PeerIdentity) -> Value {
        let st = self.lock();
        let accounts: Vec<Value> = st
            .accounts
            .iter()
            .filter(|(_, e)| e.account.as_ref().is_some_and(|a| may_read(peer, &a.readers)))
            .map(|(name, e)| {
                let expires_at = e.tokens.as_ref().and_then(|t| t.expires_at);
                json!({
                    "account": name,
                    "mailbox": e.account.as_ref().map(|a| a.mailbox.clone()),
                    "provider": e.account.as_ref().map(|a| a.auth.provider.clone()),
                    "has_tokens": e.tokens.is_some(),
                    "expires_at": expires_at,
                    "next_refresh": expires_at.map(|x| x.saturating_sub(st.policy.refresh_ahead.as_secs())),
                    "last_refresh": e.last_refresh,
                    "last_report": e.last_report,
                    "last_check": e.last_check.map(secs),
                    "last_attempt": e.last_attempt.map(secs),
                    "next_check": e.last_check.map(|c| secs(c) + st.policy.check_every.as_secs()),
                    "state": match &e.last_error {
                        None if e.tokens.is_some() => "ok",
                        None => "needs_reauthorization",
                        Some(f) if f.reauthorize => "needs_reauthorization",
                        Some(_) => "failing",
                    },
                    "failures": e.failures,
                    "error": e.last_error.as_ref().map(|f| &f.message),
                    "diagnosis": e.last_error.as_ref().and_then(|f| f.diagnosis.clone()),
                    "needs_reauthorization": e.last_error.as_ref().is_some_and(|f| f.reauthorize),
                })
            })
            .collect();
        json!({
            "config": self.config_path.display().to_string(),
            "config_error": st.config_error,
            "accounts": accounts,
        })
    }

    fn put_tokens(&self, name: &str, tokens: &str) -> Result<Value, ErrorBody> {
        let tokens = TokenSet::from_json(tokens)
            .map_err(|e| ErrorBody::new("bad_request", format!("tokens for {name:?}: {e}")))?;
        if !self.lock().accounts.contains_key(name) {
            self.reload();
        }
        let key = {
            let st = self.lock();
            match st.accounts.get(name) {
                Some(e) if !e.key.is_empty() => e.key.clone(),
                _ => {
                    return Err(ErrorBody::new(
                        "not_service_owned",
                        format!("account {name:?} is not in {} with token_store = \"service\"; set that first", self.config_path.display()),
                    ))
                }
            }
        };
        let _lock = self
            .store
            .lock(&key)
            .map_err(|e| ErrorBody::new("failed", e.to_string()))?;
        self.store
            .save(&key, &tokens)
            .map_err(|e| ErrorBody::new("failed", e.to_string()))?;
        let mut st = self.lock();
        if let Some(e) = st.accounts.get_mut(name) {
            // A hand-over follows a sign-in: the grant's day (Google Testing reminder); the next
            // check, one interval later, tells the admin the account works again.
            e.authorized_at = Some(tokens.obtained_at);
            e.tokens = Some(tokens);
            e.last_error = None;
            e.failures = 0;
        }
        drop(st);
        self.persist();
        tracing::info!(account = name, "tokens taken into the service's custody");
        self.wake.notify_one();
        Ok(json!({ "account": name }))
    }

    /// Takes the account's secret into custody (managers only; the caller checked). The
    /// account must be held by the service and say `client_secret = "service"`, and the kind
    /// must be the one its config needs. Neither the answer nor the log carries the value.
    fn put_secret(
        &self,
        name: &str,
        kind: super::protocol::SecretKind,
        value: &crate::secret::Secret<String>,
    ) -> Result<Value, ErrorBody> {
        if value.expose().trim().is_empty() {
            return Err(ErrorBody::new(
                "bad_request",
                format!("the {} for {name:?} is empty", kind.describe()),
            ));
        }
        // The config was most likely just changed by the one handing the secret over (adopt,
        // setup): read it again unless the account already says `client_secret = "service"`.
        let current = self.lock().accounts.get(name).is_some_and(|e| {
            e.account
                .as_ref()
                .is_some_and(|a| a.auth.client_secret == Some(config::SecretRef::Service))
        });
        if !current {
            self.reload();
        }
        let (key, account) = {
            let st = self.lock();
            match st.accounts.get(name) {
                Some(Entry {
                    key,
                    account: Some(account),
                    ..
                }) if !key.is_empty() => (key.clone(), account.clone()),
                _ => {
                    return Err(ErrorBody::new(
                        "not_service_owned",
                        format!("account {name:?} is not in {} with token_store = \"service\"; set that first", self.config_path.display()),
                    ))
                }
            }
        };
        if account.auth.client_secret != Some(config::SecretRef::Service) {
            return Err(ErrorBody::new(
                "bad_request",
                format!("account {name:?} does not say client_secret = \"service\" in {}; set that first, so that the service reads the secret it is given", self.config_path.display()),
            ));
        }
        let needed = super::protocol::SecretKind::of(account.auth.flow, account.auth.client_auth);
        if needed != Some(kind) {
            return Err(ErrorBody::new(
                "bad_request",
                format!(
                    "account {name:?} needs {} (flow {}, client_auth {}), not a {}",
                    needed.map_or("no secret", |k| k.describe()),
                    account.auth.flow,
                    account.auth.client_auth,
                    kind.describe()
                ),
            ));
        }
        custody::put_secret(&self.state_dir, &key, value)
            .map_err(|e| ErrorBody::new("failed", e.to_string()))?;
        tracing::info!(
            account = name,
            kind = kind.describe(),
            "secret taken into the service's custody"
        );
        // An account that failed for want of its secret can refresh now.
        {
            let mut st = self.lock();
            if let Some(e) = st.accounts.get_mut(name) {
                if e.last_error.as_ref().is_some_and(|f| !f.reauthorize) {
                    e.failures = 0;
                    e.last_attempt = None;
                }
            }
        }
        self.wake.notify_one();
        Ok(json!({ "account": name, "kind": kind, "held": true }))
    }

    /// Answers one request of `peer`.
    pub async fn handle(&self, peer: &PeerIdentity, req: Request) -> Result<Value, ErrorBody> {
        let manager = |what: &str| {
            if peer.is_manager {
                Ok(())
            } else {
                Err(self.refuse(peer, what, "manage"))
            }
        };
        match req {
            Request::Hello => {
                Ok(json!({ "versions": [super::protocol::VERSION], "mailoauth": crate::VERSION }))
            }
            Request::Token { account } => self.token(peer, &account).await,
            Request::Report { account, reply } => self.forced(peer, &account, Some(&reply)).await,
            Request::Refresh { account } => self.forced(peer, &account, None).await,
            Request::Status => Ok(self.status(peer)),
            Request::PutTokens { account, tokens } => {
                manager(&account)?;
                self.put_tokens(&account, &tokens)
            }
            Request::Check { account } => {
                manager(&account)?;
                // A refresh first: that is where a revoked grant shows.
                self.readable(peer, &account)?;
                // The mail login's report travels with the answer, also when the login failed
                // (then with the failure); a failed refresh is an error answer.
                match self.check_report(&account).await {
                    (Ok(t), report) => Ok(
                        json!({ "account": account, "expires_at": t.expires_at, "report": report }),
                    ),
                    (Err(f), Some(report)) => {
                        Ok(json!({ "account": account, "report": report, "failure": f.body() }))
                    }
                    (Err(f), None) => Err(f.body()),
                }
            }
            Request::PutSecret {
                account,
                kind,
                value,
            } => {
                manager(&account)?;
                self.put_secret(&account, kind, &value)
            }
            Request::Reload => {
                manager("(all)")?;
                match self.reload() {
                    None => Ok(json!({ "reloaded": true })),
                    Some(e) => Err(ErrorBody::new("config", e)),
                }
            }
            Request::SaveAccount { account_toml } => {
                manager("(save an account)")?;
                let saved = self.save_account(&account_toml)?;
                tracing::info!(user = %peer.user, account = %saved, config = %self.config_path.display(), "account saved through the service");
                Ok(json!({ "account": saved, "config": self.config_path.display().to_string() }))
            }
        }
    }

    /// Adds or replaces the one account of `text` in the machine config: checked by the
    /// loader's code, refused when it sets what runs or is read as root, written atomically
    /// (the config's own save, under its lock), then the accounts are reloaded.
    fn save_account(&self, text: &str) -> Result<String, ErrorBody> {
        let bad = |m: String| ErrorBody::new("bad_request", m);
        let parsed = config::parse(&self.config_path, text)
            .map_err(|e| bad(format!("the account does not load: {e}")))?;
        if parsed.service.is_some() {
            return Err(ErrorBody::new(
                "root_only",
                format!("the [service] table (hook, proxy, intervals) runs as root: only root edits it, in {}", self.config_path.display()),
            ));
        }
        let [account] = <[Account; 1]>::try_from(parsed.accounts).map_err(|v| {
            bad(format!(
                "exactly one [[account]] is saved at a time, this request has {}",
                v.len()
            ))
        })?;
        if !is_service_owned(&account) {
            return Err(bad(format!(
                "account {:?}: only accounts held by the service (token_store = \"service\") are saved through it",
                account.name
            )));
        }
        let mut doc = config::load_or_new(&self.config_path).map_err(|e| {
            ErrorBody::new(
                "config",
                format!("the machine config cannot be read, nothing was saved: {e}"),
            )
        })?;
        let fields = root_only_fields(doc.config.account(&account.name), &account);
        if !fields.is_empty() {
            return Err(ErrorBody::new(
                "root_only",
                format!(
                    "account {:?}: {} name a file or secret the service would read as root; only root sets them, in {}",
                    account.name,
                    fields.join(", "),
                    self.config_path.display()
                ),
            ));
        }
        let name = account.name.clone();
        doc.set_account(account);
        match doc.save() {
            Ok(config::SaveOutcome::Saved) => {}
            Ok(config::SaveOutcome::ChangedOnDisk { .. }) => {
                return Err(ErrorBody::new(
                    "busy",
                    "the machine config changed while the account was saved; nothing was written, try again",
                ))
            }
            Err(e) => return Err(ErrorBody::new("failed", format!("{e}"))),
        }
        if let Some(e) = self.reload() {
            return Err(ErrorBody::new("config", e));
        }
        Ok(name)
    }
}

/// The keys of `new` a manager may not set through the service, because the service (root)
/// would read the file or secret they name and use it for whoever wrote the account: a client
/// secret other than the wizard's own keyring entry (`keyring:mailoauth/...`), a private key
/// file, a CA file that not everyone may read. Each may stay as root wrote it (`old`) or be
/// left out.
fn root_only_fields(old: Option<&Account>, new: &Account) -> Vec<&'static str> {
    let mut out = Vec::new();
    let secret_ok = match &new.auth.client_secret {
        // Held by the service itself (handed over with `put_secret`): nothing root reads.
        None | Some(config::SecretRef::Service) => true,
        Some(config::SecretRef::Keyring { service, .. }) if service == config::KEYRING_SERVICE => {
            true
        }
        Some(s) => old.and_then(|o| o.auth.client_secret.as_ref()) == Some(s),
    };
    if !secret_ok {
        out.push("auth.client_secret");
    }
    if new.auth.certificate.is_some()
        && old.and_then(|o| o.auth.certificate.as_ref()) != new.auth.certificate.as_ref()
    {
        out.push("auth.certificate");
    }
    let ca = |a: &Account| a.tls.as_ref().and_then(|t| t.ca_file.clone());
    if let Some(file) = ca(new).filter(|_| old.and_then(ca) != ca(new)) {
        // Certificates are public: a CA file everyone may read anyway leaks nothing when root
        // reads it.
        if !world_readable(&file) {
            out.push("tls.ca_file");
        }
    }
    out
}

#[cfg(unix)]
fn world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o004 != 0)
}

#[cfg(not(unix))]
fn world_readable(_path: &Path) -> bool {
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const CONFIG: &str = r#"version = 1

[[account]]
name = "held"
purpose = "send"
mailbox = "held@example.test"
token_store = "service"
readers = ["lp"]

[account.smtp]
host = "127.0.0.1"
port = 587
security = "start_tls"
sasl = "xoauth2"

[account.auth]
provider = "generic"
client_id = "c"
client_auth = "none"
flow = "device_code"
scopes = ["mail"]

[account.auth.endpoints]
authorization = "https://127.0.0.1:9/auth"
token = "https://127.0.0.1:9/token"
device_authorization = "https://127.0.0.1:9/device"
"#;

    fn engine(name: &str) -> (PathBuf, Arc<Engine>) {
        let dir =
            std::env::temp_dir().join(format!("mailoauth-engine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.toml"), CONFIG).unwrap();
        let e = Engine::start(dir.join("m.toml"), &dir.join("state"), 12345).unwrap();
        assert_eq!(e.lock().config_error, None);
        (dir, e)
    }

    fn peer(user: &str) -> PeerIdentity {
        PeerIdentity {
            user: user.into(),
            uid: Some(4242),
            groups: vec![],
            is_manager: false,
        }
    }

    #[tokio::test]
    async fn refusals_name_the_rule_and_are_logged_at_most_once_a_minute() {
        let (dir, e) = engine("refuse");
        for _ in 0..3 {
            let err = e
                .handle(
                    &peer("mallory"),
                    Request::Token {
                        account: "held".into(),
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(err.code, "refused");
            assert!(err.message.contains("\"held\"") && err.message.contains("readers"));
        }
        assert_eq!(
            e.lock().refusals_suppressed,
            2,
            "two of three refusals not logged again"
        );
        let err = e
            .handle(&peer("mallory"), Request::Reload)
            .await
            .unwrap_err();
        assert_eq!(err.code, "refused");
        assert!(err.message.contains("mailoauth"), "{}", err.message);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_secret_is_taken_only_from_a_manager_for_an_account_that_says_service() {
        let (dir, e) = engine("secret");
        let put = |kind| Request::PutSecret {
            account: "held".into(),
            kind,
            value: crate::secret::Secret::new("s3cret-value".into()),
        };
        use super::super::protocol::SecretKind;
        let err = e
            .handle(&peer("lp"), put(SecretKind::ClientSecret))
            .await
            .unwrap_err();
        assert_eq!(err.code, "refused");
        let mut manager = peer("root");
        manager.is_manager = true;
        // The account is a public client: no `client_secret = "service"`, nothing taken.
        let err = e
            .handle(&manager, put(SecretKind::ClientSecret))
            .await
            .unwrap_err();
        assert_eq!(err.code, "bad_request");
        assert!(
            err.message.contains("client_secret = \"service\""),
            "{err:?}"
        );
        // A confidential client whose secret the service holds: the kind is checked, the
        // answer does not carry the value, and custody holds it.
        let text = CONFIG.replace(
            "client_auth = \"none\"",
            "client_auth = \"client_secret_post\"\nclient_secret = \"service\"",
        );
        std::fs::write(dir.join("m.toml"), text).unwrap();
        let err = e
            .handle(&manager, put(SecretKind::PrivateKey))
            .await
            .unwrap_err();
        assert!(err.message.contains("needs client secret"), "{err:?}");
        let ok = e
            .handle(&manager, put(SecretKind::ClientSecret))
            .await
            .unwrap();
        assert!(!ok.to_string().contains("s3cret"), "{ok}");
        let held = custody::secret_ref(&dir.join("state"), "held@example.test")
            .unwrap()
            .read()
            .unwrap();
        assert_eq!(held.expose(), "s3cret-value");
        // No request reads it back: the status carries no secret.
        let status = e.handle(&manager, Request::Status).await.unwrap();
        assert!(!status.to_string().contains("s3cret"), "{status}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_account_without_tokens_says_how_to_hand_them_over() {
        let (dir, e) = engine("empty");
        let err = e
            .handle(
                &peer("lp"),
                Request::Token {
                    account: "held".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(
            err.reauthorize && err.message.contains("mailoauth service adopt held"),
            "{err:?}"
        );
        let err = e
            .handle(
                &peer("lp"),
                Request::Token {
                    account: "other".into(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, "unknown_account");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn files_and_secrets_root_would_read_are_refused_unless_root_set_them() {
        let base = config::parse(Path::new("t.toml"), CONFIG).unwrap().accounts[0].clone();
        assert!(root_only_fields(None, &base).is_empty());
        let mut with = base.clone();
        with.auth.client_secret = Some(config::SecretRef::File("/etc/shadow".into()));
        with.auth.certificate = Some("/root/key.pem".into());
        assert_eq!(
            root_only_fields(None, &with),
            vec!["auth.client_secret", "auth.certificate"]
        );
        // As root already wrote them for this account: they may stay.
        assert!(root_only_fields(Some(&with), &with).is_empty());
        // The wizard's own keyring entry is fine; another service's entry is not.
        let mut keyring = base.clone();
        keyring.auth.client_secret = Some(config::SecretRef::Keyring {
            service: config::KEYRING_SERVICE.into(),
            entry: "held@example.test".into(),
        });
        assert!(root_only_fields(None, &keyring).is_empty());
        // A secret the service holds itself (`put_secret`) names nothing root would read.
        let mut held = base.clone();
        held.auth.client_secret = Some(config::SecretRef::Service);
        assert!(root_only_fields(None, &held).is_empty());
        keyring.auth.client_secret = Some(config::SecretRef::Keyring {
            service: "other".into(),
            entry: "x".into(),
        });
        assert_eq!(root_only_fields(None, &keyring), vec!["auth.client_secret"]);
        // A CA file everyone may read is public; a private one is not.
        let dir = std::env::temp_dir().join(format!("mailoauth-rootonly-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let (public, private) = (dir.join("ca.pem"), dir.join("secret.pem"));
        std::fs::write(&public, "x").unwrap();
        std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&private, "x").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut ca = base.clone();
        ca.tls = Some(config::TlsTrust {
            ca_file: Some(public),
            pinned_sha256: None,
        });
        assert!(root_only_fields(None, &ca).is_empty());
        ca.tls = Some(config::TlsTrust {
            ca_file: Some(private),
            pinned_sha256: None,
        });
        assert_eq!(root_only_fields(None, &ca), vec!["tls.ca_file"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
