//! Freshness checks of cached queues, gathered per worker thread and read together.
//!
//! A cached queue is served again after one read of its two counters. On SQLite most of that
//! read's cost is opening and closing its read transaction (the shared locks on the WAL index),
//! not the lookup; on PostgreSQL it is the round trip. So the checks that reach one worker in the
//! same turn of its event loop are read together: in one transaction on SQLite, in one statement
//! on PostgreSQL. Each check still reads a snapshot taken after its request arrived, so a change
//! committed before that is never missed.

use std::cell::RefCell;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::error::{ApiError, ApiResult};
use crate::store::{learning, Database};

type Reply = oneshot::Sender<ApiResult<(i64, i64)>>;

/// One worker's checks waiting for the next read. Each worker thread has its own (through its
/// `LearningHandle`), so it is never shared between threads.
#[derive(Default)]
pub struct QueueChecks {
    pending: RefCell<Vec<((String, String), Reply)>>,
}

impl QueueChecks {
    /// The (organization's, learner's) counters, read with the other checks of this turn.
    pub async fn epochs(
        self: Arc<Self>,
        database: Database,
        org_id: String,
        learner_id: String,
    ) -> ApiResult<(i64, i64)> {
        let (reply, answer) = oneshot::channel();
        let first = {
            let mut pending = self.pending.borrow_mut();
            pending.push(((org_id, learner_id), reply));
            pending.len() == 1
        };
        if first {
            tokio::task::spawn_local(async move {
                // Let the requests already woken in this turn add their checks first.
                tokio::task::yield_now().await;
                self.read(&database).await
            });
        }
        answer.await.map_err(|_| {
            ApiError::Internal("a cached queue's freshness check was dropped".into())
        })?
    }

    /// Reads every pending check and answers each.
    async fn read(&self, database: &Database) {
        let (learners, replies): (Vec<_>, Vec<_>) = self.pending.take().into_iter().unzip();
        let read = database
            .quick_read(move |conn| {
                let learners: Vec<(&str, &str)> = learners
                    .iter()
                    .map(|(o, l)| (o.as_str(), l.as_str()))
                    .collect();
                Ok::<_, ApiError>(learning::queue_epochs(conn, &learners)?)
            })
            .await;
        match read {
            Ok(epochs) => replies
                .into_iter()
                .zip(epochs)
                .for_each(|(reply, e)| drop(reply.send(Ok(e)))),
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(match &e {
                        ApiError::Unavailable(why) => ApiError::Unavailable(why.clone()),
                        ApiError::Internal(why) => ApiError::Internal(why.clone()),
                        other => ApiError::Internal(other.to_string()),
                    }));
                }
            }
        }
    }
}
