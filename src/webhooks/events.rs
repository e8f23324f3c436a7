//! Making events: from the answers past each webhook's cursor, from forgetting risk once a
//! local day, and the digest once a week, each queued for the webhooks that want it.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{RoundReport, Webhooks};
use crate::analytics::digest::{by_learner, digest};
use crate::analytics::forgetting_risk::{forgetting_risk, RiskLimits};
use crate::analytics::scope::Narrowing;
use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::analytics::week_start;
use crate::domain::ids::{AssignmentId, OrgId, UserId};
use crate::domain::nudges::ClockTime;
use crate::domain::webhooks::{chat_message, envelope, Event, Format};
use crate::error::{ApiError, ApiResult};
use crate::store::reader::Reader;
use crate::store::webhooks::{self as store, AnswerFact, Listener, NewDelivery, Progress};
use crate::store::DbConnection;

/// Answers younger than this are left for a later round: an answer is stamped when it is
/// received and becomes visible when its transaction commits, a moment later; reading only
/// settled answers keeps the cursor from passing one still on its way (ADR 0016).
const SETTLE_SECS: i64 = 30;
/// Answers read at once.
const BATCH: i64 = 500;

/// One happening, before it is written for each webhook's format.
struct Happening {
    event: Event,
    key: String,
    at: DateTime<Utc>,
    data: Value,
}

impl Happening {
    /// The message as a webhook of `format` receives it.
    fn payload(&self, format: Format, console: &str) -> String {
        match format {
            Format::Standard => envelope(self.event, self.at, self.data.clone()),
            Format::Slack => chat_message(self.event, &self.data, console),
        }
        .to_string()
    }

    fn for_webhook(&self, l: &Listener, console: &str) -> NewDelivery {
        NewDelivery {
            webhook_id: l.id.clone(),
            event: self.event,
            key: self.key.clone(),
            payload: self.payload(l.format, console),
        }
    }
}

impl Webhooks {
    /// Queues the events due at `at` for every organization with webhooks.
    pub(super) async fn make_events(&self, at: DateTime<Utc>) -> ApiResult<RoundReport> {
        let orgs = self.database.run(store::organizations).await?;
        let counts: Vec<ApiResult<usize>> = futures_util::stream::iter(orgs)
            .map(|org| self.events_of(org, at))
            .buffer_unordered(self.tenants)
            .collect()
            .await;
        let mut report = RoundReport::default();
        for c in counts {
            report.queued += c?;
        }
        Ok(report)
    }

    async fn events_of(&self, org: OrgId, at: DateTime<Utc>) -> ApiResult<usize> {
        let console = self.public_url.clone();
        self.database
            .run(move |conn| {
                let mut queued = 0;
                loop {
                    let (n, read) = answer_events(conn, &org, at, &console)?;
                    queued += n;
                    if read < BATCH as usize {
                        break;
                    }
                }
                Ok::<_, ApiError>(queued + scheduled_events(conn, &org, at, &console)?)
            })
            .await
    }
}

/// The learner fields every learner event carries.
fn learner_fields(id: &str, name: &str, email: Option<&str>) -> Value {
    let mut v = json!({"learner_id": id, "learner_name": name});
    if let Some(email) = email {
        v["learner_email"] = json!(email);
    }
    v
}

fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// One batch of answers past the slowest cursor, turned into events for the webhooks that
/// want them. Returns what was queued and how many answers were read.
fn answer_events(
    conn: &mut DbConnection,
    org: &OrgId,
    at: DateTime<Utc>,
    console: &str,
) -> ApiResult<(usize, usize)> {
    let listeners: Vec<Listener> = store::listeners(conn, org)?
        .into_iter()
        .filter(|l| l.events.iter().any(|e| e.from_answers()))
        .collect();
    let Some(from) = listeners.iter().map(|l| l.cursor.clone()).min() else {
        return Ok((0, 0));
    };
    let facts = store::answers_after(conn, org, &from, at - Duration::seconds(SETTLE_SECS), BATCH)?;
    let Some(last) = facts.last() else {
        return Ok((0, 0));
    };
    let last = (last.received_at, last.id.clone());
    let wants = |e: Event| listeners.iter().any(|l| l.events.contains(&e));
    let mut completed: HashMap<(String, String), bool> = HashMap::new();
    let mut happenings: Vec<(&AnswerFact, Happening)> = Vec::new();
    for f in &facts {
        happenings.push((f, answered(f)));
        let mastered = f.practice.is_none() && f.status_after == "mastered";
        if mastered && wants(Event::NuggetMastered) {
            happenings.push((f, nugget_mastered(f)));
        }
        if mastered && wants(Event::AssignmentCompleted) {
            let key = (f.learner_id.clone(), f.assignment_id.clone());
            let done = match completed.get(&key) {
                Some(&done) => done,
                None => {
                    let done = store::assignment_mastered(
                        conn,
                        org,
                        &UserId::from(f.learner_id.as_str()),
                        &AssignmentId::from(f.assignment_id.as_str()),
                    )?;
                    completed.insert(key, done);
                    done
                }
            };
            if done {
                happenings.push((f, assignment_completed(f)));
            }
        }
    }
    let mut deliveries = Vec::new();
    let mut progress = Vec::new();
    for l in &listeners {
        for (f, h) in &happenings {
            if (f.received_at, &f.id) > (l.cursor.0, &l.cursor.1) && l.events.contains(&h.event) {
                deliveries.push(h.for_webhook(l, console));
            }
        }
        if last > l.cursor {
            progress.push((
                l.id.clone(),
                Progress {
                    cursor: Some(last.clone()),
                    ..Progress::default()
                },
            ));
        }
    }
    let queued = store::record(conn, org, &deliveries, &progress, at)?;
    Ok((queued, facts.len()))
}

fn answered(f: &AnswerFact) -> Happening {
    Happening {
        event: Event::AnswerCreated,
        key: format!("answer:{}", f.id),
        at: f.answered_at.and_utc(),
        data: merged(
            learner_fields(&f.learner_id, &f.learner_name, Some(&f.learner_email)),
            json!({
                "answer_id": f.id,
                "attempt_id": f.attempt_id,
                "nugget_id": f.nugget_id,
                "prompt": f.prompt,
                "topic": f.topic,
                "pack": f.pack,
                "assignment_id": f.assignment_id,
                "correct": f.correct,
                "practice": f.practice.is_some(),
                "answered_at": f.answered_at.and_utc(),
                "next_due_at": f.due_after.map(|d| d.and_utc()),
            }),
        ),
    }
}

fn nugget_mastered(f: &AnswerFact) -> Happening {
    Happening {
        event: Event::NuggetMastered,
        key: format!("mastered:{}", f.id),
        at: f.answered_at.and_utc(),
        data: merged(
            learner_fields(&f.learner_id, &f.learner_name, Some(&f.learner_email)),
            json!({
                "nugget_id": f.nugget_id,
                "prompt": f.prompt,
                "topic": f.topic,
                "pack": f.pack,
                "assignment_id": f.assignment_id,
                "mastered_at": f.answered_at.and_utc(),
            }),
        ),
    }
}

fn assignment_completed(f: &AnswerFact) -> Happening {
    Happening {
        event: Event::AssignmentCompleted,
        // Once per learner and assignment, whatever answers come after.
        key: format!("completed:{}:{}", f.learner_id, f.assignment_id),
        at: f.answered_at.and_utc(),
        data: merged(
            learner_fields(&f.learner_id, &f.learner_name, Some(&f.learner_email)),
            json!({
                "assignment_id": f.assignment_id,
                "pack": f.pack,
                "completed_at": f.answered_at.and_utc(),
            }),
        ),
    }
}

