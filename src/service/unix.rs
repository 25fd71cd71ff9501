//! The Unix endpoint: a socket in a folder only the service's account can write (root's
//! `0755` folder on a machine-wide install), mode `0666`, every request authorised by the
//! peer's credentials (`SO_PEERCRED` on Linux, `getpeereid` on macOS, through tokio).

use super::engine::Engine;
use super::peer;
use super::ServiceError;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};

use super::conn::MAX_CONNECTIONS;

fn io_err(path: &Path, e: io::Error) -> ServiceError {
    ServiceError::Socket {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

/// Creates the socket's folder `0755` (no link followed, not recursive: its parent must
/// exist), or checks the existing one: a folder (not a link) of this account or root that no
/// one else may write.
pub fn prepare_dir(dir: &Path) -> Result<(), ServiceError> {
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(dir, e)),
    }
    let rules = crate::config::atomic::DirRules {
        follow_link: false,
        root_may_own: true,
        owner_only: false,
        repair: false,
    };
    crate::config::atomic::check_dir(dir, rules).map_err(|e| io_err(dir, e))
}

/// Removes a socket left by a service that is gone: only a socket, and only when nobody answers
/// on it.
fn clear_stale(path: &Path) -> Result<(), ServiceError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path, e)),
    };
    if !meta.file_type().is_socket() {
        return Err(ServiceError::Socket {
            path: path.display().to_string(),
            detail: String::from("something that is not a socket is in the way; remove it"),
        });
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(ServiceError::AlreadyRunning {
            path: path.display().to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(socket = %path.display(), "removing the stale socket of a service that is gone");
            std::fs::remove_file(path).map_err(|e| io_err(path, e))
        }
        Err(e) => Err(io_err(path, e)),
    }
}

/// Binds the socket at `path` (folder prepared, stale socket replaced), mode `0666`: access is
/// decided per request from the peer's credentials.
pub fn bind(path: &Path) -> Result<UnixListener, ServiceError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| ServiceError::Socket {
            path: path.display().to_string(),
            detail: String::from("give the socket as a path in a folder"),
        })?;
    prepare_dir(dir)?;
    clear_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|e| io_err(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| io_err(path, e))?;
    Ok(listener)
}

/// Serves connections until `stop` resolves.
pub async fn serve(
    listener: UnixListener,
    engine: Arc<Engine>,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            _ = &mut stop => return,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => return,
            },
        };
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        connection(stream, engine).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Answers one connection: the peer is the socket's credentials.
async fn connection(stream: UnixStream, engine: Arc<Engine>) {
    let service_uid = engine.service_uid();
    super::conn::serve(stream, engine, move |s: &UnixStream| match s.peer_cred() {
        Ok(cred) => Some(peer::of_uid(cred.uid(), service_uid)),
        Err(e) => {
            tracing::warn!("no peer credentials on a connection, closed: {e}");
            None
        }
    })
    .await;
}
