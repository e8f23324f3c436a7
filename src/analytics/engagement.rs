//! Engagement per team and ISO week (UTC): learners invited, started, active in the last 7 and
//! 30 days, answers, correct rate, median response time and on-time rate, and the reminders
//! sent and how often an answer followed them.
//!
//! Counts of answers come from the weekly roll-up written with each answer (`learner_weeks`):
//! at most learners × weeks rows, whatever the number of answers. Reminders come from the nudge
//! outbox, one row per nudge sent in the view's weeks, each with whether its learner answered
//! within the response window (one statement; the answers themselves are never read).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::{scope, Narrowing, Scope};
use super::weekly::{groups, learners_in_scope, tallies, weeks, WeeklyGroup};
use crate::auth::Caller;
use crate::domain::analytics::week_start;
use crate::domain::analytics::{iso_week_label, share};
use crate::domain::ids::OrgId;
use crate::domain::nudges::{LearnerNudges, NudgeWeek, RESPONSE_WINDOW};
use crate::error::ApiResult;
use crate::store::activity::{self, WeekDetail};
use crate::store::analytics::reach;
use crate::store::nudges::{self as nudge_store, SentNudge};
use crate::store::reader::Reader;
use crate::store::DbConnection;

/// Weeks before a view's first one that its 30-day activity can reach into: 30 days back from
/// the end of the first week, or from just after the start of a current one, lie within 5.
const ACTIVE_LOOKBACK_WEEKS: i64 = 5;

#[derive(Serialize, ToSchema)]
pub struct EngagementWeek {
    #[serde(flatten)]
    pub group: WeeklyGroup,
    /// ISO week, e.g. `2026-W10`.
    pub week: String,
    pub week_start: NaiveDate,
    /// Learners reached by an assignment started by the week's end.
    pub invited: usize,
    /// Invited learners who had answered at least once by the week's end.
    pub started: usize,
    /// Learners with an answer in the 7 (30) days before the week's end.
    pub active_7d: usize,
    pub active_30d: usize,
    /// Answers given during the week.
    pub answers: u64,
    pub correct_rate: Option<f64>,
    /// Median time to answer, interpolated in the weekly roll-up's histogram of quarter-octave
    /// buckets: within a factor 2^¼ (19 %) of the exact median from 250 ms to 17 min, within
    /// 250 ms below that, and 1,024,000 when above.
    pub median_response_ms: Option<f64>,
    /// Share of the week's answers given by the day after they fell due (first answers count
    /// as on time).
    pub on_time_rate: Option<f64>,
    /// Reminders sent during the week, per channel.
    pub nudges_sent: NudgesSent,
    /// Share of the learners sent a reminder during the week who answered within 2 hours after
    /// one of those reminders; null when nobody was sent one.
    pub answered_within_2h: Option<f64>,
}

/// Reminders sent, per channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct NudgesSent {
    pub push: u64,
    pub email: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Engagement {
    pub at: DateTime<Utc>,
    /// One row per group and week: teams in name order, then everyone in scope; oldest week
    /// first.
    pub rows: Vec<EngagementWeek>,
}

