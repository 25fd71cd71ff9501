//! The connection under a probe: plain TCP or TLS, with a tap on what the server sent.
//!
//! Errors must carry the server's own lines, but `lettre` and `async-imap` turn replies into
//! their own error strings. The tap records every byte the server sends (never what we write,
//! so the token is not in it) and the probe cuts out the lines since the command that failed.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Most server bytes kept in the tap; older bytes are dropped (long EXAMINE answers, banners).
const TAP_LIMIT: usize = 64 * 1024;
/// Longest line the probe reads itself before giving up on the server.
const MAX_LINE: usize = 8 * 1024;

/// What the server sent, with a mark where the current command began.
#[derive(Default)]
struct Tap {
    bytes: Vec<u8>,
    mark: usize,
}

/// A shared handle on the tap, kept after the stream itself went into `lettre` or `async-imap`.
#[derive(Clone, Default)]
pub(crate) struct TapHandle(Arc<Mutex<Tap>>);

impl TapHandle {
    fn record(&self, data: &[u8]) {
        if let Ok(mut t) = self.0.lock() {
            t.bytes.extend_from_slice(data);
            if t.bytes.len() > TAP_LIMIT {
                let cut = t.bytes.len() - TAP_LIMIT;
                t.bytes.drain(..cut);
                t.mark = t.mark.saturating_sub(cut);
            }
        }
    }

    /// Starts a new command: later errors quote only what the server sent from here on.
    pub(crate) fn mark(&self) {
        if let Ok(mut t) = self.0.lock() {
            t.mark = t.bytes.len();
        }
    }

    /// The server's lines since the last mark, trimmed.
    pub(crate) fn since_mark(&self) -> String {
        match self.0.lock() {
            Ok(t) => String::from_utf8_lossy(&t.bytes[t.mark.min(t.bytes.len())..])
                .replace("\r\n", "\n")
                .trim()
                .to_string(),
            Err(_) => String::new(),
        }
    }
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while a STARTTLS upgrade holds the TCP stream.
    Gone,
}

/// A mail connection: TCP, optionally upgraded to TLS, that records what the server sends.
pub(crate) struct MailStream {
    inner: Inner,
    peer: SocketAddr,
    /// Bytes read but not yet consumed (after a line read, or a greeting given back).
    pending: Vec<u8>,
    tap: TapHandle,
}

impl fmt::Debug for MailStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailStream")
            .field("peer", &self.peer)
            .field("tls", &matches!(self.inner, Inner::Tls(_)))
            .finish()
    }
}

impl MailStream {
    /// Wraps a connected TCP stream.
    pub(crate) fn plain(tcp: TcpStream, peer: SocketAddr) -> Self {
        Self {
            inner: Inner::Plain(tcp),
            peer,
            pending: Vec::new(),
            tap: TapHandle::default(),
        }
    }

    /// The tap, to quote the server after the stream was handed on.
    pub(crate) fn tap(&self) -> TapHandle {
        self.tap.clone()
    }

    /// Takes the TCP stream out for a TLS handshake; [`MailStream::set_tls`] puts TLS back.
    pub(crate) fn take_tcp(&mut self) -> Option<TcpStream> {
        match std::mem::replace(&mut self.inner, Inner::Gone) {
            Inner::Plain(tcp) => Some(tcp),
            other => {
                self.inner = other;
                None
            }
        }
    }

    /// Continues over TLS; anything the server sent in clear before is dropped, as STARTTLS requires.
    pub(crate) fn set_tls(&mut self, tls: TlsStream<TcpStream>) {
        self.pending.clear();
        self.inner = Inner::Tls(Box::new(tls));
    }

    /// Makes `data` the next bytes read, so a library that expects a greeting reads the one the
    /// probe already consumed.
    pub(crate) fn unread(&mut self, data: &[u8]) {
        let mut v = data.to_vec();
        v.extend_from_slice(&self.pending);
        self.pending = v;
    }

    /// Reads one line (through `\n`), without its line end.
    pub(crate) async fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            if self.pending.len() > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server sent a line longer than 8 KB",
                ));
            }
            let mut buf = [0u8; 4096];
            let n = self.read_inner(&mut buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    async fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Inner::Plain(s) => s.read(buf).await?,
            Inner::Tls(s) => s.read(buf).await?,
            Inner::Gone => return Err(io::Error::other("connection used during TLS upgrade")),
        };
        self.tap.record(&buf[..n]);
        Ok(n)
    }

    /// Writes one command line; `\r\n` is added.
    pub(crate) async fn write_line(&mut self, line: &str) -> io::Result<()> {
        let data = format!("{line}\r\n");
        match &mut self.inner {
            Inner::Plain(s) => s.write_all(data.as_bytes()).await?,
            Inner::Tls(s) => s.write_all(data.as_bytes()).await?,
            Inner::Gone => return Err(io::Error::other("connection used during TLS upgrade")),
        }
        Ok(())
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.pending.is_empty() {
            let n = me.pending.len().min(buf.remaining());
            buf.put_slice(&me.pending[..n]);
            me.pending.drain(..n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let res = match &mut me.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Inner::Gone => Poll::Ready(Err(io::Error::other("connection used during TLS upgrade"))),
        };
        if let Poll::Ready(Ok(())) = res {
            me.tap.record(&buf.filled()[before..]);
        }
        res
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, data),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
            Inner::Gone => Poll::Ready(Err(io::Error::other("connection used during TLS upgrade"))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Inner::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Inner::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for MailStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}
