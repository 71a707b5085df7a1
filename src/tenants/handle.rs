//! The typed handle requests use to reach a company: reads run directly on the company's session,
//! writes go through the actor one at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use actix::Addr;
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::future::{self, Either};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::Value;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use utoipa::ToSchema;

use super::TenantError;
use super::actor::{TenantActor, Write};
use crate::crm::access::Access;
use crate::crm::custom::{Column, ColumnChange, ColumnType, NewColumn};
use crate::crm::query::QueryInput;
use crate::crm::service::{Company, Configuration, CrmError, CrmResult, SearchResult, WriteRequest};
use crate::crm::text_index::Texts;
use crate::crm::write::Outcome;
use crate::crm::{self, Entity};
use crate::store::migrate;

/// What the actor owns: the company's session and its cached state.
pub struct TenantShared {
    /// The company this state belongs to.
    pub company_id: String,
    /// A session bound to the company's database only.
    pub db: Surreal<Any>,
    /// Record counts per entity, kept current by the writes (which all pass through the actor).
    counts: Mutex<HashMap<Entity, u64>>,
    /// Custom column definitions, loaded once and replaced by column writes.
    columns: RwLock<Option<Arc<Vec<Column>>>>,
    /// Last outbox sequence number used.
    seq: AtomicU64,
    seq_loaded: AtomicBool,
    /// Set when the actor panicked: the registry starts a fresh actor for the next request.
    pub(super) dead: AtomicBool,
    /// Creates waiting for the actor, taken together by the next flush (see [`TenantHandle::apply`]).
    queued: Mutex<Vec<Queued>>,
    /// Numbers the queued creates.
    next_ticket: AtomicU64,
    /// Whether the company's secondary indexes exist, and when to build them.
    indexing: Indexing,
    /// Its records' search texts: loaded beside its writes from its first search once the company is indexed,
    /// then kept current by its writes (see [`Texts`]).
    text: RwLock<Texts>,
    /// When loading the search texts last failed.
    text_failed: Mutex<Option<Instant>>,
    /// Numbers the loads of the search texts.
    text_loads: AtomicU64,
}

/// A load of the search texts under way, ended as failed if its task goes away first.
struct Unfinished {
    shared: Option<Arc<TenantShared>>,
    load: u64,
}

impl Unfinished {
    fn done(mut self) {
        self.shared = None;
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.text.write().failed(self.load);
        }
    }
}

/// How long searches scan after the search texts failed to load, before one tries again.
const TEXT_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

/// A company's secondary indexes ([`migrate::TENANT_INDEXES`]) are built once one of its tables reaches
/// `threshold` records: below that a scan answers as fast, and every defined index costs the engine memory for
/// the life of the process and work in its periodic pass over all indexes (see the schema file).
pub struct Indexing {
    threshold: u64,
    built: AtomicBool,
    /// A build check is queued on the actor.
    scheduled: AtomicBool,
}

impl Indexing {
    /// `built` when the database already carries the current index set.
    #[must_use]
    pub fn new(threshold: u64, built: bool) -> Self {
        Self {
            threshold,
            built: AtomicBool::new(built),
            scheduled: AtomicBool::new(false),
        }
    }
}

/// A create waiting for the actor, with where its answer goes.
struct Queued {
    ticket: u64,
    access: Access,
    request: WriteRequest,
    reply: Reply,
}

/// Where a queued create's answer goes.
type Reply = oneshot::Sender<CrmResult<Outcome>>;

/// Most queued creates one actor turn takes.
const MAX_BATCH: usize = 64;
/// Most items (records) one actor turn takes, unless a single create holds more (up to 100).
const MAX_BATCH_ITEMS: usize = 500;

/// Withdraws a queued create that no actor turn took yet: when its requester goes away (a dropped connection,
/// a cancelled call) or the actor is gone. Nothing of a withdrawn create is written.
struct Withdraw<'a> {
    queued: &'a Mutex<Vec<Queued>>,
    ticket: u64,
}

impl Withdraw<'_> {
    /// Whether the create was still queued (and is now withdrawn).
    fn now(&self) -> bool {
        let mut queued = self.queued.lock();
        match queued.iter().position(|q| q.ticket == self.ticket) {
            Some(position) => {
                queued.remove(position);
                true
            }
            None => false,
        }
    }
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.now();
    }
}

impl TenantShared {
    pub(super) fn new(company_id: String, db: Surreal<Any>, indexing: Indexing) -> Self {
        Self {
            indexing,
            company_id,
            db,
            counts: Mutex::new(HashMap::new()),
            columns: RwLock::new(None),
            seq: AtomicU64::new(0),
            seq_loaded: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            queued: Mutex::new(Vec::new()),
            next_ticket: AtomicU64::new(0),
            text: RwLock::new(Texts::Absent),
            text_failed: Mutex::new(None),
            text_loads: AtomicU64::new(0),
        }
    }

