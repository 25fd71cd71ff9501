//! The machine-wide token service (`mailoauth service run`): holds the tokens of the accounts
//! whose config says `token_store = "service"`, keeps them fresh ahead of expiry, and hands
//! them to the OS users and groups each account names in `readers`, over a local endpoint
//! (a Unix socket with peer-credential checks; a named pipe on Windows).
//!
//! - [`protocol`]: length-prefixed JSON frames, versioned.
//! - [`peer`]: who is asking, and the readers rule.
//! - [`engine`]: accounts, tokens in memory, refreshes, answers.
//! - [`custody`]: the service's own token store.
//! - [`unix`]: the socket server; [`client`]: the consumer side.
//! - [`schedule`], [`notify`]: when to refresh, and telling the admin; [`mailer`]: by mail too.
//! - [`backup`]: `service backup`/`restore`, the config and the custody in a passphrase-encrypted file.

pub mod backup;
pub mod client;
pub mod conn;
pub mod custody;
pub mod elevate;
pub mod engine;
pub mod install;
pub mod mailer;
pub mod notify;
pub mod peer;
pub mod protocol;
pub mod schedule;
pub mod shutdown;
#[cfg(unix)]
pub mod unix;
pub mod windows;

pub use engine::is_service_owned;

use std::path::PathBuf;

/// Environment variable naming the socket (clients and `service run`).
pub const SOCKET_ENV: &str = "MAILOAUTH_SERVICE_SOCKET";
/// Environment variable naming the service's state folder (for the direct path's read-only
/// look at the custody store).
pub const STATE_DIR_ENV: &str = "MAILOAUTH_SERVICE_STATE_DIR";

/// The platform's socket path.
pub fn default_socket() -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(r"\\.\pipe\mailoauth")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/var/run/mailoauth/mailoauth.sock")
    } else {
        PathBuf::from("/run/mailoauth/mailoauth.sock")
    }
}

/// The platform's state folder (custody store and service state).
pub fn default_state_dir() -> PathBuf {
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
        PathBuf::from(base).join("mailoauth")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/mailoauth")
    } else {
        PathBuf::from("/var/lib/mailoauth")
    }
}

/// The state folder: `MAILOAUTH_SERVICE_STATE_DIR`, else the platform default.
pub fn state_dir_from_env() -> PathBuf {
    std::env::var_os(STATE_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(default_state_dir)
}

/// What `mailoauth service run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The machine config.
    pub config: PathBuf,
    /// The state folder (custody store in `tokens/`); else the platform's.
    pub state_dir: Option<PathBuf>,
    /// The socket; else `MAILOAUTH_SERVICE_SOCKET`, else the platform's.
    pub socket: Option<PathBuf>,
}

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The socket or its folder cannot be used.
    #[error("service socket {path}: {detail}")]
    Socket {
        /// The socket or folder.
        path: String,
        /// What is wrong and the fix.
        detail: String,
    },
    /// Another service answers on the socket.
    #[error("another mailoauth service already answers on {path}; stop it first")]
    AlreadyRunning {
        /// The socket.
        path: String,
    },
    /// The custody store cannot be used.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Not built for this platform yet.
    #[error("the mailoauth service does not run on this platform yet")]
    Unsupported,
}

impl crate::error::Coded for ServiceError {
    fn code(&self) -> crate::error::ErrorCode {
        match self {
            ServiceError::Store(e) => e.code(),
            _ => crate::error::ErrorCode::Internal,
        }
    }
}

/// Runs the service in the foreground until SIGTERM or SIGINT: refreshes in flight finish and
/// are saved before it returns.
#[cfg(unix)]
pub async fn run(opts: RunOptions) -> Result<(), ServiceError> {
    use tokio::signal::unix::{signal, SignalKind};
    let sig = |k| {
        signal(k).map_err(|e| ServiceError::Socket {
            path: String::from("(signals)"),
            detail: e.to_string(),
        })
    };
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut hup = sig(SignalKind::hangup())?;
    apply_proxy(&opts.config);
    let uid = crate::config::atomic::euid();
    let state_dir = opts.state_dir.clone().unwrap_or_else(default_state_dir);
    let socket = client::socket_path(opts.socket.as_deref());
    let engine = engine::Engine::start(opts.config.clone(), &state_dir, uid)?;
    let listener = unix::bind(&socket)?;
    tracing::info!(socket = %socket.display(), state_dir = %state_dir.display(), config = %opts.config.display(), uid, "mailoauth service running");
    eprintln!("mailoauth service: listening on {}", socket.display());
    let looper = tokio::spawn(engine.clone().run_loop());
    let stop = {
        let engine = engine.clone();
        async move {
            let shutdown = shutdown::token();
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                    _ = shutdown.cancelled() => break,
                    _ = hup.recv() => { engine.reload(); }
                }
            }
            let in_flight = engine.stop();
            if in_flight > 0 {
                tracing::warn!(
                    in_flight,
                    "stop signal during a refresh: finishing it and saving before the exit"
                );
                eprintln!("mailoauth service: stop signal landed during {in_flight} refresh(es) in flight; finishing and saving before the exit");
            }
        }
    };
    unix::serve(listener, engine.clone(), stop).await;
    engine.drain().await;
    let _ = looper.await;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("mailoauth service stopped");
    Ok(())
}

/// The `[service] proxy` of the config, for the provider requests of this process (a service
/// does not inherit an admin's `HTTPS_PROXY`); set at start, and again on every reload.
pub(crate) fn apply_proxy(config: &std::path::Path) {
    let proxy = crate::config::load(config)
        .ok()
        .and_then(|d| d.config.service)
        .and_then(|s| s.proxy);
    if let Some(p) = &proxy {
        tracing::info!(proxy = %crate::diagnosis::scrub(p), "provider requests go through the configured proxy");
    }
    if let Err(e) = crate::oauth::set_proxy(proxy.as_deref()) {
        tracing::error!(error = %e, "the configured proxy is not used");
    }
}

/// Runs the service over the named pipe until the SCM's Stop, or Ctrl+C in console mode
/// (src/service/windows/server.rs): refreshes in flight finish and are saved before it returns.
#[cfg(windows)]
pub async fn run(opts: RunOptions) -> Result<(), ServiceError> {
    windows::server::run(opts).await
}

/// Runs the service: not on this platform.
#[cfg(not(any(unix, windows)))]
pub async fn run(_opts: RunOptions) -> Result<(), ServiceError> {
    Err(ServiceError::Unsupported)
}
