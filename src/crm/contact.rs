//! Contacts: people, linked to organizations, deals, tasks and assigned users.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use utoipa::ToSchema;

use super::Page;
use crate::error::ErrorDetail;
use crate::store::{StoreResult, one, rows, run};

/// A contact to create, checked.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// Generated id.
    pub id: String,
    /// Required, trimmed, 1–200 characters.
    pub first_name: String,
    /// Trimmed, may be empty.
    pub last_name: String,
    /// Lowercased, de-duplicated emails.
    pub emails: Vec<String>,
    /// Markdown notes.
    pub notes: Option<String>,
}

impl NewContact {
    /// Checks one create item; problems carry paths under `prefix` (e.g. `contacts[2]`).
    pub fn parse(
        prefix: &str,
        first_name: &str,
        last_name: Option<&str>,
        emails: &[String],
        notes: Option<&str>,
    ) -> Result<Self, Vec<ErrorDetail>> {
        let mut problems = Vec::new();
        let at = |field: &str| {
            if prefix.is_empty() {
                field.to_owned()
            } else {
                format!("{prefix}.{field}")
            }
        };
        let first_name = first_name.trim().to_owned();
        if first_name.is_empty() || first_name.chars().count() > 200 {
            problems.push(ErrorDetail {
                path: at("firstName"),
                message: "must be 1 to 200 characters".into(),
            });
        }
        let last_name = last_name.unwrap_or_default().trim().to_owned();
        if last_name.chars().count() > 200 {
            problems.push(ErrorDetail {
                path: at("lastName"),
                message: "must be at most 200 characters".into(),
            });
        }
        let mut clean = Vec::with_capacity(emails.len());
        for (index, email) in emails.iter().enumerate() {
            let email = email.trim().to_lowercase();
            if !crate::domain::user::is_email(&email) {
                problems.push(ErrorDetail {
                    path: at(&format!("emails[{index}]")),
                    message: "is not a valid email".into(),
                });
            } else if !clean.contains(&email) {
                clean.push(email);
            }
        }
        let notes = notes.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if notes.as_ref().is_some_and(|n| n.chars().count() > 65_535) {
            problems.push(ErrorDetail {
                path: at("notes"),
                message: "Notes content exceeds maximum length".into(),
            });
        }
        if problems.is_empty() {
            Ok(Self {
                id: uuid::Uuid::new_v4().to_string(),
                first_name,
                last_name,
                emails: clean,
                notes,
            })
        } else {
            Err(problems)
        }
    }
}

/// A reference to a linked record: id and display name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NamedRef {
    /// Record id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A reference to an assigned user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    /// User id.
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: String,
}

/// A reference to a linked task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskRef {
    /// Task id.
    pub id: String,
    /// Task name.
    pub name: String,
    /// `custom` or `userPendingAuthorization`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One custom column's value on a record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldValue {
    /// Custom column id.
    pub column_id: String,
    /// Stored value.
    pub value: String,
}

/// A contact as returned by the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Contact id (UUID).
    #[serde(alias = "uid")]
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email addresses.
    pub emails: Vec<String>,
    /// Markdown notes.
    pub notes: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Linked organizations.
    pub organizations: Vec<NamedRef>,
    /// Assigned users.
    pub users: Vec<UserRef>,
    /// Linked deals.
    pub deals: Vec<NamedRef>,
    /// Linked tasks.
    pub tasks: Vec<TaskRef>,
    /// Custom column values.
    #[serde(default, deserialize_with = "custom_values")]
    pub custom_field_values: Vec<CustomFieldValue>,
}

/// Reads the stored `customFields` object as a list of `{columnId, value}`.
fn custom_values<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<CustomFieldValue>, D::Error> {
    let map = Option::<Map<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .filter_map(|(column_id, value)| {
            value.as_str().map(|v| CustomFieldValue {
                column_id,
                value: v.to_owned(),
            })
        })
        .collect())
}

