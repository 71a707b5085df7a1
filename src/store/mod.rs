//! Storage: one SurrealDB namespace, a `control` database, one database per company.
//!
//! SurrealQL lives only under `store/`, as constant strings with bound `$params`.

pub mod control;
pub mod migrate;

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::QueryError;

use crate::config::DatabaseSettings;
use crate::error::{Code, ErrorCode};

/// Name of the database holding companies, users, roles and API keys.
pub const CONTROL_DB: &str = "control";

/// How often the embedded engine collects changefeed data (see [`Store::connect`]).
const CHANGEFEED_GC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// A failure talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine reported an error.
    #[error("database error: {0}")]
    Db(surrealdb::Error),
    /// The database returned data of an unexpected shape.
    #[error("unexpected data from the database: {0}")]
    Decode(#[from] serde_json::Error),
    /// A unique index refused the write.
    #[error("a record with this value already exists")]
    Duplicate,
    /// Another transaction wrote the same data first; nothing of this one was kept.
    #[error("write conflict: {0}")]
    Conflict(surrealdb::Error),
}

impl ErrorCode for StoreError {
    fn code(&self) -> Code {
        match self {
            Self::Conflict(_) => Code::WriteConflict,
            _ => Code::Internal,
        }
    }
    fn client_message(&self) -> String {
        match self {
            Self::Conflict(_) => {
                "Another change to the same data was saved at the same moment; nothing of this request was saved."
                    .to_owned()
            }
            _ => "The server could not complete the request.".to_owned(),
        }
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The connected engine: a session on the control database plus the means to open company databases.
#[derive(Clone)]
pub struct Store {
    control: Surreal<Any>,
    namespace: String,
}

impl Store {
    /// Connects to `database.url` (`mem://`, `surrealkv://`, `ws://`, `wss://` — one code path),
    /// signs in for remote engines and applies the control schema.
    pub async fn connect(settings: &DatabaseSettings) -> StoreResult<Self> {
        // No table defines a CHANGEFEED, so the embedded engine's changefeed collection (by default a pass over
        // every table of every database each 30 s, which grows with the number of companies) has nothing to do.
        let config = surrealdb::opt::Config::new().changefeed_gc_interval(CHANGEFEED_GC_INTERVAL);
        let control = surrealdb::engine::any::connect((settings.url.as_str(), config)).await?;
        let remote = settings.url.starts_with("ws://") || settings.url.starts_with("wss://");
        if remote && !settings.username.is_empty() {
            control
                .signin(surrealdb::opt::auth::Root {
                    username: settings.username.clone(),
                    password: settings.password.expose_secret().to_owned(),
                })
                .await?;
        }
        control
            .query(format!(
                "DEFINE NAMESPACE IF NOT EXISTS `{}`",
                settings.namespace.replace('`', "")
            ))
            .await?
            .check()?;
        control.use_ns(settings.namespace.clone()).await?;
        control
            .query(format!("DEFINE DATABASE IF NOT EXISTS {CONTROL_DB}"))
            .await?
            .check()?;
        control.use_db(CONTROL_DB).await?;
        migrate::ensure(&control, &migrate::CONTROL).await?;
        Ok(Self {
            control,
            namespace: settings.namespace.clone(),
        })
    }

    /// The session on the control database.
    #[must_use]
    pub fn control(&self) -> &Surreal<Any> {
        &self.control
    }

    /// Creates a company's database if it does not exist. `name` comes from [`crate::domain::company::database_name`].
    pub async fn create_tenant_db(&self, name: &str) -> StoreResult<()> {
        debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.control
            .query(format!("DEFINE DATABASE IF NOT EXISTS {name}"))
            .await?
            .check()?;
        Ok(())
    }

    /// Removes a company's database and everything in it.
    pub async fn remove_tenant_db(&self, name: &str) -> StoreResult<()> {
        debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.control
            .query(format!("REMOVE DATABASE IF EXISTS {name}"))
            .await?
            .check()?;
        Ok(())
    }

    /// Opens an independent session on a company's database and brings its schema up to date.
    /// The session can only reach that database: this is what isolates companies.
    pub async fn open_tenant(&self, name: &str) -> StoreResult<Surreal<Any>> {
        let session = self.control.clone();
        session.use_ns(self.namespace.clone()).use_db(name.to_owned()).await?;
        migrate::ensure(&session, &migrate::TENANT).await?;
        Ok(session)
    }

    /// Whether the control database answers and carries the current schema.
    pub async fn ready(&self) -> bool {
        migrate::is_current(&self.control, &migrate::CONTROL)
            .await
            .unwrap_or(false)
    }
}

/// Something queries can run on: a session, or an open transaction of one.
pub trait Db {
    /// Starts a query.
    fn sql<'a>(&'a self, sql: &'a str) -> surrealdb::method::Query<'a, Any>;
}

impl Db for Surreal<Any> {
    fn sql<'a>(&'a self, sql: &'a str) -> surrealdb::method::Query<'a, Any> {
        self.query(sql)
    }
}

impl Db for surrealdb::method::Transaction<Any> {
    fn sql<'a>(&'a self, sql: &'a str) -> surrealdb::method::Query<'a, Any> {
        self.query(sql)
    }
}

/// Runs one query with bound variables and returns every statement's result as JSON, in order.
/// When a statement fails, the error reported is the one that caused the failure, not the
/// "not executed" of the statements a failed transaction skipped.
pub async fn run(db: &impl Db, sql: &str, vars: impl surrealdb::types::SurrealValue) -> StoreResult<Vec<Value>> {
    let mut response = db.sql(sql).bind(vars).await?;
    let mut errors: Vec<(usize, surrealdb::Error)> = response.take_errors().into_iter().collect();
    if !errors.is_empty() {
        errors.sort_by_key(|(index, _)| *index);
        let skipped =
            |e: &surrealdb::Error| matches!(e.query_details(), Some(QueryError::NotExecuted | QueryError::Cancelled));
        let position = errors.iter().position(|(_, e)| !skipped(e)).unwrap_or(0);
        return Err(classify(errors.swap_remove(position).1));
    }
    let count = response.num_statements();
    let mut results = Vec::with_capacity(count);
    for index in 0..count {
        results.push(response.take::<surrealdb::types::Value>(index)?.into_json_value());
    }
    Ok(results)
}

/// Runs a query whose last statement returns rows, and decodes them.
pub async fn rows<T: DeserializeOwned>(db: &impl Db, sql: &str, vars: Value) -> StoreResult<Vec<T>> {
    let last = run(db, sql, vars).await?.pop().unwrap_or(Value::Null);
    Ok(match last {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()?,
        one => vec![serde_json::from_value(one)?],
    })
}

/// Runs a query whose last statement returns at most one row.
pub async fn one<T: DeserializeOwned>(db: &impl Db, sql: &str, vars: Value) -> StoreResult<Option<T>> {
    Ok(rows(db, sql, vars).await?.into_iter().next())
}

impl From<surrealdb::Error> for StoreError {
    fn from(error: surrealdb::Error) -> Self {
        classify(error)
    }
}

/// Tells unique-index violations and write conflicts apart from other engine errors.
fn classify(error: surrealdb::Error) -> StoreError {
    if error.is_already_exists() || (error.is_internal() && error.message().contains("already contains")) {
        StoreError::Duplicate
    } else if matches!(
        error.query_details(),
        Some(surrealdb::types::QueryError::TransactionConflict)
    ) || error.message().contains("Transaction conflict")
    {
        StoreError::Conflict(error)
    } else {
        StoreError::Db(error)
    }
}

#[cfg(test)]
mod classify_tests {
    use super::{StoreError, classify};
    use crate::error::{Code, ErrorCode};

    /// A write conflict is the caller's to retry (409 `write_conflict`), not an internal error.
    #[test]
    fn write_conflicts_are_told_apart_from_other_engine_errors() {
        // As the engine reports it: a query error of kind TransactionConflict.
        let conflict = surrealdb::Error::query(
            "Write conflict, retry the transaction".into(),
            Some(surrealdb::types::QueryError::TransactionConflict),
        );
        let other = surrealdb::Error::internal("Could not cast into `datetime`".into());
        assert!(matches!(classify(conflict), StoreError::Conflict(_)));
        let other = classify(other);
        assert!(matches!(other, StoreError::Db(_)));
        assert_eq!(other.code(), Code::Internal);
        // A failed commit, reported by its text.
        let conflict = classify(surrealdb::Error::internal(
            "Cannot COMMIT: Transaction conflict: Write conflict".into(),
        ));
        assert_eq!(conflict.code(), Code::WriteConflict);
        assert_eq!(conflict.code().status(), 409);
    }
}
