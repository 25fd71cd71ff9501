//! The client side of the endpoint, used by `mailoauth token`: connect, send one request, read
//! one answer, all within a bound, so a hung service costs a consumer at most a few seconds.

use super::protocol;
use super::protocol::{ErrorBody, ProtocolError, Request};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client waits for the service to answer a request that needs no provider round
/// trip (`MAILOAUTH_SERVICE_WAIT_SECS` overrides it).
pub const WAIT: Duration = Duration::from_secs(2);

/// The socket to use: `explicit`, else `MAILOAUTH_SERVICE_SOCKET`, else the platform default.
pub fn socket_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(super::SOCKET_ENV).map(PathBuf::from))
        .unwrap_or_else(super::default_socket)
}

/// Why the service gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No service listens on the socket.
    #[error(
        "the mailoauth service is not running (no answer on {path}, or this user may not reach it)"
    )]
    NotRunning {
        /// The socket.
        path: String,
    },
    /// The service did not answer in time.
    #[error("the mailoauth service did not answer within {secs} s on {path}; try again later")]
    Timeout {
        /// The socket.
        path: String,
        /// The bound.
        secs: u64,
    },
    /// The socket's folder is not one only root (or this account) may write: someone else may
    /// have put a socket there.
    #[error("not trusting the socket {path}: {detail}")]
    Untrusted {
        /// The socket.
        path: String,
        /// Why.
        detail: String,
    },
    /// The answer could not be read.
    #[error("the mailoauth service answered something this mailoauth cannot read: {0}")]
    Protocol(#[from] ProtocolError),
}

