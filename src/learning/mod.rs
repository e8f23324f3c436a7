//! The learner's loop as one service: today's queue, answering (one answer, or a batch synced
//! from a phone that was offline), and what the result shows.
//!
//! [`Learning`] owns what the loop keeps between requests: the queues and enrolments it built
//! (served again while the database's counters say nothing changed) and, on SQLite, the group
//! commit that shares one fsync among concurrent answers. Handlers hold none of it: they parse,
//! call a method here, and render. Each worker thread reaches the service through its own
//! [`LearningHandle`], which adds the queue freshness checks gathered on that thread.
//!
//! The steps themselves are plain functions over a connection (`queue::build`,
//! `answer::apply_with_retry`, `feedback::render`), so the demo generator can replay a history
//! through exactly the same code at simulated times.

pub mod answer;
pub mod feedback;
pub mod pitch_practice;
pub mod planners;
pub mod queue;
pub mod queue_cache;
pub mod queue_checks;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::store::enrolments::EnrolmentCache;
use crate::store::group_commit::GroupCommit;
use crate::store::{self, learning as learning_store, Backend, Database, StoreError};

pub use answer::AnswerRequest;
pub use feedback::{AnswerResult, BatchItem};
pub use queue::Queue;
pub use queue_cache::CachedQueue;
use queue_cache::QueueCache;
use queue_checks::QueueChecks;

/// The learner's loop, shared by every worker of a server.
pub struct Learning {
    database: Database,
    clock: Clock,
    /// SQLite's group commit of answers; PostgreSQL commits its WAL in groups by itself.
    group: Option<GroupCommit>,
    queues: QueueCache,
    enrolments: EnrolmentCache,
}

impl Learning {
    /// Starts the service on `database`, keeping up to `cache_bytes` of queues and enrolments.
    pub fn start(
        database: Database,
        clock: Clock,
        cache_bytes: usize,
    ) -> Result<Learning, StoreError> {
        let group = match database.backend() {
            Backend::Sqlite => Some(GroupCommit::start(database.pool())?),
            Backend::Postgres => None,
        };
        Ok(Learning {
            database,
            clock,
            group,
            // Three quarters of the budget for queues, a quarter for enrolments.
            queues: QueueCache::new(cache_bytes / 4 * 3),
            enrolments: EnrolmentCache::new(cache_bytes / 4),
        })
    }

    /// Grades, schedules and records answers on a connection of this service's database, then
    /// renders each result: one answer (`answers` of one) or a batch in `answered_at` order.
    fn record_all(
        &self,
        conn: &mut store::DbConnection,
        learner: &Caller,
        answers: &[AnswerRequest],
    ) -> ApiResult<Vec<ApiResult<AnswerResult>>> {
        let now = self.clock.now();
        let mut order: Vec<usize> = (0..answers.len()).collect();
        order.sort_by_key(|&i| answers[i].answered_at);
        let mut results: Vec<Option<ApiResult<AnswerResult>>> =
            (0..answers.len()).map(|_| None).collect();
        for i in order {
            let result = answer::apply_with_retry(
                conn,
                self.group.as_ref(),
                &self.enrolments,
                learner,
                &answers[i],
                now,
            )
            .and_then(|applied| feedback::render(conn, learner, applied, now));
            // The database failing ends the whole call: what was recorded stays, and a retry
            // of the same attempt ids replays it.
            if let Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) = result {
                return Err(e);
            }
            results[i] = Some(result);
        }
        Ok(results.into_iter().flatten().collect())
    }
}

impl Learning {
    /// The database the loop runs on.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Who is enrolled in what, cached per learner and day.
    pub fn enrolments(&self) -> &EnrolmentCache {
        &self.enrolments
    }

    /// The service's clock reading.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// A worker thread's way into [`Learning`]: the shared service, and the freshness checks of
/// cached queues gathered on this thread (read together, see [`queue_checks`]).
pub struct LearningHandle {
    learning: Arc<Learning>,
    checks: Arc<QueueChecks>,
}

impl LearningHandle {
    /// A handle for the worker thread that calls this.
    pub fn for_worker(learning: Arc<Learning>) -> LearningHandle {
        LearningHandle {
            learning,
            checks: Arc::default(),
        }
    }

    /// The shared service, for work beside the answer loop (pitches) that reads enrolments.
    pub fn service(&self) -> Arc<Learning> {
        self.learning.clone()
    }

    /// The caller's queue for today, served from the cache while nothing it was built from
    /// has changed.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %learner.org_id, learner = %learner.user_id))]
    pub async fn queue(&self, learner: Caller) -> ApiResult<Arc<CachedQueue>> {
        let service = &self.learning;
        let now = service.clock.now();
        if let Some(cached) = service.queues.get(&learner.org_id, &learner.user_id) {
            let epochs = self
                .checks
                .clone()
                .epochs(
                    service.database.clone(),
                    learner.org_id.to_string(),
                    learner.user_id.to_string(),
                )
                .await?;
            if cached.is_current(epochs, now) {
                return Ok(cached);
            }
        }
        let (org_id, learner_id) = (learner.org_id.clone(), learner.user_id.clone());
        let shared = self.learning.clone();
        let built = service
            .database
            .run(move |conn| {
                store::read_tx(conn, |conn| {
                    // Read in the queue's own snapshot, so the counters cached are the ones it was
                    // built from.
                    let who = (learner.org_id.as_str(), learner.user_id.as_str());
                    let epochs = learning_store::queue_epochs(conn, &[who])?[0];
                    let (day, queue) = queue::build(conn, &shared.enrolments, &learner, now)?;
                    let body = serde_json::to_vec(&queue)
                        .map_err(|e| ApiError::Internal(e.to_string()))?;
                    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
                    Ok::<_, ApiError>(Arc::new(CachedQueue {
                        epochs,
                        day,
                        body: body.into(),
                        etag,
                    }))
                })
            })
            .await?;
        service.queues.keep(&org_id, &learner_id, built.clone());
        Ok(built)
    }

    /// Records one answer (once per `attempt_id`) and returns its result.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %learner.org_id, learner = %learner.user_id, nugget = %answer.nugget_id, attempt = %answer.attempt_id))]
    pub async fn answer(&self, learner: Caller, answer: AnswerRequest) -> ApiResult<AnswerResult> {
        let service = self.learning.clone();
        self.learning
            .database
            .run(move |conn| {
                let mut results = service.record_all(conn, &learner, &[answer])?;
                results.pop().expect("one result per answer")
            })
            .await
    }

    /// Records answers collected offline, in `answered_at` order, each with its own result (or
    /// its own problem): one refused answer does not stop the others.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %learner.org_id, learner = %learner.user_id, answers = answers.len()))]
    pub async fn sync(
        &self,
        learner: Caller,
        answers: Vec<AnswerRequest>,
    ) -> ApiResult<Vec<BatchItem>> {
        let service = self.learning.clone();
        self.learning
            .database
            .run(move |conn| {
                let results = service.record_all(conn, &learner, &answers)?;
                Ok(answers
                    .iter()
                    .zip(results)
                    .map(|(answer, result)| BatchItem::of(answer.attempt_id, result))
                    .collect())
            })
            .await
    }
}
