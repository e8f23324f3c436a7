//! Experiments, the arm each learner was recorded in, probe results and uploaded KPIs.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{experiment_kpis, experiment_members, experiments, probe_results, reviews};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::experiments::{Arm, Experiment};
use crate::domain::ids::{AssignmentId, ExperimentId, NuggetId, OrgId, UserId};

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = experiments)]
pub(super) struct ExperimentRow {
    org_id: String,
    id: String,
    name: String,
    assignment_id: String,
    arms: String,
    probes_per_week: i32,
    created_by: String,
    started_at: NaiveDateTime,
    stopped_at: Option<NaiveDateTime>,
}

impl ExperimentRow {
    fn new(org_id: &OrgId, e: &Experiment) -> ExperimentRow {
        ExperimentRow {
            org_id: org_id.to_string(),
            id: e.id.to_string(),
            name: e.name.clone(),
            assignment_id: e.assignment_id.to_string(),
            arms: serde_json::to_string(&e.arms).expect("arms serialize"),
            probes_per_week: e.probes_per_week as i32,
            created_by: e.created_by.to_string(),
            started_at: e.started_at.naive_utc(),
            stopped_at: e.stopped_at.map(|t| t.naive_utc()),
        }
    }

    pub(super) fn into_domain(self) -> StoreResult<Experiment> {
        let arms: Vec<Arm> = serde_json::from_str(&self.arms).map_err(|e| {
            StoreError::Database(diesel::result::Error::DeserializationError(Box::new(e)))
        })?;
        Ok(Experiment {
            id: self.id.into(),
            name: self.name,
            assignment_id: self.assignment_id.into(),
            arms,
            probes_per_week: self.probes_per_week.max(1) as u32,
            created_by: self.created_by.into(),
            started_at: self.started_at.and_utc(),
            stopped_at: self.stopped_at.map(|t| t.and_utc()),
        })
    }
}

/// A learner's arm as recorded.
pub struct Member {
    pub learner_id: UserId,
    pub arm: String,
}

/// Stores a new experiment with the arms of the learners it reaches now.
pub fn create(
    conn: &mut DbConnection,
    org_id: &OrgId,
    e: &Experiment,
    members: &[Member],
) -> StoreResult<()> {
    diesel::insert_into(experiments::table)
        .values(ExperimentRow::new(org_id, e))
        .execute(conn)?;
    record_members(conn, org_id, &e.id, members, e.started_at)
}

/// Records learners' arms; a learner recorded before keeps theirs.
pub fn record_members(
    conn: &mut DbConnection,
    org_id: &OrgId,
    experiment_id: &ExperimentId,
    members: &[Member],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    for chunk in members.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|m| {
                (
                    experiment_members::org_id.eq(org_id.as_str()),
                    experiment_members::experiment_id.eq(experiment_id.as_str()),
                    experiment_members::learner_id.eq(m.learner_id.as_str()),
                    experiment_members::arm.eq(m.arm.as_str()),
                    experiment_members::joined_at.eq(at.naive_utc()),
                )
            })
            .collect();
        execute_on_backend!(
            conn,
            diesel::insert_into(experiment_members::table)
                .values(&rows)
                .on_conflict_do_nothing()
        )?;
    }
    Ok(())
}

/// The experiment running on an assignment, if any.
pub fn running_on(
    conn: &mut DbConnection,
    org_id: &OrgId,
    assignment_id: &AssignmentId,
) -> StoreResult<Option<ExperimentId>> {
    Ok(experiments::table
        .filter(experiments::org_id.eq(org_id))
        .filter(experiments::assignment_id.eq(assignment_id))
        .filter(experiments::stopped_at.is_null())
        .select(experiments::id)
        .first::<String>(conn)
        .optional()?
        .map(ExperimentId::from))
}

/// The organization's experiments, newest first.
pub fn list(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<Experiment>> {
    experiments::table
        .filter(experiments::org_id.eq(org_id))
        .order((experiments::started_at.desc(), experiments::id.desc()))
        .select(ExperimentRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ExperimentRow::into_domain)
        .collect()
}

pub fn get(conn: &mut DbConnection, org_id: &OrgId, id: &ExperimentId) -> StoreResult<Experiment> {
    experiments::table
        .find((org_id, id))
        .select(ExperimentRow::as_select())
        .first(conn)?
        .into_domain()
}

/// Stops a running experiment at `now` (a stopped one keeps its first stop).
pub fn stop(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &ExperimentId,
    now: DateTime<Utc>,
) -> StoreResult<Experiment> {
    diesel::update(experiments::table.find((org_id, id)))
        .filter(experiments::stopped_at.is_null())
        .set(experiments::stopped_at.eq(now.naive_utc()))
        .execute(conn)?;
    get(conn, org_id, id)
}

/// Every recorded member of an experiment and their arm.
pub fn members(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &ExperimentId,
) -> StoreResult<Vec<Member>> {
    Ok(experiment_members::table
        .filter(experiment_members::org_id.eq(org_id))
        .filter(experiment_members::experiment_id.eq(id))
        .select((experiment_members::learner_id, experiment_members::arm))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(learner, arm)| Member {
            learner_id: learner.into(),
            arm,
        })
        .collect())
}

