//! The write engine: creates, updates, deletes, links and unlinks, each batch checked in full first and then
//! applied in one transaction together with its change events (the outbox rows).
//!
//! Runs on the company's actor, so no other write of the company interleaves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::method::Transaction;
use surrealdb::types::{Datetime, Object as DbObject, SurrealValue, Value as DbValue, fmt_datetime_sql};

use super::Entity;
use super::access::{Access, Scope};
use super::custom::Column;
use super::dto::{self, Visibility};
use super::events::{self, Event};
use super::input::{CustomPatch, Item};
use super::spec::{Relation, Target};
use super::text_index;
use crate::error::ErrorDetail;
use crate::store::{Db, StoreError, StoreResult, run};

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Some input is invalid or refers to records that do not exist (or are not visible).
    #[error("validation failed")]
    Invalid(Vec<ErrorDetail>),
    /// The caller lacks a permission.
    #[error("{0}")]
    Forbidden(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<surrealdb::Error> for WriteError {
    fn from(error: surrealdb::Error) -> Self {
        Self::Store(error.into())
    }
}

/// One write operation.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create records.
    Create(Entity, Vec<Item>),
    /// Update records.
    Update(Entity, Vec<Item>),
    /// Delete records by id.
    Delete(Entity, Vec<String>),
    /// Add (`add`) or remove links from one record to others.
    Link {
        /// The record's entity.
        entity: Entity,
        /// The record.
        id: String,
        /// Which relation.
        relation: &'static Relation,
        /// The far ends.
        ids: Vec<String>,
        /// Add or remove.
        add: bool,
    },
}

/// What a committed write produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// DTOs of the written records after the write (creates, updates, links), or as they were (deletes).
    pub records: Vec<Value>,
    /// Events written to the outbox.
    pub events: Vec<Event>,
    /// Change of the entity's record count.
    pub count_delta: i64,
}

/// Who writes, and what they can see.
pub struct Writer<'a> {
    /// The company's session.
    pub db: &'a Surreal<Any>,
    /// The caller.
    pub access: &'a Access,
    /// The company's custom columns.
    pub columns: &'a [Column],
    /// The company id (for outbox rows).
    pub company_id: &'a str,
    /// The last outbox sequence number used.
    pub seq: &'a AtomicU64,
}

/// Writes the rows of [`Writer::outbox_rows`], bound as `$outbox` (a statement of the change's transaction).
pub const WRITE_OUTBOX: &str = "FOR $row IN $outbox { CREATE outbox CONTENT $row; }";

fn detail(path: impl Into<String>, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        path: path.into(),
        message: message.into(),
    }
}

fn not_found(entity_title: &str) -> String {
    format!("{entity_title} ID not found or not accessible.")
}

fn target_title(target: Target) -> &'static str {
    match target {
        Target::Entity(entity) => entity.title(),
        Target::User => "User",
    }
}

/// Which of the ids exist in `table` (and, for `Own` scope, are assigned to the caller).
pub async fn existing(
    db: &impl Db,
    table: &str,
    ids: &[String],
    scope: Scope,
    user_id: &str,
) -> StoreResult<BTreeSet<String>> {
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let sql = "SELECT VALUE record::id(id) FROM array::map($ids, |$i| type::record($table, $i)) WHERE id != NONE";
    let mut result = run(db, sql, json!({"ids": ids, "table": table})).await?;
    let mut found: BTreeSet<String> = match result.pop() {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    };
    if scope == Scope::Own {
        let own = if table == "member" {
            [user_id.to_owned()].into()
        } else {
            dto::assigned_ids(db, user_id, table).await?
        };
        found.retain(|id| own.contains(id));
    }
    Ok(found)
}

fn linked_ids(dto: &Value, relation: &Relation) -> Vec<String> {
    dto[relation.dto].as_array().map_or_else(Vec::new, |items| {
        items
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect()
    })
}

