//! Permission checks for company routes.

use crate::auth::Caller;
use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource};
use crate::error::{ApiError, Code};

/// Refuses with 403 unless the caller's role meets the requirement; the message names the permissions.
pub fn require(caller: &Caller, requirement: Requirement<'_>) -> Result<(), ApiError> {
    let denied = |pairs: &[crate::domain::Permission], joiner: &str| {
        let wanted: Vec<String> = pairs
            .iter()
            .map(|p| format!("{} on {}", p.action.as_str(), p.resource.as_str()))
            .collect();
        ApiError::new(
            Code::Forbidden,
            format!("Access denied. Required permissions: {}", wanted.join(joiner)),
        )
    };
    match &caller.role {
        Some(role) => role
            .check(requirement)
            .map_err(|message| ApiError::new(Code::Forbidden, message)),
        None => Err(match requirement {
            Requirement::All(pairs) => denied(pairs, " AND "),
            Requirement::Any(pairs) => denied(pairs, " OR "),
        }),
    }
}

/// How much of a resource the caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadScope {
    /// Every record of the company.
    All,
    /// Only records the caller is assigned to.
    Own,
}

/// The caller's read scope on a resource, or 403.
pub fn read_scope(caller: &Caller, resource: Resource) -> Result<ReadScope, ApiError> {
    let pairs = [perm(resource, Action::ReadAll), perm(resource, Action::ReadOwn)];
    require(caller, Requirement::Any(&pairs))?;
    let all = caller
        .role
        .as_ref()
        .is_some_and(|r| r.allows(resource, Action::ReadAll));
    Ok(if all { ReadScope::All } else { ReadScope::Own })
}
