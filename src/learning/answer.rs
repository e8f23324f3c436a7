//! Answering: grade the choice, schedule the nugget's next appearance, and record both once per
//! attempt id. Reads come first and the write checks that what it read is still current, so two
//! answers racing on one nugget never both apply: the loser is retried from a fresh read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::queue::{learner_settings, probes_open};
use crate::auth::Caller;
use crate::domain::analytics::{bucket_of, on_time, RetentionTally, WeekActivity};
use crate::domain::assignments::{PolicyName, Settings};
use crate::domain::calendar::{self, local_day, local_midnight, LocalDay};
use crate::domain::grading;
use crate::domain::ids::{NuggetId, OrgId, PackId, PackVersionId, UserId};
use crate::domain::numbers::non_negative_i32;
use crate::domain::queue::{
    practice_reason, probe_practice_reason, DayAllowance, PracticeReason, Seen,
};
use crate::domain::recall_weeks;
use crate::domain::scheduler::{
    self, CardState, Confidence, GradingThresholds, PlannerSpacing, Policy, QstreamRule,
    SchedulingContext, SpreadEstimate, PRIOR_SPREAD,
};
use crate::domain::validation::quoted;
use crate::error::{ApiError, ApiResult};
use crate::store::enrolments::{Enrolment, EnrolmentCache, LearnerAssignment};
use crate::store::group_commit::GroupCommit;
use crate::store::{
    self, accounts as account_store, activity as activity_store, analytics as analytics_store,
    content as content_store, experiments as experiment_store, learning, reviews,
    reviews::ChoiceCounts, DbConnection,
};

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// A UUID the app makes per answer; sending it again returns the stored result.
    pub attempt_id: uuid::Uuid,
    #[schema(value_type = String)]
    pub nugget_id: NuggetId,
    /// Chosen option ids: at least one, each once.
    #[serde(deserialize_with = "selected_options")]
    #[schema(value_type = std::collections::HashSet<String>, min_items = 1)]
    pub selected: Vec<String>,
    /// When the learner answered, on the phone's clock (RFC 3339).
    pub answered_at: DateTime<Utc>,
    /// Time from showing the nugget to answering.
    /// Response times are stored as 32-bit integers: larger ones are refused, not cut short.
    #[serde(deserialize_with = "non_negative_i32")]
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
    pub(crate) fn fingerprint(&self) -> String {
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

/// What the planner needs for one answer and the learner's estimate after it.
struct PlannerAnswer<'a> {
    settings: &'a Settings,
    parameters: &'a [f32],
    start: DateTime<Utc>,
    before: &'a CardState,
    options: u8,
    correct: bool,
    answered_at: DateTime<Utc>,
}

/// The policy scheduling `a` for this learner (the assignment's, or their experiment arm's: the
/// enrolment carries the arm's settings) and, under the planner, the learner's estimate with
/// this answer's evidence in it, to keep if the answer counts. The evidence counts before the
/// next question is chosen, so a surprise moves this nugget's spacing at once.
fn policy_of(
    conn: &mut DbConnection,
    caller: &Caller,
    answer: PlannerAnswer<'_>,
) -> ApiResult<(Policy, Option<(f64, f64)>)> {
    let planner = match answer.settings.policy {
        PolicyName::Fsrs => return Ok((Policy::Fsrs, None)),
        PolicyName::Qstream => return Ok((Policy::Qstream(QstreamRule::default()), None)),
        PolicyName::Planner => super::planners::planner_for(
            answer.parameters,
            answer.settings.planner_horizon(),
            answer.options,
        ),
    };
    let mut estimate = learning::planner_estimate(conn, &caller.org_id, &caller.user_id)?
        .map(|(ln_factor, precision)| SpreadEstimate {
            ln_factor,
            precision,
        })
        .unwrap_or_else(|| SpreadEstimate::prior(PRIOR_SPREAD));
    let observed = match (answer.before.memory, answer.before.last_review) {
        (Some(memory), Some(last)) => {
            let elapsed = (answer.answered_at - last).num_seconds().max(0) as f64 / 86_400.0;
            let evidence = planner.evidence(memory, elapsed, estimate.ln_factor, answer.options);
            estimate.observe(evidence, answer.correct);
            Some((estimate.ln_factor, estimate.precision))
        }
        _ => None,
    };
    let spacing = PlannerSpacing {
        planner,
        start: answer.start,
        ln_factor: estimate.ln_factor,
        options: answer.options,
    };
    Ok((Policy::Planner(spacing), observed))
}