/// The projection that builds a contact DTO from the record and its edges.
/// (The key is projected as `uid`: aliasing over `id` would break the graph projections when sorting by `id`.)
const DTO: &str = "record::id(id) AS uid, firstName, lastName, emails, notes, createdAt, updatedAt,
    ->works_at->organization.{id: record::id(id), name} AS organizations,
    <-assigned<-member.{id: record::id(id), firstName, lastName, email} AS users,
    ->contact_deal->deal.{id: record::id(id), name} AS deals,
    <-task_link<-task.{id: record::id(id), name, type} AS tasks,
    customFields AS customFieldValues";

/// Creates contacts in one transaction and returns them.
pub async fn create(db: &Surreal<Any>, items: &[NewContact]) -> StoreResult<Vec<Contact>> {
    let rows_in: Vec<Value> = items
        .iter()
        .map(|c| {
            let mut row = json!({"id": c.id, "firstName": c.first_name, "lastName": c.last_name, "emails": c.emails});
            if let Some(notes) = &c.notes {
                row["notes"] = json!(notes);
            }
            row
        })
        .collect();
    const CREATE: &str = "BEGIN TRANSACTION;
        FOR $c IN $items {
            CREATE type::record('contact', $c.id) SET firstName = $c.firstName, lastName = $c.lastName,
                emails = $c.emails, notes = $c.notes;
        };
        COMMIT TRANSACTION;";
    run(db, CREATE, json!({"items": rows_in})).await?;
    let ids: Vec<&str> = items.iter().map(|c| c.id.as_str()).collect();
    by_ids(db, &ids).await
}

/// Contacts with these ids, in the given order (missing ids are skipped).
pub async fn by_ids(db: &Surreal<Any>, ids: &[&str]) -> StoreResult<Vec<Contact>> {
    let sql = format!("SELECT {DTO} FROM array::map($ids, |$i| type::record('contact', $i))");
    let mut found: Vec<Contact> = rows(db, &sql, json!({"ids": ids})).await?;
    found.sort_by_key(|c| ids.iter().position(|id| *id == c.id));
    Ok(found)
}

/// One contact.
pub async fn get(db: &Surreal<Any>, id: &str) -> StoreResult<Option<Contact>> {
    one(
        db,
        &format!("SELECT {DTO} FROM ONLY type::record('contact', $id)"),
        json!({"id": id}),
    )
    .await
}

/// One page, newest first (ties broken by id), read in index order.
pub async fn list(db: &Surreal<Any>, page: Page) -> StoreResult<Vec<Contact>> {
    let sql = format!("SELECT {DTO} FROM contact ORDER BY createdAt DESC, id LIMIT $limit START $start");
    rows(db, &sql, json!({"limit": page.page_size, "start": page.start()})).await
}

/// One page of the contacts assigned to a user, newest first, with their number.
pub async fn list_assigned(db: &Surreal<Any>, member_id: &str, page: Page) -> StoreResult<(Vec<Contact>, u64)> {
    let sql = format!(
        "LET $own = array::distinct(type::record('member', $member)->assigned->contact);
         SELECT {DTO} FROM $own ORDER BY createdAt DESC, id LIMIT $limit START $start;
         RETURN count($own);"
    );
    let mut results = run(
        db,
        &sql,
        json!({"member": member_id, "limit": page.page_size, "start": page.start()}),
    )
    .await?;
    let total = results.pop().and_then(|v| v.as_u64()).unwrap_or(0);
    let items = results
        .pop()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or_default();
    Ok((items, total))
}

/// Whether a contact is assigned to a user.
pub async fn is_assigned(db: &Surreal<Any>, member_id: &str, contact_id: &str) -> StoreResult<bool> {
    let sql = "RETURN type::record('contact', $id) IN type::record('member', $member)->assigned->contact";
    Ok(one::<bool>(db, sql, json!({"id": contact_id, "member": member_id}))
        .await?
        .unwrap_or(false))
}