    /// Applies the queued creates (on the actor), oldest first and at most [`MAX_BATCH`] requests or about
    /// [`MAX_BATCH_ITEMS`] items per turn (the rest wait for the next flush): see [`Company::write_queued`]. Held
    /// counts are adjusted before anyone is answered.
    async fn flush_queued(&self) {
        let queued: Vec<Queued> = {
            let mut queued = self.queued.lock();
            let mut items = 0;
            let take = queued
                .iter()
                .take(MAX_BATCH)
                .take_while(|q| {
                    let first = items == 0;
                    items += q.request.item_count();
                    first || items <= MAX_BATCH_ITEMS
                })
                .count();
            queued.drain(..take).collect()
        };
        if queued.is_empty() {
            return;
        }
        let (requests, replies): (Vec<(Access, WriteRequest)>, Vec<Reply>) =
            queued.into_iter().map(|q| ((q.access, q.request), q.reply)).unzip();
        let answers = match self.prepare_write().await {
            Ok(columns) => self.company(&columns).write_queued(&self.seq, &requests).await,
            Err(error) => {
                tracing::error!(company = %self.company_id, %error, "could not prepare queued creates");
                requests.iter().map(|_| Err(CrmError::Unavailable)).collect()
            }
        };
        for (answer, (_, request)) in answers.iter().zip(&requests) {
            if let WriteRequest::Create { entity, .. } = request {
                self.follow(*entity, answer);
            }
        }
        for (answer, reply) in answers.into_iter().zip(replies) {
            let _ = reply.send(answer);
        }
    }

    /// Builds the secondary indexes (on the actor, so no write of the company runs meanwhile) if one of the
    /// company's tables has reached the threshold. Counts not held yet are loaded and kept. A failure is logged
    /// and the check runs again after a later write: until then searches scan, with the same results.
    async fn build_indexes_if_grown(&self) {
        if self.indexing.built.load(Ordering::Acquire) {
            return;
        }
        let grown = async {
            let mut largest = 0;
            for entity in Entity::ALL {
                largest = largest.max(self.held_count(entity).await?);
            }
            if largest < self.indexing.threshold {
                return Ok(None);
            }
            let started = Instant::now();
            migrate::ensure(&self.db, &migrate::TENANT_INDEXES).await?;
            Ok::<_, crate::store::StoreError>(Some((largest, started.elapsed())))
        };
        match grown.await {
            Ok(None) => {}
            Ok(Some((largest, took))) => {
                self.indexing.built.store(true, Ordering::Release);
                tracing::info!(company = %self.company_id, largest, ?took, "secondary indexes built");
            }
            Err(error) => {
                tracing::warn!(company = %self.company_id, %error, "could not build the secondary indexes; will retry");
            }
        }
        self.indexing.scheduled.store(false, Ordering::Release);
    }

    /// The held count of an entity, counted and kept if not held yet (on the actor, so no write moves it meanwhile).
    async fn held_count(&self, entity: Entity) -> crate::store::StoreResult<u64> {
        if let Some(count) = self.cached_count(entity) {
            return Ok(count);
        }
        let count = crm::count_all(&self.db, entity).await?;
        self.counts.lock().insert(entity, count);
        Ok(count)
    }

    /// The columns and the outbox sequence a write needs, loaded if not yet.
    async fn prepare_write(&self) -> CrmResult<Arc<Vec<Column>>> {
        let columns = self.load_columns().await?;
        self.load_seq().await?;
        Ok(columns)
    }

    /// Follows a write: a committed one adjusts the held count (once loaded) and the search texts (held, or being
    /// loaded) from its events. A database failure may have come after the commit (a remote engine's lost answer),
    /// so it drops both, to be loaded again; a refused write (invalid, forbidden) changed nothing.
    fn follow(&self, entity: Entity, answer: &CrmResult<Outcome>) {
        match answer {
            Ok(outcome) => {
                if let Some(count) = self.counts.lock().get_mut(&entity) {
                    *count = count.saturating_add_signed(outcome.count_delta);
                }
                self.text.write().follow(&outcome.events);
            }
            Err(CrmError::Store(_) | CrmError::Unavailable) => {
                self.counts.lock().remove(&entity);
                self.forget_texts();
                self.forget_seq();
                // A commit whose answer was lost may still land after a load's read: wait before loading again.
                *self.text_failed.lock() = Some(Instant::now());
            }
            Err(_) => {}
        }
    }

    /// Reads the outbox sequence again before the next write. A write that failed gave its numbers back, but a
    /// database failure may have come after its commit (a remote engine's lost answer), whose numbers are then
    /// taken: reusing them would fail every later write.
    fn forget_seq(&self) {
        self.seq_loaded.store(false, Ordering::Release);
    }

