//! Field observations: managers (for the people of their own teams) and admins record how far a
//! seller applied a topic in a customer meeting or a ride-along; the knowledge × application
//! view weighs them against what the seller knows.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::caller::{Authorized, Coaches, SelfOr};
use super::state::AppState;
use crate::domain::application::{Observation, MAX_NOTE, MAX_TOPIC};
use crate::domain::ids::UserId;
use crate::error::{ApiResult, Problem};
use crate::observations::{self, ObservationRequest};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateObservationRequest {
    /// The seller observed: one of the caller's people (managers), anyone in the organization
    /// but the caller (admins).
    #[schema(value_type = String)]
    pub learner_id: UserId,
    /// A topic of the organization's nuggets (compared without regard to case).
    #[schema(min_length = 1, max_length = 200)]
    pub topic: String,
    /// How far the seller applied it: 1 not at all, 2 partly, prompted, 3 mostly, 4 fully and
    /// unprompted.
    #[serde(deserialize_with = "super::body::whole::any_i32")]
    #[schema(value_type = i32, minimum = 1, maximum = 4)]
    pub applied: i32,
    /// What the observer saw; line breaks are kept.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// The day of the meeting: not after today in the organization's time zone, at most 365
    /// days before.
    pub observed_on: NaiveDate,
}

/// Record a field observation: how far a seller applied a topic in a customer meeting or a
/// ride-along (managers for the people of their own teams, admins for anyone in the
/// organization). The knowledge × application view weighs it, decayed with age.
#[utoipa::path(
    tag = "coaching",
    request_body = CreateObservationRequest,
    responses(
        (status = 201, body = Observation),
        (status = 403, description = "the caller is not a manager or an admin, or the seller is not in the manager's teams", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such user in the organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a bad field: `applied` outside 1..4, an `observed_on` in the future or over a year ago, a topic no nugget has, a note too long, the caller themself as `learner_id`; `errors` names each field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/observations")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_observation(
    state: web::Data<AppState>,
    caller: Authorized<Coaches>,
    body: Json<CreateObservationRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let req = ObservationRequest {
        learner_id: b.learner_id,
        topic: b.topic,
        applied: i64::from(b.applied),
        note: b.note,
        observed_on: b.observed_on,
    };
    let now = state.clock.now();
    let observation = state
        .db(move |conn| observations::create(conn, &caller, req, now))
        .await?;
    Ok(HttpResponse::Created().json(observation))
}

/// A seller's field observations, the latest day first (the seller themself, managers for the
/// people of their own teams, admins).
#[utoipa::path(
    tag = "coaching",
    params(("id" = String, Path, description = "the seller's user id")),
    responses(
        (status = 200, body = Vec<Observation>),
        (status = 403, description = "the seller is not in the manager's teams", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such user in the organization", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/users/{id}/observations")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn list_observations(
    state: web::Data<AppState>,
    caller: Authorized<SelfOr<Coaches>>,
    id: web::Path<UserId>,
) -> ApiResult<web::Json<Vec<Observation>>> {
    let learner = id.into_inner();
    let list = state
        .db(move |conn| observations::list(conn, &caller, &learner))
        .await?;
    Ok(web::Json(list))
}

// The lengths the request schema states are the domain's rules.
const _: () = assert!(MAX_TOPIC == 200 && MAX_NOTE == 2000);
