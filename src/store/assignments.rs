//! Assignments and the learners they reach (a team, nested teams below it, and named learners).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{assignment_learners, assignments, packs, team_members, teams, users};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::assignments::{Assignment, PolicyName, Settings};
use crate::domain::ids::{AssignmentId, OrgId, PackId, UserId};
use crate::domain::teams::TeamTree;

#[derive(Queryable, Selectable)]
#[diesel(table_name = assignments)]
pub(super) struct AssignmentRow {
    pub(super) id: String,
    pub(super) pack_id: String,
    pub(super) team_id: Option<String>,
    pub(super) starts_on: NaiveDate,
    pub(super) ends_on: Option<NaiveDate>,
    pub(super) target_date: Option<NaiveDate>,
    pub(super) daily_cap: i32,
    pub(super) desired_retention: f64,
    pub(super) policy: String,
    pub(super) fast_ms: i32,
    pub(super) slow_ms: i32,
    pub(super) created_by: String,
    pub(super) created_at: NaiveDateTime,
    pub(super) ended_at: Option<NaiveDateTime>,
}

fn to_domain(conn: &mut DbConnection, org_id: &OrgId, r: AssignmentRow) -> StoreResult<Assignment> {
    let learner_ids = assignment_learners::table
        .filter(assignment_learners::org_id.eq(org_id))
        .filter(assignment_learners::assignment_id.eq(&r.id))
        .select(assignment_learners::learner_id)
        .order(assignment_learners::learner_id.asc())
        .load(conn)?;
    let pack_slug = packs::table
        .find((org_id, &r.pack_id))
        .select(packs::slug)
        .first(conn)?;
    Ok(from_row(r, pack_slug, learner_ids))
}

fn from_row(r: AssignmentRow, pack_slug: String, learner_ids: Vec<String>) -> Assignment {
    Assignment {
        id: r.id,
        pack_id: r.pack_id,
        pack_slug,
        team_id: r.team_id,
        learner_ids,
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        target_date: r.target_date,
        daily_cap: r.daily_cap,
        desired_retention: r.desired_retention,
        policy: PolicyName::parse(&r.policy).unwrap_or(PolicyName::Fsrs),
        fast_ms: r.fast_ms,
        slow_ms: r.slow_ms,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
        ended_at: r.ended_at.map(|t| t.and_utc()),
    }
}

/// Why an assignment could not be created: which input named something missing.
#[derive(Debug, PartialEq, Eq)]
pub enum MissingRef {
    Pack,
    Team,
    Learner(String),
    Unpublished,
}

pub struct NewAssignment<'a> {
    pub id: &'a AssignmentId,
    pub pack_slug: &'a str,
    pub team_id: Option<&'a str>,
    pub learner_ids: &'a [String],
    pub settings: &'a Settings,
    pub created_by: &'a UserId,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn create(
    conn: &mut DbConnection,
    org_id: &OrgId,
    a: NewAssignment,
    now: DateTime<Utc>,
) -> StoreResult<Result<Assignment, MissingRef>> {
    let pack: Option<String> = packs::table
        .filter(packs::org_id.eq(org_id))
        .filter(packs::slug.eq(a.pack_slug))
        .filter(packs::archived_at.is_null())
        .select(packs::id)
        .first(conn)
        .optional()?;
    let Some(pack_id) = pack.map(PackId::from) else {
        return Ok(Err(MissingRef::Pack));
    };
    if super::content::latest_version_id(conn, org_id, &pack_id)?.is_none() {
        return Ok(Err(MissingRef::Unpublished));
    }
    if let Some(team) = a.team_id {
        if teams::table
            .find((org_id, team))
            .count()
            .get_result::<i64>(conn)?
            == 0
        {
            return Ok(Err(MissingRef::Team));
        }
    }
    for learner in a.learner_ids {
        if users::table
            .find((org_id, learner))
            .count()
            .get_result::<i64>(conn)?
            == 0
        {
            return Ok(Err(MissingRef::Learner(learner.clone())));
        }
    }
    let s = a.settings;
    diesel::insert_into(assignments::table)
        .values((
            assignments::org_id.eq(org_id),
            assignments::id.eq(a.id),
            assignments::pack_id.eq(&pack_id),
            assignments::team_id.eq(a.team_id),
            assignments::starts_on.eq(s.starts_on),
            assignments::ends_on.eq(s.ends_on),
            assignments::target_date.eq(s.target_date),
            assignments::daily_cap.eq(s.daily_cap),
            assignments::desired_retention.eq(s.desired_retention),
            assignments::policy.eq(s.policy.as_str()),
            assignments::fast_ms.eq(s.fast_ms),
            assignments::slow_ms.eq(s.slow_ms),
            assignments::created_by.eq(a.created_by),
            assignments::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    let mut learners: Vec<&String> = a.learner_ids.iter().collect();
    learners.sort();
    learners.dedup();
    for learner in learners {
        diesel::insert_into(assignment_learners::table)
            .values((
                assignment_learners::org_id.eq(org_id),
                assignment_learners::assignment_id.eq(a.id),
                assignment_learners::learner_id.eq(learner),
            ))
            .execute(conn)?;
    }
    get(conn, org_id, a.id).map(Ok)
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn get(conn: &mut DbConnection, org_id: &OrgId, id: &AssignmentId) -> StoreResult<Assignment> {
    let row = assignments::table
        .find((org_id, id))
        .select(AssignmentRow::as_select())
        .first(conn)?;
    to_domain(conn, org_id, row)
}

/// Several assignments in three queries, in the order of `ids` (unknown ids are skipped).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn get_many(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[String],
) -> StoreResult<Vec<Assignment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<AssignmentRow> = assignments::table
        .filter(assignments::org_id.eq(org_id))
        .filter(assignments::id.eq_any(ids))
        .select(AssignmentRow::as_select())
        .load(conn)?;
    let mut named: Vec<(String, String)> = assignment_learners::table
        .filter(assignment_learners::org_id.eq(org_id))
        .filter(assignment_learners::assignment_id.eq_any(ids))
        .select((
            assignment_learners::assignment_id,
            assignment_learners::learner_id,
        ))
        .load(conn)?;
    named.sort();
    let pack_ids: Vec<&str> = rows.iter().map(|r| r.pack_id.as_str()).collect();
    let slugs: std::collections::HashMap<String, String> = packs::table
        .filter(packs::org_id.eq(org_id))
        .filter(packs::id.eq_any(pack_ids))
        .select((packs::id, packs::slug))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut by_id: std::collections::HashMap<String, AssignmentRow> =
        rows.into_iter().map(|r| (r.id.clone(), r)).collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(r) = by_id.remove(id) else { continue };
        let learner_ids = named
            .iter()
            .filter(|(a, _)| *a == r.id)
            .map(|(_, l)| l.clone())
            .collect();
        let pack_slug = slugs.get(&r.pack_id).cloned().ok_or(StoreError::NotFound)?;
        out.push(from_row(r, pack_slug, learner_ids));
    }
    Ok(out)
}

