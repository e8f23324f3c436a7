//! Proficiency: the mean predicted recall now (FSRS retrievability) of the learner × nugget
//! memory states in scope, per learner, team, pack or topic.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::memory::{collect, rows, GroupBy};
use super::scope::{scope, Narrowing};
use crate::auth::Caller;
use crate::domain::analytics::share;
use crate::error::ApiResult;
use crate::store::analytics::MemoryRead;
use crate::store::reader::Reader;

#[derive(Serialize, ToSchema)]
pub struct ProficiencyGroup {
    /// Learner or team id, pack slug, or topic.
    pub key: String,
    pub label: String,
    /// Mean predicted recall now, 0..=1.
    pub proficiency: Option<f64>,
    /// Learner × nugget memory states behind the value.
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ProficiencyReport {
    /// The instant recall is predicted for.
    pub at: DateTime<Utc>,
    pub group_by: GroupBy,
    /// Every state in scope together.
    pub overall: ProficiencyGroup,
    /// In label order.
    pub groups: Vec<ProficiencyGroup>,
}

/// Proficiency per group of `group_by`, over the caller's scope narrowed by `narrowing` and
/// `topic`.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "proficiency"))]
pub fn proficiency(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    group_by: GroupBy,
    topic: Option<&str>,
) -> ApiResult<ProficiencyReport> {
    let s = scope(reader, caller, now, narrowing)?;
    let org = &caller.org_id;
    let sums = collect(
        reader,
        org,
        &s,
        group_by,
        topic,
        Duration::zero(),
        MemoryRead::Recall,
    )?;
    let (overall, groups) = rows(sums, |key, label, acc| ProficiencyGroup {
        key,
        label,
        proficiency: share(acc.now.value()),
        n: acc.now.n,
    });
    Ok(ProficiencyReport {
        at: s.now,
        group_by,
        overall,
        groups,
    })
}