    /// Whether a search should have the actor start loading the search texts: the company is indexed, they are
    /// absent, and no load failed in the last [`TEXT_RETRY`].
    fn wants_texts(&self) -> bool {
        self.indexing.built.load(Ordering::Acquire)
            && matches!(*self.text.read(), Texts::Absent)
            && self.text_failed.lock().is_none_or(|at| at.elapsed() >= TEXT_RETRY)
    }

    /// Starts loading every record's search text (on the actor, so the writes that follow it are the ones whose
    /// events it keeps), beside the company's writes: reading 100,000 records takes ~0.9 s, which writes do not wait
    /// for. Searches test the stored texts until it ends. A failure is logged, and searches keep doing so until one
    /// after [`TEXT_RETRY`] starts another load.
    fn hold_texts(self: Arc<Self>) {
        if !self.wants_texts() {
            return;
        }
        let load = self.text_loads.fetch_add(1, Ordering::Relaxed);
        *self.text.write() = Texts::Loading(load, Vec::new());
        actix::spawn(async move {
            // Ends the load as failed if the task is dropped (or panics) before it ends it itself.
            let unfinished = Unfinished {
                shared: Some(self.clone()),
                load,
            };
            let started = Instant::now();
            let read = crm::text_index::load(&self.db, &Entity::ALL).await;
            let company = &self.company_id;
            match read {
                Ok(texts) => {
                    let records = texts.len();
                    if self.text.write().loaded(load, texts) {
                        tracing::info!(company = %company, records, took = ?started.elapsed(), "search texts held");
                    }
                }
                Err(error) => {
                    if self.text.write().failed(load) {
                        *self.text_failed.lock() = Some(Instant::now());
                    }
                    tracing::warn!(company = %company, %error, "could not load the search texts; searches scan");
                }
            }
            unfinished.done();
        });
    }

    /// Reads one entity's search texts again after a write without events (on the actor, so no write runs
    /// meanwhile), if they are held; a load under way is abandoned, and a failure drops them all.
    async fn reload_texts(&self, entity: Entity) {
        let loading = match &*self.text.read() {
            Texts::Held(_) => false,
            Texts::Loading(..) => true,
            Texts::Absent => return,
        };
        if loading {
            self.forget_texts();
            return;
        }
        match crm::text_index::load(&self.db, &[entity]).await {
            Ok(mut fresh) => {
                if let (Texts::Held(texts), Some(index)) = (&mut *self.text.write(), fresh.take(entity)) {
                    texts.replace(entity, index);
                }
            }
            Err(error) => {
                tracing::warn!(company = %self.company_id, %error, "could not reload the search texts; dropped");
                self.forget_texts();
            }
        }
    }

    /// Drops the search texts (held or being loaded) after a write whose events are not known: the next search
    /// loads them again. (They are freed after the lock is released.)
    fn forget_texts(&self) {
        let dropped = std::mem::take(&mut *self.text.write());
        drop(dropped);
    }

    fn cached_count(&self, entity: Entity) -> Option<u64> {
        self.counts.lock().get(&entity).copied()
    }

    /// The CRM operations over this company's session and the given column definitions.
    fn company<'a>(&'a self, columns: &'a [Column]) -> Company<'a> {
        Company {
            id: &self.company_id,
            db: &self.db,
            columns,
            indexed: self.indexing.built.load(Ordering::Acquire),
            text: &self.text,
            conflict_pauses: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn cached_columns(&self) -> Option<Arc<Vec<Column>>> {
        self.columns.read().clone()
    }

    /// Loads columns (on the actor) unless cached.
    async fn load_columns(&self) -> crate::store::StoreResult<Arc<Vec<Column>>> {
        if let Some(columns) = self.cached_columns() {
            return Ok(columns);
        }
        let columns = Arc::new(crm::columns::list(&self.db).await?);
        *self.columns.write() = Some(columns.clone());
        Ok(columns)
    }

    async fn load_seq(&self) -> CrmResult<()> {
        if !self.seq_loaded.load(Ordering::Acquire) {
            let last = crm::service::last_seq(&self.db).await?;
            self.seq.store(last, Ordering::Release);
            self.seq_loaded.store(true, Ordering::Release);
        }
        Ok(())
    }
}

/// What a company's index check follows (see [`TenantHandle::index_when_grown`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Write,
    Count,
}

/// Record counts of a company.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Contacts.
    pub contacts: u64,
    /// Organizations.
    pub organizations: u64,
    /// Deals.
    pub deals: u64,
    /// Services.
    pub services: u64,
    /// Tasks.
    pub tasks: u64,
}

