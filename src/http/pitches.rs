//! Pitch practice: sellers upload recordings of their answers to pitch nuggets; coaches list,
//! watch, score and share them; sellers see their reviews and their teams' exemplars.
//!
//! An upload is streamed to a spool file as it arrives, never held whole in memory, and is
//! refused as soon as it passes the size limit. Only then are its bytes read (container and
//! duration, `domain::recording`) and put in media storage.

use std::collections::BTreeMap;

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use super::body::{content_essence, payload_error, Json};
use super::caller::Caller;
use super::query::Query;
use super::state::AppState;
use crate::domain::ids::{NuggetId, PitchId, PitchReviewId, TeamId};
use crate::domain::pitch::PitchReview;
use crate::domain::recording;
use crate::error::{ApiError, ApiResult, Problem};
use crate::learning::LearningHandle;
use crate::pitches::{self, Pitch, PitchStatus, ReviewInput, TopicExemplars, Upload};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The pitch nugget answered (a queue nugget with `kind: pitch`).
    #[param(value_type = String)]
    pub nugget_id: NuggetId,
    /// A UUID the app makes per recording; sending it again returns the pitch kept the first
    /// time and stores nothing.
    pub attempt_id: uuid::Uuid,
}

/// Streams the request body into a new spool file, refusing it (413) once it passes `limit`
/// bytes. Returns the file (deleted when dropped) and the bytes written.
async fn spool(mut payload: web::Payload, limit: u64) -> ApiResult<(tempfile::TempPath, u64)> {
    let path = tempfile::NamedTempFile::new()
        .map_err(|e| ApiError::Internal(format!("spool file: {e}")))?
        .into_temp_path();
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("spool file: {e}")))?;
    let mut written: u64 = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| payload_error(e.into()))?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(too_large(limit));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("spool file: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(format!("spool file: {e}")))?;
    Ok((path, written))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "a recording may have at most {limit} bytes ({:.1} MB)",
        limit as f64 / (1024.0 * 1024.0)
    ))
}

