//! Tool logic: plain functions over the tenant handle, so the transport stays swappable. Each returns a JSON
//! object (sent as TOON text and as `structuredContent`) or a failure text (an `isError` result).

use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::crm::Entity;
use crate::crm::custom::{ColumnChange, ColumnType, NewColumn};
use crate::crm::input::Nulls;
use crate::crm::query::{Filter, PageRequest, QueryInput, SortDescriptor};
use crate::crm::service::{CrmError, WriteRequest};
use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource};
use crate::error::ErrorDetail;
use crate::http::AppState;
use crate::tenants::TenantHandle;

/// What a tool call needs.
pub struct ToolContext<'a> {
    /// Shared server state.
    pub app: &'a AppState,
    /// The caller.
    pub caller: &'a Caller,
    /// The caller's company.
    pub tenant: TenantHandle,
}

/// A failed call: the text the agent reads.
#[derive(Debug)]
pub struct Failure(pub String);

type Outcome = Result<Value, Failure>;

fn invalid_args(tool: &str, problem: impl std::fmt::Display) -> Failure {
    Failure(format!(
        "Invalid arguments for tool {tool}: {problem}. Check the tool's input schema and try again."
    ))
}

impl From<CrmError> for Failure {
    fn from(error: CrmError) -> Self {
        match error {
            CrmError::Invalid(details) => {
                let mut details = details;
                details.sort_by_key(|d| d.path.matches(['.', '[']).count());
                let lines: Vec<String> = details
                    .iter()
                    .map(|d| {
                        if d.path.is_empty() {
                            format!("✖ {}", d.message)
                        } else {
                            format!("✖ {}\n  → at {}", d.message, d.path)
                        }
                    })
                    .collect();
                Self(format!("Validation error: {}", lines.join("\n")))
            }
            CrmError::Forbidden(message) | CrmError::NotFound(message) => Self(format!("Error: {message}")),
            CrmError::Unavailable => Self("Error: The company's worker restarted; retry the call.".into()),
            CrmError::Store(crate::store::StoreError::Conflict(_)) => Self(
                "Error: Another change to the same data was saved at the same moment; nothing was saved. Retry the call."
                    .into(),
            ),
            CrmError::Store(error) => {
                // The client sees a fixed text; the cause goes to the log, as for a REST 500.
                tracing::error!(error = ?crate::error::ChainDebug(&error), "internal error in a tool call");
                Self("Error: The server could not complete the request; retry later.".into())
            }
        }
    }
}

impl From<crate::admin::AdminError> for Failure {
    fn from(error: crate::admin::AdminError) -> Self {
        use crate::error::ErrorCode;
        if error.code() == crate::error::Code::Internal {
            tracing::error!(error = ?crate::error::ChainDebug(&error), "internal error in a tool call");
        }
        let details = error.details();
        if details.is_empty() {
            Self(format!("Error: {}", error.client_message()))
        } else {
            CrmError::Invalid(details).into()
        }
    }
}

fn object<'a>(tool: &str, args: &'a Value) -> Result<&'a Map<String, Value>, Failure> {
    args.as_object()
        .ok_or_else(|| invalid_args(tool, "arguments must be an object"))
}

fn entity(tool: &str, args: &Map<String, Value>, key: &str) -> Result<Entity, Failure> {
    const ENTITIES: &str = "one of contact, organization, deal, service, task";
    match args.get(key) {
        None | Some(Value::Null) => Err(invalid_args(tool, format!("`{key}` is required: {ENTITIES}"))),
        Some(value) => value
            .as_str()
            .and_then(Entity::parse)
            .ok_or_else(|| invalid_args(tool, format!("`{key}` must be {ENTITIES} ({value} given)"))),
    }
}

fn string(tool: &str, args: &Map<String, Value>, key: &str) -> Result<String, Failure> {
    args.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid_args(tool, format!("`{key}` is required and must be a string")))
}