/// A company's typed API. Cloning is cheap.
#[derive(Clone)]
pub struct TenantHandle {
    addr: Addr<TenantActor>,
    shared: Arc<TenantShared>,
    last_used: Arc<AtomicU64>,
    epoch: Instant,
}

impl From<TenantError> for CrmError {
    fn from(error: TenantError) -> Self {
        match error {
            TenantError::Store(error) => Self::Store(error),
            _ => Self::Unavailable,
        }
    }
}

impl TenantHandle {
    pub(super) fn new(
        addr: Addr<TenantActor>,
        shared: Arc<TenantShared>,
        last_used: Arc<AtomicU64>,
        epoch: Instant,
    ) -> Self {
        Self {
            addr,
            shared,
            last_used,
            epoch,
        }
    }

    /// Whether the actor behind this handle can still take messages.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.addr.connected() && !self.shared.dead.load(Ordering::Acquire)
    }

    /// Marks the company as used now (postpones idle eviction).
    pub fn touch(&self) {
        self.last_used.store(self.epoch.elapsed().as_secs(), Ordering::Relaxed);
    }

    /// The company's id.
    #[must_use]
    pub fn company_id(&self) -> &str {
        &self.shared.company_id
    }

    /// Runs `work` on the actor, after every earlier write of this company.
    async fn write<R, F>(&self, work: F) -> Result<R, TenantError>
    where
        R: Send + 'static,
        F: FnOnce(Arc<TenantShared>) -> LocalBoxFuture<'static, R> + Send + 'static,
    {
        self.touch();
        match self.addr.send(Write(Box::new(work))).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => Err(TenantError::Unavailable),
        }
    }

    /// The number of records of one entity, from the held count (loaded once, through the actor).
    pub async fn count(&self, entity: Entity) -> Result<u64, TenantError> {
        if let Some(count) = self.shared.cached_count(entity) {
            return Ok(count);
        }
        self.write(move |shared| Box::pin(async move { Ok(shared.held_count(entity).await?) }))
            .await?
            .inspect(|_| self.index_when_grown(Trigger::Count))
    }

    /// Counts of all five entities if the actor already holds them all: no round trip to the actor, no use of it.
    #[must_use]
    pub fn held_counts(&self) -> Option<Counts> {
        Some(Counts {
            contacts: self.shared.cached_count(Entity::Contact)?,
            organizations: self.shared.cached_count(Entity::Organization)?,
            deals: self.shared.cached_count(Entity::Deal)?,
            services: self.shared.cached_count(Entity::Service)?,
            tasks: self.shared.cached_count(Entity::Task)?,
        })
    }

    /// Counts of all five entities.
    pub async fn counts(&self) -> Result<Counts, TenantError> {
        Ok(Counts {
            contacts: self.count(Entity::Contact).await?,
            organizations: self.count(Entity::Organization).await?,
            deals: self.count(Entity::Deal).await?,
            services: self.count(Entity::Service).await?,
            tasks: self.count(Entity::Task).await?,
        })
    }

    /// The company's custom columns (cached; loaded through the actor the first time).
    pub async fn columns(&self) -> CrmResult<Arc<Vec<Column>>> {
        if let Some(columns) = self.shared.cached_columns() {
            return Ok(columns);
        }
        Ok(self
            .write(|shared| Box::pin(async move { shared.load_columns().await }))
            .await??)
    }

    /// An entity's configuration for a caller.
    pub async fn configuration(&self, entity: Entity, access: &Access) -> CrmResult<Configuration> {
        self.touch();
        let columns = self.columns().await?;
        self.shared.company(&columns).configuration(entity, access)
    }

    /// A page of records with filters, search, sort and total.
    pub async fn search(&self, entity: Entity, input: &QueryInput, access: &Access) -> CrmResult<SearchResult> {
        self.touch();
        let columns = self.columns().await?;
        if input.search_term.as_deref().is_some_and(|t| !t.trim().is_empty()) && self.shared.wants_texts() {
            // Until the texts are held (or if the actor is gone) the search tests the stored texts: the same answer.
            let _ = self
                .write(|shared| {
                    shared.hold_texts();
                    Box::pin(async {})
                })
                .await;
        }
        let held = self.count(entity).await?;
        let company = self.shared.company(&columns);
        company.search(entity, input, access, held).await
    }

    /// Records by id (`None` where missing or not visible).
    pub async fn get(&self, entity: Entity, ids: &[String], access: &Access) -> CrmResult<Vec<Option<Value>>> {
        self.touch();
        let columns = self.columns().await?;
        self.shared.company(&columns).get(entity, ids, access).await
    }

    /// After a write or a count: once a held count has reached the threshold (or a count is not held yet), queues
    /// the index check on the actor, after the writes already queued. So a company that has grown (records written
    /// before this version, or a lowered threshold) gets its indexes at its first write or its first search of a
    /// large table, without a check on every actor start.
    fn index_when_grown(&self, after: Trigger) {
        let indexing = &self.shared.indexing;
        // After a write, a count not held yet (a fresh actor) also schedules the check, which loads it: a bulk
        // import that never searches still gets its indexes as it grows. (Not after a read: a cold search would
        // share the cores with four more counts.)
        let grown = || {
            let counts = self.shared.counts.lock();
            indexing.threshold == 0
                || (after == Trigger::Write && counts.len() < Entity::ALL.len())
                || counts.values().any(|&count| count >= indexing.threshold)
        };
        if !indexing.built.load(Ordering::Acquire) && grown() && !indexing.scheduled.swap(true, Ordering::AcqRel) {
            self.addr.do_send(Write(Box::new(|shared: Arc<TenantShared>| {
                Box::pin(async move { shared.build_indexes_if_grown().await }) as LocalBoxFuture<'static, ()>
            })));
        }
    }

    /// Applies a write: checked in full, then one transaction with its events.
    ///
    /// Creates queue on the company and the actor takes all queued creates in one turn (one commit for those
    /// that link to nothing; see [`Company::write_queued`]), so concurrent creates of a company do not wait for
    /// one commit each. Each still gets its own answer and fails or succeeds alone.
    pub async fn apply(&self, access: Access, request: WriteRequest) -> CrmResult<Outcome> {
        let outcome = if matches!(request, WriteRequest::Create { .. }) {
            self.queue_create(access, request).await
        } else {
            self.apply_alone(access, request).await
        };
        self.index_when_grown(Trigger::Write);
        outcome
    }

    async fn apply_alone(&self, access: Access, request: WriteRequest) -> CrmResult<Outcome> {
        self.write(move |shared| {
            Box::pin(async move {
                let columns = shared.prepare_write().await?;
                let entity = match &request {
                    WriteRequest::Create { entity, .. }
                    | WriteRequest::Update { entity, .. }
                    | WriteRequest::Delete { entity, .. }
                    | WriteRequest::Link { entity, .. } => *entity,
                };
                let company = shared.company(&columns);
                let answer = company.write(&access, &shared.seq, request).await;
                shared.follow(entity, &answer);
                answer
            })
        })
        .await?
    }

    async fn queue_create(&self, access: Access, request: WriteRequest) -> CrmResult<Outcome> {
        let (reply, answer) = oneshot::channel();
        let ticket = self.shared.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.shared.queued.lock().push(Queued {
            ticket,
            access,
            request,
            reply,
        });
        let withdraw = Withdraw {
            queued: &self.shared.queued,
            ticket,
        };
        // Asks the actor for a flush. An earlier flush may take this create first: then its answer comes before
        // this flush's turn, and waiting for that turn (behind the other creates' flushes) would only add latency.
        let flush = std::pin::pin!(self.write(|shared| Box::pin(async move { shared.flush_queued().await })));
        let (flushed, answer) = match future::select(answer, flush).await {
            Either::Left((answer, _)) => return answer.unwrap_or(Err(CrmError::Unavailable)),
            Either::Right((flushed, answer)) => (flushed, answer),
        };
        // The actor is gone. A create it never took is withdrawn (nothing was written); one it took has either
        // been answered or died with the actor (its transaction did not commit).
        if flushed.is_err() && withdraw.now() {
            return Err(CrmError::Unavailable);
        }
        // This flush (or an earlier one) took the create and has answered it, or died with the actor.
        answer.await.unwrap_or(Err(CrmError::Unavailable))
    }

    /// Appends markdown to records' notes: reads and writes in one actor turn, so concurrent appends never
    /// lose text. Each item is (id, text); the error names a record that is missing or not visible.
    pub async fn append_notes(&self, access: Access, entity: Entity, items: Vec<(String, String)>) -> CrmResult<usize> {
        self.write(move |shared| {
            Box::pin(async move {
                let columns = shared.prepare_write().await?;
                let company = shared.company(&columns);
                let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
                let current = company.get(entity, &ids, &access).await?;
                let mut updates = Vec::with_capacity(items.len());
                for ((id, text), found) in items.iter().zip(current) {
                    let Some(found) = found else {
                        return Err(CrmError::NotFound(format!("{} {id} not found", entity.title())));
                    };
                    let notes = match found["notes"].as_str() {
                        Some(old) if !old.trim().is_empty() => format!("{old}\n\n{text}"),
                        _ => text.clone(),
                    };
                    updates.push(serde_json::json!({"id": id, "notes": notes}));
                }
                let request = WriteRequest::Update {
                    entity,
                    items: updates,
                    nulls: crate::crm::input::Nulls::Refuse,
                };
                let answer = company.write(&access, &shared.seq, request).await;
                shared.follow(entity, &answer);
                Ok(answer?.records.len())
            })
        })
        .await?
    }

    /// Custom columns, optionally of one entity.
    pub async fn list_columns(&self, entity: Option<Entity>) -> CrmResult<Vec<Column>> {
        let columns = self.columns().await?;
        Ok(columns
            .iter()
            .filter(|c| entity.is_none_or(|e| c.entity_type == e))
            .cloned()
            .collect())
    }

    /// Creates a custom column.
    pub async fn create_column(&self, access: Access, request: NewColumn) -> CrmResult<Column> {
        self.column_write(move |company, seq| {
            Box::pin(async move { company.create_column(&access, seq, &request).await })
        })
        .await
    }

    /// Changes a custom column; `expected` refuses a column of another type.
    pub async fn update_column(
        &self,
        access: Access,
        id: String,
        change: ColumnChange,
        expected: Option<ColumnType>,
    ) -> CrmResult<Column> {
        self.column_write(move |company, seq| {
            Box::pin(async move { company.update_column(&access, seq, &id, &change, expected).await })
        })
        .await
    }

    /// Deletes a custom column and its values.
    pub async fn delete_column(&self, access: Access, id: String) -> CrmResult<Column> {
        self.column_write(move |company, seq| Box::pin(async move { company.delete_column(&access, seq, &id).await }))
            .await
    }

    /// Runs a column change on the actor, with the outbox sequence its event takes.
    async fn column_write<F>(&self, work: F) -> CrmResult<Column>
    where
        F: for<'a> FnOnce(&'a Company<'a>, &'a AtomicU64) -> LocalBoxFuture<'a, CrmResult<Column>> + Send + 'static,
    {
        self.write(move |shared| {
            Box::pin(async move {
                let columns = shared.prepare_write().await?;
                let company = shared.company(&columns);
                let result = work(&company, &shared.seq).await;
                match &result {
                    Ok(_) => {
                        // The change is committed: refresh the cache the other requests read.
                        *shared.columns.write() = None;
                        shared.load_columns().await?;
                    }
                    Err(CrmError::Store(_) | CrmError::Unavailable) => shared.forget_seq(),
                    Err(_) => {}
                }
                result
            })
        })
        .await?
    }

    /// Change events after a sequence number.
    pub async fn events(&self, after: u64, limit: u32) -> CrmResult<Vec<Value>> {
        self.touch();
        crm::service::events(&self.shared.db, after, limit).await
    }

    /// Mirrors a user into the company's database so records can be assigned to it.
    pub async fn upsert_member(&self, user: crate::domain::User) -> Result<(), TenantError> {
        self.write(move |shared| Box::pin(async move { crm::upsert_member(&shared.db, &user).await }))
            .await?
            .map_err(TenantError::from)
    }

    /// Opens the "approve user" system task of a user waiting for authorization (no events).
    pub async fn open_pending_task(&self, user: crate::domain::User) -> Result<(), TenantError> {
        self.system_tasks(move |db, columns| Box::pin(async move { crm::system_tasks::open(db, &user, columns).await }))
            .await
    }

    /// Deletes a user's "approve user" system task once the user is no longer pending (no events).
    pub async fn close_pending_task(&self, user_id: String) -> Result<(), TenantError> {
        self.system_tasks(move |db, _| Box::pin(async move { crm::system_tasks::close(db, &user_id).await }))
            .await
    }

    /// Makes the approval tasks match the pending users (after a suspension, when changes could not reach them).
    pub async fn reconcile_pending_tasks(&self, pending: Vec<crate::domain::User>) -> Result<(), TenantError> {
        self.system_tasks(move |db, columns| {
            Box::pin(async move { crm::system_tasks::reconcile(db, &pending, columns).await })
        })
        .await
    }

    /// Runs a system-task change on the actor with the company's columns. Such a change writes no events, so the
    /// held task count is dropped (and reloaded later) and the held task texts are read again, whether the change
    /// succeeded or failed part way.
    async fn system_tasks<F>(&self, change: F) -> Result<(), TenantError>
    where
        F: for<'a> FnOnce(
                &'a Surreal<Any>,
                &'a [crm::custom::Column],
            ) -> futures::future::LocalBoxFuture<'a, crate::store::StoreResult<()>>
            + Send
            + 'static,
    {
        self.write(move |shared| {
            Box::pin(async move {
                let columns = shared.load_columns().await?;
                let changed = change(&shared.db, &columns).await;
                shared.counts.lock().remove(&Entity::Task);
                shared.reload_texts(Entity::Task).await;
                Ok::<_, TenantError>(changed?)
            })
        })
        .await?
    }

    /// Seeds the demo data set, assigned to `user`; does nothing when the company already has deals.
    pub async fn seed_demo(&self, user: crate::domain::User) -> Result<bool, TenantError> {
        self.write(move |shared| {
            Box::pin(async move {
                let seeded = crm::demo::seed(&shared.db, &user).await;
                shared.counts.lock().clear();
                *shared.columns.write() = None;
                shared.forget_texts();
                Ok::<_, TenantError>(seeded?)
            })
        })
        .await?
    }

    /// Makes the actor panic inside a write (fault injection for tests).
    pub async fn panic_for_test(&self) -> Result<(), TenantError> {
        self.write::<(), _>(|_| Box::pin(async { panic!("fault injection: tenant actor panic") }))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::FutureExt;
    use serde_json::json;

    use super::*;
    use crate::config::{DatabaseSettings, TenantSettings};
    use crate::crm::access::fixtures::admin;
    use crate::crm::input::Nulls;

    fn create(name: &str) -> WriteRequest {
        WriteRequest::Create {
            entity: Entity::Contact,
            items: vec![json!({"firstName": name})],
            nulls: Nulls::Refuse,
        }
    }

    /// A registry on a `mem://` store holding one company.
    async fn registry(index_threshold: u64) -> (crate::tenants::TenantRegistry, String) {
        let store = crate::store::Store::connect(&DatabaseSettings {
            url: "mem://".into(),
            namespace: "t".into(),
            username: String::new(),
            password: String::new().into(),
        })
        .await
        .unwrap();
        let company = uuid::Uuid::new_v4();
        let database = crate::domain::company::database_name(&company);
        store.create_tenant_db(&database).await.unwrap();
        let registry = crate::tenants::TenantRegistry::new(
            store,
            &TenantSettings {
                idle_timeout_secs: 600,
                sweep_interval_secs: 600,
                index_threshold,
            },
        );
        (registry, company.to_string())
    }

    /// Names of the indexes defined on the contact table.
    async fn contact_indexes(handle: &TenantHandle) -> Vec<String> {
        let info = crate::store::run(&handle.shared.db, "INFO FOR TABLE contact", json!({}))
            .await
            .unwrap()
            .pop()
            .unwrap();
        let mut names: Vec<String> = info["indexes"].as_object().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    /// Waits until the actor has handled every message sent before this call.
    async fn settle(handle: &TenantHandle) {
        handle.write(|_| Box::pin(async {})).await.unwrap();
    }

    /// Concurrent first requests of a company open its database (bringing its schema up to date, which can move
    /// data) once, and all get the one actor.
    #[actix_web::test]
    async fn concurrent_first_requests_open_the_company_once() {
        let (registry, company) = registry(100).await;
        let handles = futures::future::join_all((0..16).map(|_| registry.get(&company))).await;
        assert_eq!(registry.opened(), 1, "one open for sixteen first requests");
        assert!(handles.iter().all(Result::is_ok));
        assert_eq!(registry.running(), 1);
        registry.get(&company).await.unwrap();
        assert_eq!(registry.opened(), 1, "a running actor is not opened again");
    }

    /// A company closed (suspended or deleted) while its actor is being started keeps no actor: the close waits for
    /// the start, then stops it, and later requests are refused.
    #[actix_web::test]
    async fn a_company_closed_while_its_actor_starts_keeps_no_actor() {
        let (registry, company) = registry(100).await;
        let started = std::cell::Cell::new(false);
        let (first, ()) = futures::join!(
            async {
                let answer = registry.get(&company).await;
                started.set(true);
                answer
            },
            async {
                // Polled after the first request, which has taken the opening lock and is opening the database.
                tokio::task::yield_now().await;
                assert!(!started.get(), "the close comes while the actor is starting");
                registry.close(&company).await;
            }
        );
        assert!(first.is_ok(), "the request that started it got the actor");
        assert_eq!(registry.opened(), 1);
        assert!(!registry.is_running(&company), "no actor outlives the close");
        assert!(matches!(registry.get(&company).await, Err(TenantError::Suspended)));
        registry.reopen(&company);
        registry.get(&company).await.unwrap();
        assert!(registry.is_running(&company));
    }

    /// A company's secondary indexes are built once one of its tables reaches the threshold, not before; searches
    /// answer the same before and after; a restarted actor finds them built.
    #[actix_web::test]
    async fn secondary_indexes_are_built_once_a_table_reaches_the_threshold() {
        let (registry, company) = registry(5).await;
        let handle = registry.get(&company).await.unwrap();
        let by_name: QueryInput = serde_json::from_value(json!({"pagination": {"page": 1, "pageSize": 3}})).unwrap();
        let recent: QueryInput = serde_json::from_value(json!({
            "filters": [{"field": "createdAt", "operator": "gte", "value": "2020-01-01"}],
            "sortDescriptor": {"field": "createdAt", "direction": "desc"}
        }))
        .unwrap();
        let names = |result: SearchResult| -> Vec<String> {
            result
                .items
                .iter()
                .map(|c| c["firstName"].as_str().unwrap().to_owned())
                .collect()
        };
        for name in ["Eve", "Dan", "Cy", "Bo"] {
            handle.apply(admin(), create(name)).await.unwrap();
        }
        settle(&handle).await;
        assert!(
            contact_indexes(&handle).await.is_empty(),
            "4 contacts: below the threshold of 5"
        );
        let first_page = names(handle.search(Entity::Contact, &by_name, &admin()).await.unwrap());
        assert_eq!(first_page, ["Bo", "Cy", "Dan"]);

        handle.apply(admin(), create("Al")).await.unwrap();
        settle(&handle).await;
        let indexes = contact_indexes(&handle).await;
        for expected in [
            "contact_created",
            "contact_list_name",
            "contact_list_created",
            "contact_emails",
        ] {
            assert!(
                indexes.iter().any(|i| i == expected),
                "{expected} missing from {indexes:?}"
            );
        }
        assert!(
            migrate::is_current(&handle.shared.db, &migrate::TENANT_INDEXES)
                .await
                .unwrap()
        );
        let first_page = names(handle.search(Entity::Contact, &by_name, &admin()).await.unwrap());
        assert_eq!(first_page, ["Al", "Bo", "Cy"]);
        let newest = names(handle.search(Entity::Contact, &recent, &admin()).await.unwrap());
        assert_eq!(newest, ["Al", "Bo", "Cy", "Dan", "Eve"]);

        registry.evict(&company).await;
        let restarted = registry.get(&company).await.unwrap();
        assert!(restarted.shared.indexing.built.load(Ordering::Acquire));
        assert!(
            !restarted.shared.indexing.scheduled.load(Ordering::Acquire),
            "nothing to check"
        );
        registry.shutdown().await;
    }

    /// A company that already holds more records than the threshold (one written before this version, or with
    /// the threshold lowered) gets its indexes once its records are counted, as every search does.
    #[actix_web::test]
    async fn a_company_that_has_grown_gets_its_indexes_at_its_first_count() {
        let (registry, company) = registry(1000).await;
        let handle = registry.get(&company).await.unwrap();
        handle
            .apply(
                admin(),
                WriteRequest::Create {
                    entity: Entity::Contact,
                    items: (0..3).map(|i| json!({"firstName": format!("P{i}")})).collect(),
                    nulls: Nulls::Refuse,
                },
            )
            .await
            .unwrap();
        settle(&handle).await;
        assert!(contact_indexes(&handle).await.is_empty());
        registry.shutdown().await;

        let store = registry.store();
        let lowered = crate::tenants::TenantRegistry::new(
            store,
            &TenantSettings {
                idle_timeout_secs: 600,
                sweep_interval_secs: 600,
                index_threshold: 3,
            },
        );
        let handle = lowered.get(&company).await.unwrap();
        settle(&handle).await;
        assert!(
            contact_indexes(&handle).await.is_empty(),
            "nothing is checked when the actor starts"
        );
        assert_eq!(handle.count(Entity::Contact).await.unwrap(), 3);
        settle(&handle).await;
        assert!(contact_indexes(&handle).await.contains(&"contact_list_name".to_owned()));
        lowered.shutdown().await;
    }

    /// A create still queued when its requester goes away (a dropped connection, a cancelled call) is withdrawn:
    /// a later turn of the actor must not write it.
    #[actix_web::test]
    async fn a_create_whose_requester_went_away_before_its_turn_is_not_written() {
        let (registry, company) = registry(1000).await;
        let handle = registry.get(&company).await.unwrap();
        // Keep the actor busy, queue a create behind it, then drop its requester.
        let busy = {
            let handle = handle.clone();
            actix_web::rt::spawn(async move {
                handle
                    .write(|_| Box::pin(actix_web::rt::time::sleep(Duration::from_millis(300))))
                    .await
            })
        };
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        let mut abandoned = Box::pin(handle.apply(admin(), create("Gone")));
        assert!((&mut abandoned).now_or_never().is_none(), "the actor is busy");
        assert_eq!(handle.shared.queued.lock().len(), 1);
        drop(abandoned);
        assert!(
            handle.shared.queued.lock().is_empty(),
            "withdrawn when its requester went away"
        );
        busy.await.unwrap().unwrap();

        let kept = handle.apply(admin(), create("Kept")).await.unwrap();
        assert_eq!(kept.records[0]["firstName"], "Kept");
        let names = crate::store::run(&handle.shared.db, "SELECT VALUE firstName FROM contact", json!({}))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(names, json!(["Kept"]));
        registry.shutdown().await;
    }
}
