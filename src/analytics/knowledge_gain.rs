//! Knowledge gain: initial proficiency (the share of first attempts answered right, what
//! learners knew after the training) against proficiency now and the recall predicted
//! [`GAIN_HORIZON_DAYS`] on if nobody practises in between.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::memory::{collect, rows, Acc, GroupBy};
use super::scope::{scope, Narrowing};
use crate::auth::Caller;
use crate::domain::analytics::share;
use crate::error::ApiResult;
use crate::store::analytics::MemoryRead;
use crate::store::reader::Reader;

/// Days ahead knowledge gain predicts recall for, with no practice in between.
pub const GAIN_HORIZON_DAYS: i64 = 30;

#[derive(Serialize, ToSchema)]
pub struct GainGroup {
    pub key: String,
    pub label: String,
    /// Share of first attempts answered right.
    pub initial_proficiency: Option<f64>,
    /// Mean predicted recall now.
    pub proficiency: Option<f64>,
    /// Mean predicted recall 30 days from now with no practice.
    pub predicted_proficiency_30d: Option<f64>,
    /// `proficiency - initial_proficiency`.
    pub knowledge_gain: Option<f64>,
    /// Memory states behind the figures.
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct KnowledgeGain {
    pub at: DateTime<Utc>,
    pub group_by: GroupBy,
    pub overall: GainGroup,
    pub groups: Vec<GainGroup>,
}

fn gain_group(key: String, label: String, acc: Acc) -> GainGroup {
    let initial = acc.first.value();
    let now = acc.now.value();
    GainGroup {
        key,
        label,
        initial_proficiency: share(initial),
        proficiency: share(now),
        predicted_proficiency_30d: share(acc.later.value()),
        knowledge_gain: share(now.zip(initial).map(|(n, i)| n - i)),
        n: acc.now.n,
    }
}

/// Knowledge gain per group of `group_by`, over the caller's scope narrowed by `narrowing` and
/// `topic`.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "knowledge-gain"))]
pub fn knowledge_gain(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    group_by: GroupBy,
    topic: Option<&str>,
) -> ApiResult<KnowledgeGain> {
    let s = scope(reader, caller, now, narrowing)?;
    let horizon = Duration::days(GAIN_HORIZON_DAYS);
    let reads = MemoryRead::WithFirstAttempt;
    let sums = collect(reader, &caller.org_id, &s, group_by, topic, horizon, reads)?;
    let (overall, groups) = rows(sums, gain_group);
    Ok(KnowledgeGain {
        at: s.now,
        group_by,
        overall,
        groups,
    })
}
