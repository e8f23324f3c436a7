//! Item analysis for authors: how each nugget of a pack performs, to rewrite the ones that do
//! not measure what they should.

use actix_web::{get, web, HttpResponse};

use super::caller::{Authorized, Authors};
use super::read_replica::ReadSource;
use super::state::AppState;
use crate::authoring::{self, PackItemAnalysis};
use crate::error::{ApiResult, Problem};

/// Item analysis of a pack (authors, admins), from every answer its nuggets received.
///
/// Per nugget that has a published version: answers and learners; over each learner's *first*
/// answer to it (by answered-at time): the correct rate, the median response time, how often
/// each option was chosen (by option id; a multi-select answer counts for each option chosen),
/// and the discrimination — the point-biserial correlation between first-attempt correctness and
/// the learner's **rest score**, their mean first-attempt correctness over the pack's *other*
/// nuggets they answered (null with fewer than 2 such learners or when either side does not
/// vary). Flags: `too_easy` (correct rate above 0.9) and `too_hard` (below 0.3), each with at
/// least 5 learners; `distractor_beats_answer` (a wrong option chosen more often than every
/// correct one); `negative_discrimination` (discrimination below 0).
#[utoipa::path(
    tag = "content",
    params(("slug" = String, Path, description = "pack slug")),
    responses(
        (status = 200, description = "figures per nugget and for the pack", body = PackItemAnalysis, headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, description = "not an author or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such pack in the caller's organization", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/packs/{slug}/analysis")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub async fn pack_analysis(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (org_id, slug) = (caller.org_id.clone(), slug.into_inner());
    let (analysis, source) = state
        .read_db(move |conn| authoring::item_analysis(conn, &org_id, &slug))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(source.header())
        .json(analysis))
}