/// The folder of `socket` must be root's or this account's and writable by no one else.
#[cfg(unix)]
fn trust(socket: &Path) -> Result<(), ClientError> {
    let dir = socket.parent().unwrap_or(Path::new("/"));
    let rules = crate::config::atomic::DirRules {
        follow_link: false,
        root_may_own: true,
        owner_only: false,
        repair: false,
    };
    match crate::config::atomic::check_dir(dir, rules) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ClientError::NotRunning {
            path: socket.display().to_string(),
        }),
        Err(e) => Err(ClientError::Untrusted {
            path: socket.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

/// What a failed connect to the socket at `path` means: no socket, nobody listening, or a socket
/// this user may not reach is no service for this user (the direct path answers for accounts the
/// service does not hold); anything else is an error.
#[cfg(unix)]
fn connect_error(e: std::io::Error, path: &str) -> ClientError {
    match e.kind() {
        std::io::ErrorKind::NotFound
        | std::io::ErrorKind::ConnectionRefused
        | std::io::ErrorKind::PermissionDenied => ClientError::NotRunning {
            path: path.to_string(),
        },
        _ => ClientError::Protocol(ProtocolError::Io {
            detail: e.to_string(),
        }),
    }
}

/// [`ask`] without an async runtime, for `mailoauth token`, which runs for every mail sent or
/// fetched: a blocking socket whose reads and writes share the one bound `wait` (an answer is
/// one short frame; setting up a runtime cost more than the exchange).
#[cfg(unix)]
pub fn ask_blocking(
    socket: &Path,
    req: &Request,
    wait: Duration,
) -> Result<Result<Value, ErrorBody>, ClientError> {
    use std::io::{Read, Write};
    trust(socket)?;
    let path = socket.display().to_string();
    let deadline = std::time::Instant::now() + wait;
    let timeout = || ClientError::Timeout {
        path: path.clone(),
        secs: wait.as_secs(),
    };
    let io = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            timeout()
        } else {
            ClientError::Protocol(ProtocolError::Io {
                detail: e.to_string(),
            })
        }
    };
    // Connecting to a Unix socket does not wait for the server's accept; the exchange does.
    let mut stream =
        std::os::unix::net::UnixStream::connect(socket).map_err(|e| connect_error(e, &path))?;
    // Each step gets what is left of the one bound (never zero, which would mean no bound).
    let left = |stream: &std::os::unix::net::UnixStream| -> Result<(), ClientError> {
        let rest = deadline
            .checked_duration_since(std::time::Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(timeout)?;
        stream.set_read_timeout(Some(rest)).map_err(io)?;
        stream.set_write_timeout(Some(rest)).map_err(io)
    };
    left(&stream)?;
    stream
        .write_all(&protocol::encode_request(req))
        .map_err(io)?;
    // Every read gets only what is left of the bound, so a service that trickles bytes cannot
    // stretch it.
    let mut read_full = |buf: &mut [u8]| -> Result<(), ClientError> {
        let mut got = 0;
        while got < buf.len() {
            left(&stream)?;
            match stream.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(ClientError::Protocol(ProtocolError::Io {
                        detail: String::from("the service closed the connection without an answer"),
                    }))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    };
    let mut len = [0u8; 4];
    read_full(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > protocol::MAX_FRAME {
        return Err(ClientError::Protocol(ProtocolError::TooLarge { len }));
    }
    let mut body = vec![0u8; len];
    read_full(&mut body)?;
    Ok(protocol::decode_answer(&body)?)
}

/// Sends `req` to the service at `socket` and reads its answer, waiting at most `wait`.
#[cfg(unix)]
pub async fn ask(
    socket: &Path,
    req: &Request,
    wait: Duration,
) -> Result<Result<Value, ErrorBody>, ClientError> {
    trust(socket)?;
    let path = socket.display().to_string();
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| connect_error(e, &path))?;
        protocol::write_frame(&mut stream, &protocol::encode_request(req))
            .await
            .map_err(|e| ProtocolError::Io {
                detail: e.to_string(),
            })?;
        let body = protocol::read_frame(&mut stream)
            .await?
            .ok_or(ProtocolError::Io {
                detail: String::from("the service closed the connection without an answer"),
            })?;
        Ok(protocol::decode_answer(&body)?)
    };
    match tokio::time::timeout(wait, exchange).await {
        Ok(r) => r,
        Err(_) => Err(ClientError::Timeout {
            path,
            secs: wait.as_secs(),
        }),
    }
}

/// Sends `req` to the service on the named pipe `socket` and reads its answer, waiting at most
/// `wait` in all (the connect included). The process serving the pipe must run as SYSTEM (the
/// installed service) or as this very account (console mode): anything else is a squatter and
/// gets nothing. No pipe, or a pipe this account may not open, is no service: the direct path
/// answers for accounts the service does not hold.
#[cfg(windows)]
pub async fn ask(
    socket: &Path,
    req: &Request,
    wait: Duration,
) -> Result<Result<Value, ErrorBody>, ClientError> {
    use super::windows::{identity, pipe, sddl};
    use windows_sys::Win32::Foundation::{
        ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY,
    };
    let path = socket.display().to_string();
    let timeout = || ClientError::Timeout {
        path: path.clone(),
        secs: wait.as_secs(),
    };
    let exchange = async {
        let me = identity::of_current_process()
            .map_err(|e| {
                ClientError::Protocol(ProtocolError::Io {
                    detail: format!("this process's own token: {e}"),
                })
            })?
            .user_sid;
        let name = path.clone();
        let connected = tokio::task::spawn_blocking(move || {
            pipe::connect(&name, wait, &[sddl::SYSTEM, me.as_str()])
        })
        .await
        .map_err(|e| {
            ClientError::Protocol(ProtocolError::Io {
                detail: e.to_string(),
            })
        })?;
        let mut stream = match connected {
            Ok(s) => s,
            Err(e) => {
                return Err(match e.raw_os_error() {
                    Some(c)
                        if c == ERROR_FILE_NOT_FOUND as i32 || c == ERROR_ACCESS_DENIED as i32 =>
                    {
                        ClientError::NotRunning { path: path.clone() }
                    }
                    Some(c) if c == ERROR_PIPE_BUSY as i32 => timeout(),
                    None if e.kind() == std::io::ErrorKind::PermissionDenied => {
                        ClientError::Untrusted {
                            path: path.clone(),
                            detail: e.to_string(),
                        }
                    }
                    _ => ClientError::Protocol(ProtocolError::Io {
                        detail: e.to_string(),
                    }),
                })
            }
        };
        protocol::write_frame(&mut stream, &protocol::encode_request(req))
            .await
            .map_err(|e| ProtocolError::Io {
                detail: e.to_string(),
            })?;
        let body = protocol::read_frame(&mut stream)
            .await?
            .ok_or(ProtocolError::Io {
                detail: String::from("the service closed the connection without an answer"),
            })?;
        Ok(protocol::decode_answer(&body)?)
    };
    match tokio::time::timeout(wait, exchange).await {
        Ok(r) => r,
        Err(_) => Err(timeout()),
    }
}

/// Sends `req` to the service: no endpoint on this platform, so every caller takes the direct
/// path.
#[cfg(not(any(unix, windows)))]
pub async fn ask(
    socket: &Path,
    _req: &Request,
    _wait: Duration,
) -> Result<Result<Value, ErrorBody>, ClientError> {
    Err(ClientError::NotRunning {
        path: socket.display().to_string(),
    })
}

/// The bound for `req`: [`WAIT`] (or `MAILOAUTH_SERVICE_WAIT_SECS`), plus the HTTP time-out for
/// requests that make the service ask the provider.
pub fn wait_for(req: &Request) -> Duration {
    let base = std::env::var("MAILOAUTH_SERVICE_WAIT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(WAIT);
    match req {
        Request::Report { .. } | Request::Refresh { .. } | Request::Check { .. } => {
            base + crate::oauth::client::http_timeout()
        }
        _ => base,
    }
}

/// Why an account could not be moved into the service.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// The config or the account cannot be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The old store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Nothing to move, or already moved.
    #[error("{0}")]
    Nothing(String),
    /// The service did not take the tokens (the config was put back).
    #[error("the mailoauth service did not take the tokens of {account:?} (the config is unchanged): {detail}")]
    Refused {
        /// The account.
        account: String,
        /// What the service or the connection said.
        detail: String,
    },
}

/// What [`adopt`] did with the account's client secret, private key or service account key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretMoved {
    /// The account has none (a public client), or it was already in custody.
    NoSecret,
    /// Moved into custody from `from` (a keyring entry is deleted, a file removed);
    /// `left` says why the old copy could not be removed, if it could not.
    Moved {
        /// What it is.
        kind: super::protocol::SecretKind,
        /// Where it was (the config's old reference).
        from: String,
        /// The old copy that could not be removed, and why.
        left: Option<String>,
    },
    /// An environment variable (`env:NAME`) is left as it is: the service reads it from its own
    /// environment (the unit's `Environment=`/`LoadCredential=`); mailoauth cannot remove it.
    LeftInEnv {
        /// The variable.
        name: String,
    },
}

/// What [`adopt`] moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// The tokens moved (false: the service held them already, only the secret moved).
    pub tokens: bool,
    /// The secret.
    pub secret: SecretMoved,
}

impl Adopted {
    /// Lines for the admin, after "account X is now held by the mailoauth service".
    pub fn notes(&self) -> Vec<String> {
        match &self.secret {
            SecretMoved::NoSecret => Vec::new(),
            SecretMoved::Moved { kind, from, left } => {
                let mut out = vec![format!(
                    "its {} moved from {from} into the service's custody (client_secret = \"service\")",
                    kind.describe()
                )];
                if let Some(left) = left {
                    out.push(format!("the old copy could not be removed, remove it yourself: {left}"));
                }
                out
            }
            SecretMoved::LeftInEnv { name } => vec![format!(
                "its secret stays in the environment variable {name} (client_secret = \"env:{name}\"): the service reads it from its own environment, so set {name} for the service (systemd: Environment= or LoadCredential= in a drop-in of its unit); or keep it in a file and run `mailoauth service adopt` again after changing client_secret to file:<path>"
            )],
        }
    }
}

