//! The records that `searchTerm` finds, held in memory by the company's actor.
//!
//! A search token matches a record when the record's lowercased name text (`searchText`, see
//! `schema/tenant/060_search.surql`) contains it. [`TextIndex`] keeps, per entity, every record's text and, for
//! every 2- and 3-character piece of a word (a run of letters and digits), the set of records holding it. A token
//! is answered by intersecting the sets of its pieces ([`pieces`]) and testing the few candidates' texts; so the
//! answer is exact, and no record is read from the database to find it.
//!
//! It replaces the engine's full-text indexes: on SurrealDB 3.3.5 keeping those while writing cost every create
//! 0.2–0.3 ms, and their background compaction a third of the server's CPU under a stream of creates
//! (BENCHMARKS.md, "Search in memory"). The actor owns every write of its company, so it keeps the index current
//! from the events of each committed write ([`TextIndexes::apply`]); after writes that emit no events (system
//! tasks, demo data) the actor reads the texts again. (So, like the held counts, it needs every write of a company to
//! pass through its one actor: one server per company.)

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;
use serde_json::{Map, Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use super::Entity;
use super::events::Event;
use crate::store::{StoreResult, run};

/// Pieces used per token: enough to narrow the candidates to a few records; every piece more is one more set to
/// intersect.
const MAX_PIECES: usize = 8;

/// A piece of a word: two or three characters (a two-character piece ends with `'\0'`).
type Gram = [char; 3];

/// The pieces asked for a (lowercased) token: of each run of letters and digits, a run of two as it is, a longer
/// run as its 3-character pieces, at most [`MAX_PIECES`] in all, each once. A text containing the token contains
/// every such piece inside one of its own runs, so every record holding the token holds them all. Empty when the
/// token has no run of two or more: then every record is a candidate.
#[must_use]
pub fn pieces(token: &str) -> Vec<Gram> {
    let mut pieces: Vec<Gram> = Vec::new();
    for run in runs(token) {
        let found: Vec<Gram> = match run.len() {
            0 | 1 => continue,
            2 => vec![[run[0], run[1], '\0']],
            _ => run.windows(3).map(|w| [w[0], w[1], w[2]]).collect(),
        };
        for piece in found {
            if pieces.len() < MAX_PIECES && !pieces.contains(&piece) {
                pieces.push(piece);
            }
        }
    }
    pieces
}

/// Every 2- and 3-character piece of every run of letters and digits of a text, each once.
fn grams(text: &str) -> Vec<Gram> {
    let mut grams: Vec<Gram> = runs(text)
        .flat_map(|run| {
            let twos = run.windows(2).map(|w| [w[0], w[1], '\0']);
            let threes = run.windows(3).map(|w| [w[0], w[1], w[2]]);
            twos.chain(threes).collect::<Vec<_>>()
        })
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

fn runs(text: &str) -> impl Iterator<Item = Vec<char>> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(|run| run.chars().collect())
}

/// One record's entry.
struct Doc {
    id: Arc<str>,
    text: Box<str>,
}

/// The texts of one entity's records and the records holding each piece.
#[derive(Default)]
pub struct TextIndex {
    slots: HashMap<Arc<str>, u32>,
    docs: Vec<Option<Doc>>,
    free: Vec<u32>,
    grams: HashMap<Gram, RoaringBitmap>,
}

impl TextIndex {
    /// Sets a record's text (lowercased): a new record, or one whose names changed.
    pub fn upsert(&mut self, id: &str, text: String) {
        if let Some(&slot) = self.slots.get(id) {
            if self.docs[slot as usize].as_ref().is_some_and(|d| *d.text == *text) {
                return;
            }
            self.remove(id);
        }
        let id: Arc<str> = Arc::from(id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.docs.push(None);
                u32::try_from(self.docs.len() - 1).unwrap_or(u32::MAX)
            }
        };
        for gram in grams(&text) {
            self.grams.entry(gram).or_default().insert(slot);
        }
        self.slots.insert(id.clone(), slot);
        self.docs[slot as usize] = Some(Doc {
            id,
            text: text.into_boxed_str(),
        });
    }

    /// Forgets a deleted record.
    pub fn remove(&mut self, id: &str) {
        let Some(slot) = self.slots.remove(id) else {
            return;
        };
        if let Some(doc) = self.docs[slot as usize].take() {
            for gram in grams(&doc.text) {
                if let Some(set) = self.grams.get_mut(&gram) {
                    set.remove(slot);
                    if set.is_empty() {
                        self.grams.remove(&gram);
                    }
                }
            }
        }
        self.free.push(slot);
    }

    /// The ids of the records whose text contains `token` (lowercased), in no particular order.
    #[must_use]
    pub fn matching(&self, token: &str) -> Vec<&str> {
        self.docs_matching(token, &pieces(token)).map(|doc| &*doc.id).collect()
    }

    /// The ids of the records whose text contains `token`, as [`Self::matching`] finds them, unless more than
    /// `limit` match (it stops looking there).
    #[must_use]
    pub fn matching_at_most(&self, token: &str, limit: usize) -> Option<Vec<Arc<str>>> {
        let matched: Vec<Arc<str>> = self
            .docs_matching(token, &pieces(token))
            .take(limit.saturating_add(1))
            .map(|doc| doc.id.clone())
            .collect();
        (matched.len() <= limit).then_some(matched)
    }

    /// The records whose text contains `token`, found from its `pieces` (all records are candidates when there
    /// are none).
    fn docs_matching<'s: 't, 't>(&'s self, token: &'t str, pieces: &[Gram]) -> Box<dyn Iterator<Item = &'s Doc> + 't> {
        let contains = move |doc: &&Doc| doc.text.contains(token);
        if pieces.is_empty() {
            return Box::new(self.docs.iter().flatten().filter(contains));
        }
        let mut sets = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match self.grams.get(piece) {
                Some(set) => sets.push(set),
                None => return Box::new(std::iter::empty()),
            }
        }
        sets.sort_by_key(|set| set.len());
        let mut candidates = sets[0].clone();
        for set in &sets[1..] {
            candidates &= *set;
        }
        Box::new(
            candidates
                .into_iter()
                .filter_map(|slot| self.docs[slot as usize].as_ref())
                .filter(contains),
        )
    }

    /// Records held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The text index of each of the five entities.
