//! A store view for forced refreshes.

use super::{StoreError, StoreLock, TokenSet, TokenStore};

/// A view of a store in which the stored access token counts as expired, so the core's
/// refresh ([`crate::oauth::refresh_if_needed`]) refreshes now: for refreshes ahead of expiry,
/// forced refreshes and rejected tokens. Saves go to the store itself.
pub struct Expired<'a>(pub &'a dyn TokenStore);

impl TokenStore for Expired<'_> {
    fn load(&self, account: &str) -> Result<Option<TokenSet>, StoreError> {
        Ok(self.0.load(account)?.map(|mut t| {
            t.expires_at = Some(0);
            t
        }))
    }
    fn save(&self, account: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        self.0.save(account, tokens)
    }
    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.0.delete(account)
    }
    fn lock(&self, account: &str) -> Result<StoreLock, StoreError> {
        self.0.lock(account)
    }
    fn try_lock(&self, account: &str) -> Result<Option<StoreLock>, StoreError> {
        self.0.try_lock(account)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn lock_location(&self, account: &str) -> String {
        self.0.lock_location(account)
    }
}
