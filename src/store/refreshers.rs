//! Refreshers and their learner × nugget items; the memory states they make due; the answers
//! that settle them.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{memory_states, nuggets, refresher_items, refreshers, reviews, users};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::ids::{NuggetId, OrgId, RefresherId, UserId};
use crate::domain::scheduler::CardStatus;

/// A refresher as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refreshers)]
pub struct RefresherRow {
    pub org_id: String,
    pub id: String,
    pub created_by: String,
    pub team_id: Option<String>,
    pub topic: Option<String>,
    pub days: i32,
    pub created_at: NaiveDateTime,
}

/// One learner × nugget of a refresher.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresher_items)]
pub struct ItemRow {
    pub org_id: String,
    pub refresher_id: String,
    pub learner_id: String,
    pub nugget_id: String,
    pub assignment_id: String,
    pub planned_on: NaiveDate,
}

/// Stores a refresher with its items.
pub fn create(
    conn: &mut DbConnection,
    refresher: &RefresherRow,
    items: &[ItemRow],
) -> StoreResult<()> {
    diesel::insert_into(refreshers::table)
        .values(refresher)
        .execute(conn)?;
    for chunk in items.chunks(500) {
        execute_on_backend!(
            conn,
            diesel::insert_into(refresher_items::table).values(chunk)
        )?;
    }
    Ok(())
}

/// Makes a learner's nugget due at `due` (a mastered one comes back as a review), unless a
/// concurrent answer moved its state since it was read with `reps`.
#[allow(clippy::too_many_arguments)]
pub fn make_due(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    nugget_id: &NuggetId,
    reps: u32,
    status: CardStatus,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let n = diesel::update(
        memory_states::table
            .filter(memory_states::org_id.eq(org_id))
            .filter(memory_states::learner_id.eq(learner_id))
            .filter(memory_states::nugget_id.eq(nugget_id))
            .filter(memory_states::reps.eq(reps as i32)),
    )
    .set((
        memory_states::status.eq(status.as_str()),
        memory_states::due_at.eq(due.naive_utc()),
        memory_states::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(StoreError::Concurrent(
            "a learner answered while the refresher was being planned".into(),
        ));
    }
    Ok(())
}

/// Which of `ids` are nuggets of the organization.
pub fn existing_nuggets(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[&str],
) -> StoreResult<HashSet<String>> {
    Ok(nuggets::table
        .filter(nuggets::org_id.eq(org_id))
        .filter(nuggets::id.eq_any(ids))
        .select(nuggets::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// Which of `ids` are active users.
pub fn active_users(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[UserId],
) -> StoreResult<HashSet<String>> {
    let texts: Vec<&str> = ids.iter().map(UserId::as_str).collect();
    let mut out = HashSet::new();
    for slice in texts.chunks(500) {
        out.extend(
            users::table
                .filter(users::org_id.eq(org_id))
                .filter(users::id.eq_any(slice))
                .filter(users::active.eq(true))
                .select(users::id)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

/// The organization's refreshers (only `created_by`'s when given), newest first, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    org_id: &OrgId,
    created_by: Option<&UserId>,
    limit: i64,
) -> StoreResult<Vec<RefresherRow>> {
    let mut q = refreshers::table
        .filter(refreshers::org_id.eq(org_id))
        .into_boxed();
    if let Some(by) = created_by {
        q = q.filter(refreshers::created_by.eq(by.as_str()));
    }
    Ok(
        q.order((refreshers::created_at.desc(), refreshers::id.desc()))
            .limit(limit)
            .select(RefresherRow::as_select())
            .load(conn)?,
    )
}

pub fn get(conn: &mut DbConnection, org_id: &OrgId, id: &RefresherId) -> StoreResult<RefresherRow> {
    Ok(refreshers::table
        .find((org_id, id))
        .select(RefresherRow::as_select())
        .first(conn)?)
}

/// The items of these refreshers.
pub fn items(conn: &mut DbConnection, org_id: &OrgId, ids: &[&str]) -> StoreResult<Vec<ItemRow>> {
    Ok(refresher_items::table
        .filter(refresher_items::org_id.eq(org_id))
        .filter(refresher_items::refresher_id.eq_any(ids))
        .order((
            refresher_items::planned_on.asc(),
            refresher_items::learner_id.asc(),
            refresher_items::nugget_id.asc(),
        ))
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// A counted answer that may settle an item.
pub struct Settling {
    pub learner_id: String,
    pub nugget_id: String,
    pub answered_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub correct: bool,
}

/// Counted answers of `learners` to `nuggets` received from `since` on.
pub fn answers_since(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learners: &[&str],
    nuggets: &[&str],
    since: DateTime<Utc>,
) -> StoreResult<Vec<Settling>> {
    let mut out = Vec::new();
    for slice in learners.chunks(500) {
        let rows: Vec<(String, String, NaiveDateTime, NaiveDateTime, bool)> = reviews::table
            .filter(reviews::org_id.eq(org_id))
            .filter(reviews::learner_id.eq_any(slice))
            .filter(reviews::nugget_id.eq_any(nuggets))
            .filter(reviews::received_at.ge(since.naive_utc()))
            .filter(reviews::practice.is_null())
            .select((
                reviews::learner_id,
                reviews::nugget_id,
                reviews::answered_at,
                reviews::received_at,
                reviews::correct,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(l, n, a, r, c)| Settling {
            learner_id: l,
            nugget_id: n,
            answered_at: a.and_utc(),
            received_at: r.and_utc(),
            correct: c,
        }));
    }
    Ok(out)
}
