//! The learner's side: which assignments reach them, memory states, and the immutable answer log.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{
    memory_states, nuggets, organizations, packs, pauses, planner_estimates, queue_epochs, reviews,
    users,
};
use super::{prepared, DbConnection, StoreError, StoreResult};
use crate::domain::ids::{AssignmentId, NuggetId, OrgId, PackId, PackVersionId, UserId};
use crate::domain::scheduler::{CardState, CardStatus, MemoryState};

/// A stored memory state with what it belongs to.
#[derive(Debug, Clone)]
pub struct StoredState {
    pub nugget_id: NuggetId,
    pub pack_version_id: PackVersionId,
    pub assignment_id: AssignmentId,
    pub card: CardState,
    pub first_correct: Option<bool>,
    pub first_answered_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = memory_states)]
struct StateRow {
    nugget_id: String,
    pack_version_id: String,
    assignment_id: String,
    status: String,
    stability: Option<f64>,
    difficulty: Option<f64>,
    reps: i32,
    lapses: i32,
    correct_streak: i32,
    first_correct: Option<bool>,
    first_answered_at: Option<NaiveDateTime>,
    last_review_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
}

impl From<StateRow> for StoredState {
    fn from(r: StateRow) -> Self {
        StoredState {
            card: CardState {
                memory: r
                    .stability
                    .zip(r.difficulty)
                    .map(|(stability, difficulty)| MemoryState {
                        stability,
                        difficulty,
                    }),
                status: CardStatus::parse(&r.status).unwrap_or(CardStatus::New),
                reps: r.reps as u32,
                lapses: r.lapses as u32,
                last_review: r.last_review_at.map(|t| t.and_utc()),
                due: r.due_at.map(|t| t.and_utc()),
                correct_streak: r.correct_streak as u32,
            },
            nugget_id: r.nugget_id.into(),
            pack_version_id: r.pack_version_id.into(),
            assignment_id: r.assignment_id.into(),
            first_correct: r.first_correct,
            first_answered_at: r.first_answered_at.map(|t| t.and_utc()),
        }
    }
}

/// Every memory state of a learner.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn states(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<StoredState>> {
    Ok(memory_states::table
        .filter(memory_states::org_id.eq(org_id))
        .filter(memory_states::learner_id.eq(learner_id))
        .select(StateRow::as_select())
        .load(conn)?
        .into_iter()
        .map(StoredState::from)
        .collect())
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn state(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    nugget_id: &NuggetId,
) -> StoreResult<Option<StoredState>> {
    Ok(memory_states::table
        .find((org_id, learner_id, nugget_id))
        .select(StateRow::as_select())
        .first(conn)
        .optional()?
        .map(StoredState::from))
}

