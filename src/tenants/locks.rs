//! One async lock per company: work on one company runs one at a time, and no other company waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::OwnedMutexGuard;

type Locks = HashMap<String, Arc<tokio::sync::Mutex<()>>>;

/// A lock per company id, made on first use and dropped when its last holder or waiter is done. Cheap to clone
/// (clones share the locks).
#[derive(Clone, Default)]
pub struct CompanyLocks(Arc<Mutex<Locks>>);

/// Holds a company's lock; the company's next waiter goes on when it is dropped.
pub struct CompanyGuard {
    guard: OwnedMutexGuard<()>,
    company_id: String,
    locks: CompanyLocks,
}

impl CompanyLocks {
    /// Waits for the work holding this company's lock to finish; the caller's work runs while the guard lives.
    pub async fn lock(&self, company_id: &str) -> CompanyGuard {
        let lock = self.map().entry(company_id.to_owned()).or_default().clone();
        CompanyGuard {
            guard: lock.lock_owned().await,
            company_id: company_id.to_owned(),
            locks: self.clone(),
        }
    }

    fn map(&self) -> MutexGuard<'_, Locks> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many companies have a lock (held or waited for).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }
}

impl Drop for CompanyGuard {
    /// Forgets the lock when nobody waits for it (only the map and this guard refer to it; a new waiter takes its
    /// reference under the map's lock), then releases it.
    fn drop(&mut self) {
        let mut map = self.locks.map();
        if Arc::strong_count(OwnedMutexGuard::mutex(&self.guard)) == 2 {
            map.remove(&self.company_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Work on one company waits for the work before it, another company's does not, and a lock nobody holds or
    /// waits for is forgotten.
    #[tokio::test]
    async fn one_company_at_a_time_and_no_lock_is_kept_once_free() {
        let locks = CompanyLocks::default();
        let first = locks.lock("a").await;
        let other = tokio::time::timeout(Duration::from_millis(200), locks.lock("b")).await;
        assert!(other.is_ok(), "another company does not wait");
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move { locks.lock("a").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the same company waits");
        drop(first);
        let second = waiting.await.unwrap();
        drop(other);
        assert_eq!(locks.len(), 1, "b is forgotten when its guard goes; a is held");
        drop(second);
        assert_eq!(locks.len(), 0);
    }
}
