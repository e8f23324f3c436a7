//! Views over the answer log, week by week (ISO weeks, UTC): engagement and trends.
//!
//! Counts of answers (engagement, and the answers and correct rate of trends) come from the
//! weekly roll-up written with each answer (`learner_weeks`): at most learners × weeks rows.
//! Trends' proficiency comes from weekly recall snapshots (see [`super::weekly_recall`]).

use crate::http::caller::{Authorized, Staff};
use std::collections::{HashMap, HashSet};

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::weekly_recall::recall_means;
use super::{
    cell, charts, negotiate, respond, scope, share, Narrowing, OutputFormat, Scope, Table,
};
use crate::domain::analytics::{iso_week_label, recent_weeks, WeekActivity};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;
use crate::store::activity::{self, WeekDetail};
use crate::store::analytics::reach;

/// A group of learners a weekly view reports on: a team, or everyone in scope.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeeklyGroup {
    /// Null for everyone in scope.
    pub team_id: Option<String>,
    pub team: String,
}

/// The weeks of a view and, for each, the instant it is read at (its end, or now for the
/// current week).
struct Weeks {
    starts: Vec<NaiveDate>,
    ends: Vec<DateTime<Utc>>,
}

fn weeks(now: DateTime<Utc>, count: u32) -> Weeks {
    let starts = recent_weeks(now.date_naive(), count);
    let ends = starts
        .iter()
        .map(|d| (d.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::days(7)).min(now))
        .collect();
    Weeks { starts, ends }
}

fn check_weeks(weeks: Option<u32>, default: u32) -> ApiResult<u32> {
    let n = weeks.unwrap_or(default);
    if !(1..=104).contains(&n) {
        return Err(ApiError::field("weeks", "must be 1 to 104"));
    }
    Ok(n)
}

/// Groups of a weekly view: each visible team, then everyone in scope (last index).
fn groups(s: &Scope) -> Vec<WeeklyGroup> {
    let mut g: Vec<WeeklyGroup> = s
        .teams
        .iter()
        .map(|t| WeeklyGroup {
            team_id: Some(t.id.clone()),
            team: t.name.clone(),
        })
        .collect();
    g.push(WeeklyGroup {
        team_id: None,
        team: "All in scope".into(),
    });
    g
}

/// Group indexes a learner counts in (their visible teams and "all").
fn groups_of(s: &Scope, learner: &str) -> Vec<usize> {
    let mut g = s.teams_of(learner).to_vec();
    g.push(s.teams.len());
    g
}

/// Learners in scope (role learner), each with the group indexes they count in.
fn learners_in_scope(s: &Scope) -> HashMap<String, Vec<usize>> {
    let in_teams: Option<HashSet<&str>> = s.filter.teams.as_ref().map(|teams| {
        s.directory
            .members
            .iter()
            .filter(|(t, _)| teams.contains(t))
            .map(|(_, u)| u.as_str())
            .collect()
    });
    s.directory
        .users
        .keys()
        .filter(|id| s.is_learner(id))
        .filter(|id| {
            in_teams
                .as_ref()
                .is_none_or(|set| set.contains(id.as_str()))
        })
        .map(|id| (id.clone(), groups_of(s, id)))
        .collect()
}

/// The roll-up's weeks of the learners in scope summed per (group, week of `w`).
fn tallies(
    rows: &[(String, NaiveDate, WeekActivity)],
    learners: &HashMap<String, Vec<usize>>,
    w: &Weeks,
) -> HashMap<(usize, usize), WeekActivity> {
    let mut out: HashMap<(usize, usize), WeekActivity> = HashMap::new();
    for (learner, week, a) in rows {
        let (Some(gs), Some(i)) = (
            learners.get(learner),
            w.starts.iter().position(|s| s == week),
        ) else {
            continue;
        };
        for &g in gs {
            out.entry((g, i)).or_default().merge(a);
        }
    }
    out
}

/// Weeks before a view's first one that its 30-day activity can reach into: 30 days back from
/// the end of the first week, or from just after the start of a current one, lie within 5.
const ACTIVE_LOOKBACK_WEEKS: i64 = 5;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WeeklyQuery {
    /// ISO weeks back from the current one (1..=104; 8 for engagement, 12 for trends).
    pub weeks: Option<u32>,
    /// Only this team (and teams nested below it).
    pub team_id: Option<String>,
    /// `json` (default) or `csv`; trends also `svg`.
    pub format: Option<OutputFormat>,
}

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
}

#[derive(Serialize, ToSchema)]
pub struct Engagement {
    pub at: DateTime<Utc>,
    /// One row per group and week: teams in name order, then everyone in scope; oldest week
    /// first.
    pub rows: Vec<EngagementWeek>,
}