/// Writes the state after an answer. `previous_reps` guards against a concurrent answer having
/// moved the state since it was read (then nothing is written and `Concurrent` is returned).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn save_state(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    s: &StoredState,
    previous_reps: Option<u32>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let c = &s.card;
    let naive = |t: Option<DateTime<Utc>>| t.map(|t| t.naive_utc());
    let values = (
        memory_states::pack_version_id.eq(&s.pack_version_id),
        memory_states::assignment_id.eq(&s.assignment_id),
        memory_states::status.eq(c.status.as_str()),
        memory_states::stability.eq(c.memory.map(|m| m.stability)),
        memory_states::difficulty.eq(c.memory.map(|m| m.difficulty)),
        memory_states::reps.eq(c.reps as i32),
        memory_states::lapses.eq(c.lapses as i32),
        memory_states::correct_streak.eq(c.correct_streak as i32),
        memory_states::first_correct.eq(s.first_correct),
        memory_states::first_answered_at.eq(naive(s.first_answered_at)),
        memory_states::last_review_at.eq(naive(c.last_review)),
        memory_states::due_at.eq(naive(c.due)),
        memory_states::updated_at.eq(now.naive_utc()),
    );
    match previous_reps {
        None => {
            diesel::insert_into(memory_states::table)
                .values((
                    memory_states::org_id.eq(org_id),
                    memory_states::learner_id.eq(learner_id),
                    memory_states::nugget_id.eq(&s.nugget_id),
                    values,
                ))
                .execute(conn)
                .map_err(|e| StoreError::created_concurrently(e, "memory state"))?;
        }
        Some(reps) => {
            let n = prepared::update(
                memory_states::table,
                values,
                memory_states::org_id
                    .eq(org_id)
                    .and(memory_states::learner_id.eq(learner_id))
                    .and(memory_states::nugget_id.eq(&s.nugget_id))
                    .and(memory_states::reps.eq(reps as i32)),
            )
            .execute(conn)?;
            if n != 1 {
                return Err(StoreError::Concurrent(
                    "memory state changed since it was read".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Ids of the organization's retired nuggets (a short list: a fixed query, prepared once).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn retired(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<NuggetId>> {
    Ok(nuggets::table
        .filter(nuggets::org_id.eq(org_id))
        .filter(nuggets::retired_at.is_not_null())
        .select(nuggets::id)
        .load::<String>(conn)?
        .into_iter()
        .map(NuggetId::from)
        .collect())
}

/// A counted answer: the nugget answered, through which assignment.
pub struct Answered {
    pub nugget_id: NuggetId,
    pub assignment_id: AssignmentId,
}

/// Every counted answer the learner gave in `[from, to)`.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn answered_between(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<Answered>> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq(learner_id))
        .filter(reviews::practice.is_null())
        .filter(reviews::answered_at.ge(from.naive_utc()))
        .filter(reviews::answered_at.lt(to.naive_utc()))
        .select((reviews::nugget_id, reviews::assignment_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(nugget, assignment)| Answered {
            nugget_id: nugget.into(),
            assignment_id: assignment.into(),
        })
        .collect())
}

/// The counters a learner's queue depends on, for each (organization, learner) asked, in order:
/// (organization's, learner's own), 0 where nothing has changed yet. Kept by triggers (migration
/// `queue_epochs`). All read in one snapshot: the caller's transaction if one is open (a queue
/// being built), else one read transaction of their own on SQLite (opening one costs more than
/// the lookups) and one statement on PostgreSQL.
pub fn queue_epochs(
    conn: &mut DbConnection,
    learners: &[(&str, &str)],
) -> StoreResult<Vec<(i64, i64)>> {
    if matches!(conn, DbConnection::Sqlite(_)) && !super::in_transaction(conn) {
        return super::read_tx(conn, |conn| queue_epochs(conn, learners));
    }
    match conn {
        DbConnection::Sqlite(lite) => sqlite_queue_epochs(lite, learners),
        DbConnection::Pg(pg) => pg_queue_epochs(pg, learners),
    }
}

/// Each counter by its primary key, on the SQLite connection itself so the statement is found
/// in the cache by its type rather than by building its SQL; an organization's counter once.
fn sqlite_queue_epochs(
    conn: &mut SqliteConnection,
    learners: &[(&str, &str)],
) -> StoreResult<Vec<(i64, i64)>> {
    let mut epoch = |org: &str, learner: &str| -> StoreResult<i64> {
        Ok(queue_epochs::table
            .find((org, learner))
            .select(queue_epochs::epoch)
            .get_result(conn)
            .optional()?
            .unwrap_or(0))
    };
    let mut orgs: HashMap<&str, i64> = HashMap::new();
    let mut epochs = Vec::with_capacity(learners.len());
    for &(org, learner) in learners {
        let of_org = match orgs.get(org) {
            Some(&e) => e,
            None => {
                let e = epoch(org, "")?;
                orgs.insert(org, e);
                e
            }
        };
        epochs.push((of_org, epoch(org, learner)?));
    }
    Ok(epochs)
}

/// One round trip: organizations and learners matched against arrays (`= ANY`, a fixed shape,
/// kept prepared), the rows paired up here.
fn pg_queue_epochs(
    conn: &mut PgConnection,
    learners: &[(&str, &str)],
) -> StoreResult<Vec<(i64, i64)>> {
    let orgs: Vec<&str> = learners.iter().map(|&(org, _)| org).collect();
    let ids: Vec<&str> = learners
        .iter()
        .map(|&(_, learner)| learner)
        .chain([""])
        .collect();
    let rows: Vec<(String, String, i64)> = queue_epochs::table
        .filter(queue_epochs::org_id.eq_any(&orgs))
        .filter(queue_epochs::learner_id.eq_any(&ids))
        .select((
            queue_epochs::org_id,
            queue_epochs::learner_id,
            queue_epochs::epoch,
        ))
        .load(conn)?;
    let epochs: HashMap<(&str, &str), i64> = rows
        .iter()
        .map(|(org, learner, epoch)| ((org.as_str(), learner.as_str()), *epoch))
        .collect();
    let of = |org: &str, learner: &str| epochs.get(&(org, learner)).copied().unwrap_or(0);
    Ok(learners
        .iter()
        .map(|&(org, learner)| (of(org, ""), of(org, learner)))
        .collect())
}

/// The pack slug of each pack id.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn pack_slugs(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<HashMap<PackId, String>> {
    Ok(packs::table
        .filter(packs::org_id.eq(org_id))
        .select((packs::id, packs::slug))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(id, slug)| (id.into(), slug))
        .collect())
}

/// What the answer and queue paths need of a learner and their organization, in one read.
pub struct LearnerSettings {
    /// The learner's own time zone, else the organization's (an IANA name).
    pub timezone: String,
    pub daily_max: Option<i32>,
    pub quiet_weekdays: Vec<String>,
    /// The organization's fitted FSRS parameters (empty = the crate's defaults).
    pub fsrs_parameters: Vec<f32>,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn learner_settings(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<LearnerSettings> {
    let (own_tz, daily_max, org_tz, quiet, params): (
        Option<String>,
        Option<i32>,
        String,
        String,
        Option<String>,
    ) = users::table
        .inner_join(organizations::table.on(organizations::id.eq(users::org_id)))
        .filter(users::org_id.eq(org_id))
        .filter(users::id.eq(learner_id))
        .select((
            users::timezone,
            users::daily_max,
            organizations::timezone,
            organizations::quiet_weekdays,
            organizations::fsrs_parameters,
        ))
        .first(conn)?;
    Ok(LearnerSettings {
        timezone: own_tz.unwrap_or(org_tz),
        daily_max,
        quiet_weekdays: super::accounts::weekday_list(&quiet),
        fsrs_parameters: parse_parameters(params),
    })
}

fn parse_parameters(stored: Option<String>) -> Vec<f32> {
    stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// The organization's fitted FSRS parameters (empty = the crate's defaults).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn fsrs_parameters(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<f32>> {
    let stored: Option<String> = organizations::table
        .find(org_id)
        .select(organizations::fsrs_parameters)
        .first(conn)?;
    Ok(parse_parameters(stored))
}

/// A vacation hold: the days off and the instant the first one begins in the learner's zone.
pub struct PauseSpan<'a> {
    pub id: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub begins_at: DateTime<Utc>,
}

/// Records a pause and moves every due date at or after its start later by its length, so
/// nothing falls due while the learner is away.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn add_pause(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    p: PauseSpan,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(pauses::table)
        .values((
            pauses::org_id.eq(org_id),
            pauses::id.eq(p.id),
            pauses::learner_id.eq(learner_id),
            pauses::starts_on.eq(p.starts_on),
            pauses::ends_on.eq(p.ends_on),
            pauses::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    let shift = chrono::Duration::days((p.ends_on - p.starts_on).num_days() + 1);
    let affected: Vec<(String, NaiveDateTime)> = memory_states::table
        .filter(memory_states::org_id.eq(org_id))
        .filter(memory_states::learner_id.eq(learner_id))
        .filter(memory_states::due_at.ge(p.begins_at.naive_utc()))
        .select((
            memory_states::nugget_id,
            memory_states::due_at.assume_not_null(),
        ))
        .load(conn)?;
    for (nugget, due) in affected {
        diesel::update(memory_states::table.find((org_id, learner_id, &nugget)))
            .set(memory_states::due_at.eq(due + shift))
            .execute(conn)?;
    }
    Ok(())
}

/// The learner's pauses, as (id, first day, last day), newest first.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn pauses(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<(String, NaiveDate, NaiveDate)>> {
    Ok(pauses::table
        .filter(pauses::org_id.eq(org_id))
        .filter(pauses::learner_id.eq(learner_id))
        .order(pauses::starts_on.desc())
        .select((pauses::id, pauses::starts_on, pauses::ends_on))
        .load(conn)?)
}

/// Times of a learner's counted answers (for streaks), oldest first.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn answer_times(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<NaiveDateTime>> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq(learner_id))
        .filter(reviews::practice.is_null())
        .order(reviews::answered_at.asc())
        .select(reviews::answered_at)
        .load(conn)?)
}

