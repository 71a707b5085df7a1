//! Create and update items: parsed from JSON objects into checked values, with an error path per field.

use serde_json::{Map, Value, json};

use super::Entity;
use super::custom::Column;
use super::notes;
use super::spec::Relation;
use crate::error::ErrorDetail;

/// The largest service amount. With [`MAX_QUANTITY`], a deal's totals (amount × quantity, summed over its lines)
/// stay finite numbers: without the bounds, `1e308 × 2` was stored as infinity and answered as `null`.
const MAX_AMOUNT: f64 = 1e15;
const MAX_AMOUNT_MESSAGE: &str = "must be at most 1000000000000000 (10^15)";
/// The most ids of one relationship array (or service lines of one deal) in one create or update.
const MAX_LINKS: usize = 1_000;
/// The most email addresses of one contact.
const MAX_EMAILS: usize = 100;
/// The largest quantity of a deal's service line.
const MAX_QUANTITY: f64 = 1e9;
const MAX_QUANTITY_MESSAGE: &str = "must be at most 1000000000 (10^9)";

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new record: required fields must be there.
    Create,
    /// A change: `id` required, everything else optional.
    Update,
}

/// What `null` on a relationship array means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// REST: clear.
    Clear,
    /// MCP: refuse (it would wipe the relationship by accident).
    Refuse,
}

/// Custom field changes of an item.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum CustomPatch {
    /// Leave all values.
    #[default]
    Keep,
    /// Per-column merge: `None` clears the column.
    Merge(Vec<(String, Option<String>)>),
    /// Remove every value (REST `customFieldValues: null`).
    ClearAll,
}

/// A checked item.
#[derive(Debug, Clone)]
pub struct Item {
    /// Record id (given for updates, generated for creates).
    pub id: String,
    /// Scalar fields to set.
    pub set: Map<String, Value>,
    /// Notes: `None` keep, `Some(None)` clear, `Some(Some(markdown))` set.
    pub notes: Option<Option<String>>,
    /// Custom values.
    pub custom: CustomPatch,
    /// Relations to replace (an empty list clears).
    pub relations: Vec<(&'static Relation, Vec<String>)>,
    /// Deal service lines to replace: (service id, quantity).
    pub services: Option<Vec<(String, f64)>>,
}

/// The guard message for `null` on a relationship array (reference wording).
#[must_use]
pub fn null_guard(field: &str) -> String {
    format!(
        "Refusing to set '{field}' to null — that would wipe the relationship. Omit the field to keep existing links, pass [] to explicitly clear, or use unlink_entities to remove specific ids."
    )
}

struct Parser<'a> {
    path: String,
    details: Vec<ErrorDetail>,
    columns: &'a [Column],
}

