//! The cache of daily queues, served again after they are built.
//!
//! A queue depends only on the database and the learner's local day, and the database counts
//! every change a queue depends on (`queue_epochs`, kept by triggers). So a queue built once is
//! served again, byte for byte, while both counters and the day are unchanged: one indexed read
//! instead of a dozen. Each server keeps its own queues; the counters live in the shared
//! database, so a change made through any server is seen by all of them.

use std::sync::Arc;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use quick_cache::{sync::Cache, Weighter};

use crate::domain::calendar::LocalDay;
use crate::domain::ids::{OrgId, UserId};
use crate::store::enrolments::per_learner_cache;

/// A queue as sent, with what it was built from.
pub struct CachedQueue {
    /// (organization's, learner's) counters read in the snapshot the queue was built from.
    pub epochs: (i64, i64),
    /// The learner's local day the queue is for.
    pub day: LocalDay,
    pub body: Bytes,
    pub etag: String,
}

impl CachedQueue {
    /// Still the queue the learner would get now.
    pub fn is_current(&self, epochs: (i64, i64), now: DateTime<Utc>) -> bool {
        self.epochs == epochs && self.day.start <= now && now < self.day.end
    }
}

#[derive(Clone)]
struct BodySize;

impl Weighter<(String, String), Arc<CachedQueue>> for BodySize {
    fn weight(&self, key: &(String, String), queue: &Arc<CachedQueue>) -> u64 {
        (key.0.len() + key.1.len() + queue.body.len() + queue.etag.len() + 128) as u64
    }
}

/// Queues by (organization, learner), the least used dropped first past `max_bytes`.
pub struct QueueCache(Cache<(String, String), Arc<CachedQueue>, BodySize>);

impl QueueCache {
    /// Expected size of a queue, to size the table up front.
    const TYPICAL_BYTES: usize = 4096;

    pub fn new(max_bytes: usize) -> Self {
        QueueCache(per_learner_cache(max_bytes, Self::TYPICAL_BYTES, BodySize))
    }

    pub fn get(&self, org_id: &OrgId, learner_id: &UserId) -> Option<Arc<CachedQueue>> {
        self.0.get(&(org_id.to_string(), learner_id.to_string()))
    }

    pub fn keep(&self, org_id: &OrgId, learner_id: &UserId, queue: Arc<CachedQueue>) {
        self.0
            .insert((org_id.to_string(), learner_id.to_string()), queue);
    }
}
