//! Recall weeks kept as snapshots (a recall week: the mean predicted recall of a scope at the end
//! of an ISO week). Tables `recall_weeks`, `recall_weeks_done`, `recall_weeks_stale`: per learner
//! and ended week the summed predicted recall at the week's end, the organization weeks whose
//! rows are complete, and learners whose rows a back-dated answer made untrustworthy.
//!
//! Writers race safely: the background task of several instances, and answers. Rules that keep
//! the rows right whatever the interleaving (see `crate::analytics::recall_weeks::keeper`):
//! - a back-dated answer deletes the learner's rows from the week it changes and marks the
//!   learner stale (in the answer's transaction); readers ignore a stale learner's rows from
//!   that week on;
//! - completing a week only inserts rows for learners that have none for it and are not stale,
//!   so a row written from a fresher read of the log is never overwritten by an older one;
//! - a learner's mark is cleared only by the writer of their recomputed rows, and only if no
//!   answer changed it since that writer read it (`version`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use super::analytics::{for_each_answer, AnswerFact, Filter};
use super::schema::{organizations, recall_weeks, recall_weeks_done, recall_weeks_stale};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::analytics::Mean;
use crate::domain::ids::{OrgId, UserId};
use crate::domain::recall_weeks::recall_at_ends;
use crate::domain::scheduler::ForgettingCurve;

/// Rows per INSERT, well under both engines' bound-parameter limits at six columns.
const CHUNK: usize = 1000;

/// A learner whose snapshots from `from_week` on are stale.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleLearner {
    pub learner_id: String,
    pub from_week: NaiveDate,
    pub version: i32,
}

/// Replays the answer log of `filter` up to the last of `ends` (ascending): each learner's
/// recall summed over their nuggets at every end. What snapshots are made of, and what readers
/// fall back to where there is none.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn sums_from_log(
    conn: &mut DbConnection,
    org_id: &OrgId,
    filter: &Filter,
    ends: &[DateTime<Utc>],
    curve: &ForgettingCurve,
) -> StoreResult<HashMap<String, Vec<Mean>>> {
    let mut sums: HashMap<String, Vec<Mean>> = HashMap::new();
    let Some(last) = ends.last() else {
        return Ok(sums);
    };
    let mut history: Vec<AnswerFact> = Vec::new();
    let mut add = |history: &[AnswerFact]| {
        let learner = sums
            .entry(history[0].learner_id.clone())
            .or_insert_with(|| vec![Mean::default(); ends.len()]);
        let at = |a: &AnswerFact| (a.answered_at, a.stability_after);
        recall_at_ends(curve, history, at, ends, |i, r| learner[i].add(r));
    };
    let until = (*last + Duration::seconds(1)).naive_utc();
    for_each_answer(conn, org_id, filter, until, |a| {
        if history
            .last()
            .is_some_and(|p| p.learner_id != a.learner_id || p.nugget_id != a.nugget_id)
        {
            add(&history);
            history.clear();
        }
        history.push(a);
    })?;
    if !history.is_empty() {
        add(&history);
    }
    Ok(sums)
}

/// Every organization (the task visits each).
pub fn organization_ids(conn: &mut DbConnection) -> StoreResult<Vec<OrgId>> {
    Ok(organizations::table
        .select(organizations::id)
        .order(organizations::id.asc())
        .load::<String>(conn)?
        .into_iter()
        .map(OrgId::from)
        .collect())
}

