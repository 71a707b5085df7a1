//! The typed handle requests use to reach a company: reads run directly on the company's session,
//! writes go through the actor one at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix::Addr;
use futures::future::LocalBoxFuture;
use parking_lot::Mutex;
use serde::Serialize;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use utoipa::ToSchema;

use super::TenantError;
use super::actor::{TenantActor, Write};
use crate::crm::{self, Entity};

/// What the actor owns: the company's session and its cached state.
pub struct TenantShared {
    /// The company this state belongs to.
    pub company_id: String,
    /// A session bound to the company's database only.
    pub db: Surreal<Any>,
    /// Record counts per entity, kept current by the writes (which all pass through the actor).
    counts: Mutex<HashMap<Entity, u64>>,
}

impl TenantShared {
    pub(super) fn new(company_id: String, db: Surreal<Any>) -> Self {
        Self {
            company_id,
            db,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Adjusts a held count after a committed write (no-op while the count is not loaded yet).
    pub fn adjust_count(&self, entity: Entity, delta: i64) {
        if let Some(count) = self.counts.lock().get_mut(&entity) {
            *count = count.saturating_add_signed(delta);
        }
    }

    fn cached_count(&self, entity: Entity) -> Option<u64> {
        self.counts.lock().get(&entity).copied()
    }
}

/// Record counts of a company.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Contacts.
    pub contacts: u64,
    /// Organizations.
    pub organizations: u64,
    /// Deals.
    pub deals: u64,
    /// Services.
    pub services: u64,
    /// Tasks.
    pub tasks: u64,
}

/// A company's typed API. Cloning is cheap.
#[derive(Clone)]
pub struct TenantHandle {
    addr: Addr<TenantActor>,
    shared: Arc<TenantShared>,
    last_used: Arc<AtomicU64>,
    epoch: Instant,
}

impl TenantHandle {
    pub(super) fn new(
        addr: Addr<TenantActor>,
        shared: Arc<TenantShared>,
        last_used: Arc<AtomicU64>,
        epoch: Instant,
    ) -> Self {
        Self {
            addr,
            shared,
            last_used,
            epoch,
        }
    }

    /// Marks the company as used now (postpones idle eviction).
    pub fn touch(&self) {
        self.last_used.store(self.epoch.elapsed().as_secs(), Ordering::Relaxed);
    }

    /// The company's id.
    #[must_use]
    pub fn company_id(&self) -> &str {
        &self.shared.company_id
    }

    /// Runs `work` on the actor, after every earlier write of this company.
    async fn write<R, F>(&self, work: F) -> Result<R, TenantError>
    where
        R: Send + 'static,
        F: FnOnce(Arc<TenantShared>) -> LocalBoxFuture<'static, R> + Send + 'static,
    {
        self.touch();
        match self.addr.send(Write(Box::new(work))).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => Err(TenantError::Unavailable),
        }
    }

    /// The number of records of one entity, from the held count (loaded once, through the actor).
    pub async fn count(&self, entity: Entity) -> Result<u64, TenantError> {
        if let Some(count) = self.shared.cached_count(entity) {
            return Ok(count);
        }
        self.write(move |shared| {
            Box::pin(async move {
                if let Some(count) = shared.cached_count(entity) {
                    return Ok(count);
                }
                let count = crm::count_all(&shared.db, entity).await?;
                shared.counts.lock().insert(entity, count);
                Ok(count)
            })
        })
        .await?
    }

    /// Counts of all five entities.
    pub async fn counts(&self) -> Result<Counts, TenantError> {
        Ok(Counts {
            contacts: self.count(Entity::Contact).await?,
            organizations: self.count(Entity::Organization).await?,
            deals: self.count(Entity::Deal).await?,
            services: self.count(Entity::Service).await?,
            tasks: self.count(Entity::Task).await?,
        })
    }

    /// Creates contacts, all or none.
    pub async fn create_contacts(
        &self,
        items: Vec<crm::contact::NewContact>,
    ) -> Result<Vec<crm::contact::Contact>, TenantError> {
        self.write(move |shared| {
            Box::pin(async move {
                let created = crm::contact::create(&shared.db, &items).await?;
                shared.adjust_count(Entity::Contact, i64::try_from(created.len()).unwrap_or(i64::MAX));
                Ok(created)
            })
        })
        .await?
    }

    /// One page of contacts, newest first, with the total.
    pub async fn list_contacts(&self, page: crm::Page) -> Result<crm::PageOf<crm::contact::Contact>, TenantError> {
        self.touch();
        let items = crm::contact::list(&self.shared.db, page).await?;
        let total = self.count(Entity::Contact).await?;
        Ok(crm::PageOf::new(items, page, total))
    }

    /// One page of the contacts assigned to a user, with their number.
    pub async fn list_assigned_contacts(
        &self,
        member_id: &str,
        page: crm::Page,
    ) -> Result<crm::PageOf<crm::contact::Contact>, TenantError> {
        self.touch();
        let (items, total) = crm::contact::list_assigned(&self.shared.db, member_id, page).await?;
        Ok(crm::PageOf::new(items, page, total))
    }

    /// Whether a contact is assigned to a user.
    pub async fn contact_assigned_to(&self, member_id: &str, contact_id: &str) -> Result<bool, TenantError> {
        Ok(crm::contact::is_assigned(&self.shared.db, member_id, contact_id).await?)
    }

    /// One contact.
    pub async fn get_contact(&self, id: &str) -> Result<Option<crm::contact::Contact>, TenantError> {
        self.touch();
        Ok(crm::contact::get(&self.shared.db, id).await?)
    }

    /// Mirrors a user into the company's database so records can be assigned to it.
    pub async fn upsert_member(&self, user: crate::domain::User) -> Result<(), TenantError> {
        self.write(move |shared| Box::pin(async move { crm::upsert_member(&shared.db, &user).await }))
            .await?
            .map_err(TenantError::from)
    }

    /// Seeds the demo data set, assigned to `user`; does nothing when the company already has deals.
    pub async fn seed_demo(&self, user: crate::domain::User) -> Result<bool, TenantError> {
        self.write(move |shared| {
            Box::pin(async move {
                let seeded = crate::crm::demo::seed(&shared.db, &user).await?;
                shared.counts.lock().clear();
                Ok::<_, TenantError>(seeded)
            })
        })
        .await?
    }

    /// Makes the actor panic inside a write (fault injection for tests).
    pub async fn panic_for_test(&self) -> Result<(), TenantError> {
        self.write::<(), _>(|_| Box::pin(async { panic!("fault injection: tenant actor panic") }))
            .await
    }
}