fn array<'a>(
    tool: &str,
    args: &'a Map<String, Value>,
    key: &str,
    max: Option<usize>,
) -> Result<&'a Vec<Value>, Failure> {
    match args.get(key) {
        Some(Value::Array(items)) if items.is_empty() => {
            Err(invalid_args(tool, format!("`{key}` must hold at least 1 item")))
        }
        Some(Value::Array(items)) if max.is_some_and(|m| items.len() > m) => Err(invalid_args(
            tool,
            format!("`{key}` must hold at most {} items", max.unwrap_or_default()),
        )),
        Some(Value::Array(items)) => Ok(items),
        Some(Value::Null) if key.ends_with("Ids") || key == "services" => {
            Err(Failure(crate::crm::input::null_guard(key)))
        }
        _ => Err(invalid_args(tool, format!("`{key}` is required and must be an array"))),
    }
}

fn parse<T: serde::de::DeserializeOwned>(tool: &str, key: &str, value: Option<&Value>) -> Result<Option<T>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| invalid_args(tool, format!("`{key}`: {}", plain_types(&e.to_string())))),
    }
}

/// A validation failure with its paths renamed to the tool's own arguments (`rename` gives the new path, or `None`
/// to keep one).
fn at_arguments(details: Vec<ErrorDetail>, rename: impl Fn(&str) -> Option<String>) -> Failure {
    let details = details
        .into_iter()
        .map(|d| ErrorDetail {
            path: rename(&d.path).unwrap_or(d.path),
            message: d.message,
        })
        .collect();
    CrmError::Invalid(details).into()
}

/// [`at_arguments`] for the tools whose argument is `items` (notes, custom fields): `contacts[i]…` → `items[i]…`.
fn at_items(entity: Entity, details: Vec<ErrorDetail>) -> Failure {
    at_arguments(details, |path| {
        path.strip_prefix(entity.plural()).map(|rest| format!("items{rest}"))
    })
}

/// serde's messages name Rust types (`expected u32`); an agent reads JSON ones.
fn plain_types(message: &str) -> String {
    [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
    ]
    .iter()
    .fold(message.to_owned(), |text, (rust, json)| text.replace(rust, json))
}

/// The display name of a record.
fn name_of(entity: Entity, dto: &Value) -> String {
    match entity {
        Entity::Contact => format!(
            "{} {}",
            dto["firstName"].as_str().unwrap_or_default(),
            dto["lastName"].as_str().unwrap_or_default()
        )
        .trim()
        .to_owned(),
        _ => dto["name"].as_str().unwrap_or_default().to_owned(),
    }
}

fn refs(entity: Entity, items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|d| json!({"id": d["id"], "name": name_of(entity, d)}))
        .collect()
}

fn plural_label(entity: Entity, n: usize) -> String {
    format!("{n} {}(s)", entity.table())
}

fn message(text: String) -> Value {
    json!({"message": text})
}

