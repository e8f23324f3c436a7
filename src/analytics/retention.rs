//! The retention curve: observed recall against the model's prediction by time since the
//! previous answer to the same nugget, which shows whether the model's predictions hold for
//! the organization.
//!
//! The whole organization is read from a roll-up kept as answers are recorded (predictions with
//! the parameters in force then); a team scope is computed from its own answers.

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::{scope, Narrowing};
use crate::auth::Caller;
use crate::domain::analytics::{bucket_of, share, RetentionTally, RETENTION_BUCKETS};
use crate::error::ApiResult;
use crate::store::analytics::{for_each_repeat, retention_rollup};
use crate::store::reader::Reader;

#[derive(Serialize, ToSchema)]
pub struct RetentionPoint {
    /// Days since the previous answer: `from_days` ≤ d < `to_days`.
    pub label: String,
    pub from_days: f64,
    /// Null for the open last bucket.
    pub to_days: Option<f64>,
    /// Answers in the bucket.
    pub n: u64,
    /// Share answered right.
    pub observed_recall: Option<f64>,
    /// The model's mean predicted recall for those answers, at the time they were given.
    pub predicted_recall: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionCurve {
    pub pack: Option<String>,
    pub buckets: Vec<RetentionPoint>,
}

/// The curve of the caller's scope narrowed by `narrowing` (a team, a pack).
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "retention-curve"))]
pub fn retention_curve(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
) -> ApiResult<RetentionCurve> {
    let s = scope(reader, caller, now, narrowing)?;
    let org = &caller.org_id;
    let tallies: HashMap<usize, RetentionTally> = if s.whole_org() {
        retention_rollup(reader, org, s.filter.pack_id.as_deref())?
    } else {
        let mut t: HashMap<usize, RetentionTally> = HashMap::new();
        for_each_repeat(reader, org, &s.filter, |elapsed, stability, correct| {
            t.entry(bucket_of(elapsed))
                .or_default()
                .add(correct, s.curve.recall(stability, elapsed));
        })?;
        t
    };
    Ok(RetentionCurve {
        pack: narrowing.pack.clone(),
        buckets: RETENTION_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let t = tallies.get(&i).copied().unwrap_or_default();
                RetentionPoint {
                    label: b.label.to_string(),
                    from_days: b.from_days,
                    to_days: b.to_days,
                    n: t.reviews,
                    observed_recall: share(t.observed()),
                    predicted_recall: share(t.predicted()),
                }
            })
            .collect(),
    })
}
