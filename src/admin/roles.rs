//! Company roles and user access, managed by a company's own users (`/api/v1/roles`, `/api/v1/users`).

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{Admin, AdminError, AdminResult, detail};
use crate::domain::access::perm;
use crate::domain::{Action, Permission, Resource, User, UserStatus};
use crate::store::{StoreError, control};

/// The longest role description, in characters.
const MAX_DESCRIPTION: usize = 1_000;

/// A custom role as edited: name, description and per-resource access (the reference's role editor).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleInput {
    /// Unique within the company (1–100 characters).
    pub name: String,
    /// At least 1 character.
    pub description: String,
    /// Per resource: `{"canManage": "yes"|"no", "readAccess": "none"|"own"|"all"}`. Resources: contacts, deals,
    /// organizations, services, tasks (canManage, readAccess none/own/all); users (canManage, readAccess own/all);
    /// company (canManage); api (canManage, readAccess none/all); auditLog (readAccess none/all).
    #[schema(value_type = Object)]
    pub permissions: Map<String, Value>,
}

/// `PUT /api/v1/users/{id}` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserAccess {
    /// New role id of this company (`null` removes the role).
    #[serde(default, deserialize_with = "some")]
    pub role_id: Option<Option<String>>,
    /// New status: active or inactive.
    pub status: Option<UserStatus>,
}

pub(crate) fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "yes" => Some(true),
        Value::String(s) if s == "no" => Some(false),
        _ => None,
    }
}

