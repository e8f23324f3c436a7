//! Persistence: one diesel code path over SQLite (embedded default) and PostgreSQL (production).
//!
//! The backend is picked from the database URL. Every function here is synchronous; handlers run
//! them inside `web::block` so database work never blocks the async workers.

pub mod schema;

/// Runs a multi-row `insert_into(..).values(&vec)` on the concrete connection inside the
/// MultiConnection (diesel's multi backend cannot render batch inserts itself).
macro_rules! execute_on_backend {
    ($conn:expr, $query:expr) => {
        match $conn {
            $crate::store::DbConnection::Sqlite(c) => $query.execute(c),
            $crate::store::DbConnection::Pg(c) => $query.execute(c),
        }
    };
}
pub(crate) use execute_on_backend;

pub mod accounts;
pub mod activity;
pub mod analysis;
pub mod analytics;
pub mod assignments;
pub mod bulk;
pub mod content;
pub mod database;
pub mod enrolments;
pub mod group_commit;
pub mod learning;
pub mod model;
pub mod prepared;
pub mod reader;
pub mod recall_weeks;
pub mod replica;
pub mod reviews;
pub mod tokens;
pub mod xapi;

pub use database::Database;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// One connection type for both backends; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

pub type DbPool = Pool<ConnectionManager<DbConnection>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConnection>>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Errors of the storage layer; `error::ApiError` maps them to HTTP problems.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row the write depends on changed, or appeared, since it was read: the whole read and
    /// write may be tried again.
    #[error("changed concurrently: {0}")]
    Concurrent(String),
    /// Database work ended without an answer (the thread running it panicked).
    #[error("database work ended: {0}")]
    Aborted(String),
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    /// Unique-constraint violations become conflicts the caller can explain to the user.
    pub fn unique_as(e: diesel::result::Error, what: &str) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Conflict(what.to_string())
            }
            other => StoreError::from(other),
        }
    }
}

impl StoreError {
    /// A unique-constraint violation on a row this write creates after reading that it was
    /// missing: another write created it first, and the two may be tried again in order.
    pub fn created_concurrently(e: diesel::result::Error, what: &str) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Concurrent(format!("{what} created concurrently"))
            }
            other => StoreError::from(other),
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => StoreError::NotFound,
            other => StoreError::Database(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A new row id: a time-ordered UUID v7, so that B-tree inserts stay local.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Which engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// SQLite durability level for commits. FULL (default) fsyncs the WAL on every commit, so an
/// acknowledged answer survives power loss as well as a process crash; NORMAL survives a process
/// crash only and is faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug)]
struct SqlitePragmas {
    synchronous: SqliteSync,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            let sync = match self.synchronous {
                SqliteSync::Full => "FULL",
                SqliteSync::Normal => "NORMAL",
            };
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY;"
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Turns `sqlite://path` or a plain path into what SQLite opens, creating the parent folder.
fn sqlite_path(url: &str) -> String {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
    path.to_string()
}

/// Builds a pool for `url`. SQLite gets its pragmas on every connection the pool hands out.
pub fn connect(url: &str, max_size: u32, sync: SqliteSync) -> StoreResult<DbPool> {
    let backend = Backend::of_url(url);
    let target = match backend {
        Backend::Sqlite => sqlite_path(url),
        Backend::Postgres => url.to_string(),
    };
    let manager = ConnectionManager::<DbConnection>::new(target);
    let builder = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10));
    let pool = match backend {
        Backend::Sqlite => builder
            .connection_customizer(Box::new(SqlitePragmas { synchronous: sync }))
            .build(manager)?,
        Backend::Postgres => builder.build(manager)?,
    };
    Ok(pool)
}

/// How long a read waits for a replica connection before the primary answers instead.
pub const REPLICA_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens connections to a PostgreSQL read replica as PostgreSQL connections directly, so that a
/// failure reports PostgreSQL's own reason (refused, unknown host, …).
#[derive(Debug)]
pub struct ReplicaManager {
    url: String,
}

impl diesel::r2d2::ManageConnection for ReplicaManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        use diesel::Connection;
        let connected = match Backend::of_url(&self.url) {
            Backend::Postgres => PgConnection::establish(&self.url).map(DbConnection::Pg),
            // Only tests stand a SQLite file in for a replica (settings refuse it).
            Backend::Sqlite => DbConnection::establish(&sqlite_path(&self.url)),
        };
        connected.map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

