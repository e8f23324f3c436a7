//! Today's queue: which nuggets a learner is asked today, built from their memory states, their
//! enrolment and the caps of their assignments (the choice itself is `domain::queue`).

use crate::domain::pitch::{NuggetKind, PitchReview, RubricCriterion};
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::assignments::PolicyName;
use crate::domain::calendar::{local_day, local_midnight, weekday_code, LocalDay};
use crate::domain::catalog::StoredNugget;
use crate::domain::coaching;
use crate::domain::experiments::probes::{open_probes, Met, ProbePlan};
use crate::domain::ids::{AssignmentId, NoteId, NuggetId, UserId};
use crate::domain::queue::{self, AssignmentSlots, DueNugget, Reason};
use crate::domain::scheduler::{planner, CardStatus};
use crate::error::ApiResult;
use crate::store::enrolments::{Enrolment, EnrolmentCache, LearnerAssignment};
use crate::store::StoreResult;
use crate::store::{
    coaching as note_store, content as content_store, learning, DbConnection, StoreError,
};

/// The caller's settings, with their time zone (their own, else their organization's).
pub fn learner_settings(
    conn: &mut DbConnection,
    caller: &Caller,
) -> ApiResult<(Tz, learning::LearnerSettings)> {
    let settings = learning::learner_settings(conn, &caller.org_id, &caller.user_id)?;
    let tz = settings.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
    Ok((tz, settings))
}