/// What an answer's result shows of the learner besides the answer: read while the answer was
/// prepared (and updated with it), or afresh for a replay.
pub struct LearnerView {
    pub(super) parameters: Vec<f32>,
    pub(super) teams: Vec<String>,
    pub(super) states: Vec<learning::StoredState>,
}

impl LearnerView {
    pub(super) fn read(conn: &mut DbConnection, caller: &Caller) -> ApiResult<LearnerView> {
        let org = &caller.org_id;
        Ok(LearnerView {
            parameters: learning::fsrs_parameters(conn, org)?,
            teams: account_store::list_user_teams(conn, org, &caller.user_id)?,
            states: learning::states(conn, org, &caller.user_id)?,
        })
    }
}

/// Outcome of applying one answer, before the response is rendered.
pub enum Applied {
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
    /// Whose answer it is: the row's organization and learner, typed.
    org_id: OrgId,
    learner_id: UserId,
    nugget_id: NuggetId,
    row: reviews::ReviewRow,
    /// Why the answer is practice; `None` when it counts. Practice writes the row alone.
    practice: Option<PracticeReason>,
    state: learning::StoredState,
    /// Reps of the state read (`None`: first answer); the write checks it is still current.
    previous_reps: Option<u32>,
    /// For the retention roll-up of a repeat answer: the pack, and the recall the model
    /// predicted for this answer.
    pack_id: PackId,
    predicted_recall: Option<f64>,
    /// For the choice counts: the options chosen (the teams are the view's).
    selected: Vec<String>,
    /// For the weekly activity roll-up: the answer's ISO week and what it adds to it.
    week: (NaiveDate, WeekActivity),
    /// The probe this answer is the result of, in the experiment running on its assignment.
    probe: Option<experiment_store::ProbeResult>,
    /// The learner's arm, to record at this first counted answer since they were enlisted.
    enlist: Option<(crate::domain::ids::ExperimentId, String)>,
    /// The planner's estimate of the learner with this answer in it (planner assignments).
    planner_estimate: Option<(f64, f64)>,
    /// The learner with this answer applied.
    view: LearnerView,
}

/// What the learner's local `day` already counted, for a nugget they never counted before.
fn day_allowance(
    conn: &mut DbConnection,
    caller: &Caller,
    assignment: &LearnerAssignment,
    daily_max: Option<i32>,
    day: &LocalDay,
) -> ApiResult<DayAllowance> {
    let counted =
        learning::answered_between(conn, &caller.org_id, &caller.user_id, day.start, day.end)?;
    Ok(DayAllowance {
        daily_cap: assignment.settings.daily_cap.max(0) as usize,
        counted_in_assignment: counted
            .iter()
            .filter(|d| d.assignment_id == assignment.id)
            .count(),
        daily_max: daily_max.map(|m| m.max(0) as usize),
        counted_total: counted.len(),
    })
}

/// The assignment that schedules `nugget_id` for the learner (whose `enrolment` today is given),
/// and the pack version they meet it in: the one of their memory state (`existing`) once they met
/// it, else the latest version of the first active assignment holding it (404 when none does).
pub(super) fn assignment_of(
    conn: &mut DbConnection,
    enrolment: &Enrolment,
    caller: &Caller,
    nugget_id: &NuggetId,
    existing: Option<&learning::StoredState>,
) -> ApiResult<(LearnerAssignment, PackVersionId)> {
    let org = &caller.org_id;
    let active = &enrolment.assignments;
    Ok(match existing {
        Some(s) => {
            let a = active.iter().find(|a| a.id == s.assignment_id).cloned();
            let a = match a {
                Some(a) => a,
                None => store::enrolments::assignment_for_learner(conn, org, &s.assignment_id)?,
            };
            (a, s.pack_version_id.clone())
        }
        None => {
            let mut found = None;
            for a in active {
                if let Some(v) = content_store::latest_version_id(conn, org, &a.pack_id)? {
                    if content_store::nugget_in_version(conn, org, nugget_id, &v).is_ok() {
                        found = Some((a.clone(), v));
                        break;
                    }
                }
            }
            found.ok_or_else(|| ApiError::NotFound("this nugget is not assigned to you".into()))?
        }
    })
}