/// Assignments of the org, optionally only those of `teams` (a manager's scope).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn list(
    conn: &mut DbConnection,
    org_id: &OrgId,
    teams_scope: Option<&[String]>,
) -> StoreResult<Vec<Assignment>> {
    let mut q = assignments::table
        .filter(assignments::org_id.eq(org_id))
        .order(assignments::created_at.desc())
        .select(AssignmentRow::as_select())
        .into_boxed();
    if let Some(scope) = teams_scope {
        q = q.filter(assignments::team_id.eq_any(scope.to_vec()));
    }
    let rows = q.load(conn)?;
    rows.into_iter()
        .map(|r| to_domain(conn, org_id, r))
        .collect()
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn update(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &AssignmentId,
    s: &Settings,
) -> StoreResult<Assignment> {
    let n = diesel::update(assignments::table.find((org_id, id)))
        .set((
            assignments::starts_on.eq(s.starts_on),
            assignments::ends_on.eq(s.ends_on),
            assignments::target_date.eq(s.target_date),
            assignments::daily_cap.eq(s.daily_cap),
            assignments::desired_retention.eq(s.desired_retention),
            assignments::policy.eq(s.policy.as_str()),
            assignments::fast_ms.eq(s.fast_ms),
            assignments::slow_ms.eq(s.slow_ms),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, org_id, id)
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn end(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &AssignmentId,
    now: DateTime<Utc>,
) -> StoreResult<Assignment> {
    let n = diesel::update(assignments::table.find((org_id, id)))
        .filter(assignments::ended_at.is_null())
        .set(assignments::ended_at.eq(now.naive_utc()))
        .execute(conn)?;
    if n == 0 {
        // Missing, or already ended: tell them apart.
        get(conn, org_id, id)?;
    }
    get(conn, org_id, id)
}

/// Learners an assignment reaches: members of its team and teams nested below, and named ones.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn learners_of(
    conn: &mut DbConnection,
    org_id: &OrgId,
    a: &Assignment,
) -> StoreResult<Vec<String>> {
    let mut ids = a.learner_ids.clone();
    if let Some(team) = &a.team_id {
        let all: Vec<(String, Option<String>)> = teams::table
            .filter(teams::org_id.eq(org_id))
            .select((teams::id, teams::parent_id))
            .load(conn)?;
        let scope = TeamTree::new(all).with_descendants(std::slice::from_ref(team));
        let members: Vec<String> = team_members::table
            .inner_join(
                users::table.on(users::org_id
                    .eq(team_members::org_id)
                    .and(users::id.eq(team_members::user_id))),
            )
            .filter(team_members::org_id.eq(org_id))
            .filter(team_members::team_id.eq_any(scope))
            .filter(users::role.eq("learner"))
            .select(team_members::user_id)
            .load(conn)?;
        ids.extend(members);
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}
