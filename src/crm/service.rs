//! The company-level CRM operations every surface (REST, MCP) calls: permission checks, validation, reads,
//! writes. Reads run on the company's session directly; writes are called from the company's actor.

use std::ops::Bound;
use std::sync::atomic::AtomicU64;

use parking_lot::RwLock;
use serde::Serialize;
use serde_json::{Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::{Object as DbObject, RecordId, RecordIdKey, RecordIdKeyRange, Value as DbValue};
use utoipa::ToSchema;

use super::access::{Access, Scope};
use super::custom::{self, Column, ColumnChange, NewColumn};
use super::dto::{self, Visibility};
use super::events::{self, Event};
use super::input::{self, Mode, Nulls};
use super::query::{self, FilterableField, QueryInput};
use super::text_index::{Matches, Texts};
use super::write::{self, Op, Outcome, WriteError, Writer};
use super::{Entity, Pagination, columns};
use crate::domain::Action;
use crate::error::{Code, ErrorCode, ErrorDetail};
use crate::store::{StoreError, run};

/// Why a CRM operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// Invalid input; each detail names its path.
    #[error("validation failed")]
    Invalid(Vec<ErrorDetail>),
    /// A permission is missing; the message names it.
    #[error("{0}")]
    Forbidden(String),
    /// The record does not exist in this company (or is not visible).
    #[error("{0}")]
    NotFound(String),
    /// The company's worker restarted mid-request.
    #[error("the company's worker is unavailable")]
    Unavailable,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WriteError> for CrmError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Invalid(details) => Self::Invalid(details),
            WriteError::Forbidden(message) => Self::Forbidden(message),
            WriteError::Store(error) => Self::Store(error),
        }
    }
}

impl From<surrealdb::Error> for CrmError {
    fn from(error: surrealdb::Error) -> Self {
        Self::Store(error.into())
    }
}

impl ErrorCode for CrmError {
    fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::ValidationFailed,
            Self::Forbidden(_) => Code::Forbidden,
            Self::NotFound(_) => Code::RecordNotFound,
            Self::Unavailable => Code::TenantUnavailable,
            Self::Store(error) => error.code(),
        }
    }
    fn client_message(&self) -> String {
        match self {
            Self::Invalid(details) => crate::error::ApiError::validation(details.clone()).message,
            Self::Store(error) => error.client_message(),
            Self::Unavailable => "The company's worker restarted; retry the request.".into(),
            other => other.to_string(),
        }
    }
    fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Invalid(details) => details.clone(),
            _ => Vec::new(),
        }
    }
}

/// Result of a CRM operation.
pub type CrmResult<T> = Result<T, CrmError>;

fn invalid(path: &str, message: impl Into<String>) -> CrmError {
    CrmError::Invalid(vec![ErrorDetail {
        path: path.to_owned(),
        message: message.into(),
    }])
}

/// A list response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    /// The records on this page.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    /// The filters applied.
    pub filters: Vec<query::Filter>,
    /// The search term applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
    /// The sort applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_descriptor: Option<query::SortDescriptor>,
    /// The entity's custom columns.
    #[schema(value_type = Vec<Object>)]
    pub custom_columns: Vec<Value>,
    /// What can be filtered on.
    pub filterable_fields: Vec<FilterableField>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// An entity's configuration: custom columns, filterable and sortable fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    /// The entity's custom columns.
    #[schema(value_type = Vec<Object>)]
    pub custom_columns: Vec<Value>,
    /// What can be filtered on, with operators.
    pub filterable_fields: Vec<FilterableField>,
    /// What can be sorted on.
    pub sortable_fields: Vec<String>,
}

/// The company's session and cached state, as the CRM operations need them.
pub struct Company<'a> {
    /// The company id.
    pub id: &'a str,
    /// Its session.
    pub db: &'a Surreal<Any>,
    /// Its custom columns.
    pub columns: &'a [Column],
    /// Whether its secondary indexes are built.
    pub indexed: bool,
    /// Its records' search texts, as its actor has them (see [`Texts`]).
    pub text: &'a RwLock<Texts>,
    /// How many of [`CONFLICT_RETRIES`] the writes made through this value have used: one budget for all of them
    /// (an actor's turn), so a run of conflicts holds the company's queue for ~0.4 s at most, not per request.
    pub conflict_pauses: std::sync::atomic::AtomicUsize,
}

