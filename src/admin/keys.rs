//! API keys: create (shown once), list, revoke, rotate.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Admin, AdminError, AdminResult, detail};
use crate::auth::api_key::{self, GeneratedKey, MAX_EXPIRY_DAYS};
use crate::store::control::{self, ApiKeyInfo, NewKeyRow};

/// Body of a key creation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKeyRequest {
    /// Label (1–100 characters); `API key` when absent.
    pub name: Option<String>,
    /// Lifetime in days (1–365); the key never expires when absent.
    pub expires_in_days: Option<u32>,
}

/// A newly created key: the plaintext is in this response only.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// Key id.
    pub id: String,
    /// Label.
    pub name: String,
    /// First 8 characters.
    pub prefix: String,
    /// The key itself (64 characters). Store it now: it cannot be shown again.
    pub key: String,
    /// When it expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// The key it replaces (rotation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// A key's generated material and chosen id, before it is stored.
pub(super) struct KeyMaterial {
    id: String,
    name: String,
    generated: GeneratedKey,
    expires_at: Option<DateTime<Utc>>,
}

impl KeyMaterial {
    pub(super) fn new(name: &str, expires_at: Option<DateTime<Utc>>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            generated: api_key::generate(),
            expires_at,
        }
    }

    pub(super) fn row(&self) -> NewKeyRow<'_> {
        NewKeyRow {
            id: &self.id,
            name: &self.name,
            prefix: &self.generated.prefix,
            hash: &self.generated.hash,
            expires_at: self.expires_at,
        }
    }

    pub(super) fn created(self, replaces: Option<String>) -> CreatedKey {
        CreatedKey {
            id: self.id,
            name: self.name,
            prefix: self.generated.prefix,
            key: self.generated.plaintext,
            expires_at: self.expires_at,
            replaces,
        }
    }
}

fn parse(request: &NewKeyRequest) -> AdminResult<(String, Option<DateTime<Utc>>)> {
    let mut details = Vec::new();
    let name = request.name.as_deref().map_or("API key", str::trim).to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        details.push(detail("name", "must be 1 to 100 characters"));
    }
    let expires_at = match request.expires_in_days {
        None => None,
        Some(days @ 1..=MAX_EXPIRY_DAYS) => Some(Utc::now() + Duration::days(i64::from(days))),
        Some(0) => {
            details.push(detail(
                "expiresInDays",
                "API key expiration must be at least 1 day (use 1 to 365)",
            ));
            None
        }
        Some(_) => {
            details.push(detail(
                "expiresInDays",
                "API key expiration cannot exceed 365 days (use 1 to 365)",
            ));
            None
        }
    };
    if details.is_empty() {
        Ok((name, expires_at))
    } else {
        Err(AdminError::Validation(details))
    }
}

impl Admin {
    /// Creates a key for a user.
    pub async fn create_key(&self, user_id: &str, request: &NewKeyRequest) -> AdminResult<CreatedKey> {
        let (name, expires_at) = parse(request)?;
        let user = self.user(user_id).await?;
        let _writing = self.writing(&user.company_id).await;
        let material = KeyMaterial::new(&name, expires_at);
        control::create_key(self.store.control(), &user, &material.row()).await?;
        Ok(material.created(None))
    }

    /// A user's keys, newest first (never the keys themselves).
    pub async fn list_keys(&self, user_id: &str) -> AdminResult<Vec<ApiKeyInfo>> {
        self.user(user_id).await?;
        Ok(control::list_keys(self.store.control(), user_id).await?)
    }

    /// A key, if `owner` is `None` or owns it.
    async fn owned_key(&self, key_id: &str, owner: Option<&str>) -> AdminResult<(ApiKeyInfo, String)> {
        match control::get_key(self.store.control(), key_id).await? {
            Some((info, hash)) if owner.is_none_or(|o| o == info.user_id) => Ok((info, hash)),
            _ => Err(AdminError::KeyNotFound(key_id.to_owned())),
        }
    }

    /// A key (as [`Self::owned_key`]) read again under its company's write lock, which the caller holds while it
    /// changes the key.
    async fn locked_key(
        &self,
        key_id: &str,
        owner: Option<&str>,
    ) -> AdminResult<(crate::tenants::CompanyGuard, ApiKeyInfo, String)> {
        let company = self.owned_key(key_id, owner).await?.0.company_id;
        let writing = self.writing(&company).await;
        let (key, hash) = self.owned_key(key_id, owner).await?;
        Ok((writing, key, hash))
    }

