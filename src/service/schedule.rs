// placeholder until freshness lands
//! When the service refreshes and checks next (placeholder with the agreed interface; the
//! `freshness` branch replaces this file).

use std::time::{Duration, SystemTime};

/// The service's timing settings.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Refresh this long before expiry.
    pub refresh_ahead: Duration,
    /// Check each account this often.
    pub check_every: Duration,
    /// First retry delay after a failure.
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

/// What the service knows about one account's timing.
#[derive(Debug, Clone, Default)]
pub struct AccountClock {
    /// When the access token expires.
    pub expires_at: Option<SystemTime>,
    /// When the account was last checked.
    pub last_check: Option<SystemTime>,
    /// Failures in a row.
    pub failures: u32,
    /// The last refresh attempt.
    pub last_attempt: Option<SystemTime>,
    /// Only a new sign-in helps.
    pub needs_reauthorization: bool,
}

/// What is due for one account now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Refresh the access token.
    Refresh,
    /// Run the account's check.
    Check,
    /// Nothing.
    Nothing,
}

fn refresh_at(clock: &AccountClock, policy: &Policy) -> Option<SystemTime> {
    if clock.needs_reauthorization {
        return None;
    }
    let at = clock.expires_at?.checked_sub(policy.refresh_ahead)?;
    match (clock.failures, clock.last_attempt) {
        (0, _) | (_, None) => Some(at),
        (n, Some(last)) => Some(at.max(last + backoff(n, policy))),
    }
}

/// What is due for `clock` at `now`.
pub fn due(now: SystemTime, clock: &AccountClock, policy: &Policy) -> Due {
    match refresh_at(clock, policy) {
        Some(at) if at <= now => Due::Refresh,
        _ => Due::Nothing,
    }
}

/// The earliest time anything is due.
pub fn next_wake(_now: SystemTime, clocks: &[AccountClock], policy: &Policy) -> Option<SystemTime> {
    clocks.iter().filter_map(|c| refresh_at(c, policy)).min()
}

/// The delay before retry number `failures`.
pub fn backoff(failures: u32, policy: &Policy) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    (policy.backoff_min * factor).min(policy.backoff_max)
}