impl Company<'_> {
    /// An entity's configuration for a caller.
    pub fn configuration(&self, entity: Entity, access: &Access) -> CrmResult<Configuration> {
        access.require_read(entity).map_err(CrmError::Forbidden)?;
        Ok(Configuration {
            custom_columns: columns::of(self.columns, entity).iter().map(columns::dto).collect(),
            filterable_fields: query::filterable_fields(entity, self.columns, access),
            sortable_fields: query::sortable_fields(entity, self.columns),
        })
    }

    /// A page of records matching the query. `held_total` (the entity's record count, held by the company's
    /// actor) answers unfiltered totals without a scan.
    pub async fn search(
        &self,
        entity: Entity,
        input: &QueryInput,
        access: &Access,
        held_total: u64,
    ) -> CrmResult<SearchResult> {
        let scope = access.require_read(entity).map_err(CrmError::Forbidden)?;
        // The held texts' answers are taken under their lock, and the query is built after it is released.
        let matches = input.search_term.as_deref().and_then(|term| {
            let text = self.text.read();
            let entities: Vec<Entity> = std::iter::once(entity)
                .chain(entity.search_via().map(|v| v.0))
                .collect();
            text.held().map(|held| Matches::of(held, &entities, term))
        });
        let compiled = query::compile(
            entity,
            input,
            self.columns,
            access,
            scope,
            self.indexed,
            matches.as_ref(),
        )
        .map_err(CrmError::Invalid)?;
        let mut missing = Vec::new();
        for check in &compiled.checks {
            let scope = access.target_scope(check.target).unwrap_or(Scope::Own);
            let ids: Vec<String> = check.ids.iter().map(|(_, id)| id.clone()).collect();
            let found = super::write::existing(self.db, check.target.table(), &ids, scope, &access.user_id).await?;
            let title = match check.target {
                super::spec::Target::Entity(e) => e.title(),
                super::spec::Target::User => "User",
            };
            missing.extend(
                check
                    .ids
                    .iter()
                    .filter(|(_, id)| !found.contains(id))
                    .map(|(path, _)| ErrorDetail {
                        path: path.clone(),
                        message: format!("{title} ID not found or not accessible."),
                    }),
            );
        }
        if !missing.is_empty() {
            return Err(CrmError::Invalid(missing));
        }
        let mut results = run(self.db, &compiled.sql, serde_json::Value::Object(compiled.vars.clone())).await?;
        let total_value = results.pop().unwrap_or(Value::Null);
        let rows = match results.pop() {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        };
        let total = if compiled.unfiltered {
            held_total
        } else {
            total_value.as_u64().unwrap_or(0)
        };
        let visibility = Visibility::for_caller(self.db, entity, access).await?;
        let items: Vec<Value> = rows
            .into_iter()
            .map(|row| {
                let mut dto = dto::shape(row);
                visibility.apply(entity, &mut dto);
                dto
            })
            .collect();
        let page = compiled.page;
        let result = SearchResult {
            items,
            filters: compiled.filters,
            search_term: input.search_term.clone().filter(|t| !t.trim().is_empty()),
            sort_descriptor: input.sort_descriptor.clone(),
            custom_columns: columns::of(self.columns, entity).iter().map(columns::dto).collect(),
            filterable_fields: query::filterable_fields(entity, self.columns, access),
            pagination: Pagination {
                page: page.page,
                page_size: page.page_size,
                total_pages: total.div_ceil(u64::from(page.page_size)).max(1),
                total,
            },
        };
        Ok(result)
    }

    /// Records by id, as the caller may see them; `None` where missing or invisible.
    pub async fn get(&self, entity: Entity, ids: &[String], access: &Access) -> CrmResult<Vec<Option<Value>>> {
        let scope = access.require_read(entity).map_err(CrmError::Forbidden)?;
        let found = dto::load(self.db, entity, ids).await?;
        let own = if scope == Scope::Own {
            Some(dto::assigned_ids(self.db, &access.user_id, entity.table()).await?)
        } else {
            None
        };
        let visibility = Visibility::for_caller(self.db, entity, access).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let mut dto = found.iter().find(|d| d["id"] == id.as_str())?.clone();
                if own.as_ref().is_some_and(|own| !own.contains(id)) {
                    return None;
                }
                visibility.apply(entity, &mut dto);
                Some(dto)
            })
            .collect())
    }

    /// Applies a write request (called on the company's actor).
    pub async fn write(&self, access: &Access, seq: &AtomicU64, request: WriteRequest) -> CrmResult<Outcome> {
        let op = self.prepare(access, request)?;
        self.apply(access, seq, op).await
    }

    /// Applies a checked operation; if it fails (nothing was written), the event numbers it took go back unused.
    ///
    /// A write conflict is tried again, after the pauses of [`CONFLICT_RETRIES`] (one budget per actor turn, see
    /// [`Company::conflict_pauses`]), before it is answered (409): the
    /// company's writes run one at a time on its actor, so what a write conflicts with is the engine's own
    /// background work on the same keys (on SurrealDB 3.3.5, deleting 100 organizations right after 20 contacts were
    /// each linked to all of them conflicted every time, and not 0.3 s later), which the client could do nothing
    /// about. Each try runs the whole write again, its checks included, in a transaction of its own.
    async fn apply(&self, access: &Access, seq: &AtomicU64, op: Op) -> CrmResult<Outcome> {
        loop {
            let attempt = op.clone();
            match numbered(seq, || async move { self.writer(access, seq).apply(attempt).await }).await {
                Err(WriteError::Store(crate::store::StoreError::Conflict(error))) => match CONFLICT_RETRIES
                    .get(self.conflict_pauses.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    Some(pause) => {
                        tracing::debug!(%error, ?pause, "write conflict; trying again");
                        tokio::time::sleep(*pause).await;
                    }
                    None => return Err(WriteError::Store(crate::store::StoreError::Conflict(error)).into()),
                },
                other => return Ok(other?),
            }
        }
    }

    fn writer<'a>(&'a self, access: &'a Access, seq: &'a AtomicU64) -> Writer<'a> {
        Writer {
            db: self.db,
            access,
            columns: self.columns,
            company_id: self.id,
            seq,
        }
    }

    /// Applies write requests that queued up on the company's actor while it was busy (called on the actor):
    /// the creates among them that link to nothing share one transaction, so one commit serves them all; the
    /// others run one by one. Each request gets its own answer, in order, as if it had run alone: a request
    /// that fails changes nothing and does not fail the others.
    pub async fn write_queued(&self, seq: &AtomicU64, queued: &[(Access, WriteRequest)]) -> Vec<CrmResult<Outcome>> {
        if let [(access, request)] = queued {
            return vec![self.write(access, seq, request.clone()).await];
        }
        let mut answers: Vec<Option<CrmResult<Outcome>>> = queued.iter().map(|_| None).collect();
        let mut shared = Vec::new();
        let mut alone = Vec::new();
        // The shared block numbers its events as it is built; if it fails, the numbers go back unused.
        let seq_before = seq.load(std::sync::atomic::Ordering::Relaxed);
        for (i, (access, request)) in queued.iter().enumerate() {
            match self.prepare(access, request.clone()) {
                Err(error) => answers[i] = Some(Err(error)),
                Ok(Op::Create(entity, items)) if !write::makes_links(&items) => {
                    let part = self.writer(access, seq).unlinked_part(entity, &items, i);
                    shared.push((i, part, Op::Create(entity, items)));
                }
                Ok(op) => alone.push((i, op)),
            }
        }
        let (positions, (parts, ops)): (Vec<usize>, (Vec<_>, Vec<_>)) =
            shared.into_iter().map(|(i, part, op)| (i, (part, op))).unzip();
        let shared_result = if parts.is_empty() {
            Ok(Vec::new())
        } else {
            write::run_unlinked(self.db, parts).await
        };
        match shared_result {
            Ok(outcomes) => {
                for (i, outcome) in positions.into_iter().zip(outcomes) {
                    answers[i] = Some(Ok(outcome));
                }
            }
            // Something in the shared transaction failed: nothing of it was written; each runs alone so only
            // the request at fault fails.
            Err(error) => {
                tracing::warn!(%error, "shared create transaction failed; running its creates one by one");
                seq.store(seq_before, std::sync::atomic::Ordering::Relaxed);
                alone.extend(positions.into_iter().zip(ops));
                alone.sort_by_key(|(i, _)| *i);
            }
        }
        for (i, op) in alone {
            let access = &queued[i].0;
            answers[i] = Some(self.apply(access, seq, op).await);
        }
        answers
            .into_iter()
            .map(|answer| answer.unwrap_or(Err(CrmError::Unavailable)))
            .collect()
    }

    fn prepare(&self, access: &Access, request: WriteRequest) -> CrmResult<Op> {
        let forbid = CrmError::Forbidden;
        let parse = |entity: Entity, items: &[Value], mode: Mode, nulls: Nulls| -> CrmResult<Vec<input::Item>> {
            if items.is_empty() || items.len() > 100 {
                return Err(invalid(entity.plural(), "must hold 1 to 100 items"));
            }
            let mut parsed = Vec::with_capacity(items.len());
            let mut details = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match input::parse_item(
                    entity,
                    item,
                    &format!("{}[{i}]", entity.plural()),
                    mode,
                    nulls,
                    self.columns,
                ) {
                    Ok(item) => parsed.push(item),
                    Err(problems) => details.extend(problems),
                }
            }
            if mode == Mode::Update {
                let mut seen = std::collections::HashSet::new();
                for (i, item) in parsed.iter().enumerate() {
                    if !seen.insert(item.id.clone()) {
                        details.push(ErrorDetail {
                            path: format!("{}[{i}].id", entity.plural()),
                            message: "appears twice in this batch".into(),
                        });
                    }
                }
            }
            if details.is_empty() {
                Ok(parsed)
            } else {
                Err(CrmError::Invalid(details))
            }
        };
        Ok(match request {
            WriteRequest::Create { entity, items, nulls } => {
                access.require_action(entity, Action::Create).map_err(forbid)?;
                Op::Create(entity, parse(entity, &items, Mode::Create, nulls)?)
            }
            WriteRequest::Update { entity, items, nulls } => {
                access.require_action(entity, Action::Update).map_err(forbid)?;
                Op::Update(entity, parse(entity, &items, Mode::Update, nulls)?)
            }
            WriteRequest::Delete { entity, ids } => {
                access.require_action(entity, Action::Delete).map_err(forbid)?;
                if ids.is_empty() || ids.len() > 100 {
                    return Err(invalid("ids", "must hold 1 to 100 ids"));
                }
                let mut unique: Vec<String> = Vec::with_capacity(ids.len());
                for (i, id) in ids.iter().enumerate() {
                    let id = uuid::Uuid::parse_str(id)
                        .map_err(|_| invalid(&format!("ids[{i}]"), "must be a UUID"))?
                        .to_string();
                    if !unique.contains(&id) {
                        unique.push(id);
                    }
                }
                Op::Delete(entity, unique)
            }
            WriteRequest::Link {
                entity,
                id,
                relation,
                ids,
                add,
            } => {
                access.require_action(entity, Action::Update).map_err(forbid)?;
                access.require_read(entity).map_err(forbid)?;
                let Some(relation) = entity.relations().iter().find(|r| r.dto == relation) else {
                    let allowed: Vec<&str> = entity.relations().iter().map(|r| r.dto).collect();
                    return Err(invalid(
                        "relation",
                        format!(
                            "Relation \"{relation}\" is not allowed on {}. Allowed for {}: {}.",
                            entity.table(),
                            entity.table(),
                            allowed.join(", ")
                        ),
                    ));
                };
                let id = uuid::Uuid::parse_str(&id)
                    .map_err(|_| invalid("sourceId", "must be a UUID"))?
                    .to_string();
                if ids.is_empty() || ids.len() > 100 {
                    return Err(invalid("ids", "must hold 1 to 100 ids"));
                }
                let mut unique: Vec<String> = Vec::with_capacity(ids.len());
                for (j, raw) in ids.iter().enumerate() {
                    let other = uuid::Uuid::parse_str(raw)
                        .map_err(|_| invalid(&format!("ids[{j}]"), "must be a UUID"))?
                        .to_string();
                    if !unique.contains(&other) {
                        unique.push(other);
                    }
                }
                Op::Link {
                    entity,
                    id,
                    relation,
                    ids: unique,
                    add,
                }
            }
        })
    }

    /// Creates a custom column (needs `create` on its entity), with its `custom_column.created` event.
    pub async fn create_column(&self, access: &Access, seq: &AtomicU64, request: &NewColumn) -> CrmResult<Column> {
        access
            .require_action(request.entity_type, Action::Create)
            .map_err(CrmError::Forbidden)?;
        let label = custom::check_label(&request.label).map_err(|m| invalid("label", m))?;
        let options =
            custom::check_options(request.kind, request.options.as_ref(), None).map_err(|(p, m)| invalid(&p, m))?;
        let column = Column {
            id: uuid::Uuid::new_v4().to_string(),
            label,
            entity_type: request.entity_type,
            kind: request.kind,
            options,
        };
        let event = column_event("created", &column, columns::dto(&column));
        self.column_change(access, seq, &[event], |outbox| {
            columns::create(self.db, &column, outbox)
        })
        .await?;
        Ok(column)
    }

    /// Changes a column's label and options (needs `update` on its entity), with a `custom_column.updated` event
    /// when something changed. `expected` refuses a column of another type, naming the right MCP tool.
    pub async fn update_column(
        &self,
        access: &Access,
        seq: &AtomicU64,
        id: &str,
        change: &ColumnChange,
        expected: Option<custom::ColumnType>,
    ) -> CrmResult<Column> {
        let mut column = self.column(id)?;
        let before = columns::dto(&column);
        if let Some(expected) = expected.filter(|e| *e != column.kind) {
            return Err(invalid(
                "id",
                format!(
                    "Custom column {id} is type \"{}\", not \"{}\". Use update_{}_custom_column instead.",
                    column.kind.as_str(),
                    expected.as_str(),
                    column.kind.tool_name()
                ),
            ));
        }
        access
            .require_action(column.entity_type, Action::Update)
            .map_err(CrmError::Forbidden)?;
        if let Some(label) = &change.label {
            column.label = custom::check_label(label).map_err(|m| invalid("label", m))?;
        }
        if change.options.is_some() || column.kind == custom::ColumnType::Plain {
            let options = custom::check_options(column.kind, change.options.as_ref(), column.options.as_ref())
                .map_err(|(p, m)| invalid(&p, m))?;
            // Values of several parts would no longer be accepted back as they are: the switch waits until none is
            // left (the column's writes and the records' run on one actor, so none can be written meanwhile).
            let multiple = |o: Option<&Value>| o.and_then(|o| o.get("allowMultiple")).and_then(Value::as_bool);
            if multiple(column.options.as_ref()) == Some(true) && multiple(options.as_ref()) == Some(false) {
                let held = columns::lists_held(self.db, &column).await?;
                if held > 0 {
                    return Err(invalid(
                        "options.allowMultiple",
                        format!(
                            "{held} record(s) hold several values in this column; leave one value in each before \
                             turning allowMultiple off."
                        ),
                    ));
                }
            }
            column.options = options;
        }
        let after = columns::dto(&column);
        let changes = events::changes(&before, &after, &[]);
        let events = if changes.is_empty() {
            vec![]
        } else {
            vec![column_event(
                "updated",
                &column,
                json!({"customColumn": after, "changes": changes}),
            )]
        };
        self.column_change(access, seq, &events, |outbox| columns::update(self.db, &column, outbox))
            .await?;
        Ok(column)
    }

    /// Deletes a column and its values (needs `delete` on its entity), with its `custom_column.deleted` event.
    pub async fn delete_column(&self, access: &Access, seq: &AtomicU64, id: &str) -> CrmResult<Column> {
        let column = self.column(id)?;
        access
            .require_action(column.entity_type, Action::Delete)
            .map_err(CrmError::Forbidden)?;
        let event = column_event("deleted", &column, columns::dto(&column));
        self.column_change(access, seq, &[event], |outbox| {
            columns::delete(self.db, &column, outbox)
        })
        .await?;
        Ok(column)
    }

    /// Runs a column change with the outbox rows of its events (numbered next); the numbers are given back when
    /// the change fails.
    async fn column_change<F, Fut>(
        &self,
        access: &Access,
        seq: &AtomicU64,
        events: &[Event],
        change: F,
    ) -> CrmResult<()>
    where
        F: FnOnce(DbValue) -> Fut,
        Fut: std::future::Future<Output = Result<(), StoreError>>,
    {
        Ok(numbered(seq, || change(self.writer(access, seq).outbox_rows(events))).await?)
    }

    /// One column.
    pub fn column(&self, id: &str) -> CrmResult<Column> {
        let key = custom::column_key(id);
        self.columns
            .iter()
            .find(|c| c.id == key)
            .cloned()
            .ok_or_else(|| CrmError::NotFound(format!("Custom column {id} not found")))
    }
}

