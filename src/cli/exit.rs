//! Exit statuses of the CLI: `sysexits.h` where it has a meaning, and one status of mailoauth's
//! own for "an admin must sign in again", so that a mail service (or the script around it) can
//! tell "try again later" from "stop and call an admin" without reading messages.
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | any other failure (the message says what) |
//! | 64 `EX_USAGE` | a value on the command line cannot be used |
//! | 67 `EX_NOUSER` | no account of that name in the config |
//! | 69 `EX_UNAVAILABLE` | the mailoauth service is not running and holds this account (no valid cached token) |
//! | 75 `EX_TEMPFAIL` | temporary: the provider or the network, or a busy store; try again later |
//! | 77 `EX_NOPERM` | the mailoauth service refused: this user is not among the account's readers |
//! | 78 `EX_CONFIG` | the config file cannot be used (missing, damaged, invalid) |
//! | 80 | the account must sign in again (`mailoauth` cannot fix this alone) |

use mailoauth::account::TokenFailure;
use std::process::ExitCode;

/// A value on the command line cannot be used (sysexits.h).
pub const EX_USAGE: u8 = 64;
/// No account of that name (sysexits.h: "addressee unknown").
pub const EX_NOUSER: u8 = 67;
/// The mailoauth service holds the account and is not running (sysexits.h: service unavailable).
pub const EX_UNAVAILABLE: u8 = 69;
/// The mailoauth service refused the request (sysexits.h: permission denied).
pub const EX_NOPERM: u8 = 77;
/// Temporary failure: try again later (sysexits.h).
pub const EX_TEMPFAIL: u8 = 75;
/// The configuration cannot be used (sysexits.h).
pub const EX_CONFIG: u8 = 78;
/// mailoauth's own: an admin must sign in again (re-authorize the account). Outside the
/// `sysexits.h` range and neither 1 nor clap's usage status 2, so nothing else means it.
pub const NEEDS_REAUTHORIZATION: u8 = 80;

/// The exit status of a failed token request (also `check`'s, while it gets the token).
pub fn token_status(failure: TokenFailure) -> u8 {
    match failure {
        TokenFailure::Temporary => EX_TEMPFAIL,
        TokenFailure::NeedsReauthorization => NEEDS_REAUTHORIZATION,
        TokenFailure::UnknownAccount => EX_NOUSER,
        TokenFailure::Config => EX_CONFIG,
        TokenFailure::Other => 1,
    }
}

/// [`token_status`] as the process's exit code.
pub fn for_token(failure: TokenFailure) -> ExitCode {
    ExitCode::from(token_status(failure))
}

/// What `--help` of `token`, `check` and `status` says about exit statuses.
pub const HELP: &str = "Exit status: 0 success; 64 a value on the command line cannot be used; 67 no account of that name; \
69 the mailoauth service holds the account and is not running; \
75 temporary failure (network, provider, busy store, a service that does not answer: try again later); \
77 the mailoauth service refused (not among the account's readers); 78 the config file cannot be used; \
80 the account must sign in again (an admin must re-authorize it); 1 any other failure.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_of_the_table_is_in_the_help() {
        for code in [
            EX_USAGE,
            EX_NOUSER,
            EX_UNAVAILABLE,
            EX_TEMPFAIL,
            EX_NOPERM,
            EX_CONFIG,
            NEEDS_REAUTHORIZATION,
        ] {
            assert!(HELP.contains(&format!("{code} ")), "{code}: {HELP}");
        }
        // The one status of mailoauth's own is neither the generic failure nor clap's usage
        // status, and outside sysexits.h (64-78).
        assert!(![1, 2].contains(&NEEDS_REAUTHORIZATION) && NEEDS_REAUTHORIZATION > 78);
    }
}
