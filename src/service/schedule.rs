//! When the service next does something for an account: refresh ahead of expiry, run the
//! scheduled check, retry with backoff after a failure, and nothing for an account that needs
//! re-authorization.
//!
//! Pure functions of wall-clock times, with `now` passed in: no I/O, no sleeping. The engine
//! sleeps until `min(next_wake, now + 60 s)` and calls [`due`] with a freshly read
//! [`SystemTime::now`] on every wake. Comparing wall-clock times (never a monotonic deadline
//! computed before the sleep) is what makes the schedule survive a suspend and a clock jump:
//!
//! - **Forward** (suspend, resume, or the clock set ahead): whatever came due during the gap is
//!   overdue at the next wake, and each account's refresh or check runs **once**, because each
//!   rule compares against one recorded time (the last attempt, the last check), not a count of
//!   missed periods.
//! - **Backward** (the clock set back): a recorded time now lies in the future. Nothing measured
//!   from it can be trusted, neither the token's wall-clock expiry (computed from the old clock)
//!   nor the wait since the last check, so the action is due at once; once done it records the
//!   new `now` and the schedule is consistent again. Waiting instead could starve an account for
//!   as long as the clock went back (a day set back would mean a day without refresh).

use std::time::{Duration, SystemTime};

/// How far ahead of expiry, how often, and how patiently the service works; from the
/// `[service]` table of the machine config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Refresh this long before the access token expires (`refresh_ahead_secs`).
    pub refresh_ahead: Duration,
    /// Run each account's check this often (`check_every_secs`).
    pub check_every: Duration,
    /// The first retry after a failure waits this long; it is also the shortest time between
    /// two refreshes of one account, so a token that lives shorter than `refresh_ahead` is not
    /// refreshed in a tight loop.
    pub backoff_min: Duration,
    /// Retries never wait longer than this.
    pub backoff_max: Duration,
}

/// Default of `refresh_ahead_secs`: ten minutes.
pub const DEFAULT_REFRESH_AHEAD_SECS: u64 = 600;
/// Default of `check_every_secs`: four hours.
pub const DEFAULT_CHECK_EVERY_SECS: u64 = 4 * 3600;
/// The first retry after a failure, in seconds.
pub const DEFAULT_BACKOFF_MIN_SECS: u64 = 30;
/// The longest wait between retries, in seconds: one hour.
pub const DEFAULT_BACKOFF_MAX_SECS: u64 = 3600;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            refresh_ahead: Duration::from_secs(DEFAULT_REFRESH_AHEAD_SECS),
            check_every: Duration::from_secs(DEFAULT_CHECK_EVERY_SECS),
            backoff_min: Duration::from_secs(DEFAULT_BACKOFF_MIN_SECS),
            backoff_max: Duration::from_secs(DEFAULT_BACKOFF_MAX_SECS),
        }
    }
}

impl Policy {
    /// The policy of the `[service]` keys `refresh_ahead_secs` and `check_every_secs`, with the
    /// default backoff.
    pub fn from_secs(refresh_ahead_secs: u64, check_every_secs: u64) -> Policy {
        Policy {
            refresh_ahead: Duration::from_secs(refresh_ahead_secs),
            check_every: Duration::from_secs(check_every_secs),
            ..Policy::default()
        }
    }
}

/// What the engine knows about one account's timing (kept in the service state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountClock {
    /// When the held access token expires; `None` when the provider did not say (the check then
    /// drives the refreshes).
    pub expires_at: Option<SystemTime>,
    /// When the account's check last ran.
    pub last_check: Option<SystemTime>,
    /// Failed refresh attempts since the last success (transient failures: network, 5xx,
    /// `temporarily_unavailable`); 0 after a success.
    pub failures: u32,
    /// When a refresh (or the refresh of a check) was last attempted, successful or not.
    pub last_attempt: Option<SystemTime>,
    /// Only signing in again helps; cleared by the engine when new tokens arrive (`put_tokens`).
    pub needs_reauthorization: bool,
}

/// What [`due`] says to do for an account now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Refresh the access token.
    Refresh,
    /// Run the account's check (which starts with a refresh, so a due refresh is covered).
    Check,
    /// Nothing yet.
    Nothing,
}