pub type ReplicaPool = Pool<ReplicaManager>;

/// Builds a pool on a PostgreSQL read replica. Unlike [`connect`] it opens no connection up
/// front, so the service starts while the replica is down, and it waits only
/// [`REPLICA_CONNECT_TIMEOUT`] for one: callers fall back to the primary and log why themselves.
pub fn connect_replica(url: &str, max_size: u32) -> ReplicaPool {
    Pool::builder()
        .max_size(max_size.max(1))
        .min_idle(Some(0))
        .connection_timeout(REPLICA_CONNECT_TIMEOUT)
        .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
        .build_unchecked(ReplicaManager {
            url: url.to_string(),
        })
}

/// Applies the embedded migrations of the connection's backend; returns how many ran.
pub fn migrate(conn: &mut DbConnection) -> StoreResult<usize> {
    let ran = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    ran.map_err(|e| StoreError::Migration(e.to_string()))
}

/// True when the database answers and has no pending migration.
pub fn is_ready(conn: &mut DbConnection) -> bool {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    matches!(pending, Ok(false))
}

/// Opens a transaction with the statement each engine needs.
fn begin_with(conn: &mut DbConnection, sqlite: &str, postgres: &str) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, sqlite),
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, postgres),
    }
}

/// Opens a write transaction: on SQLite `BEGIN IMMEDIATE`, taking the write lock up front.
pub(crate) fn begin_write(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    begin_with(conn, "BEGIN IMMEDIATE", "BEGIN")
}

/// Commits the innermost open transaction (or releases the innermost savepoint).
pub(crate) fn commit(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
        DbConnection::Pg(c) => AnsiTransactionManager::commit_transaction(c),
    }
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write
/// lock up front so that concurrent writers wait on `busy_timeout` instead of failing on a
/// read-to-write upgrade.
pub fn write_tx<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    begin_write(conn)?;
    match f(conn) {
        Ok(value) => {
            if let Err(e) = commit(conn) {
                rollback(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

/// Runs `read`, then `write` with what it read, each engine its cheapest way. `write` must check
/// again whatever it relies on that a concurrent write may have changed, since on SQLite the read
/// snapshot has ended when it runs: there `read` gets a read transaction and `write` joins the
/// next group commit (`group`; its own write transaction without one). On PostgreSQL both run in
/// one write transaction, two round trips fewer than a snapshot of the reads' own.
pub fn read_then_write<P, T, E>(
    conn: &mut DbConnection,
    group: Option<&group_commit::GroupCommit>,
    read: impl FnOnce(&mut DbConnection) -> Result<P, E>,
    write: impl FnOnce(&mut DbConnection, &P) -> Result<T, E> + Send + 'static,
) -> Result<(P, T), E>
where
    P: Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
{
    if matches!(conn, DbConnection::Pg(_)) {
        return write_tx(conn, |conn| {
            let read = read(conn)?;
            write(conn, &read).map(|written| (read, written))
        });
    }
    let read = read_tx(conn, read)?;
    let write = move |conn: &mut DbConnection| write(conn, &read).map(|written| (read, written));
    match group {
        Some(group) => group.run(write),
        None => write_tx(conn, write),
    }
}

/// Runs `f` in one read transaction: a single snapshot for all its queries (on PostgreSQL a
/// read-only REPEATABLE READ transaction, which never fails to serialize; on SQLite one WAL read
/// lock instead of one per statement). It always ends in a rollback.
pub fn read_tx<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    begin_read(conn)?;
    let result = f(conn);
    rollback(conn);
    result
}

/// Opens the transaction of [`read_tx`].
pub(crate) fn begin_read(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    begin_with(
        conn,
        "BEGIN",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    )
}

/// Whether a transaction is open on `conn` (a read that must see one snapshot opens its own only
/// when none is).
pub(crate) fn in_transaction(conn: &mut DbConnection) -> bool {
    let depth = match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
        DbConnection::Pg(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
    };
    !matches!(depth, Ok(None))
}

/// Rolls back the innermost open transaction (or savepoint).
pub(crate) fn roll_back(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConnection::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
    }
}

fn rollback(conn: &mut DbConnection) {
    if let Err(e) = roll_back(conn) {
        tracing::warn!(error = %e, "rollback failed");
    }
}

/// Current UTC time as stored in timestamp columns.
pub fn naive(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    t.naive_utc()
}