/// Turns the editor's per-resource settings into permission pairs.
pub fn permissions(input: &Map<String, Value>) -> Result<Vec<Permission>, Vec<crate::error::ErrorDetail>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let resources = [
        ("contacts", Resource::Contacts, &["none", "own", "all"][..]),
        ("deals", Resource::Deals, &["none", "own", "all"][..]),
        ("organizations", Resource::Organizations, &["none", "own", "all"][..]),
        ("services", Resource::Services, &["none", "own", "all"][..]),
        ("tasks", Resource::Tasks, &["none", "own", "all"][..]),
        ("users", Resource::Users, &["own", "all"][..]),
        ("company", Resource::Company, &[][..]),
        ("api", Resource::Api, &["none", "all"][..]),
        ("auditLog", Resource::AuditLog, &["none", "all"][..]),
    ];
    for key in input.keys() {
        if !resources.iter().any(|(name, _, _)| name == key) {
            problems.push(detail(
                &format!("permissions.{key}"),
                "is not a resource (contacts, deals, organizations, services, tasks, users, company, api, auditLog)",
            ));
        }
    }
    for (name, resource, reads) in resources {
        // The settings a resource has: `canManage` (not auditLog) and `readAccess` (not company).
        let known: &[&str] = match resource {
            Resource::Company => &["canManage"],
            Resource::AuditLog => &["readAccess"],
            _ => &["canManage", "readAccess"],
        };
        match input.get(name) {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(_) => problems.push(detail(
                &format!("permissions.{name}"),
                &format!("must be an object of {}", known.join(", ")),
            )),
        }
        let settings = input.get(name).and_then(Value::as_object);
        for key in settings.into_iter().flat_map(|s| s.keys()) {
            if !known.contains(&key.as_str()) {
                problems.push(detail(
                    &format!("permissions.{name}.{key}"),
                    &format!("is not a setting of {name} ({})", known.join(", ")),
                ));
            }
        }
        let manage = settings.and_then(|s| s.get("canManage"));
        if resource != Resource::AuditLog {
            match (manage, flag(manage)) {
                (None, _) => {}
                (Some(_), Some(true)) => {
                    out.extend([Action::Create, Action::Update, Action::Delete].map(|a| perm(resource, a)))
                }
                (Some(_), Some(false)) => {}
                (Some(_), None) => problems.push(detail(
                    &format!("permissions.{name}.canManage"),
                    "must be \"yes\" or \"no\"",
                )),
            }
        }
        if resource == Resource::Company {
            out.extend([perm(resource, Action::ReadOwn), perm(resource, Action::ReadAll)]);
            continue;
        }
        let default = if resource == Resource::Users { "own" } else { "none" };
        match settings
            .and_then(|s| s.get("readAccess"))
            .map_or(Some(default), Value::as_str)
        {
            Some(read) if reads.contains(&read) => match read {
                "own" => out.push(perm(resource, Action::ReadOwn)),
                "all" => out.push(perm(resource, Action::ReadAll)),
                _ => {}
            },
            _ => problems.push(detail(
                &format!("permissions.{name}.readAccess"),
                &format!("must be one of: {}", reads.join(", ")),
            )),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn conflict(message: &str) -> AdminError {
    AdminError::Conflict(message.to_owned())
}

impl Admin {
    /// A company's roles.
    pub async fn list_roles(&self, company_id: &str) -> AdminResult<Vec<Value>> {
        Ok(control::list_roles(self.store.control(), company_id).await?)
    }

    /// Creates (`id = None`) or replaces a custom role.
    pub async fn save_role(&self, company_id: &str, id: Option<&str>, input: &RoleInput) -> AdminResult<Value> {
        let _writing = self.writing(company_id).await;
        let db = self.store.control();
        if let Some(id) = id {
            match control::role_dto(db, id).await? {
                Some(role) if role["companyId"] == company_id => {
                    if role["isSystemRole"] == true {
                        return Err(AdminError::Validation(vec![detail("id", "Cannot update system roles")]));
                    }
                }
                _ => return Err(AdminError::RoleNotFound(id.to_owned())),
            }
        }
        let mut problems = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(detail("name", "Name must be 1 to 100 characters"));
        }
        let description = input.description.trim();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
            problems.push(detail(
                "description",
                &format!("Description must be 1 to {MAX_DESCRIPTION} characters"),
            ));
        }
        let granted = permissions(&input.permissions).unwrap_or_else(|p| {
            problems.extend(p);
            Vec::new()
        });
        if !problems.is_empty() {
            return Err(AdminError::Validation(problems));
        }
        let id = id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        control::save_role(db, company_id, &id, name, description, &granted)
            .await
            .map_err(|e| match e {
                StoreError::Duplicate => conflict(&format!("A role named \"{name}\" already exists.")),
                other => AdminError::Store(other),
            })?;
        self.verifier.forget_company(company_id);
        control::role_dto(db, &id).await?.ok_or(AdminError::RoleNotFound(id))
    }

    /// Deletes a custom role that no user holds.
    pub async fn delete_role(&self, company_id: &str, id: &str) -> AdminResult<()> {
        let _writing = self.writing(company_id).await;
        let db = self.store.control();
        match control::role_dto(db, id).await? {
            Some(role) if role["companyId"] == company_id => {
                if role["isSystemRole"] == true {
                    return Err(AdminError::Validation(vec![detail("id", "Cannot delete system roles")]));
                }
            }
            _ => return Err(AdminError::RoleNotFound(id.to_owned())),
        }
        if !control::users_with_role(db, id).await?.is_empty() {
            return Err(conflict("Cannot delete role that is assigned to users"));
        }
        control::delete_role(db, id).await?;
        Ok(())
    }

    /// Changes another user's role or status (a company admin's operation).
    pub async fn set_user_access(
        &self,
        company_id: &str,
        actor_id: &str,
        user_id: &str,
        change: &UserAccess,
    ) -> AdminResult<User> {
        let _writing = self.writing(company_id).await;
        let db = self.store.control();
        if user_id == actor_id {
            return Err(AdminError::Validation(vec![detail("id", "Cannot update own details.")]));
        }
        let user = self.user(user_id).await?;
        if user.company_id != company_id {
            return Err(AdminError::UserNotFound(user_id.to_owned()));
        }
        let role_id = match &change.role_id {
            None => user.role_id.clone(),
            Some(None) => None,
            Some(Some(role)) => match control::role_company(db, role).await? {
                Some(owner) if owner == company_id => Some(role.clone()),
                _ => {
                    return Err(AdminError::Validation(vec![detail(
                        "roleId",
                        "is not a role of this company",
                    )]));
                }
            },
        };
        let status = change.status.unwrap_or(user.status);
        if status == UserStatus::PendingAuthorization && user.status != UserStatus::PendingAuthorization {
            return Err(AdminError::Validation(vec![detail(
                "status",
                "must be active or inactive",
            )]));
        }
        let system = control::system_role(db, company_id).await?.map(|r| r.id);
        let loses_admin = user.role_id == system && (role_id != system || status != UserStatus::Active);
        if loses_admin {
            let others = control::users_with_role(db, system.as_deref().unwrap_or_default()).await?;
            if !others.iter().any(|u| u.id != user.id && u.status == UserStatus::Active) {
                return Err(AdminError::Validation(vec![detail(
                    "roleId",
                    "At least one user must be a system administrator",
                )]));
            }
        }
        let updated = control::set_user_access(db, user_id, role_id.as_deref(), status)
            .await?
            .ok_or_else(|| AdminError::UserNotFound(user_id.to_owned()))?;
        self.verifier.forget_user(user_id);
        if user.status == UserStatus::PendingAuthorization && updated.status != UserStatus::PendingAuthorization {
            let closed = match self.tenants.get(company_id).await {
                Ok(tenant) => tenant.close_pending_task(updated.id.clone()).await,
                Err(error) => Err(error),
            };
            if let Err(error) = closed {
                // The approval stands; the task is reconciled when the company is next resumed.
                tracing::warn!(user = %updated.id, error = %error, "could not remove the approval task");
            }
        }
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_editor_shape_becomes_permission_pairs() {
        let input = json!({"contacts": {"canManage": "yes", "readAccess": "own"}, "deals": {"readAccess": "all"}});
        let granted = permissions(input.as_object().unwrap()).unwrap();
        assert!(granted.contains(&perm(Resource::Contacts, Action::Create)));
        assert!(granted.contains(&perm(Resource::Contacts, Action::ReadOwn)));
        assert!(!granted.contains(&perm(Resource::Contacts, Action::ReadAll)));
        assert!(granted.contains(&perm(Resource::Deals, Action::ReadAll)));
        assert!(
            granted.contains(&perm(Resource::Users, Action::ReadOwn)),
            "users default to own"
        );
        assert!(granted.contains(&perm(Resource::Company, Action::ReadOwn)));
        let bad = json!({"contacts": {"readAccess": "some"}, "planets": {}});
        assert_eq!(permissions(bad.as_object().unwrap()).unwrap_err().len(), 2);
    }
}
