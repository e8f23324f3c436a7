//! The answer log for analysis (a streamed CSV export) and the organization's own FSRS model,
//! fitted on that log.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::{stream, Stream};
use serde::Deserialize;
use utoipa::IntoParams;

use super::caller::{Admins, Analysts, Authorized};
use super::query::Query;
use super::read_replica::ReadSource;
use super::state::AppState;
use crate::answer_log::Export;
use crate::domain::calendar;
use crate::domain::eval::reprise_format::write_records;
use crate::domain::validation::{Errors, FieldError};
use crate::error::{ApiError, ApiResult, Problem};
use crate::memory_model::{self, FsrsModel, OptimizeResult};
use crate::store::reviews::{ExportCursor, ExportPage, ReceivedWindow};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Only answers received at or after this time (RFC 3339, e.g. `2026-03-01T00:00:00Z`).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub since: Option<String>,
    /// Only answers received before this time (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub until: Option<String>,
}

fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
    // An unencoded `+01:00` arrives as ` 01:00` (`+` means space in a query string).
    parse(raw)
        .or_else(|e| match raw.contains(' ') {
            true => parse(&raw.replace(' ', "+")),
            false => Err(e),
        })
        .map_err(|_| {
            FieldError::new(
                field,
                "must be an RFC 3339 time like 2026-03-01T00:00:00Z (URL-encode a `+` offset)",
            )
        })
        .and_then(|t| calendar::storable(field, t))
}

impl ExportQuery {
    fn window(&self) -> Result<ReceivedWindow, Vec<FieldError>> {
        let mut errors = Errors::default();
        let since = self
            .since
            .as_deref()
            .and_then(|s| errors.check(parse_time("since", s)));
        let until = self
            .until
            .as_deref()
            .and_then(|s| errors.check(parse_time("until", s)));
        if let (Some(s), Some(u)) = (since, until) {
            if u <= s {
                errors.add("until", "must be later than since");
            }
        }
        errors.into_result(|| ReceivedWindow { since, until })
    }
}

/// What the streamed body does next.
enum Step {
    /// Send the header and first page (loaded before answering, so early errors are problems).
    First(web::Bytes, Option<ExportCursor>),
    Load(ExportCursor),
    Done,
}

/// The export as a CSV body: the header and first page, then each later page as it is read.
fn csv_body(first: ExportPage, export: Export) -> impl Stream<Item = Result<web::Bytes, ApiError>> {
    let start = Step::First(
        web::Bytes::from(write_records(&first.records, true)),
        first.next,
    );
    // Pages are read after the handler returned: each read joins the request's span.
    let span = tracing::Span::current();
    stream::unfold(start, move |step| {
        let (export, span) = (export.clone(), span.clone());
        async move {
            let cursor = match step {
                Step::Done => return None,
                Step::First(bytes, next) => {
                    return Some((Ok(bytes), next.map_or(Step::Done, Step::Load)))
                }
                Step::Load(cursor) => cursor,
            };
            let loaded = web::block(move || span.in_scope(|| export.page_after(&cursor))).await;
            match loaded {
                Ok(Ok(page)) if page.records.is_empty() => None,
                Ok(Ok(page)) => Some((
                    Ok(web::Bytes::from(write_records(&page.records, false))),
                    page.next.map_or(Step::Done, Step::Load),
                )),
                // The status line is sent: all we can do is cut the body short and log why.
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "review export aborted");
                    Some((Err(e), Step::Done))
                }
                Err(e) => {
                    tracing::error!(error = %e, "review export aborted");
                    Some((Err(ApiError::from(e)), Step::Done))
                }
            }
        }
    })
}

/// The organization's answer log as CSV, one row per counted answer ordered by received time
/// (practice answers, which changed nothing, are left out).
///
/// Columns: `attempt_id, learner_id, learner_email, nugget_id, nugget_key, pack_slug,
/// client_answered_at, answered_at, received_at, selected, correct, rating, response_ms,
/// confidence, clock_flag, elapsed_days, stability_before, difficulty_before, stability_after,
/// difficulty_after, status_after, due_after`. Times are RFC 3339 UTC (`client_answered_at` is
/// the phone's clock, `answered_at` the time the scheduler used, `received_at` the server's);
/// `selected` is the sorted option ids joined with `;`; `rating` is the FSRS grade 1 Again,
/// 2 Hard, 3 Good, 4 Easy; `confidence` is `sure`, `unsure` or empty; `clock_flag` says why the
/// phone's time was not trusted (`future`, `before_start`, `before_previous`), else empty;
/// `elapsed_days` and the `_before` memory state are empty on a nugget's first answer;
/// `due_after` is empty when the nugget is not scheduled. The body is streamed in pages of
/// 5,000 rows; `reprise eval FILE --format reprise` reads it back.
#[utoipa::path(
    tag = "reviews",
    params(ExportQuery),
    responses(
        (status = 200, description = "the answer log", content_type = "text/csv", body = String, headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, description = "analysts and admins only", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`since` or `until` is not an RFC 3339 time, or not in order", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/reviews/export")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn export_reviews(
    state: web::Data<AppState>,
    caller: Authorized<Analysts>,
    q: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let window = q.window()?;
    let (pool, replica) = (state.database.pool().clone(), state.replica.clone());
    let org_id = caller.org_id.clone();
    let span = tracing::Span::current();
    let (first, export) =
        web::block(move || span.in_scope(|| Export::start(pool, replica, org_id, window)))
            .await??;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"reviews.csv\"",
        ))
        .insert_header(export.source().header())
        .streaming(csv_body(first, export)))
}

/// Fit FSRS-6 parameters on the organization's own answers and schedule with them from now on.
///
/// Reads every answer (one per learner, nugget and day), fits with the `fsrs` crate and scores
/// defaults vs fitted parameters on later reviews. With fewer than 400 predictable reviews
/// nothing is fitted or stored: the answer is still 200, with `fitted: false`, `reason`, `have`
/// and `need`. Memory states already stored are not recomputed; each nugget's next answer is
/// scheduled with the new parameters. Fitting takes seconds on thousands of reviews and longer
/// on millions: `reprise optimize --org SLUG` does the same from the command line.
#[utoipa::path(
    tag = "model",
    responses(
        (status = 200, description = "fitted and stored, or not enough reviews (`fitted: false`)", body = OptimizeResult),
        (status = 403, description = "admins only", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/admin/fsrs/optimize")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn optimize_fsrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<OptimizeResult>> {
    let result = memory_model::optimize(
        &state.database,
        &state.clock,
        &caller.org_id,
        (&*caller).into(),
    )
    .await?;
    Ok(web::Json(result))
}

/// The FSRS-6 parameters the organization schedules with (`null` = the defaults).
#[utoipa::path(
    tag = "model",
    responses(
        (status = 200, body = FsrsModel),
        (status = 403, description = "admins only", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/admin/fsrs")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn get_fsrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<FsrsModel>> {
    let model = state
        .db(move |conn| memory_model::current(conn, &caller.org_id))
        .await?;
    Ok(web::Json(model))
}
