//! Field observations: what a manager saw a seller apply, recorded once and read back per
//! learner. The knowledge × application view reads them as evidence through
//! [`super::application`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{observations, users};
use super::{DbConnection, StoreResult};
use crate::domain::application::Observation;
use crate::domain::ids::{ObservationId, OrgId, UserId};

/// An observation as stored, with its observer's name.
#[derive(Queryable)]
struct ObservationRow {
    id: String,
    learner_id: String,
    observer_id: String,
    observer_name: String,
    topic: String,
    applied: i32,
    note: Option<String>,
    observed_on: NaiveDate,
    created_at: NaiveDateTime,
}

impl From<ObservationRow> for Observation {
    fn from(r: ObservationRow) -> Self {
        Observation {
            id: r.id.into(),
            learner_id: r.learner_id.into(),
            observer_id: r.observer_id.into(),
            observer_name: r.observer_name,
            topic: r.topic,
            applied: r.applied.clamp(1, 4) as u8,
            note: r.note,
            observed_on: r.observed_on,
            created_at: r.created_at.and_utc(),
        }
    }
}

/// Observations joined with their observers, selecting an [`ObservationRow`].
macro_rules! with_observers {
    () => {
        observations::table
            .inner_join(
                users::table.on(users::org_id
                    .eq(observations::org_id)
                    .and(users::id.eq(observations::observer_id))),
            )
            .select((
                observations::id,
                observations::learner_id,
                observations::observer_id,
                users::name,
                observations::topic,
                observations::applied,
                observations::note,
                observations::observed_on,
                observations::created_at,
            ))
    };
}

/// A new observation, checked.
pub struct NewObservation<'a> {
    pub id: &'a ObservationId,
    pub learner_id: &'a UserId,
    pub observer_id: &'a UserId,
    pub topic: &'a str,
    pub applied: u8,
    pub note: Option<&'a str>,
    pub observed_on: NaiveDate,
    pub at: DateTime<Utc>,
}

/// Stores `new` and returns it as read back.
pub fn create(
    conn: &mut DbConnection,
    org_id: &OrgId,
    new: &NewObservation<'_>,
) -> StoreResult<Observation> {
    diesel::insert_into(observations::table)
        .values((
            observations::org_id.eq(org_id),
            observations::id.eq(new.id),
            observations::learner_id.eq(new.learner_id),
            observations::observer_id.eq(new.observer_id),
            observations::topic.eq(new.topic),
            observations::applied.eq(i32::from(new.applied)),
            observations::note.eq(new.note),
            observations::observed_on.eq(new.observed_on),
            observations::created_at.eq(new.at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(with_observers!()
        .filter(observations::org_id.eq(org_id))
        .filter(observations::id.eq(new.id))
        .first::<ObservationRow>(conn)?
        .into())
}

/// A learner's observations, the latest day first.
pub fn of_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<Observation>> {
    Ok(with_observers!()
        .filter(observations::org_id.eq(org_id))
        .filter(observations::learner_id.eq(learner_id))
        .order((
            observations::observed_on.desc(),
            observations::created_at.desc(),
            observations::id.desc(),
        ))
        .load::<ObservationRow>(conn)?
        .into_iter()
        .map(Observation::from)
        .collect())
}

/// Whether the organization has any observation (the demo seeds them once).
pub fn any(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<bool> {
    let n: i64 = observations::table
        .filter(observations::org_id.eq(org_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