/// The arms recorded for `learners` in the experiments `ids`: (experiment, learner) → arm.
pub fn recorded_arms(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[&str],
    learners: &[&str],
) -> StoreResult<HashMap<(String, String), String>> {
    Ok(experiment_members::table
        .filter(experiment_members::org_id.eq(org_id))
        .filter(experiment_members::experiment_id.eq_any(ids))
        .filter(experiment_members::learner_id.eq_any(learners))
        .select((
            experiment_members::experiment_id,
            experiment_members::learner_id,
            experiment_members::arm,
        ))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(e, l, arm)| ((e, l), arm))
        .collect())
}

/// One probe answered.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    pub experiment_id: ExperimentId,
    pub learner_id: UserId,
    pub nugget_id: NuggetId,
    /// The learner's local day of the answer: a probe counts once a day.
    pub day: NaiveDate,
    pub arm: String,
    pub correct: bool,
    /// The nugget's option count.
    pub options: u32,
    pub answered_at: DateTime<Utc>,
}

/// Records a probe's result; a second answer the same day is not another probe.
pub fn record_probe(conn: &mut DbConnection, org_id: &OrgId, p: &ProbeResult) -> StoreResult<()> {
    record_probes(conn, org_id, std::slice::from_ref(p))
}

/// Records many probe results at once (generated histories); those already recorded for their
/// learner, nugget and day are left as they are.
pub fn record_probes(
    conn: &mut DbConnection,
    org_id: &OrgId,
    probes: &[ProbeResult],
) -> StoreResult<()> {
    for chunk in probes.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    probe_results::org_id.eq(org_id.as_str()),
                    probe_results::experiment_id.eq(p.experiment_id.as_str()),
                    probe_results::learner_id.eq(p.learner_id.as_str()),
                    probe_results::nugget_id.eq(p.nugget_id.as_str()),
                    probe_results::day.eq(p.day),
                    probe_results::arm.eq(p.arm.as_str()),
                    probe_results::correct.eq(p.correct),
                    probe_results::options.eq(p.options as i32),
                    probe_results::answered_at.eq(p.answered_at.naive_utc()),
                )
            })
            .collect();
        execute_on_backend!(
            conn,
            diesel::insert_into(probe_results::table)
                .values(&rows)
                .on_conflict_do_nothing()
        )?;
    }
    Ok(())
}

/// An experiment's probe results: (learner, arm, correct, options).
pub fn probes(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &ExperimentId,
) -> StoreResult<Vec<(String, String, bool, u32)>> {
    Ok(probe_results::table
        .filter(probe_results::org_id.eq(org_id))
        .filter(probe_results::experiment_id.eq(id))
        .select((
            probe_results::learner_id,
            probe_results::arm,
            probe_results::correct,
            probe_results::options,
        ))
        .load::<(String, String, bool, i32)>(conn)?
        .into_iter()
        .map(|(l, arm, c, k)| (l, arm, c, k.max(0) as u32))
        .collect())
}

/// Counted answers per learner to an assignment's nuggets in [`from`, `to`).
pub fn answers_per_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    assignment_id: &AssignmentId,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> StoreResult<HashMap<String, i64>> {
    // A running experiment counts to the end of time (year 9999 fits both engines' timestamps).
    let to = to.map_or_else(
        || {
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .expect("a date")
                .and_time(chrono::NaiveTime::MIN)
        },
        |t| t.naive_utc(),
    );
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::assignment_id.eq(assignment_id))
        .filter(reviews::answered_at.ge(from.naive_utc()))
        .filter(reviews::answered_at.lt(to))
        .filter(reviews::practice.is_null())
        .group_by(reviews::learner_id)
        .select((reviews::learner_id, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Stores KPI values (learner, KPI, value), each replacing an earlier one of the same learner and
/// KPI.
pub fn replace_kpis(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &ExperimentId,
    values: &[(UserId, String, f64)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for (learner, kpi, value) in values {
        diesel::delete(experiment_kpis::table.find((org_id, id, learner, kpi))).execute(conn)?;
        diesel::insert_into(experiment_kpis::table)
            .values((
                experiment_kpis::org_id.eq(org_id.as_str()),
                experiment_kpis::experiment_id.eq(id.as_str()),
                experiment_kpis::learner_id.eq(learner.as_str()),
                experiment_kpis::kpi.eq(kpi),
                experiment_kpis::value.eq(value),
                experiment_kpis::uploaded_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// An experiment's KPI values: (learner, KPI, value).
pub fn kpis(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &ExperimentId,
) -> StoreResult<Vec<(String, String, f64)>> {
    Ok(experiment_kpis::table
        .filter(experiment_kpis::org_id.eq(org_id))
        .filter(experiment_kpis::experiment_id.eq(id))
        .order((
            experiment_kpis::kpi.asc(),
            experiment_kpis::learner_id.asc(),
        ))
        .select((
            experiment_kpis::learner_id,
            experiment_kpis::kpi,
            experiment_kpis::value,
        ))
        .load(conn)?)
}