impl Writer<'_> {
    /// Checks the ids an operation refers to; collects every problem.
    async fn check_refs(&self, op: &Op) -> Result<(), WriteError> {
        let mut wanted: BTreeMap<(&'static str, Target), Vec<(String, String)>> = BTreeMap::new();
        let mut add = |target: Target, path: String, id: &str| {
            wanted
                .entry((target.table(), target))
                .or_default()
                .push((path, id.to_owned()));
        };
        match op {
            Op::Create(entity, items) | Op::Update(entity, items) => {
                let updating = matches!(op, Op::Update(..));
                for (i, item) in items.iter().enumerate() {
                    let prefix = format!("{}[{i}]", entity.plural());
                    if updating {
                        add(Target::Entity(*entity), format!("{prefix}.id"), &item.id);
                    }
                    for (relation, ids) in &item.relations {
                        for (j, id) in ids.iter().enumerate() {
                            add(relation.target, format!("{prefix}.{}[{j}]", relation.field), id);
                        }
                    }
                    for (j, (id, _)) in item.services.iter().flatten().enumerate() {
                        add(
                            Target::Entity(Entity::Service),
                            format!("{prefix}.services[{j}].serviceId"),
                            id,
                        );
                    }
                }
            }
            Op::Delete(entity, ids) => {
                for (i, id) in ids.iter().enumerate() {
                    add(Target::Entity(*entity), format!("ids[{i}]"), id);
                }
            }
            Op::Link {
                entity,
                id,
                relation,
                ids,
                ..
            } => {
                add(Target::Entity(*entity), "sourceId".into(), id);
                for (j, id) in ids.iter().enumerate() {
                    add(relation.target, format!("ids[{j}]"), id);
                }
            }
        }
        let mut details = Vec::new();
        for ((table, target), refs) in wanted {
            let scope = self.access.target_scope(target);
            let ids: Vec<String> = refs.iter().map(|(_, id)| id.clone()).collect();
            let found = match scope {
                Some(scope) => existing(self.db, table, &ids, scope, &self.access.user_id).await?,
                None => BTreeSet::new(),
            };
            for (path, id) in refs {
                if !found.contains(&id) {
                    details.push(detail(path, not_found(target_title(target))));
                }
            }
        }
        if details.is_empty() {
            Ok(())
        } else {
            Err(WriteError::Invalid(details))
        }
    }

    /// Validates, then applies the operation and its events in one transaction.
    pub async fn apply(&self, op: Op) -> Result<Outcome, WriteError> {
        self.check_refs(&op).await?;
        let entity = match &op {
            Op::Create(e, _) | Op::Update(e, _) | Op::Delete(e, _) | Op::Link { entity: e, .. } => *e,
        };
        if let Op::Create(_, items) = &op
            && !makes_links(items)
        {
            return self.create_unlinked(entity, items).await;
        }
        let tx = self.db.clone().begin().await?;
        match self.apply_in(&tx, entity, op).await {
            Ok(outcome) => {
                tx.commit().await?;
                Ok(outcome)
            }
            Err(error) => {
                let _ = tx.cancel().await;
                Err(error)
            }
        }
    }

    async fn apply_in(&self, tx: &Transaction<Any>, entity: Entity, op: Op) -> Result<Outcome, WriteError> {
        let visibility = Visibility::for_caller(tx, entity, self.access).await?;
        // Primaries and the related records whose DTOs may change.
        let primary_ids: Vec<String> = match &op {
            Op::Create(_, items) | Op::Update(_, items) => items.iter().map(|i| i.id.clone()).collect(),
            Op::Delete(_, ids) => ids.clone(),
            Op::Link { id, .. } => vec![id.clone()],
        };
        let before: Vec<Value> = match &op {
            Op::Create(..) => Vec::new(),
            _ => dto::load(tx, entity, &primary_ids).await?,
        };
        let before_by_id: HashMap<String, Value> = before
            .iter()
            .map(|d| (d["id"].as_str().unwrap_or_default().to_owned(), d.clone()))
            .collect();
        let mut related: BTreeMap<Entity, BTreeSet<String>> = BTreeMap::new();
        let mut deals_to_total: BTreeSet<String> = BTreeSet::new();
        fn note(related: &mut BTreeMap<Entity, BTreeSet<String>>, relation: &Relation, ids: &[String]) {
            if let Target::Entity(other) = relation.target {
                related.entry(other).or_default().extend(ids.iter().cloned());
            }
        }
        match &op {
            Op::Create(_, items) | Op::Update(_, items) => {
                for item in items {
                    let old = before_by_id.get(&item.id);
                    for (relation, ids) in &item.relations {
                        note(&mut related, relation, ids);
                        if let Some(old) = old {
                            note(&mut related, relation, &linked_ids(old, relation));
                        }
                        if relation.edge == "deal_service" {
                            deals_to_total.extend(ids.iter().cloned());
                            if let Some(old) = old {
                                deals_to_total.extend(linked_ids(old, relation));
                            }
                        }
                    }
                    if let Some(lines) = &item.services {
                        let relation = entity.relation("serviceIds").unwrap_or(&entity.relations()[0]);
                        let ids: Vec<String> = lines.iter().map(|(s, _)| s.clone()).collect();
                        note(&mut related, relation, &ids);
                        if let Some(old) = old {
                            note(&mut related, relation, &linked_ids(old, relation));
                        }
                        deals_to_total.insert(item.id.clone());
                    }
                    if entity == Entity::Service
                        && item.set.contains_key("amount")
                        && let Some(old) = old
                    {
                        let deals = entity
                            .relation("dealIds")
                            .map(|r| linked_ids(old, r))
                            .unwrap_or_default();
                        related.entry(Entity::Deal).or_default().extend(deals.iter().cloned());
                        deals_to_total.extend(deals);
                    }
                }
            }
            Op::Delete(_, _) => {
                for old in &before {
                    for relation in entity.relations() {
                        let ids = linked_ids(old, relation);
                        note(&mut related, relation, &ids);
                        if relation.edge == "deal_service" && entity == Entity::Service {
                            deals_to_total.extend(ids);
                        }
                    }
                }
            }
            Op::Link { relation, ids, .. } => {
                note(&mut related, relation, ids);
                if relation.edge == "deal_service" {
                    if entity == Entity::Deal {
                        deals_to_total.extend(primary_ids.iter().cloned());
                    } else {
                        deals_to_total.extend(ids.iter().cloned());
                    }
                }
            }
        }
        if entity == Entity::Deal {
            deals_to_total
                .retain(|d| primary_ids.contains(d) || related.get(&Entity::Deal).is_some_and(|r| r.contains(d)));
        }
        related
            .entry(entity)
            .or_default()
            .retain(|id| !primary_ids.contains(id));
        let mut related_before: HashMap<(Entity, String), Value> = HashMap::new();
        for (other, ids) in &related {
            let ids: Vec<String> = ids.iter().cloned().collect();
            for dto in dto::load(tx, *other, &ids).await? {
                related_before.insert((*other, dto["id"].as_str().unwrap_or_default().to_owned()), dto);
            }
        }

        // The write itself.
        let mut count_delta = 0i64;
        match &op {
            Op::Create(_, items) => {
                self.create(tx, entity, items).await?;
                count_delta = i64::try_from(items.len()).unwrap_or(0);
            }
            Op::Update(_, items) => {
                for item in items {
                    let old = before_by_id.get(&item.id).cloned().unwrap_or(Value::Null);
                    self.update(tx, entity, item, &old, &visibility).await?;
                }
            }
            Op::Delete(_, ids) => {
                if entity == Entity::Task {
                    // Named at their places in the request (the loaded records need not be in its order).
                    let system: Vec<ErrorDetail> = ids
                        .iter()
                        .enumerate()
                        .filter(|(_, id)| before.iter().any(|d| d["id"] == id.as_str() && d["type"] != "custom"))
                        .map(|(i, _)| detail(format!("ids[{i}]"), "Only custom tasks can be deleted"))
                        .collect();
                    if !system.is_empty() {
                        return Err(WriteError::Invalid(system));
                    }
                }
                run(
                    tx,
                    "DELETE array::map($ids, |$i| type::record($table, $i))",
                    json!({"ids": ids, "table": entity.table()}),
                )
                .await?;
                count_delta = -i64::try_from(before.len()).unwrap_or(0);
            }
            Op::Link {
                id, relation, ids, add, ..
            } => {
                let old = before_by_id.get(id).cloned().unwrap_or(Value::Null);
                let current = linked_ids(&old, relation);
                if *add {
                    let new: Vec<String> = ids.iter().filter(|i| !current.contains(i)).cloned().collect();
                    link(tx, entity, id, relation, &new, 1.0).await?;
                } else {
                    let gone: Vec<String> = ids.iter().filter(|i| current.contains(i)).cloned().collect();
                    unlink(tx, entity, id, relation, &gone).await?;
                }
            }
        }
        if !deals_to_total.is_empty() {
            let ids: Vec<String> = deals_to_total.iter().cloned().collect();
            run(tx, RECOMPUTE_TOTALS, json!({"ids": ids})).await?;
            related.entry(Entity::Deal).or_default().extend(
                ids.into_iter()
                    .filter(|d| !(entity == Entity::Deal && primary_ids.contains(d))),
            );
        }

        // Events.
        let mut events_out = Vec::new();
        let records;
        match &op {
            Op::Delete(..) => {
                for dto in &before {
                    events_out.push(Event::deleted(entity, dto));
                }
                records = before.clone();
            }
            Op::Create(..) => {
                let after = dto::load(tx, entity, &primary_ids).await?;
                events_out.extend(after.iter().map(|d| Event::created(entity, d)));
                records = after;
            }
            _ => {
                let mut after = dto::load(tx, entity, &primary_ids).await?;
                let mut changed = Vec::new();
                for dto in &after {
                    let id = dto["id"].as_str().unwrap_or_default().to_owned();
                    let diff = events::changes(before_by_id.get(&id).unwrap_or(&Value::Null), dto, &["updatedAt"]);
                    if !diff.is_empty() {
                        changed.push(id);
                    }
                }
                if !changed.is_empty() {
                    // Only records that really changed get a new updatedAt; patch it into the loaded DTOs
                    // instead of reading them again.
                    // The time comes from this process, as for creates (one clock, also with a remote engine).
                    let sql = "UPDATE array::map($ids, |$i| type::record($table, $i)) SET updatedAt = $now;";
                    let now = chrono::Utc::now();
                    let mut vars = json!({"ids": changed, "table": entity.table()}).into_value();
                    if let DbValue::Object(vars) = &mut vars {
                        vars.insert("now".to_owned(), DbValue::Datetime(Datetime::from(now)));
                    }
                    run(tx, sql, vars).await?;
                    let now = json!(fmt_datetime_sql(now));
                    for dto in &mut after {
                        if changed.iter().any(|c| dto["id"] == c.as_str()) {
                            dto["updatedAt"] = now.clone();
                        }
                    }
                }
                records = after;
                for dto in &records {
                    let id = dto["id"].as_str().unwrap_or_default();
                    if changed.iter().any(|c| c == id) {
                        let diff = events::changes(before_by_id.get(id).unwrap_or(&Value::Null), dto, &[]);
                        events_out.push(Event::updated(entity, dto, diff));
                    }
                }
            }
        }
        for (other, ids) in &related {
            let ids: Vec<String> = ids.iter().cloned().collect();
            for dto in dto::load(tx, *other, &ids).await? {
                let id = dto["id"].as_str().unwrap_or_default().to_owned();
                if let Some(old) = related_before.get(&(*other, id)) {
                    let diff = events::changes(old, &dto, &[]);
                    if !diff.is_empty() {
                        events_out.push(Event::updated(*other, &dto, diff));
                    }
                }
            }
        }
        self.write_outbox(tx, &events_out).await?;
        // Events carry whole records; the caller only gets back what their role lets them read.
        let mut records = records;
        for record in &mut records {
            visibility.apply(entity, record);
        }
        Ok(Outcome {
            records,
            events: events_out,
            count_delta,
        })
    }

    async fn write_outbox(&self, tx: &Transaction<Any>, events_out: &[Event]) -> StoreResult<()> {
        if events_out.is_empty() {
            return Ok(());
        }
        let vars = DbObject::from_iter([("outbox".to_owned(), self.outbox_rows(events_out))]);
        run(tx, WRITE_OUTBOX, DbValue::Object(vars)).await?;
        Ok(())
    }

    /// The outbox rows of `events`, numbered next and stamped now, to bind as `$outbox` of [`WRITE_OUTBOX`] in the
    /// transaction of the change they describe.
    pub fn outbox_rows(&self, events: &[Event]) -> DbValue {
        // Stamped by this process, as the records' own times are (one clock, also with a remote engine).
        let now = DbValue::Datetime(Datetime::from(chrono::Utc::now()));
        let rows: Vec<DbValue> = events
            .iter()
            .map(|e| {
                let mut row = self.outbox_row(&e.event, &e.entity_id).into_value();
                if let DbValue::Object(row) = &mut row {
                    row.insert("payload".to_owned(), e.payload.clone().into_value());
                    row.insert("createdAt".to_owned(), now.clone());
                }
                row
            })
            .collect();
        DbValue::Array(rows.into())
    }

    /// An outbox row without its payload, numbered next (the number is its key: `outbox:<n>`).
    fn outbox_row(&self, event: &str, entity_id: &str) -> Value {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        json!({"id": seq, "event": event, "entityId": entity_id,
               "userId": self.access.user_id, "companyId": self.company_id})
    }

    /// The stored content of each new record: its fields, notes and custom values (with the single-select
    /// defaults), as `{id, content}` rows.
    fn new_rows(&self, entity: Entity, items: &[Item]) -> Vec<Value> {
        let defaults = super::custom::defaults(self.columns, entity);
        items
            .iter()
            .map(|item| {
                let mut content = item.set.clone();
                if let Some(Some(notes)) = &item.notes {
                    content.insert("notes".into(), json!(notes));
                }
                let mut custom = Map::new();
                if let CustomPatch::Merge(values) = &item.custom {
                    for (column, value) in values {
                        if let Some(value) = value {
                            custom.insert(column.clone(), json!(value));
                        }
                    }
                }
                for (column, default) in &defaults {
                    custom.entry(column.clone()).or_insert(json!(default));
                }
                content.insert("customFields".into(), Value::Object(custom));
                // The fields' defaults, the search text and `listed` are stored as given here: the engine would
                // compute each (`schema/tenant/010_entities.surql`, `060_search.surql`), at a cost on every create.
                for field in entity.scalar_fields() {
                    if !content.contains_key(*field)
                        && let Some(default) = entity.stored_default(field)
                    {
                        content.insert((*field).to_owned(), default);
                    }
                }
                let text = text_index::fields_text(entity, &content);
                content.insert("searchText".into(), json!(text));
                content.insert("listed".into(), json!(true));
                json!({"id": item.id, "content": content})
            })
            .collect()
    }

    /// Creates records that link to nothing in one round trip: the records and their `<entity>.created` outbox
    /// rows in one transaction block (an interactive transaction costs four more trips to the engine).
    async fn create_unlinked(&self, entity: Entity, items: &[Item]) -> Result<Outcome, WriteError> {
        let part = self.unlinked_part(entity, items, 0);
        Ok(run_unlinked(self.db, vec![part]).await?.pop().unwrap_or_default())
    }

    /// The statements and bindings of one create that links to nothing, for a block of several such creates
    /// (`tag` keeps the bindings of each apart).
    ///
    /// A record that links to nothing is known whole before it is written: its DTO is shaped here
    /// ([`Entity::new_record_row`], with the creation time set here rather than by the engine's default), so the
    /// engine only stores the records and their events. Having the engine return the new records and build the
    /// event payloads from them measured ~0.3 ms more per create (`bench sql`, `mem://`: 0.97 against 0.66 ms).
    pub fn unlinked_part(&self, entity: Entity, items: &[Item], tag: usize) -> UnlinkedPart {
        let start = chrono::Utc::now();
        let rows = self.new_rows(entity, items);
        let mut vars = DbObject::new();
        let mut statements = format!("INSERT INTO {} $rows{tag} RETURN NONE;\n", entity.table());
        let mut contents = Vec::with_capacity(rows.len());
        let mut records = Vec::with_capacity(rows.len());
        for (i, mut row) in rows.into_iter().enumerate() {
            let id = row["id"].as_str().unwrap_or_default().to_owned();
            let Value::Object(mut content) = row["content"].take() else {
                continue;
            };
            let now = nth_instant(start, i);
            let record = dto::shape(entity.new_record_row(&id, &content, &fmt_datetime_sql(now)));
            let mut event = self
                .outbox_row(&format!("{}.created", entity.table()), &id)
                .into_value();
            if let DbValue::Object(event) = &mut event {
                event.insert("payload".to_owned(), with_times(record.clone(), now));
                // The record's own time, from this process as for every event (the field's default,
                // `time::now()`, would be one more expression for the engine to run).
                event.insert("createdAt".to_owned(), DbValue::Datetime(Datetime::from(now)));
            }
            vars.insert(format!("e{tag}_{i}"), event);
            statements.push_str(&format!("CREATE outbox CONTENT $e{tag}_{i} RETURN NONE;\n"));
            content.insert("id".into(), json!(id));
            contents.push(with_times(Value::Object(content), now));
            records.push(record);
        }
        vars.insert(format!("rows{tag}"), DbValue::Array(contents.into()));
        UnlinkedPart {
            entity,
            statements,
            vars,
            records,
        }
    }

    /// Creates the records in one statement, then their links (creates without links take
    /// [`Self::create_unlinked`]).
    async fn create(&self, tx: &Transaction<Any>, entity: Entity, items: &[Item]) -> Result<(), WriteError> {
        let insert = "FOR $row IN $rows { CREATE type::record($table, $row.id) CONTENT $row.content RETURN NONE; };";
        let start = chrono::Utc::now();
        let rows: Vec<DbValue> = self
            .new_rows(entity, items)
            .into_iter()
            .enumerate()
            .map(|(i, mut row)| {
                let content = with_times(row["content"].take(), nth_instant(start, i));
                let mut row = row.into_value();
                if let DbValue::Object(row) = &mut row {
                    row.insert("content".to_owned(), content);
                }
                row
            })
            .collect();
        let mut vars = DbObject::new();
        vars.insert("table".to_owned(), DbValue::String(entity.table().to_owned()));
        vars.insert("rows".to_owned(), DbValue::Array(rows.into()));
        run(tx, insert, DbValue::Object(vars)).await?;
        for item in items {
            for (relation, ids) in &item.relations {
                link(tx, entity, &item.id, relation, ids, 1.0).await?;
            }
            for (service, quantity) in item.services.iter().flatten() {
                let relation = entity
                    .relation("serviceIds")
                    .ok_or_else(|| WriteError::Invalid(vec![]))?;
                link(tx, entity, &item.id, relation, std::slice::from_ref(service), *quantity).await?;
            }
        }
        Ok(())
    }

    async fn update(
        &self,
        tx: &Transaction<Any>,
        entity: Entity,
        item: &Item,
        old: &Value,
        visibility: &Visibility,
    ) -> Result<(), WriteError> {
        let record = json!({"table": entity.table(), "id": item.id});
        let mut set = item.set.clone();
        if entity == Entity::Task && old["type"] != "custom" {
            // System tasks keep their generated name.
            set.remove("name");
        }
        if !set.is_empty() {
            // A new name moves the record in its links' order: its ordered edges recompute the key they keep.
            let renamed = set.keys().any(|k| entity.default_sort_columns().contains(&k.as_str()));
            if entity.search_fields().iter().any(|f| set.contains_key(*f)) {
                // The stored search text follows the names (the engine does not recompute it).
                let names: Map<String, Value> = entity
                    .search_fields()
                    .iter()
                    .map(|f| ((*f).to_owned(), set.get(*f).unwrap_or(&old[*f]).clone()))
                    .collect();
                set.insert("searchText".into(), json!(text_index::fields_text(entity, &names)));
            }
            let mut vars = record.clone();
            vars["set"] = Value::Object(set);
            run(tx, "UPDATE type::record($table, $id) MERGE $set", vars).await?;
            if renamed {
                for relation in entity.relations().iter().filter(|r| r.ordered_edge().is_some()) {
                    let arrow = if relation.outgoing { "->" } else { "<-" };
                    let sql = format!("UPDATE (type::record($table, $id)){arrow}{} RETURN NONE", relation.edge);
                    run(tx, &sql, record.clone()).await?;
                }
            }
        }
        match &item.notes {
            None => {}
            Some(None) => {
                run(tx, "UPDATE type::record($table, $id) SET notes = NONE", record.clone()).await?;
            }
            Some(Some(notes)) => {
                let mut vars = record.clone();
                vars["notes"] = json!(notes);
                run(tx, "UPDATE type::record($table, $id) SET notes = $notes", vars).await?;
            }
        }
        match &item.custom {
            CustomPatch::Keep => {}
            CustomPatch::ClearAll => {
                run(
                    tx,
                    "UPDATE type::record($table, $id) SET customFields = {}",
                    record.clone(),
                )
                .await?;
            }
            CustomPatch::Merge(values) if values.is_empty() => {}
            CustomPatch::Merge(values) => {
                let add: Map<String, Value> = values
                    .iter()
                    .filter_map(|(c, v)| v.as_ref().map(|v| (c.clone(), json!(v))))
                    .collect();
                let remove: Vec<&String> = values.iter().filter(|(_, v)| v.is_none()).map(|(c, _)| c).collect();
                let mut vars = record.clone();
                vars["add"] = Value::Object(add);
                vars["remove"] = json!(remove);
                run(tx, "UPDATE type::record($table, $id) SET customFields = object::remove(object::extend(customFields, $add), $remove)", vars)
                    .await?;
            }
        }
        for (relation, desired) in &item.relations {
            let current = linked_ids(old, relation);
            let table = relation.target.table();
            let gone: Vec<String> = current
                .iter()
                .filter(|c| !desired.contains(c) && visibility.sees(table, c))
                .cloned()
                .collect();
            let new: Vec<String> = desired.iter().filter(|d| !current.contains(d)).cloned().collect();
            unlink(tx, entity, &item.id, relation, &gone).await?;
            link(tx, entity, &item.id, relation, &new, 1.0).await?;
        }
        if let Some(lines) = &item.services {
            let relation = entity
                .relation("serviceIds")
                .ok_or_else(|| WriteError::Invalid(vec![]))?;
            let current = linked_ids(old, relation);
            let gone: Vec<String> = current
                .iter()
                .filter(|c| !lines.iter().any(|(s, _)| s == *c) && visibility.sees("service", c))
                .cloned()
                .collect();
            unlink(tx, entity, &item.id, relation, &gone).await?;
            for (service, quantity) in lines {
                if current.contains(service) {
                    let sql = "UPDATE (type::record('deal', $deal))->deal_service SET quantity = $quantity WHERE out = type::record('service', $service)";
                    run(
                        tx,
                        sql,
                        json!({"deal": item.id, "service": service, "quantity": quantity}),
                    )
                    .await?;
                } else {
                    link(tx, entity, &item.id, relation, std::slice::from_ref(service), *quantity).await?;
                }
            }
        }
        Ok(())
    }
}