/// The pauses before a conflicting write is tried again (see [`Company::apply`]): ~0.4 s in all.
const CONFLICT_RETRIES: [std::time::Duration; 4] = [
    std::time::Duration::from_millis(20),
    std::time::Duration::from_millis(50),
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(200),
];

/// Runs a write that numbers its events from `seq` (`write` takes the numbers when called); if it fails, nothing was
/// written and the numbers go back unused.
async fn numbered<T, E, Fut>(seq: &AtomicU64, write: impl FnOnce() -> Fut) -> Result<T, E>
where
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let before = seq.load(std::sync::atomic::Ordering::Relaxed);
    let result = write().await;
    if result.is_err() {
        seq.store(before, std::sync::atomic::Ordering::Relaxed);
    }
    result
}

/// `custom_column.<kind>` for a column: an audit event (as the reference's), not one of the 15 webhook events.
/// A column change that rewrites records' values (a default backfilled, a removed option's values moved or
/// dropped, a deleted column's values dropped) is told by this one event, not by an event per record. Saving a
/// single-select column unchanged still fills its default into records without a value, as the reference does,
/// and has no event (its `changes` would be empty).
fn column_event(kind: &str, column: &Column, payload: Value) -> Event {
    Event {
        event: format!("custom_column.{kind}"),
        entity_id: column.id.clone(),
        payload,
    }
}