impl Parser<'_> {
    fn at(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    fn fail(&mut self, field: &str, message: impl Into<String>) {
        let path = self.at(field);
        self.details.push(ErrorDetail {
            path,
            message: message.into(),
        });
    }

    fn text(&mut self, obj: &Map<String, Value>, field: &str, required: bool, min: usize) -> Option<String> {
        match obj.get(field) {
            None if required => {
                self.fail(field, "is required");
                None
            }
            None => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                let n = s.chars().count();
                if n < min || n > 200 {
                    self.fail(field, format!("must be {min} to 200 characters"));
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    fn ids(&mut self, field: &str, value: &Value, nulls: Nulls) -> Option<Vec<String>> {
        match value {
            Value::Null if nulls == Nulls::Clear => Some(Vec::new()),
            Value::Null => {
                self.fail(field, null_guard(field));
                None
            }
            Value::Array(items) if items.len() > MAX_LINKS => {
                self.fail(field, format!("must hold at most {MAX_LINKS} ids"));
                None
            }
            Value::Array(items) => {
                let mut ids: Vec<String> = Vec::with_capacity(items.len());
                let mut seen = std::collections::HashSet::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    match item.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
                        Some(id) => {
                            if seen.insert(id) {
                                ids.push(id.to_string());
                            }
                        }
                        None => self.fail(&format!("{field}[{j}]"), "must be a UUID"),
                    }
                }
                Some(ids)
            }
            _ => {
                self.fail(field, "must be an array of UUIDs");
                None
            }
        }
    }

    fn number(&mut self, field: &str, value: &Value) -> Option<f64> {
        let n = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        if n.is_none_or(|n| !n.is_finite()) {
            self.fail(field, "must be a number");
            return None;
        }
        n
    }

    fn services(&mut self, value: &Value, nulls: Nulls) -> Option<Vec<(String, f64)>> {
        let items = match value {
            Value::Null if nulls == Nulls::Clear => return Some(Vec::new()),
            Value::Null => {
                self.fail("services", null_guard("services"));
                return None;
            }
            Value::Array(items) if items.len() > MAX_LINKS => {
                self.fail("services", format!("must hold at most {MAX_LINKS} lines"));
                return None;
            }
            Value::Array(items) => items,
            _ => {
                self.fail("services", "must be an array of {serviceId, quantity}");
                return None;
            }
        };
        let mut lines: Vec<(String, f64)> = Vec::with_capacity(items.len());
        for (j, item) in items.iter().enumerate() {
            let at = format!("services[{j}]");
            let Some(obj) = item.as_object() else {
                self.fail(&at, "must be an object {serviceId, quantity}");
                continue;
            };
            if let Some(unknown) = obj.keys().find(|k| !matches!(k.as_str(), "serviceId" | "quantity")) {
                self.fail(
                    &format!("{at}.{unknown}"),
                    "is not a field of a service line (serviceId, quantity)",
                );
            }
            let id = obj
                .get("serviceId")
                .and_then(Value::as_str)
                .and_then(|s| uuid::Uuid::parse_str(s).ok());
            let Some(id) = id else {
                self.fail(&format!("{at}.serviceId"), "must be a UUID");
                continue;
            };
            let quantity = match obj.get("quantity") {
                None | Some(Value::Null) => Some(1.0),
                Some(q) => self.number(&format!("{at}.quantity"), q),
            };
            match quantity {
                Some(q) if q < 0.0 => self.fail(&format!("{at}.quantity"), "must be 0 or more"),
                Some(q) if q > MAX_QUANTITY => self.fail(&format!("{at}.quantity"), MAX_QUANTITY_MESSAGE),
                Some(q) => {
                    let id = id.to_string();
                    match lines.iter_mut().find(|(s, _)| *s == id) {
                        Some(line) => line.1 = q,
                        None => lines.push((id, q)),
                    }
                }
                None => {}
            }
        }
        Some(lines)
    }

    fn custom(&mut self, entity: Entity, value: &Value, nulls: Nulls) -> CustomPatch {
        let items = match value {
            Value::Null if nulls == Nulls::Clear => return CustomPatch::ClearAll,
            Value::Null => {
                self.fail(
                    "customFieldValues",
                    "must be an array; omit it to keep values, or pass {columnId, value: null} to clear one",
                );
                return CustomPatch::Keep;
            }
            Value::Array(items) => items,
            _ => {
                self.fail("customFieldValues", "must be an array of {columnId, value}");
                return CustomPatch::Keep;
            }
        };
        let mut merged: Vec<(String, Option<String>)> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("customFieldValues[{i}]");
            let Some(obj) = item.as_object() else {
                self.fail(&at, "must be an object {columnId, value}");
                continue;
            };
            if let Some(unknown) = obj.keys().find(|k| !matches!(k.as_str(), "columnId" | "value")) {
                self.fail(
                    &format!("{at}.{unknown}"),
                    "is not a field of a custom value (columnId, value)",
                );
            }
            let column_id = super::custom::column_key(obj.get("columnId").and_then(Value::as_str).unwrap_or_default());
            let Some(column) = self
                .columns
                .iter()
                .find(|c| c.id == column_id && c.entity_type == entity)
            else {
                let available: Vec<String> = self
                    .columns
                    .iter()
                    .filter(|c| c.entity_type == entity)
                    .map(Column::describe)
                    .collect();
                self.fail(
                    &format!("{at}.columnId"),
                    format!(
                        "Custom column ID not found or not accessible. Available columns: {}.",
                        available.join(", ")
                    ),
                );
                continue;
            };
            let value = match obj.get("value") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => match column.check_value(s) {
                    Ok(v) => Some(v),
                    Err(message) => {
                        self.fail(&format!("{at}.value"), message);
                        continue;
                    }
                },
                Some(Value::Number(n)) => match column.check_value(&n.to_string()) {
                    Ok(v) => Some(v),
                    Err(message) => {
                        self.fail(&format!("{at}.value"), message);
                        continue;
                    }
                },
                Some(_) => {
                    self.fail(&format!("{at}.value"), "must be a string or null");
                    continue;
                }
            };
            merged.retain(|(c, _)| c != &column.id);
            merged.push((column.id.clone(), value));
        }
        CustomPatch::Merge(merged)
    }
}