const RECOMPUTE_TOTALS: &str = "UPDATE array::map($ids, |$i| type::record('deal', $i)) SET
    totalValue = math::sum(->deal_service.map(|$e| $e.quantity * $e.out.amount)),
    totalQuantity = math::sum(->deal_service.quantity)";

/// One create that links to nothing, as statements of a transaction block (see [`Writer::unlinked_part`]).
pub struct UnlinkedPart {
    entity: Entity,
    statements: String,
    vars: DbObject,
    records: Vec<Value>,
}

/// Runs creates that link to nothing in one transaction block: one commit for all of them (several queued
/// creates of a company share it). Answers each part's outcome, in order; any failure fails them all.
pub async fn run_unlinked(db: &impl Db, parts: Vec<UnlinkedPart>) -> StoreResult<Vec<Outcome>> {
    let mut sql = String::from("BEGIN TRANSACTION;\n");
    let mut vars = DbObject::new();
    let mut outcomes = Vec::with_capacity(parts.len());
    for part in parts {
        sql.push_str(&part.statements);
        vars.extend(part.vars);
        outcomes.push(Outcome {
            events: part.records.iter().map(|d| Event::created(part.entity, d)).collect(),
            count_delta: i64::try_from(part.records.len()).unwrap_or(0),
            records: part.records,
        });
    }
    sql.push_str("COMMIT TRANSACTION;");
    run(db, &sql, DbValue::Object(vars)).await?;
    Ok(outcomes)
}