#[derive(Default)]
pub struct TextIndexes {
    by_entity: HashMap<Entity, TextIndex>,
}

impl TextIndexes {
    /// One entity's index.
    #[must_use]
    pub fn of(&self, entity: Entity) -> Option<&TextIndex> {
        self.by_entity.get(&entity)
    }

    /// Records held, of all entities.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_entity.values().map(TextIndex::len).sum()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes one entity's index out.
    pub fn take(&mut self, entity: Entity) -> Option<TextIndex> {
        self.by_entity.remove(&entity)
    }

    /// Puts in one entity's index, in place of the one held.
    pub fn replace(&mut self, entity: Entity, index: TextIndex) {
        self.by_entity.insert(entity, index);
    }

    /// Sets a record's text.
    pub fn upsert(&mut self, entity: Entity, id: &str, text: String) {
        self.by_entity.entry(entity).or_default().upsert(id, text);
    }

    /// Follows a committed write: created and updated records get the text of their DTO, deleted ones go.
    pub fn apply(&mut self, events: &[Event]) {
        for event in events {
            let Some((table, kind)) = event.event.split_once('.') else {
                continue;
            };
            let Some(entity) = Entity::parse(table) else {
                continue;
            };
            match kind {
                "created" => self.upsert(entity, &event.entity_id, dto_text(entity, &event.payload)),
                "updated" => self.upsert(entity, &event.entity_id, dto_text(entity, &event.payload[table])),
                "deleted" => self.by_entity.entry(entity).or_default().remove(&event.entity_id),
                _ => {}
            }
        }
    }
}

