//! Termination signals held while a rotated refresh token exists only in memory.
//!
//! At a provider that rotates refresh tokens strictly (Google for some clients, Okta, Auth0,
//! oidc-provider's public clients: replaying a rotated token revokes the whole grant), the new
//! refresh token lives only in the token endpoint's reply until it is saved. A `mailoauth token`
//! stopped in that window (a service stop, a `passwordeval` time-out, Ctrl+C) loses the grant.
//!
//! A program that opts in with [`hold_termination_signals`] (the `token` command does, at its
//! start) keeps the default action of SIGTERM, SIGINT and SIGHUP everywhere except inside a
//! [`Hold`], which the refresh takes from just before it sends the refresh request until the new
//! tokens are saved. A signal that arrives inside is remembered and its default action runs when
//! the hold ends, so the process still ends by that signal (exit status and all), only after the
//! save, and before it prints anything. The hold lasts at most the token request's own time-out
//! (30 s, `MAILOAUTH_HTTP_TIMEOUT_SECS`) plus the save. SIGKILL cannot be held: see docs/SECURITY.md.
//!
//! The library never installs anything by itself: the app and the tests keep their own signal
//! handling. Signals ignored when the program started (`nohup`, a service manager's setting) stay
//! ignored. On Windows this is a no-op (console control events are not POSIX signals).

/// Installs the handlers that make [`Hold`] effective in this process; call once, early. Without
/// it every [`Hold`] is a no-op.
pub fn hold_termination_signals() -> std::io::Result<()> {
    imp::install()
}

/// While alive, SIGTERM/SIGINT/SIGHUP are remembered instead of acted on (when installed).
#[must_use = "the signals are held only while the Hold lives"]
pub struct Hold {
    active: bool,
}

/// Starts holding termination signals until the returned [`Hold`] is dropped.
pub fn hold() -> Hold {
    Hold {
        active: imp::begin(),
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.active {
            imp::end();
        }
    }
}

#[cfg(unix)]
mod imp {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock};

    struct Installed {
        /// True outside a hold: a signal runs its default action at once.
        free: Arc<AtomicBool>,
        /// The last held signal's number, 0 for none.
        pending: Arc<AtomicUsize>,
    }

    static INSTALLED: OnceLock<Installed> = OnceLock::new();

    /// True when `sig` was ignored (SIG_IGN) when the program started.
    fn ignored(sig: libc::c_int) -> bool {
        // signal-hook has no way to read a disposition; reading one (a null new action) changes
        // nothing.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
        rc == 0 && old.sa_sigaction == libc::SIG_IGN
    }

    pub fn install() -> std::io::Result<()> {
        if INSTALLED.get().is_some() {
            return Ok(());
        }
        let free = Arc::new(AtomicBool::new(true));
        let pending = Arc::new(AtomicUsize::new(0));
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            if ignored(sig) {
                continue;
            }
            // Order matters: remember the signal first, then act on it unless held.
            signal_hook::flag::register_usize(sig, pending.clone(), sig as usize)?;
            signal_hook::flag::register_conditional_default(sig, free.clone())?;
        }
        let _ = INSTALLED.set(Installed { free, pending });
        Ok(())
    }

    pub fn begin() -> bool {
        match INSTALLED.get() {
            Some(i) => {
                i.pending.store(0, Ordering::SeqCst);
                i.free.store(false, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    pub fn end() {
        let Some(i) = INSTALLED.get() else { return };
        // Free first, then look: a signal after this line acts at once by itself, one before it
        // is in `pending`.
        i.free.store(true, Ordering::SeqCst);
        let sig = i.pending.swap(0, Ordering::SeqCst);
        if sig != 0 {
            tracing::info!(
                signal = sig,
                "termination signal held until the new tokens were saved; acting on it now"
            );
            let _ = signal_hook::low_level::emulate_default_handler(sig as libc::c_int);
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn install() -> std::io::Result<()> {
        Ok(())
    }
    pub fn begin() -> bool {
        false
    }
    pub fn end() {}
}
