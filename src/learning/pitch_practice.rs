//! Pitches on the learner's schedule. A pitch nugget sits in the queue like any other; recording
//! it is its practice, which the assignment's spacing policy schedules as a recalled answer
//! (there is nothing to grade until a reviewer scores it). A weak review brings it back within
//! `domain::pitch::SOONER_DAYS`.
//!
//! Recordings are not answers: they write no answer row, count in no recall figure, and under the
//! planner (whose model is recall of choice questions) a pitch is spaced by FSRS at the
//! assignment's retention.

use chrono::{DateTime, Duration, Utc};

use super::answer::assignment_of;
use super::queue::learner_settings;
use crate::auth::Caller;
use crate::domain::assignments::PolicyName;
use crate::domain::calendar::local_day;
use crate::domain::catalog::StoredNugget;
use crate::domain::ids::{NuggetId, OrgId, UserId};
use crate::domain::pitch::{NuggetKind, SOONER_DAYS};
use crate::domain::scheduler::{self, CardStatus, Policy, QstreamRule, Rating, SchedulingContext};
use crate::error::{ApiError, ApiResult};
use crate::store::enrolments::{EnrolmentCache, LearnerAssignment};
use crate::store::{content as content_store, learning, DbConnection, StoreError};

/// A pitch nugget as assigned to the learner: the version they meet it in and the assignment
/// that schedules it.
pub struct AssignedPitch {
    pub nugget: StoredNugget,
    pub assignment: LearnerAssignment,
    state: Option<learning::StoredState>,
}

/// The pitch `nugget_id` as assigned to the caller: 404 when it is not assigned to them, 422
/// (naming `nugget_id`) when it is a choice nugget.
pub fn assigned_pitch(
    conn: &mut DbConnection,
    enrolments: &EnrolmentCache,
    caller: &Caller,
    nugget_id: &NuggetId,
    now: DateTime<Utc>,
) -> ApiResult<AssignedPitch> {
    let (tz, _) = learner_settings(conn, caller)?;
    let state = learning::state(conn, &caller.org_id, &caller.user_id, nugget_id)?;
    let today = local_day(tz, now).date;
    let enrolment = enrolments.enrolment(conn, &caller.org_id, &caller.user_id, today)?;
    let (assignment, version) = assignment_of(conn, &enrolment, caller, nugget_id, state.as_ref())?;
    let nugget = content_store::nugget_in_version(conn, &caller.org_id, nugget_id, &version)?;
    if nugget.kind != NuggetKind::Pitch {
        return Err(ApiError::field(
            "nugget_id",
            "this nugget is a question: answer it at POST /api/v1/answers",
        ));
    }
    Ok(AssignedPitch {
        nugget,
        assignment,
        state,
    })
}

/// Schedules the pitch's next appearance after a recording made `at`, as its policy spaces a
/// recalled answer. Run it in the transaction that keeps the pitch, so a recording is kept and
/// scheduled together or not at all.
pub fn practiced(
    conn: &mut DbConnection,
    caller: &Caller,
    pitch: &AssignedPitch,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    let (_, settings) = learner_settings(conn, caller)?;
    let before = pitch
        .state
        .as_ref()
        .map(|s| s.card.clone())
        .unwrap_or_default();
    let ctx = SchedulingContext {
        desired_retention: pitch.assignment.settings.desired_retention,
        parameters: settings.fsrs_parameters.clone(),
        ..SchedulingContext::default()
    };
    let policy = match pitch.assignment.settings.policy {
        PolicyName::Qstream => Policy::Qstream(QstreamRule::default()),
        PolicyName::Fsrs | PolicyName::Planner => Policy::Fsrs,
    };
    let nugget_id = &pitch.nugget.nugget_id;
    let after = scheduler::review(
        &before,
        Rating::Good,
        at,
        &ctx,
        &policy,
        scheduler::fuzz_seed(caller.user_id.as_str(), nugget_id.as_str()),
    );
    let state = learning::StoredState {
        nugget_id: nugget_id.clone(),
        pack_version_id: pitch.nugget.pack_version_id.clone(),
        assignment_id: pitch.assignment.id.clone(),
        first_correct: pitch.state.as_ref().and_then(|s| s.first_correct),
        first_answered_at: pitch
            .state
            .as_ref()
            .and_then(|s| s.first_answered_at)
            .or(Some(at)),
        card: after,
    };
    let previous_reps = pitch.state.as_ref().map(|s| s.card.reps);
    learning::save_state(
        conn,
        &caller.org_id,
        &caller.user_id,
        &state,
        previous_reps,
        at,
    )
    .map_err(|e| match e {
        StoreError::Concurrent(_) => ApiError::Conflict(
            "this pitch was recorded from another device at the same time: try again".into(),
        ),
        other => other.into(),
    })
}

/// Brings a weakly reviewed pitch back: due within [`SOONER_DAYS`] of `at` (never later than it
/// already was). A pitch never scheduled, or retired with its content, is left alone.
pub fn bring_back(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    nugget_id: &NuggetId,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(state) = learning::state(conn, org_id, learner_id, nugget_id)? else {
        return Ok(());
    };
    let sooner = at + Duration::days(SOONER_DAYS);
    if state.card.due.is_some_and(|due| due <= sooner) {
        return Ok(());
    }
    let status = match state.card.status {
        CardStatus::Mastered => CardStatus::Review,
        other => other,
    };
    crate::store::refreshers::make_due(
        conn,
        org_id,
        learner_id,
        nugget_id,
        state.card.reps,
        status,
        sooner,
        at,
    )?;
    Ok(())
}
