//! The query engine: filters, search, sort and paging compiled to SurrealQL with bound parameters only.
//!
//! Relationship filters start from the related records and follow their edges
//! (`$orgs<-works_at<-contact`), giving id sets that are intersected; the page is then read from that set.
//! The per-row `WHERE ->edge->…` form is 100–200× slower (see the SurrealDB notes), so it is only used for the
//! valueless "has any / has no links" operators.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use surrealdb::types::{RecordId, ToSql};
use utoipa::ToSchema;

use super::access::{Access, Scope};
use super::custom::{Column, ColumnType, column_key, instant, is_date, is_datetime};
use super::spec::{OrderedEdge, Relation, Target};
use super::text_index::{Matches, tokens};
use super::{Entity, Page};
use crate::error::ErrorDetail;

/// One filter: `{field, operator, value?}`. Filters are AND-combined.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// A filterable field (see the entity's configuration) or a custom column id.
    #[serde(deserialize_with = "field_name")]
    pub field: String,
    /// One of: equals, contains, gt, gte, lt, lte, in, notIn, between, hasNone, hasSome, isNull, isNotNull, inLastDays.
    pub operator: String,
    /// A string, a number, or an array of them, depending on the operator.
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// A custom column's label, as the entries of `filterableFields` carry it (so one can be sent back as a filter);
    /// not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Sort order: `{field, direction}`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SortDescriptor {
    /// A sortable field or a custom column id.
    #[serde(deserialize_with = "field_name")]
    pub field: String,
    /// `asc` or `desc`.
    pub direction: Direction,
}

/// A field name, with a custom column id in the form it is stored in ([`column_key`]).
fn field_name<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let raw = String::deserialize(deserializer)?;
    Ok(column_key(&raw).into_owned())
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Paging: `{page ≥ 1, pageSize 1–100}`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageRequest {
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 100).
    pub page_size: Option<u32>,
}

/// A search request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryInput {
    /// AND-combined filters.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Whitespace-separated words; each must appear (case-insensitive) in one of the entity's name fields.
    pub search_term: Option<String>,
    /// Sort order (default: name ascending; tasks: updatedAt descending). Ties are broken by id.
    pub sort_descriptor: Option<SortDescriptor>,
    /// Which page.
    pub pagination: Option<PageRequest>,
    /// Read only ids and names (for tools that list `{id, name}`), not whole records.
    #[serde(skip)]
    #[schema(ignore)]
    pub brief: bool,
}

/// A field that can be filtered on, with its operators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilterableField {
    /// The field name or custom column id.
    pub field: String,
    /// Allowed operators.
    pub operators: Vec<&'static str>,
    /// The custom column's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

const RELATION_OPS: &[&str] = &["in", "notIn", "hasNone", "hasSome"];
const DATE_OPS: &[&str] = &["gt", "gte", "lt", "lte", "between", "inLastDays"];
const EMAIL_OPS: &[&str] = &["equals", "isNull", "isNotNull"];

/// The fields of an entity the caller may filter on, in the reference's order.
#[must_use]
pub fn filterable_fields(entity: Entity, columns: &[Column], access: &Access) -> Vec<FilterableField> {
    let field = |name: &str, ops: &[&'static str], label: Option<String>| FilterableField {
        field: name.to_owned(),
        operators: ops.to_vec(),
        label,
    };
    let mut fields: Vec<FilterableField> = entity
        .relations()
        .iter()
        .filter(|r| r.target != Target::User && access.target_scope(r.target).is_some())
        .map(|r| field(r.field, RELATION_OPS, None))
        .collect();
    fields.extend(
        columns
            .iter()
            .filter(|c| c.entity_type == entity)
            .map(|c| field(&c.id, c.kind.operators(), Some(c.label.clone()))),
    );
    if entity == Entity::Contact {
        fields.push(field("emails", EMAIL_OPS, None));
    }
    fields.push(field("userIds", RELATION_OPS, None));
    fields.push(field("updatedAt", DATE_OPS, None));
    fields.push(field("createdAt", DATE_OPS, None));
    fields
}

/// Sortable fields of an entity: built-in ones, then custom column ids.
#[must_use]
pub fn sortable_fields(entity: Entity, columns: &[Column]) -> Vec<String> {
    let mut fields: Vec<String> = entity.sortable().iter().map(|(f, _)| (*f).to_owned()).collect();
    fields.extend(columns.iter().filter(|c| c.entity_type == entity).map(|c| c.id.clone()));
    fields
}

/// Ids a filter refers to, which must exist (and be visible) before the query runs.
#[derive(Debug, Clone)]
pub struct IdCheck {
    /// Where the ids are.
    pub target: Target,
    /// `(path, id)` pairs.
    pub ids: Vec<(String, String)>,
}

/// A compiled query: statements and their bound variables.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// `LET` statements, then the page `SELECT`, then the total.
    pub sql: String,
    /// Bound variables.
    pub vars: Map<String, Value>,
    /// Ids to verify first.
    pub checks: Vec<IdCheck>,
    /// Whether the total is the entity's whole count (no filter, search or scope restriction).
    pub unfiltered: bool,
    /// The validated filters (echoed in list responses).
    pub filters: Vec<Filter>,
    /// The page.
    pub page: Page,
}

struct Builder<'a> {
    entity: Entity,
    columns: &'a [Column],
    access: &'a Access,
    vars: Map<String, Value>,
    lets: Vec<String>,
    sets: Vec<String>,
    conditions: Vec<String>,
    checks: Vec<IdCheck>,
    details: Vec<ErrorDetail>,
    /// The company's secondary indexes exist, with its ordered edges (`schema/tenant/indexes/050_edge_order.surql`).
    indexed: bool,
    /// What the company's held search texts answer for this search's tokens (see [`Matches`]).
    text: Option<&'a Matches>,
    /// The last relationship filter asking for the records linked to one target, when its edge keeps their order.
    linked_to: Option<(OrderedEdge, Target, String)>,
}