/// A write as received from a surface, before parsing (parsing needs the column definitions the actor holds).
#[derive(Debug, Clone)]
pub enum WriteRequest {
    /// Create 1–100 records.
    Create {
        /// Entity.
        entity: Entity,
        /// Items as JSON objects.
        items: Vec<Value>,
        /// What `null` on a relationship means.
        nulls: Nulls,
    },
    /// Update 1–100 records.
    Update {
        /// Entity.
        entity: Entity,
        /// Items with `id`.
        items: Vec<Value>,
        /// What `null` on a relationship means.
        nulls: Nulls,
    },
    /// Delete 1–100 records.
    Delete {
        /// Entity.
        entity: Entity,
        /// Ids.
        ids: Vec<String>,
    },
    /// Add or remove links.
    Link {
        /// The record's entity.
        entity: Entity,
        /// The record.
        id: String,
        /// The relation's DTO name (`organizations`, `users`, …).
        relation: String,
        /// The far ends.
        ids: Vec<String>,
        /// Add or remove.
        add: bool,
    },
}

impl WriteRequest {
    /// How many records the request names.
    #[must_use]
    pub fn item_count(&self) -> usize {
        match self {
            Self::Create { items, .. } | Self::Update { items, .. } => items.len(),
            Self::Delete { ids, .. } | Self::Link { ids, .. } => ids.len(),
        }
    }
}