/// `t + d`, or far in the future when that does not fit (a huge configured interval).
fn later(t: SystemTime, d: Duration) -> SystemTime {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    t.checked_add(d)
        .or_else(|| t.checked_add(CENTURY))
        .unwrap_or(t)
}

/// `t - d`, or the earliest time representable (a huge `refresh_ahead` means "now").
fn earlier(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The wait before retry number `failures` (1 = the first retry): `backoff_min` doubled per
/// further failure, capped at `backoff_max`; zero without failures. No jitter: a machine has a
/// handful of accounts, and a deterministic schedule is one the tests and the admin can predict.
pub fn backoff(failures: u32, policy: &Policy) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = failures.saturating_sub(1).min(31);
    policy
        .backoff_min
        .saturating_mul(1u32 << doublings)
        .min(policy.backoff_max)
        .max(policy.backoff_min.min(policy.backoff_max))
}

/// When the account's next refresh is due (possibly already past); `None` for an account that
/// needs re-authorization, or whose token has no known expiry and no failure to retry.
pub fn refresh_at(now: SystemTime, clock: &AccountClock, policy: &Policy) -> Option<SystemTime> {
    if clock.needs_reauthorization {
        return None;
    }
    if clock.last_attempt.is_some_and(|a| a > now) {
        // The clock went back: the wall-clock expiry came from the old clock. Refresh once.
        return Some(now);
    }
    if clock.failures > 0 {
        return Some(
            clock
                .last_attempt
                .map_or(now, |a| later(a, backoff(clock.failures, policy))),
        );
    }
    let expires = clock.expires_at?;
    let mut at = earlier(expires, policy.refresh_ahead);
    if let Some(a) = clock.last_attempt {
        // Not sooner than backoff_min after the last refresh, unless the token expires first.
        at = at.max(later(a, policy.backoff_min).min(expires));
    }
    Some(at)
}

/// When the account's next check is due (possibly already past); `None` for an account that
/// needs re-authorization. Never checked, or a last check "in the future" (the clock went back):
/// due now.
pub fn check_at(now: SystemTime, clock: &AccountClock, policy: &Policy) -> Option<SystemTime> {
    if clock.needs_reauthorization {
        return None;
    }
    Some(match clock.last_check {
        Some(last) if last <= now => later(last, policy.check_every),
        _ => now,
    })
}

/// What to do for the account at `now`.
///
/// - Needs re-authorization: [`Due::Nothing`], until the engine clears the flag with new tokens.
/// - After failures: nothing until the backoff has passed (a check would refresh too, so the
///   backoff holds it as well), then the retry.
/// - A due check wins over a due refresh, since the check begins with a refresh: a wake that
///   finds both overdue does the refresh once.
pub fn due(now: SystemTime, clock: &AccountClock, policy: &Policy) -> Due {
    if clock.needs_reauthorization {
        return Due::Nothing;
    }
    let refresh_due = refresh_at(now, clock, policy).is_some_and(|t| t <= now);
    let check_due = check_at(now, clock, policy).is_some_and(|t| t <= now);
    if clock.failures > 0 && !refresh_due {
        Due::Nothing
    } else if check_due {
        Due::Check
    } else if refresh_due {
        Due::Refresh
    } else {
        Due::Nothing
    }
}

/// When the engine should next wake for this account: `None` when nothing is scheduled.
fn wake_for(now: SystemTime, clock: &AccountClock, policy: &Policy) -> Option<SystemTime> {
    if clock.needs_reauthorization {
        return None;
    }
    let refresh = refresh_at(now, clock, policy);
    if clock.failures > 0 {
        // The backoff holds the check too.
        return refresh;
    }
    match (refresh, check_at(now, clock, policy)) {
        (Some(r), Some(c)) => Some(r.min(c)),
        (r, c) => r.or(c),
    }
}

