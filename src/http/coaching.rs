//! Coaching notes: managers (for their own teams' people) and admins write to a seller on a
//! topic; the seller sees the note with their next nugget of that topic and marks it seen.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::caller::{Authorized, Caller, Coaches, SelfOr};
use super::state::AppState;
use crate::coaching::{self, Note};
use crate::domain::coaching::NoteText;
use crate::domain::ids::{NoteId, UserId};
use crate::error::{ApiError, ApiResult, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNoteRequest {
    /// A topic of the organization's nuggets (compared without regard to case).
    #[schema(min_length = 1, max_length = 200)]
    pub topic: String,
    /// What the coach says; line breaks are kept.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
}

/// Write a coaching note to a seller on a topic (managers for the people of their own teams,
/// admins). The seller's queue carries it as `coach_note` on their next nugget of that topic
/// until they mark it seen.
#[utoipa::path(
    tag = "coaching",
    params(("id" = String, Path, description = "the seller's user id")),
    request_body = CreateNoteRequest,
    responses(
        (status = 201, body = Note),
        (status = 404, description = "no such user (for managers: not in their teams)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an empty or too long topic or body, or a topic no nugget has: `errors` names each field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/users/{id}/notes")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn create_note(
    state: web::Data<AppState>,
    caller: Authorized<Coaches>,
    id: web::Path<UserId>,
    body: Json<CreateNoteRequest>,
) -> ApiResult<HttpResponse> {
    let text = NoteText::parse(&body.0.topic, &body.0.body).map_err(ApiError::validation)?;
    let (learner, now) = (id.into_inner(), state.clock.now());
    let note = state
        .db(move |conn| coaching::create(conn, &caller, &learner, text, now))
        .await?;
    Ok(HttpResponse::Created().json(note))
}

/// A seller's coaching notes, newest first, with when each was seen (the seller themself,
/// managers for the people of their own teams, admins).
#[utoipa::path(
    tag = "coaching",
    params(("id" = String, Path, description = "the seller's user id")),
    responses(
        (status = 200, body = Vec<Note>),
        (status = 404, description = "no such user (for managers: not in their teams)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/users/{id}/notes")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn list_notes(
    state: web::Data<AppState>,
    caller: Authorized<SelfOr<Coaches>>,
    id: web::Path<UserId>,
) -> ApiResult<web::Json<Vec<Note>>> {
    let learner = id.into_inner();
    let notes = state
        .db(move |conn| coaching::list(conn, &caller, &learner))
        .await?;
    Ok(web::Json(notes))
}

/// Mark a coaching note the queue showed as seen: the queue no longer carries it. Marking it
/// again changes nothing.
#[utoipa::path(
    tag = "learner",
    params(("id" = String, Path, description = "the note's id (`coach_note.id` of a queue nugget)")),
    responses(
        (status = 204, description = "seen"),
        (status = 404, description = "the caller has no such note", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/coach-notes/{id}/seen")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, note_id = %id))]
pub async fn note_seen(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<NoteId>,
) -> ApiResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now());
    state
        .db(move |conn| coaching::mark_seen(conn, &caller, &id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
