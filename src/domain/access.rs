//! Roles and permissions: a role is a set of (resource, action) pairs; the system role passes every check.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a permission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Resource {
    /// Contacts.
    Contacts,
    /// Deals.
    Deals,
    /// Organizations.
    Organizations,
    /// Services.
    Services,
    /// Users of the company.
    Users,
    /// The company's own settings.
    Company,
    /// Tasks.
    Tasks,
    /// API keys and webhooks.
    Api,
    /// The audit log.
    AuditLog,
}

/// What may be done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Create records.
    Create,
    /// Read records the user is assigned to.
    ReadOwn,
    /// Read every record of the company.
    ReadAll,
    /// Change records.
    Update,
    /// Delete records.
    Delete,
}

impl Resource {
    /// The wire name (`contacts`, `auditLog`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Deals => "deals",
            Self::Organizations => "organizations",
            Self::Services => "services",
            Self::Users => "users",
            Self::Company => "company",
            Self::Tasks => "tasks",
            Self::Api => "api",
            Self::AuditLog => "auditLog",
        }
    }
}

impl Action {
    /// The wire name (`readAll`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::ReadOwn => "readOwn",
            Self::ReadAll => "readAll",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// One granted (resource, action) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Permission {
    /// The resource.
    pub resource: Resource,
    /// The action.
    pub action: Action,
}

/// A role of a company: the system role `Admin` or a custom set of permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Role id (UUID).
    pub id: String,
    /// Unique name within the company.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The system role passes every permission check and cannot be edited.
    pub is_system_role: bool,
    /// Granted pairs (empty for the system role, which needs none).
    pub permissions: Vec<Permission>,
}

/// Name of the role every company is created with.
pub const SYSTEM_ROLE_NAME: &str = "Admin";
/// Description of the system role.
pub const SYSTEM_ROLE_DESCRIPTION: &str = "Full access to all features and settings";

/// A permission requirement: all of the pairs, or any of them.
#[derive(Debug, Clone, Copy)]
pub enum Requirement<'a> {
    /// Every pair must be granted.
    All(&'a [Permission]),
    /// At least one pair must be granted.
    Any(&'a [Permission]),
}

impl Role {
    /// Whether this role grants `action` on `resource`.
    #[must_use]
    pub fn allows(&self, resource: Resource, action: Action) -> bool {
        self.is_system_role
            || self
                .permissions
                .iter()
                .any(|p| p.resource == resource && p.action == action)
    }

    /// Checks a requirement; on refusal returns the reference's message text
    /// (`Access denied. Required permissions: readAll on contacts OR readOwn on contacts`).
    pub fn check(&self, requirement: Requirement<'_>) -> Result<(), String> {
        let (pairs, all, joiner) = match requirement {
            Requirement::All(pairs) => (pairs, true, " AND "),
            Requirement::Any(pairs) => (pairs, false, " OR "),
        };
        let granted = |p: &Permission| self.allows(p.resource, p.action);
        let ok = if all {
            pairs.iter().all(granted)
        } else {
            pairs.iter().any(granted)
        };
        if ok {
            return Ok(());
        }
        let wanted: Vec<String> = pairs
            .iter()
            .map(|p| format!("{} on {}", p.action.as_str(), p.resource.as_str()))
            .collect();
        Err(format!("Access denied. Required permissions: {}", wanted.join(joiner)))
    }
}

/// Shorthand for a permission pair.
#[must_use]
pub const fn perm(resource: Resource, action: Action) -> Permission {
    Permission { resource, action }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(permissions: Vec<Permission>) -> Role {
        Role {
            id: "r".into(),
            name: "Sales".into(),
            description: None,
            is_system_role: false,
            permissions,
        }
    }

    #[test]
    fn the_system_role_passes_every_check() {
        let admin = Role {
            is_system_role: true,
            ..role(vec![])
        };
        assert!(
            admin
                .check(Requirement::All(&[perm(Resource::Api, Action::Delete)]))
                .is_ok()
        );
    }

    #[test]
    fn a_refusal_names_the_required_permissions_like_the_reference() {
        let reader = role(vec![perm(Resource::Deals, Action::ReadAll)]);
        let read = [
            perm(Resource::Contacts, Action::ReadAll),
            perm(Resource::Contacts, Action::ReadOwn),
        ];
        assert_eq!(
            reader.check(Requirement::Any(&read)).unwrap_err(),
            "Access denied. Required permissions: readAll on contacts OR readOwn on contacts"
        );
        assert!(
            reader
                .check(Requirement::Any(&[perm(Resource::Deals, Action::ReadAll)]))
                .is_ok()
        );
    }
}
