//! Business KPIs (sales figures per seller and period) and their correlation with proficiency.

use crate::http::caller::{Analysts, Authorized, Staff};
use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, BTreeSet};

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{cell, negotiate, respond, scope, share, Narrowing, OutputFormat, Table};
use crate::domain::analytics::{parse_kpis, pearson, spearman, Mean, MIN_CORRELATION_PAIRS};
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;
use crate::store::analytics::{self as analytics_store, fold_memory, MemoryFact, MemoryRead};
use crate::store::{self};

/// (proficiency, KPI value) of the sellers in one group.
type Pairs = (Vec<f64>, Vec<f64>);

#[derive(Serialize, ToSchema)]
pub struct KpiUpload {
    /// Values stored (each replaced any earlier value of the same seller, period and metric).
    pub rows: usize,
    pub sellers: usize,
    pub metrics: Vec<String>,
    pub periods: Vec<String>,
}

/// Upload KPI values as CSV (`email,period,metric,value`; analysts and admins). All or nothing:
/// every problem is reported with its line; a value for the same seller, period and metric
/// replaces the earlier one.
#[utoipa::path(
    tag = "analytics",
    request_body(content = String, content_type = "text/csv",
        description = "Header `email,period,metric,value`, then one row per seller, period and metric"),
    responses(
        (status = 200, body = KpiUpload),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "every error with its line", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/kpis")]
pub async fn upload_kpis(
    state: web::Data<AppState>,
    caller: Authorized<Analysts>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<web::Json<KpiUpload>> {
    let is_csv = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "text/csv");
    if !is_csv {
        return Err(ApiError::Unsupported(
            "send KPIs as text/csv with the header email,period,metric,value".into(),
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the upload is not valid UTF-8 text".into()))?;
    let lines = parse_kpis(text).map_err(ApiError::validation)?;
    let st = state.clone();
    let upload = state
        .db(move |conn| {
            let org = caller.org_id.as_str();
            let dir = analytics_store::directory(conn, org)?;
            let by_email: HashMap<&str, &str> = dir
                .users
                .iter()
                .map(|(id, (_, email, _))| (email.as_str(), id.as_str()))
                .collect();
            let mut errors = Vec::new();
            let mut rows = Vec::with_capacity(lines.len());
            for l in &lines {
                match by_email.get(l.email.as_str()) {
                    Some(id) => {
                        rows.push((id.to_string(), l.period.clone(), l.metric.clone(), l.value))
                    }
                    None => errors.push(FieldError {
                        line: Some(l.line),
                        ..FieldError::new(
                            "email",
                            format!("no user {} in this organization", l.email),
                        )
                    }),
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            let now = st.clock.now().naive_utc();
            store::write_tx(conn, |conn| {
                analytics_store::replace_kpis(conn, org, &rows, now)
            })?;
            let set = |f: fn(&(String, String, String, f64)) -> &String| {
                rows.iter().map(f).cloned().collect::<BTreeSet<_>>()
            };
            Ok(KpiUpload {
                rows: rows.len(),
                sellers: set(|r| &r.0).len(),
                metrics: set(|r| &r.2).into_iter().collect(),
                periods: set(|r| &r.1).into_iter().collect(),
            })
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

#[derive(Serialize, ToSchema)]
pub struct Correlation {
    pub metric: String,
    pub period: String,
    /// Null for everyone in scope.
    pub team_id: Option<String>,
    pub team: String,
    /// Sellers with both a proficiency and a value.
    pub n: usize,
    /// Pearson's r (null when fewer than two pairs or no variation).
    pub pearson: Option<f64>,
    /// Spearman's rho (ranks; ties averaged).
    pub spearman: Option<f64>,
    /// True when n < 8: too few sellers for the coefficients to mean much.
    pub too_small: bool,
}

#[derive(Serialize, ToSchema)]
pub struct KpiCorrelation {
    /// Below this many pairs a correlation is flagged `too_small`.
    pub min_pairs: usize,
    pub correlations: Vec<Correlation>,
}

/// Correlation between each seller's current proficiency (mean predicted recall now) and a KPI,
/// per metric, period and team, and for everyone in scope.
#[utoipa::path(
    tag = "analytics",
    params(CorrelationQuery),
    responses(
        (status = 200, content((KpiCorrelation = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/kpi-correlation")]
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
    let st = state.clone();
    let (report, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let org = caller.org_id.as_str();
            let mut proficiency: HashMap<String, Mean> = HashMap::new();
            let now_us = s.now.timestamp_micros();
            let fold = |m: &mut Mean, f: MemoryFact<'_>| m.add(f.recall_at(&s.curve, now_us));
            fold_memory(
                conn,
                org,
                &s.filter,
                MemoryRead::Recall,
                fold,
                |learner, m| {
                    proficiency.entry(learner.to_string()).or_default().merge(m);
                },
            )?;
            let values =
                analytics_store::kpis(conn, org, q.metric.as_deref(), q.period.as_deref())?;
            // (metric, period) → group index → pairs; the last group is everyone in scope.
            let all = s.teams.len();
            let mut pairs: BTreeMap<(String, String), BTreeMap<usize, Pairs>> = BTreeMap::new();
            for (user, period, metric, value) in values {
                let Some(p) = proficiency.get(&user).and_then(Mean::value) else {
                    continue;
                };
                let groups = pairs.entry((metric, period)).or_default();
                for &g in s.teams_of(&user).iter().chain(std::iter::once(&all)) {
                    let (xs, ys) = groups.entry(g).or_default();
                    xs.push(p);
                    ys.push(value);
                }
            }
            let mut correlations = Vec::new();
            for ((metric, period), groups) in pairs {
                for (g, (xs, ys)) in groups {
                    let (team_id, team) = match s.teams.get(g) {
                        Some(t) => (Some(t.id.clone()), t.name.clone()),
                        None => (None, "All in scope".to_string()),
                    };
                    correlations.push(Correlation {
                        metric: metric.clone(),
                        period: period.clone(),
                        team_id,
                        team,
                        n: xs.len(),
                        pearson: share(pearson(&xs, &ys)),
                        spearman: share(spearman(&xs, &ys)),
                        too_small: xs.len() < MIN_CORRELATION_PAIRS,
                    });
                }
            }
            Ok(KpiCorrelation {
                min_pairs: MIN_CORRELATION_PAIRS,
                correlations,
            })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &report,
        |r| {
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
        },
        |_| String::new(),
        "kpi-correlation",
    ))
}