/// Counted answers and right ones per nugget of a learner.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn answer_counts(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<HashMap<NuggetId, (u32, u32)>> {
    let rows: Vec<(String, bool)> = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq(learner_id))
        .filter(reviews::practice.is_null())
        .select((reviews::nugget_id, reviews::correct))
        .load(conn)?;
    let mut counts: HashMap<NuggetId, (u32, u32)> = HashMap::new();
    for (nugget, correct) in rows {
        let entry = counts.entry(nugget.into()).or_default();
        entry.0 += 1;
        entry.1 += u32::from(correct);
    }
    Ok(counts)
}

/// What the planner has learnt of how fast `learner` forgets: (log stability factor, inverse
/// variance), or `None` before their first counted answer in a planner assignment.
pub fn planner_estimate(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
) -> StoreResult<Option<(f64, f64)>> {
    Ok(planner_estimates::table
        .find((org_id, learner))
        .select((
            planner_estimates::ln_factor,
            planner_estimates::inverse_variance,
        ))
        .first(conn)
        .optional()?)
}

/// Keeps the planner's estimate for `learner`. Two answers of one learner committed at once may
/// each start from the same estimate, and the later write wins: the estimate then misses one
/// answer's evidence, which the next answers make up for.
pub fn save_planner_estimate(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
    (ln_factor, inverse_variance): (f64, f64),
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let changes = (
        planner_estimates::ln_factor.eq(ln_factor),
        planner_estimates::inverse_variance.eq(inverse_variance),
        planner_estimates::updated_at.eq(now.naive_utc()),
    );
    execute_on_backend!(
        conn,
        diesel::insert_into(planner_estimates::table)
            .values((
                planner_estimates::org_id.eq(org_id),
                planner_estimates::learner_id.eq(learner),
                changes,
            ))
            .on_conflict((planner_estimates::org_id, planner_estimates::learner_id))
            .do_update()
            .set(changes)
    )?;
    Ok(())
}