/// Upload a recording of a pitch nugget (the seller it is assigned to). The body is the
/// recording as MediaRecorder made it: `video/webm`, `video/mp4`, `audio/webm`, `audio/mp4` or
/// `audio/ogg`; its container is read from its bytes. It may be as long as the nugget's
/// `max_seconds` plus 10 %, and as large as the server's limit (50 MB by default). Recording it
/// is the nugget's practice: the spacing policy schedules when it comes back. The same
/// `attempt_id` again answers 200 with the pitch kept the first time.
#[utoipa::path(
    tag = "pitches",
    params(UploadQuery),
    request_body(content = Vec<u8>, description = "the recording", content_type = "video/webm"),
    responses(
        (status = 201, description = "kept", body = Pitch),
        (status = 200, description = "this attempt was kept before", body = Pitch),
        (status = 404, description = "the nugget is not assigned to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "larger than the recording size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not one of the five recording types, or bytes of another container than declared", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`body` is empty, not a recording, damaged or too long; `nugget_id` is a question; `attempt_id` was used for another nugget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/pitches")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn upload_pitch(
    state: web::Data<AppState>,
    learning: web::Data<LearningHandle>,
    caller: Caller,
    req: HttpRequest,
    query: Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let essence = content_essence(&req);
    let declared = recording::accepted_type(&essence).ok_or_else(|| {
        ApiError::Unsupported(format!(
            "a recording must be sent as video/webm, video/mp4, audio/webm, audio/mp4 or audio/ogg (got {})",
            if essence.is_empty() { "no content type" } else { essence.as_str() }
        ))
    })?;
    let limit = state.settings.max_recording_bytes;
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let UploadQuery {
        nugget_id,
        attempt_id,
    } = query.into_inner();
    let service = learning.service();
    let assigned =
        match pitches::prepare(service.clone(), caller.clone(), nugget_id, attempt_id).await? {
            Upload::Replayed(pitch) => return Ok(HttpResponse::Ok().json(pitch)),
            Upload::Ready(assigned) => assigned,
        };
    if declared_length.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let (spooled, bytes) = spool(payload, limit).await?;
    let (pitch, created) = pitches::record(
        service,
        &state.blobs,
        caller,
        *assigned,
        attempt_id,
        declared,
        &spooled,
        bytes,
    )
    .await?;
    Ok(if created {
        HttpResponse::Created().json(pitch)
    } else {
        HttpResponse::Ok().json(pitch)
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (no review yet) or `reviewed`; both when absent.
    #[param(value_type = Option<PitchStatus>)]
    pub status: Option<PitchStatus>,
    /// One team (of the caller's reach): its direct members' pitches.
    #[param(value_type = Option<String>)]
    pub team_id: Option<TeamId>,
}

/// Pitches to review, newest first (at most 200): a manager's teams', an admin's whole
/// organization, a seller's teammates' when the organization allows peer review.
#[utoipa::path(
    tag = "pitches",
    params(ListQuery),
    responses(
        (status = 200, body = Vec<Pitch>),
        (status = 403, description = "a seller, author or analyst without peer review", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`status` is not pending or reviewed; `team_id` is not a team of the caller's reach", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/pitches")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_pitches(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ListQuery>,
) -> ApiResult<web::Json<Vec<Pitch>>> {
    let ListQuery { status, team_id } = query.into_inner();
    let list = state
        .db(move |conn| pitches::list(conn, &caller, status, team_id.as_ref()))
        .await?;
    Ok(web::Json(list))
}

/// The caller's own pitches, newest first, with every review.
#[utoipa::path(
    tag = "pitches",
    responses((status = 200, body = Vec<Pitch>)),
    security(("bearer" = []))
)]
#[get("/api/v1/me/pitches")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn my_pitches(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<Pitch>>> {
    let list = state.db(move |conn| pitches::mine(conn, &caller)).await?;
    Ok(web::Json(list))
}

/// Exemplars shared within the caller's teams, by topic.
#[utoipa::path(
    tag = "pitches",
    responses((status = 200, body = Vec<TopicExemplars>)),
    security(("bearer" = []))
)]
#[get("/api/v1/me/exemplars")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn my_exemplars(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<TopicExemplars>>> {
    let list = state
        .db(move |conn| pitches::exemplars(conn, &caller))
        .await?;
    Ok(web::Json(list))
}

/// One pitch with its situation, rubric and reviews (whoever may watch it).
#[utoipa::path(
    tag = "pitches",
    params(("id" = String, Path, description = "the pitch's id")),
    responses(
        (status = 200, body = Pitch),
        (status = 404, description = "no such pitch, or not one the caller may watch", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/pitches/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pitch_id = %id))]
pub async fn get_pitch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PitchId>,
) -> ApiResult<web::Json<Pitch>> {
    let id = id.into_inner();
    let pitch = state
        .db(move |conn| pitches::get(conn, &caller, &id))
        .await?;
    Ok(web::Json(pitch))
}