impl ToolContext<'_> {
    fn access(&self) -> crate::crm::access::Access {
        self.caller.access()
    }

    /// Runs a tool by name; `None` when no such tool exists.
    pub async fn call(&self, name: &str, args: &Value) -> Option<Outcome> {
        let outcome = match name {
            "get_entity_configuration" => self.configuration(name, args).await,
            "filter_entity" => self.filter(name, args).await,
            "count_entity" => self.count(name, args).await,
            "search_all_entities" => self.search_all(name, args).await,
            "get_entities" => self.get_entities(name, args).await,
            "update_entity_notes" | "append_entity_notes" => self.notes(name, args).await,
            "delete_entities" => self.delete(name, args).await,
            "update_entity_custom_fields" => self.custom_fields(name, args).await,
            "link_entities" | "unlink_entities" => self.link(name, args).await,
            "get_current_user" => self.current_user(),
            "update_my_profile" => self.update_profile(name, args).await,
            "list_users" => self.list_users().await,
            "get_company" => self.company().await,
            "update_company" => self.update_company(name, args).await,
            "list_roles" => self.list_roles().await,
            "list_custom_columns" => self.list_columns(name, args).await,
            "delete_custom_column" => self.delete_column(name, args).await,
            _ => {
                if let Some((create, entity)) = entity_tool(name) {
                    self.create_or_update(name, create, entity, args).await
                } else if let Some((create, kind)) = column_tool(name) {
                    self.column(name, create, kind, args).await
                } else {
                    return None;
                }
            }
        };
        Some(outcome)
    }

    async fn configuration(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let config = self.tenant.configuration(entity, &self.access()).await?;
        let columns = self.tenant.list_columns(Some(entity)).await?;
        let mut sortable: Vec<Value> = entity.sortable().iter().map(|(f, _)| json!({"field": f})).collect();
        sortable.extend(
            columns
                .iter()
                .map(|c| json!({"field": c.id, "label": c.label, "columnType": c.kind})),
        );
        Ok(json!({
            "customColumns": config.custom_columns,
            "filterableFields": config.filterable_fields,
            "sortableFields": sortable,
            "filterSyntax": {
                "operators": {"string": ["equals", "contains", "gt", "gte", "lt", "lte"], "array": ["in", "notIn", "hasNone", "hasSome"], "range": ["between"], "noValue": ["isNull", "isNotNull"], "relative": ["inLastDays"]},
                "examples": [
                    {"field": "organizationIds", "operator": "in", "value": ["<organization-uuid>"]},
                    {"field": "createdAt", "operator": "between", "value": ["2024-01-01", "2024-12-31"]},
                    {"field": "userIds", "operator": "hasNone"},
                    {"field": "<custom-column-uuid>", "operator": "isNotNull"}
                ]
            },
            "sortSyntax": {
                "shape": {"field": "<built-in field or custom column uuid>", "direction": "asc | desc"},
                "comparison": "currency numeric; date and dateTime chronological; ranges by start; other types as text; rows without a value sort last",
                "examples": [{"field": "name", "direction": "asc"}, {"field": "createdAt", "direction": "desc"}]
            }
        }))
    }

    fn query(&self, tool: &str, args: &Map<String, Value>, page: Option<PageRequest>) -> Result<QueryInput, Failure> {
        let filters: Vec<Filter> = parse(tool, "filters", args.get("filters"))?.unwrap_or_default();
        let sort: Option<SortDescriptor> = parse(tool, "sortDescriptor", args.get("sortDescriptor"))?;
        let search_term: Option<String> = parse(tool, "searchTerm", args.get("searchTerm"))?;
        Ok(QueryInput {
            filters,
            search_term,
            sort_descriptor: sort,
            pagination: page,
            brief: true,
        })
    }

    async fn filter(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let page: u32 = parse(tool, "page", args.get("page"))?.unwrap_or(1);
        let size: u32 = parse(tool, "pageSize", args.get("pageSize"))?.unwrap_or(10);
        if ![5, 10, 25, 100].contains(&size) {
            return Err(invalid_args(tool, "`pageSize` must be one of 5, 10, 25, 100"));
        }
        if page == 0 {
            return Err(invalid_args(tool, "`page` must be at least 1"));
        }
        let query = self.query(
            tool,
            args,
            Some(PageRequest {
                page: Some(page),
                page_size: Some(size),
            }),
        )?;
        let result = self.tenant.search(entity, &query, &self.access()).await?;
        let mut out = json!({"items": refs(entity, &result.items), "total": result.pagination.total, "page": page});
        if args.contains_key("filters") {
            out["filters"] = json!(result.filters);
        }
        Ok(out)
    }

    async fn count(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let mut query = self.query(
            tool,
            args,
            Some(PageRequest {
                page: Some(1),
                page_size: Some(5),
            }),
        )?;
        query.search_term = None;
        let result = self.tenant.search(entity, &query, &self.access()).await?;
        Ok(
            json!({"total": result.pagination.total, "filters": if args.contains_key("filters") { json!(result.filters) } else { Value::Null }}),
        )
    }

    async fn search_all(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let term = string(tool, args, "searchTerm")?;
        if term.trim().is_empty() {
            return Err(invalid_args(tool, "`searchTerm` must not be empty"));
        }
        let mut entities: Vec<Entity> = match args.get("entities") {
            None | Some(Value::Null) => Entity::ALL.to_vec(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().and_then(Entity::parse).ok_or_else(|| {
                        invalid_args(
                            tool,
                            "`entities` items must be one of contact, organization, deal, service, task",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid_args(tool, "`entities` must be an array")),
        };
        // Each entity searched once, however often it is named (so at most five searches).
        let mut seen = std::collections::HashSet::new();
        entities.retain(|e| seen.insert(*e));
        let limit: u32 = parse(tool, "limitPerEntity", args.get("limitPerEntity"))?.unwrap_or(5);
        if !(1..=100).contains(&limit) {
            return Err(invalid_args(tool, "`limitPerEntity` must be between 1 and 100"));
        }
        let mut results = Vec::new();
        for entity in entities {
            let query = QueryInput {
                search_term: Some(term.clone()),
                pagination: Some(PageRequest {
                    page: Some(1),
                    page_size: Some(limit),
                }),
                brief: true,
                ..QueryInput::default()
            };
            let result = self.tenant.search(entity, &query, &self.access()).await?;
            results.push(json!({"entity": entity.table(), "items": refs(entity, &result.items), "total": result.pagination.total}));
        }
        Ok(json!({"searchTerm": term, "results": results}))
    }

    async fn get_entities(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        // The reference sets no bound; 10,000 items took over a minute. 100, as for every batch tool.
        let items = array(tool, args, "items", Some(100))?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item = item
                .as_object()
                .ok_or_else(|| invalid_args(tool, format!("items[{i}] must be an object")))?;
            let entity = entity(tool, item, "entity")?;
            let id = string(tool, item, "id")?;
            let with_notes = match item.get("include").filter(|v| !v.is_null()).map(Value::as_str) {
                None | Some(Some("masterData")) => false,
                Some(Some("withNotes")) => true,
                Some(_) => {
                    return Err(invalid_args(
                        tool,
                        format!("items[{i}].include must be one of masterData, withNotes"),
                    ));
                }
            };
            let Ok(id) = uuid::Uuid::parse_str(&id) else {
                out.push(json!({"error": format!("Validation error: ✖ Invalid UUID\n  → at items[{i}].id")}));
                continue;
            };
            match self
                .tenant
                .get(entity, &[id.to_string()], &self.access())
                .await?
                .pop()
                .flatten()
            {
                Some(mut dto) => {
                    let notes = dto
                        .as_object_mut()
                        .and_then(|m| m.remove("notes"))
                        .unwrap_or(Value::Null);
                    let mut element = Map::new();
                    element.insert(entity.table().into(), dto);
                    if with_notes {
                        element.insert("notes".into(), notes);
                    }
                    out.push(Value::Object(element));
                }
                None => out.push(json!({"error": format!("{} not found", entity.title())})),
            }
        }
        Ok(json!({"items": out}))
    }

    async fn update(&self, entity: Entity, items: Vec<Value>) -> Result<usize, CrmError> {
        let request = WriteRequest::Update {
            entity,
            items,
            nulls: Nulls::Refuse,
        };
        Ok(self.tenant.apply(self.access(), request).await?.records.len())
    }

    /// [`Self::update`] for the tools whose argument is `items` (notes, custom fields): errors are named at
    /// `items[i]…`, as the caller sent them, not at the entity's plural.
    async fn update_items(&self, entity: Entity, items: Vec<Value>) -> Result<usize, Failure> {
        match self.update(entity, items).await {
            Ok(n) => Ok(n),
            Err(CrmError::Invalid(details)) => Err(at_items(entity, details)),
            Err(other) => Err(other.into()),
        }
    }

    async fn notes(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let items = array(tool, args, "items", Some(100))?;
        let append = tool == "append_entity_notes";
        let mut pairs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let id = item["id"]
                .as_str()
                .ok_or_else(|| invalid_args(tool, format!("items[{i}].id is required")))?;
            let notes = item["notes"]
                .as_str()
                .ok_or_else(|| invalid_args(tool, format!("items[{i}].notes is required and must be a string")))?;
            if append && notes.trim().is_empty() {
                return Err(invalid_args(tool, format!("items[{i}].notes must not be empty")));
            }
            let id =
                uuid::Uuid::parse_str(id).map_err(|_| invalid_args(tool, format!("items[{i}].id must be a UUID")))?;
            pairs.push((id.to_string(), notes.to_owned()));
        }
        if append {
            let n = self
                .tenant
                .append_notes(self.access(), entity, pairs)
                .await
                .map_err(|e| match e {
                    CrmError::NotFound(message) => Failure(format!("Validation error: {message}")),
                    // Named at `items[i]…`, as the caller sent them.
                    CrmError::Invalid(details) => at_items(entity, details),
                    other => other.into(),
                })?;
            return Ok(message(format!("Appended notes on {}", plural_label(entity, n))));
        }
        let updates = pairs
            .into_iter()
            .map(|(id, notes)| json!({"id": id, "notes": notes}))
            .collect();
        let n = self.update_items(entity, updates).await?;
        Ok(message(format!("Updated notes for {}", plural_label(entity, n))))
    }

    async fn delete(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let ids: Vec<String> = array(tool, args, "ids", Some(100))?
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        let outcome = self
            .tenant
            .apply(self.access(), WriteRequest::Delete { entity, ids })
            .await?;
        Ok(message(format!(
            "Deleted {}",
            plural_label(entity, outcome.records.len())
        )))
    }

    async fn custom_fields(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let items = array(tool, args, "items", Some(100))?;
        let mut updates = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let values = match item.get("customFieldValues") {
                Some(Value::Array(values)) => values.clone(),
                _ => {
                    return Err(invalid_args(
                        tool,
                        format!("items[{i}].customFieldValues is required and must be an array"),
                    ));
                }
            };
            updates.push(json!({"id": item.get("id").cloned().unwrap_or(Value::Null), "customFieldValues": values}));
        }
        let n = self.update_items(entity, updates).await?;
        Ok(message(format!("Updated custom fields on {}", plural_label(entity, n))))
    }

    async fn link(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let entity = entity(tool, args, "entity")?;
        let source = string(tool, args, "sourceId")?;
        let relation = string(tool, args, "relation")?;
        let ids: Vec<String> = array(tool, args, "ids", None)?
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        let add = tool == "link_entities";
        let before = match uuid::Uuid::parse_str(&source) {
            Ok(uuid) => self
                .tenant
                .get(entity, &[uuid.to_string()], &self.access())
                .await?
                .pop()
                .flatten(),
            Err(_) => None,
        };
        let Some(before) = before else {
            return Err(Failure(format!(
                "Validation error: {} {source} not found",
                entity.title()
            )));
        };
        let count = |dto: &Value| dto[relation.as_str()].as_array().map_or(0, Vec::len);
        let was = count(&before);
        let request = WriteRequest::Link {
            entity,
            id: source.clone(),
            relation: relation.clone(),
            ids: ids.clone(),
            add,
        };
        let outcome = self.tenant.apply(self.access(), request).await?;
        let now = outcome.records.first().map_or(was, count);
        // The reference's texts: deal→services lines have their own, without the counts.
        let text = if entity == Entity::Deal && relation == "services" {
            let verb = if add { "Linked" } else { "Unlinked" };
            let to = if add { "to" } else { "from" };
            format!("{verb} {} service(s) {to} deal {source}", ids.len())
        } else if add {
            format!(
                "Linked {} {relation} to {} {source} (was {was}, now {now})",
                ids.len(),
                entity.table()
            )
        } else {
            format!(
                "Unlinked {} {relation} from {} {source} (was {was}, now {now})",
                ids.len(),
                entity.table()
            )
        };
        Ok(message(text))
    }

    async fn create_or_update(&self, tool: &str, create: bool, entity: Entity, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let items = array(tool, args, entity.plural(), Some(100))?.clone();
        if create {
            let request = WriteRequest::Create {
                entity,
                items,
                nulls: Nulls::Refuse,
            };
            let outcome = self.tenant.apply(self.access(), request).await?;
            Ok(json!({"items": refs(entity, &outcome.records)}))
        } else {
            let n = self.update(entity, items).await?;
            Ok(message(format!("Updated {}", plural_label(entity, n))))
        }
    }

    fn require(&self, requirement: Requirement<'_>) -> Result<(), Failure> {
        self.access()
            .require(requirement)
            .map_err(|m| Failure(format!("Error: {m}")))
    }

    fn current_user(&self) -> Outcome {
        self.require(Requirement::Any(&[
            perm(Resource::Users, Action::ReadAll),
            perm(Resource::Users, Action::ReadOwn),
        ]))?;
        let user = &self.caller.user;
        Ok(
            json!({"id": user.id, "firstName": user.first_name, "lastName": user.last_name, "country": user.country,
                  "avatarUrl": user.avatar_url, "roleId": user.role_id, "roleName": self.caller.role.as_ref().map(|r| r.name.clone())}),
        )
    }

    async fn update_profile(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let first = string(tool, args, "firstName")?;
        let last = string(tool, args, "lastName")?;
        let country = string(tool, args, "country")?;
        let avatar = match args.get("avatarUrl") {
            None => Some(self.caller.user.avatar_url.clone()),
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.is_empty() => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => return Err(invalid_args(tool, "`avatarUrl` must be a URL string, \"\" or null")),
        };
        let user = self
            .app
            .admin
            .update_profile(
                &self.caller.user.id,
                &first,
                &last,
                &country,
                avatar.flatten().as_deref(),
            )
            .await?;
        Ok(json!({"firstName": user.first_name, "lastName": user.last_name, "message": "Profile updated"}))
    }

    async fn list_users(&self) -> Outcome {
        self.require(Requirement::Any(&[
            perm(Resource::Users, Action::ReadAll),
            perm(Resource::Users, Action::ReadOwn),
        ]))?;
        let all = self.access().scope(Resource::Users) == Some(crate::crm::access::Scope::All);
        let mut users = crate::store::control::list_users(self.app.store.control(), &self.caller.company.id)
            .await
            .map_err(|_| Failure("Error: could not list users".into()))?;
        if !all {
            users.retain(|u| u.id == self.caller.user.id);
        }
        users.sort_by(|a, b| (&a.first_name, &a.last_name).cmp(&(&b.first_name, &b.last_name)));
        users.truncate(100);
        let items: Vec<Value> = users
            .iter()
            .map(|u| json!({"id": u.id, "firstName": u.first_name, "lastName": u.last_name}))
            .collect();
        Ok(json!({"total": items.len(), "items": items}))
    }

    async fn company(&self) -> Outcome {
        self.require(Requirement::All(&[perm(Resource::Company, Action::ReadOwn)]))?;
        let profile = self.app.admin.company_profile(&self.caller.company.id).await?;
        Ok(profile)
    }

    async fn update_company(&self, tool: &str, args: &Value) -> Outcome {
        self.require(Requirement::All(&[
            perm(Resource::Company, Action::ReadOwn),
            perm(Resource::Company, Action::Update),
        ]))?;
        let args = object(tool, args)?;
        let profile: crate::admin::CompanyProfile =
            serde_json::from_value(Value::Object(args.clone())).map_err(|e| invalid_args(tool, e))?;
        let company = self
            .app
            .admin
            .update_company_profile(&self.caller.company.id, &profile)
            .await?;
        Ok(json!({"name": company["name"], "message": "Company profile updated"}))
    }

    async fn list_roles(&self) -> Outcome {
        self.require(Requirement::Any(&[
            perm(Resource::Users, Action::ReadAll),
            perm(Resource::Users, Action::ReadOwn),
        ]))?;
        let roles = self.app.admin.list_roles(&self.caller.company.id).await?;
        Ok(json!({"total": roles.len(), "items": roles}))
    }

    async fn list_columns(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let filter = match args.get("entityType") {
            None | Some(Value::Null) => None,
            Some(_) => Some(entity(tool, args, "entityType")?),
        };
        let columns = self.tenant.list_columns(filter).await?;
        Ok(json!({"items": columns.iter().map(crate::crm::columns::dto).collect::<Vec<_>>()}))
    }

    async fn delete_column(&self, tool: &str, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let id = string(tool, args, "id")?;
        let column = self.tenant.delete_column(self.access(), id).await?;
        Ok(message(format!("Deleted custom column {}", column.id)))
    }

    async fn column(&self, tool: &str, create: bool, kind: ColumnType, args: &Value) -> Outcome {
        let args = object(tool, args)?;
        let label = string(tool, args, "label")?;
        let options = column_options(kind, args);
        let saved = if create {
            let entity_type = entity(tool, args, "entityType")?;
            let request = NewColumn {
                entity_type,
                kind,
                label,
                options,
            };
            self.tenant.create_column(self.access(), request).await
        } else {
            let id = string(tool, args, "id")?;
            let change = ColumnChange {
                label: Some(label),
                options,
            };
            self.tenant.update_column(self.access(), id, change, Some(kind)).await
        };
        let column = match saved {
            Ok(column) => column,
            // The reference answers an unknown column id as a validation error.
            Err(CrmError::NotFound(message)) => return Err(Failure(format!("Validation error: {message}"))),
            // Paths as the tool's arguments name them: its options are top-level (`options[0].color`, `currency`),
            // where the stored column nests them (`options.options[0].color`, `options.currency`).
            Err(CrmError::Invalid(details)) => {
                return Err(at_arguments(details, |path| {
                    path.strip_prefix("options.options")
                        .map(|rest| format!("options{rest}"))
                        .or_else(|| path.strip_prefix("options.").map(str::to_owned))
                }));
            }
            Err(other) => return Err(other.into()),
        };
        let verb = if create {
            "created successfully"
        } else {
            "updated successfully"
        };
        Ok(
            json!({"id": column.id, "label": column.label, "message": format!("Custom field \"{}\" {verb}", column.label)}),
        )
    }
}

