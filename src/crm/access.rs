//! What a caller may see and do inside a company, derived once per request from their role.

use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource, Role};

use super::Entity;
use super::spec::Target;

/// How much of a resource the caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every record of the company.
    All,
    /// Only records the caller is assigned to (for users: only themselves).
    Own,
}

/// The caller inside a company.
#[derive(Debug, Clone)]
pub struct Access {
    /// The caller's user id (also their `member` record key).
    pub user_id: String,
    /// The caller's role; `None` grants nothing.
    pub role: Option<Role>,
}

impl Access {
    /// The caller's read scope on a resource, or `None` when they may not read it.
    #[must_use]
    pub fn scope(&self, resource: Resource) -> Option<Scope> {
        let role = self.role.as_ref()?;
        if role.allows(resource, Action::ReadAll) {
            Some(Scope::All)
        } else if role.allows(resource, Action::ReadOwn) {
            Some(Scope::Own)
        } else {
            None
        }
    }

    /// The read scope on a relation's far end.
    #[must_use]
    pub fn target_scope(&self, target: Target) -> Option<Scope> {
        self.scope(target.resource())
    }

    /// Checks a requirement; the error is the reference's `Access denied. Required permissions: …` text.
    pub fn require(&self, requirement: Requirement<'_>) -> Result<(), String> {
        match &self.role {
            Some(role) => role.check(requirement),
            None => {
                let nobody = Role {
                    id: String::new(),
                    name: String::new(),
                    description: None,
                    is_system_role: false,
                    permissions: Vec::new(),
                };
                nobody.check(requirement)
            }
        }
    }

    /// Requires read access (all or own) on a resource and returns the scope.
    pub fn read_scope(&self, resource: Resource) -> Result<Scope, String> {
        self.require(Requirement::Any(&[
            perm(resource, Action::ReadAll),
            perm(resource, Action::ReadOwn),
        ]))?;
        Ok(self.scope(resource).unwrap_or(Scope::Own))
    }

    /// Requires read access (all or own) on an entity and returns the scope.
    pub fn require_read(&self, entity: Entity) -> Result<Scope, String> {
        self.read_scope(entity.resource())
    }

    /// Requires one action on an entity.
    pub fn require_action(&self, entity: Entity, action: Action) -> Result<(), String> {
        self.require(Requirement::All(&[perm(entity.resource(), action)]))
    }
}

/// Shared unit-test fixtures.
#[cfg(test)]
pub(crate) mod fixtures {
    use surrealdb::Surreal;
    use surrealdb::engine::any::Any;

    use super::Access;

    /// A caller with the system role Admin (every permission).
    pub(crate) fn admin() -> Access {
        let role = crate::domain::Role {
            id: "r".into(),
            name: "Admin".into(),
            description: None,
            is_system_role: true,
            permissions: vec![],
        };
        Access {
            user_id: "u".into(),
            role: Some(role),
        }
    }

    /// A `mem://` company database with the tenant schema applied.
    pub(crate) async fn tenant_db() -> Surreal<Any> {
        let db = surrealdb::engine::any::connect("mem://").await.unwrap();
        db.query("DEFINE NAMESPACE t; USE NS t; DEFINE DATABASE d;")
            .await
            .unwrap();
        db.use_ns("t").use_db("d").await.unwrap();
        for set in [&crate::store::migrate::TENANT, &crate::store::migrate::TENANT_INDEXES] {
            crate::store::migrate::ensure(&db, set).await.unwrap();
        }
        db
    }
}