/// Reads what grading and scheduling need, grades, decides whether the answer counts
/// (`domain::queue::practice_reason`), schedules it if it does, and returns the rows to write.
fn prepare_answer(
    conn: &mut DbConnection,
    enrolments: &EnrolmentCache,
    caller: &Caller,
    req: &AnswerRequest,
    now: DateTime<Utc>,
    fingerprint: &str,
) -> ApiResult<PreparedAnswer> {
    let org = &caller.org_id;
    let (tz, settings) = learner_settings(conn, caller)?;
    let mut states = learning::states(conn, org, &caller.user_id)?;
    let existing = states
        .iter()
        .find(|s| s.nugget_id == req.nugget_id)
        .cloned();
    let today = local_day(tz, now).date;
    let enrolment = enrolments.enrolment(conn, org, &caller.user_id, today)?;
    let (assignment, version_id) =
        assignment_of(conn, &enrolment, caller, &req.nugget_id, existing.as_ref())?;
    let nugget = content_store::nugget_in_version(conn, org, &req.nugget_id, &version_id)?;
    // Empty and repeated choices were refused with the body; what is left is an option id
    // this nugget does not have: a reference to nothing, so 404 naming `selected`.
    if nugget.kind == crate::domain::pitch::NuggetKind::Pitch {
        return Err(ApiError::field(
            "nugget_id",
            "this nugget is a pitch: upload a recording to POST /api/v1/me/pitches",
        ));
    }
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
    let day = local_day(tz, answered_at);
    let seen = match &existing {
        Some(s) => Seen::Before(&s.card),
        None => Seen::First(day_allowance(
            conn,
            caller,
            &assignment,
            settings.daily_max,
            &day,
        )?),
    };
    // An open probe counts whatever its schedule says, once a day.
    let probe_of = existing.as_ref().and_then(|s| {
        let open = probes_open(&assignment, &caller.user_id, &states, tz, day.date);
        open.contains(&req.nugget_id).then_some(&s.card)
    });
    let practice = match probe_of {
        Some(card) => probe_practice_reason(card, &day),
        None => practice_reason(seen, &day),
    };
    let ctx = SchedulingContext {
        desired_retention: assignment.settings.desired_retention,
        parameters: settings.fsrs_parameters.clone(),
        ..SchedulingContext::default()
    };
    let (after, planner_estimate): (CardState, _) = match practice {
        None => {
            let answer = PlannerAnswer {
                settings: &assignment.settings,
                parameters: &ctx.parameters,
                start,
                before: &before,
                options: nugget.options.len().min(usize::from(u8::MAX)) as u8,
                correct: grade.correct,
                answered_at,
            };
            let (policy, estimate) = policy_of(conn, caller, answer)?;
            let after = scheduler::review(
                &before,
                rating,
                answered_at,
                &ctx,
                &policy,
                scheduler::fuzz_seed(caller.user_id.as_str(), req.nugget_id.as_str()),
            );
            (after, estimate)
        }
        Some(_) => (before.clone(), None),
    };
    // A practice answer to a nugget never counted leaves no memory: 0 and 0.
    let (stability_after, difficulty_after) = after
        .memory
        .map_or((0.0, 0.0), |m| (m.stability, m.difficulty));
    let row = reviews::ReviewRow {
        org_id: org.to_string(),
        id: uuid::Uuid::now_v7().to_string(),
        learner_id: caller.user_id.to_string(),
        nugget_id: req.nugget_id.to_string(),
        pack_version_id: version_id.to_string(),
        assignment_id: assignment.id.to_string(),
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
        stability_after,
        difficulty_after,
        status_after: after.status.as_str().into(),
        due_after: after.due.map(|d| d.naive_utc()),
        practice: practice.map(|p| p.as_str().to_string()),
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
    if practice.is_none() {
        states.retain(|s| s.nugget_id != req.nugget_id);
        states.push(state.clone());
    }
    // On time against the due date the learner was shown: the memory state's, which a pause
    // moves later.
    let week = WeekActivity::of_answer(
        row.answered_at,
        row.correct,
        on_time(row.answered_at, before.due.map(|d| d.naive_utc())),
        req.response_ms,
    );
    let probe = match (&assignment.experiment, probe_of, practice) {
        (Some(e), Some(_), None) => Some(experiment_store::ProbeResult {
            experiment_id: e.experiment_id.clone(),
            learner_id: caller.user_id.clone(),
            nugget_id: req.nugget_id.clone(),
            day: day.date,
            arm: e.arm.clone(),
            correct: grade.correct,
            options: nugget.options.len() as u32,
            answered_at,
        }),
        _ => None,
    };
    let enlist = assignment
        .experiment
        .as_ref()
        .filter(|e| !e.recorded)
        .map(|e| (e.experiment_id.clone(), e.arm.clone()));
    let predicted_recall = row
        .elapsed_days
        .zip(row.stability_before)
        .map(|(elapsed, stability)| scheduler::recall_after(stability, elapsed, &ctx.parameters));
    Ok(PreparedAnswer {
        org_id: caller.org_id.clone(),
        learner_id: caller.user_id.clone(),
        nugget_id: req.nugget_id.clone(),
        row,
        practice,
        state,
        previous_reps: existing.map(|s| s.card.reps),
        pack_id: nugget.pack_id.clone(),
        predicted_recall,
        selected: req.selected.clone(),
        week,
        probe,
        enlist,
        planner_estimate,
        view: LearnerView {
            parameters: settings.fsrs_parameters,
            teams: enrolment.teams.clone(),
            states,
        },
    })
}

/// Writes an answer: the review row, and the memory state if it is still the one read (else
/// `Concurrent`, and nothing is written), then the roll-ups. The learner's own rows come first and
/// the counters shared with other learners (retention, choices) last, just before the commit: on
/// PostgreSQL their row locks are held until it, and concurrent answers queue on them. Returns
/// the nugget's choice counts with this answer in them. A practice answer writes its row only
/// (it was decided on the state read, which it leaves as it is, so no check is needed) and
/// returns the counts as they stand.
fn record(
    conn: &mut DbConnection,
    p: &PreparedAnswer,
    now: DateTime<Utc>,
) -> ApiResult<(ChoiceCounts, ChoiceCounts)> {
    reviews::insert(conn, &p.row)?;
    if p.practice.is_some() {
        return Ok(reviews::choice_counts(
            conn,
            &p.org_id,
            &p.nugget_id,
            &p.view.teams,
        )?);
    }
    learning::save_state(
        conn,
        &p.org_id,
        &p.learner_id,
        &p.state,
        p.previous_reps,
        now,
    )?;
    activity_store::add_week(conn, &p.org_id, &p.learner_id, p.week.0, &p.week.1)?;
    if let Some(estimate) = p.planner_estimate {
        learning::save_planner_estimate(conn, &p.org_id, &p.learner_id, estimate, now)?;
    }
    if let Some(probe) = &p.probe {
        experiment_store::record_probe(conn, &p.org_id, probe)?;
    }
    if let Some((experiment_id, arm)) = &p.enlist {
        let member = experiment_store::Member {
            learner_id: p.learner_id.clone(),
            arm: arm.clone(),
        };
        experiment_store::record_members(conn, &p.org_id, experiment_id, &[member], now)?;
    }
    // An answer timed before the current week (synced late from a phone) changes weekly recall
    // snapshots that may exist: they are dropped and the learner marked for recomputing.
    if recall_weeks::changes_past_week(p.row.answered_at, now) {
        store::recall_weeks::invalidate(
            conn,
            &p.org_id,
            &p.learner_id,
            recall_weeks::first_week_affected(p.row.answered_at),
        )?;
    }
    // Which shard of the roll-up rows this learner's answers add to: a stable hash of the
    // learner, so concurrent answers of different learners rarely meet on one row.
    let shard = scheduler::fuzz_seed(p.learner_id.as_str(), "") as u32;
    if let (Some(elapsed), Some(predicted)) = (p.row.elapsed_days, p.predicted_recall) {
        let mut tally = RetentionTally::default();
        tally.add(p.row.correct, predicted);
        analytics_store::add_to_retention(
            conn,
            &p.org_id,
            &p.pack_id,
            bucket_of(elapsed),
            shard,
            tally,
        )?;
    }
    Ok(reviews::count_choices(
        conn,
        &p.org_id,
        &p.nugget_id,
        &p.view.teams,
        &p.selected,
        shard,
    )?)
}

/// Grades, schedules and records one answer (`store::read_then_write`; with `group`, SQLite's
/// write joins the next group commit). The write inserts the review and updates the memory state,
/// checking that the state read is still current (a concurrent answer makes it a conflict,
/// retried by `apply_with_retry`); cached enrolments are read after their counter, so they need no
/// snapshot shared with the write.
fn apply_answer(
    conn: &mut DbConnection,
    group: Option<&GroupCommit>,
    enrolments: &EnrolmentCache,
    caller: &Caller,
    req: &AnswerRequest,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let org = &caller.org_id;
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
        None if matches!(e, ApiError::Concurrent(_)) => Err(ApiError::Concurrent(
            "the memory state changed concurrently; retry".into(),
        )),
        None => Err(e),
    }
}

/// Applies with retries when a concurrent answer to the same nugget won the race.
pub fn apply_with_retry(
    conn: &mut DbConnection,
    group: Option<&GroupCommit>,
    enrolments: &EnrolmentCache,
    caller: &Caller,
    req: &AnswerRequest,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let mut attempt = 0;
    loop {
        match apply_answer(conn, group, enrolments, caller, req, now) {
            Err(ApiError::Concurrent(_)) if attempt < 8 => attempt += 1,
            other => return other,
        }
    }
}