/// Bytes of event JSON a page of [`events`] stops after (the event that crosses it is the page's last): a page
/// holds at most `limit` events, and fewer once they are large (a record of many long custom values makes an event
/// of megabytes, and 500 of them would be held in memory at once).
pub const EVENTS_PAGE_BYTES: usize = 1 << 20;

/// Events returned per key range read (the engine fetches a range's records in batches of up to 500, so a read of a
/// widened range holds at most that many beyond the page's byte budget).
const EVENTS_PER_READ: u64 = 100;

/// The widest key range one read spans (after ranges that held no event).
const EVENTS_MAX_SPAN: u64 = 100 * 1024;

/// Change events after a sequence number, oldest first: at most `limit`, and no more once they reach
/// [`EVENTS_PAGE_BYTES`] (always at least one, if there is one); the caller goes on after the last `seq`.
///
/// Events are keyed by their number (`schema/tenant/040_outbox.surql`), so this reads key ranges up to the last
/// event, at most [`EVENTS_PER_READ`] events each: a range of 100 keys first, twice as wide after each range that held
/// nothing (numbers can be missing: a write that failed after taking its numbers in another process), so a gap costs
/// a few reads, not one per 100 numbers. Ranges are bounded: on SurrealDB 3.3.5 an open-ended range `outbox:5>..
/// LIMIT 3` took 1.85 ms over 2,000 events, against 0.07 ms for `outbox:5>..=8` (`bench sql`).
pub async fn events(db: &Surreal<Any>, after: u64, limit: u32) -> CrmResult<Vec<Value>> {
    const SQL: &str = "SELECT record::id(id) AS seq, event, entityId, payload, userId, companyId, createdAt \
                       FROM $range LIMIT $limit";
    let last = last_seq(db).await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut items: Vec<Value> = Vec::new();
    let mut bytes = 0;
    let mut from = after;
    let mut span = EVENTS_PER_READ;
    while items.len() < limit && bytes < EVENTS_PAGE_BYTES && from < last {
        let wanted = u64::try_from(limit - items.len())
            .unwrap_or(u64::MAX)
            .min(EVENTS_PER_READ);
        let to = last.min(from.saturating_add(span));
        let vars = DbValue::Object(DbObject::from_iter([
            ("range".to_owned(), key_range("outbox", from, to)),
            (
                "limit".to_owned(),
                DbValue::from_t(i64::try_from(wanted).unwrap_or(i64::MAX)),
            ),
        ]));
        let rows = match run(db, SQL, vars).await?.pop() {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        };
        // A full read may have left events of its range unread: go on after the last one read.
        let full = rows.len() as u64 >= wanted;
        from = match rows.last().and_then(|row| row["seq"].as_u64()) {
            Some(seq) if full => seq,
            _ => to,
        };
        span = if rows.is_empty() {
            span.saturating_mul(2).min(EVENTS_MAX_SPAN)
        } else {
            EVENTS_PER_READ
        };
        for row in rows {
            if items.len() == limit || bytes >= EVENTS_PAGE_BYTES {
                break;
            }
            bytes += serde_json::to_vec(&row).map_or(0, |json| json.len());
            items.push(row);
        }
    }
    Ok(items)
}

/// The records of `table` keyed by the numbers in `(after, to]`, as a value to bind.
fn key_range(table: &str, after: u64, to: u64) -> DbValue {
    let key = |n: u64| RecordIdKey::Number(i64::try_from(n).unwrap_or(i64::MAX));
    DbValue::RecordId(RecordId::new(
        table,
        RecordIdKey::Range(Box::new(RecordIdKeyRange {
            start: Bound::Excluded(key(after)),
            end: Bound::Included(key(to)),
        })),
    ))
}