impl Builder<'_> {
    fn bind(&mut self, value: Value) -> String {
        let name = format!("v{}", self.vars.len());
        self.vars.insert(name.clone(), value);
        format!("${name}")
    }

    fn fail(&mut self, path: String, message: impl Into<String>) {
        self.details.push(ErrorDetail {
            path,
            message: message.into(),
        });
    }

    fn unknown_field(&mut self, index: usize) {
        let available: Vec<String> = filterable_fields(self.entity, self.columns, self.access)
            .iter()
            .map(|f| {
                let label = f.label.as_ref().map(|l| format!("{l} - ")).unwrap_or_default();
                format!("{label}{} ({})", f.field, f.operators.join(", "))
            })
            .collect();
        self.fail(
            format!("filters[{index}].field"),
            format!(
                "Filter field not found or not accessible. Available fields: {}.",
                available.join(", ")
            ),
        );
    }

    /// A record's links along the relation that the caller may read, as an expression on the record: all of them;
    /// for a caller who reads only their own records of the far end, those they are assigned to (for users: the
    /// caller); none without read access to it. That is what the relationship arrays of the DTOs show, so "at least
    /// one link" / "no links" count what the caller can see, and do not tell them of links they cannot.
    fn readable_links(&mut self, relation: &Relation) -> String {
        let path = relation.path();
        match self.access.target_scope(relation.target) {
            Some(Scope::All) => return path,
            Some(Scope::Own) => {}
            // No read access to the far end (only `userIds` stays filterable then, and every role reads at least
            // its own user; a caller without a role reads nothing): no link is readable, as the DTOs show none.
            None => return "[]".to_owned(),
        }
        let me = self.bind(json!(self.access.user_id));
        let readable = if relation.target == Target::User {
            format!("[type::record('member', {me})]")
        } else {
            let set = format!("s{}", self.lets.len());
            self.lets.push(format!(
                "LET ${set} = array::distinct((type::record('member', {me}))->assigned->{});",
                relation.target.table()
            ));
            format!("${set}")
        };
        format!("array::intersect({path}, {readable})")
    }

    /// A record-id set from the relation's far ends, following their edges back to this entity.
    fn reached_from(&mut self, relation: &Relation, ids: Vec<String>) -> String {
        // One traversal expression per id (each id a bound parameter). Mapping a closure over an array of ids
        // measured ~65x slower than these plain traversals on SurrealDB 3.3.
        let table = self.bind(json!(relation.target.table()));
        let path = relation.reverse_path(self.entity);
        let parts: Vec<String> = ids
            .into_iter()
            .map(|id| {
                let v = self.bind(json!(id));
                format!("(type::record({table}, {v})){path}")
            })
            .collect();
        let set = format!("s{}", self.lets.len());
        self.lets.push(format!(
            "LET ${set} = array::distinct(array::flatten([{}]));",
            parts.join(", ")
        ));
        format!("${set}")
    }

    fn relation(&mut self, index: usize, relation: &Relation, filter: &Filter) {
        let path = format!("filters[{index}].value");
        let values = match &filter.value {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                // (path, id), a repeated id only at its first place.
                let mut ids: Vec<(String, String)> = Vec::with_capacity(items.len());
                let mut seen = std::collections::HashSet::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    match item.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
                        Some(id) if !seen.insert(id) => {}
                        Some(id) => ids.push((format!("{path}[{j}]"), id.to_string())),
                        None => self.fail(format!("{path}[{j}]"), "must be a UUID"),
                    }
                }
                Some(ids)
            }
            Some(Value::String(one)) => match uuid::Uuid::parse_str(one) {
                Ok(id) => Some(vec![(path.clone(), id.to_string())]),
                Err(_) => {
                    self.fail(path.clone(), "must be an array of UUIDs");
                    return;
                }
            },
            Some(_) => {
                self.fail(path, "must be an array of UUIDs");
                return;
            }
        };
        let op = filter.operator.as_str();
        match values {
            None if matches!(op, "hasSome" | "hasNone") => {
                let links = self.readable_links(relation);
                let test = if op == "hasSome" { "> 0" } else { "= 0" };
                self.conditions.push(format!("count({links}) {test}"));
            }
            None => self.fail(path, format!("the '{op}' operator needs an array of ids")),
            Some(ids) if ids.is_empty() => {}
            Some(pairs) => {
                let ids: Vec<String> = pairs.iter().map(|(_, id)| id.clone()).collect();
                self.checks.push(IdCheck {
                    target: relation.target,
                    ids: pairs,
                });
                if let ([one], true, Some(ordered)) =
                    (ids.as_slice(), matches!(op, "in" | "hasSome"), relation.ordered_edge())
                {
                    self.linked_to = Some((ordered, relation.target, one.clone()));
                }
                let set = self.reached_from(relation, ids);
                if matches!(op, "in" | "hasSome") {
                    self.sets.push(set);
                } else {
                    self.conditions.push(format!("id NOT IN {set}"));
                }
            }
        }
    }

    fn date_field(&mut self, index: usize, field: &str, filter: &Filter) {
        let path = format!("filters[{index}].value");
        let op = filter.operator.as_str();
        if op == "inLastDays" {
            let days = match &filter.value {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match days.filter(|d| (1..=36_500).contains(d)) {
                Some(days) => {
                    let start = (Utc::now() - Duration::days(i64::try_from(days).unwrap_or(0))).date_naive();
                    let since = start
                        .and_hms_opt(0, 0, 0)
                        .map(|t| t.and_utc().to_rfc3339())
                        .unwrap_or_default();
                    let v = self.bind(json!(since));
                    self.conditions.push(format!("{field} >= <datetime> {v}"));
                }
                None => self.fail(path, "must be a whole number of days from 1 to 36500"),
            }
            return;
        }
        let Some(values) = self.values(index, filter, |s| is_date(s) || is_datetime(s), DATE_MESSAGE) else {
            return;
        };
        let stamps: Vec<String> = values.iter().map(|v| instant_text(v)).collect();
        self.compare(field, op, &stamps, true);
    }

    /// Checks the value shape for the operator; returns the textual values.
    fn values(
        &mut self,
        index: usize,
        filter: &Filter,
        valid: impl Fn(&str) -> bool,
        message: &str,
    ) -> Option<Vec<String>> {
        let path = format!("filters[{index}].value");
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let values: Vec<String> = match (&filter.value, filter.operator.as_str()) {
            (Some(Value::Array(items)), "between" | "in" | "notIn") => {
                // An item of another type is an error at its place, not dropped (`notIn: [true]` matched everything).
                if let Some(j) = items.iter().position(|v| text(v).is_none()) {
                    self.fail(format!("{path}[{j}]"), "must be a string or a number");
                    return None;
                }
                items.iter().filter_map(text).collect()
            }
            (Some(Value::Array(_)), _) | (None | Some(Value::Null), _) => {
                self.fail(path, format!("the '{}' operator needs a value", filter.operator));
                return None;
            }
            (Some(one), "between") => {
                let _ = one;
                self.fail(
                    path,
                    "The 'between' operator requires an array with exactly 2 elements.",
                );
                return None;
            }
            (Some(one), _) => text(one).into_iter().collect(),
        };
        if filter.operator == "between" && values.len() != 2 {
            self.fail(
                path,
                "The 'between' operator requires an array with exactly 2 elements.",
            );
            return None;
        }
        if values.is_empty() && !matches!(filter.operator.as_str(), "in" | "notIn") {
            self.fail(path, "must be a string or a number");
            return None;
        }
        if let Some(j) = values.iter().position(|v| !valid(v)) {
            let at = if values.len() > 1 || filter.value.as_ref().is_some_and(Value::is_array) {
                format!("{path}[{j}]")
            } else {
                path
            };
            self.fail(at, message);
            return None;
        }
        Some(values)
    }

    /// `expr <op> value` for gt/gte/lt/lte/equals/between; `datetime` casts values.
    fn compare(&mut self, expr: &str, op: &str, values: &[String], datetime: bool) {
        if let Some(condition) = self.comparison(expr, op, values, datetime) {
            self.conditions.push(condition);
        }
    }

    fn comparison(&mut self, expr: &str, op: &str, values: &[String], datetime: bool) -> Option<String> {
        let cast = if datetime { "<datetime> " } else { "" };
        let bound: Vec<String> = values.iter().map(|v| self.bind(json!(v))).collect();
        Some(match (op, bound.as_slice()) {
            ("gt", [v]) => format!("{expr} > {cast}{v}"),
            ("gte", [v]) => format!("{expr} >= {cast}{v}"),
            ("lt", [v]) => format!("{expr} < {cast}{v}"),
            ("lte", [v]) => format!("{expr} <= {cast}{v}"),
            ("equals", [v]) => format!("{expr} = {cast}{v}"),
            ("between", [a, b]) => format!("({expr} >= {cast}{a} AND {expr} <= {cast}{b})"),
            _ => return None,
        })
    }

    fn custom(&mut self, index: usize, column: &Column, filter: &Filter) {
        let key = self.bind(json!(column.id));
        let value_expr = format!("customFields[{key}]");
        let op = filter.operator.as_str();
        match op {
            "isNull" => return self.conditions.push(format!("{value_expr} = NONE")),
            "isNotNull" => return self.conditions.push(format!("{value_expr} != NONE")),
            _ => {}
        }
        let column_message = column.invalid_message();
        match column.kind {
            ColumnType::SingleSelect => {
                let Some(values) = self.values(index, filter, |v| column.check_value(v).is_ok(), &column_message)
                else {
                    return;
                };
                let v = self.bind(json!(values));
                let condition = if op == "in" {
                    format!("{value_expr} IN {v}")
                } else {
                    format!("{value_expr} NOT IN {v}")
                };
                self.conditions.push(condition);
            }
            ColumnType::Currency => {
                let Some(values) = self.values(
                    index,
                    filter,
                    |v| v.parse::<f64>().is_ok_and(f64::is_finite),
                    &column_message,
                ) else {
                    return;
                };
                let numbers: Vec<String> = values;
                let v = self.bind(json!(numbers[0].parse::<f64>().unwrap_or(0.0)));
                let numeric = format!("<float> {value_expr}");
                let condition = match op {
                    "equals" => format!("{numeric} = {v}"),
                    "gt" => format!("{numeric} > {v}"),
                    "gte" => format!("{numeric} >= {v}"),
                    "lt" => format!("{numeric} < {v}"),
                    "lte" => format!("{numeric} <= {v}"),
                    _ => return,
                };
                self.conditions.push(format!("({value_expr} != NONE AND {condition})"));
            }
            ColumnType::Date | ColumnType::DateTime => {
                let Some(values) = self.values(index, filter, |v| is_date(v) || is_datetime(v), DATE_MESSAGE) else {
                    return;
                };
                // Compared as instants: the stored texts are not in time order where fractions of a second differ
                // (`…:59Z` sorts after `…:59.500Z`), and a date is midnight UTC. A stored text the database cannot
                // read as a datetime (one written before today's checks) matches no comparison instead of failing
                // the query.
                let values: Vec<String> = values.iter().map(|v| instant_text(v)).collect();
                if let Some(condition) = self.comparison(&format!("<datetime> {value_expr}"), op, &values, true) {
                    self.conditions.push(format!(
                        "({value_expr} != NONE AND string::is_datetime({value_expr}) AND {condition})"
                    ));
                }
            }
            ColumnType::DateRange | ColumnType::DateTimeRange => {
                let Some(values) = self.values(index, filter, |v| is_date(v) || is_datetime(v), DATE_MESSAGE) else {
                    return;
                };
                let (start_text, end_text) = range_ends(&value_expr);
                let start = format!("<datetime> {start_text}");
                let end = format!("<datetime> {end_text}");
                let bound: Vec<String> = values
                    .iter()
                    .map(|v| format!("<datetime> {}", self.bind(json!(instant_text(v)))))
                    .collect();
                let condition = match (op, bound.as_slice()) {
                    ("contains", [x]) => format!("{start} <= {x} AND {end} >= {x}"),
                    ("gt", [x]) => format!("{start} > {x}"),
                    ("gte", [x]) => format!("{start} >= {x}"),
                    ("lt", [x]) => format!("{end} < {x}"),
                    ("lte", [x]) => format!("{end} <= {x}"),
                    ("between", [a, b]) => format!("{start} >= {a} AND {end} <= {b}"),
                    _ => return,
                };
                self.conditions.push(format!(
                    "({value_expr} != NONE AND string::is_datetime({start_text}) AND string::is_datetime({end_text}) AND {condition})"
                ));
            }
            ColumnType::Plain | ColumnType::Email | ColumnType::Phone | ColumnType::Link => {
                let Some(values) = self.values(index, filter, |_| true, "") else {
                    return;
                };
                if op == "contains" {
                    let v = self.bind(json!(values[0].to_lowercase()));
                    // Only records with a value contain anything (an empty text is contained in every value, as in
                    // the reference's `LIKE '%%'` over the stored values; records without one do not match).
                    self.conditions.push(format!(
                        "({value_expr} != NONE AND string::contains(string::lowercase({value_expr} ?? ''), {v}))"
                    ));
                } else {
                    let v = self.bind(json!(values[0]));
                    self.conditions.push(format!("{value_expr} = {v}"));
                }
            }
        }
    }

    fn emails(&mut self, index: usize, filter: &Filter) {
        match filter.operator.as_str() {
            "isNull" => self.conditions.push("array::len(emails) = 0".into()),
            "isNotNull" => self.conditions.push("array::len(emails) > 0".into()),
            _ => {
                let Some(values) = self.values(index, filter, |_| true, "") else {
                    return;
                };
                // Addresses are stored trimmed and lowercased (`input.rs`), so the value is too.
                let v = self.bind(json!(values[0].to_lowercase()));
                self.conditions.push(format!("{v} IN emails"));
            }
        }
    }

    fn filter(&mut self, index: usize, filter: &Filter) {
        if let Some(Value::Array(values)) = &filter.value
            && values.len() > MAX_FILTER_VALUES
        {
            return self.fail(
                format!("filters[{index}].value"),
                format!(
                    "At most {MAX_FILTER_VALUES} values per filter ({} given).",
                    values.len()
                ),
            );
        }
        let allowed = filterable_fields(self.entity, self.columns, self.access);
        let Some(field) = allowed.iter().find(|f| f.field == filter.field) else {
            return self.unknown_field(index);
        };
        if !field.operators.contains(&filter.operator.as_str()) {
            return self.unknown_field(index);
        }
        let valueless = matches!(filter.operator.as_str(), "isNull" | "isNotNull");
        if valueless && filter.value.as_ref().is_some_and(|v| !v.is_null()) {
            return self.fail(
                format!("filters[{index}].value"),
                format!("the '{}' operator takes no value", filter.operator),
            );
        }
        if let Some(relation) = self.entity.relation(&filter.field) {
            return self.relation(index, relation, filter);
        }
        match filter.field.as_str() {
            "createdAt" | "updatedAt" => self.date_field(index, &filter.field.clone(), filter),
            "emails" => self.emails(index, filter),
            id => {
                if let Some(column) = self
                    .columns
                    .iter()
                    .find(|c| c.id == id && c.entity_type == self.entity)
                    .cloned()
                {
                    self.custom(index, &column, filter);
                }
            }
        }
    }

    /// Every token must occur (case-insensitively) in the record's names or in a linked record's names. Each token
    /// becomes an id set: the records matching on their own fields united with the records linked to matching
    /// related records (then one traversal per match; a per-row traversal in the condition measured ~4x slower at
    /// 10k contacts). The match is an exact substring test of the stored `searchText` (or, for a linked record's
    /// names, of those fields). Once the company's actor holds its search texts, they give the matching records
    /// (see [`Matches`]) and no table is scanned.
    fn search(&mut self, term: &str) {
        for token in tokens(term) {
            let v = self.bind(json!(token));
            let own = match self.matched(self.entity, &token) {
                Some(ids) => format!("({ids})"),
                None => format!(
                    "(SELECT VALUE id FROM {} WHERE string::contains(searchText, {v}))",
                    self.entity.table()
                ),
            };
            let mut parts = vec![own];
            if let Some((other, fields, path)) = self.entity.search_via() {
                // The held texts hold all of `other`'s search fields: when `fields` are fewer, they give candidates.
                let exact = format!("WHERE string::contains({}, {v})", search_text(fields));
                parts.push(match self.matched(other, &token) {
                    Some(ids) if fields == other.search_fields() => {
                        format!("array::flatten((SELECT VALUE {path} FROM {ids}))")
                    }
                    Some(ids) => format!("array::flatten((SELECT VALUE {path} FROM {ids} {exact}))"),
                    None => format!("array::flatten((SELECT VALUE {path} FROM {} {exact}))", other.table()),
                });
            }
            let set = format!("s{}", self.lets.len());
            self.lets.push(format!(
                "LET ${set} = array::distinct(array::flatten([{}]));",
                parts.join(", ")
            ));
            self.sets.push(format!("${set}"));
        }
    }

    /// The records of `entity` whose held text contains `token`, bound as their record ids; `None` where the held
    /// texts do not answer (see [`Matches`]).
    fn matched(&mut self, entity: Entity, token: &str) -> Option<String> {
        let ids: Vec<String> = self
            .text?
            .get(entity, token)?
            .iter()
            .map(|id| RecordId::new(entity.table(), &**id).to_sql())
            .collect();
        let ids = self.bind(json!(ids));
        Some(format!("<array<record<{}>>> {ids}", entity.table()))
    }
}