/// Moves the tokens of account `name` from its keyring or file store into the service at
/// `socket` and sets its `token_store` to `service`; its client secret, private key or service
/// account key too, when the config names a keyring entry or a file for it (`client_secret`
/// becomes `service`). Holds the old store's lock throughout so no direct-path refresh runs
/// meanwhile; the config is changed first (from then on the direct path no longer refreshes it)
/// and put back if the service refuses; the old copies are deleted last, once the service
/// confirmed, so the service is the only writer and the only reader of the secret.
pub async fn adopt(config_path: &Path, name: &str, socket: &Path) -> Result<Adopted, AdoptError> {
    use crate::config::SecretRef;
    let mut doc = crate::config::load(config_path)?;
    let account = doc.account(name)?.clone();
    let owned = super::is_service_owned(&account);
    let auth = account.oauth_settings(config_path)?;
    let kind = super::protocol::SecretKind::of(auth.flow, auth.client_auth);
    let old_secret = account.auth.client_secret.clone();
    let secret_place = match (&old_secret, kind) {
        (Some(r @ (SecretRef::Keyring { .. } | SecretRef::File(_))), Some(kind)) => {
            Some((r.clone(), kind))
        }
        _ => None,
    };
    if owned && secret_place.is_none() {
        return Err(AdoptError::Nothing(format!(
            "account {name:?} is already held by the mailoauth service"
        )));
    }
    // Read before anything changes: a secret that cannot be read stops the move.
    let secret_value = match &secret_place {
        Some((place, kind)) => Some(place.read().map_err(|e| {
            AdoptError::Nothing(format!(
                "the {} of account {name:?} cannot be read from {place} ({e}); nothing was moved",
                kind.describe()
            ))
        })?),
        None => None,
    };
    let key = crate::oauth::store_key(&auth);
    let old = if owned {
        None
    } else {
        Some(account.token_store(config_path)?)
    };
    let _lock = match &old {
        Some(old) => Some(crate::store::lock_async(old.as_ref(), &key).await?),
        None => None,
    };
    let tokens = match &old {
        Some(old) => Some(old.load(&key)?.ok_or_else(|| {
            AdoptError::Nothing(format!(
                "account {name:?} has no tokens in the {}: authorize it first",
                old.describe()
            ))
        })?),
        None => None,
    };
    let set = |doc: &mut crate::config::ConfigDocument, store, secret| {
        if let Some(a) = doc.config.accounts.iter_mut().find(|a| a.name == name) {
            a.token_store = store;
            a.auth.client_secret = secret;
        }
    };
    let new_secret = if secret_place.is_some() {
        Some(SecretRef::Service)
    } else {
        old_secret.clone()
    };
    set(&mut doc, crate::config::StoreSpec::Service, new_secret);
    if let crate::config::SaveOutcome::ChangedOnDisk { .. } = doc.save()? {
        return Err(AdoptError::Nothing(format!(
            "{} changed while mailoauth was moving account {name:?}; run the command again",
            config_path.display()
        )));
    }
    let mut requests = Vec::new();
    if let Some(tokens) = &tokens {
        requests.push(Request::PutTokens {
            account: name.to_string(),
            tokens: tokens.to_json(),
        });
    }
    if let (Some((_, kind)), Some(value)) = (&secret_place, secret_value) {
        requests.push(Request::PutSecret {
            account: name.to_string(),
            kind: *kind,
            value,
        });
    }
    let mut refused = None;
    for req in &requests {
        refused = match ask(socket, req, wait_for(req) + Duration::from_secs(5)).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.message),
            Err(e) => Some(e.to_string()),
        };
        if refused.is_some() {
            break;
        }
    }
    if let Some(detail) = refused {
        set(&mut doc, account.token_store.clone(), old_secret);
        doc.save_overwriting()?;
        return Err(AdoptError::Refused {
            account: name.to_string(),
            detail,
        });
    }
    if let Some(old) = &old {
        old.delete(&key)?;
        tracing::info!(account = name, from = %old.describe(), "tokens moved into the mailoauth service");
    }
    let secret = match (secret_place, &old_secret) {
        (Some((place, kind)), _) => {
            let left = crate::store::forget_secret(&place)
                .err()
                .map(|e| format!("{place}: {e}"));
            tracing::info!(account = name, from = %place, kind = kind.describe(), "secret moved into the mailoauth service");
            SecretMoved::Moved {
                kind,
                from: place.to_string(),
                left,
            }
        }
        (None, Some(SecretRef::Env(var))) => SecretMoved::LeftInEnv { name: var.clone() },
        _ => SecretMoved::NoSecret,
    };
    Ok(Adopted {
        tokens: tokens.is_some(),
        secret,
    })
}

/// Hands `value` (the account's client secret, private key or service account key) to the
/// service at `socket` for account `name`, whose config says `client_secret = "service"`.
pub async fn put_secret(
    socket: &Path,
    name: &str,
    kind: super::protocol::SecretKind,
    value: crate::secret::Secret<String>,
) -> Result<(), HandOverError> {
    let req = Request::PutSecret {
        account: name.to_string(),
        kind,
        value,
    };
    HandOverError::of_answer(ask(socket, &req, wait_for(&req) + Duration::from_secs(5)).await)
        .map(|_| ())
}

