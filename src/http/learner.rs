//! The seller's loop: today's queue, answering (one or a batch synced from offline), progress.

pub mod kept_queues;
pub mod queue_checks;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::body::Json;
use super::caller::Caller;
use super::state::AppState;
use crate::domain::accounts::Role;
use crate::domain::analytics::{bucket_of, on_time, RetentionTally, WeekActivity};
use crate::domain::assignments::PolicyName;
use crate::domain::calendar::{self, local_day, local_midnight, weekday_code, LocalDay};
use crate::domain::catalog::{StoredNugget, StoredOption};
use crate::domain::grading;
use crate::domain::queue::{self, AssignmentSlots, DueNugget};
use crate::domain::recall_weeks;
use crate::domain::scheduler::{
    self, CardState, CardStatus, Confidence, GradingThresholds, Policy, QstreamRule,
    SchedulingContext,
};
use crate::domain::validation::quoted;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::group_commit::GroupCommit;
use crate::store::kept_enrolments::KeptEnrolments;
use crate::store::{
    self, accounts as account_store, activity as activity_store, analytics as analytics_store,
    content as content_store, learning, reviews, reviews::ChoiceCounts, DbConnection, StoreError,
};
use kept_queues::KeptQueue;
use queue_checks::QueueChecks;

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
    pub nugget_id: String,
    pub pack: String,
    pub topic: String,
    pub prompt: String,
    pub options: Vec<QueueOption>,
    /// Several options may be chosen (and all correct ones must be).
    pub multiple: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// A nugget seen before, coming back on its schedule.
    pub review: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Queue {
    /// The learner's local date the queue is for.
    pub date: NaiveDate,
    pub nuggets: Vec<QueueNugget>,
}

/// Builds today's queue for the caller, with the local day it is for.
pub(crate) fn build_queue(
    conn: &mut DbConnection,
    enrolments: &KeptEnrolments,
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
    let enrolment = enrolments.enrolment(conn, org, &caller.user_id, day.date)?;
    let active = &enrolment.assignments;
    let states = learning::states(conn, org, &caller.user_id)?;
    let answered = learning::answered_between(conn, org, &caller.user_id, day.start, day.end)?;
    let met: Vec<String> = states.iter().map(|s| s.nugget_id.clone()).collect();
    let retired = learning::retired(conn, org)?;
    let active_ids: Vec<&str> = active.iter().map(|a| a.id.as_str()).collect();
    let due: Vec<DueNugget> = states
        .iter()
        .filter(|s| matches!(s.card.status, CardStatus::Learning | CardStatus::Review))
        .filter(|s| {
            active_ids.contains(&s.assignment_id.as_str()) && !retired.contains(&s.nugget_id)
        })
        .filter_map(|s| {
            s.card.due.filter(|d| *d < day.end).map(|due| DueNugget {
                nugget_id: s.nugget_id.clone(),
                assignment_id: s.assignment_id.clone(),
                due,
            })
        })
        .collect();
    let mut latest: HashMap<String, Arc<Vec<StoredNugget>>> = HashMap::new();
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
            answered_today: answered.iter().filter(|(_, aid)| *aid == a.id).count(),
            new_nuggets: nuggets
                .iter()
                .filter(|n| !met.contains(&n.nugget_id))
                .map(|n| n.nugget_id.clone())
                .collect(),
        });
        latest.insert(a.id.clone(), nuggets);
    }
    let answered_ids: Vec<String> = answered.into_iter().map(|(n, _)| n).collect();
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
        nuggets.push(QueueNugget {
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
            review: item.review,
        });
    }
    let queue = Queue {
        date: day.date,
        nuggets,
    };
    Ok((day, queue))
}