/// Engagement over the `count` weeks ending with the current one, in the caller's scope
/// (narrowed to a team by `narrowing`).
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "engagement"))]
pub fn engagement(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    count: u32,
) -> ApiResult<Engagement> {
    let s = scope(reader, caller, now, narrowing)?;
    let org = &caller.org_id;
    let w = weeks(s.now, count);
    let groups = groups(&s);
    let learners = learners_in_scope(&s);
    let invited_on = invited_on(reader, org, &s, &learners)?;
    let weekly = activity::weeks_since(
        reader,
        org,
        w.starts[0] - Duration::weeks(ACTIVE_LOOKBACK_WEEKS),
        WeekDetail::WithResponseTimes,
    )?;
    let first_week = activity::first_weeks(reader, org)?;
    let mut answer_days: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for (learner, week, a) in &weekly {
        if learners.contains_key(learner) {
            answer_days
                .entry(learner.as_str())
                .or_default()
                .extend(a.active_days(*week));
        }
    }
    let mut tallies = tallies(&weekly, &learners, &w);
    let from = w.starts[0]
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let sent = nudge_store::sent_with_responses(
        reader,
        org,
        s.filter.teams.as_deref(),
        (from, s.now),
        RESPONSE_WINDOW,
    )?;
    let mut nudged = nudge_weeks(&sent, &learners, &w.starts);
    let mut rows = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let members: Vec<&String> = learners
            .iter()
            .filter(|(_, gs)| gs.contains(&g))
            .map(|(id, _)| id)
            .collect();
        for (i, start) in w.starts.iter().enumerate() {
            let end = w.ends[i];
            // The week's last day: its end is exclusive (midnight after it, or now).
            let end_day = (end - Duration::seconds(1)).date_naive();
            let reached_by =
                |id: &String| invited_on.get(id.as_str()).is_some_and(|d| *d <= end_day);
            let invited = members.iter().filter(|id| reached_by(id)).count();
            // Answered by the week's end: in this week or before.
            let started = members
                .iter()
                .filter(|id| reached_by(id))
                .filter(|id| first_week.get(id.as_str()).is_some_and(|f| f <= start))
                .count();
            let active = |span: i64| {
                let from = (end - Duration::days(span)).date_naive();
                members
                    .iter()
                    .filter(|id| {
                        answer_days
                            .get(id.as_str())
                            .is_some_and(|days| days.iter().any(|d| *d >= from && *d <= end_day))
                    })
                    .count()
            };
            let t = tallies.remove(&(g, i)).unwrap_or_default();
            let n = nudged.remove(&(g, i)).unwrap_or_default();
            let rate = |x: u64| (t.answers > 0).then(|| x as f64 / t.answers as f64);
            rows.push(EngagementWeek {
                group: group.clone(),
                week: iso_week_label(*start),
                week_start: *start,
                invited,
                started,
                active_7d: active(7),
                active_30d: active(30),
                answers: t.answers,
                correct_rate: share(rate(t.correct)),
                median_response_ms: t.response_times.median(),
                on_time_rate: share(rate(t.on_time)),
                nudges_sent: NudgesSent {
                    push: n.push,
                    email: n.email,
                },
                answered_within_2h: share(n.answered_share()),
            });
        }
    }
    Ok(Engagement { at: s.now, rows })
}

/// Sent nudges of the learners in scope summed per (group, index into `starts`): each learner's
/// week folded first, so the response share counts learners.
fn nudge_weeks(
    sent: &[SentNudge],
    learners: &HashMap<String, Vec<usize>>,
    starts: &[NaiveDate],
) -> HashMap<(usize, usize), NudgeWeek> {
    let mut per_learner: HashMap<(&str, usize), LearnerNudges> = HashMap::new();
    for n in sent {
        let week = week_start(n.sent_at.date());
        let (Some((id, _)), Some(i)) = (
            learners.get_key_value(&n.learner_id),
            starts.iter().position(|s| *s == week),
        ) else {
            continue;
        };
        per_learner
            .entry((id.as_str(), i))
            .or_default()
            .add(n.channel, n.answered);
    }
    let mut out: HashMap<(usize, usize), NudgeWeek> = HashMap::new();
    for ((learner, i), l) in &per_learner {
        for &g in &learners[*learner] {
            out.entry((g, *i)).or_default().add(l);
        }
    }
    out
}

/// When each learner in scope was invited: the earliest start of an assignment reaching them,
/// named or through a team they are in (or a team above it).
fn invited_on<'a>(
    conn: &mut DbConnection,
    org: &OrgId,
    s: &Scope,
    learners: &'a HashMap<String, Vec<usize>>,
) -> ApiResult<HashMap<&'a str, NaiveDate>> {
    let r = reach(conn, org)?;
    let mut invited_on: HashMap<&str, NaiveDate> = HashMap::new();
    let mut note = |learner: &str, day: NaiveDate| {
        if let Some((id, _)) = learners.get_key_value(learner) {
            let e = invited_on.entry(id.as_str()).or_insert(day);
            *e = (*e).min(day);
        }
    };
    for (learner, day) in &r.named {
        note(learner, *day);
    }
    for m in &s.directory.members {
        let ancestors = s.tree.with_ancestors(std::slice::from_ref(&m.team_id));
        for (assigned, day) in &r.team_assignments {
            if ancestors.contains(&assigned.as_str()) {
                note(&m.user_id, *day);
            }
        }
    }
    Ok(invited_on)
}
