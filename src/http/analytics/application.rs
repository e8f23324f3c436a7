//! The knowledge × application view's route: per learner and topic, predicted recall beside
//! the decayed application evidence, the quadrant and the manager's next step
//! ([`crate::analytics::knowledge_application`]).

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{cell, negotiate, read_view, respond, OutputFormat, Table};
use crate::analytics;
use crate::analytics::knowledge_application::KnowledgeApplication;
use crate::analytics::scope::Narrowing;
use crate::error::{ApiResult, Problem};
use crate::http::caller::{Authorized, Staff};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApplicationQuery {
    /// Only this team (and teams nested below it).
    pub team_id: Option<String>,
    /// Only the topics of this pack's nuggets (slug).
    pub pack: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
}

/// Knowledge × application: per learner and topic, proficiency (predicted recall now) beside
/// application (field observations, decayed with a 60-day half-life), the quadrant they place
/// the seller in, and one next step for the manager (`refresher`, `pitch`, `ride_along` or
/// `none`) with a sentence. Managers see their teams' people; analysts and admins the
/// organization.
#[utoipa::path(
    tag = "analytics",
    params(ApplicationQuery),
    responses(
        (status = 200, content((KnowledgeApplication = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 404, description = "unknown team or pack", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/knowledge-application")]
#[tracing::instrument(skip_all, fields(org = %caller.org_id, view = "knowledge-application"))]
pub async fn knowledge_application(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<ApplicationQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: None,
    };
    let (report, source) = read_view(&state, move |reader, now| {
        analytics::knowledge_application::knowledge_application(reader, &caller, now, &narrowing)
    })
    .await?;
    let svg = |_: &KnowledgeApplication| String::new();
    Ok(respond(
        format,
        source,
        &report,
        application_table,
        svg,
        "knowledge-application",
    ))
}

/// The CSV: one row per learner × topic.
fn application_table(r: &KnowledgeApplication) -> Table {
    let mut t = Table::new(&[
        "learner_id",
        "learner",
        "topic",
        "proficiency",
        "n",
        "application",
        "evidence",
        "latest_evidence_on",
        "quadrant",
        "next_action",
        "advice",
    ]);
    for c in &r.cells {
        t.push(vec![
            c.learner_id.clone(),
            c.learner.clone(),
            c.topic.clone(),
            cell(c.proficiency),
            c.n.to_string(),
            cell(c.application),
            c.evidence.to_string(),
            c.latest_evidence_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            c.quadrant.as_str().into(),
            c.next_action.as_str().into(),
            c.advice.clone(),
        ]);
    }
    t
}