/// Play a recording: the seller, their managers and admins, and their teammates once it is
/// shared (or while peer review is on). Supports a single byte range (`Range: bytes=…`, 206) for
/// seeking; a request with several ranges gets the whole recording. Never kept by a shared cache.
#[utoipa::path(
    tag = "pitches",
    params(("id" = String, Path, description = "the pitch's id")),
    responses(
        (status = 200, description = "the whole recording", content_type = "video/webm"),
        (status = 206, description = "the range asked for", content_type = "video/webm"),
        (status = 404, description = "no such pitch, or not one the caller may watch", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "the range lies outside the recording"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/pitches/{id}/recording")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pitch_id = %id))]
pub async fn get_recording(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<PitchId>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| pitches::recording(conn, &caller, &id))
        .await?;
    let size = row.bytes.max(0) as u64;
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| http_range_header::parse_range_header(v).and_then(|r| r.validate(size)));
    let (status, span) = match range {
        Some(Ok(ranges)) if ranges.len() == 1 => {
            let r = ranges[0].clone();
            (
                actix_web::http::StatusCode::PARTIAL_CONTENT,
                *r.start()..*r.end() + 1,
            )
        }
        Some(Err(_)) => {
            return Ok(HttpResponse::RangeNotSatisfiable()
                .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                .finish())
        }
        _ => (actix_web::http::StatusCode::OK, 0..size),
    };
    let stream = state
        .blobs
        .get_range(&row.storage_key, span.clone())
        .await
        .map_err(|e| ApiError::Unavailable(format!("media storage: {e}")))?
        .map(|chunk| chunk.map_err(|e| actix_web::error::ErrorServiceUnavailable(e.to_string())));
    let mut response = HttpResponse::build(status);
    response
        .content_type(row.content_type.as_str())
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header(CacheControl(vec![
            CacheDirective::Private,
            CacheDirective::NoStore,
        ]))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(span.end - span.start);
    if status == actix_web::http::StatusCode::PARTIAL_CONTENT {
        response.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", span.start, span.end - 1),
        ));
    }
    Ok(response.streaming(stream))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Every criterion of the pitch's rubric → a whole number from 1 (not shown) to 4
    /// (exemplary).
    #[schema(value_type = BTreeMap<String, i64>)]
    pub scores: BTreeMap<String, serde_json::Value>,
    /// What the reviewer tells the seller (up to 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// Score a pitch on its rubric, with a comment (the seller's managers and admins; teammates when
/// the organization allows peer review). The seller sees it with their next nugget of the topic
/// and in their pitches; a score of 1 or 2 on any criterion brings the pitch back within two
/// days.
#[utoipa::path(
    tag = "pitches",
    params(("id" = String, Path, description = "the pitch's id")),
    request_body = ReviewRequest,
    responses(
        (status = 201, body = PitchReview),
        (status = 403, description = "the caller may watch but not review this pitch (the seller themself, or a teammate without peer review)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such pitch, or not one the caller may watch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the caller reviewed this pitch before", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a criterion missing, unknown or scored outside 1–4 (`scores.<criterion>`), or a comment too long", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/pitches/{id}/reviews")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pitch_id = %id))]
pub async fn review_pitch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PitchId>,
    body: Json<ReviewRequest>,
) -> ApiResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now());
    let ReviewRequest { scores, comment } = body.0;
    let review = state
        .db(move |conn| pitches::review(conn, &caller, &id, ReviewInput { scores, comment }, now))
        .await?;
    Ok(HttpResponse::Created().json(review))
}

/// Share a pitch with the seller's teams as an exemplar (the seller's managers and admins).
/// Sharing it again changes nothing.
#[utoipa::path(
    tag = "pitches",
    params(("id" = String, Path, description = "the pitch's id")),
    responses(
        (status = 200, body = Pitch),
        (status = 403, description = "the caller is not one of the seller's coaches", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such pitch, or not one the caller may watch", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/pitches/{id}/share")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pitch_id = %id))]
pub async fn share_pitch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PitchId>,
) -> ApiResult<web::Json<Pitch>> {
    let (id, now) = (id.into_inner(), state.clock.now());
    let pitch = state
        .db(move |conn| pitches::share(conn, &caller, &id, now))
        .await?;
    Ok(web::Json(pitch))
}

/// Mark a review the queue showed (`pitch_review` of a queue nugget) as seen: the queue no
/// longer carries it. Marking it again changes nothing.
#[utoipa::path(
    tag = "learner",
    params(("id" = String, Path, description = "the review's id")),
    responses(
        (status = 204, description = "seen"),
        (status = 404, description = "no such review of the caller's pitches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/pitch-reviews/{id}/seen")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn review_seen(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PitchReviewId>,
) -> ApiResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now());
    state
        .db(move |conn| pitches::mark_review_seen(conn, &caller, &id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
