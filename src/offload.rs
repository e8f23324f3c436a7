//! CPU-bound work of a request (argon2 password hashes, FSRS fits) handed to the blocking thread
//! pool, so that the async workers keep serving other requests meanwhile. Database work has its
//! own way there (`store::Database::run`), which also brings a connection.

use crate::error::{ApiError, ApiResult};

/// Runs `f` on the blocking thread pool, inside the caller's tracing span, and waits for its
/// result.
pub async fn cpu<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::Internal(format!("CPU-bound work ended: {e}")))
}
