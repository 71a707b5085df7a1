//! Custom column storage: list, create, update (with single-select reassignment and default backfill), delete.

use serde_json::{Value, json};
use surrealdb::types::{SurrealValue, Value as DbValue};

use super::Entity;
use super::custom::{Column, ColumnType};
use super::write::WRITE_OUTBOX;
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

const BACKFILL: &str = "UPDATE type::table($table) SET customFields[$column] = $default WHERE customFields[$column] = NONE AND $default != NONE";

/// Stores a new column and backfills its single-select default, with its events (`outbox`, rows of
/// [`super::write::Writer::outbox_rows`]), in one transaction.
pub async fn create(db: &impl Db, column: &Column, outbox: DbValue) -> StoreResult<()> {
    let mut content = json!({"label": column.label, "entityType": column.entity_type, "type": column.kind});
    if let Some(options) = &column.options {
        content["options"] = options.clone();
    }
    let mut vars =
        json!({"id": column.id, "content": content, "table": column.entity_type.table(), "column": column.id});
    if let Some(default) = column.default_option() {
        vars["default"] = json!(default);
    }
    let statements = [
        "CREATE type::record('custom_column', $id) CONTENT $content".to_owned(),
        BACKFILL.to_owned(),
    ];
    commit(db, &statements, vars, outbox).await
}

/// Stores a changed column with its events, in one transaction. For single-select columns, values whose option
/// disappeared move to the default option (or are removed when there is none), then the default is backfilled.
pub async fn update(db: &impl Db, column: &Column, outbox: DbValue) -> StoreResult<()> {
    let mut vars =
        json!({"id": column.id, "label": column.label, "table": column.entity_type.table(), "column": column.id});
    let set_options = match &column.options {
        Some(options) => {
            vars["options"] = options.clone();
            "options = $options"
        }
        None => "options = NONE",
    };
    let mut statements = vec![format!(
        "UPDATE type::record('custom_column', $id) SET label = $label, {set_options}, updatedAt = time::now()"
    )];
    if column.kind == ColumnType::SingleSelect {
        let values: Vec<String> = column.select_options().into_iter().map(|(v, _)| v).collect();
        vars["values"] = json!(values);
        let stale = "customFields[$column] != NONE AND customFields[$column] NOT IN $values";
        match column.default_option() {
            Some(default) => {
                vars["default"] = json!(default);
                statements.push(format!(
                    "UPDATE type::table($table) SET customFields[$column] = $default WHERE {stale}"
                ));
                statements.push(BACKFILL.to_owned());
            }
            None => statements.push(format!(
                "UPDATE type::table($table) SET customFields = object::remove(customFields, $column) WHERE {stale}"
            )),
        }
    }
    commit(db, &statements, vars, outbox).await
}

/// How many records hold several values in this column: comma-separated parts (for links, parts that are each a URL).
pub async fn lists_held(db: &impl Db, column: &Column) -> StoreResult<u64> {
    let vars = json!({"table": column.entity_type.table(), "column": column.id});
    if column.kind == ColumnType::Link {
        // A URL may hold a comma: only values that read as several URLs count.
        let sql = "SELECT VALUE customFields[$column] FROM type::table($table) \
                   WHERE string::contains(customFields[$column] ?? '', ',')";
        let values = run(db, sql, vars).await?.pop().unwrap_or(Value::Null);
        let lists = values.as_array().map_or(0, |v| {
            v.iter()
                .filter(|v| v.as_str().is_some_and(super::custom::several_links))
                .count()
        });
        return Ok(u64::try_from(lists).unwrap_or(u64::MAX));
    }
    let sql = "RETURN count(SELECT VALUE id FROM type::table($table) \
               WHERE string::contains(customFields[$column] ?? '', ','))";
    Ok(run(db, sql, vars).await?.pop().and_then(|v| v.as_u64()).unwrap_or(0))
}

/// Deletes a column and all its values, with its events, in one transaction.
pub async fn delete(db: &impl Db, column: &Column, outbox: DbValue) -> StoreResult<()> {
    let statements = [
        "UPDATE type::table($table) SET customFields = object::remove(customFields, $column) \
         WHERE customFields[$column] != NONE"
            .to_owned(),
        "DELETE type::record('custom_column', $column)".to_owned(),
    ];
    let vars = json!({"table": column.entity_type.table(), "column": column.id});
    commit(db, &statements, vars, outbox).await
}

/// Runs a column's statements and writes the outbox rows of its events, in one transaction.
async fn commit(db: &impl Db, statements: &[String], vars: Value, outbox: DbValue) -> StoreResult<()> {
    let mut sql = String::from("BEGIN TRANSACTION;\n");
    for statement in statements {
        sql.push_str(statement);
        sql.push_str(";\n");
    }
    sql.push_str(WRITE_OUTBOX);
    sql.push_str(";\nCOMMIT TRANSACTION;");
    let mut vars = vars.into_value();
    if let DbValue::Object(vars) = &mut vars {
        vars.insert("outbox".to_owned(), outbox);
    }
    run(db, &sql, vars).await?;
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
