//! Reading records as DTOs: the SurrealQL projection of the entity, then shaping in Rust (`uid` → `id`,
//! `customFields` → `customFieldValues`) and, for a caller, hiding linked records they may not read.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::Entity;
use super::access::{Access, Scope};
use super::spec::Target;
use crate::store::{Db, StoreResult, run};

/// Turns a raw projected row into the wire DTO.
#[must_use]
pub fn shape(raw: Value) -> Value {
    let Value::Object(mut row) = raw else { return raw };
    let mut out = Map::with_capacity(row.len() + 1);
    if let Some(id) = row.remove("uid") {
        out.insert("id".into(), id);
    }
    let custom = row.remove("customFields");
    row.remove("sortMissing");
    row.remove("sortValue");
    for (key, value) in row {
        out.insert(key, value);
    }
    out.insert(
        "customFieldValues".into(),
        custom_field_values(custom.unwrap_or(Value::Null)),
    );
    Value::Object(out)
}

/// The DTO's `customFieldValues` from the stored `customFields` map: `[{columnId, value}]` by column id.
#[must_use]
pub fn custom_field_values(custom: Value) -> Value {
    let values: Vec<Value> = match custom {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs
                .into_iter()
                .map(|(column, value)| json!({"columnId": column, "value": value}))
                .collect()
        }
        _ => Vec::new(),
    };
    Value::Array(values)
}

/// The statement reading records of `$table` by `$ids` with the entity's DTO projection.
#[must_use]
pub fn select_by_ids(entity: Entity) -> String {
    format!(
        "SELECT {} FROM array::map($ids, |$i| type::record($table, $i)) WHERE id != NONE",
        entity.projection()
    )
}

/// Records of one entity by id, shaped, in the order asked (missing ids are skipped).
pub async fn load(db: &impl Db, entity: Entity, ids: &[String]) -> StoreResult<Vec<Value>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut results = run(db, &select_by_ids(entity), json!({"ids": ids, "table": entity.table()})).await?;
    let rows = match results.pop() {
        Some(Value::Array(rows)) => rows,
        _ => Vec::new(),
    };
    Ok(shaped_in_order(rows, ids))
}

/// Raw projected rows shaped as DTOs, in the order of `ids`.
#[must_use]
pub fn shaped_in_order(rows: Vec<Value>, ids: &[String]) -> Vec<Value> {
    let mut shaped: Vec<Value> = rows.into_iter().map(shape).collect();
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    shaped.sort_by_key(|dto| {
        dto["id"]
            .as_str()
            .and_then(|id| position.get(id).copied())
            .unwrap_or(usize::MAX)
    });
    shaped
}

/// Records assigned to a user, per target table, for hiding what a `readOwn` caller may not see.
#[derive(Debug, Default)]
pub struct Visibility {
    own: HashMap<&'static str, HashSet<String>>,
    hidden: HashSet<&'static str>,
    all: HashSet<&'static str>,
}

impl Visibility {
    /// Works out, for every relation target of the entity, what the caller may see.
    pub async fn for_caller(db: &impl Db, entity: Entity, access: &Access) -> StoreResult<Self> {
        let mut visibility = Self::default();
        for relation in entity.relations() {
            let table = relation.target.table();
            match access.target_scope(relation.target) {
                Some(Scope::All) => {
                    visibility.all.insert(table);
                }
                None => {
                    visibility.hidden.insert(table);
                }
                Some(Scope::Own) if relation.target == Target::User => {
                    visibility.own.insert(table, HashSet::from([access.user_id.clone()]));
                }
                Some(Scope::Own) => {
                    if !visibility.own.contains_key(table) {
                        let ids = assigned_ids(db, &access.user_id, table).await?;
                        visibility.own.insert(table, ids);
                    }
                }
            }
        }
        Ok(visibility)
    }

    /// Whether a record of the target table is visible.
    #[must_use]
    pub fn sees(&self, table: &str, id: &str) -> bool {
        if self.all.contains(table) {
            return true;
        }
        self.own.get(table).is_some_and(|ids| ids.contains(id))
    }

    /// Hides invisible linked records inside a DTO.
    pub fn apply(&self, entity: Entity, dto: &mut Value) {
        for relation in entity.relations() {
            let table = relation.target.table();
            if self.all.contains(table) {
                continue;
            }
            if let Some(Value::Array(items)) = dto.get_mut(relation.dto) {
                items.retain(|item| item["id"].as_str().is_some_and(|id| self.sees(table, id)));
            }
        }
    }
}

/// Ids of the records of `table` assigned to a user.
pub async fn assigned_ids(db: &impl Db, user_id: &str, table: &str) -> StoreResult<HashSet<String>> {
    let sql = "RETURN array::distinct((type::record('member', $me))->assigned->?).filter(|$r| record::tb($r) = $table).map(|$r| record::id($r))";
    let mut results = run(db, sql, json!({"me": user_id, "table": table})).await?;
    Ok(match results.pop() {
        Some(Value::Array(ids)) => ids.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => HashSet::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_shaped_for_the_wire() {
        let raw = json!({"uid": "c1", "firstName": "A", "customFields": {"b": "2", "a": "1"}, "sortValue": 1});
        let dto = shape(raw);
        assert_eq!(dto["id"], "c1");
        assert_eq!(
            dto["customFieldValues"],
            json!([{"columnId": "a", "value": "1"}, {"columnId": "b", "value": "2"}])
        );
        assert!(dto.get("sortValue").is_none() && dto.get("uid").is_none());
    }
}
