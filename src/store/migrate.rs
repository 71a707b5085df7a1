//! Schema application: idempotent `DEFINE … OVERWRITE` files, applied when their checksum changes,
//! with the applied version recorded in `schema_meta:current`.

use std::sync::OnceLock;

use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use super::{StoreResult, one, run};

/// An ordered set of schema files for one kind of database.
pub struct SchemaSet {
    /// The `schema_meta` record that holds the applied version and checksum.
    pub marker: &'static str,
    /// Schema version; raise it when a change needs a data migration.
    pub version: i64,
    /// `(file name, SurrealQL)` in application order.
    pub files: &'static [(&'static str, &'static str)],
    /// Data migrations, run in order after the files and before the set is recorded as applied (so one that is
    /// interrupted runs again at the next start); each must be a no-op where it has nothing to do.
    pub steps: &'static [Step],
    /// [`SchemaSet::checksum`], computed once.
    checksum: OnceLock<String>,
}

/// A data migration of a schema set.
pub type Step = for<'a> fn(&'a Surreal<Any>) -> BoxFuture<'a, StoreResult<()>>;

/// The control database's schema.
pub static CONTROL: SchemaSet = SchemaSet {
    marker: "current",
    version: 1,
    checksum: OnceLock::new(),
    steps: &[],
    files: &[
        (
            "010_company.surql",
            include_str!("../../schema/control/010_company.surql"),
        ),
        ("020_user.surql", include_str!("../../schema/control/020_user.surql")),
        ("030_role.surql", include_str!("../../schema/control/030_role.surql")),
        (
            "040_api_key.surql",
            include_str!("../../schema/control/040_api_key.surql"),
        ),
        (
            "050_platform.surql",
            include_str!("../../schema/control/050_platform.surql"),
        ),
    ],
};

/// Every company database's schema (its secondary indexes are [`TENANT_INDEXES`]).
pub static TENANT: SchemaSet = SchemaSet {
    marker: "current",
    version: 2,
    checksum: OnceLock::new(),
    steps: &[key_events_by_number],
    files: &[
        (
            "010_entities.surql",
            include_str!("../../schema/tenant/010_entities.surql"),
        ),
        ("020_edges.surql", include_str!("../../schema/tenant/020_edges.surql")),
        (
            "030_custom_columns.surql",
            include_str!("../../schema/tenant/030_custom_columns.surql"),
        ),
        ("040_outbox.surql", include_str!("../../schema/tenant/040_outbox.surql")),
        (
            "050_listing.surql",
            include_str!("../../schema/tenant/050_listing.surql"),
        ),
        ("060_search.surql", include_str!("../../schema/tenant/060_search.surql")),
        (
            "070_edge_order.surql",
            include_str!("../../schema/tenant/070_edge_order.surql"),
        ),
    ],
};

/// A company database's secondary indexes, applied once one of its tables has grown to
/// `tenants.index_threshold` records (see `schema/tenant/indexes/010_fields.surql`).
pub static TENANT_INDEXES: SchemaSet = SchemaSet {
    marker: "indexes",
    version: 1,
    checksum: OnceLock::new(),
    steps: &[],
    files: &[
        (
            "indexes/010_fields.surql",
            include_str!("../../schema/tenant/indexes/010_fields.surql"),
        ),
        (
            "indexes/020_listing.surql",
            include_str!("../../schema/tenant/indexes/020_listing.surql"),
        ),
        (
            "indexes/040_search.surql",
            include_str!("../../schema/tenant/indexes/040_search.surql"),
        ),
        (
            "indexes/050_edge_order.surql",
            include_str!("../../schema/tenant/indexes/050_edge_order.surql"),
        ),
    ],
};

impl SchemaSet {
    /// SHA-256 over the file names and statements, in order, without comment lines (hashed once, on first use): a
    /// changed comment does not make every company apply the set again (for the index set, rebuilding its indexes).
    #[must_use]
    pub fn checksum(&self) -> &str {
        self.checksum.get_or_init(|| {
            let mut hasher = Sha256::new();
            for (name, text) in self.files {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                for line in text.lines().filter(|l| !l.trim_start().starts_with("--")) {
                    hasher.update(line.as_bytes());
                    hasher.update([b'\n']);
                }
            }
            hex::encode(hasher.finalize())
        })
    }
}

#[derive(Deserialize)]
struct Applied {
    version: i64,
    checksum: String,
}

const READ_APPLIED: &str = "SELECT version, checksum FROM ONLY type::record('schema_meta', $marker)";
const RECORD_APPLIED: &str = "UPSERT type::record('schema_meta', $marker) \
     SET version = $version, checksum = $checksum, appliedAt = time::now()";

