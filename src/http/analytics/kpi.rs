//! Routes of business KPIs (sales figures per seller and period): the CSV upload and their
//! correlation with proficiency ([`crate::analytics::kpi`]).

use crate::http::caller::{Analysts, Authorized, Staff};

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{cell, negotiate, read_view, respond, OutputFormat, Table};
use crate::analytics;
use crate::analytics::kpi::{KpiCorrelation, KpiUpload};
use crate::analytics::scope::Narrowing;
use crate::domain::analytics::parse_kpis;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;

/// Upload KPI values as CSV (`email,period,metric,value`; analysts and admins). All or nothing:
/// every problem is reported with its line; a value for the same seller, period and metric
/// replaces the earlier one.
#[utoipa::path(
    tag = "analytics",
    request_body(content = String, content_type = "text/csv",
        description = "Header `email,period,metric,value`, then one row per seller, period and metric"),
    responses(
        (status = 200, body = KpiUpload),
        (status = 422, description = "every error with its line", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/kpis")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "kpis"))]
pub async fn upload_kpis(
    state: web::Data<AppState>,
    caller: Authorized<Analysts>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<web::Json<KpiUpload>> {
    if !crate::http::body::is_csv(&req) {
        return Err(ApiError::Unsupported(
            "send KPIs as text/csv with the header email,period,metric,value".into(),
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the upload is not valid UTF-8 text".into()))?;
    let lines = parse_kpis(text).map_err(ApiError::validation)?;
    let (clock, span) = (state.clock.clone(), tracing::Span::current());
    let upload = state
        .db(move |conn| {
            span.in_scope(|| analytics::kpi::upload(conn, &caller, &lines, clock.now()))
        })
        .await?;
    Ok(web::Json(upload))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CorrelationQuery {
    pub metric: Option<String>,
    pub period: Option<String>,
    /// Only this team (and teams nested below it).
    pub team_id: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
}

/// Correlation between each seller's current proficiency (mean predicted recall now) and a KPI,
/// per metric, period and team, and for everyone in scope.
#[utoipa::path(
    tag = "analytics",
    params(CorrelationQuery),
    responses(
        (status = 200, content((KpiCorrelation = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/kpi-correlation")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "kpi-correlation"))]
pub async fn kpi_correlation(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<CorrelationQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        ..Narrowing::default()
    };
    let (metric, period) = (q.metric, q.period);
    let (report, source) = read_view(&state, move |reader, now| {
        let (metric, period) = (metric.as_deref(), period.as_deref());
        analytics::kpi::correlation(reader, &caller, now, &narrowing, metric, period)
    })
    .await?;
    let svg = |_: &KpiCorrelation| String::new();
    Ok(respond(
        format,
        source,
        &report,
        correlation_table,
        svg,
        "kpi-correlation",
    ))
}

fn correlation_table(r: &KpiCorrelation) -> Table {
    let mut t = Table::new(&[
        "metric",
        "period",
        "team_id",
        "team",
        "n",
        "pearson",
        "spearman",
        "too_small",
    ]);
    for c in &r.correlations {
        t.push(vec![
            c.metric.clone(),
            c.period.clone(),
            c.team_id.clone().unwrap_or_default(),
            c.team.clone(),
            c.n.to_string(),
            cell(c.pearson),
            cell(c.spearman),
            c.too_small.to_string(),
        ]);
    }
    t
}
