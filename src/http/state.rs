//! What every handler shares: the pool(s), token keys, the clock and settings.

use std::sync::Arc;

use actix_web::web;

use crate::auth::jwt::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::store::group_commit::GroupCommit;
use crate::store::{DbConnection, DbPool, StoreError};

pub struct AppState {
    pub pool: DbPool,
    /// SQLite's group commit of answers (`None` on PostgreSQL).
    pub writes: Option<GroupCommit>,
    pub keys: TokenKeys,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    /// Hash verified against when a login names an unknown e-mail (equal timing).
    pub decoy_hash: String,
    pub login_limiter: super::login_limits::LoginLimiter,
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
}
