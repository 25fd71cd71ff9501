//! One connection on the service's endpoint, whatever carries it (a Unix socket, a Windows named
//! pipe): read a frame, answer it through the engine, until the peer closes. The peer is
//! identified once, after its first frame was read: Windows lets a pipe server impersonate its
//! client only once the client has written, and on Unix the socket's credentials are the same
//! before and after.

use super::engine::Engine;
use super::peer::PeerIdentity;
use super::protocol::{self, ErrorBody, ProtocolError};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a connected peer may take to send a request: a client that connects and says
/// nothing must not hold a task for ever.
pub const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// Connections served at once; more wait (in the listen queue, or for a pipe instance), so a
/// local user who opens connections by the thousand cannot exhaust the service's handles.
pub const MAX_CONNECTIONS: usize = 256;

/// Answers the requests of one connection, one frame each, until the peer closes it. `identify`
/// names the peer from the stream after the first frame; `None` ends the connection unanswered
/// (it logs why). A bad frame is answered with an error and logged; the connection then ends.
pub async fn serve<S, F>(mut stream: S, engine: Arc<Engine>, identify: F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&S) -> Option<PeerIdentity>,
{
    let mut identify = Some(identify);
    let mut peer: Option<PeerIdentity> = None;
    loop {
        let frame = match tokio::time::timeout(REQUEST_WAIT, protocol::read_frame(&mut stream))
            .await
        {
            Err(_) => return,
            Ok(Ok(None)) => return,
            Ok(Ok(Some(body))) => Ok(body),
            Ok(Err(e @ ProtocolError::Io { .. })) => {
                tracing::debug!(user = ?peer.as_ref().map(|p| &p.user), "connection ended: {e}");
                return;
            }
            Ok(Err(e)) => Err(e),
        };
        if peer.is_none() {
            match identify.take().and_then(|f| f(&stream)) {
                Some(p) => peer = Some(p),
                None => return,
            }
        }
        let Some(peer) = peer.as_ref() else { return };
        let answer = match frame.and_then(|body| protocol::decode_request(&body)) {
            Ok(req) => match engine.handle(peer, req).await {
                Ok(v) => protocol::encode_ok(v),
                Err(e) => protocol::encode_error(&e),
            },
            Err(e) => {
                tracing::warn!(user = %peer.user, uid = ?peer.uid, "bad request on the service endpoint: {e}");
                let code = if matches!(e, ProtocolError::Version { .. }) {
                    "version"
                } else {
                    "bad_request"
                };
                let _ = protocol::write_frame(
                    &mut stream,
                    &protocol::encode_error(&ErrorBody::new(code, e.to_string())),
                )
                .await;
                return;
            }
        };
        if protocol::write_frame(&mut stream, &answer).await.is_err() {
            return;
        }
    }
}
