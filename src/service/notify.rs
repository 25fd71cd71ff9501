// placeholder until freshness lands
//! Telling the admin about state changes (placeholder with the agreed interface; the
//! `freshness` branch replaces this file).

use std::collections::BTreeMap;

/// An account's state as the admin is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// Works.
    Ok,
    /// Only a new sign-in helps.
    NeedsReauthorization,
    /// Refreshes fail for another reason.
    Failing,
    /// Something ends soon.
    ExpiresSoon {
        /// What ends.
        what: String,
        /// When.
        on: String,
    },
}

impl AccountState {
    fn key(&self) -> String {
        match self {
            AccountState::Ok => "ok".into(),
            AccountState::NeedsReauthorization => "needs_reauthorization".into(),
            AccountState::Failing => "failing".into(),
            AccountState::ExpiresSoon { what, on } => format!("expires_soon:{what}:{on}"),
        }
    }
}

/// One observation of an account.
pub struct Event<'a> {
    /// The account's name.
    pub account: &'a str,
    /// Its mailbox.
    pub mailbox: &'a str,
    /// Its state.
    pub state: &'a AccountState,
    /// The diagnosis id, if any.
    pub diagnosis: Option<&'a str>,
    /// One scrubbed line.
    pub detail: &'a str,
}

/// Notifies once per state change.
pub struct Notifier {
    _hook: Option<String>,
    last: BTreeMap<String, String>,
}

impl Notifier {
    /// A notifier running `hook`, knowing the states already notified.
    pub fn new(hook: Option<String>, last: BTreeMap<String, String>) -> Self {
        Notifier { _hook: hook, last }
    }

    /// Logs when the account's state differs from the last one notified.
    pub fn observe(&mut self, event: &Event) -> bool {
        let key = event.state.key();
        if self.last.get(event.account) == Some(&key) {
            return false;
        }
        tracing::warn!(account = event.account, mailbox = event.mailbox, state = %key, "account state changed: {}", event.detail);
        self.last.insert(event.account.to_string(), key);
        true
    }

    /// The states notified, to persist.
    pub fn last_states(&self) -> &BTreeMap<String, String> {
        &self.last
    }
}
