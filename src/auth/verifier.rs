//! Verifies API keys: SHA-256 lookup on a miss, a cache of verified callers on a hit, invalidated when a key
//! is revoked or rotated, a user changes or a company is suspended.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;

use super::{AuthError, api_key};
use crate::config::AuthSettings;
use crate::domain::{Company, CompanyStatus, Role, User, UserStatus};
use crate::store::{Store, control};

/// Who is calling: the key, its user, the user's company and role.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The API key's id.
    pub key_id: String,
    /// When the key expires.
    pub key_expires_at: Option<DateTime<Utc>>,
    /// The key's owner.
    pub user: User,
    /// The owner's company.
    pub company: Company,
    /// The owner's role, if any.
    pub role: Option<Role>,
}

/// Checks presented keys.
#[derive(Clone)]
pub struct Verifier {
    store: Store,
    cache: Cache<String, Arc<Caller>>,
    /// Keys whose last use was stamped recently (so stamps are written at most once a minute).
    stamped: Cache<String, ()>,
    /// Bumped by every invalidation, so a load that raced with one is not cached.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl Verifier {
    /// A verifier with the configured cache.
    #[must_use]
    pub fn new(store: Store, settings: &AuthSettings) -> Self {
        let cache = Cache::builder()
            .max_capacity(settings.cache_capacity)
            .time_to_live(Duration::from_secs(settings.cache_ttl_secs))
            .support_invalidation_closures()
            .build();
        let stamped = Cache::builder()
            .max_capacity(settings.cache_capacity)
            .time_to_live(Duration::from_secs(60))
            .build();
        Self {
            store,
            cache,
            stamped,
            generation: Arc::default(),
        }
    }

    /// Verifies a presented key (or its absence).
    pub async fn verify(&self, presented: Option<&str>) -> Result<Arc<Caller>, AuthError> {
        let presented = presented.filter(|k| !k.is_empty()).ok_or(AuthError::Missing)?;
        if !api_key::looks_like_key(presented) {
            return Err(AuthError::Invalid);
        }
        let hash = api_key::hash(presented);
        let caller = match self.cache.get(&hash) {
            Some(caller) => caller,
            None => {
                use std::sync::atomic::Ordering;
                let before = self.generation.load(Ordering::Acquire);
                let caller = Arc::new(self.load(&hash).await?);
                // A revoke, suspend or role change during the load may have made it stale: use it, don't keep it.
                if self.generation.load(Ordering::Acquire) == before {
                    self.cache.insert(hash, caller.clone());
                }
                caller
            }
        };
        if caller.key_expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AuthError::Expired);
        }
        self.stamp(&caller);
        Ok(caller)
    }

    async fn load(&self, hash: &str) -> Result<Caller, AuthError> {
        let db = self.store.control();
        let key = control::find_key_by_hash(db, hash).await?.ok_or(AuthError::Invalid)?;
        if key.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if key.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AuthError::Expired);
        }
        let user = control::get_user(db, &key.user_id).await?.ok_or(AuthError::Invalid)?;
        match user.status {
            UserStatus::Active => {}
            UserStatus::Inactive => return Err(AuthError::Inactive),
            UserStatus::PendingAuthorization => return Err(AuthError::Pending),
        }
        let company = control::get_company(db, &user.company_id)
            .await?
            .ok_or(AuthError::Invalid)?;
        if company.status == CompanyStatus::Suspended {
            return Err(AuthError::Suspended);
        }
        let role = match &user.role_id {
            Some(id) => control::get_role(db, id).await?,
            None => None,
        };
        Ok(Caller {
            key_id: key.id,
            key_expires_at: key.expires_at,
            user,
            company,
            role,
        })
    }

    /// Records the key's (and company's) last use, at most once a minute per key, off the request path.
    fn stamp(&self, caller: &Caller) {
        if self.stamped.contains_key(&caller.key_id) {
            return;
        }
        self.stamped.insert(caller.key_id.clone(), ());
        let db = self.store.control().clone();
        let (key_id, company_id) = (caller.key_id.clone(), caller.company.id.clone());
        actix_web::rt::spawn(async move {
            if let Err(error) = control::touch_key(&db, &key_id).await {
                tracing::warn!(error = %error, "could not stamp key use");
            }
            if let Err(error) = control::touch_company(&db, &company_id).await {
                tracing::warn!(error = %error, "could not stamp company activity");
            }
        });
    }

    /// Drops one key (by hash) from the cache.
    pub fn forget_key(&self, hash: &str) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.cache.invalidate(hash);
    }

    /// Drops every cached key of a user.
    pub fn forget_user(&self, user_id: &str) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let user_id = user_id.to_owned();
        let _ = self
            .cache
            .invalidate_entries_if(move |_, caller| caller.user.id == user_id);
    }

    /// Drops every cached key of a company.
    pub fn forget_company(&self, company_id: &str) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let company_id = company_id.to_owned();
        let _ = self
            .cache
            .invalidate_entries_if(move |_, caller| caller.company.id == company_id);
    }
}

impl Caller {
    /// The caller's access inside their company.
    #[must_use]
    pub fn access(&self) -> crate::crm::access::Access {
        crate::crm::access::Access {
            user_id: self.user.id.clone(),
            role: self.role.clone(),
        }
    }
}