/// Whether the database already carries this schema set (one point read).
pub async fn is_current(db: &Surreal<Any>, set: &SchemaSet) -> StoreResult<bool> {
    let applied: Option<Applied> = one(db, READ_APPLIED, json!({"marker": set.marker})).await?;
    Ok(applied.is_some_and(|a| a.version == set.version && a.checksum == set.checksum()))
}

/// Applies the schema set unless it is already current; returns whether anything was applied.
pub async fn ensure(db: &Surreal<Any>, set: &SchemaSet) -> StoreResult<bool> {
    // A fresh database has no schema_meta table yet; reading it then fails or returns nothing.
    if is_current(db, set).await.unwrap_or(false) {
        return Ok(false);
    }
    for (name, text) in set.files {
        tracing::debug!(file = name, "applying schema");
        // One transaction per file: one commit (one fsync on a durable store) instead of one per statement.
        db.query(format!("BEGIN TRANSACTION;\n{text}\nCOMMIT TRANSACTION;"))
            .await?
            .check()?;
    }
    for step in set.steps {
        step(db).await?;
    }
    run(
        db,
        RECORD_APPLIED,
        json!({"marker": set.marker, "version": set.version, "checksum": set.checksum()}),
    )
    .await?;
    Ok(true)
}

/// Events moved per transaction by [`key_events_by_number`]: an event holds a whole record, which can be large.
const KEY_EVENTS_BATCH: u64 = 100;

/// Moves up to [`KEY_EVENTS_BATCH`] events of a version before 2 (keyed at random, numbered in `seq`, found through
/// the `outbox_seq` index) to the key of their number, in one transaction; returns how many and the last number.
const KEY_EVENTS: &str = "BEGIN TRANSACTION;
LET $rows = SELECT * FROM outbox WHERE seq > $after ORDER BY seq LIMIT $batch;
FOR $row IN $rows {
    CREATE type::record('outbox', $row.seq)
        CONTENT $row.{event, entityId, payload, userId, companyId, createdAt} RETURN NONE;
    DELETE $row.id RETURN NONE;
};
[count($rows), array::last($rows).seq];
COMMIT TRANSACTION;";

/// Tenant schema 2: events of earlier versions get their number as key (`schema/tenant/040_outbox.surql`), a batch
/// per transaction, so an outbox of any size moves without one transaction outgrowing the engine's limits; then the
/// `seq` index goes. Each batch commits on its own, so an interrupted move resumes where it stopped (the set is
/// recorded only after this step). A database without the index (new, or moved already) is left alone: without it,
/// finding the old events would read the whole table.
fn key_events_by_number(db: &Surreal<Any>) -> BoxFuture<'_, StoreResult<()>> {
    Box::pin(async move {
        let info = run(db, "INFO FOR TABLE outbox", json!({}))
            .await?
            .pop()
            .unwrap_or_default();
        if info["indexes"].get("outbox_seq").is_none() {
            return Ok(());
        }
        let mut after = i64::MIN;
        loop {
            let results = run(db, KEY_EVENTS, json!({"after": after, "batch": KEY_EVENTS_BATCH})).await?;
            let moved = results.iter().rev().find(|r| r.is_array()).cloned().unwrap_or_default();
            let (count, last) = (moved[0].as_u64().unwrap_or(0), moved[1].as_i64());
            match last {
                Some(last) if count > 0 => after = last,
                _ => break,
            }
            if count < KEY_EVENTS_BATCH {
                break;
            }
        }
        run(db, "REMOVE INDEX IF EXISTS outbox_seq ON outbox;", json!({})).await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_differ_between_sets_and_are_stable() {
        assert_eq!(CONTROL.checksum(), CONTROL.checksum());
        assert_ne!(CONTROL.checksum(), TENANT.checksum());
        assert_ne!(TENANT.checksum(), TENANT_INDEXES.checksum());
    }

    #[test]
    fn a_changed_comment_leaves_the_checksum_and_a_changed_statement_does_not() {
        let set = |text: &'static str| SchemaSet {
            marker: "m",
            version: 1,
            checksum: OnceLock::new(),
            steps: &[],
            files: Box::leak(Box::new([("a.surql", text)])),
        };
        let base = set("-- why\nDEFINE TABLE t;\n");
        let recommented = set("-- why, said again\n  -- and more\nDEFINE TABLE t;\n");
        let changed = set("-- why\nDEFINE TABLE u;\n");
        assert_eq!(base.checksum(), recommented.checksum());
        assert_ne!(base.checksum(), changed.checksum());
    }

    #[test]
    fn the_base_tenant_schema_defines_only_the_indexes_that_enforce_uniqueness() {
        for (name, text) in TENANT.files {
            for line in text.lines().filter(|l| l.starts_with("DEFINE INDEX")) {
                assert!(line.ends_with("UNIQUE;"), "{name}: {line} belongs in TENANT_INDEXES");
            }
        }
    }
}