/// The tokens a search term is matched by: its first 10 words, lowercased, each once.
#[must_use]
pub fn tokens(term: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for token in term.split_whitespace().take(10).map(str::to_lowercase) {
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    tokens
}

/// Most matches of one token handed to a query as record ids (~45 bytes each); a token matching more is tested on
/// the stored texts by the query, which then reads every record, as it would to sort that many.
const MAX_BOUND_MATCHES: usize = 20_000;

/// What the held texts answer for the tokens of one search, taken while their lock is held (so the query is
/// built after it is released): per entity and token, the matching ids, or `None` where the query tests the stored
/// texts itself (the entity's texts are not held, the token has no piece to look up, or more than
/// [`MAX_BOUND_MATCHES`] match).
#[derive(Default)]
pub struct Matches {
    found: HashMap<(Entity, String), Option<Vec<Arc<str>>>>,
}

impl Matches {
    /// The matches of the search term's tokens among the records of these entities.
    #[must_use]
    pub fn of(texts: &TextIndexes, entities: &[Entity], term: &str) -> Self {
        let mut found = HashMap::new();
        for token in tokens(term) {
            let lookable = !pieces(&token).is_empty();
            for &entity in entities {
                // Nothing to look up: every record would be a candidate.
                let ids = texts
                    .of(entity)
                    .filter(|_| lookable)
                    .and_then(|index| index.matching_at_most(&token, MAX_BOUND_MATCHES));
                found.insert((entity, token.clone()), ids);
            }
        }
        Self { found }
    }

    /// The matching ids of one token among one entity's records, if the texts answer it.
    #[must_use]
    pub fn get(&self, entity: Entity, token: &str) -> Option<&[Arc<str>]> {
        self.found.get(&(entity, token.to_owned()))?.as_deref()
    }
}

/// A company's search texts, as its actor has them.
#[derive(Default)]
pub enum Texts {
    /// Not loaded (a small company, before its first search, or dropped): searches test the stored texts.
    #[default]
    Absent,
    /// Being loaded beside the company's writes (by the load with this number): the events of the writes committed
    /// meanwhile, in order, to apply once the records are read (each event carries its record's whole DTO, so
    /// applying one whose write the read already saw changes nothing). Searches test the stored texts meanwhile.
    Loading(u64, Vec<Event>),
    /// Held and kept current.
    Held(TextIndexes),
}

impl Texts {
    /// The texts, when held.
    #[must_use]
    pub fn held(&self) -> Option<&TextIndexes> {
        match self {
            Self::Held(texts) => Some(texts),
            _ => None,
        }
    }

    /// Follows a committed write's events: applied to held texts, kept for a load under way.
    pub fn follow(&mut self, events: &[Event]) {
        match self {
            Self::Held(texts) => texts.apply(events),
            Self::Loading(_, pending) => pending.extend(events.iter().cloned()),
            Self::Absent => {}
        }
    }

    /// Ends load number `load`: the texts read, with the events of the meantime applied. `false` (and nothing
    /// changes) when that load was abandoned meanwhile (the texts were dropped, and maybe another load started).
    pub fn loaded(&mut self, load: u64, mut texts: TextIndexes) -> bool {
        match self {
            Self::Loading(number, pending) if *number == load => {
                texts.apply(pending);
                *self = Self::Held(texts);
                true
            }
            _ => false,
        }
    }

    /// Ends load number `load` without texts (it failed or was dropped), unless it was abandoned meanwhile;
    /// whether it was still the load under way.
    pub fn failed(&mut self, load: u64) -> bool {
        let current = matches!(self, Self::Loading(number, _) if *number == load);
        if current {
            *self = Self::Absent;
        }
        current
    }
}

/// Loads the stored `searchText` of every record of these entities.
pub async fn load(db: &Surreal<Any>, entities: &[Entity]) -> StoreResult<TextIndexes> {
    let sql: String = entities
        .iter()
        .map(|e| format!("SELECT VALUE [record::id(id), searchText] FROM {};\n", e.table()))
        .collect();
    let results = run(db, &sql, json!({})).await?;
    let mut indexes = TextIndexes::default();
    for (&entity, rows) in entities.iter().zip(results) {
        indexes.by_entity.entry(entity).or_default();
        let Value::Array(rows) = rows else { continue };
        for row in rows {
            if let Value::Array(pair) = row
                && let [Value::String(id), Value::String(text)] = pair.as_slice()
            {
                indexes.upsert(entity, id, text.clone());
            }
        }
    }
    Ok(indexes)
}

/// What `searchText` holds for a record with this DTO: its [`Entity::search_fields`] (strings, or arrays of
/// strings), joined with spaces and lowercased.
#[must_use]
pub fn dto_text(entity: Entity, dto: &Value) -> String {
    dto.as_object()
        .map_or_else(String::new, |fields| fields_text(entity, fields))
}

/// [`dto_text`] of a record's fields (a DTO, or the stored content of a new record).
#[must_use]
pub fn fields_text(entity: Entity, fields: &Map<String, Value>) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for field in entity.search_fields() {
        match fields.get(*field).unwrap_or(&Value::Null) {
            Value::String(s) => parts.push(s),
            Value::Array(items) => parts.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    parts.join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sorted(mut ids: Vec<&str>) -> Vec<&str> {
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_token_is_asked_for_the_pieces_of_its_runs() {
        let text = |token: &str| {
            pieces(token)
                .iter()
                .map(|g| g.iter().filter(|c| **c != '\0').collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(text("al"), "al");
        assert_eq!(text("alice"), "ali lic ice");
        assert_eq!(text("a-b"), "");
        assert_eq!(text("ally@mail.example"), "all lly mai ail exa xam amp mpl");
        assert_eq!(text("zoë"), "zoë");
        assert_eq!(text("aaaa"), "aaa");
    }

    /// Every token of a set of texts, with updates and deletes in between, gives exactly the records whose text
    /// contains it (checked against a plain scan).
    #[test]
    fn matches_are_exactly_the_texts_containing_the_token() {
        let words = [
            "alice",
            "alison",
            "bob",
            "hart",
            "ørsted",
            "zoë",
            "mail.example",
            "a",
            "ab",
            "x-y",
            "ice",
            "li",
        ];
        let mut index = TextIndex::default();
        let mut texts: HashMap<String, String> = HashMap::new();
        let mut state = 7u64;
        let mut next = |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 33) as usize % n
        };
        for round in 0..400 {
            let id = format!("r{}", next(60));
            if round % 5 == 4 {
                index.remove(&id);
                texts.remove(&id);
            } else {
                let text = (0..1 + next(3))
                    .map(|_| words[next(words.len())])
                    .collect::<Vec<_>>()
                    .join(" ");
                index.upsert(&id, text.clone());
                texts.insert(id, text);
            }
        }
        assert_eq!(index.len(), texts.len());
        let tokens = [
            "ali", "al", "ice", "a", "-", "e h", "ørs", "mail.ex", "b", "xy", "x-y", "zzz", "lis",
        ];
        for token in tokens {
            let expected: Vec<&str> = sorted(
                texts
                    .iter()
                    .filter(|(_, t)| t.contains(token))
                    .map(|(id, _)| id.as_str())
                    .collect(),
            );
            assert_eq!(sorted(index.matching(token)), expected, "{token}");
        }
    }

    #[test]
    fn a_token_matching_too_many_records_is_left_to_the_query() {
        let mut texts = TextIndexes::default();
        for id in ["a", "b", "c"] {
            texts.upsert(Entity::Deal, id, format!("deal {id}"));
        }
        let index = texts.of(Entity::Deal).unwrap();
        assert_eq!(index.matching_at_most("dea", 2), None);
        assert_eq!(index.matching_at_most("dea", 3).map(|ids| ids.len()), Some(3));
        let matches = Matches::of(&texts, &[Entity::Deal, Entity::Task], "DEAL d");
        assert_eq!(matches.get(Entity::Deal, "deal").map(<[_]>::len), Some(3));
        assert_eq!(
            matches.get(Entity::Deal, "d"),
            None,
            "one character: nothing to look up"
        );
        assert_eq!(matches.get(Entity::Task, "deal"), None, "not held");
    }

    #[test]
    fn a_removed_record_leaves_no_piece_behind() {
        let mut index = TextIndex::default();
        index.upsert("a", "alice hart".into());
        index.upsert("a", "bob".into());
        index.remove("a");
        assert!(index.is_empty());
        assert!(index.grams.is_empty(), "{:?}", index.grams.keys().collect::<Vec<_>>());
        index.upsert("b", "alice".into());
        assert_eq!(index.matching("lic"), vec!["b"]);
        assert_eq!(index.docs.len(), 1, "the freed slot is reused");
    }

    /// The writes committed while the texts load are applied after the read, whichever of them the read saw.
    #[test]
    fn a_load_takes_the_writes_of_its_meantime() {
        let dto = |id: &str, name: &str| json!({"id": id, "name": name});
        let deals = |texts: &Texts, token: &str| {
            let mut ids: Vec<String> = texts
                .held()
                .unwrap()
                .of(Entity::Deal)
                .unwrap()
                .matching(token)
                .into_iter()
                .map(str::to_owned)
                .collect();
            ids.sort();
            ids
        };
        let mut texts = Texts::Loading(1, Vec::new());
        texts.follow(&[Event::created(Entity::Deal, &dto("d2", "Second"))]);
        texts.follow(&[Event::updated(
            Entity::Deal,
            &dto("d1", "Renamed"),
            serde_json::Map::new(),
        )]);
        texts.follow(&[Event::deleted(Entity::Deal, &dto("d3", "Third"))]);
        assert!(texts.held().is_none(), "searches scan while loading");
        // The read saw d1 before its rename, d2 already, and d3 before its delete.
        let mut read = TextIndexes::default();
        read.upsert(Entity::Deal, "d1", "first".into());
        read.upsert(Entity::Deal, "d2", "second".into());
        read.upsert(Entity::Deal, "d3", "third".into());
        assert!(
            !texts.loaded(2, TextIndexes::default()),
            "another load's read changes nothing"
        );
        assert!(texts.held().is_none());
        assert!(texts.loaded(1, read));
        assert_eq!(deals(&texts, "first"), Vec::<String>::new());
        assert_eq!(deals(&texts, "ren"), vec!["d1"]);
        assert_eq!(deals(&texts, "sec"), vec!["d2"]);
        assert_eq!(deals(&texts, "thi"), Vec::<String>::new());
        texts.follow(&[Event::created(Entity::Deal, &dto("d4", "Fourth"))]);
        assert_eq!(deals(&texts, "fou"), vec!["d4"], "held texts follow writes");
        // A load abandoned meanwhile (the texts dropped) ends without effect.
        let mut dropped = Texts::Absent;
        assert!(!dropped.loaded(1, TextIndexes::default()));
        assert!(dropped.held().is_none());
        // A failed load leaves a later one alone.
        let mut later = Texts::Loading(3, Vec::new());
        assert!(!later.failed(2));
        assert!(matches!(later, Texts::Loading(3, _)));
        assert!(later.failed(3));
        assert!(matches!(later, Texts::Absent));
    }

    #[test]
    fn events_keep_the_texts_of_their_records() {
        let mut indexes = TextIndexes::default();
        let contact = json!({"id": "c1", "firstName": "Alice", "lastName": "Hart", "emails": ["ALLY@mail.example"]});
        indexes.apply(&[Event::created(Entity::Contact, &contact)]);
        fn contacts(i: &TextIndexes, token: &str) -> Vec<String> {
            let matched = i.of(Entity::Contact).unwrap().matching(token);
            matched.into_iter().map(str::to_owned).collect()
        }
        assert_eq!(contacts(&indexes, "ally@"), vec!["c1"]);
        let renamed = json!({"id": "c1", "firstName": "Alicia", "lastName": "Hart", "emails": []});
        indexes.apply(&[Event::updated(Entity::Contact, &renamed, serde_json::Map::new())]);
        assert_eq!(contacts(&indexes, "ally"), Vec::<String>::new());
        assert_eq!(contacts(&indexes, "alicia hart"), vec!["c1"]);
        indexes.apply(&[Event::deleted(Entity::Contact, &renamed)]);
        assert_eq!(contacts(&indexes, "hart"), Vec::<String>::new());
        let deal = json!({"id": "d1", "name": "Big Deal"});
        indexes.apply(&[Event::created(Entity::Deal, &deal)]);
        assert_eq!(indexes.of(Entity::Deal).unwrap().matching("g d"), vec!["d1"]);
    }
}
