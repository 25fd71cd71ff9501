//! One process-wide "stop now" for the service, whoever asks: SIGTERM/SIGINT on Unix, the
//! Service Control Manager's Stop/Shutdown on Windows (src/service/windows/dispatcher.rs), Ctrl+C
//! in console mode. The service's run loop waits on [`token`]`().cancelled()` beside its work and,
//! once it fires, finishes a refresh in flight, saves and returns, so every platform stops the
//! same way.

use std::sync::OnceLock;
use tokio_util::sync::CancellationToken;

fn cell() -> &'static CancellationToken {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    TOKEN.get_or_init(CancellationToken::new)
}

/// The token the service's loops watch; cancelled once a stop was asked for.
pub fn token() -> CancellationToken {
    cell().clone()
}

/// Asks the service to stop (idempotent; safe from any thread, including the SCM's handler).
pub fn request() {
    cell().cancel();
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    cell().is_cancelled()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_request_reaches_every_clone_of_the_token() {
        let seen = super::token();
        assert!(!seen.is_cancelled());
        super::request();
        assert!(seen.is_cancelled() && super::requested());
        super::request();
        assert!(super::token().is_cancelled());
    }
}