/// Weeks from `from` on marked complete, with the decay they were computed with.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn done_weeks(
    conn: &mut DbConnection,
    org_id: &OrgId,
    from: NaiveDate,
) -> StoreResult<Vec<(NaiveDate, f64)>> {
    Ok(recall_weeks_done::table
        .filter(recall_weeks_done::org_id.eq(org_id))
        .filter(recall_weeks_done::week_start.ge(from))
        .select((recall_weeks_done::week_start, recall_weeks_done::decay))
        .load(conn)?)
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn stale_learners(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<StaleLearner>> {
    Ok(recall_weeks_stale::table
        .filter(recall_weeks_stale::org_id.eq(org_id))
        .select((
            recall_weeks_stale::learner_id,
            recall_weeks_stale::from_week,
            recall_weeks_stale::version,
        ))
        .load::<(String, NaiveDate, i32)>(conn)?
        .into_iter()
        .map(|(learner_id, from_week, version)| StaleLearner {
            learner_id,
            from_week,
            version,
        })
        .collect())
}

/// Calls `f(learner, week, decay, sum)` for every row of weeks `from..=to`, streaming.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn for_each_row(
    conn: &mut DbConnection,
    org_id: &OrgId,
    from: NaiveDate,
    to: NaiveDate,
    mut f: impl FnMut(String, NaiveDate, f64, Mean),
) -> StoreResult<()> {
    let rows = recall_weeks::table
        .filter(recall_weeks::org_id.eq(org_id))
        .filter(recall_weeks::week_start.between(from, to))
        .select((
            recall_weeks::learner_id,
            recall_weeks::week_start,
            recall_weeks::decay,
            recall_weeks::recall_sum,
            recall_weeks::states,
        ))
        .load_iter::<(String, NaiveDate, f64, f64, i32), DefaultLoadingMode>(conn)?;
    for row in rows {
        let (learner, week, decay, recall_sum, states) = row?;
        f(
            learner,
            week,
            decay,
            Mean {
                sum: recall_sum,
                n: states as u64,
            },
        );
    }
    Ok(())
}

/// Marks a learner's snapshots from `from_week` on stale and deletes them: in the transaction
/// of an answer back-dated into that week. Portable upsert, as the retention roll-up's.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn invalidate(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    from_week: NaiveDate,
) -> StoreResult<()> {
    diesel::delete(
        recall_weeks::table
            .filter(recall_weeks::org_id.eq(org_id))
            .filter(recall_weeks::learner_id.eq(learner_id))
            .filter(recall_weeks::week_start.ge(from_week)),
    )
    .execute(conn)?;
    let key = recall_weeks_stale::table.find((org_id, learner_id));
    let marked: Option<NaiveDate> = key
        .select(recall_weeks_stale::from_week)
        .first(conn)
        .optional()?;
    match marked {
        Some(earlier) => {
            diesel::update(key)
                .set((
                    recall_weeks_stale::from_week.eq(earlier.min(from_week)),
                    recall_weeks_stale::version.eq(recall_weeks_stale::version + 1),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(recall_weeks_stale::table)
                .values((
                    recall_weeks_stale::org_id.eq(org_id),
                    recall_weeks_stale::learner_id.eq(learner_id),
                    recall_weeks_stale::from_week.eq(from_week),
                    recall_weeks_stale::version.eq(0),
                ))
                .execute(conn)
                // Another answer of the learner marked them first: the answer is retried.
                .map_err(|e| StoreError::created_concurrently(e, "recall snapshot mark"))?;
        }
    }
    Ok(())
}

/// Completes one organization week (in the caller's write transaction): drops rows of another
/// curve, inserts `sums` for learners without a row that are not stale from this week or
/// earlier, and marks the week done for `decay`. Safe to repeat.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn complete_week(
    conn: &mut DbConnection,
    org_id: &OrgId,
    week: NaiveDate,
    decay: f64,
    sums: &[(String, Mean)],
) -> StoreResult<()> {
    diesel::delete(
        recall_weeks::table
            .filter(recall_weeks::org_id.eq(org_id))
            .filter(recall_weeks::week_start.eq(week))
            .filter(recall_weeks::decay.ne(decay)),
    )
    .execute(conn)?;
    let present: std::collections::HashSet<String> = recall_weeks::table
        .filter(recall_weeks::org_id.eq(org_id))
        .filter(recall_weeks::week_start.eq(week))
        .select(recall_weeks::learner_id)
        .load::<String>(conn)?
        .into_iter()
        .chain(
            recall_weeks_stale::table
                .filter(recall_weeks_stale::org_id.eq(org_id))
                .filter(recall_weeks_stale::from_week.le(week))
                .select(recall_weeks_stale::learner_id)
                .load::<String>(conn)?,
        )
        .collect();
    let rows: Vec<_> = sums
        .iter()
        .filter(|(learner, _)| !present.contains(learner))
        .map(|(learner, s)| {
            (
                recall_weeks::org_id.eq(org_id),
                recall_weeks::learner_id.eq(learner),
                recall_weeks::week_start.eq(week),
                recall_weeks::decay.eq(decay),
                recall_weeks::recall_sum.eq(s.sum),
                recall_weeks::states.eq(s.n as i32),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_on_backend!(conn, diesel::insert_into(recall_weeks::table).values(chunk))?;
    }
    diesel::delete(recall_weeks_done::table.find((org_id, week))).execute(conn)?;
    diesel::insert_into(recall_weeks_done::table)
        .values((
            recall_weeks_done::org_id.eq(org_id),
            recall_weeks_done::week_start.eq(week),
            recall_weeks_done::decay.eq(decay),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces a stale learner's rows from their mark on with `weeks` (in the caller's write
/// transaction) and clears the mark if it is still the one read. Returns whether it was.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn replace_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    stale: &StaleLearner,
    decay: f64,
    weeks: &[(NaiveDate, Mean)],
) -> StoreResult<bool> {
    let learner = stale.learner_id.as_str();
    diesel::delete(
        recall_weeks::table
            .filter(recall_weeks::org_id.eq(org_id))
            .filter(recall_weeks::learner_id.eq(learner))
            .filter(recall_weeks::week_start.ge(stale.from_week)),
    )
    .execute(conn)?;
    let rows: Vec<_> = weeks
        .iter()
        .map(|(week, s)| {
            (
                recall_weeks::org_id.eq(org_id),
                recall_weeks::learner_id.eq(learner),
                recall_weeks::week_start.eq(*week),
                recall_weeks::decay.eq(decay),
                recall_weeks::recall_sum.eq(s.sum),
                recall_weeks::states.eq(s.n as i32),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_on_backend!(conn, diesel::insert_into(recall_weeks::table).values(chunk))?;
    }
    let cleared = diesel::delete(
        recall_weeks_stale::table
            .find((org_id, learner))
            .filter(recall_weeks_stale::version.eq(stale.version))
            .filter(recall_weeks_stale::from_week.eq(stale.from_week)),
    )
    .execute(conn)?;
    Ok(cleared == 1)
}
