//! `Database`: the pool with the engine it runs on, and the one place async code hands blocking
//! database work to a thread.
//!
//! Diesel is synchronous, so every query from a request runs on the blocking thread pool. Which
//! engine is behind the pool decides a few things above the store (whether a short read may run
//! on the calling thread, whether answers share a group commit); they ask [`Database::backend`],
//! never a stand-in such as "is there a group commit".

use super::{Backend, DbConnection, DbPool, StoreError};

#[derive(Clone)]
pub struct Database {
    pool: DbPool,
    backend: Backend,
}

impl Database {
    pub fn new(pool: DbPool, backend: Backend) -> Database {
        Database { pool, backend }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, inside the caller's
    /// tracing span, so that what `f` logs names the request it works for.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in_span = span.enter();
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(StoreError::Aborted(e.to_string())))?
    }

    /// Runs one short indexed read. On SQLite, when a connection is idle, it runs right here on
    /// the calling thread: the page cache answers in microseconds, less than the hop to the
    /// blocking pool and back. Otherwise (PostgreSQL's network round trip, or every SQLite
    /// connection busy) it runs like [`Database::run`].
    pub async fn quick_read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            if let Some(mut conn) = self.pool.try_get() {
                return f(&mut conn);
            }
        }
        self.run(f).await
    }
}