/// Engagement per team and ISO week: invited, started, active, answers, correct rate, median
/// response time and on-time rate.
#[utoipa::path(
    tag = "analytics",
    params(WeeklyQuery),
    responses(
        (status = 200, content((Engagement = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/engagement")]
pub async fn engagement(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<WeeklyQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let count = check_weeks(q.weeks, 8)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        ..Narrowing::default()
    };
    let st = state.clone();
    let (report, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let org = caller.org_id.as_str();
            let w = weeks(s.now, count);
            let groups = groups(&s);
            let learners = learners_in_scope(&s);
            // Invited since: the earliest start of an assignment reaching the learner.
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
            for (team, user) in &s.directory.members {
                let ancestors = s.tree.with_ancestors(std::slice::from_ref(team));
                for (assigned, day) in &r.team_assignments {
                    if ancestors.contains(&assigned.as_str()) {
                        note(user, *day);
                    }
                }
            }
            let weekly = activity::weeks_since(
                conn,
                org,
                w.starts[0] - Duration::weeks(ACTIVE_LOOKBACK_WEEKS),
                WeekDetail::WithResponseTimes,
            )?;
            let first_week = activity::first_weeks(conn, org)?;
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
                                answer_days.get(id.as_str()).is_some_and(|days| {
                                    days.iter().any(|d| *d >= from && *d <= end_day)
                                })
                            })
                            .count()
                    };
                    let t = tallies.remove(&(g, i)).unwrap_or_default();
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
                    });
                }
            }
            Ok(Engagement { at: s.now, rows })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &report,
        |r| {
            let mut t = Table::new(&[
                "team_id",
                "team",
                "week",
                "week_start",
                "invited",
                "started",
                "active_7d",
                "active_30d",
                "answers",
                "correct_rate",
                "median_response_ms",
                "on_time_rate",
            ]);
            for x in &r.rows {
                t.push(vec![
                    x.group.team_id.clone().unwrap_or_default(),
                    x.group.team.clone(),
                    x.week.clone(),
                    x.week_start.to_string(),
                    x.invited.to_string(),
                    x.started.to_string(),
                    x.active_7d.to_string(),
                    x.active_30d.to_string(),
                    x.answers.to_string(),
                    cell(x.correct_rate),
                    cell(x.median_response_ms),
                    cell(x.on_time_rate),
                ]);
            }
            t
        },
        |_| String::new(),
        "engagement",
    ))
}

#[derive(Serialize, ToSchema)]
pub struct TrendWeek {
    #[serde(flatten)]
    pub group: WeeklyGroup,
    pub week: String,
    pub week_start: NaiveDate,
    /// Answers given during the week.
    pub answers: u64,
    /// Share of the week's answers that were right.
    pub correct_rate: Option<f64>,
    /// Mean predicted recall at the week's end (now for the current week) over every
    /// learner × nugget answered by then, from the last answer before it.
    pub proficiency: Option<f64>,
    /// Memory states behind `proficiency`.
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Trends {
    pub at: DateTime<Utc>,
    /// One row per group and week: teams in name order, then everyone in scope; oldest week
    /// first.
    pub rows: Vec<TrendWeek>,
}

/// Weekly trends per team: answers, correct rate and proficiency at each week's end.
#[utoipa::path(
    tag = "analytics",
    params(WeeklyQuery),
    responses(
        (status = 200, content((Trends = "application/json"), (String = "text/csv"), (String = "image/svg+xml")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/trends")]
pub async fn trends(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<WeeklyQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, true)?;
    let count = check_weeks(q.weeks, 12)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        ..Narrowing::default()
    };
    let st = state.clone();
    let (report, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let org = caller.org_id.as_str();
            let w = weeks(s.now, count);
            let groups = groups(&s);
            let learners = learners_in_scope(&s);
            // Answers and correct rate: from the weekly roll-up.
            let answers = tallies(
                &activity::weeks_since(conn, org, w.starts[0], WeekDetail::Totals)?,
                &learners,
                &w,
            );
            let recall = recall_means(conn, org, &s, &w.starts, &w.ends, &learners)?;
            let mut rows = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                for (i, start) in w.starts.iter().enumerate() {
                    let a = answers.get(&(g, i)).copied().unwrap_or_default();
                    let r = recall.get(&(g, i)).copied().unwrap_or_default();
                    rows.push(TrendWeek {
                        group: group.clone(),
                        week: iso_week_label(*start),
                        week_start: *start,
                        answers: a.answers,
                        correct_rate: share(
                            (a.answers > 0).then(|| a.correct as f64 / a.answers as f64),
                        ),
                        proficiency: share(r.value()),
                        n: r.n,
                    });
                }
            }
            Ok(Trends { at: s.now, rows })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &report,
        |r| {
            let mut t = Table::new(&[
                "team_id",
                "team",
                "week",
                "week_start",
                "answers",
                "correct_rate",
                "proficiency",
                "n",
            ]);
            for x in &r.rows {
                t.push(vec![
                    x.group.team_id.clone().unwrap_or_default(),
                    x.group.team.clone(),
                    x.week.clone(),
                    x.week_start.to_string(),
                    x.answers.to_string(),
                    cell(x.correct_rate),
                    cell(x.proficiency),
                    x.n.to_string(),
                ]);
            }
            t
        },
        |t| charts::lines(&trends_chart(t)),
        "trends",
    ))
}

/// Proficiency at each week's end, one line per team (and everyone in scope).
fn trends_chart(t: &Trends) -> charts::Lines {
    let mut weeks: Vec<String> = Vec::new();
    let mut series: Vec<charts::Series> = Vec::new();
    for row in &t.rows {
        if !weeks.contains(&row.week) {
            weeks.push(row.week.clone());
        }
        match series.iter_mut().find(|s| s.name == row.group.team) {
            Some(s) => s.values.push(row.proficiency),
            None => series.push(charts::Series {
                name: row.group.team.clone(),
                values: vec![row.proficiency],
            }),
        }
    }
    charts::Lines {
        title: "Proficiency at week end".to_string(),
        x_labels: weeks,
        series,
    }
}
