//! Routes of the views over memory states: proficiency (mean predicted recall now), the
//! learner/team × topic heatmap, knowledge gain (first attempts → now → 30 days on) and
//! forgetting risk. The service computes them ([`crate::analytics`]); here they are parsed and
//! rendered.

use crate::http::caller::{Authorized, Staff};

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{cell, charts, negotiate, read_view, respond, OutputFormat, Table};
use crate::analytics;
use crate::analytics::forgetting_risk::{ForgettingRisk, RiskLimits};
use crate::analytics::heatmap::{Heatmap, HeatmapRows};
use crate::analytics::knowledge_gain::KnowledgeGain;
use crate::analytics::memory::GroupBy;
use crate::analytics::proficiency::ProficiencyReport;
use crate::analytics::scope::Narrowing;
use crate::error::{ApiResult, Problem};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProficiencyQuery {
    /// What the rows are: `topic` (the default), `team`, `pack` or `learner`.
    #[serde(default = "GroupBy::topic")]
    #[param(default = "topic")]
    pub group_by: GroupBy,
    /// Only this team (and teams nested below it).
    pub team_id: Option<String>,
    /// Only this pack (slug).
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
}

/// Proficiency: mean predicted recall now (FSRS retrievability) of the learner × nugget memory
/// states in scope, per learner, team, pack or topic, with the number of states behind each.
#[utoipa::path(
    tag = "analytics",
    params(ProficiencyQuery),
    responses(
        (status = 200, content((ProficiencyReport = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 404, description = "unknown team, pack or assignment", body = Problem, content_type = "application/problem+json"),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/proficiency")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "proficiency"))]
pub async fn proficiency(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<ProficiencyQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let (group_by, topic) = (q.group_by, q.topic);
    let (report, source) = read_view(&state, move |reader, now| {
        let topic = topic.as_deref();
        analytics::proficiency::proficiency(reader, &caller, now, &narrowing, group_by, topic)
    })
    .await?;
    let svg = |_: &ProficiencyReport| String::new();
    Ok(respond(
        format,
        source,
        &report,
        proficiency_table,
        svg,
        "proficiency",
    ))
}

fn proficiency_table(r: &ProficiencyReport) -> Table {
    let mut t = Table::new(&["group_by", "key", "label", "proficiency", "n"]);
    for g in &r.groups {
        t.push(vec![
            r.group_by.as_str().into(),
            g.key.clone(),
            g.label.clone(),
            cell(g.proficiency),
            g.n.to_string(),
        ]);
    }
    t
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HeatmapQuery {
    /// `team` (default) or `learner`.
    pub rows: Option<HeatmapRows>,
    pub team_id: Option<String>,
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// `json` (default), `csv` or `svg`.
    pub format: Option<OutputFormat>,
}

/// Learners or teams × topics: mean predicted recall now per cell, with the states behind it.
#[utoipa::path(
    tag = "analytics",
    params(HeatmapQuery),
    responses(
        (status = 200, content((Heatmap = "application/json"), (String = "text/csv"), (String = "image/svg+xml")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/heatmap")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "heatmap"))]
pub async fn heatmap(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<HeatmapQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, true)?;
    let rows_by = q.rows.unwrap_or(HeatmapRows::Team);
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let topic = q.topic;
    let (map, source) = read_view(&state, move |reader, now| {
        let topic = topic.as_deref();
        analytics::heatmap::heatmap(reader, &caller, now, &narrowing, rows_by, topic)
    })
    .await?;
    let svg = |m: &Heatmap| charts::grid(&heatmap_chart(m));
    Ok(respond(format, source, &map, heatmap_table, svg, "heatmap"))
}

fn heatmap_table(m: &Heatmap) -> Table {
    let mut t = Table::new(&["row_key", "row_label", "topic", "value", "n"]);
    for r in &m.rows {
        for c in &r.cells {
            t.push(vec![
                r.key.clone(),
                r.label.clone(),
                c.topic.clone(),
                cell(c.value),
                c.n.to_string(),
            ]);
        }
    }
    t
}

/// The heatmap as drawn: rows × topics, cells coloured by predicted recall.
fn heatmap_chart(m: &Heatmap) -> charts::Grid {
    charts::Grid {
        title: "Predicted recall now by topic".to_string(),
        columns: m.topics.clone(),
        rows: m
            .rows
            .iter()
            .map(|r| charts::GridRow {
                label: r.label.clone(),
                cells: r.cells.iter().map(|c| (c.value, c.n)).collect(),
            })
            .collect(),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GainQuery {
    /// `pack` (default), `team`, `topic` or `learner`.
    pub group_by: Option<GroupBy>,
    pub team_id: Option<String>,
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
}

/// Knowledge gain: initial proficiency (first attempts right) against proficiency now and the
/// proficiency predicted 30 days on without practice.
#[utoipa::path(
    tag = "analytics",
    params(GainQuery),
    responses(
        (status = 200, content((KnowledgeGain = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/knowledge-gain")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "knowledge-gain"))]
pub async fn knowledge_gain(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<GainQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let group_by = q.group_by.unwrap_or(GroupBy::Pack);
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let topic = q.topic;
    let (report, source) = read_view(&state, move |reader, now| {
        let topic = topic.as_deref();
        analytics::knowledge_gain::knowledge_gain(reader, &caller, now, &narrowing, group_by, topic)
    })
    .await?;
    let svg = |_: &KnowledgeGain| String::new();
    Ok(respond(
        format,
        source,
        &report,
        gain_table,
        svg,
        "knowledge-gain",
    ))
}

fn gain_table(r: &KnowledgeGain) -> Table {
    let mut t = Table::new(&[
        "group_by",
        "key",
        "label",
        "initial_proficiency",
        "proficiency",
        "predicted_proficiency_30d",
        "knowledge_gain",
        "n",
    ]);
    for g in &r.groups {
        t.push(vec![
            r.group_by.as_str().into(),
            g.key.clone(),
            g.label.clone(),
            cell(g.initial_proficiency),
            cell(g.proficiency),
            cell(g.predicted_proficiency_30d),
            cell(g.knowledge_gain),
            g.n.to_string(),
        ]);
    }
    t
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RiskQuery {
    /// Report learner × topic pairs whose predicted recall falls below this (0..1, default 0.8).
    pub threshold: Option<f64>,
    /// Horizon in days (1..=365, default 7).
    pub days: Option<i64>,
    pub team_id: Option<String>,
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// Most pairs returned (1..=10000, default 500), most urgent first.
    pub limit: Option<usize>,
    pub format: Option<OutputFormat>,
}

/// Forgetting risk: learner × topic pairs whose mean predicted recall falls below `threshold`
/// within `days` without practice, most urgent first, each with a suggestion.
#[utoipa::path(
    tag = "analytics",
    params(RiskQuery),
    responses(
        (status = 200, content((ForgettingRisk = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/forgetting-risk")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "forgetting-risk"))]
pub async fn forgetting_risk(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<RiskQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let limits = RiskLimits::new(q.threshold, q.days, q.limit)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let topic = q.topic;
    let (report, source) = read_view(&state, move |reader, now| {
        let topic = topic.as_deref();
        analytics::forgetting_risk::forgetting_risk(reader, &caller, now, &narrowing, limits, topic)
    })
    .await?;
    let svg = |_: &ForgettingRisk| String::new();
    Ok(respond(
        format,
        source,
        &report,
        risk_table,
        svg,
        "forgetting-risk",
    ))
}

fn risk_table(r: &ForgettingRisk) -> Table {
    let mut t = Table::new(&[
        "learner_id",
        "learner",
        "topic",
        "recall_now",
        "recall_at_horizon",
        "initial_proficiency",
        "n",
        "suggestion",
    ]);
    for k in &r.risks {
        t.push(vec![
            k.learner_id.clone(),
            k.learner.clone(),
            k.topic.clone(),
            cell(Some(k.recall_now)),
            cell(Some(k.recall_at_horizon)),
            cell(k.initial_proficiency),
            k.n.to_string(),
            k.suggestion.clone(),
        ]);
    }
    t
}