/// The lowercased, space-joined text of some fields: what `searchText` holds for [`Entity::search_fields`]
/// (`schema/tenant/060_search.surql`).
fn search_text(fields: &[&str]) -> String {
    format!(
        "string::lowercase(array::join(array::flatten([{}]), ' '))",
        fields.join(", ")
    )
}

/// The most filters one search takes.
pub const MAX_FILTERS: usize = 50;
/// The most values one filter takes (ids of a relationship filter, options of `in` / `notIn`).
pub const MAX_FILTER_VALUES: usize = 100;

/// A date or datetime value (already checked) in the form the database reads as a datetime: RFC 3339 with seconds.
fn instant_text(value: &str) -> String {
    instant(value).map_or_else(
        || value.to_owned(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// The trimmed start and end texts of a stored `start,end` range value (`''` where a part is missing).
fn range_ends(stored: &str) -> (String, String) {
    let part = |i: usize| format!("string::trim(string::split({stored}, ',')[{i}] ?? '')");
    (part(0), part(1))
}

const DATE_MESSAGE: &str = "The date value is invalid. Must be in ISO 8601 date format (e.g., 2024-01-15) or ISO 8601 datetime format (e.g., 2024-01-15T00:00:00Z).";

/// Validates and compiles a search. Errors list every problem with its path.
pub fn compile(
    entity: Entity,
    input: &QueryInput,
    columns: &[Column],
    access: &Access,
    scope: Scope,
    indexed: bool,
    text: Option<&Matches>,
) -> Result<Compiled, Vec<ErrorDetail>> {
    let mut b = Builder {
        entity,
        columns,
        access,
        vars: Map::new(),
        lets: Vec::new(),
        sets: Vec::new(),
        conditions: Vec::new(),
        checks: Vec::new(),
        details: Vec::new(),
        indexed,
        text,
        linked_to: None,
    };
    let (page, size) = input.pagination.map_or((None, None), |p| (p.page, p.page_size));
    let page = match Page::parse(page, size) {
        Ok(page) => page,
        Err((path, message)) => {
            b.fail(path.to_owned(), message);
            Page { page: 1, page_size: 25 }
        }
    };
    if input.filters.len() > MAX_FILTERS {
        // Each filter is one more operand of the query's `AND` chain: the engine's parser refuses ~150 and the stack
        // of a debug build overflowed at 71.
        b.fail(
            "filters".into(),
            format!(
                "At most {MAX_FILTERS} filters per search ({} given).",
                input.filters.len()
            ),
        );
    } else {
        for (index, filter) in input.filters.iter().enumerate() {
            b.filter(index, filter);
        }
    }
    if let Some(term) = input.search_term.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        b.search(term);
    }
    if scope == Scope::Own {
        let me = b.bind(json!(access.user_id));
        let set = format!("s{}", b.lets.len());
        b.lets.push(format!(
            "LET ${set} = array::distinct((type::record('member', {me}))->assigned->{});",
            entity.table()
        ));
        b.sets.push(format!("${set}"));
    }
    let order = order_by(&mut b, input.sort_descriptor.as_ref());
    if !b.details.is_empty() {
        return Err(b.details);
    }
    let unfiltered = b.sets.is_empty() && b.conditions.is_empty();
    let source = match b.sets.as_slice() {
        [] => entity.table().to_owned(),
        [one] => one.clone(),
        [first, rest @ ..] => {
            // One `LET` per intersection: nested `array::intersect` calls, one level per set, passed the engine's
            // query recursion limit at ~50 sets.
            let mut acc = first.clone();
            for set in rest {
                let next = format!("s{}", b.lets.len());
                b.lets.push(format!("LET ${next} = array::intersect({acc}, {set});"));
                acc = format!("${next}");
            }
            acc
        }
    };
    let filter = if unfiltered {
        // Lets the engine stop after `start + limit` index entries (see schema/tenant/050_listing.surql).
        " WHERE listed = true".to_owned()
    } else if b.conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", b.conditions.join(" AND "))
    };
    let Ordering { keys, extra, order } = order;
    b.vars.insert("limit".into(), json!(page.page_size));
    b.vars.insert("start".into(), json!(page.start()));
    let projection = if input.brief {
        entity.brief_projection()
    } else {
        entity.projection()
    };
    let default_order = input
        .sort_descriptor
        .as_ref()
        .is_none_or(|s| (s.field.as_str(), s.direction == Direction::Desc) == entity.default_sort());
    let mut sql = b.lets.join("\n");
    if let (Some((ordered, target, id)), [_], true, true, Scope::All, true) = (
        b.linked_to.take(),
        b.sets.as_slice(),
        b.conditions.is_empty(),
        default_order,
        scope,
        b.indexed,
    ) {
        // Only one relationship filter of one id, in the default order: the page is read from the edge table's
        // `(target end, member key)` index, which stops after `start + limit` entries, and the total is the count
        // of the target's edges (see schema/tenant/070_edge_order.surql). The set's LET is not needed.
        let table = b.bind(json!(target.table()));
        let id = b.bind(json!(id));
        let OrderedEdge { edge, pinned, member } = ordered;
        let key = ordered.order_fields(entity).join(", ");
        let arrow = if pinned == "out" { "<-" } else { "->" };
        sql = format!(
            "LET $target = type::record({table}, {id});\n\
             LET $page = (SELECT VALUE {member} FROM {edge} WHERE {pinned} = $target ORDER BY {key} LIMIT $limit START $start);\n\
             SELECT {projection} FROM $page WHERE id != NONE ORDER BY {order};\n\
             RETURN count($target{arrow}{edge});"
        );
    } else if !unfiltered && b.conditions.is_empty() && extra.is_empty() {
        // Only id sets (relationship filters, search tokens, own records): read each record's sort keys as a bare
        // path (`$set.{id, firstName, lastName}`), sort those, then project only the page. A path costs the engine
        // ~30 % less per record than a `SELECT` over the set (`bench sql`: 1,000 contacts of one organization,
        // 7.8 against 11.1 ms), and every record of the set has to be read to sort it.
        sql.push_str(&format!(
            "\nLET $matched = (SELECT * FROM ({source}).{{id{keys}}} WHERE id != NONE ORDER BY {order});\n\
             SELECT {projection} FROM array::slice($matched.id, $start, $start + $limit) ORDER BY {order};\n\
             RETURN count($matched);"
        ));
    } else if unfiltered {
        // The page straight from the table, index-ordered; the total is held.
        sql.push_str(&format!(
            "\nSELECT {projection}{extra} FROM {source}{filter} ORDER BY {order} LIMIT $limit START $start;\nRETURN NONE;"
        ));
    } else {
        // Conditions, or a custom-column sort of id sets: read the matching records once for their sort keys, then
        // project only the page and count the records read (not the conditions a second time, and not the sets'
        // ids: one held by the search texts may name a record deleted a moment ago).
        sql.push_str(&format!(
            "\nLET $matched = (SELECT id{keys}{extra} FROM {source}{filter} ORDER BY {order});\n\
             SELECT {projection}{extra} FROM array::slice($matched.id, $start, $start + $limit) ORDER BY {order};\n\
             RETURN count($matched);"
        ));
    }
    Ok(Compiled {
        sql,
        vars: b.vars,
        checks: b.checks,
        unfiltered,
        filters: input.filters.clone(),
        page,
    })
}

/// How a search orders its rows.
struct Ordering {
    /// Built-in fields the ORDER BY reads, as `, a, b` (empty for custom columns).
    keys: String,
    /// Extra computed fields the ORDER BY reads, as `, (…) AS x`.
    extra: String,
    /// The ORDER BY clause, always ending with the id as tie-breaker.
    order: String,
}

/// The ordering of a search: the requested or default sort, then the id.
fn order_by(b: &mut Builder<'_>, sort: Option<&SortDescriptor>) -> Ordering {
    let (field, descending) = match sort {
        Some(s) => (s.field.as_str(), s.direction == Direction::Desc),
        None => b.entity.default_sort(),
    };
    let dir = if descending { "DESC" } else { "ASC" };
    if let Some((_, columns)) = b.entity.sortable().iter().find(|(f, _)| *f == field) {
        let parts: Vec<String> = columns.iter().map(|c| format!("{c} {dir}")).collect();
        return Ordering {
            keys: columns.iter().map(|c| format!(", {c}")).collect(),
            extra: String::new(),
            order: format!("{}, id {dir}", parts.join(", ")),
        };
    }
    if let Some(column) = b
        .columns
        .iter()
        .find(|c| c.id == field && c.entity_type == b.entity)
        .cloned()
    {
        let key = b.bind(json!(column.id));
        let stored = format!("customFields[{key}]");
        let instant = |text: &str| format!("IF string::is_datetime({text}) {{ <datetime> {text} }} ELSE {{ NONE }}");
        // Texts in a human order, as the reference's locale-aware comparison: case and accents set apart only
        // what is otherwise equal (`Apple`, `apple`, `Émile`, `Zebra`), not every capital before every small letter.
        let (value, collate) = match column.kind {
            ColumnType::Currency => (format!("<float> {stored}"), ""),
            // Instants, not texts (see the date filters above); ranges by their start.
            ColumnType::Date | ColumnType::DateTime => (instant(&stored), ""),
            ColumnType::DateRange | ColumnType::DateTimeRange => (instant(&range_ends(&stored).0), ""),
            // Options in the column's order, not by their ids.
            ColumnType::SingleSelect => {
                let ranks = b.bind(Value::Object(column.option_ranks()));
                (format!("{ranks}[{stored}]"), "")
            }
            _ => (stored, " COLLATE"),
        };
        let extra = format!(
            ", (customFields[{key}] = NONE) AS sortMissing, (IF customFields[{key}] = NONE {{ NONE }} ELSE {{ {value} }}) AS sortValue"
        );
        return Ordering {
            keys: String::new(),
            extra,
            order: format!("sortMissing ASC, sortValue{collate} {dir}, id {dir}"),
        };
    }
    b.fail("sortDescriptor.field".into(), "Sort field not found or not accessible.");
    Ordering {
        keys: String::new(),
        extra: String::new(),
        order: "id".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::crm::access::fixtures::{admin, tenant_db};

    async fn plan(db: &surrealdb::Surreal<surrealdb::engine::any::Any>, compiled: &Compiled) -> String {
        // The statement that reads the table: the matching set's SELECT when there are conditions, else the page.
        let lines = || compiled.sql.lines();
        let select = lines()
            .find_map(|l| l.strip_prefix("LET $matched = (").map(|l| l.trim_end_matches(");")))
            .or_else(|| {
                lines()
                    .find(|l| l.starts_with("SELECT"))
                    .map(|l| l.trim_end_matches(';'))
            })
            .unwrap();
        let sql = format!("EXPLAIN {select}");
        let results = crate::store::run(db, &sql, Value::Object(compiled.vars.clone()))
            .await
            .unwrap();
        results.last().unwrap().to_string()
    }

    #[tokio::test]
    async fn sorts_and_date_filters_on_indexed_fields_read_the_index() {
        let db = tenant_db().await;
        // (entity, input, index, whether the scan stops after the page: unfiltered lists must)
        let cases = [
            (Entity::Contact, json!({}), "contact_list_name", true),
            (
                Entity::Contact,
                json!({"sortDescriptor": {"field": "createdAt", "direction": "desc"}, "pagination": {"page": 3, "pageSize": 10}}),
                "contact_list_created",
                true,
            ),
            (
                Entity::Deal,
                json!({"sortDescriptor": {"field": "totalValue", "direction": "asc"}}),
                "deal_list_total_value",
                true,
            ),
            (Entity::Task, json!({}), "task_list_updated", true),
            (
                Entity::Service,
                json!({"sortDescriptor": {"field": "amount", "direction": "desc"}}),
                "service_list_amount",
                true,
            ),
            (
                Entity::Organization,
                json!({"filters": [{"field": "createdAt", "operator": "gte", "value": "2024-01-01"}], "sortDescriptor": {"field": "createdAt", "direction": "asc"}}),
                "organization_created",
                false,
            ),
            (
                Entity::Contact,
                json!({"filters": [{"field": "emails", "operator": "equals", "value": "ann@x.example"}]}),
                "contact_emails",
                false,
            ),
        ];
        for (entity, input, index, limit_pushed) in cases {
            let input: QueryInput = serde_json::from_value(input).unwrap();
            let compiled = compile(entity, &input, &[], &admin(), Scope::All, true, None).unwrap();
            let plan = plan(&db, &compiled).await;
            assert!(
                plan.contains("IndexScan") && plan.contains(index),
                "{entity:?} {input:?}: {plan}"
            );
            if limit_pushed {
                assert!(
                    plan.contains("limit: $limit") || plan.contains("limit: 25") || plan.contains("limit: 10"),
                    "{entity:?} {input:?}: the limit must reach the index scan: {plan}"
                );
                assert!(!plan.contains("Sort"), "{entity:?} {input:?}: no sort expected: {plan}");
            }
        }
    }

    #[tokio::test]
    async fn a_one_id_relationship_filter_reads_its_page_from_the_ordered_edge_index() {
        let db = tenant_db().await;
        let one = uuid::Uuid::new_v4().to_string();
        // (entity, filter field, index, whether the edge index is used: not for a descending sort or two ids)
        let cases = [
            (
                Entity::Contact,
                "organizationIds",
                json!({}),
                vec![one.clone()],
                Some("works_at_out_order"),
            ),
            (
                Entity::Organization,
                "contactIds",
                json!({}),
                vec![one.clone()],
                Some("works_at_in_order"),
            ),
            (
                Entity::Deal,
                "serviceIds",
                json!({"pagination": {"page": 3, "pageSize": 10}}),
                vec![one.clone()],
                Some("deal_service_out_order"),
            ),
            (
                Entity::Service,
                "dealIds",
                json!({}),
                vec![one.clone()],
                Some("deal_service_in_order"),
            ),
            (
                Entity::Deal,
                "organizationIds",
                json!({"sortDescriptor": {"field": "name", "direction": "asc"}}),
                vec![one.clone()],
                Some("organization_deal_in_order"),
            ),
            (
                Entity::Contact,
                "organizationIds",
                json!({"sortDescriptor": {"field": "name", "direction": "desc"}}),
                vec![one.clone()],
                None,
            ),
            (
                Entity::Contact,
                "organizationIds",
                json!({}),
                vec![one.clone(), uuid::Uuid::new_v4().to_string()],
                None,
            ),
            (Entity::Task, "contactIds", json!({}), vec![one.clone()], None),
            (
                Entity::Contact,
                "dealIds",
                json!({}),
                vec![one.clone()],
                Some("contact_deal_out_order"),
            ),
            (
                Entity::Deal,
                "contactIds",
                json!({}),
                vec![one.clone()],
                Some("contact_deal_in_order"),
            ),
            (
                Entity::Organization,
                "dealIds",
                json!({}),
                vec![one.clone()],
                Some("organization_deal_out_order"),
            ),
        ];
        for (entity, field, extra, value, index) in cases {
            let mut input = extra.clone();
            input["filters"] = json!([{"field": field, "operator": "in", "value": value}]);
            let input: QueryInput = serde_json::from_value(input).unwrap();
            let compiled = compile(entity, &input, &[], &admin(), Scope::All, true, None).unwrap();
            let page = compiled
                .sql
                .lines()
                .find_map(|l| l.strip_prefix("LET $page = (").map(|l| l.trim_end_matches(");")));
            match (index, page) {
                (Some(index), Some(select)) => {
                    let target = compiled.sql.lines().next().unwrap();
                    let plan = crate::store::run(
                        &db,
                        &format!("{target}\nEXPLAIN {select}"),
                        Value::Object(compiled.vars.clone()),
                    )
                    .await
                    .unwrap();
                    let plan = plan.last().unwrap().to_string();
                    assert!(
                        plan.contains("IndexScan") && plan.contains(index),
                        "{entity:?} {field}: {plan}"
                    );
                    assert!(
                        plan.contains("limit:") && !plan.contains("Sort"),
                        "{entity:?} {field}: the limit must reach the index scan: {plan}"
                    );
                }
                (None, None) => {}
                (index, page) => panic!(
                    "{entity:?} {field} {extra}: expected {index:?}, got {page:?}\n{}",
                    compiled.sql
                ),
            }
            // Without the indexes (a small company) or for a caller who reads only their own records, the set plan.
            let small = compile(entity, &input, &[], &admin(), Scope::All, false, None).unwrap();
            assert!(!small.sql.contains("$page"), "{}", small.sql);
            let own = compile(entity, &input, &[], &admin(), Scope::Own, true, None).unwrap();
            assert!(!own.sql.contains("$page"), "{}", own.sql);
        }
    }

    #[tokio::test]
    async fn edges_written_before_the_sort_fields_get_them_with_the_index_set() {
        let db = tenant_db().await;
        let org = uuid::Uuid::new_v4().to_string();
        let people: Vec<(String, &str, &str)> = [("Mia", "Berg"), ("Ann", "Zorn"), ("Ann", "Adler")]
            .into_iter()
            .map(|(first, last)| (uuid::Uuid::new_v4().to_string(), first, last))
            .collect();
        // A store of an earlier version: edges written while the edge table had no sort fields and no index on them.
        let older = "REMOVE INDEX works_at_out_order ON works_at; REMOVE INDEX works_at_in_order ON works_at;
            REMOVE FIELD inSort0 ON works_at; REMOVE FIELD inSort1 ON works_at; REMOVE FIELD outSort0 ON works_at;
            CREATE type::record('organization', $org) SET name = 'Acme';
            FOR $p IN $people {
                CREATE type::record('contact', $p[0]) SET firstName = $p[1], lastName = $p[2];
                RELATE (type::record('contact', $p[0]))->works_at->(type::record('organization', $org));
            };
            RETURN count(SELECT id FROM works_at WHERE inSort0 != NONE);";
        let before = crate::store::run(&db, older, json!({"org": org, "people": people}))
            .await
            .unwrap();
        assert_eq!(before.last(), Some(&json!(0)));
        // The current schema, then the index set (which writes the old edges' fields before indexing them).
        for file in [
            include_str!("../../schema/tenant/070_edge_order.surql"),
            include_str!("../../schema/tenant/indexes/050_edge_order.surql"),
        ] {
            crate::store::run(&db, file, json!({})).await.unwrap();
        }
        let input: QueryInput = serde_json::from_value(
            json!({"filters": [{"field": "organizationIds", "operator": "hasSome", "value": [org]}]}),
        )
        .unwrap();
        let compiled = compile(Entity::Contact, &input, &[], &admin(), Scope::All, true, None).unwrap();
        assert!(compiled.sql.contains("$page"), "{}", compiled.sql);
        let mut results = crate::store::run(&db, &compiled.sql, Value::Object(compiled.vars.clone()))
            .await
            .unwrap();
        let total = results.pop().unwrap();
        let page: Vec<Value> = results
            .pop()
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uid"].clone())
            .collect();
        let expected: Vec<Value> = [2, 1, 0].iter().map(|&i| json!(people[i].0)).collect();
        assert_eq!((page, total), (expected, json!(3)));
    }

    #[test]
    fn the_stored_search_text_is_the_text_a_search_matches() {
        let schema = include_str!("../../schema/tenant/060_search.surql");
        for entity in Entity::ALL {
            let text = search_text(entity.search_fields());
            let definition = format!(
                "DEFINE FIELD OVERWRITE searchText ON {} TYPE string DEFAULT {text};",
                entity.table()
            );
            assert!(schema.contains(&definition), "{entity:?}: expected {definition}");
            let backfill = format!(
                "UPDATE {} SET searchText = {text} WHERE searchText = NONE;",
                entity.table()
            );
            assert!(schema.contains(&backfill), "{entity:?}: expected {backfill}");
        }
    }

    /// Once the actor holds the company's search texts, a token's records come from them: no table is scanned,
    /// and the answer is the scan's (own names, and linked names through the other entity's texts).
    #[tokio::test]
    async fn search_tokens_are_answered_from_the_held_texts_once_they_exist() {
        let db = tenant_db().await;
        let people = [
            ("Alice", "Hart", "ally@mail.example"),
            ("Bob", "Alison", "bob@x.example"),
        ];
        let ids: Vec<String> = people.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let org = uuid::Uuid::new_v4().to_string();
        let mut text = crate::crm::text_index::TextIndexes::default();
        crate::store::run(
            &db,
            "CREATE type::record('organization', $org) SET name = 'Hartwell';",
            json!({"org": org}),
        )
        .await
        .unwrap();
        text.upsert(Entity::Organization, &org, "hartwell".into());
        for (id, (first, last, email)) in ids.iter().zip(people) {
            let dto = json!({"firstName": first, "lastName": last, "emails": [email]});
            crate::store::run(
                &db,
                "CREATE type::record('contact', $id) SET firstName = $p.firstName, lastName = $p.lastName,
                    emails = $p.emails;
                 RELATE (type::record('contact', $id))->works_at->(type::record('organization', $org));",
                json!({"id": id, "p": dto, "org": org}),
            )
            .await
            .unwrap();
            text.upsert(
                Entity::Contact,
                id,
                crate::crm::text_index::dto_text(Entity::Contact, &dto),
            );
        }
        let uids = |rows: &Value| {
            let mut uids: Vec<String> = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["uid"].as_str().unwrap().to_owned())
                .collect();
            uids.sort();
            uids
        };
        for (entity, term) in [
            (Entity::Contact, "ali"),
            (Entity::Contact, "HART"),
            (Entity::Contact, "ally@mail"),
            (Entity::Contact, "bob x.ex"),
            (Entity::Contact, "nobody"),
            (Entity::Organization, "alice"),
            (Entity::Organization, "ally"),
            (Entity::Organization, "wel"),
        ] {
            let input: QueryInput = serde_json::from_value(json!({"searchTerm": term})).unwrap();
            let mut answers = Vec::new();
            let matches = Matches::of(&text, &[Entity::Contact, Entity::Organization], term);
            for held in [Some(&matches), None] {
                let compiled = compile(entity, &input, &[], &admin(), Scope::All, true, held).unwrap();
                let scans = compiled.sql.contains(&format!("FROM {} WHERE", entity.table()))
                    || compiled.sql.contains("FROM organization WHERE")
                    || compiled.sql.contains("FROM contact WHERE");
                assert_eq!(scans, held.is_none(), "{entity:?} {term}: {}", compiled.sql);
                let mut results = crate::store::run(&db, &compiled.sql, Value::Object(compiled.vars.clone()))
                    .await
                    .unwrap();
                results.pop();
                answers.push(uids(&results.pop().unwrap()));
            }
            assert_eq!(answers[0], answers[1], "{entity:?} {term}");
        }
        // A token of one character has no piece to look up: the query tests every stored text.
        let held_search = |term: &str| {
            let input: QueryInput = serde_json::from_value(json!({"searchTerm": term})).unwrap();
            let held = Matches::of(&text, &[Entity::Contact, Entity::Organization], term);
            compile(Entity::Contact, &input, &[], &admin(), Scope::All, true, Some(&held)).unwrap()
        };
        let compiled = held_search("b");
        assert!(compiled.sql.contains("FROM contact WHERE"), "{}", compiled.sql);
        let compiled = held_search("ali ALI");
        assert_eq!(
            compiled.sql.matches("LET $s").count(),
            1,
            "a repeated token is one set: {}",
            compiled.sql
        );
        let mut results = crate::store::run(&db, &compiled.sql, Value::Object(compiled.vars.clone()))
            .await
            .unwrap();
        assert_eq!(results.pop(), Some(json!(2)), "both contacts match 'ali'");
    }

    /// The held texts can name a record that is no longer stored (a search that took its matches just before a
    /// delete committed, or between the commit and the actor's update of its texts): it is in no page and in no
    /// total, in every order.
    #[tokio::test]
    async fn a_held_match_whose_record_is_gone_counts_in_no_total() {
        let db = tenant_db().await;
        let column = Column {
            id: uuid::Uuid::new_v4().to_string(),
            label: "Rank".into(),
            entity_type: Entity::Contact,
            kind: ColumnType::Plain,
            options: None,
        };
        let mut text = crate::crm::text_index::TextIndexes::default();
        let stored: Vec<String> = (0..2).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        for (i, id) in stored.iter().enumerate() {
            crate::store::run(
                &db,
                "CREATE type::record('contact', $id) SET firstName = 'Quill', customFields = $custom;",
                json!({"id": id, "custom": {column.id.clone(): format!("r{i}")}}),
            )
            .await
            .unwrap();
            text.upsert(Entity::Contact, id, "quill".into());
        }
        text.upsert(Entity::Contact, &uuid::Uuid::new_v4().to_string(), "quill".into());
        let held = Matches::of(&text, &[Entity::Contact], "quill");
        for sort in [
            json!(null),
            json!({"field": "name", "direction": "desc"}),
            json!({"field": column.id, "direction": "asc"}),
        ] {
            let input: QueryInput =
                serde_json::from_value(json!({"searchTerm": "quill", "sortDescriptor": sort})).unwrap();
            let compiled = compile(
                Entity::Contact,
                &input,
                std::slice::from_ref(&column),
                &admin(),
                Scope::All,
                true,
                Some(&held),
            )
            .unwrap();
            let mut results = crate::store::run(&db, &compiled.sql, Value::Object(compiled.vars.clone()))
                .await
                .unwrap();
            let total = results.pop().unwrap();
            let page = results.pop().unwrap();
            assert_eq!(
                (page.as_array().map(Vec::len), total),
                (Some(2), json!(2)),
                "sort {sort}: {}",
                compiled.sql
            );
        }
    }

    /// Date values stored before the current checks (a leap second, no seconds, a loose date) match no date
    /// comparison and sort as missing instead of failing the query; a seconds-less filter value is read as the
    /// instant it names (the database's own datetime cast refuses it).
    #[tokio::test]
    async fn dates_the_database_cannot_read_match_nothing_and_fail_no_query() {
        let db = tenant_db().await;
        let column = |label: &str, kind: ColumnType| Column {
            id: uuid::Uuid::new_v4().to_string(),
            label: label.into(),
            entity_type: Entity::Contact,
            kind,
            options: None,
        };
        let columns = [
            column("At", ColumnType::DateTime),
            column("Span", ColumnType::DateRange),
        ];
        let (at, span) = (columns[0].id.clone(), columns[1].id.clone());
        let rows = [
            ("good", "2024-01-15T10:00:00Z", "2024-01-01,2024-01-31"),
            ("leap", "2016-12-31T23:59:60Z", "2024- 1-01,2024-01-31"),
            ("short", "2024-01-15T10:30Z", "2024-01-01"),
        ];
        for (name, at_value, span_value) in rows {
            crate::store::run(
                &db,
                "CREATE type::record('contact', $id) SET firstName = $name, customFields = $custom;",
                json!({"id": uuid::Uuid::new_v4().to_string(), "name": name,
                       "custom": {at.clone(): at_value, span.clone(): span_value}}),
            )
            .await
            .unwrap();
        }
        let run = |input: Value| {
            let db = db.clone();
            let columns = columns.clone();
            async move {
                let input: QueryInput = serde_json::from_value(input).unwrap();
                let compiled = compile(Entity::Contact, &input, &columns, &admin(), Scope::All, true, None).unwrap();
                let mut results = crate::store::run(&db, &compiled.sql, Value::Object(compiled.vars.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{e}: {}", compiled.sql));
                let _total = results.pop();
                let page = results.pop().unwrap();
                let mut names: Vec<String> = page
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["firstName"].as_str().unwrap().to_owned())
                    .collect();
                names.sort();
                names
            }
        };
        let filter = |field: &str, op: &str, value: Value| json!({"filters": [{"field": field, "operator": op, "value": value}]});
        assert_eq!(run(filter(&at, "gt", json!("2024-01-15T09:00Z"))).await, ["good"]);
        assert_eq!(run(filter(&at, "lt", json!("2030-01-01"))).await, ["good"]);
        assert_eq!(run(filter(&span, "contains", json!("2024-01-15"))).await, ["good"]);
        assert_eq!(run(filter(&span, "lte", json!("2024-02-01T00:00Z"))).await, ["good"]);
        for field in [&at, &span] {
            let sorted = run(json!({"sortDescriptor": {"field": field, "direction": "asc"}})).await;
            assert_eq!(sorted, ["good", "leap", "short"], "sort by {field}");
        }
    }

    /// A store written by an older version loses its full-text indexes and their analyzer with the index set.
    #[tokio::test]
    async fn the_index_set_removes_the_full_text_indexes_of_an_older_version() {
        let db = tenant_db().await;
        let older = "DEFINE ANALYZER cm_search TOKENIZERS blank, punct FILTERS lowercase, ngram(2, 3);
            DEFINE INDEX contact_search ON contact FIELDS searchText FULLTEXT ANALYZER cm_search;
            DEFINE INDEX task_search ON task FIELDS searchText FULLTEXT ANALYZER cm_search;";
        crate::store::run(&db, older, json!({})).await.unwrap();
        let info = || {
            crate::store::run(
                &db,
                "RETURN [INFO FOR DB, INFO FOR TABLE contact, INFO FOR TABLE task];",
                json!({}),
            )
        };
        assert!(
            info()
                .await
                .unwrap()
                .last()
                .unwrap()
                .to_string()
                .contains("contact_search")
        );
        crate::store::run(
            &db,
            include_str!("../../schema/tenant/indexes/040_search.surql"),
            json!({}),
        )
        .await
        .unwrap();
        let after = info().await.unwrap().last().unwrap().to_string();
        for name in ["cm_search", "contact_search", "task_search"] {
            assert!(!after.contains(name), "{name}: {after}");
        }
    }

    /// The text a record is held under (from its DTO) is the `searchText` the database keeps for it.
    #[tokio::test]
    async fn the_held_text_of_a_dto_is_its_stored_search_text() {
        let db = tenant_db().await;
        for (entity, dto) in [
            (
                Entity::Contact,
                json!({"firstName": "Zoë", "lastName": "ØRSTED", "emails": ["A@B.example", "c@d.example"]}),
            ),
            (
                Entity::Contact,
                json!({"firstName": "Ann", "lastName": "", "emails": []}),
            ),
            (Entity::Organization, json!({"name": "ACME Rockets"})),
            (Entity::Deal, json!({"name": "Big Deal"})),
            (Entity::Service, json!({"name": "Setup", "amount": 10})),
            (Entity::Task, json!({"name": "Call Ann"})),
        ] {
            let stored = crate::store::run(
                &db,
                "RETURN (CREATE ONLY type::table($table) CONTENT $dto).searchText;",
                json!({"table": entity.table(), "dto": dto}),
            )
            .await
            .unwrap();
            assert_eq!(
                stored.last(),
                Some(&json!(crate::crm::text_index::dto_text(entity, &dto))),
                "{entity:?}"
            );
        }
    }

    #[test]
    fn user_values_are_bound_never_formatted_into_the_query() {
        let hostile = "x'); REMOVE TABLE contact; --";
        let input: QueryInput = serde_json::from_value(
            json!({"searchTerm": hostile, "filters": [{"field": "emails", "operator": "equals", "value": hostile}]}),
        )
        .unwrap();
        let compiled = compile(Entity::Contact, &input, &[], &admin(), Scope::All, true, None).unwrap();
        assert!(!compiled.sql.contains("REMOVE"), "{}", compiled.sql);
        assert!(
            compiled
                .vars
                .values()
                .any(|v| v.as_str().is_some_and(|s| s.to_uppercase().contains("REMOVE TABLE")))
        );
    }
}
