//! Trends per team and ISO week (UTC): answers and correct rate from the weekly roll-up, and
//! proficiency at the week's end: the recall weeks ([`super::recall_weeks`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::recall_weeks;
use super::scope::{scope, Narrowing};
use super::weekly::{groups, learners_in_scope, tallies, weeks, WeeklyGroup};
use crate::auth::Caller;
use crate::domain::analytics::{iso_week_label, share};
use crate::error::ApiResult;
use crate::store::activity::{self, WeekDetail};
use crate::store::reader::Reader;

#[derive(Serialize, ToSchema)]
pub struct TrendWeek {
    #[serde(flatten)]
    pub group: WeeklyGroup,
    pub week: String,
    pub week_start: NaiveDate,
    /// Answers given during the week.
    pub answers: u64,
    /// Share of the week's answers that were right.
    pub correct_rate: Option<f64>,
    /// Mean predicted recall at the week's end (now for the current week) over every
    /// learner × nugget answered by then, from the last answer before it.
    pub proficiency: Option<f64>,
    /// Memory states behind `proficiency`.
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Trends {
    pub at: DateTime<Utc>,
    /// One row per group and week: teams in name order, then everyone in scope; oldest week
    /// first.
    pub rows: Vec<TrendWeek>,
}

/// Trends over the `count` weeks ending with the current one, in the caller's scope (narrowed
/// to a team by `narrowing`).
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "trends"))]
pub fn trends(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    count: u32,
) -> ApiResult<Trends> {
    let s = scope(reader, caller, now, narrowing)?;
    let org = &caller.org_id;
    let w = weeks(s.now, count);
    let groups = groups(&s);
    let learners = learners_in_scope(&s);
    // Answers and correct rate: from the weekly roll-up.
    let answers = tallies(
        &activity::weeks_since(reader, org, w.starts[0], WeekDetail::Totals)?,
        &learners,
        &w,
    );
    let recall = recall_weeks::means(reader, org, &s, &w, &learners)?;
    let mut rows = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for (i, start) in w.starts.iter().enumerate() {
            let a = answers.get(&(g, i)).copied().unwrap_or_default();
            let r = recall.get(&(g, i)).copied().unwrap_or_default();
            rows.push(TrendWeek {
                group: group.clone(),
                week: iso_week_label(*start),
                week_start: *start,
                answers: a.answers,
                correct_rate: share((a.answers > 0).then(|| a.correct as f64 / a.answers as f64)),
                proficiency: share(r.value()),
                n: r.n,
            });
        }
    }
    Ok(Trends { at: s.now, rows })
}
