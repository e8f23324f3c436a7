//! The route of the retention curve: observed recall against the model's prediction by time
//! since the previous answer to the same nugget ([`crate::analytics::retention`]).

use crate::http::caller::{Authorized, Staff};

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{cell, charts, negotiate, read_view, respond, OutputFormat, Table};
use crate::analytics;
use crate::analytics::retention::{RetentionCurve, RetentionPoint};
use crate::analytics::scope::Narrowing;
use crate::error::ApiResult;
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;

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
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/retention-curve")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "retention-curve"))]
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
        pack: q.pack,
        assignment_id: None,
    };
    let (curve, source) = read_view(&state, move |reader, now| {
        analytics::retention::retention_curve(reader, &caller, now, &narrowing)
    })
    .await?;
    let svg = |c: &RetentionCurve| charts::lines(&curve_chart(c));
    Ok(respond(
        format,
        source,
        &curve,
        curve_table,
        svg,
        "retention-curve",
    ))
}

fn curve_table(c: &RetentionCurve) -> Table {
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
