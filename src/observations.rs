//! Field observations as a service: a manager (for the people of their own teams and the teams
//! below) or an admin (for anyone in the organization) records how far a seller applied a topic
//! in a customer meeting or a ride-along. The knowledge × application view
//! (`analytics::knowledge_application`) weighs them, decayed with age, against what the seller
//! knows.
//!
//! Someone in another organization, or nobody, is a 404; a colleague outside the manager's
//! teams is a 403, since the manager knows them anyway and should learn why they cannot record.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;

use crate::accounts;
use crate::auth::Caller;
use crate::domain::application::{Observation, ObservationInput};
use crate::domain::calendar::local_day;
use crate::domain::ids::{ObservationId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::observations::{self as observation_store, NewObservation};
use crate::store::DbConnection;
use crate::store::{self, accounts as account_store, analytics as analytics_store, new_id};

/// An observation as a client sent it, before its checks (which need the organization's day).
pub struct ObservationRequest {
    pub learner_id: UserId,
    pub topic: String,
    pub applied: i64,
    pub note: Option<String>,
    pub observed_on: NaiveDate,
}

/// The learner `id` if the caller may record and read their observations: 404 outside the
/// organization, 403 outside a manager's teams.
fn reach(conn: &mut DbConnection, caller: &Caller, id: &UserId) -> ApiResult<()> {
    match accounts::users::in_reach(conn, caller, id)? {
        (_, true) => Ok(()),
        (_, false) => Err(ApiError::Forbidden(
            "this person is not in your teams".into(),
        )),
    }
}

/// Records an observation. Every field is checked at once (422); the day must not be after
/// today in the organization's time zone, nor more than a year before; the topic must be one
/// of the organization's nuggets' topics and is stored as the content spells it. Nothing is
/// written unless all of it holds.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %req.learner_id))]
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    req: ObservationRequest,
    now: DateTime<Utc>,
) -> ApiResult<Observation> {
    let org = &caller.org_id;
    store::write_tx(conn, |conn| {
        let tz = account_store::get_org(conn, org)?
            .timezone
            .parse::<Tz>()
            .unwrap_or(Tz::UTC);
        let today = local_day(tz, now).date;
        let input = ObservationInput::check(
            &req.topic,
            req.applied,
            req.note.as_deref(),
            req.observed_on,
            today,
        )
        .map_err(ApiError::validation)?;
        if req.learner_id == caller.user_id {
            return Err(ApiError::field(
                "learner_id",
                "observations are of your people, not of yourself",
            ));
        }
        reach(conn, caller, &req.learner_id)?;
        let topic = analytics_store::nugget_catalog(conn, org)?
            .into_values()
            .map(|n| n.topic)
            .find(|t| t.eq_ignore_ascii_case(&input.topic))
            .ok_or_else(|| ApiError::field("topic", "no nugget has this topic"))?;
        let id = ObservationId::new(new_id());
        let observation = observation_store::create(
            conn,
            org,
            &NewObservation {
                id: &id,
                learner_id: &req.learner_id,
                observer_id: &caller.user_id,
                topic: &topic,
                applied: input.applied,
                note: input.note.as_deref(),
                observed_on: input.observed_on,
                at: now,
            },
        )?;
        // The topic only: what a manager thought of a person stays out of the audit log.
        let entry = Entry::by(
            caller,
            "observation.created",
            "user",
            req.learner_id.as_str(),
        )
        .after(json!({"observation_id": id, "topic": topic}));
        audit::record(conn, org, &entry, now)?;
        Ok::<_, ApiError>(observation)
    })
}

/// A learner's observations, the latest day first: their own, or a coach's within reach.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %learner))]
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    learner: &UserId,
) -> ApiResult<Vec<Observation>> {
    reach(conn, caller, learner)?;
    Ok(observation_store::of_learner(
        conn,
        &caller.org_id,
        learner,
    )?)
}