    /// Revokes a key; it stops working at once. `owner` restricts the operation to that user's keys.
    pub async fn revoke_key(&self, key_id: &str, owner: Option<&str>) -> AdminResult<ApiKeyInfo> {
        let (_writing, _, hash) = self.locked_key(key_id, owner).await?;
        control::revoke_key(self.store.control(), key_id).await?;
        self.verifier.forget_key(&hash);
        Ok(self.owned_key(key_id, owner).await?.0)
    }

    /// Replaces a key with a new one of the same name and remaining lifetime; the old one stops working at once.
    pub async fn rotate_key(&self, key_id: &str, owner: Option<&str>) -> AdminResult<CreatedKey> {
        let (_writing, old, hash) = self.locked_key(key_id, owner).await?;
        rotatable(&old, Utc::now())?;
        let user = self.user(&old.user_id).await?;
        let material = KeyMaterial::new(&old.name, old.expires_at);
        control::rotate_key(self.store.control(), &user, &material.row(), key_id)
            .await
            .map_err(|error| match error {
                // Revoked by another process between the check above and the transaction.
                crate::store::StoreError::Db(db) if db.message().contains(control::ALREADY_REVOKED) => {
                    already_revoked()
                }
                other => other.into(),
            })?;
        self.verifier.forget_key(&hash);
        Ok(material.created(Some(old.id)))
    }
}

fn already_revoked() -> AdminError {
    AdminError::Validation(vec![detail("id", control::ALREADY_REVOKED)])
}

/// What a rotation of an expired key answers.
const EXPIRED: &str = "the key has expired; create a new one";

/// Whether a key can be rotated at `now`: it is neither revoked nor expired. (Its replacement keeps its expiry, so
/// rotating an expired key would revoke it for a key that never works.)
fn rotatable(old: &ApiKeyInfo, now: DateTime<Utc>) -> AdminResult<()> {
    if old.revoked_at.is_some() {
        return Err(already_revoked());
    }
    if old.expires_at.is_some_and(|at| at <= now) {
        return Err(AdminError::Validation(vec![detail("id", EXPIRED)]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a live key is rotated: not a revoked one, nor one whose expiry has passed (its replacement would keep
    /// that expiry); a key with time left, or none set, is.
    #[test]
    fn only_live_keys_are_rotated() {
        let now = Utc::now();
        let key = |expires_at: Option<DateTime<Utc>>, revoked_at: Option<DateTime<Utc>>| ApiKeyInfo {
            id: "k".into(),
            user_id: "u".into(),
            company_id: "c".into(),
            name: "ci".into(),
            prefix: "cm_abcde".into(),
            created_at: now - Duration::days(3),
            expires_at,
            revoked_at,
            last_used_at: None,
        };
        let message = |result: AdminResult<()>| match result {
            Err(AdminError::Validation(details)) => Some(details[0].message.clone()),
            Err(other) => panic!("{other:?}"),
            Ok(()) => None,
        };
        assert_eq!(message(rotatable(&key(None, None), now)), None);
        assert_eq!(
            message(rotatable(&key(Some(now + Duration::hours(1)), None), now)),
            None
        );
        assert_eq!(
            message(rotatable(&key(Some(now - Duration::hours(1)), None), now)).as_deref(),
            Some(EXPIRED)
        );
        assert_eq!(message(rotatable(&key(Some(now), None), now)).as_deref(), Some(EXPIRED));
        assert_eq!(
            message(rotatable(&key(None, Some(now - Duration::days(1))), now)).as_deref(),
            Some(control::ALREADY_REVOKED)
        );
    }

    #[test]
    fn expiry_is_bounded_to_365_days() {
        let ok = NewKeyRequest {
            name: Some("ci".into()),
            expires_in_days: Some(365),
        };
        assert!(parse(&ok).unwrap().1.is_some());
        for days in [0, 366] {
            let bad = NewKeyRequest {
                name: None,
                expires_in_days: Some(days),
            };
            assert!(parse(&bad).is_err(), "{days} days accepted");
        }
        assert_eq!(parse(&NewKeyRequest::default()).unwrap().0, "API key");
    }
}