/// Saves the wizard's answers as account `name` (held by the token service) into the machine
/// config through the service at `socket`: for a wizard that cannot write that file (a non-root
/// admin on Linux/macOS, who manages the service as a member of the group `mailoauth`). The
/// service validates it with the loader's code and refuses the `[service]` table and any file or
/// secret it would read as root. The report names the file the service wrote.
pub async fn save_draft(
    draft: &crate::account::AccountDraft,
    name: &str,
    sandbox: Option<&crate::sandbox::Sandbox>,
    socket: &Path,
) -> Result<crate::account::SaveReport, HandOverError> {
    let account = crate::account::planned_account(draft, name, sandbox)?;
    let path = save_account(socket, &account).await?;
    let token_command =
        crate::export::ExportContext::for_config(Path::new(&path)).token_command(&account);
    let text = crate::config::render(&crate::config::Config {
        accounts: vec![account],
        ..Default::default()
    })
    .unwrap_or_default();
    Ok(crate::account::SaveReport {
        path,
        text,
        saved: true,
        changed_on_disk: None,
        base: String::new(),
        token_command,
    })
}

/// A sign-in's tokens on their way into the service (re-authorization of an account the service
/// holds, the wizard's and `mailoauth setup`'s save): the flow saves them in this process's
/// memory only ([`crate::store::memory::MemoryStore`]), [`HandOver::send`] gives them to the
/// service. They never touch a disk: a process killed between the sign-in and the save leaves no
/// token behind (an earlier version used a temporary folder, which a `kill -9` left in place
/// with the tokens in it), and they never go to the account's old store or the admin's keyring.
pub struct HandOver {
    store: crate::store::memory::MemoryStore,
    /// A private folder (`0700`, made fresh) for the secret typed for this sign-in, made only
    /// when there is one: the sign-in reads a secret through a reference, and the service gets
    /// it after the tokens. Removed on drop; a killed process's folder is removed at the next
    /// hand-over's start ([`remove_stale_handover_folders`]).
    dir: Option<PathBuf>,
    /// The client secret, private key or service account key the admin gave for this sign-in,
    /// handed to the service after the tokens.
    secret: Option<(super::protocol::SecretKind, crate::config::SecretRef)>,
}

impl HandOver {
    /// An empty hand-over. Also removes what an earlier version may have left: its
    /// `mailoauth-handover-*` folders of this user in the temporary folder, with tokens in them.
    pub fn new() -> std::io::Result<HandOver> {
        remove_stale_handover_folders(&std::env::temp_dir());
        Ok(HandOver {
            store: crate::store::memory::MemoryStore::new(),
            dir: None,
            secret: None,
        })
    }

    /// The store the sign-in saves into (clones share it).
    pub fn store(&self) -> &crate::store::memory::MemoryStore {
        &self.store
    }

    /// Keeps `secret` (the client secret, private key or service account key `auth` needs) in
    /// this hand-over's private folder for the sign-in, and points `auth` at it; the hand-over
    /// gives it to the service after the tokens (the saved config says `client_secret =
    /// "service"`). Nothing happens when `auth` needs no secret.
    pub fn keep_secret(
        &mut self,
        auth: &mut crate::oauth::AccountAuth,
        secret: &crate::secret::Secret<String>,
    ) -> Result<(), crate::store::StoreError> {
        let Some(kind) = super::protocol::SecretKind::of(auth.flow, auth.client_auth) else {
            return Ok(());
        };
        let trimmed = crate::secret::Secret::new(secret.expose().trim().to_string());
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let d =
                    private_folder().map_err(|e| crate::store::fs_err(&std::env::temp_dir(), e))?;
                self.dir = Some(d.clone());
                d
            }
        };
        let place = crate::store::keep_client_secret(
            &crate::config::StoreSpec::File(dir),
            &auth.mailbox,
            &trimmed,
        )?;
        auth.client_secret = Some(place.clone());
        self.secret = Some((kind, place));
        Ok(())
    }

    /// For a new sign-in of an account whose secret the service holds (`client_secret =
    /// "service"`) when no new secret was given: the service's custody file, when this process
    /// may read it (root on Linux and macOS); else a message that says how to go on. Other
    /// accounts are left as they are.
    pub fn reuse_held_secret(
        &self,
        auth: &mut crate::oauth::AccountAuth,
        name: &str,
        state_dir: &Path,
    ) -> Result<(), HandOverError> {
        if auth.client_secret != Some(crate::config::SecretRef::Service) {
            return Ok(());
        }
        let what = super::protocol::SecretKind::of(auth.flow, auth.client_auth)
            .map_or("secret", |k| k.describe());
        let key = crate::oauth::store_key(auth);
        match super::custody::secret_ref(state_dir, &key) {
            Ok(place) if place.read().is_ok() => {
                auth.client_secret = Some(place);
                Ok(())
            }
            _ => Err(HandOverError::SecretHeld {
                account: name.to_string(),
                what,
            }),
        }
    }

    /// `auth` with `client_secret = "service"` pointed at the secret kept for this sign-in.
    fn with_secret(&self, auth: &crate::oauth::AccountAuth) -> crate::oauth::AccountAuth {
        let mut auth = auth.clone();
        if let (Some(crate::config::SecretRef::Service), Some((_, place))) =
            (&auth.client_secret, &self.secret)
        {
            auth.client_secret = Some(place.clone());
        }
        auth
    }

    /// Hands the kept secret (if any) to the service, after the tokens.
    async fn give_secret(&self, socket: &Path, name: &str) -> Result<(), HandOverError> {
        let Some((kind, place)) = &self.secret else {
            return Ok(());
        };
        let value = place
            .read()
            .map_err(|e| HandOverError::Failed(format!("the {}: {e}", kind.describe())))?;
        put_secret(socket, name, *kind, value).await
    }

    /// Gives the tokens saved under `key` to the service at `socket` for account `name`;
    /// returns them (for the mail tests).
    pub async fn send(
        &self,
        socket: &Path,
        name: &str,
        key: &str,
    ) -> Result<crate::store::TokenSet, String> {
        use crate::store::TokenStore;
        let tokens = self
            .store
            .load(key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| String::from("the sign-in saved no tokens"))?;
        let req = Request::PutTokens {
            account: name.to_string(),
            tokens: tokens.to_json(),
        };
        match ask(socket, &req, wait_for(&req) + Duration::from_secs(5)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.message),
            Err(e) => return Err(e.to_string()),
        }
        self.give_secret(socket, name)
            .await
            .map_err(|e| e.to_string())?;
        Ok(tokens)
    }
}