/// The earliest time any account has something due, never before `now` (an overdue account
/// gives `now`); `None` when no account has anything scheduled (all need re-authorization, or
/// there are none). The engine still wakes at least every 60 s to re-read the wall clock.
pub fn next_wake(now: SystemTime, clocks: &[AccountClock], policy: &Policy) -> Option<SystemTime> {
    clocks
        .iter()
        .filter_map(|c| wake_for(now, c, policy))
        .min()
        .map(|t| t.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_900_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn policy() -> Policy {
        Policy {
            refresh_ahead: Duration::from_secs(600),
            check_every: Duration::from_secs(14_400),
            backoff_min: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
        }
    }

    #[test]
    fn the_config_keys_make_the_policy() {
        assert_eq!(
            Policy::from_secs(DEFAULT_REFRESH_AHEAD_SECS, DEFAULT_CHECK_EVERY_SECS),
            Policy::default()
        );
        let p = Policy::from_secs(5, 60);
        assert_eq!(p.refresh_ahead, Duration::from_secs(5));
        assert_eq!(p.check_every, Duration::from_secs(60));
        assert_eq!(p.backoff_min, Duration::from_secs(DEFAULT_BACKOFF_MIN_SECS));
    }

    /// Just refreshed and checked at T0, token valid for an hour.
    fn fresh() -> AccountClock {
        AccountClock {
            expires_at: Some(at(T0 + 3600)),
            last_check: Some(at(T0)),
            failures: 0,
            last_attempt: Some(at(T0)),
            needs_reauthorization: false,
        }
    }

    #[test]
    fn refresh_is_due_refresh_ahead_before_expiry() {
        let p = policy();
        let c = fresh();
        assert_eq!(due(at(T0 + 10), &c, &p), Due::Nothing);
        assert_eq!(due(at(T0 + 2999), &c, &p), Due::Nothing);
        assert_eq!(due(at(T0 + 3000), &c, &p), Due::Refresh);
        assert_eq!(refresh_at(at(T0), &c, &p), Some(at(T0 + 3000)));
        assert_eq!(next_wake(at(T0 + 10), &[c], &p), Some(at(T0 + 3000)));
    }

    #[test]
    fn a_token_shorter_than_the_window_is_not_refreshed_in_a_loop() {
        let p = policy();
        // Lives 300 s, less than refresh_ahead: refresh backoff_min after the last one.
        let c = AccountClock {
            expires_at: Some(at(T0 + 300)),
            ..fresh()
        };
        assert_eq!(due(at(T0), &c, &p), Due::Nothing);
        assert_eq!(refresh_at(at(T0), &c, &p), Some(at(T0 + 30)));
        // Lives 10 s, less than backoff_min: at expiry at the latest.
        let c = AccountClock {
            expires_at: Some(at(T0 + 10)),
            ..fresh()
        };
        assert_eq!(refresh_at(at(T0), &c, &p), Some(at(T0 + 10)));
    }

    #[test]
    fn check_is_due_check_every_after_the_last_and_at_once_if_never() {
        let p = policy();
        let c = AccountClock {
            expires_at: Some(at(T0 + 86_400)),
            ..fresh()
        };
        assert_eq!(due(at(T0 + 14_399), &c, &p), Due::Nothing);
        assert_eq!(due(at(T0 + 14_400), &c, &p), Due::Check);
        let never = AccountClock {
            last_check: None,
            ..c
        };
        assert_eq!(due(at(T0 + 1), &never, &p), Due::Check);
    }

    #[test]
    fn a_due_check_covers_a_due_refresh() {
        let p = policy();
        let c = fresh();
        // Both overdue: one check (which refreshes first), not a refresh and then a check.
        assert_eq!(due(at(T0 + 20_000), &c, &p), Due::Check);
    }

    #[test]
    fn a_token_without_expiry_is_refreshed_by_the_check_only() {
        let p = policy();
        let c = AccountClock {
            expires_at: None,
            ..fresh()
        };
        assert_eq!(refresh_at(at(T0), &c, &p), None);
        assert_eq!(due(at(T0 + 5000), &c, &p), Due::Nothing);
        assert_eq!(next_wake(at(T0), &[c], &p), Some(at(T0 + 14_400)));
    }

    #[test]
    fn backoff_doubles_from_min_and_stops_at_max() {
        let p = policy();
        let secs = |n| backoff(n, &p).as_secs();
        assert_eq!(secs(0), 0);
        assert_eq!(secs(1), 30);
        assert_eq!(secs(2), 60);
        assert_eq!(secs(3), 120);
        assert_eq!(secs(7), 1920);
        assert_eq!(secs(8), 3600);
        assert_eq!(secs(40), 3600);
        assert_eq!(secs(u32::MAX), 3600);
        // A misconfigured max below min: min wins, never zero.
        let odd = Policy {
            backoff_max: Duration::from_secs(10),
            ..p
        };
        assert_eq!(backoff(5, &odd).as_secs(), 10);
    }

    #[test]
    fn failures_wait_for_the_backoff_and_hold_the_check_too() {
        let p = policy();
        let c = AccountClock {
            failures: 3,
            last_attempt: Some(at(T0 + 100)),
            // The check is long overdue, yet the backoff holds it.
            last_check: Some(at(T0 - 100_000)),
            ..fresh()
        };
        assert_eq!(due(at(T0 + 219), &c, &p), Due::Nothing);
        assert_eq!(next_wake(at(T0 + 150), &[c], &p), Some(at(T0 + 220)));
        // At the retry, the overdue check runs (and refreshes first).
        assert_eq!(due(at(T0 + 220), &c, &p), Due::Check);
        let checked = AccountClock {
            last_check: Some(at(T0)),
            ..c
        };
        assert_eq!(due(at(T0 + 220), &checked, &p), Due::Refresh);
    }

    #[test]
    fn an_account_that_needs_reauthorization_gets_nothing_until_its_tokens_change() {
        let p = policy();
        let c = AccountClock {
            needs_reauthorization: true,
            failures: 9,
            expires_at: Some(at(T0 - 10)),
            last_check: None,
            ..fresh()
        };
        for later in [0, 60, 86_400, 30 * 86_400] {
            assert_eq!(due(at(T0 + later), &c, &p), Due::Nothing);
        }
        assert_eq!(next_wake(at(T0), &[c], &p), None);
        assert_eq!(refresh_at(at(T0), &c, &p), None);
        assert_eq!(check_at(at(T0), &c, &p), None);
        // New tokens: the engine clears the flag and the failures.
        let renewed = AccountClock {
            needs_reauthorization: false,
            failures: 0,
            expires_at: Some(at(T0 + 3600)),
            last_attempt: Some(at(T0)),
            last_check: Some(at(T0)),
        };
        assert_eq!(next_wake(at(T0), &[c, renewed], &p), Some(at(T0 + 3000)));
    }

    #[test]
    fn next_wake_is_the_earliest_over_accounts_and_never_before_now() {
        let p = policy();
        let a = fresh(); // refresh at T0+3000
        let b = AccountClock {
            expires_at: Some(at(T0 + 1200)),
            ..fresh()
        }; // refresh at T0+600
        let c = AccountClock {
            expires_at: Some(at(T0 + 86_400)),
            last_check: Some(at(T0 - 14_000)),
            ..fresh()
        }; // check at T0+400
        assert_eq!(next_wake(at(T0), &[a, b, c], &p), Some(at(T0 + 400)));
        assert_eq!(next_wake(at(T0), &[a, b], &p), Some(at(T0 + 600)));
        // Overdue: now, not a time in the past.
        assert_eq!(
            next_wake(at(T0 + 50_000), &[a, b], &p),
            Some(at(T0 + 50_000))
        );
        assert_eq!(next_wake(at(T0), &[], &p), None);
    }

    /// A suspend of three days (or the clock set ahead): every account with something overdue
    /// does it once at the first wake, and once done nothing more is due.
    #[test]
    fn a_wake_after_a_suspend_does_each_overdue_thing_once() {
        let p = policy();
        let accounts = [
            fresh(),
            AccountClock {
                expires_at: Some(at(T0 + 86_400 * 10)),
                ..fresh()
            },
            AccountClock {
                failures: 2,
                ..fresh()
            },
        ];
        let wake = at(T0 + 3 * 86_400);
        assert_eq!(next_wake(wake, &accounts, &p), Some(wake));
        let mut done = Vec::new();
        let after: Vec<AccountClock> = accounts
            .iter()
            .map(|c| {
                let d = due(wake, c, &p);
                done.push(d);
                // The engine records what it did (all succeed).
                AccountClock {
                    expires_at: Some(later(wake, Duration::from_secs(3600))),
                    last_check: if d == Due::Check {
                        Some(wake)
                    } else {
                        c.last_check
                    },
                    failures: 0,
                    last_attempt: Some(wake),
                    needs_reauthorization: false,
                }
            })
            .collect();
        // Each one's check was overdue: one check each (covering the refresh), not one per
        // missed period.
        assert_eq!(done, [Due::Check, Due::Check, Due::Check]);
        for c in &after {
            assert_eq!(due(wake, c, &p), Due::Nothing);
            assert_eq!(
                due(later(wake, Duration::from_secs(60)), c, &p),
                Due::Nothing
            );
        }
        assert_eq!(
            next_wake(wake, &after, &p),
            Some(later(wake, Duration::from_secs(3000)))
        );
    }

    #[test]
    fn a_clock_jump_forward_past_expiry_refreshes_once() {
        let p = policy();
        let c = AccountClock {
            last_check: Some(at(T0 + 5000)),
            ..fresh()
        };
        let jumped = at(T0 + 7200);
        assert_eq!(due(jumped, &c, &p), Due::Refresh);
        let refreshed = AccountClock {
            expires_at: Some(at(T0 + 7200 + 3600)),
            last_attempt: Some(jumped),
            ..c
        };
        assert_eq!(due(jumped, &refreshed, &p), Due::Nothing);
    }

    /// The clock set back a day: the stored expiry looks a day later than it is, and the last
    /// check looks a day ahead. Waiting for them would starve the account for a day; instead
    /// the refresh and the check run once now and the schedule continues from the new clock.
    #[test]
    fn a_clock_jump_backward_acts_once_and_does_not_starve() {
        let p = policy();
        let c = fresh();
        let back = at(T0 - 86_400 + 100);
        assert_eq!(refresh_at(back, &c, &p), Some(back));
        assert_eq!(check_at(back, &c, &p), Some(back));
        assert_eq!(due(back, &c, &p), Due::Check);
        assert_eq!(next_wake(back, &[c], &p), Some(back));
        // The check ran (with its refresh) at the new `now`.
        let redone = AccountClock {
            expires_at: Some(at(T0 - 86_400 + 100 + 3600)),
            last_check: Some(back),
            last_attempt: Some(back),
            ..c
        };
        assert_eq!(due(back, &redone, &p), Due::Nothing);
        assert_eq!(
            next_wake(back, &[redone], &p),
            Some(at(T0 - 86_400 + 100 + 3000))
        );
        // Only the last attempt in the future (a refresh just before the jump, check older).
        let c = AccountClock {
            last_check: Some(at(T0 - 90_000)),
            ..fresh()
        };
        assert_eq!(due(at(T0 - 86_400), &c, &p), Due::Refresh);
        // A failure retry whose last attempt lies in the future: retry now, not in a day.
        let failing = AccountClock {
            failures: 4,
            last_check: Some(at(T0 - 90_000)),
            ..fresh()
        };
        assert_eq!(due(at(T0 - 86_400), &failing, &p), Due::Refresh);
    }

    #[test]
    fn huge_intervals_do_not_overflow() {
        let p = Policy {
            refresh_ahead: Duration::from_secs(u64::MAX),
            check_every: Duration::from_secs(u64::MAX),
            backoff_min: Duration::from_secs(u64::MAX / 2),
            backoff_max: Duration::MAX,
        };
        let c = fresh();
        // The refresh waits backoff_min (huge) but no longer than the expiry.
        assert_eq!(refresh_at(at(T0 + 1), &c, &p), Some(at(T0 + 3600)));
        assert_eq!(due(at(T0 + 1), &c, &p), Due::Nothing);
        assert!(next_wake(at(T0), &[c], &p).is_some());
        let failing = AccountClock {
            failures: 100,
            ..fresh()
        };
        assert_eq!(due(at(T0 + 1), &failing, &p), Due::Nothing);
    }
}
