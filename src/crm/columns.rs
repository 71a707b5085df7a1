//! Custom column storage: list, create, update (with single-select reassignment and default backfill), delete.

use serde_json::{Value, json};

use super::Entity;
use super::custom::{Column, ColumnType};
use crate::store::{Db, StoreResult, rows, run};

const FIELDS: &str = "record::id(id) AS uid, label, entityType, type, options";

/// Every column of the company, by entity type then label.
pub async fn list(db: &impl Db) -> StoreResult<Vec<Column>> {
    rows(
        db,
        &format!("SELECT {FIELDS} FROM custom_column ORDER BY entityType, label"),
        json!({}),
    )
    .await
}

/// Backfills a single-select default into records without a value.
async fn backfill(db: &impl Db, column: &Column) -> StoreResult<()> {
    if let Some(default) = column.default_option() {
        let sql = "UPDATE type::table($table) SET customFields[$column] = $default WHERE customFields[$column] = NONE";
        run(
            db,
            sql,
            json!({"table": column.entity_type.table(), "column": column.id, "default": default}),
        )
        .await?;
    }
    Ok(())
}

/// Stores a new column and backfills its default.
pub async fn create(db: &impl Db, column: &Column) -> StoreResult<()> {
    let mut content = json!({"label": column.label, "entityType": column.entity_type, "type": column.kind});
    if let Some(options) = &column.options {
        content["options"] = options.clone();
    }
    run(
        db,
        "CREATE type::record('custom_column', $id) CONTENT $content",
        json!({"id": column.id, "content": content}),
    )
    .await?;
    backfill(db, column).await
}

/// Stores a changed column. For single-select columns, values whose option disappeared move to the default
/// option (or are removed when there is none), then the default is backfilled.
pub async fn update(db: &impl Db, column: &Column) -> StoreResult<()> {
    let mut vars = json!({"id": column.id, "label": column.label});
    let sql = match &column.options {
        Some(options) => {
            vars["options"] = options.clone();
            "UPDATE type::record('custom_column', $id) SET label = $label, options = $options, updatedAt = time::now()"
        }
        None => "UPDATE type::record('custom_column', $id) SET label = $label, options = NONE, updatedAt = time::now()",
    };
    run(db, sql, vars).await?;
    if column.kind == ColumnType::SingleSelect {
        let values: Vec<String> = column.select_options().into_iter().map(|(v, _)| v).collect();
        let vars = json!({"table": column.entity_type.table(), "column": column.id, "values": values});
        match column.default_option() {
            Some(default) => {
                let mut vars = vars;
                vars["default"] = json!(default);
                let sql = "UPDATE type::table($table) SET customFields[$column] = $default
                           WHERE customFields[$column] != NONE AND customFields[$column] NOT IN $values";
                run(db, sql, vars).await?;
            }
            None => {
                let sql = "UPDATE type::table($table) SET customFields = object::remove(customFields, $column)
                           WHERE customFields[$column] != NONE AND customFields[$column] NOT IN $values";
                run(db, sql, vars).await?;
            }
        }
        backfill(db, column).await?;
    }
    Ok(())
}

/// Deletes a column and all its values.
pub async fn delete(db: &impl Db, column: &Column) -> StoreResult<()> {
    let sql = "UPDATE type::table($table) SET customFields = object::remove(customFields, $column) WHERE customFields[$column] != NONE;
               DELETE type::record('custom_column', $column);";
    run(
        db,
        sql,
        json!({"table": column.entity_type.table(), "column": column.id}),
    )
    .await?;
    Ok(())
}

/// The column's DTO: `{id, label, entityType, type, options}`.
#[must_use]
pub fn dto(column: &Column) -> Value {
    json!({"id": column.id, "label": column.label, "entityType": column.entity_type, "type": column.kind, "options": column.options})
}

/// Columns of one entity.
#[must_use]
pub fn of(columns: &[Column], entity: Entity) -> Vec<Column> {
    columns.iter().filter(|c| c.entity_type == entity).cloned().collect()
}
