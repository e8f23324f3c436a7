//! Assignments: a pack for a team and/or learners from a start date (authors, admins, and
//! managers for their own teams).

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::caller::{Assigners, Authorized, Readers};
use super::state::AppState;
use crate::assignments::{self, NewAssignment};
use crate::domain::assignments::{Assignment, PolicyName, Settings, SettingsInput};
use crate::domain::ids::AssignmentId;
use crate::error::{ApiError, ApiResult, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssignmentRequest {
    /// Slug of a published pack.
    pub pack: String,
    /// The team to assign to; name a team, learners, or both.
    pub team_id: Option<String>,
    /// Learners to assign to (at most 10000).
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub learner_ids: Vec<String>,
    /// Usually the training event's date.
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// Nuggets a day from this assignment (1..=20, default 3).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 1, maximum = 20)]
    pub daily_cap: Option<i32>,
    /// Target recall probability at review time (0.7..=0.99, default 0.9).
    #[schema(minimum = 0.7, maximum = 0.99)]
    pub desired_retention: Option<f64>,
    /// `fsrs` (default), `qstream` or `planner`.
    pub policy: Option<PolicyName>,
    /// "Ready by": the planner aims recall at this day (1 to 365 days after `starts_on`)
    /// instead of days 30–120 after the start; queued nuggets it brings forward for it say
    /// `at_risk`.
    pub target_date: Option<NaiveDate>,
    /// Right, sure and faster than this → Easy (500..=600000, default 8000 ms).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub fast_ms: Option<i32>,
    /// Right but slower than this → Hard (500..=600000 and above `fast_ms`, default 30000 ms).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub slow_ms: Option<i32>,
}

impl CreateAssignmentRequest {
    /// The audience named and the settings checked against the defaults.
    fn parse(self) -> ApiResult<NewAssignment> {
        if self.team_id.is_none() && self.learner_ids.is_empty() {
            return Err(ApiError::field(
                "team_id",
                "name a team_id or learner_ids (or both)",
            ));
        }
        if self.learner_ids.len() > 10_000 {
            return Err(ApiError::field(
                "learner_ids",
                "at most 10000 learners per assignment",
            ));
        }
        let settings = Settings::defaults(self.starts_on).apply(SettingsInput {
            daily_cap: self.daily_cap,
            desired_retention: self.desired_retention,
            policy: self.policy,
            fast_ms: self.fast_ms,
            slow_ms: self.slow_ms,
            starts_on: None,
            ends_on: Some(self.ends_on),
            target_date: Some(self.target_date),
        })?;
        Ok(NewAssignment {
            pack: self.pack,
            team_id: self.team_id,
            learner_ids: self.learner_ids,
            settings,
        })
    }
}

/// Assign a published pack.
#[utoipa::path(
    tag = "assignments",
    request_body = CreateAssignmentRequest,
    responses(
        (status = 201, body = Assignment),
        (status = 403, description = "not an author, admin or manager; or a manager naming another team or learners", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such pack, team or learner: `errors` names the field", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the pack has no published version yet", body = Problem, content_type = "application/problem+json"),
        ),
    security(("bearer" = []))
)]
#[post("/api/v1/assignments")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_assignment(
    state: web::Data<AppState>,
    caller: Authorized<Assigners>,
    body: Json<CreateAssignmentRequest>,
) -> ApiResult<HttpResponse> {
    let (new, now) = (body.0.parse()?, state.clock.now());
    let created = state
        .db(move |conn| assignments::create(conn, &caller, &new, now))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Assignments (managers: those of their teams).
#[utoipa::path(
    tag = "assignments",
    responses((status = 200, body = Vec<Assignment>), ),
    security(("bearer" = []))
)]
#[get("/api/v1/assignments")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_assignments(
    state: web::Data<AppState>,
    caller: Authorized<Readers>,
) -> ApiResult<web::Json<Vec<Assignment>>> {
    let list = state
        .db(move |conn| assignments::list(conn, &caller))
        .await?;
    Ok(web::Json(list))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAssignmentRequest {
    pub starts_on: Option<NaiveDate>,
    /// Not before `starts_on`.
    pub ends_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 1, maximum = 20)]
    pub daily_cap: Option<i32>,
    #[schema(minimum = 0.7, maximum = 0.99)]
    pub desired_retention: Option<f64>,
    pub policy: Option<PolicyName>,
    /// 1 to 365 days after `starts_on`.
    pub target_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub fast_ms: Option<i32>,
    /// Above `fast_ms`.
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub slow_ms: Option<i32>,
}

impl From<UpdateAssignmentRequest> for SettingsInput {
    fn from(b: UpdateAssignmentRequest) -> SettingsInput {
        SettingsInput {
            daily_cap: b.daily_cap,
            desired_retention: b.desired_retention,
            policy: b.policy,
            fast_ms: b.fast_ms,
            slow_ms: b.slow_ms,
            starts_on: b.starts_on,
            ends_on: b.ends_on.map(Some),
            target_date: b.target_date.map(Some),
        }
    }
}

/// Change an assignment's dates, cap, retention, policy or thresholds.
#[utoipa::path(
    tag = "assignments",
    params(("id" = String, Path, description = "assignment id")),
    request_body = UpdateAssignmentRequest,
    responses(
        (status = 200, body = Assignment),
        ),
    security(("bearer" = []))
)]
#[patch("/api/v1/assignments/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, assignment_id = %id))]
pub async fn update_assignment(
    state: web::Data<AppState>,
    caller: Authorized<Assigners>,
    id: web::Path<AssignmentId>,
    body: Json<UpdateAssignmentRequest>,
) -> ApiResult<web::Json<Assignment>> {
    let (id, changes) = (id.into_inner(), SettingsInput::from(body.0));
    let now = state.clock.now();
    let updated = state
        .db(move |conn| assignments::update(conn, &caller, &id, changes, now))
        .await?;
    Ok(web::Json(updated))
}

/// End an assignment: its nuggets leave the learners' queues; history stays.
#[utoipa::path(
    tag = "assignments",
    params(("id" = String, Path, description = "assignment id")),
    responses((status = 200, body = Assignment), ),
    security(("bearer" = []))
)]
#[post("/api/v1/assignments/{id}/end")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, assignment_id = %id))]
pub async fn end_assignment(
    state: web::Data<AppState>,
    caller: Authorized<Assigners>,
    id: web::Path<AssignmentId>,
) -> ApiResult<web::Json<Assignment>> {
    let (id, now) = (id.into_inner(), state.clock.now());
    let ended = state
        .db(move |conn| assignments::end(conn, &caller, &id, now))
        .await?;
    Ok(web::Json(ended))
}
