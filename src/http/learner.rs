//! The seller's loop over HTTP: today's queue, answering, and syncing answers given offline.
//! Each handler parses, calls the learning service, and renders.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::Json;
use super::caller::Caller;
use super::state::AppState;
use crate::error::{ApiResult, Problem};
use crate::learning::{AnswerRequest, AnswerResult, BatchItem, LearningHandle, Queue};

/// Today's nuggets, never with their answers. Sends an `ETag`; `If-None-Match` with it gives 304
/// while nothing changed.
#[utoipa::path(
    tag = "learner",
    responses(
        (status = 200, body = Queue),
        (status = 304, description = "unchanged since the ETag sent"),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/me/queue")]
pub async fn get_queue(
    learning: web::Data<LearningHandle>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let queue = learning.queue(caller).await?;
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == queue.etag || t.trim() == "*")
        });
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, queue.etag.clone()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, queue.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .content_type("application/json")
        .body(queue.body.clone()))
}

/// Answer a nugget: graded on the server, scheduled, recorded once per `attempt_id`.
#[utoipa::path(
    tag = "learner",
    request_body = AnswerRequest,
    responses(
        (status = 201, description = "recorded", body = AnswerResult),
        (status = 200, description = "this attempt id was already recorded: the stored result", body = AnswerResult),
        (status = 404, description = "nugget unknown or not assigned to the caller, or a selected option id it does not have", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "attempt id reused with a different answer", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the learner's answer rate is over its cap; `Retry-After` says when to send again", body = Problem, content_type = "application/problem+json"),
        ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/answers")]
pub async fn post_answer(
    state: web::Data<AppState>,
    learning: web::Data<LearningHandle>,
    caller: Caller,
    body: Json<AnswerRequest>,
) -> ApiResult<HttpResponse> {
    state
        .answer_limiter
        .check(&caller.org_id, &caller.user_id, 1)?;
    let result = learning.answer(caller, body.0).await?;
    Ok(if result.replayed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    }
    .json(result))
}

/// The most answers one batch may carry.
pub const MAX_BATCH_ANSWERS: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 100 answers collected offline.
    #[serde(deserialize_with = "batch_answers")]
    #[schema(min_items = 1, max_items = 100)]
    pub answers: Vec<AnswerRequest>,
}

/// 1 to [`MAX_BATCH_ANSWERS`] answers. The limit is checked while reading: the answers past it
/// are skipped, not decoded, so an oversized batch costs no more than a full one.
fn batch_answers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<AnswerRequest>, D::Error> {
    struct Answers;
    impl<'de> serde::de::Visitor<'de> for Answers {
        type Value = Vec<AnswerRequest>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of 1 to {MAX_BATCH_ANSWERS} answers")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let refused =
                || serde::de::Error::custom(format!("send 1 to {MAX_BATCH_ANSWERS} answers"));
            let mut answers = Vec::new();
            while answers.len() < MAX_BATCH_ANSWERS {
                match seq.next_element::<AnswerRequest>()? {
                    Some(answer) => answers.push(answer),
                    None if answers.is_empty() => return Err(refused()),
                    None => return Ok(answers),
                }
            }
            match seq.next_element::<serde::de::IgnoredAny>()? {
                Some(_) => Err(refused()),
                None => Ok(answers),
            }
        }
    }
    d.deserialize_seq(Answers)
}

#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    /// One item per answer, in the order they were sent.
    pub results: Vec<BatchItem>,
}

/// Sync answers given offline: applied in `answered_at` order, each with its own result.
#[utoipa::path(
    tag = "learner",
    request_body = BatchRequest,
    responses(
        (status = 200, body = BatchResult),
        (status = 429, description = "the learner's answer rate is over its cap (a batch takes one per answer, at most the burst); nothing was applied, `Retry-After` says when to send again", body = Problem, content_type = "application/problem+json"),
        ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/answers/batch")]
pub async fn post_batch(
    state: web::Data<AppState>,
    learning: web::Data<LearningHandle>,
    caller: Caller,
    body: Json<BatchRequest>,
) -> ApiResult<web::Json<BatchResult>> {
    // 1 to MAX_BATCH_ANSWERS, checked while reading the body.
    let answers = body.0.answers;
    state
        .answer_limiter
        .check(&caller.org_id, &caller.user_id, answers.len())?;
    let results = learning.sync(caller, answers).await?;
    Ok(web::Json(BatchResult { results }))
}

#[cfg(test)]
mod proptests;