fn scalar_keys(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Contact => &["firstName", "lastName", "emails"],
        Entity::Service => &["name", "amount"],
        _ => &["name"],
    }
}

/// Parses one create or update item of an entity.
pub fn parse_item(
    entity: Entity,
    value: &Value,
    path: &str,
    mode: Mode,
    nulls: Nulls,
    columns: &[Column],
) -> Result<Item, Vec<ErrorDetail>> {
    let mut p = Parser {
        path: path.to_owned(),
        details: Vec::new(),
        columns,
    };
    let Some(obj) = value.as_object() else {
        return Err(vec![ErrorDetail {
            path: path.to_owned(),
            message: "must be an object".into(),
        }]);
    };
    let relation_keys: Vec<&str> = entity
        .relations()
        .iter()
        .filter(|r| !(entity == Entity::Deal && r.field == "serviceIds"))
        .map(|r| r.field)
        .collect();
    for key in obj.keys() {
        let known = scalar_keys(entity).contains(&key.as_str())
            || relation_keys.contains(&key.as_str())
            || matches!(key.as_str(), "notes" | "customFieldValues")
            || (key == "id" && mode == Mode::Update)
            || (key == "services" && entity == Entity::Deal);
        if !known {
            let mut allowed: Vec<&str> = scalar_keys(entity).to_vec();
            allowed.extend(relation_keys.iter());
            if entity == Entity::Deal {
                allowed.push("services");
            }
            allowed.extend(["notes", "customFieldValues"]);
            if mode == Mode::Update {
                allowed.insert(0, "id");
            }
            let hint = match key.as_str() {
                "totalValue" | "totalQuantity" => " (deal totals are computed from the service lines)".to_owned(),
                _ => String::new(),
            };
            p.fail(
                key,
                format!(
                    "is not a field of {}{hint}; allowed: {}",
                    entity.plural(),
                    allowed.join(", ")
                ),
            );
        }
    }
    let id = if mode == Mode::Update {
        match obj
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
        {
            Some(id) => id.to_string(),
            None => {
                p.fail("id", "is required and must be a UUID");
                String::new()
            }
        }
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    let create = mode == Mode::Create;
    let mut set = Map::new();
    match entity {
        Entity::Contact => {
            if let Some(first) = p.text(obj, "firstName", create, 1) {
                set.insert("firstName".into(), json!(first));
            }
            if let Some(last) = p.text(obj, "lastName", false, 0) {
                set.insert("lastName".into(), json!(last));
            }
            match obj.get("emails") {
                // `null` leaves the emails as they are (the reference's rule); `[]` clears them.
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) if items.len() > MAX_EMAILS => {
                    p.fail("emails", format!("must hold at most {MAX_EMAILS} addresses"));
                }
                Some(Value::Array(items)) => {
                    let mut emails: Vec<String> = Vec::new();
                    for (j, item) in items.iter().enumerate() {
                        let email = item.as_str().map(|e| e.trim().to_lowercase()).unwrap_or_default();
                        if crate::domain::user::is_email(&email) {
                            if !emails.contains(&email) {
                                emails.push(email);
                            }
                        } else {
                            p.fail(&format!("emails[{j}]"), "is not a valid email");
                        }
                    }
                    set.insert("emails".into(), json!(emails));
                }
                Some(_) => p.fail("emails", "must be an array of emails"),
            }
        }
        _ => {
            if let Some(name) = p.text(obj, "name", create, 1) {
                set.insert("name".into(), json!(name));
            }
            if entity == Entity::Service {
                match obj.get("amount") {
                    None if create => p.fail("amount", "is required"),
                    None => {}
                    Some(value) => match p.number("amount", value) {
                        Some(amount) if amount > 0.0 && amount <= MAX_AMOUNT => {
                            set.insert("amount".into(), json!(amount));
                        }
                        Some(amount) if amount > 0.0 => p.fail("amount", MAX_AMOUNT_MESSAGE),
                        Some(_) => p.fail("amount", "must be greater than 0"),
                        None => {}
                    },
                }
            }
        }
    }
    let notes = match obj.get("notes") {
        None => None,
        Some(value) => match notes::parse(value) {
            Ok(markdown) => Some(markdown),
            Err(message) => {
                p.fail("notes", message);
                None
            }
        },
    };
    let custom = match obj.get("customFieldValues") {
        None => CustomPatch::Keep,
        Some(value) => p.custom(entity, value, nulls),
    };
    let mut relations = Vec::new();
    for relation in entity.relations() {
        if entity == Entity::Deal && relation.field == "serviceIds" {
            continue;
        }
        if let Some(value) = obj.get(relation.field)
            && let Some(ids) = p.ids(relation.field, value, nulls)
        {
            relations.push((relation, ids));
        }
    }
    let services = match (entity, obj.get("services")) {
        (Entity::Deal, Some(value)) => p.services(value, nulls),
        _ => None,
    };
    if p.details.is_empty() {
        Ok(Item {
            id,
            set,
            notes,
            custom,
            relations,
            services,
        })
    } else {
        Err(p.details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_item_is_checked_field_by_field() {
        let bad = json!({"lastName": 3, "emails": ["x"], "organizationIds": ["nope"], "color": "red"});
        let details = parse_item(Entity::Contact, &bad, "contacts[2]", Mode::Create, Nulls::Clear, &[]).unwrap_err();
        let paths: Vec<&str> = details.iter().map(|d| d.path.as_str()).collect();
        for expected in [
            "contacts[2].color",
            "contacts[2].firstName",
            "contacts[2].lastName",
            "contacts[2].emails[0]",
            "contacts[2].organizationIds[0]",
        ] {
            assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
        }
    }

    #[test]
    fn null_relations_are_cleared_on_rest_and_refused_on_mcp() {
        let item = json!({"id": uuid::Uuid::new_v4().to_string(), "organizationIds": null});
        let rest = parse_item(Entity::Contact, &item, "", Mode::Update, Nulls::Clear, &[]).unwrap();
        assert_eq!(rest.relations[0].1, Vec::<String>::new());
        let mcp = parse_item(Entity::Contact, &item, "", Mode::Update, Nulls::Refuse, &[]).unwrap_err();
        assert!(mcp[0].message.starts_with("Refusing to set 'organizationIds' to null"));
    }

    #[test]
    fn duplicate_ids_and_service_lines_are_merged() {
        let id = uuid::Uuid::new_v4().to_string();
        let item = json!({"name": "D", "contactIds": [id, id], "services": [{"serviceId": id}, {"serviceId": id, "quantity": "2.5"}]});
        let parsed = parse_item(Entity::Deal, &item, "", Mode::Create, Nulls::Clear, &[]).unwrap();
        assert_eq!(
            parsed
                .relations
                .iter()
                .find(|(r, _)| r.field == "contactIds")
                .unwrap()
                .1
                .len(),
            1
        );
        assert_eq!(parsed.services.unwrap(), vec![(id, 2.5)]);
        let totals = json!({"name": "D", "totalValue": 3});
        assert!(parse_item(Entity::Deal, &totals, "", Mode::Create, Nulls::Clear, &[]).is_err());
    }
}
