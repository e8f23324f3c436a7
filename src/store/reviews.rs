//! The immutable answer log.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{reviews, team_members};
use super::{DbConnection, StoreError, StoreResult};

/// One stored answer.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews)]
pub struct ReviewRow {
    pub org_id: String,
    pub id: String,
    pub learner_id: String,
    pub nugget_id: String,
    pub pack_version_id: String,
    pub assignment_id: String,
    pub attempt_id: String,
    pub request_hash: String,
    pub selected: String,
    pub correct: bool,
    pub partial_credit: f64,
    pub response_ms: i32,
    pub confidence: Option<String>,
    pub rating: i32,
    pub client_answered_at: NaiveDateTime,
    pub answered_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub clock_flag: Option<String>,
    pub elapsed_days: Option<f64>,
    pub stability_before: Option<f64>,
    pub difficulty_before: Option<f64>,
    pub stability_after: f64,
    pub difficulty_after: f64,
    pub status_after: String,
    pub due_after: Option<NaiveDateTime>,
}

/// Inserts an answer; a known attempt id is a `Conflict` (the caller replays the stored one).
pub fn insert(conn: &mut DbConnection, row: &ReviewRow) -> StoreResult<()> {
    diesel::insert_into(reviews::table)
        .values(row)
        .execute(conn)
        .map_err(|e| StoreError::unique_as(e, "attempt already recorded"))?;
    Ok(())
}

pub fn by_attempt(
    conn: &mut DbConnection,
    org_id: &str,
    learner_id: &str,
    attempt_id: &str,
) -> StoreResult<Option<ReviewRow>> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq(learner_id))
        .filter(reviews::attempt_id.eq(attempt_id))
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?)
}

/// How often each option was chosen for a nugget (by members of `team_ids` when given), and
/// how many answers that counts.
pub fn option_counts(
    conn: &mut DbConnection,
    org_id: &str,
    nugget_id: &str,
    team_ids: Option<&[String]>,
) -> StoreResult<(Vec<(String, usize)>, usize)> {
    let mut q = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::nugget_id.eq(nugget_id))
        .select(reviews::selected)
        .into_boxed();
    if let Some(teams) = team_ids {
        let members = team_members::table
            .filter(team_members::org_id.eq(org_id))
            .filter(team_members::team_id.eq_any(teams.to_vec()))
            .select(team_members::user_id);
        q = q.filter(reviews::learner_id.eq_any(members));
    }
    let rows: Vec<String> = q.load(conn)?;
    let mut counts: Vec<(String, usize)> = Vec::new();
    for selected in &rows {
        for id in serde_json::from_str::<Vec<String>>(selected).unwrap_or_default() {
            match counts.iter_mut().find(|(o, _)| *o == id) {
                Some((_, n)) => *n += 1,
                None => counts.push((id, 1)),
            }
        }
    }
    Ok((counts, rows.len()))
}

/// Every answer of a learner answered in `[from, to)`, oldest first.
pub fn learner_answers(
    conn: &mut DbConnection,
    org_id: &str,
    learner_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<(NaiveDateTime, bool)>> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq(learner_id))
        .filter(reviews::answered_at.ge(from.naive_utc()))
        .filter(reviews::answered_at.lt(to.naive_utc()))
        .order(reviews::answered_at.asc())
        .select((reviews::answered_at, reviews::correct))
        .load(conn)?)
}
