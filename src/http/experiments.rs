//! Experiments (authors and admins): an assignment's learners split between arms scheduled by
//! different policies, compared on probes of retention and on uploaded KPIs.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::caller::{Authorized, Authors};
use super::state::AppState;
use crate::domain::assignments::PolicyName;
use crate::domain::experiments::{kpis, Arm, Design};
use crate::domain::ids::{AssignmentId, ExperimentId};
use crate::error::{ApiError, ApiResult, Problem};
use crate::experiments::{self, ExperimentReport, ExperimentSummary, KpiUploaded};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArm {
    /// Unique within the experiment (1–64 characters).
    pub name: String,
    /// The spacing policy of this arm's learners: any policy an assignment takes.
    pub policy: PolicyName,
    /// FSRS's desired retention for this arm (0.7..=0.99); the assignment's when absent.
    #[schema(minimum = 0.7, maximum = 0.99)]
    pub desired_retention: Option<f64>,
    /// The arm the others are compared with: exactly one arm.
    #[serde(default)]
    pub control: bool,
    /// Share of the learners, above 0 and at most 1; the arms' shares sum to 1.
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub share: f64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExperimentRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The assignment whose learners are split (one experiment at a time per assignment).
    #[schema(value_type = String)]
    pub assignment_id: AssignmentId,
    /// Two to ten arms.
    #[schema(min_items = 2, max_items = 10)]
    pub arms: Vec<NewArm>,
    /// Probes a week per learner (1..=7, default 1).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 1, maximum = 7)]
    pub probes_per_week: Option<i32>,
}

impl CreateExperimentRequest {
    fn parse(self) -> ApiResult<(AssignmentId, Design)> {
        let arms = self
            .arms
            .into_iter()
            .map(|a| Arm {
                name: a.name,
                policy: a.policy,
                desired_retention: a.desired_retention,
                control: a.control,
                share: a.share,
            })
            .collect();
        // A negative count is out of range like 0: the domain's check names the field.
        let probes = self.probes_per_week.map(|p| p.max(0) as u32);
        let design = Design::check(&self.name, arms, probes).map_err(ApiError::validation)?;
        Ok((self.assignment_id, design))
    }
}

/// Start an experiment on an assignment (authors, admins). Its learners are split at random
/// between the arms (stable per learner, recorded), each arm scheduled by its own policy, and
/// `probes_per_week` of their questions measure retention.
#[utoipa::path(
    tag = "experiments",
    request_body = CreateExperimentRequest,
    responses(
        (status = 201, body = ExperimentReport),
        (status = 404, description = "no such assignment: `errors` names `assignment_id`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "an experiment already runs on the assignment, or it has ended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a bad design: `errors` names each field (`arms`, `arms[1].share`, …)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/experiments")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_experiment(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    body: Json<CreateExperimentRequest>,
) -> ApiResult<HttpResponse> {
    let ((assignment_id, design), now) = (body.0.parse()?, state.clock.now());
    let created = state
        .db(move |conn| experiments::create(conn, &caller, &assignment_id, design, now))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// The organization's experiments, newest first (authors, admins).
#[utoipa::path(
    tag = "experiments",
    responses((status = 200, body = Vec<ExperimentSummary>)),
    security(("bearer" = []))
)]
#[get("/api/v1/experiments")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_experiments(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
) -> ApiResult<web::Json<Vec<ExperimentSummary>>> {
    let list = state
        .db(move |conn| experiments::list(conn, &caller))
        .await?;
    Ok(web::Json(list))
}

/// An experiment with, per arm, its learners, questions per learner, probe recall corrected for
/// guessing with its 95 % interval, and the difference from the control with its interval and
/// p-value; the same for each uploaded KPI (authors, admins).
#[utoipa::path(
    tag = "experiments",
    params(("id" = String, Path, description = "experiment id")),
    responses(
        (status = 200, body = ExperimentReport),
        (status = 404, description = "no such experiment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/experiments/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, experiment_id = %id))]
pub async fn get_experiment(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    id: web::Path<ExperimentId>,
) -> ApiResult<web::Json<ExperimentReport>> {
    let id = id.into_inner();
    let report = state
        .db(move |conn| experiments::report(conn, &caller, &id))
        .await?;
    Ok(web::Json(report))
}

/// Stop an experiment: its learners return to the assignment's policy; its figures stay
/// (authors, admins).
#[utoipa::path(
    tag = "experiments",
    params(("id" = String, Path, description = "experiment id")),
    responses(
        (status = 200, body = ExperimentReport),
        (status = 404, description = "no such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already stopped", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/experiments/{id}/stop")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, experiment_id = %id))]
pub async fn stop_experiment(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    id: web::Path<ExperimentId>,
) -> ApiResult<web::Json<ExperimentReport>> {
    let (id, now) = (id.into_inner(), state.clock.now());
    let stopped = state
        .db(move |conn| experiments::stop(conn, &caller, &id, now))
        .await?;
    Ok(web::Json(stopped))
}

/// Upload KPIs of the experiment's learners as CSV (`email,kpi,value`, e.g. quota attainment;
/// authors, admins). All or nothing: every problem is reported with its line; a value for the
/// same learner and KPI replaces the earlier one.
#[utoipa::path(
    tag = "experiments",
    params(("id" = String, Path, description = "experiment id")),
    request_body(content = String, content_type = "text/csv",
        description = "Header `email,kpi,value`, then one row per learner and KPI"),
    responses(
        (status = 200, body = KpiUploaded),
        (status = 404, description = "no such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not text/csv", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "every error with its line", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/experiments/{id}/kpis")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, experiment_id = %id))]
pub async fn upload_experiment_kpis(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    id: web::Path<ExperimentId>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<web::Json<KpiUploaded>> {
    if !super::body::is_csv(&req) {
        return Err(ApiError::Unsupported(
            "send KPIs as text/csv with the header email,kpi,value".into(),
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the upload is not valid UTF-8 text".into()))?;
    let lines = kpis::parse(text).map_err(ApiError::validation)?;
    let (id, now) = (id.into_inner(), state.clock.now());
    let uploaded = state
        .db(move |conn| experiments::upload_kpis(conn, &caller, &id, &lines, now))
        .await?;
    Ok(web::Json(uploaded))
}
