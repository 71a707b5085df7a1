//! System tasks (reference §13.3): a user added to a company as `pendingAuthorization` gets an "approve user" task
//! (type `userPendingAuthorization`, no assignees, so only `readAll(tasks)` sees it, the company's single-select
//! defaults applied). It is deleted when the user leaves that status. Users cannot delete it and renaming it is
//! ignored (see `write`). Opening and closing it emit no task events.

use serde_json::{Map, Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use super::Entity;
use super::custom::Column;
use crate::store::{StoreResult, run};

/// The task's type.
pub const PENDING_AUTHORIZATION: &str = "userPendingAuthorization";

/// The task's name for a user.
#[must_use]
pub fn name(email: &str) -> String {
    format!("User Pending Authorization ({email})")
}

/// Opens the user's pending-authorization task unless it is open already.
pub async fn open(db: &Surreal<Any>, user: &crate::domain::User, columns: &[Column]) -> StoreResult<()> {
    let custom: Map<String, Value> = super::custom::defaults(columns, Entity::Task)
        .into_iter()
        .map(|(column, option)| (column, json!(option)))
        .collect();
    let sql = "IF count(SELECT VALUE id FROM task WHERE type = $type AND relatedUserId = $user) = 0 {
            CREATE type::record('task', $id) CONTENT {name: $name, type: $type, relatedUserId: $user, customFields: $custom};
        };";
    run(
        db,
        sql,
        json!({"id": uuid::Uuid::new_v4().to_string(), "type": PENDING_AUTHORIZATION, "user": user.id,
               "name": name(&user.email), "custom": custom}),
    )
    .await?;
    Ok(())
}

/// Deletes the user's pending-authorization task, if any.
pub async fn close(db: &Surreal<Any>, user_id: &str) -> StoreResult<()> {
    run(
        db,
        "DELETE task WHERE type = $type AND relatedUserId = $user;",
        json!({"type": PENDING_AUTHORIZATION, "user": user_id}),
    )
    .await?;
    Ok(())
}

/// Makes the approval tasks match the users' statuses: closes every task whose user is not pending any more, and
/// opens the missing ones (for users added or approved while the company was suspended).
pub async fn reconcile(db: &Surreal<Any>, pending: &[crate::domain::User], columns: &[Column]) -> StoreResult<()> {
    let ids: Vec<&str> = pending.iter().map(|u| u.id.as_str()).collect();
    run(
        db,
        "DELETE task WHERE type = $type AND relatedUserId NOT IN $pending;",
        json!({"type": PENDING_AUTHORIZATION, "pending": ids}),
    )
    .await?;
    for user in pending {
        open(db, user, columns).await?;
    }
    Ok(())
}