/// The highest outbox sequence number written so far (the last key: a reverse walk of the table that stops at one
/// row).
pub async fn last_seq(db: &Surreal<Any>) -> CrmResult<u64> {
    let mut results = run(
        db,
        "SELECT VALUE record::id(id) FROM outbox ORDER BY id DESC LIMIT 1",
        json!({}),
    )
    .await?;
    match results.pop() {
        // Keys that are not numbers sort after the numbers. Such a key (an event an earlier version wrote, not
        // moved) would restart the numbering at 1, where every write fails as a duplicate: refuse instead.
        Some(Value::Array(mut values)) if !values.is_empty() => {
            Ok(serde_json::from_value::<u64>(values.swap_remove(0)).map_err(StoreError::from)?)
        }
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use serde_json::{Value, json};

    use super::*;
    use crate::crm::access::fixtures::{admin, tenant_db};

    static NO_TEXT: RwLock<Texts> = RwLock::new(Texts::Absent);

    /// The CRM operations of a test company with no custom columns.
    fn company(db: &Surreal<Any>) -> Company<'_> {
        Company {
            id: "c",
            db,
            columns: &[],
            indexed: true,
            text: &NO_TEXT,
            conflict_pauses: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn create(entity: Entity, item: Value) -> (Access, WriteRequest) {
        let request = WriteRequest::Create {
            entity,
            items: vec![item],
            nulls: Nulls::Refuse,
        };
        (admin(), request)
    }

    /// The write path stores each record's search text and `listed` itself (the engine computes neither): on
    /// creates with and without links, on updates that change a name field, and keeps them on other updates.
    #[tokio::test]
    async fn writes_store_the_search_text_of_the_names_they_write() {
        let db = tenant_db().await;
        let company = company(&db);
        let seq = AtomicU64::new(0);
        let access = admin();
        let write = |entity, item: Value, update: bool| {
            let (items, nulls) = (vec![item], Nulls::Refuse);
            let request = if update {
                WriteRequest::Update { entity, items, nulls }
            } else {
                WriteRequest::Create { entity, items, nulls }
            };
            company.write(&access, &seq, request)
        };
        let id = |outcome: Outcome| outcome.records[0]["id"].as_str().unwrap().to_owned();
        let stored = || async {
            let sql = "SELECT VALUE [record::id(id), searchText, listed] FROM contact, organization, deal, task";
            let rows = crate::store::run(&db, sql, json!({})).await.unwrap().pop().unwrap();
            let mut rows: Vec<Value> = serde_json::from_value(rows).unwrap();
            rows.sort_by_key(|r| r[0].as_str().unwrap().to_owned());
            rows
        };
        let expect = |texts: &[(&str, &str)]| {
            let mut rows: Vec<Value> = texts.iter().map(|(id, text)| json!([id, text, true])).collect();
            rows.sort_by_key(|r| r[0].as_str().unwrap().to_owned());
            rows
        };
        let org = id(write(Entity::Organization, json!({"name": "Acme Rockets"}), false)
            .await
            .unwrap());
        let created = write(
            Entity::Contact,
            json!({"firstName": "Zoë", "emails": ["A@B.example"]}),
            false,
        )
        .await
        .unwrap();
        // Its event is stamped with the record's own creation time (the write gives both).
        let event = events(&db, 1, 1).await.unwrap().pop().unwrap();
        assert_eq!(
            (&event["entityId"], &event["createdAt"]),
            (&created.records[0]["id"], &created.records[0]["createdAt"])
        );
        let plain = id(created);
        let linked = json!({"firstName": "Ann", "lastName": "Hart", "organizationIds": [org]});
        let linked = id(write(Entity::Contact, linked, false).await.unwrap());
        let deal = id(write(Entity::Deal, json!({"name": "Big Deal"}), false).await.unwrap());
        let task = id(write(Entity::Task, json!({"name": "Call Ann"}), false).await.unwrap());
        assert_eq!(
            stored().await,
            expect(&[
                (&org, "acme rockets"),
                (&plain, "zoë  a@b.example"),
                (&linked, "ann hart"),
                (&deal, "big deal"),
                (&task, "call ann")
            ])
        );
        write(Entity::Contact, json!({"id": plain, "lastName": "ØRSTED"}), true)
            .await
            .unwrap();
        write(
            Entity::Contact,
            json!({"id": linked, "emails": ["x@y.example"], "notes": "met"}),
            true,
        )
        .await
        .unwrap();
        write(
            Entity::Organization,
            json!({"id": org, "notes": "renamed nothing"}),
            true,
        )
        .await
        .unwrap();
        write(Entity::Deal, json!({"id": deal, "name": "Bigger Deal"}), true)
            .await
            .unwrap();
        write(
            Entity::Task,
            json!({"id": task, "name": "Call Bo", "notes": "soon"}),
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            stored().await,
            expect(&[
                (&org, "acme rockets"),
                (&plain, "zoë ørsted a@b.example"),
                (&linked, "ann hart x@y.example"),
                (&deal, "bigger deal"),
                (&task, "call bo")
            ])
        );
        // The engine's own expression (the default for records written without the text) agrees.
        let sql = "RETURN [
            (SELECT VALUE searchText = string::lowercase(array::join(array::flatten([firstName, lastName, emails]), ' ')) FROM contact),
            (SELECT VALUE searchText = string::lowercase(array::join(array::flatten([name]), ' ')) FROM organization, deal, task)]";
        let agree = crate::store::run(&db, sql, json!({})).await.unwrap().pop().unwrap();
        assert_eq!(agree, json!([[true, true], [true, true, true]]));
    }

    /// Several creates in one block keep their bindings apart (tags 1 and 11 share a prefix) and each gets its
    /// own records and events: the shared transaction itself must succeed, not only the one-by-one fallback.
    #[tokio::test]
    async fn creates_of_several_requests_commit_in_one_block() {
        let db = tenant_db().await;
        let company = company(&db);
        let seq = AtomicU64::new(0);
        let access = admin();
        let mut parts = Vec::new();
        for (tag, entity, item) in [
            (1, Entity::Contact, json!({"firstName": "Ann"})),
            (11, Entity::Organization, json!({"name": "Acme"})),
            (2, Entity::Deal, json!({"name": "Big"})),
        ] {
            let request = WriteRequest::Create {
                entity,
                items: vec![item.clone(), item],
                nulls: Nulls::Refuse,
            };
            let Ok(Op::Create(entity, items)) = company.prepare(&access, request) else {
                panic!("a valid create")
            };
            parts.push(company.writer(&access, &seq).unlinked_part(entity, &items, tag));
        }
        let outcomes = write::run_unlinked(&db, parts).await.unwrap();
        let names: Vec<Vec<&str>> = outcomes
            .iter()
            .map(|o| {
                o.records
                    .iter()
                    .map(|r| r["firstName"].as_str().or(r["name"].as_str()).unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(names, [["Ann", "Ann"], ["Acme", "Acme"], ["Big", "Big"]]);
        for outcome in &outcomes {
            let ids: Vec<&Value> = outcome.events.iter().map(|e| &e.payload["id"]).collect();
            let records: Vec<&Value> = outcome.records.iter().map(|r| &r["id"]).collect();
            assert_eq!(ids, records);
        }
        let stored = crate::store::run(&db, "RETURN [count(SELECT id FROM contact), count(SELECT id FROM organization), count(SELECT id FROM deal), count(SELECT id FROM outbox)]", json!({}))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(stored, json!([2, 2, 2, 6]));
    }

    /// Queued creates share one transaction, and when that fails (here: a rule only the engine knows refuses
    /// one of them) each runs alone: only the one at fault fails, the others are written with their events.
    #[tokio::test]
    async fn queued_creates_answer_alone_whether_or_not_their_shared_commit_succeeds() {
        let db = tenant_db().await;
        let company = company(&db);
        let seq = AtomicU64::new(0);
        let count = |table: &'static str| {
            let db = db.clone();
            async move {
                let sql = format!("RETURN count(SELECT id FROM {table})");
                crate::store::run(&db, &sql, json!({})).await.unwrap().pop().unwrap()
            }
        };

        // All valid but one: one shared commit.
        let queued = vec![
            create(Entity::Contact, json!({"firstName": "Ann"})),
            create(Entity::Contact, json!({"firstName": ""})),
            create(Entity::Organization, json!({"name": "Acme"})),
            create(Entity::Contact, json!({"firstName": "Bob", "lastName": "Lee"})),
        ];
        let answers = company.write_queued(&seq, &queued).await;
        assert!(matches!(answers[1], Err(CrmError::Invalid(_))), "{:?}", answers[1]);
        let written: Vec<&Outcome> = [0, 2, 3].iter().map(|&i| answers[i].as_ref().unwrap()).collect();
        assert_eq!(written[0].records[0]["firstName"], "Ann");
        assert_eq!(written[1].records[0]["name"], "Acme");
        assert_eq!(written[2].records[0]["lastName"], "Lee");
        assert!(written.iter().all(|o| o.count_delta == 1 && o.events.len() == 1));
        assert_eq!(count("contact").await, json!(2));
        assert_eq!(count("outbox").await, json!(3));

        // The engine refuses one of them: the shared commit fails and the others are still written.
        db.query("DEFINE FIELD OVERWRITE lastName ON contact TYPE string DEFAULT '' ASSERT $value != 'Refused'")
            .await
            .unwrap()
            .check()
            .unwrap();
        let queued = vec![
            create(Entity::Contact, json!({"firstName": "Cy"})),
            create(Entity::Contact, json!({"firstName": "Di", "lastName": "Refused"})),
            create(Entity::Service, json!({"name": "Audit", "amount": 100})),
        ];
        let answers = company.write_queued(&seq, &queued).await;
        assert!(matches!(answers[1], Err(CrmError::Store(_))), "{:?}", answers[1]);
        assert_eq!(answers[0].as_ref().unwrap().records[0]["firstName"], "Cy");
        assert_eq!(answers[2].as_ref().unwrap().records[0]["name"], "Audit");
        assert_eq!(count("contact").await, json!(3));
        assert_eq!(count("service").await, json!(1));
        assert_eq!(count("outbox").await, json!(5));
        let seqs = crate::store::run(&db, "SELECT VALUE record::id(id) FROM outbox ORDER BY id", json!({}))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(seqs, json!([1, 2, 3, 4, 5]), "failed writes leave no gap");
        let payloads = crate::store::run(&db, "SELECT VALUE payload.id FROM outbox ORDER BY id", json!({}))
            .await
            .unwrap()
            .pop()
            .unwrap();
        let expected: Vec<&Value> = [&answers[0], &answers[2]]
            .iter()
            .map(|a| &a.as_ref().unwrap().records[0]["id"])
            .collect();
        assert_eq!(payloads.as_array().unwrap()[3..].iter().collect::<Vec<_>>(), expected);
    }

    /// Events of a version before 2 (keyed at random, numbered in an indexed `seq` field) move to the key of their
    /// number when the schema is applied, in batches of 100, keeping their content and creation time; the index and
    /// the field go, and numbering goes on after the last. `events` reads them in order across its ranges, and over a
    /// missing number.
    #[tokio::test]
    async fn events_of_earlier_versions_are_keyed_by_their_number_and_read_in_order() {
        let db = surrealdb::engine::any::connect("mem://").await.unwrap();
        db.query("DEFINE NAMESPACE t; USE NS t; DEFINE DATABASE d;")
            .await
            .unwrap();
        db.use_ns("t").use_db("d").await.unwrap();
        // The outbox as versions before 2 defined it, with 1,100 events written at random keys out of order.
        let legacy = "DEFINE TABLE outbox SCHEMAFULL;
            DEFINE FIELD seq ON outbox TYPE int;
            DEFINE FIELD event ON outbox TYPE string;
            DEFINE FIELD entityId ON outbox TYPE string;
            DEFINE FIELD payload ON outbox TYPE object FLEXIBLE;
            DEFINE FIELD userId ON outbox TYPE option<string>;
            DEFINE FIELD companyId ON outbox TYPE string;
            DEFINE FIELD createdAt ON outbox TYPE datetime DEFAULT time::now();
            DEFINE INDEX outbox_seq ON outbox FIELDS seq UNIQUE;
            FOR $n IN array::shuffle(<array> 1..=1100) {
                CREATE outbox CONTENT {seq: $n, event: 'contact.created', entityId: 'e' + <string> $n,
                    payload: {n: $n}, userId: IF $n % 2 = 0 { 'u' } ELSE { NONE }, companyId: 'c',
                    createdAt: d'2026-01-01T00:00:00Z' + <duration> (<string> $n + 's')};
            };";
        db.query(legacy).await.unwrap().check().unwrap();
        assert!(
            crate::store::migrate::ensure(&db, &crate::store::migrate::TENANT)
                .await
                .unwrap()
        );

        let value = |sql: &'static str| {
            let db = db.clone();
            async move { run(&db, sql, json!({})).await.unwrap().pop().unwrap() }
        };
        let seqs = |page: &[Value]| -> Vec<u64> { page.iter().map(|e| e["seq"].as_u64().unwrap()).collect() };
        let keys = value("SELECT VALUE record::id(id) FROM outbox ORDER BY id").await;
        assert_eq!(keys, json!((1..=1100).collect::<Vec<u64>>()));
        let info = value("INFO FOR TABLE outbox").await;
        assert_eq!(info["indexes"], json!({}), "{info}");
        assert!(info["fields"].get("seq").is_none(), "{info}");

        // Across batches of the move.
        let page = events(&db, 900, 150).await.unwrap();
        assert_eq!(seqs(&page), (901..=1050).collect::<Vec<u64>>());
        let event = &page[0];
        assert_eq!(event["entityId"], "e901");
        assert_eq!(event["payload"], json!({"n": 901}));
        assert_eq!(event["userId"], Value::Null);
        assert_eq!(event["createdAt"], "2026-01-01T00:15:01Z");
        assert_eq!(page[1]["userId"], "u");
        assert_eq!(events(&db, 1050, 500).await.unwrap().len(), 50);
        assert!(events(&db, 1100, 10).await.unwrap().is_empty());

        // Numbering goes on after the last event.
        let company = company(&db);
        let seq = AtomicU64::new(last_seq(&db).await.unwrap());
        let (access, request) = create(Entity::Contact, json!({"firstName": "Ann"}));
        company.write(&access, &seq, request).await.unwrap();
        let last = events(&db, 1100, 10).await.unwrap();
        assert_eq!(seqs(&last), [1101]);
        assert_eq!(last[0]["event"], "contact.created");

        // A missing number (a write of another process that failed after taking it) does not end a page early.
        value("DELETE outbox:1002; DELETE outbox:1003;").await;
        assert_eq!(seqs(&events(&db, 1000, 3).await.unwrap()), [1001, 1004, 1005]);
        // Nor does a wide gap, read through ever wider ranges; a range of more events than wanted goes on after the
        // last one read.
        value("DELETE outbox:100>..=900;").await;
        let page = events(&db, 50, 100).await.unwrap();
        assert_eq!(seqs(&page), (51..=100).chain(901..=950).collect::<Vec<u64>>());
        assert_eq!(seqs(&events(&db, 950, 2).await.unwrap()), [951, 952]);
        // Applying the schema again moves nothing and keeps every event.
        value("DELETE schema_meta").await;
        assert!(
            crate::store::migrate::ensure(&db, &crate::store::migrate::TENANT)
                .await
                .unwrap()
        );
        assert_eq!(value("RETURN count(SELECT id FROM outbox)").await, json!(299));
        // An event keyed otherwise than by a number (one not moved) stops the numbering rather than restart it at 1.
        value("CREATE outbox:stray CONTENT {event: 'contact.created', entityId: 'e', payload: {}, companyId: 'c'};")
            .await;
        assert!(last_seq(&db).await.is_err());
    }

    /// A column change whose transaction fails writes neither the column nor its event, and gives its sequence
    /// number back: the next event takes it.
    #[tokio::test]
    async fn a_failed_column_change_gives_its_event_number_back() {
        let db = tenant_db().await;
        let company = company(&db);
        let seq = AtomicU64::new(0);
        let access = admin();
        crate::store::run(
            &db,
            "DEFINE FIELD OVERWRITE label ON custom_column TYPE string ASSERT $value != 'Refused';",
            json!({}),
        )
        .await
        .unwrap();
        let column = |label: &str| NewColumn {
            entity_type: Entity::Contact,
            kind: custom::ColumnType::Plain,
            label: label.to_owned(),
            options: None,
        };
        let refused = company.create_column(&access, &seq, &column("Refused")).await;
        assert!(matches!(refused, Err(CrmError::Store(_))), "{refused:?}");
        assert_eq!(seq.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert!(columns::list(&db).await.unwrap().is_empty());

        let kept = company.create_column(&access, &seq, &column("Kept")).await.unwrap();
        let events = crate::store::run(
            &db,
            "SELECT VALUE [record::id(id), event, entityId] FROM outbox ORDER BY id",
            json!({}),
        )
        .await
        .unwrap()
        .pop()
        .unwrap();
        assert_eq!(events, json!([[1, "custom_column.created", kept.id]]));
    }
}