/// The creation time of the `i`th item of a batch created at `start`: one nanosecond apart, so the items keep their
/// order in a sort by creation time.
fn nth_instant(start: chrono::DateTime<chrono::Utc>, i: usize) -> chrono::DateTime<chrono::Utc> {
    start + chrono::Duration::nanoseconds(i64::try_from(i).unwrap_or(0))
}

/// A JSON object as a value to bind, with `createdAt` and `updatedAt` set to `now` as datetimes (JSON has no
/// datetime, and the engine does not cast a string to one).
fn with_times(value: Value, now: chrono::DateTime<chrono::Utc>) -> DbValue {
    let mut value = value.into_value();
    if let DbValue::Object(object) = &mut value {
        for field in ["createdAt", "updatedAt"] {
            object.insert(field.to_owned(), DbValue::Datetime(Datetime::from(now)));
        }
    }
    value
}

/// Whether creating these items makes any link (relationships or deal service lines).
pub fn makes_links(items: &[Item]) -> bool {
    items.iter().any(|i| {
        i.relations.iter().any(|(_, ids)| !ids.is_empty()) || i.services.as_ref().is_some_and(|s| !s.is_empty())
    })
}

/// Adds edges from a record to targets (the caller checked they are not linked yet).
async fn link(
    db: &impl Db,
    entity: Entity,
    id: &str,
    relation: &Relation,
    targets: &[String],
    quantity: f64,
) -> StoreResult<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let vars = json!({"table": entity.table(), "id": id, "targets": targets, "other": relation.target.table(), "quantity": quantity});
    let edge = relation.edge;
    let set = if edge == "deal_service" {
        " SET quantity = $quantity"
    } else {
        ""
    };
    let sql = if relation.outgoing {
        format!(
            "RELATE (type::record($table, $id))->{edge}->(array::map($targets, |$t| type::record($other, $t))){set}"
        )
    } else {
        format!("FOR $t IN $targets {{ RELATE (type::record($other, $t))->{edge}->(type::record($table, $id)){set}; }}")
    };
    run(db, &sql, vars).await?;
    Ok(())
}

/// Removes the edges between a record and targets.
async fn unlink(db: &impl Db, entity: Entity, id: &str, relation: &Relation, targets: &[String]) -> StoreResult<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let vars = json!({"table": entity.table(), "id": id, "targets": targets, "other": relation.target.table()});
    let edge = relation.edge;
    let sql = if relation.outgoing {
        format!(
            "DELETE (type::record($table, $id))->{edge} WHERE out IN array::map($targets, |$t| type::record($other, $t))"
        )
    } else {
        format!(
            "DELETE (type::record($table, $id))<-{edge} WHERE in IN array::map($targets, |$t| type::record($other, $t))"
        )
    };
    run(db, &sql, vars).await?;
    Ok(())
}