#[derive(Serialize, ToSchema)]
pub struct QueueOption {
    pub id: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueueNugget {
    #[schema(value_type = String)]
    pub nugget_id: NuggetId,
    pub pack: String,
    pub topic: String,
    pub prompt: String,
    /// `choice` (answer with options) or `pitch` (record an answer: `POST /api/v1/me/pitches`).
    pub kind: NuggetKind,
    /// A choice nugget's options; empty for a pitch.
    pub options: Vec<QueueOption>,
    /// Several options may be chosen (and all correct ones must be).
    pub multiple: bool,
    /// A pitch's rubric: what its reviewers will score.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<RubricCriterion>,
    /// A pitch's recording time limit, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// A nugget seen before (every reason but `new`).
    pub review: bool,
    /// Why the nugget is asked today.
    pub reason: Reason,
    /// A coach's note on this nugget's topic, shown with it until the learner marks it seen
    /// (`POST /api/v1/me/coach-notes/{id}/seen`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coach_note: Option<CoachNote>,
    /// A review of one of the learner's pitches on this nugget's topic, shown with it until the
    /// learner marks it seen (`POST /api/v1/me/pitch-reviews/{id}/seen`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitch_review: Option<PitchReview>,
}

/// A coaching note as the queue carries it.
#[derive(Serialize, ToSchema)]
pub struct CoachNote {
    #[schema(value_type = String)]
    pub id: NoteId,
    pub topic: String,
    pub body: String,
    /// The coach's name.
    pub author: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Queue {
    /// The learner's local date the queue is for.
    pub date: NaiveDate,
    pub nuggets: Vec<QueueNugget>,
}

/// The probes open on `date` for the learner in the experiment running on `assignment` (none
/// outside one), drawn among the nuggets of that assignment they have met. The queue and the
/// answer both call this on the memory states they read, so they agree on what a probe is.
pub(super) fn probes_open(
    assignment: &LearnerAssignment,
    learner_id: &UserId,
    states: &[learning::StoredState],
    tz: Tz,
    date: NaiveDate,
) -> Vec<NuggetId> {
    let Some(e) = &assignment.experiment else {
        return Vec::new();
    };
    let met: Vec<Met<'_>> = states
        .iter()
        .filter(|s| s.assignment_id == assignment.id)
        .filter_map(|s| {
            s.first_answered_at.map(|first| Met {
                nugget_id: &s.nugget_id,
                first_answered_at: first,
                last_review: s.card.last_review,
            })
        })
        .collect();
    let plan = ProbePlan {
        experiment_id: e.experiment_id.as_str(),
        learner_id: learner_id.as_str(),
        probes_per_week: e.probes_per_week,
        started_at: e.started_at,
    };
    open_probes(&plan, tz, date, &met)
}

/// Whether the planner brought `state` forward because it is at risk before the horizon's end
/// (see [`planner::at_risk`]); always false outside planner assignments.
fn planner_at_risk(
    active: &[LearnerAssignment],
    state: &learning::StoredState,
    tz: Tz,
    parameters: &[f32],
) -> bool {
    let Some(settings) = active
        .iter()
        .find(|a| a.id == state.assignment_id)
        .map(|a| &a.settings)
        .filter(|s| s.policy == PolicyName::Planner)
    else {
        return false;
    };
    let (Some(memory), Some(last)) = (state.card.memory, state.card.last_review) else {
        return false;
    };
    let end = local_midnight(tz, settings.starts_on)
        + Duration::days(i64::from(settings.planner_horizon().last));
    planner::at_risk(
        parameters,
        memory,
        (end - last).num_seconds() as f64 / 86_400.0,
    )
}

/// Builds today's queue for the caller, with the local day it is for.
pub fn build(
    conn: &mut DbConnection,
    enrolments: &EnrolmentCache,
    caller: &Caller,
    now: DateTime<Utc>,
) -> ApiResult<(LocalDay, Queue)> {
    build_with(
        conn,
        |conn, date| enrolments.enrolment(conn, &caller.org_id, &caller.user_id, date),
        caller,
        now,
    )
}

/// [`build`] with the learner's enrolment on their local date from `enrolment` (a pass over many
/// learners reads theirs in one batch).
pub fn build_with(
    conn: &mut DbConnection,
    enrolment: impl FnOnce(&mut DbConnection, NaiveDate) -> StoreResult<Arc<Enrolment>>,
    caller: &Caller,
    now: DateTime<Utc>,
) -> ApiResult<(LocalDay, Queue)> {
    let (tz, settings) = learner_settings(conn, caller)?;
    let day = local_day(tz, now);
    let paused = learning::pauses(conn, &caller.org_id, &caller.user_id)?
        .iter()
        .any(|(_, from, to)| (*from..=*to).contains(&day.date));
    let quiet = &settings.quiet_weekdays;
    if paused || quiet.iter().any(|d| d == weekday_code(day.date)) {
        let queue = Queue {
            date: day.date,
            nuggets: Vec::new(),
        };
        return Ok((day, queue));
    }
    let org = &caller.org_id;
    let enrolment = enrolment(conn, day.date)?;
    let active = &enrolment.assignments;
    let states = learning::states(conn, org, &caller.user_id)?;
    let answered = learning::answered_between(conn, org, &caller.user_id, day.start, day.end)?;
    let met: Vec<&NuggetId> = states.iter().map(|s| &s.nugget_id).collect();
    let retired = learning::retired(conn, org)?;
    let active_ids: Vec<&AssignmentId> = active.iter().map(|a| &a.id).collect();
    let due: Vec<DueNugget> = states
        .iter()
        .filter(|s| matches!(s.card.status, CardStatus::Learning | CardStatus::Review))
        .filter(|s| active_ids.contains(&&s.assignment_id) && !retired.contains(&s.nugget_id))
        .filter_map(|s| {
            s.card.due.filter(|d| *d < day.end).map(|due| DueNugget {
                nugget_id: s.nugget_id.clone(),
                assignment_id: s.assignment_id.clone(),
                due,
                refresh: s.card.status == CardStatus::Learning,
                at_risk: planner_at_risk(active, s, tz, &settings.fsrs_parameters),
            })
        })
        .collect();
    let mut latest: HashMap<AssignmentId, Arc<Vec<StoredNugget>>> = HashMap::new();
    let mut slots = Vec::with_capacity(active.len());
    for a in active {
        let version = content_store::latest_version_id(conn, org, &a.pack_id)?;
        let nuggets = match version {
            Some(v) => content_store::version_nuggets_shared(conn, org, &v)?,
            None => Arc::default(),
        };
        slots.push(AssignmentSlots {
            assignment_id: a.id.clone(),
            daily_cap: a.settings.daily_cap as usize,
            answered_today: answered.iter().filter(|d| d.assignment_id == a.id).count(),
            new_nuggets: nuggets
                .iter()
                .filter(|n| !met.contains(&&n.nugget_id))
                .map(|n| n.nugget_id.clone())
                .collect(),
            probes: probes_open(a, &caller.user_id, &states, tz, day.date)
                .into_iter()
                .filter(|n| !retired.contains(n))
                .collect(),
        });
        latest.insert(a.id.clone(), nuggets);
    }
    let answered_ids: Vec<NuggetId> = answered.into_iter().map(|d| d.nugget_id).collect();
    let picked = queue::build(
        due,
        &slots,
        &answered_ids,
        settings.daily_max.map(|m| m as usize),
    );
    let slugs = learning::pack_slugs(conn, org)?;
    let mut nuggets = Vec::with_capacity(picked.len());
    for item in picked {
        let n = match states.iter().find(|s| s.nugget_id == item.nugget_id) {
            Some(s) => {
                content_store::nugget_in_version(conn, org, &s.nugget_id, &s.pack_version_id)?
            }
            None => latest[&item.assignment_id]
                .iter()
                .find(|n| n.nugget_id == item.nugget_id)
                .cloned()
                .ok_or(StoreError::NotFound)?,
        };
        let pitch = n.kind == NuggetKind::Pitch;
        nuggets.push(QueueNugget {
            kind: n.kind,
            max_seconds: pitch.then(|| n.pitch_seconds()),
            rubric: n.rubric.clone(),
            pitch_review: None,
            pack: slugs.get(&n.pack_id).cloned().unwrap_or_default(),
            multiple: n.options.iter().filter(|o| o.correct).count() > 1,
            options: n
                .options
                .into_iter()
                .map(|o| QueueOption {
                    id: o.id,
                    text: o.text,
                })
                .collect(),
            nugget_id: n.nugget_id,
            topic: n.topic,
            prompt: n.prompt,
            media_url: n.media_url,
            review: item.review(),
            reason: item.reason,
            coach_note: None,
        });
    }
    if !nuggets.is_empty() {
        attach_notes(conn, caller, &mut nuggets)?;
        attach_reviews(conn, caller, &mut nuggets)?;
    }
    let queue = Queue {
        date: day.date,
        nuggets,
    };
    Ok((day, queue))
}

/// Puts each unseen review of the learner's pitches on the first nugget of its topic, as notes
/// are put (`domain::coaching::attach`).
fn attach_reviews(
    conn: &mut DbConnection,
    caller: &Caller,
    nuggets: &mut [QueueNugget],
) -> ApiResult<()> {
    let reviews = crate::store::pitches::unseen_reviews(conn, &caller.org_id, &caller.user_id)?;
    if reviews.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = nuggets.iter().map(|n| n.topic.as_str()).collect();
    let review_topics: Vec<&str> = reviews.iter().map(|r| r.topic.as_str()).collect();
    let carried = coaching::attach(&topics, &review_topics);
    for (nugget, review) in nuggets.iter_mut().zip(carried) {
        if let Some(i) = review {
            nugget.pitch_review = Some(reviews[i].clone().into());
        }
    }
    Ok(())
}

/// Puts each unseen coaching note on the first nugget of its topic (`domain::coaching::attach`).
fn attach_notes(
    conn: &mut DbConnection,
    caller: &Caller,
    nuggets: &mut [QueueNugget],
) -> ApiResult<()> {
    let notes = note_store::unseen(conn, &caller.org_id, &caller.user_id)?;
    if notes.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = nuggets.iter().map(|n| n.topic.as_str()).collect();
    let note_topics: Vec<&str> = notes.iter().map(|n| n.topic.as_str()).collect();
    let carried = coaching::attach(&topics, &note_topics);
    for (nugget, note) in nuggets.iter_mut().zip(carried) {
        if let Some(i) = note {
            let n = &notes[i];
            nugget.coach_note = Some(CoachNote {
                id: n.id.clone(),
                topic: n.topic.clone(),
                body: n.body.clone(),
                author: n.author_name.clone(),
                created_at: n.created_at,
            });
        }
    }
    Ok(())
}