/// Today's nuggets, never with their answers. Sends an `ETag`; `If-None-Match` with it gives 304
/// while nothing changed.
#[utoipa::path(
    tag = "learner",
    responses(
        (status = 200, body = Queue),
        (status = 304, description = "unchanged since the ETag sent"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/me/queue")]
pub async fn get_queue(
    state: web::Data<AppState>,
    checks: web::Data<QueueChecks>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (org_id, learner_id) = (caller.org_id.clone(), caller.user_id.clone());
    let now = state.clock.now();
    let kept = match state.queues.get(&org_id, &learner_id) {
        Some(kept) => {
            let epochs = checks
                .into_inner()
                .epochs(state.clone(), org_id.clone(), learner_id.clone())
                .await?;
            kept.is_current(epochs, now).then_some(kept)
        }
        None => None,
    };
    let queue = match kept {
        Some(kept) => kept,
        None => {
            let st = state.clone();
            let built = state
                .db(move |conn| {
                    store::read_tx(conn, |conn| {
                        // Read in the queue's own snapshot, so the counters kept are the ones it
                        // was built from.
                        let learner = (caller.org_id.as_str(), caller.user_id.as_str());
                        let epochs = learning::queue_epochs(conn, &[learner])?[0];
                        let (day, queue) = build_queue(conn, &st.enrolments, &caller, now)?;
                        let body = serde_json::to_vec(&queue)
                            .map_err(|e| ApiError::Internal(e.to_string()))?;
                        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
                        Ok(Arc::new(KeptQueue {
                            epochs,
                            day,
                            body: body.into(),
                            etag,
                        }))
                    })
                })
                .await?;
            state.queues.keep(&org_id, &learner_id, built.clone());
            built
        }
    };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == queue.etag || t.trim() == "*")
        });
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, queue.etag.clone()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, queue.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .content_type("application/json")
        .body(queue.body.clone()))
}

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// A UUID the app makes per answer; sending it again returns the stored result.
    pub attempt_id: uuid::Uuid,
    pub nugget_id: String,
    /// Chosen option ids: at least one, each once.
    #[serde(deserialize_with = "selected_options")]
    #[schema(value_type = std::collections::HashSet<String>, min_items = 1)]
    pub selected: Vec<String>,
    /// When the learner answered, on the phone's clock (RFC 3339).
    pub answered_at: DateTime<Utc>,
    /// Time from showing the nugget to answering.
    /// Response times are stored as 32-bit integers: larger ones are refused, not cut short.
    #[serde(deserialize_with = "super::body::whole::non_negative_i32")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub response_ms: u32,
    pub confidence: Option<Confidence>,
}

/// Chosen options: at least one, none twice (checked on the whole request, so a batch with such
/// an answer is refused before anything is applied).
fn selected_options<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let selected = Vec::<String>::deserialize(d)?;
    if selected.is_empty() {
        return Err(serde::de::Error::custom("choose at least one option"));
    }
    // A set, not a scan of the ids before each one: a body may list a great many.
    let mut seen = std::collections::HashSet::with_capacity(selected.len());
    if let Some(id) = selected.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(serde::de::Error::custom(format!(
            "{} is chosen twice",
            quoted(id)
        )));
    }
    Ok(selected)
}

