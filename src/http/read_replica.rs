//! Reads that may come from a PostgreSQL streaming replica: the analytics views and exports.
//!
//! With `REPRISE_READ_DATABASE_URL` set, these reads go to the replica and everything else to the
//! primary. When the replica cannot answer (down, unreachable, or a query cut short by recovery)
//! the primary answers instead and a warning is logged; after a failure the replica rests for
//! [`REPLICA_RETRY_AFTER`] so that requests do not each wait for it. Every answer says where it
//! came from in the `X-Reprise-Read-Source` header.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderName, HeaderValue};
use diesel::connection::SimpleConnection;
use prometheus::IntCounter;

use crate::config::redact_url;
use crate::error::{ApiError, ApiResult};
use crate::store::reader::Reader;
use crate::store::{self, DbPool, ReplicaPool, StoreError};

/// Names the database that answered a replica-eligible read: `replica` or `primary`.
pub static READ_SOURCE: HeaderName = HeaderName::from_static("x-reprise-read-source");

/// How long reads stay on the primary after the replica failed, before it is tried again.
pub const REPLICA_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Which database answered a read: `replica` (the read replica) or `primary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadSource {
    Replica,
    Primary,
}

impl ReadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadSource::Replica => "replica",
            ReadSource::Primary => "primary",
        }
    }

    /// The `X-Reprise-Read-Source` header naming this source.
    pub fn header(self) -> (HeaderName, HeaderValue) {
        (READ_SOURCE.clone(), HeaderValue::from_static(self.as_str()))
    }
}

/// The replica's pool and what is known about its health.
pub struct ReadReplica {
    pool: ReplicaPool,
    /// The URL for logs, password hidden.
    shown_url: String,
    /// While set and in the future, reads skip the replica.
    resting_until: Mutex<Option<Instant>>,
    /// Reads meant for the replica that the primary answered because the replica could not.
    fallbacks: IntCounter,
}

impl ReadReplica {
    /// A replica on `url` with up to `size` connections. Opens nothing yet: the service starts
    /// while the replica is down.
    pub fn new(url: &str, size: u32) -> ReadReplica {
        let shown_url = redact_url(url);
        tracing::info!(url = %shown_url, "analytics views and exports read from a replica");
        ReadReplica {
            pool: store::connect_replica(url, size),
            shown_url,
            resting_until: Mutex::new(None),
            fallbacks: IntCounter::new(
                "reprise_read_replica_fallbacks_total",
                "Reads meant for the read replica that the primary answered because the replica could not",
            )
            .expect("metric name is static and valid"),
        }
    }

    /// The fallback counter, for the metrics registry.
    pub fn fallbacks(&self) -> IntCounter {
        self.fallbacks.clone()
    }

    fn resting(&self) -> bool {
        let until = self.resting_until.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    /// The replica could not answer: log why and rest it.
    fn failed(&self, error: &str) {
        let mut until = self.resting_until.lock().unwrap_or_else(|e| e.into_inner());
        *until = Some(Instant::now() + REPLICA_RETRY_AFTER);
        tracing::warn!(
            replica = %self.shown_url,
            error,
            retry_after_secs = REPLICA_RETRY_AFTER.as_secs(),
            "read replica unavailable; analytics views and exports read from the primary"
        );
    }

    /// The replica answered: if it had failed before, say that it is back.
    fn answered(&self) {
        let mut until = self.resting_until.lock().unwrap_or_else(|e| e.into_inner());
        if until.take().is_some() {
            tracing::info!(replica = %self.shown_url, "read replica answers again");
        }
    }
}

/// Runs the read `f` on the replica when there is one and it answers, else on the primary.
///
/// The primary runs `f` again when the replica has no connection to give within
/// [`store::REPLICA_CONNECT_TIMEOUT`], when `f` fails there with a database error (connection
/// lost, or a query cancelled by recovery), and when `f` finds nothing: a team, pack or
/// assignment created moments ago may not have reached the replica yet. Other errors (forbidden,
/// invalid input) are answered as they are.
pub fn read<T, F>(
    primary: &DbPool,
    replica: Option<&ReadReplica>,
    f: F,
) -> ApiResult<(T, ReadSource)>
where
    F: FnOnce(&mut Reader<'_>) -> ApiResult<T> + Clone,
{
    if let Some(replica) = replica {
        if !replica.resting() {
            match replica.pool.get() {
                Ok(mut conn) => match f.clone()(&mut Reader::new(&mut conn, &replica.pool)) {
                    Ok(value) => {
                        replica.answered();
                        return Ok((value, ReadSource::Replica));
                    }
                    Err(ApiError::NotFound(_) | ApiError::MissingReference(_)) => {}
                    Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => {
                        if conn.batch_execute("SELECT 1").is_err() {
                            replica.failed(&e.to_string());
                        } else {
                            tracing::warn!(
                                replica = %replica.shown_url,
                                error = %e,
                                "a read failed on the replica; the primary answers it"
                            );
                        }
                        replica.fallbacks.inc();
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    replica.failed(&e.to_string());
                    replica.fallbacks.inc();
                }
            }
        } else {
            replica.fallbacks.inc();
        }
    }
    let mut conn = primary.get().map_err(StoreError::from)?;
    f(&mut Reader::new(&mut conn, primary)).map(|value| (value, ReadSource::Primary))
}
