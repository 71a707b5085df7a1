//! The registry: company id → running actor. Starts actors lazily on one arbiter per core, replaces dead
//! ones, and lets idle ones stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Arbiter};
use parking_lot::Mutex;

use super::TenantError;
use super::actor::{ActorMap, Stop, TenantActor};
use super::handle::{Indexing, TenantHandle, TenantShared};
use crate::config::TenantSettings;
use crate::store::Store;

/// A running actor and the handle given to requests.
pub(super) struct Entry {
    pub(super) addr: Addr<TenantActor>,
    pub(super) handle: TenantHandle,
    pub(super) generation: u64,
}

/// Finds or starts the actor of a company. Cheap to clone.
#[derive(Clone)]
pub struct TenantRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    map: ActorMap,
    arbiters: Mutex<Vec<Arbiter>>,
    /// Held while a company's actor is being started, so concurrent first requests open its database once (opening
    /// brings its schema up to date, which can move data: see `store::migrate`), and while one is closed.
    opening: super::CompanyLocks,
    /// Companies suspended or deleted while running: no actor is started for them.
    closed: Mutex<std::collections::HashSet<String>>,
    next_arbiter: AtomicUsize,
    generation: AtomicU64,
    /// How many times a company's database was opened for a new actor.
    opened: AtomicU64,
    idle_timeout: Duration,
    sweep_interval: Duration,
    /// `tenants.index_threshold`.
    index_threshold: u64,
    epoch: Instant,
}

