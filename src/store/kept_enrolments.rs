//! Learners' enrolments kept while their organization's counter is unchanged.
//!
//! What reaches a learner on a day (their teams, and the running assignments of those teams, of
//! the teams above them, or naming them) changes only with that day and with the organization's
//! `queue_epochs` counter: triggers bump it on every change to teams, memberships, assignments and
//! their named learners. Every answer and every queue build needs the enrolment, and reading it
//! is four queries, two of them over the whole organization; kept, it costs one read of the
//! counter by primary key. The counter lives in the shared database, so a change made through any
//! server reaches every server's next read.

use std::sync::Arc;

use chrono::NaiveDate;
use quick_cache::{sync::Cache, Weighter};

use super::learning::{self, Enrolment};
use super::{DbConnection, StoreResult};

struct Kept {
    /// The organization's counter, read before the enrolment.
    org_epoch: i64,
    day: NaiveDate,
    enrolment: Arc<Enrolment>,
}

#[derive(Clone)]
struct Size;

impl Weighter<(String, String), Arc<Kept>> for Size {
    fn weight(&self, key: &(String, String), kept: &Arc<Kept>) -> u64 {
        let e = &kept.enrolment;
        let teams: usize = e.teams.iter().map(|t| t.len() + 24).sum();
        let assignments: usize = e
            .assignments
            .iter()
            .map(|a| a.id.len() + a.pack_id.len() + 160)
            .sum();
        (key.0.len() + key.1.len() + teams + assignments + 128) as u64
    }
}

/// A cache by (organization, learner) holding at most `max_bytes` as `weighter` counts them, the
/// least used dropped first; its table is sized up front for entries of `typical_bytes`.
pub(crate) fn per_learner_cache<V: Clone, W: Weighter<(String, String), V> + Clone>(
    max_bytes: usize,
    typical_bytes: usize,
    weighter: W,
) -> Cache<(String, String), V, W> {
    Cache::with_weighter(
        (max_bytes / typical_bytes).max(16),
        max_bytes.max(1) as u64,
        weighter,
    )
}

/// Enrolments by (organization, learner), the least used dropped first past `max_bytes`.
pub struct KeptEnrolments(Cache<(String, String), Arc<Kept>, Size>);

impl KeptEnrolments {
    /// Expected size of an enrolment, to size the table up front.
    const TYPICAL_BYTES: usize = 512;

    pub fn new(max_bytes: usize) -> Self {
        KeptEnrolments(per_learner_cache(max_bytes, Self::TYPICAL_BYTES, Size))
    }

    /// The learner's enrolment on `day`. The counter is read before the enrolment, so a change
    /// committed between the two reads only makes a kept enrolment newer than its counter (read
    /// again next time), never older; inside one snapshot the two agree exactly.
    pub fn enrolment(
        &self,
        conn: &mut DbConnection,
        org_id: &str,
        learner_id: &str,
        day: NaiveDate,
    ) -> StoreResult<Arc<Enrolment>> {
        let (org_epoch, _) = learning::queue_epochs(conn, &[(org_id, learner_id)])?[0];
        let key = (org_id.to_string(), learner_id.to_string());
        if let Some(kept) = self.0.get(&key) {
            if kept.org_epoch == org_epoch && kept.day == day {
                return Ok(kept.enrolment.clone());
            }
        }
        let enrolment = Arc::new(learning::enrolment(conn, org_id, learner_id, day)?);
        self.0.insert(
            key,
            Arc::new(Kept {
                org_epoch,
                day,
                enrolment: enrolment.clone(),
            }),
        );
        Ok(enrolment)
    }
}
