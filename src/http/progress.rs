//! The seller's progress and vacation holds.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::caller::Caller;
use super::state::AppState;
use crate::error::ApiResult;
use crate::progress::{self, Pause, Progress};

/// Proficiency per pack and topic, initial vs now, streak and the week ahead.
#[utoipa::path(
    tag = "learner",
    responses((status = 200, body = Progress), ),
    security(("bearer" = []))
)]
#[get("/api/v1/me/progress")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn get_progress(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Progress>> {
    let now = state.clock.now();
    let progress = state
        .db(move |conn| progress::progress(conn, &caller, now))
        .await?;
    Ok(web::Json(progress))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePauseRequest {
    /// First day off (today or later, in the learner's time zone).
    pub starts_on: NaiveDate,
    /// Last day off; at most 90 days after `starts_on`.
    pub ends_on: NaiveDate,
}

/// Hold nuggets for a vacation: nothing is due on those days, and due dates move later by the
/// pause's length.
#[utoipa::path(
    tag = "learner",
    request_body = CreatePauseRequest,
    responses((status = 201, body = Pause), ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/pause")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn post_pause(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePauseRequest>,
) -> ApiResult<HttpResponse> {
    let CreatePauseRequest { starts_on, ends_on } = body.0;
    let now = state.clock.now();
    let pause = state
        .db(move |conn| progress::add_pause(conn, &caller, starts_on, ends_on, now))
        .await?;
    Ok(HttpResponse::Created().json(pause))
}

/// The caller's pauses, newest first.
#[utoipa::path(tag = "learner", responses((status = 200, body = Vec<Pause>)), security(("bearer" = [])))]
#[get("/api/v1/me/pauses")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_pauses(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<Pause>>> {
    let list = state
        .db(move |conn| progress::pauses(conn, &caller))
        .await?;
    Ok(web::Json(list))
}
