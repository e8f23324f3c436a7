//! Routes of the views over the answer log week by week (ISO weeks, UTC): engagement and trends
//! ([`crate::analytics::engagement`], [`crate::analytics::trends`]).

use crate::http::caller::{Authorized, Staff};

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{cell, charts, negotiate, read_view, respond, OutputFormat, Table};
use crate::analytics;
use crate::analytics::engagement::Engagement;
use crate::analytics::scope::Narrowing;
use crate::analytics::trends::Trends;
use crate::analytics::weekly::WeeklyGroup;
use crate::error::{ApiError, ApiResult};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;

fn check_weeks(weeks: Option<u32>, default: u32) -> ApiResult<u32> {
    let n = weeks.unwrap_or(default);
    if !(1..=104).contains(&n) {
        return Err(ApiError::field("weeks", "must be 1 to 104"));
    }
    Ok(n)
}

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

/// Engagement per team and ISO week: invited, started, active, answers, correct rate, median
/// response time, on-time rate, reminders sent per channel and the share of reminded learners
/// who answered within 2 hours.
#[utoipa::path(
    tag = "analytics",
    params(WeeklyQuery),
    responses(
        (status = 200, content((Engagement = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/engagement")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "engagement"))]
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
    let (report, source) = read_view(&state, move |reader, now| {
        analytics::engagement::engagement(reader, &caller, now, &narrowing, count)
    })
    .await?;
    let svg = |_: &Engagement| String::new();
    Ok(respond(
        format,
        source,
        &report,
        engagement_table,
        svg,
        "engagement",
    ))
}

/// The columns a weekly row starts with, and their cells.
const WEEK_COLUMNS: [&str; 4] = ["team_id", "team", "week", "week_start"];

fn week_cells(group: &WeeklyGroup, week: &str, start: NaiveDate) -> Vec<String> {
    vec![
        group.team_id.clone().unwrap_or_default(),
        group.team.clone(),
        week.to_string(),
        start.to_string(),
    ]
}

fn engagement_table(r: &Engagement) -> Table {
    let columns = [
        "invited",
        "started",
        "active_7d",
        "active_30d",
        "answers",
        "correct_rate",
        "median_response_ms",
        "on_time_rate",
        "nudges_push",
        "nudges_email",
        "answered_within_2h",
    ];
    let mut t = Table::new(&[&WEEK_COLUMNS[..], &columns].concat());
    for x in &r.rows {
        let mut row = week_cells(&x.group, &x.week, x.week_start);
        row.extend([
            x.invited.to_string(),
            x.started.to_string(),
            x.active_7d.to_string(),
            x.active_30d.to_string(),
            x.answers.to_string(),
            cell(x.correct_rate),
            cell(x.median_response_ms),
            cell(x.on_time_rate),
            x.nudges_sent.push.to_string(),
            x.nudges_sent.email.to_string(),
            cell(x.answered_within_2h),
        ]);
        t.push(row);
    }
    t
}

/// Weekly trends per team: answers, correct rate and proficiency at each week's end.
#[utoipa::path(
    tag = "analytics",
    params(WeeklyQuery),
    responses(
        (status = 200, content((Trends = "application/json"), (String = "text/csv"), (String = "image/svg+xml")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/trends")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "trends"))]
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
    let (report, source) = read_view(&state, move |reader, now| {
        analytics::trends::trends(reader, &caller, now, &narrowing, count)
    })
    .await?;
    let svg = |t: &Trends| charts::lines(&trends_chart(t));
    Ok(respond(
        format,
        source,
        &report,
        trends_table,
        svg,
        "trends",
    ))
}

fn trends_table(r: &Trends) -> Table {
    let columns = ["answers", "correct_rate", "proficiency", "n"];
    let mut t = Table::new(&[&WEEK_COLUMNS[..], &columns].concat());
    for x in &r.rows {
        let mut row = week_cells(&x.group, &x.week, x.week_start);
        row.extend([
            x.answers.to_string(),
            cell(x.correct_rate),
            cell(x.proficiency),
            x.n.to_string(),
        ]);
        t.push(row);
    }
    t
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