/// A fresh private folder (`0700`, never an existing path) under the temp folder, named so that
/// [`remove_stale_handover_folders`] finds it when this process is killed.
fn private_folder() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for n in 0..16u32 {
        let dir = base.join(format!(
            "mailoauth-handover-{}-{}-{n}",
            std::process::id(),
            crate::oauth::unix_now()
        ));
        #[cfg(unix)]
        let b = {
            let mut b = std::fs::DirBuilder::new();
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b
        };
        #[cfg(not(unix))]
        let b = std::fs::DirBuilder::new();
        match b.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no fresh folder for the hand-over",
    ))
}

impl Drop for HandOver {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Removes the `mailoauth-handover-<pid>-*` folders in `dir` that belong to this user and whose
/// process is gone (an earlier version's hand-over folders, left with tokens in them when it was
/// killed). Symbolic links, other users' entries and live processes' folders are left alone.
fn remove_stale_handover_folders(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("mailoauth-handover-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        #[cfg(unix)]
        {
            let Ok(pid) = libc::pid_t::try_from(pid) else {
                continue;
            };
            // SAFETY: signal 0 only asks whether the process exists.
            let gone = unsafe { libc::kill(pid, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            if !gone {
                continue;
            }
        }
        #[cfg(not(unix))]
        let _ = pid;
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        #[cfg(unix)]
        let mine = {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: geteuid has no preconditions.
            meta.uid() == unsafe { libc::geteuid() }
        };
        #[cfg(not(unix))]
        let mine = true;
        if meta.is_dir() && mine && std::fs::remove_dir_all(e.path()).is_ok() {
            tracing::info!(folder = %e.path().display(), "removed a hand-over folder an earlier mailoauth left");
        }
    }
}

/// The service's view of the accounts it holds, as status records (what `mailoauth status` and
/// the app show for them) and their refresh and check times, by account name.
pub type ServiceView =
    std::collections::BTreeMap<String, (crate::status::AccountRecord, crate::status::ServiceTimes)>;

/// Asks the service at `socket` for its view of the accounts the caller may see.
pub async fn view(socket: &Path) -> Result<ServiceView, ClientError> {
    let req = Request::Status;
    let answer = ask(socket, &req, wait_for(&req)).await?;
    let value =
        answer.map_err(|e| ClientError::Protocol(ProtocolError::Io { detail: e.message }))?;
    Ok(view_of(&value))
}

/// [`view`] from the service's `status` answer.
pub fn view_of(value: &Value) -> ServiceView {
    let mut out = ServiceView::new();
    let empty = Vec::new();
    for a in value["accounts"].as_array().unwrap_or(&empty) {
        let Some(name) = a["account"].as_str() else {
            continue;
        };
        let num = |k: &str| a[k].as_u64();
        let times = crate::status::ServiceTimes {
            last_refresh: num("last_refresh"),
            next_refresh: num("next_refresh"),
            last_check: num("last_check"),
            next_check: num("next_check"),
            last_report: num("last_report"),
        };
        let mut record = crate::status::AccountRecord {
            last_success: num("last_check").max(num("last_refresh")),
            ..Default::default()
        };
        let state = a["state"].as_str().unwrap_or_default();
        if state != "ok" {
            let at = num("last_attempt")
                .or(num("last_check"))
                .unwrap_or_else(crate::oauth::unix_now);
            let error = a["error"].as_str().map(str::to_string).unwrap_or_else(|| {
                String::from("the mailoauth service holds no tokens for this account yet")
            });
            record.last_failure = Some(crate::status::Failure {
                at,
                error,
                diagnosis_id: a["diagnosis"].as_str().map(str::to_string),
                reauthorize: state == "needs_reauthorization",
            });
            record.failing_since = Some(at);
        }
        out.insert(name.to_string(), (record, times));
    }
    out
}

/// The command an administrator runs to install and start the service, as the app and the CLI
/// print it (the app does not raise an elevation prompt itself yet).
pub fn start_command() -> String {
    if cfg!(windows) {
        String::from(
            "mailoauth service install (in a terminal opened with \"Run as administrator\")",
        )
    } else {
        String::from("sudo mailoauth service install")
    }
}

/// What a front end shows of the token service: whether it answers, the config file it reads,
/// which accounts of this config it holds, and the command that starts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOverview {
    /// The socket asked.
    pub socket: String,
    /// Whether the service was asked (it is not when no account needs it and the caller did
    /// not ask for it).
    pub asked: bool,
    /// Whether it answered.
    pub running: bool,
    /// Why it did not answer, in words.
    pub problem: Option<String>,
    /// The config file the service reads (it may differ from the one shown).
    pub config: Option<String>,
    /// The accounts of this config the service holds (`token_store = "service"`).
    pub held: Vec<String>,
    /// The command that installs and starts it.
    pub start_command: String,
}

/// Every account of `config` with its state as of `today`, the token service's view merged in
/// for the accounts it holds (their state and its refresh and check times); a service that does
/// not answer makes each of them failing, with the reason. The service is asked when an account
/// of `config` is held by it, or always with `ask_always`. `mailoauth status` and the app's
/// home screen both call this.
pub async fn status_with_service(
    config: &crate::config::Config,
    recorded: crate::status::StatusFile,
    today: crate::date::CivilDate,
    socket: &Path,
    ask_always: bool,
) -> (Vec<crate::status::AccountStatus>, ServiceOverview) {
    let held: Vec<String> = config
        .accounts
        .iter()
        .filter(|a| super::is_service_owned(a))
        .map(|a| a.name.clone())
        .collect();
    let mut overview = ServiceOverview {
        socket: socket.display().to_string(),
        held: held.clone(),
        start_command: start_command(),
        ..Default::default()
    };
    let mut recorded = recorded;
    let mut view = ServiceView::new();
    // Accounts the service holds that this config does not name (it reads another file): name,
    // mailbox, provider.
    let mut elsewhere: Vec<(String, String, String)> = Vec::new();
    if !held.is_empty() || ask_always {
        overview.asked = true;
        let req = Request::Status;
        let answer = match ask(socket, &req, wait_for(&req)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.message),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(value) => {
                overview.running = true;
                overview.config = value["config"].as_str().map(str::to_string);
                view = view_of(&value);
                let empty = Vec::new();
                for a in value["accounts"].as_array().unwrap_or(&empty) {
                    let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
                    let name = text("account");
                    if !name.is_empty() && !config.accounts.iter().any(|c| c.name == name) {
                        elsewhere.push((name, text("mailbox"), text("provider")));
                    }
                }
            }
            Err(e) => {
                overview.problem = Some(e.clone());
                let now = crate::oauth::unix_now();
                for name in &held {
                    let record = crate::status::AccountRecord {
                        last_failure: Some(crate::status::Failure {
                            at: now,
                            error: format!(
                                "the mailoauth service holds this account and did not answer: {e}"
                            ),
                            diagnosis_id: None,
                            reauthorize: false,
                        }),
                        failing_since: Some(now),
                        ..Default::default()
                    };
                    view.insert(name.clone(), (record, Default::default()));
                }
            }
        }
    }
    for (name, (record, _)) in &view {
        if held.contains(name) {
            // The service's record, with the last success known here when it is later (the
            // wizard's passing mail tests right before the save).
            let mut record = record.clone();
            let before = recorded.accounts.get(name).and_then(|r| r.last_success);
            record.last_success = record.last_success.max(before);
            recorded.accounts.insert(name.clone(), record);
        }
    }
    let mut all = crate::status::overview(config, &recorded, today);
    for a in &mut all {
        if held.contains(&a.name) {
            a.service = view.get(&a.name).map(|(_, times)| times.clone());
        }
    }
    for (name, mailbox, provider) in &elsewhere {
        let Some((record, times)) = view.get(name) else {
            continue;
        };
        let named = crate::status::Named {
            name,
            mailbox,
            provider,
        };
        let mut a = crate::status::held_elsewhere(named, record, today);
        a.service = Some(times.clone());
        a.held_in = overview.config.clone();
        all.push(a);
    }
    (all, overview)
}

/// [`status_with_service`] for the config file at `path` (no accounts when there is no file
/// yet; an unreadable status file only means no history), always asking the service: the app's
/// home screen.
pub async fn home_status(
    path: &Path,
    today: crate::date::CivilDate,
    socket: &Path,
) -> Result<(Vec<crate::status::AccountStatus>, ServiceOverview), crate::config::ConfigError> {
    let config = if path.exists() {
        crate::config::load(path)?.config
    } else {
        crate::config::Config::default()
    };
    let recorded = crate::status::read(path).unwrap_or_default();
    Ok(status_with_service(&config, recorded, today, socket, true).await)
}

/// Why tokens could not be handed to the service (the wizard's sign-in of an account the
/// service is to hold, a re-authorization, a save).
#[derive(Debug, thiserror::Error)]
pub enum HandOverError {
    /// No service answers.
    #[error("The mailoauth service is not running on this computer, and it is to hold this account's tokens ({detail}). Start it first, as an administrator in a terminal: {command}. Or leave \"{field}\" empty to keep the tokens in your own keyring.", field = crate::account::readers::FIELD)]
    NotRunning {
        /// What the connection said.
        detail: String,
        /// The command that installs and starts it.
        command: String,
    },
    /// This user may not manage the service.
    #[error("The mailoauth service does not let this user manage it (take tokens, save accounts): {message}. Install the service from the wizard's home screen (which makes you a manager), ask an administrator to add you to the group mailoauth, or run this setup as an administrator.")]
    NotManager {
        /// The service's own words.
        message: String,
    },
    /// The service did not take them for another reason.
    #[error("The mailoauth service did not take the tokens: {0}")]
    Failed(String),
    /// The sign-in failed.
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
    /// The saved account cannot be used.
    #[error(transparent)]
    Account(#[from] crate::account::AccountError),
    /// The hand-over could not be prepared.
    #[error("cannot prepare the hand-over to the mailoauth service: {0}")]
    Io(String),
    /// A new sign-in needs the secret the service holds, which this user cannot read.
    #[error("The {what} of account {account:?} is held by the mailoauth service, which alone reads it, and a new sign-in needs it: run `sudo mailoauth reauthorize {account}` (root reads the service's custody), or give it again with `mailoauth reauthorize {account} --client-secret-file FILE` (it is handed to the service anew).")]
    SecretHeld {
        /// The account.
        account: String,
        /// What the secret is.
        what: &'static str,
    },
}

impl crate::error::Coded for HandOverError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            HandOverError::NotRunning { .. } | HandOverError::NotManager { .. } => {
                ErrorCode::InvalidInput
            }
            HandOverError::Failed(_) | HandOverError::Io(_) => ErrorCode::Internal,
            HandOverError::SecretHeld { .. } => ErrorCode::InvalidInput,
            HandOverError::OAuth(e) => e.code(),
            HandOverError::Account(e) => e.code(),
        }
    }

    fn diagnosis_id(&self) -> Option<String> {
        match self {
            HandOverError::OAuth(e) => e.diagnosis_id(),
            HandOverError::Account(e) => e.diagnosis_id(),
            _ => None,
        }
    }
}

