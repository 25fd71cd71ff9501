//! A store in this process's memory only: a sign-in's tokens on their way into the mailoauth
//! service (the wizard's and `mailoauth setup`/`reauthorize`'s hand-over). Nothing reaches a
//! disk, so a process killed between the sign-in and the hand-over leaves no token behind.

use super::{StoreError, StoreLock, TokenSet, TokenStore};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Tokens per account in memory; clones share the same tokens (and locks).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tokens: Arc<Mutex<HashMap<String, TokenSet>>>,
    held: Arc<Mutex<HashSet<String>>>,
}

/// An in-process hold on one account of a [`MemoryStore`], released on drop.
#[derive(Debug)]
pub(crate) struct MemoryHold {
    held: Arc<Mutex<HashSet<String>>>,
    account: String,
}

impl Drop for MemoryHold {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.account);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned())
    }

    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_string(), tokens.clone());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
        Ok(())
    }

    fn lock(&self, account: &str) -> Result<StoreLock, StoreError> {
        let started = std::time::Instant::now();
        loop {
            if let Some(l) = self.try_lock(account)? {
                return Ok(l);
            }
            if started.elapsed() > super::lock_wait() {
                return Err(StoreError::LockTimeout {
                    path: self.lock_location(account),
                    detail: format!(
                        "another task of this process held it for {} s",
                        started.elapsed().as_secs()
                    ),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn try_lock(&self, account: &str) -> Result<Option<StoreLock>, StoreError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(account.to_string()) {
            return Ok(None);
        }
        Ok(Some(StoreLock::memory(MemoryHold {
            held: self.held.clone(),
            account: account.to_string(),
        })))
    }

    fn describe(&self) -> String {
        String::from("memory of this process (on its way to the mailoauth service)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_tokens_and_locks() {
        let a = MemoryStore::new();
        let b = a.clone();
        let t = TokenSet::from_json(r#"{"accessToken":"x","obtainedAt":1}"#).unwrap();
        a.save("m@example.org", &t).unwrap();
        assert!(b.load("m@example.org").unwrap().is_some());
        let held = b.try_lock("m@example.org").unwrap().expect("free");
        assert!(a.try_lock("m@example.org").unwrap().is_none());
        assert!(a.try_lock("other@example.org").unwrap().is_some());
        drop(held);
        assert!(a.try_lock("m@example.org").unwrap().is_some());
        a.delete("m@example.org").unwrap();
        assert!(b.load("m@example.org").unwrap().is_none());
    }
}
