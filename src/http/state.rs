//! What every handler shares: the pool(s), token keys, the clock and settings.

use std::sync::Arc;

use actix_web::web;

use crate::auth::jwt::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::store::group_commit::GroupCommit;
use crate::store::reader::Reader;
use crate::store::{DbConnection, DbPool, StoreError};

use super::read_replica::{self, ReadReplica, ReadSource};

pub struct AppState {
    pub pool: DbPool,
    /// Where analytics views and exports read (`REPRISE_READ_DATABASE_URL`), if set.
    pub replica: Option<Arc<ReadReplica>>,
    /// SQLite's group commit of answers (`None` on PostgreSQL, so also what tells the engines
    /// apart).
    pub writes: Option<GroupCommit>,
    pub keys: TokenKeys,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    /// Hash verified against when a login names an unknown e-mail (equal timing).
    pub decoy_hash: String,
    pub login_limiter: super::login_limits::LoginLimiter,
    /// Daily queues built by this server, served again while unchanged.
    pub queues: super::learner::kept_queues::KeptQueues,
    /// Learners' enrolments read by this server, used again while unchanged.
    pub enrolments: crate::store::kept_enrolments::KeptEnrolments,
}

impl AppState {
    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(ApiError::from)?
    }

    /// Runs one short indexed read. On SQLite, when a connection is idle, it runs right here on
    /// the worker thread: the page cache answers in microseconds, less than the hop to the
    /// blocking pool and back. Otherwise (PostgreSQL's network round trip, or every SQLite
    /// connection busy) it runs like [`AppState::db`].
    pub async fn quick_read<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        if self.writes.is_some() {
            if let Some(mut conn) = self.pool.try_get() {
                return f(&mut conn);
            }
        }
        self.db(f).await
    }

    /// Runs blocking read-only work of an analytics view or export: on the read replica when one
    /// is configured and answers, else on the primary (see [`read_replica::read`]). `f` may run
    /// twice, once on each, so it must not write.
    pub async fn read_db<T, F>(&self, f: F) -> ApiResult<(T, ReadSource)>
    where
        F: FnOnce(&mut Reader<'_>) -> ApiResult<T> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let replica = self.replica.clone();
        web::block(move || read_replica::read(&pool, replica.as_deref(), f))
            .await
            .map_err(ApiError::from)?
    }
}
