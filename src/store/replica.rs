//! Reads that may come from a PostgreSQL streaming replica: the analytics views and exports.
//!
//! With `REPRISE_READ_DATABASE_URL` set, these reads go to the replica and everything else to the
//! primary. When the replica cannot answer (down, unreachable, or a query cut short by recovery)
//! the primary answers instead and a warning is logged; after a failure the replica rests for
//! [`REPLICA_RETRY_AFTER`] so that requests do not each wait for it. Every read says which
//! database answered ([`ReadSource`]), which the API shows in a response header.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use prometheus::IntCounter;

use super::reader::Reader;
use super::{DbPool, ReplicaPool, StoreError};

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
}

/// What a read that failed on the replica means for the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaFailure {
    /// It found nothing: a team, pack or assignment created moments ago may not have reached
    /// the replica yet, so the primary reads again.
    Missing,
    /// The database failed (connection lost, query cancelled by recovery): the primary reads
    /// again, and the replica rests if it no longer answers at all.
    Database,
    /// Anything else (forbidden, invalid input) is the answer, wherever it is read.
    Final,
}

/// The errors of reads that may run on the replica: they tell [`read`] whether the primary
/// should try again.
pub trait ReadError: From<StoreError> + std::fmt::Display {
    fn on_replica(&self) -> ReplicaFailure;
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
    /// A replica on `url` (shown in logs as `shown_url`, its password hidden) with up to `size`
    /// connections. Opens nothing yet: the service starts while the replica is down.
    pub fn new(url: &str, shown_url: String, size: u32) -> ReadReplica {
        tracing::info!(url = %shown_url, "analytics views and exports read from a replica");
        ReadReplica {
            pool: super::connect_replica(url, size),
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
/// [`super::REPLICA_CONNECT_TIMEOUT`], when `f` fails there with a database error (connection
/// lost, or a query cancelled by recovery), and when `f` finds nothing: a team, pack or
/// assignment created moments ago may not have reached the replica yet. Other errors (forbidden,
/// invalid input) are answered as they are.
pub fn read<T, E, F>(
    primary: &DbPool,
    replica: Option<&ReadReplica>,
    f: F,
) -> Result<(T, ReadSource), E>
where
    E: ReadError,
    F: FnOnce(&mut Reader<'_>) -> Result<T, E> + Clone,
{
    if let Some(replica) = replica {
        if !replica.resting() {
            match replica.pool.get() {
                Ok(mut conn) => match f.clone()(&mut Reader::new(&mut conn, &replica.pool)) {
                    Ok(value) => {
                        replica.answered();
                        return Ok((value, ReadSource::Replica));
                    }
                    Err(e) => match e.on_replica() {
                        ReplicaFailure::Missing => {}
                        ReplicaFailure::Database => {
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
                        ReplicaFailure::Final => return Err(e),
                    },
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

/// Runs `f` on the database an earlier read of the same work came from, so that a read in
/// parts (an export's pages) stays on one: after the replica, the replica again (the primary
/// answering should it fail); after the primary, the primary.
pub fn read_again<T, E, F>(
    primary: &DbPool,
    replica: Option<&ReadReplica>,
    source: ReadSource,
    f: F,
) -> Result<T, E>
where
    E: ReadError,
    F: FnOnce(&mut Reader<'_>) -> Result<T, E> + Clone,
{
    match (source, replica) {
        (ReadSource::Replica, Some(replica)) => read(primary, Some(replica), f).map(|(v, _)| v),
        _ => f(&mut Reader::alone(
            &mut *primary.get().map_err(StoreError::from)?,
        )),
    }
}
