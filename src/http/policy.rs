//! Permission checks for company routes: the caller's `Access` (the same checks MCP tools use), as 403 errors.

use crate::auth::Caller;
use crate::crm::access::Scope;
use crate::domain::Resource;
use crate::domain::access::Requirement;
use crate::error::{ApiError, Code};

fn forbidden(message: String) -> ApiError {
    ApiError::new(Code::Forbidden, message)
}

/// Refuses with 403 unless the caller's role meets the requirement; the message names the permissions.
pub fn require(caller: &Caller, requirement: Requirement<'_>) -> Result<(), ApiError> {
    caller.access().require(requirement).map_err(forbidden)
}

/// The caller's read scope on a resource, or 403.
pub fn read_scope(caller: &Caller, resource: Resource) -> Result<Scope, ApiError> {
    caller.access().read_scope(resource).map_err(forbidden)
}