/// When today's scheduled events fall due in the organization: its reminder time, local.
fn due_moment(tz: Tz, day: NaiveDate, time: ClockTime) -> DateTime<Utc> {
    crate::domain::calendar::local_midnight(tz, day) + (time.time() - chrono::NaiveTime::MIN)
}

/// Forgetting risk once a local day and the digest once a week (Monday), both at the
/// organization's reminder time, for the webhooks that want them.
fn scheduled_events(
    conn: &mut DbConnection,
    org: &OrgId,
    at: DateTime<Utc>,
    console: &str,
) -> ApiResult<usize> {
    let (timezone, nudge_at) = store::org_schedule(conn, org)?;
    let tz: Tz = timezone.parse().unwrap_or(Tz::UTC);
    let time = ClockTime::parse("nudge_at", &nudge_at).unwrap_or_default();
    let today = at.with_timezone(&tz).date_naive();
    let monday = week_start(today);
    let daily_due = due_moment(tz, today, time) <= at;
    let weekly_due_at = due_moment(tz, monday, time);
    let listeners = store::listeners(conn, org)?;
    let risk_for: Vec<&Listener> = listeners
        .iter()
        .filter(|l| l.events.contains(&Event::LearnerAtRisk))
        .filter(|l| daily_due && l.risk_checked_on.is_none_or(|d| d < today))
        .collect();
    // A week's digest goes to webhooks that existed when it fell due, once.
    let digest_for: Vec<&Listener> = listeners
        .iter()
        .filter(|l| l.events.contains(&Event::DigestWeekly))
        .filter(|l| weekly_due_at <= at && l.created_at <= weekly_due_at)
        .filter(|l| l.digest_week.is_none_or(|w| w < monday))
        .collect();
    if risk_for.is_empty() && digest_for.is_empty() {
        return Ok(0);
    }
    // The organization-wide view: read as an admin of it would.
    let caller = Caller {
        user_id: listeners[0].created_by.clone(),
        org_id: org.clone(),
        role: Role::Admin,
        request_id: None,
    };
    let mut deliveries = Vec::new();
    let mut progress: HashMap<String, Progress> = HashMap::new();
    if !risk_for.is_empty() {
        let limits = RiskLimits::new(None, None, Some(10_000))?;
        let risks = forgetting_risk(
            &mut Reader::alone(conn),
            &caller,
            at,
            &Narrowing::default(),
            limits,
            None,
        )?;
        let week = week_start(today);
        for learner in by_learner(risks.risks) {
            let h = Happening {
                event: Event::LearnerAtRisk,
                // At most once per learner and week while the risk lasts.
                key: format!("at_risk:{}:{week}", learner.learner_id),
                at,
                data: merged(
                    learner_fields(&learner.learner_id, &learner.learner, None),
                    json!({
                        "topics": learner.topics,
                        "threshold": limits.threshold,
                        "days": limits.days,
                    }),
                ),
            };
            deliveries.extend(risk_for.iter().map(|l| h.for_webhook(l, console)));
        }
        for l in &risk_for {
            progress
                .entry(l.id.to_string())
                .or_default()
                .risk_checked_on = Some(today);
        }
    }
    if !digest_for.is_empty() {
        let d = digest(&mut Reader::alone(conn), &caller, at)?;
        let h = Happening {
            event: Event::DigestWeekly,
            key: format!("digest:{monday}"),
            at,
            data: serde_json::to_value(&d).expect("a digest serializes"),
        };
        deliveries.extend(digest_for.iter().map(|l| h.for_webhook(l, console)));
        for l in &digest_for {
            progress.entry(l.id.to_string()).or_default().digest_week = Some(monday);
        }
    }
    debug_assert!(monday.weekday() == Weekday::Mon);
    let progress: Vec<_> = progress.into_iter().map(|(id, p)| (id.into(), p)).collect();
    Ok(store::record(conn, org, &deliveries, &progress, at)?)
}