impl HandOverError {
    fn of_answer(answer: Result<Result<Value, ErrorBody>, ClientError>) -> Result<Value, Self> {
        match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.code == "refused" => {
                Err(HandOverError::NotManager { message: e.message })
            }
            Ok(Err(e)) => Err(HandOverError::Failed(e.message)),
            Err(ClientError::NotRunning { path }) => Err(HandOverError::NotRunning {
                detail: format!("no answer on {path}"),
                command: start_command(),
            }),
            Err(e) => Err(HandOverError::Failed(e.to_string())),
        }
    }
}

/// Checks, before a sign-in starts, that the service at `socket` runs and takes tokens from
/// this user (a manager's request: `reload`, which only reads the config again). A config the
/// service cannot read yet (none saved so far) does not stop the sign-in: the save writes it.
pub async fn ready_for_handover(socket: &Path) -> Result<(), HandOverError> {
    let req = Request::Reload;
    match HandOverError::of_answer(ask(socket, &req, wait_for(&req)).await) {
        Ok(_) => Ok(()),
        Err(HandOverError::Failed(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl HandOver {
    /// Signs `auth` in (browser, device code, ...) into this hand-over's private store.
    pub async fn sign_in(
        &self,
        auth: &crate::oauth::AccountAuth,
        hooks: &crate::oauth::FlowHooks<'_>,
    ) -> Result<crate::oauth::Granted, crate::oauth::OAuthError> {
        crate::oauth::authorize_and_store(auth, &self.store, hooks).await
    }

    /// A valid access token from this hand-over's store (refreshed when needed), for the mail
    /// tests before the tokens go to the service.
    pub async fn token(
        &self,
        auth: &crate::oauth::AccountAuth,
    ) -> Result<crate::oauth::AccessToken, crate::oauth::OAuthError> {
        crate::oauth::refresh_if_needed(
            &self.with_secret(auth),
            &self.store,
            crate::oauth::unix_now(),
        )
        .await
    }

    /// [`HandOver::send`] with the service's refusals told apart.
    pub async fn give(&self, socket: &Path, name: &str, key: &str) -> Result<(), HandOverError> {
        use crate::store::TokenStore;
        let tokens = self
            .store
            .load(key)
            .map_err(|e| HandOverError::Failed(e.to_string()))?
            .ok_or_else(|| HandOverError::Failed(String::from("the sign-in saved no tokens")))?;
        let req = Request::PutTokens {
            account: name.to_string(),
            tokens: tokens.to_json(),
        };
        HandOverError::of_answer(ask(socket, &req, wait_for(&req) + Duration::from_secs(5)).await)?;
        self.give_secret(socket, name).await
    }
}

/// The config file the service at `socket` reads, when it answers.
pub async fn served_config(socket: &Path) -> Option<PathBuf> {
    let req = Request::Status;
    match ask(socket, &req, wait_for(&req)).await {
        Ok(Ok(v)) => v["config"].as_str().map(PathBuf::from),
        _ => None,
    }
}

/// Saves `account` (held by the service) into the machine config through the service at
/// `socket`, as this user (a manager): for a wizard that cannot write that file itself. The
/// service checks it with the loader's code and refuses what only root may set. Returns the
/// config file the service wrote.
pub async fn save_account(
    socket: &Path,
    account: &crate::config::Account,
) -> Result<String, HandOverError> {
    let one = crate::config::Config {
        accounts: vec![account.clone()],
        ..Default::default()
    };
    let account_toml =
        crate::config::render(&one).map_err(|e| HandOverError::Failed(e.to_string()))?;
    let req = Request::SaveAccount { account_toml };
    let answer = HandOverError::of_answer(ask(socket, &req, wait_for(&req)).await)?;
    Ok(answer
        .get("config")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Signs the saved account `name` (held by the service) in again and hands the new tokens to
/// the service at `socket`: the app's and the CLI's re-authorization of a service-held account.
/// The service is asked first, so a stopped service or a user who may not manage it is told
/// before any browser opens.
pub async fn reauthorize_held(
    doc: &crate::config::ConfigDocument,
    name: &str,
    socket: &Path,
    hooks: &crate::oauth::FlowHooks<'_>,
) -> Result<crate::oauth::Granted, HandOverError> {
    let mut setup = crate::account::reauthorize_plan(doc, name)?;
    ready_for_handover(socket).await?;
    let handover = HandOver::new().map_err(|e| HandOverError::Io(e.to_string()))?;
    // A secret the service holds is needed by this sign-in too: said before a browser opens.
    handover.reuse_held_secret(&mut setup.auth, name, &super::state_dir_from_env())?;
    let granted = handover.sign_in(&setup.auth, hooks).await?;
    handover
        .give(socket, name, &crate::oauth::store_key(&setup.auth))
        .await?;
    Ok(granted)
}

/// The mail login test's request and a token for the saved account `name`: from the service at
/// `socket` for an account it holds (asked as this user: a manager or a reader), else from the
/// account's own store ([`crate::account::check`]).
pub async fn check_saved(
    doc: &crate::config::ConfigDocument,
    name: &str,
    socket: &Path,
    warn: crate::account::Warn<'_>,
) -> Result<(crate::probe::CheckRequest, crate::secret::Secret<String>), HandOverError> {
    let account = doc
        .account(name)
        .map_err(crate::account::AccountError::from)?;
    if !super::is_service_owned(account) {
        return Ok(crate::account::check(doc, name, warn).await?);
    }
    let request = crate::account::convert::check_request(account)?;
    let req = Request::Token {
        account: name.to_string(),
    };
    let value = HandOverError::of_answer(
        ask(
            socket,
            &req,
            wait_for(&req) + crate::oauth::client::http_timeout(),
        )
        .await,
    )?;
    let token = value["access_token"]
        .as_str()
        .ok_or_else(|| HandOverError::Failed(String::from("the answer carries no token")))?;
    Ok((request, crate::secret::Secret::new(token.to_string())))
}

#[cfg(all(test, unix))]
mod wizard_tests {
    use super::*;

    #[test]
    fn stale_handover_folders_of_this_user_are_removed_links_are_not() {
        let dir = std::env::temp_dir().join(format!("mailoauth-stale-ho-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // A pid no process has (above the kernel's pid_max), and this test's own (alive).
        let stale = dir.join("mailoauth-handover-2147483647-2-0");
        let live = dir.join(format!("mailoauth-handover-{}-2-0", std::process::id()));
        std::fs::create_dir_all(&live).unwrap();
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("a@example.org.json"), "{}").unwrap();
        let target = dir.join("elsewhere");
        std::fs::create_dir_all(&target).unwrap();
        std::os::unix::fs::symlink(&target, dir.join("mailoauth-handover-2147483646-4-0")).unwrap();
        std::fs::write(dir.join("other"), "").unwrap();
        remove_stale_handover_folders(&dir);
        assert!(!stale.exists());
        assert!(live.exists(), "a live process's folder stays");
        assert!(target.exists() && dir.join("mailoauth-handover-2147483646-4-0").exists());
        assert!(dir.join("other").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    const HELD: &str = r#"version = 1

[[account]]
name = "held"
purpose = "send"
mailbox = "held@example.test"
token_store = "service"
readers = ["root"]

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

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mailoauth-wiz-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn the_blocking_ask_finds_no_service_and_bounds_a_silent_one() {
        let dir = folder("blocking");
        let socket = dir.join("s.sock");
        let r = ask_blocking(&socket, &Request::Hello, Duration::from_secs(2));
        assert!(matches!(r, Err(ClientError::NotRunning { .. })), "{r:?}");
        // A server that takes the connection, reads, and never answers: the one bound ends it.
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = std::io::Read::read(&mut c, &mut buf);
            std::thread::sleep(Duration::from_secs(3));
        });
        let r = ask_blocking(&socket, &Request::Hello, Duration::from_millis(300));
        assert!(matches!(r, Err(ClientError::Timeout { .. })), "{r:?}");
        server.join().unwrap();
        // One that answers with a frame above the limit is refused, not read.
        let _ = std::fs::remove_file(&socket);
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = std::io::Read::read(&mut c, &mut buf);
            let _ = std::io::Write::write_all(&mut c, &u32::MAX.to_be_bytes());
        });
        let r = ask_blocking(&socket, &Request::Hello, Duration::from_secs(2));
        assert!(
            matches!(
                r,
                Err(ClientError::Protocol(ProtocolError::TooLarge { .. }))
            ),
            "{r:?}"
        );
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn no_service_is_said_before_a_sign_in_with_the_command_and_the_field() {
        let dir = folder("ready");
        let err = ready_for_handover(&dir.join("none.sock"))
            .await
            .unwrap_err();
        assert!(matches!(err, HandOverError::NotRunning { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(&start_command()), "{text}");
        assert!(text.contains(crate::account::readers::FIELD), "{text}");
        assert_eq!(
            crate::error::Coded::code(&err),
            crate::error::ErrorCode::InvalidInput
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_merged_status_marks_held_accounts_of_a_stopped_service_and_asks_only_when_needed()
    {
        let dir = folder("merge");
        let socket = dir.join("none.sock");
        let config: crate::config::Config = toml::from_str(HELD).unwrap();
        let today = crate::date::CivilDate::today();
        let (all, overview) =
            status_with_service(&config, Default::default(), today, &socket, false).await;
        assert!(overview.asked && !overview.running, "{overview:?}");
        assert_eq!(overview.held, vec![String::from("held")]);
        assert_eq!(all[0].state, crate::status::AccountState::Failing);
        let error = &all[0].last_failure.as_ref().unwrap().error;
        assert!(error.contains("did not answer"), "{error}");
        // No account held, not asked: nothing waits on a service.
        let none = crate::config::Config::default();
        let (_, overview) =
            status_with_service(&none, Default::default(), today, &socket, false).await;
        assert!(!overview.asked, "{overview:?}");
        let (_, overview) =
            status_with_service(&none, Default::default(), today, &socket, true).await;
        assert!(overview.asked && overview.problem.is_some(), "{overview:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;
    use crate::service::windows::{identity, pipe};

    #[test]
    fn no_pipe_is_no_service_and_a_silent_one_is_a_timeout() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let name = format!(r"\\.\pipe\mailoauth-client-test-{}", std::process::id());
            let missing = format!("{name}-missing");
            let r = ask(Path::new(&missing), &Request::Hello, Duration::from_secs(2)).await;
            assert!(matches!(r, Err(ClientError::NotRunning { .. })), "{r:?}");

            // A server of this account that takes the connection and never answers.
            let me = identity::of_current_process().unwrap().user_sid;
            let sd = pipe::SecurityDescriptor::for_readers(std::slice::from_ref(&me)).unwrap();
            let mut server = pipe::PipeServer::bind(&name, sd).unwrap();
            let held = tokio::spawn(async move {
                let conn = server.accept().await.unwrap();
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop((conn, server));
            });
            let r = ask(Path::new(&name), &Request::Hello, Duration::from_secs(1)).await;
            assert!(matches!(r, Err(ClientError::Timeout { .. })), "{r:?}");
            held.abort();
        });
    }
}