/// Maps the per-type tool arguments onto stored options.
fn column_options(kind: ColumnType, args: &Map<String, Value>) -> Option<Value> {
    match kind {
        ColumnType::Plain => None,
        ColumnType::Date | ColumnType::DateTime | ColumnType::DateRange | ColumnType::DateTimeRange => args
            .get("displayFormat")
            .filter(|v| !v.is_null())
            .map(|f| json!({"displayFormat": f})),
        ColumnType::Currency => Some(json!({"currency": args.get("currency").cloned().unwrap_or(Value::Null)})),
        ColumnType::Link | ColumnType::Email | ColumnType::Phone => Some(json!({
            "color": args.get("color").cloned().unwrap_or(Value::Null),
            "allowMultiple": args.get("allowMultiple").cloned().unwrap_or(Value::Null),
        })),
        ColumnType::SingleSelect => Some(json!({"options": args.get("options").cloned().unwrap_or(Value::Null)})),
    }
}

/// `create_contacts` → (true, Contact), `update_deals` → (false, Deal).
fn entity_tool(name: &str) -> Option<(bool, Entity)> {
    let (create, plural) = name
        .strip_prefix("create_")
        .map(|p| (true, p))
        .or_else(|| name.strip_prefix("update_").map(|p| (false, p)))?;
    Entity::ALL
        .into_iter()
        .find(|e| e.plural() == plural)
        .map(|e| (create, e))
}

/// `create_single_select_custom_column` → (true, SingleSelect).
fn column_tool(name: &str) -> Option<(bool, ColumnType)> {
    let rest = name.strip_suffix("_custom_column")?;
    let (create, kind) = rest
        .strip_prefix("create_")
        .map(|k| (true, k))
        .or_else(|| rest.strip_prefix("update_").map(|k| (false, k)))?;
    let all = [
        ColumnType::Plain,
        ColumnType::Date,
        ColumnType::DateTime,
        ColumnType::DateRange,
        ColumnType::DateTimeRange,
        ColumnType::Currency,
        ColumnType::SingleSelect,
        ColumnType::Link,
        ColumnType::Email,
        ColumnType::Phone,
    ];
    all.into_iter().find(|k| k.tool_name() == kind).map(|k| (create, k))
}
