//! One async lock per company: work on one company runs one at a time, and no other company waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

/// A lock per company id, made on first use. Cheap to clone (clones share the locks).
#[derive(Clone, Default)]
pub struct CompanyLocks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl CompanyLocks {
    /// Waits for the work holding this company's lock to finish; the caller's work runs while the guard lives.
    pub async fn lock(&self, company_id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            locks.entry(company_id.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}
