//! Assignments: a pack for a team and/or learners from a start date (authors, admins, and
//! managers for their own teams).

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::caller::Caller;
use super::caller::{Assigners, Authorized, Readers};
use super::state::AppState;
use crate::domain::accounts::Role;
use crate::domain::assignments::{Assignment, PolicyName, Settings, SettingsInput};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::{
    self, accounts as account_store, assignments as assignment_store, new_id, DbConnection,
};

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
    /// `fsrs` (default) or `qstream`.
    pub policy: Option<PolicyName>,
    /// Right, sure and faster than this → Easy (500..=600000, default 8000 ms).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub fast_ms: Option<i32>,
    /// Right but slower than this → Hard (500..=600000 and above `fast_ms`, default 30000 ms).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub slow_ms: Option<i32>,
}

/// Managers may only assign to, and see, their own teams (and teams nested below them).
fn check_manager_scope(
    conn: &mut DbConnection,
    caller: &Caller,
    team_id: Option<&str>,
    learners: &[String],
) -> ApiResult<()> {
    if caller.role != Role::Manager {
        return Ok(());
    }
    let scope = account_store::team_scope(conn, &caller.org_id, &caller.user_id)?;
    match team_id {
        Some(team) if scope.iter().any(|t| t == team) && learners.is_empty() => Ok(()),
        _ => Err(ApiError::Forbidden(
            "managers assign packs to their own teams only".into(),
        )),
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
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/assignments")]
pub async fn create_assignment(
    state: web::Data<AppState>,
    caller: Authorized<Assigners>,
    body: Json<CreateAssignmentRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    if b.team_id.is_none() && b.learner_ids.is_empty() {
        return Err(ApiError::field(
            "team_id",
            "name a team_id or learner_ids (or both)",
        ));
    }
    if b.learner_ids.len() > 10_000 {
        return Err(ApiError::field(
            "learner_ids",
            "at most 10000 learners per assignment",
        ));
    }
    let settings = Settings::defaults(b.starts_on).apply(SettingsInput {
        daily_cap: b.daily_cap,
        desired_retention: b.desired_retention,
        policy: b.policy,
        fast_ms: b.fast_ms,
        slow_ms: b.slow_ms,
        starts_on: None,
        ends_on: Some(b.ends_on),
    })?;
    let st = state.clone();
    let created = state
        .db(move |conn| {
            check_manager_scope(conn, &caller, b.team_id.as_deref(), &b.learner_ids)?;
            let id = new_id();
            let new = assignment_store::NewAssignment {
                id: &id,
                pack_slug: &b.pack,
                team_id: b.team_id.as_deref(),
                learner_ids: &b.learner_ids,
                settings: &settings,
                created_by: &caller.user_id,
            };
            let now = st.clock.now();
            let outcome = store::write_tx(conn, |conn| {
                assignment_store::create(conn, &caller.org_id, new, now)
            })?;
            // A reference to something that does not exist is a 404 naming the field; a pack
            // that exists but has nothing published yet is a conflict with its state.
            outcome.map_err(|missing| match missing {
                assignment_store::MissingRef::Pack => ApiError::missing("pack", "no such pack"),
                assignment_store::MissingRef::Unpublished => {
                    ApiError::Conflict("pack: the pack has no published version yet".into())
                }
                assignment_store::MissingRef::Team => ApiError::missing("team_id", "no such team"),
                assignment_store::MissingRef::Learner(id) => {
                    ApiError::missing("learner_ids", format!("no such user {id}"))
                }
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Assignments (managers: those of their teams).
#[utoipa::path(
    tag = "assignments",
    responses((status = 200, body = Vec<Assignment>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/api/v1/assignments")]
pub async fn list_assignments(
    state: web::Data<AppState>,
    caller: Authorized<Readers>,
) -> ApiResult<web::Json<Vec<Assignment>>> {
    let list = state
        .db(move |conn| {
            let scope = match caller.role {
                Role::Manager => Some(account_store::team_scope(
                    conn,
                    &caller.org_id,
                    &caller.user_id,
                )?),
                _ => None,
            };
            Ok(assignment_store::list(
                conn,
                &caller.org_id,
                scope.as_deref(),
            )?)
        })
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
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub fast_ms: Option<i32>,
    /// Above `fast_ms`.
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 500, maximum = 600000)]
    pub slow_ms: Option<i32>,
}

fn load_in_scope(conn: &mut DbConnection, caller: &Caller, id: &str) -> ApiResult<Assignment> {
    let a = assignment_store::get(conn, &caller.org_id, id)?;
    if caller.role == Role::Manager {
        let scope = account_store::team_scope(conn, &caller.org_id, &caller.user_id)?;
        if !a.team_id.as_ref().is_some_and(|t| scope.contains(t)) {
            return Err(ApiError::NotFound("no such resource".into()));
        }
    }
    Ok(a)
}

/// Change an assignment's dates, cap, retention, policy or thresholds.
#[utoipa::path(
    tag = "assignments",
    params(("id" = String, Path, description = "assignment id")),
    request_body = UpdateAssignmentRequest,
    responses(
        (status = 200, body = Assignment),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/assignments/{id}")]
pub async fn update_assignment(
    state: web::Data<AppState>,
    caller: Authorized<Assigners>,
    id: web::Path<String>,
    body: Json<UpdateAssignmentRequest>,
) -> ApiResult<web::Json<Assignment>> {
    let id = id.into_inner();
    let b = body.0;
    let updated = state
        .db(move |conn| {
            store::write_tx(conn, |conn| {
                let a = load_in_scope(conn, &caller, &id)?;
                let next = a.settings().apply(SettingsInput {
                    daily_cap: b.daily_cap,
                    desired_retention: b.desired_retention,
                    policy: b.policy,
                    fast_ms: b.fast_ms,
                    slow_ms: b.slow_ms,
                    starts_on: b.starts_on,
                    ends_on: b.ends_on.map(Some),
                })?;
                Ok(assignment_store::update(conn, &caller.org_id, &id, &next)?)
            })
        })
        .await?;
    Ok(web::Json(updated))
}

/// End an assignment: its nuggets leave the learners' queues; history stays.
#[utoipa::path(
    tag = "assignments",
    params(("id" = String, Path, description = "assignment id")),
    responses((status = 200, body = Assignment), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/api/v1/assignments/{id}/end")]
pub async fn end_assignment(
    state: web::Data<AppState>,
    caller: Authorized<Assigners>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Assignment>> {
    let id = id.into_inner();
    let st = state.clone();
    let ended = state
        .db(move |conn| {
            load_in_scope(conn, &caller, &id)?;
            Ok(assignment_store::end(
                conn,
                &caller.org_id,
                &id,
                st.clock.now(),
            )?)
        })
        .await?;
    Ok(web::Json(ended))
}