impl TenantRegistry {
    /// A registry over `store`; actors stop after `tenants.idle_timeout_secs` without a request.
    #[must_use]
    pub fn new(store: Store, settings: &TenantSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                map: Arc::new(Mutex::new(HashMap::new())),
                arbiters: Mutex::new(Vec::new()),
                opening: super::CompanyLocks::default(),
                closed: Mutex::new(std::collections::HashSet::new()),
                next_arbiter: AtomicUsize::new(0),
                generation: AtomicU64::new(0),
                opened: AtomicU64::new(0),
                idle_timeout: Duration::from_secs(settings.idle_timeout_secs),
                sweep_interval: Duration::from_secs(settings.sweep_interval_secs.min(settings.idle_timeout_secs)),
                index_threshold: settings.index_threshold,
                epoch: Instant::now(),
            }),
        }
    }

    /// The handle of a company's actor, starting one if none runs (or the last one died).
    /// The caller has already checked that the company exists and is active.
    #[tracing::instrument(skip_all, fields(company = %company_id))]
    pub async fn get(&self, company_id: &str) -> Result<TenantHandle, TenantError> {
        if let Some(handle) = self.open_handle(company_id)? {
            return Ok(handle);
        }
        let uuid = uuid::Uuid::parse_str(company_id).map_err(|_| TenantError::Gone)?;
        let _opening = self.inner.opening.lock(company_id).await;
        // Again: closed or started while this request waited (`close` takes the same lock, so from here on it waits
        // for this open).
        if let Some(handle) = self.open_handle(company_id)? {
            return Ok(handle);
        }
        let session = self
            .inner
            .store
            .open_tenant(&crate::domain::company::database_name(&uuid))
            .await?;
        self.inner.opened.fetch_add(1, Ordering::Relaxed);
        let indexed = crate::store::migrate::is_current(&session, &crate::store::migrate::TENANT_INDEXES)
            .await
            .unwrap_or(false);
        let mut map = self.inner.map.lock();
        if let Some(entry) = map.get(company_id).filter(|e| e.handle.is_alive()) {
            return Ok(entry.handle.clone());
        }
        let shared = Arc::new(TenantShared::new(
            company_id.to_owned(),
            session,
            Indexing::new(self.inner.index_threshold, indexed),
        ));
        let last_used = Arc::new(AtomicU64::new(self.now()));
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let epoch = self.inner.epoch;
        let actor = TenantActor {
            shared: shared.clone(),
            last_used: last_used.clone(),
            clock: Arc::new(move || epoch.elapsed().as_secs()),
            idle_timeout: self.inner.idle_timeout,
            sweep_interval: self.inner.sweep_interval,
            map: self.inner.map.clone(),
            generation,
        };
        let addr = TenantActor::start_in_arbiter(&self.arbiter(), move |_| actor);
        let handle = TenantHandle::new(addr.clone(), shared, last_used, self.inner.epoch);
        map.insert(
            company_id.to_owned(),
            Entry {
                addr,
                handle: handle.clone(),
                generation,
            },
        );
        Ok(handle)
    }

    /// `Suspended` for a closed company, else the running actor's handle if there is one.
    fn open_handle(&self, company_id: &str) -> Result<Option<TenantHandle>, TenantError> {
        if self.inner.closed.lock().contains(company_id) {
            return Err(TenantError::Suspended);
        }
        let map = self.inner.map.lock();
        Ok(map.get(company_id).filter(|e| e.handle.is_alive()).map(|e| {
            e.handle.touch();
            e.handle.clone()
        }))
    }

    /// An arbiter to start the next actor on, round-robin over one per core; dead arbiters are replaced.
    fn arbiter(&self) -> actix::ArbiterHandle {
        let mut arbiters = self.inner.arbiters.lock();
        if arbiters.is_empty() {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            arbiters.extend((0..cores).map(|_| Arbiter::new()));
        }
        let index = self.inner.next_arbiter.fetch_add(1, Ordering::Relaxed) % arbiters.len();
        if !arbiters[index].spawn(async {}) {
            tracing::warn!(index, "tenant arbiter died; starting a new one");
            arbiters[index] = Arbiter::new();
        }
        arbiters[index].handle()
    }

    fn now(&self) -> u64 {
        self.inner.epoch.elapsed().as_secs()
    }

    /// Stops a company's actor (after its queued writes), e.g. when the company is suspended or deleted.
    pub async fn evict(&self, company_id: &str) {
        let entry = self.inner.map.lock().remove(company_id);
        if let Some(entry) = entry {
            let _ = entry.addr.send(Stop).await;
        }
    }

    /// Refuses new actors for a company (suspended or deleted) and stops the running one after its queued writes.
    /// An actor being started meanwhile is waited for (it holds the company's opening lock), then stopped.
    pub async fn close(&self, company_id: &str) {
        self.inner.closed.lock().insert(company_id.to_owned());
        let _opening = self.inner.opening.lock(company_id).await;
        self.evict(company_id).await;
    }

    /// Allows actors for a company again (resumed).
    pub fn reopen(&self, company_id: &str) {
        self.inner.closed.lock().remove(company_id);
    }

    /// How many company actors are running.
    #[must_use]
    pub fn running(&self) -> usize {
        self.inner.map.lock().values().filter(|e| e.handle.is_alive()).count()
    }

    /// How many times a company's database was opened (and its schema brought up to date) to start an actor.
    #[must_use]
    pub fn opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// The handle of a company's actor if one is running, without starting one or counting as a use of it (so a
    /// look at every company, as the admin listing takes, neither wakes idle companies nor keeps running ones up).
    #[must_use]
    pub fn if_running(&self, company_id: &str) -> Option<TenantHandle> {
        self.inner
            .map
            .lock()
            .get(company_id)
            .filter(|e| e.handle.is_alive())
            .map(|e| e.handle.clone())
    }

    /// Whether this company's actor is running.
    #[must_use]
    pub fn is_running(&self, company_id: &str) -> bool {
        self.if_running(company_id).is_some()
    }

    /// The store the actors open their companies from.
    #[cfg(test)]
    pub(crate) fn store(&self) -> Store {
        self.inner.store.clone()
    }

    /// Stops every actor after its queued writes, then the arbiters.
    pub async fn shutdown(&self) {
        let addrs: Vec<_> = self.inner.map.lock().drain().map(|(_, e)| e.addr).collect();
        for addr in addrs {
            let _ = addr.send(Stop).await;
        }
        for arbiter in self.inner.arbiters.lock().drain(..) {
            arbiter.stop();
        }
    }
}
