//! Change events: the `changes` diff between two DTOs, and outbox rows.

use serde_json::{Map, Value, json};

use super::Entity;

/// One event to write to the outbox: a record's (`contact.created`, …: the 15 events webhooks may carry) or a
/// custom column's (`custom_column.created`, …: audit only, as in the reference).
#[derive(Debug, Clone)]
pub struct Event {
    /// `contact.created`, …, `custom_column.deleted`.
    pub event: String,
    /// The affected record or column.
    pub entity_id: String,
    /// The payload: the DTO (created, deleted) or `{<entity>: DTO, changes}` (updated; `customColumn` for a
    /// column).
    pub payload: Value,
}

impl Event {
    /// `<entity>.created` with the DTO.
    #[must_use]
    pub fn created(entity: Entity, dto: &Value) -> Self {
        Self {
            event: format!("{}.created", entity.table()),
            entity_id: id_of(dto),
            payload: dto.clone(),
        }
    }

    /// `<entity>.deleted` with the DTO as it was.
    #[must_use]
    pub fn deleted(entity: Entity, dto: &Value) -> Self {
        Self {
            event: format!("{}.deleted", entity.table()),
            entity_id: id_of(dto),
            payload: dto.clone(),
        }
    }

    /// `<entity>.updated` with the DTO and its changes.
    #[must_use]
    pub fn updated(entity: Entity, dto: &Value, changes: Map<String, Value>) -> Self {
        let mut payload = Map::new();
        payload.insert(entity.table().to_owned(), dto.clone());
        payload.insert("changes".to_owned(), Value::Object(changes));
        Self {
            event: format!("{}.updated", entity.table()),
            entity_id: id_of(dto),
            payload: Value::Object(payload),
        }
    }
}

fn id_of(dto: &Value) -> String {
    dto["id"].as_str().unwrap_or_default().to_owned()
}

fn element_key(item: &Value) -> Option<&Value> {
    item.get("id")
        .or_else(|| item.get("columnId"))
        .or_else(|| item.get("key"))
}

/// `field → {previous, current}` for every field that differs. Arrays of keyed objects are compared by key and
/// report only the elements added, removed or changed; other values by equality. `skip` fields are ignored.
#[must_use]
pub fn changes(before: &Value, after: &Value, skip: &[&str]) -> Map<String, Value> {
    let empty = Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let (old, new) = (b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
        if old == new {
            continue;
        }
        let keyed = |v: &Value| {
            v.as_array()
                .is_some_and(|items| !items.is_empty() && items.iter().all(|i| element_key(i).is_some()))
        };
        if (keyed(old) || old.as_array().is_some_and(Vec::is_empty))
            && (keyed(new) || new.as_array().is_some_and(Vec::is_empty))
        {
            let (olds, news) = (
                old.as_array().map_or(&[][..], Vec::as_slice),
                new.as_array().map_or(&[][..], Vec::as_slice),
            );
            let find = |list: &[Value], k: Option<&Value>| list.iter().find(|x| element_key(x) == k).cloned();
            let previous: Vec<Value> = olds
                .iter()
                .filter(|o| find(news, element_key(o)).as_ref() != Some(*o))
                .cloned()
                .collect();
            let current: Vec<Value> = news
                .iter()
                .filter(|n| find(olds, element_key(n)).as_ref() != Some(*n))
                .cloned()
                .collect();
            if previous.is_empty() && current.is_empty() {
                continue;
            }
            out.insert(key.clone(), json!({"previous": previous, "current": current}));
        } else {
            out.insert(key.clone(), json!({"previous": old, "current": new}));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_arrays_report_only_what_moved() {
        let before = json!({"name": "A", "organizations": [{"id": "a", "name": "A"}], "emails": ["x"]});
        let after = json!({"name": "A", "organizations": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}], "emails": ["x"]});
        let diff = changes(&before, &after, &[]);
        assert_eq!(diff.len(), 1);
        assert_eq!(
            diff["organizations"],
            json!({"previous": [], "current": [{"id": "b", "name": "B"}]})
        );
    }

    #[test]
    fn a_changed_element_appears_on_both_sides_and_sets_compare_as_sets() {
        let before = json!({"services": [{"id": "s", "quantity": 1.0}, {"id": "t", "quantity": 2.0}]});
        let after = json!({"services": [{"id": "t", "quantity": 2.0}, {"id": "s", "quantity": 3.0}]});
        let diff = changes(&before, &after, &[]);
        assert_eq!(
            diff["services"],
            json!({"previous": [{"id": "s", "quantity": 1.0}], "current": [{"id": "s", "quantity": 3.0}]})
        );
        let reordered = json!({"services": [{"id": "t", "quantity": 2.0}, {"id": "s", "quantity": 1.0}]});
        assert!(changes(&before, &reordered, &[]).is_empty());
    }

    #[test]
    fn scalars_and_plain_arrays_are_reported_whole_and_skipped_fields_ignored() {
        let before = json!({"emails": ["a"], "notes": null, "updatedAt": "1"});
        let after = json!({"emails": ["a", "b"], "notes": "hi", "updatedAt": "2"});
        let diff = changes(&before, &after, &["updatedAt"]);
        assert_eq!(diff["emails"], json!({"previous": ["a"], "current": ["a", "b"]}));
        assert_eq!(diff["notes"], json!({"previous": null, "current": "hi"}));
        assert!(!diff.contains_key("updatedAt"));
    }
}
