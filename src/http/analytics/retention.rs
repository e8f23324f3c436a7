//! The retention curve: observed recall against the model's prediction by time since the
//! previous answer to the same nugget.

use crate::http::caller::{Authorized, Staff};
use foldhash::{HashMap, HashMapExt};

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{cell, charts, negotiate, respond, scope, share, Narrowing, OutputFormat, Table};
use crate::domain::analytics::{bucket_of, RetentionTally, RETENTION_BUCKETS};
use crate::error::{ApiResult, Problem};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;
use crate::store::analytics::{for_each_repeat, retention_rollup};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RetentionQuery {
    /// Only this pack (slug).
    pub pack: Option<String>,
    /// Only this team (and teams nested below it).
    pub team_id: Option<String>,
    /// `json` (default), `csv` or `svg`.
    pub format: Option<OutputFormat>,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionPoint {
    /// Days since the previous answer: `from_days` ≤ d < `to_days`.
    pub label: String,
    pub from_days: f64,
    /// Null for the open last bucket.
    pub to_days: Option<f64>,
    /// Answers in the bucket.
    pub n: u64,
    /// Share answered right.
    pub observed_recall: Option<f64>,
    /// The model's mean predicted recall for those answers, at the time they were given.
    pub predicted_recall: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionCurve {
    pub pack: Option<String>,
    pub buckets: Vec<RetentionPoint>,
}

/// Retention curve: for answers that follow an earlier answer to the same nugget, observed
/// recall against the model's predicted recall, bucketed by days since that earlier answer.
///
/// The whole organization is read from a roll-up kept as answers are recorded (predictions with
/// the parameters in force then); a team scope is computed from its answers.
#[utoipa::path(
    tag = "analytics",
    params(RetentionQuery),
    responses(
        (status = 200, content((RetentionCurve = "application/json"), (String = "text/csv"), (String = "image/svg+xml")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/retention-curve")]
pub async fn retention_curve(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<RetentionQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, true)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack.clone(),
        assignment_id: None,
    };
    let st = state.clone();
    let (curve, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let org = caller.org_id.as_str();
            let tallies: HashMap<usize, RetentionTally> = if s.whole_org() {
                retention_rollup(conn, org, s.filter.pack_id.as_deref())?
            } else {
                let mut t: HashMap<usize, RetentionTally> = HashMap::new();
                for_each_repeat(conn, org, &s.filter, |elapsed, stability, correct| {
                    t.entry(bucket_of(elapsed))
                        .or_default()
                        .add(correct, s.curve.recall(stability, elapsed));
                })?;
                t
            };
            Ok(RetentionCurve {
                pack: q.pack,
                buckets: RETENTION_BUCKETS
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let t = tallies.get(&i).copied().unwrap_or_default();
                        RetentionPoint {
                            label: b.label.to_string(),
                            from_days: b.from_days,
                            to_days: b.to_days,
                            n: t.reviews,
                            observed_recall: share(t.observed()),
                            predicted_recall: share(t.predicted()),
                        }
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &curve,
        |c| {
            let mut t = Table::new(&[
                "bucket",
                "from_days",
                "to_days",
                "n",
                "observed_recall",
                "predicted_recall",
            ]);
            for b in &c.buckets {
                t.push(vec![
                    b.label.clone(),
                    b.from_days.to_string(),
                    b.to_days.map(|d| d.to_string()).unwrap_or_default(),
                    b.n.to_string(),
                    cell(b.observed_recall),
                    cell(b.predicted_recall),
                ]);
            }
            t
        },
        |c| charts::lines(&curve_chart(c)),
        "retention-curve",
    ))
}

/// Observed against predicted recall per bucket of days since the previous answer.
fn curve_chart(c: &RetentionCurve) -> charts::Lines {
    let values = |value: fn(&RetentionPoint) -> Option<f64>| c.buckets.iter().map(value).collect();
    charts::Lines {
        title: match &c.pack {
            Some(p) => format!("Retention curve: {p}"),
            None => "Retention curve".to_string(),
        },
        x_labels: c
            .buckets
            .iter()
            .map(|b| format!("{} d (n={})", b.label, b.n))
            .collect(),
        series: vec![
            charts::Series {
                name: "observed recall".into(),
                values: values(|b| b.observed_recall),
            },
            charts::Series {
                name: "predicted recall".into(),
                values: values(|b| b.predicted_recall),
            },
        ],
    }
}