impl AnswerRequest {
    /// Identifies the body so a reused attempt id with a different answer is detected.
    fn fingerprint(&self) -> String {
        let mut selected = self.selected.clone();
        selected.sort();
        let canonical = serde_json::json!([
            self.nugget_id,
            selected,
            self.answered_at.timestamp_millis(),
            self.response_ms,
            self.confidence
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

#[derive(Serialize, ToSchema)]
pub struct OptionFeedback {
    pub id: String,
    pub text: String,
    pub correct: bool,
    pub chosen: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionShare {
    pub id: String,
    /// Share of answers that chose this option, 0..=1.
    pub share: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PeerAnswers {
    /// How many answers the shares are computed from.
    pub answers: usize,
    /// Every option of the nugget, in its order.
    pub options: Vec<OptionShare>,
}

#[derive(Serialize, ToSchema)]
pub struct Proficiency {
    /// Predicted recall of this nugget now.
    pub nugget: f64,
    pub topic: String,
    /// Mean predicted recall over the learner's nuggets of this topic.
    pub topic_proficiency: f64,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerResult {
    pub attempt_id: String,
    pub nugget_id: String,
    pub correct: bool,
    pub partial_credit: f64,
    pub correct_option_ids: Vec<String>,
    pub explanation: String,
    pub options: Vec<OptionFeedback>,
    /// How the learner's teams answered this nugget (answers given while in them; summed over
    /// several teams).
    pub team: PeerAnswers,
    /// How the whole organization answered it.
    pub org: PeerAnswers,
    pub proficiency: Proficiency,
    /// When the nugget comes back; absent once mastered.
    pub next_due: Option<DateTime<Utc>>,
    pub status: CardStatus,
    /// `future` or `before_start`/`before_previous` when the phone's clock was not trusted.
    pub clock_flag: Option<String>,
    /// True when this attempt id was already recorded: the stored result, nothing applied again.
    pub replayed: bool,
}

fn policy_of(a: &learning::LearnerAssignment) -> Policy {
    match a.settings.policy {
        PolicyName::Fsrs => Policy::Fsrs,
        PolicyName::Qstream => Policy::Qstream(QstreamRule::default()),
    }
}

/// What an answer's result shows of the learner besides the answer: read while the answer was
/// prepared (and updated with it), or afresh for a replay.
pub(crate) struct LearnerView {
    parameters: Vec<f32>,
    teams: Vec<String>,
    states: Vec<learning::StoredState>,
}

impl LearnerView {
    fn read(conn: &mut DbConnection, caller: &Caller) -> ApiResult<LearnerView> {
        let org = caller.org_id.as_str();
        Ok(LearnerView {
            parameters: learning::fsrs_parameters(conn, org)?,
            teams: account_store::list_user_teams(conn, org, &caller.user_id)?,
            states: learning::states(conn, org, &caller.user_id)?,
        })
    }
}

/// Outcome of applying one answer, before the response is rendered.
pub(crate) enum Applied {
    /// With the choice counts read as the answer was counted: (organization's, teams').
    New(
        reviews::ReviewRow,
        LearnerView,
        (ChoiceCounts, ChoiceCounts),
    ),
    Replayed(reviews::ReviewRow),
}

/// What recording an answer writes, computed from the state read before.
struct PreparedAnswer {
    row: reviews::ReviewRow,
    state: learning::StoredState,
    /// Reps of the state read (`None`: first answer); the write checks it is still current.
    previous_reps: Option<u32>,
    /// For the retention roll-up of a repeat answer: the pack, and the recall the model
    /// predicted for this answer.
    pack_id: String,
    predicted_recall: Option<f64>,
    /// For the choice counts: the options chosen (the teams are the view's).
    selected: Vec<String>,
    /// For the weekly activity roll-up: the answer's ISO week and what it adds to it.
    week: (NaiveDate, WeekActivity),
    /// The learner with this answer applied.
    view: LearnerView,
}

/// Reads what grading and scheduling need, grades, schedules, and returns the rows to write.
fn prepare_answer(
    conn: &mut DbConnection,
    enrolments: &KeptEnrolments,
    caller: &Caller,
    req: &AnswerRequest,
    now: DateTime<Utc>,
    fingerprint: &str,
) -> ApiResult<PreparedAnswer> {
    let org = caller.org_id.as_str();
    let (tz, settings) = learner_settings(conn, caller)?;
    let mut states = learning::states(conn, org, &caller.user_id)?;
    let existing = states
        .iter()
        .find(|s| s.nugget_id == req.nugget_id)
        .cloned();
    let today = local_day(tz, now).date;
    let enrolment = enrolments.enrolment(conn, org, &caller.user_id, today)?;
    let active = &enrolment.assignments;
    let (assignment, version_id) = match &existing {
        Some(s) => {
            let a = active.iter().find(|a| a.id == s.assignment_id).cloned();
            let a = match a {
                Some(a) => a,
                None => store::assignments::for_learner(conn, org, &s.assignment_id)?,
            };
            (a, s.pack_version_id.clone())
        }
        None => {
            let mut found = None;
            for a in active {
                if let Some(v) = content_store::latest_version_id(conn, org, &a.pack_id)? {
                    if content_store::nugget_in_version(conn, org, &req.nugget_id, &v).is_ok() {
                        found = Some((a.clone(), v));
                        break;
                    }
                }
            }
            found.ok_or_else(|| ApiError::NotFound("this nugget is not assigned to you".into()))?
        }
    };
    let nugget = content_store::nugget_in_version(conn, org, &req.nugget_id, &version_id)?;
    // Empty and repeated choices were refused with the body; what is left is an option id
    // this nugget does not have: a reference to nothing, so 404 naming `selected`.
    let grade =
        grading::grade(&nugget.options, &req.selected).map_err(ApiError::MissingReference)?;
    let thresholds = GradingThresholds {
        fast_ms: assignment.settings.fast_ms as u32,
        slow_ms: assignment.settings.slow_ms as u32,
    };
    let rating = scheduler::rating_for(grade.correct, req.confidence, req.response_ms, &thresholds);
    let start = local_midnight(tz, assignment.settings.starts_on);
    let before = existing
        .as_ref()
        .map(|s| s.card.clone())
        .unwrap_or_default();
    let (answered_at, clock_flag) =
        calendar::trusted_answer_time(req.answered_at, now, start, before.last_review);
    let ctx = SchedulingContext {
        desired_retention: assignment.settings.desired_retention,
        parameters: settings.fsrs_parameters.clone(),
        ..SchedulingContext::default()
    };
    let after: CardState = scheduler::review(
        &before,
        rating,
        answered_at,
        &ctx,
        &policy_of(&assignment),
        scheduler::fuzz_seed(&caller.user_id, &req.nugget_id),
    );
    let memory = after.memory.expect("a reviewed card has a memory state");
    let row = reviews::ReviewRow {
        org_id: org.to_string(),
        id: uuid::Uuid::now_v7().to_string(),
        learner_id: caller.user_id.clone(),
        nugget_id: req.nugget_id.clone(),
        pack_version_id: version_id.clone(),
        assignment_id: assignment.id.clone(),
        attempt_id: req.attempt_id.to_string(),
        request_hash: fingerprint.to_string(),
        selected: serde_json::to_string(&req.selected).expect("strings serialize"),
        correct: grade.correct,
        partial_credit: grade.partial_credit,
        response_ms: req.response_ms.min(i32::MAX as u32) as i32,
        confidence: req.confidence.map(|c| match c {
            Confidence::Sure => "sure".to_string(),
            Confidence::Unsure => "unsure".to_string(),
        }),
        rating: rating.as_u32() as i32,
        client_answered_at: req.answered_at.naive_utc(),
        answered_at: answered_at.naive_utc(),
        received_at: now.naive_utc(),
        clock_flag,
        elapsed_days: before
            .last_review
            .map(|l| (answered_at - l).num_seconds() as f64 / 86_400.0),
        stability_before: before.memory.map(|m| m.stability),
        difficulty_before: before.memory.map(|m| m.difficulty),
        stability_after: memory.stability,
        difficulty_after: memory.difficulty,
        status_after: after.status.as_str().into(),
        due_after: after.due.map(|d| d.naive_utc()),
    };
    let state = learning::StoredState {
        nugget_id: req.nugget_id.clone(),
        pack_version_id: version_id,
        assignment_id: assignment.id.clone(),
        first_correct: existing
            .as_ref()
            .and_then(|s| s.first_correct)
            .or(Some(grade.correct)),
        first_answered_at: existing
            .as_ref()
            .and_then(|s| s.first_answered_at)
            .or(Some(answered_at)),
        card: after,
    };
    states.retain(|s| s.nugget_id != req.nugget_id);
    states.push(state.clone());
    // On time against the due date the learner was shown: the memory state's, which a pause
    // moves later.
    let week = WeekActivity::of_answer(
        row.answered_at,
        row.correct,
        on_time(row.answered_at, before.due.map(|d| d.naive_utc())),
        req.response_ms,
    );
    let predicted_recall = row
        .elapsed_days
        .zip(row.stability_before)
        .map(|(elapsed, stability)| scheduler::recall_after(stability, elapsed, &ctx.parameters));
    Ok(PreparedAnswer {
        row,
        state,
        previous_reps: existing.map(|s| s.card.reps),
        pack_id: nugget.pack_id.clone(),
        predicted_recall,
        selected: req.selected.clone(),
        week,
        view: LearnerView {
            parameters: settings.fsrs_parameters,
            teams: enrolment.teams.clone(),
            states,
        },
    })
}

/// Writes an answer: the review row, and the memory state if it is still the one read (else
/// `Conflict`, and nothing is written), then the roll-ups. The learner's own rows come first and
/// the counters shared with other learners (retention, choices) last, just before the commit: on
/// PostgreSQL their row locks are held until it, and concurrent answers queue on them. Returns
/// the nugget's choice counts with this answer in them.
fn record(
    conn: &mut DbConnection,
    p: &PreparedAnswer,
    now: DateTime<Utc>,
) -> ApiResult<(ChoiceCounts, ChoiceCounts)> {
    reviews::insert(conn, &p.row)?;
    learning::save_state(
        conn,
        &p.row.org_id,
        &p.row.learner_id,
        &p.state,
        p.previous_reps,
        now,
    )?;
    activity_store::add_week(conn, &p.row.org_id, &p.row.learner_id, p.week.0, &p.week.1)?;
    // An answer timed before the current week (synced late from a phone) changes weekly recall
    // snapshots that may exist: they are dropped and the learner marked for recomputing.
    if recall_weeks::changes_past_week(p.row.answered_at, now) {
        store::recall_weeks::invalidate(
            conn,
            &p.row.org_id,
            &p.row.learner_id,
            recall_weeks::first_week_affected(p.row.answered_at),
        )?;
    }
    // Which shard of the roll-up rows this learner's answers add to: a stable hash of the
    // learner, so concurrent answers of different learners rarely meet on one row.
    let shard = scheduler::fuzz_seed(&p.row.learner_id, "") as u32;
    if let (Some(elapsed), Some(predicted)) = (p.row.elapsed_days, p.predicted_recall) {
        let mut tally = RetentionTally::default();
        tally.add(p.row.correct, predicted);
        analytics_store::add_to_retention(
            conn,
            &p.row.org_id,
            &p.pack_id,
            bucket_of(elapsed),
            shard,
            tally,
        )?;
    }
    Ok(reviews::count_choices(
        conn,
        &p.row.org_id,
        &p.row.nugget_id,
        &p.view.teams,
        &p.selected,
        shard,
    )?)
}

/// Grades, schedules and records one answer (`store::read_then_write`; with `group`, SQLite's
/// write joins the next group commit). The write inserts the review and updates the memory state,
/// checking that the state read is still current (a concurrent answer makes it a conflict,
/// retried by `apply_with_retry`); kept enrolments are read after their counter, so they need no
/// snapshot shared with the write.
fn apply_answer(
    conn: &mut DbConnection,
    group: Option<&GroupCommit>,
    enrolments: &KeptEnrolments,
    caller: &Caller,
    req: &AnswerRequest,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let org = caller.org_id.as_str();
    let attempt = req.attempt_id.to_string();
    let fingerprint = req.fingerprint();
    let recorded = store::read_then_write(
        conn,
        group,
        |conn| prepare_answer(conn, enrolments, caller, req, now, &fingerprint),
        move |conn, p| record(conn, p, now),
    );
    // Retries are rare, so the attempt id is not looked up first: a retry whose answer can no
    // longer be graded (nugget retired, assignment over) is found after the reads fail, any other
    // at the review's insert, which the unique attempt id refuses before anything is written.
    let e = match recorded {
        Ok((p, counts)) => return Ok(Applied::New(p.row, p.view, counts)),
        Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
        Err(e) => e,
    };
    match reviews::by_attempt(conn, org, &caller.user_id, &attempt)? {
        Some(row) if row.request_hash == fingerprint => Ok(Applied::Replayed(row)),
        Some(_) => Err(ApiError::Conflict(format!(
            "attempt_id {attempt} was already used for a different answer"
        ))),
        None if matches!(e, ApiError::Conflict(_)) => Err(ApiError::Conflict(
            "the memory state changed concurrently; retry".into(),
        )),
        None => Err(e),
    }
}

/// Applies with retries when a concurrent answer to the same nugget won the race.
pub(crate) fn apply_with_retry(
    conn: &mut DbConnection,
    group: Option<&GroupCommit>,
    enrolments: &KeptEnrolments,
    caller: &Caller,
    req: &AnswerRequest,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let mut attempt = 0;
    loop {
        match apply_answer(conn, group, enrolments, caller, req, now) {
            Err(ApiError::Conflict(msg)) if msg.contains("concurrently") && attempt < 8 => {
                attempt += 1
            }
            other => return other,
        }
    }
}

/// Shares of each option of `options` among the counted answers, in the nugget's order.
fn shares(counts: &reviews::ChoiceCounts, options: &[StoredOption]) -> PeerAnswers {
    PeerAnswers {
        answers: counts.answers as usize,
        options: options
            .iter()
            .map(|o| OptionShare {
                id: o.id.clone(),
                share: match counts.answers {
                    0 => 0.0,
                    total => counts.options.get(&o.id).copied().unwrap_or(0) as f64 / total as f64,
                },
            })
            .collect(),
    }
}

/// Renders the response of a recorded answer (new or replayed) as of `now`: a new answer's
/// shares were read as it was counted, a replayed one's are read here. Outside a transaction: the
/// shares and topic figures are informative, and a concurrent answer landing between two of its
/// reads changes nothing the learner relies on.
fn render(
    conn: &mut DbConnection,
    caller: &Caller,
    applied: Applied,
    now: DateTime<Utc>,
) -> ApiResult<AnswerResult> {
    let org = caller.org_id.as_str();
    let (row, view, (org_counts, team_counts), replayed) = match applied {
        Applied::New(row, view, counts) => (row, view, counts, false),
        Applied::Replayed(row) => {
            let view = LearnerView::read(conn, caller)?;
            let counts = reviews::choice_counts(conn, org, &row.nugget_id, &view.teams)?;
            (row, view, counts, true)
        }
    };
    let nugget = content_store::nugget_in_version(conn, org, &row.nugget_id, &row.pack_version_id)?;
    let chosen: Vec<String> = serde_json::from_str(&row.selected).unwrap_or_default();
    let team = shares(&team_counts, &nugget.options);
    let everyone = shares(&org_counts, &nugget.options);
    let (params, states) = (&view.parameters, &view.states);
    let mut topic_sum = 0.0;
    let mut topic_n = 0usize;
    let mut nugget_recall = 0.0;
    let mut versions: HashMap<&str, Arc<Vec<StoredNugget>>> = HashMap::new();
    for s in states {
        let Some(r) = scheduler::retrievability(&s.card, now, params) else {
            continue;
        };
        let version = match versions.get(s.pack_version_id.as_str()) {
            Some(v) => v.clone(),
            None => {
                let v = content_store::version_nuggets_shared(conn, org, &s.pack_version_id)?;
                versions.insert(&s.pack_version_id, v.clone());
                v
            }
        };
        let same_topic = version
            .iter()
            .find(|n| n.nugget_id == s.nugget_id)
            .is_some_and(|n| n.topic == nugget.topic);
        if same_topic {
            topic_sum += r;
            topic_n += 1;
        }
        if s.nugget_id == row.nugget_id {
            nugget_recall = r;
        }
    }
    Ok(AnswerResult {
        attempt_id: row.attempt_id,
        nugget_id: row.nugget_id,
        correct: row.correct,
        partial_credit: row.partial_credit,
        correct_option_ids: nugget
            .options
            .iter()
            .filter(|o| o.correct)
            .map(|o| o.id.clone())
            .collect(),
        explanation: nugget.explanation,
        options: nugget
            .options
            .into_iter()
            .map(|o| OptionFeedback {
                chosen: chosen.contains(&o.id),
                id: o.id,
                text: o.text,
                correct: o.correct,
                feedback: o.feedback,
            })
            .collect(),
        team,
        org: everyone,
        proficiency: Proficiency {
            nugget: nugget_recall,
            topic: nugget.topic,
            topic_proficiency: if topic_n == 0 {
                0.0
            } else {
                topic_sum / topic_n as f64
            },
        },
        next_due: row.due_after.map(|d| d.and_utc()),
        status: CardStatus::parse(&row.status_after).unwrap_or(CardStatus::Review),
        clock_flag: row.clock_flag,
        replayed,
    })
}

fn check_learner(caller: &Caller) -> ApiResult<()> {
    caller.require(&[
        Role::Learner,
        Role::Admin,
        Role::Author,
        Role::Manager,
        Role::Analyst,
    ])
}

/// Answer a nugget: graded on the server, scheduled, recorded once per `attempt_id`.
#[utoipa::path(
    tag = "learner",
    request_body = AnswerRequest,
    responses(
        (status = 201, description = "recorded", body = AnswerResult),
        (status = 200, description = "this attempt id was already recorded: the stored result", body = AnswerResult),
        (status = 404, description = "nugget unknown or not assigned to the caller, or a selected option id it does not have", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "attempt id reused with a different answer", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/answers")]
pub async fn post_answer(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<AnswerRequest>,
) -> ApiResult<HttpResponse> {
    check_learner(&caller)?;
    let req = body.0;
    let st = state.clone();
    let result = state
        .db(move |conn| {
            let now = st.clock.now();
            let applied =
                apply_with_retry(conn, st.writes.as_ref(), &st.enrolments, &caller, &req, now)?;
            render(conn, &caller, applied, now)
        })
        .await?;
    Ok(if result.replayed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    }
    .json(result))
}

/// The most answers one batch may carry.
pub const MAX_BATCH_ANSWERS: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 100 answers collected offline.
    #[serde(deserialize_with = "batch_answers")]
    #[schema(min_items = 1, max_items = 100)]
    pub answers: Vec<AnswerRequest>,
}

/// 1 to [`MAX_BATCH_ANSWERS`] answers. The limit is checked while reading: the answers past it
/// are skipped, not decoded, so an oversized batch costs no more than a full one.
fn batch_answers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<AnswerRequest>, D::Error> {
    struct Answers;
    impl<'de> serde::de::Visitor<'de> for Answers {
        type Value = Vec<AnswerRequest>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of 1 to {MAX_BATCH_ANSWERS} answers")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let refused =
                || serde::de::Error::custom(format!("send 1 to {MAX_BATCH_ANSWERS} answers"));
            let mut answers = Vec::new();
            while answers.len() < MAX_BATCH_ANSWERS {
                match seq.next_element::<AnswerRequest>()? {
                    Some(answer) => answers.push(answer),
                    None if answers.is_empty() => return Err(refused()),
                    None => return Ok(answers),
                }
            }
            match seq.next_element::<serde::de::IgnoredAny>()? {
                Some(_) => Err(refused()),
                None => Ok(answers),
            }
        }
    }
    d.deserialize_seq(Answers)
}

#[derive(Serialize, ToSchema)]
pub struct BatchItem {
    pub attempt_id: String,
    /// 201 recorded, 200 already recorded, or the 4xx of its problem.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<AnswerResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    /// One item per answer, in the order they were sent.
    pub results: Vec<BatchItem>,
}

/// Sync answers given offline: applied in `answered_at` order, each with its own result.
#[utoipa::path(
    tag = "learner",
    request_body = BatchRequest,
    responses(
        (status = 200, body = BatchResult),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/answers/batch")]
pub async fn post_batch(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<BatchRequest>,
) -> ApiResult<web::Json<BatchResult>> {
    check_learner(&caller)?;
    // 1 to MAX_BATCH_ANSWERS, checked while reading the body.
    let answers = body.0.answers;
    let st = state.clone();
    let results = state
        .db(move |conn| {
            let now = st.clock.now();
            let mut order: Vec<usize> = (0..answers.len()).collect();
            order.sort_by_key(|&i| answers[i].answered_at);
            let mut items: Vec<Option<BatchItem>> = (0..answers.len()).map(|_| None).collect();
            for i in order {
                let req = &answers[i];
                let item = match apply_with_retry(
                    conn,
                    st.writes.as_ref(),
                    &st.enrolments,
                    &caller,
                    req,
                    now,
                )
                .and_then(|a| render(conn, &caller, a, now))
                {
                    Ok(result) => BatchItem {
                        attempt_id: req.attempt_id.to_string(),
                        status: if result.replayed { 200 } else { 201 },
                        result: Some(result),
                        problem: None,
                    },
                    Err(e) if !matches!(e, ApiError::Internal(_) | ApiError::Unavailable(_)) => {
                        BatchItem {
                            attempt_id: req.attempt_id.to_string(),
                            status: actix_web::ResponseError::status_code(&e).as_u16(),
                            result: None,
                            problem: Some(e.problem()),
                        }
                    }
                    Err(e) => return Err(e),
                };
                items[i] = Some(item);
            }
            Ok(BatchResult {
                results: items.into_iter().flatten().collect(),
            })
        })
        .await?;
    Ok(web::Json(results))
}

#[cfg(test)]
mod proptests;
