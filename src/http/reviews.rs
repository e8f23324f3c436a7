//! The answer log for analysis (a streamed CSV export) and the organization's own FSRS model,
//! fitted on that log.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Admins, Analysts, Authorized};
use super::read_replica::{self, ReadReplica, ReadSource};
use super::state::AppState;
use crate::domain::eval::reprise_format::write_records;
use crate::domain::scheduler::{fit_parameters, FitError, FitOutcome, MIN_FIT_REVIEWS};
use crate::domain::validation::{Errors, FieldError};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::reader::Reader;
use crate::store::reviews::{export_page, ExportCursor, ExportPage, ReceivedWindow};
use crate::store::{model, DbConnection, DbPool, StoreError};

/// Rows read per query while streaming an export: bounds the memory an export holds.
pub const EXPORT_PAGE_ROWS: usize = 5_000;

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

/// Loads the page after `cursor` from where the first page came: a replica-backed export keeps
/// reading from the replica (or the primary should the replica fail), a primary-backed one stays
/// on the primary.
fn load_page(
    pool: &DbPool,
    replica: Option<&ReadReplica>,
    org_id: &str,
    window: ReceivedWindow,
    cursor: &ExportCursor,
) -> ApiResult<ExportPage> {
    let page = |conn: &mut Reader<'_>| -> ApiResult<ExportPage> {
        Ok(export_page(
            conn,
            org_id,
            window,
            Some(cursor),
            EXPORT_PAGE_ROWS,
        )?)
    };
    match replica {
        Some(replica) => read_replica::read(pool, Some(replica), page).map(|(p, _)| p),
        None => page(&mut Reader::alone(
            &mut *pool.get().map_err(StoreError::from)?,
        )),
    }
}

/// The organization's answer log as CSV, one row per stored answer ordered by received time.
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
pub async fn export_reviews(
    state: web::Data<AppState>,
    caller: Authorized<Analysts>,
    q: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let window = q.window()?;
    let org_id = caller.org_id.clone();
    let org = org_id.clone();
    let (first, source) = state
        .read_db(move |conn| Ok(export_page(conn, &org, window, None, EXPORT_PAGE_ROWS)?))
        .await?;
    let pool = state.database.pool().clone();
    let replica = match source {
        ReadSource::Replica => state.replica.clone(),
        ReadSource::Primary => None,
    };
    let start = Step::First(
        web::Bytes::from(write_records(&first.records, true)),
        first.next,
    );
    let body = stream::unfold(start, move |step| {
        let (pool, replica, org_id) = (pool.clone(), replica.clone(), org_id.clone());
        async move {
            let cursor = match step {
                Step::Done => return None,
                Step::First(bytes, next) => {
                    return Some((Ok(bytes), next.map_or(Step::Done, Step::Load)))
                }
                Step::Load(cursor) => cursor,
            };
            let loaded =
                web::block(move || load_page(&pool, replica.as_deref(), &org_id, window, &cursor))
                    .await;
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
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"reviews.csv\"",
        ))
        .insert_header(source.header())
        .streaming(body))
}

/// Log loss and RMSE (bins) of a parameter set on held-out reviews.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ModelScore {
    pub log_loss: f64,
    pub rmse_bins: f64,
}

/// The FSRS-6 parameters the organization schedules with.
#[derive(Debug, Serialize, ToSchema)]
pub struct FsrsModel {
    /// The 21 fitted FSRS-6 parameters; `null` means the crate's defaults.
    pub parameters: Option<Vec<f32>>,
    /// When they were fitted; `null` with the defaults.
    pub fitted_at: Option<DateTime<Utc>>,
}

/// Outcome of fitting the organization's FSRS parameters.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptimizeResult {
    /// Whether parameters were fitted and stored; when false nothing changed.
    pub fitted: bool,
    /// Why nothing was fitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Predictable reviews found: answers after a nugget's first, one per learner, nugget and day.
    pub have: usize,
    /// Predictable reviews a fit needs.
    pub need: usize,
    /// The stored parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitted_at: Option<DateTime<Utc>>,
    /// FSRS-6 defaults predicting the later five sixths of the reviews (in time order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<ModelScore>,
    /// Fitted parameters on the same reviews, time-series split: each segment predicted by
    /// parameters trained on the reviews before it only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<ModelScore>,
}

impl OptimizeResult {
    /// The answer to a fit attempt: too few reviews is an outcome, not an error.
    pub fn from_fit(fit: Result<FitOutcome, FitError>, now: DateTime<Utc>) -> ApiResult<Self> {
        let not_fitted = |reason: String, have: usize| OptimizeResult {
            fitted: false,
            reason: Some(reason),
            have,
            need: MIN_FIT_REVIEWS,
            parameters: None,
            fitted_at: None,
            before: None,
            after: None,
        };
        match fit {
            Ok(fit) => Ok(OptimizeResult {
                fitted: true,
                reason: None,
                have: fit.reviews,
                need: MIN_FIT_REVIEWS,
                parameters: Some(fit.parameters),
                fitted_at: Some(now),
                before: Some(ModelScore {
                    log_loss: fit.before.log_loss,
                    rmse_bins: fit.before.rmse_bins,
                }),
                after: Some(ModelScore {
                    log_loss: fit.after.log_loss,
                    rmse_bins: fit.after.rmse_bins,
                }),
            }),
            Err(e @ FitError::NotEnoughReviews { have, .. }) => {
                Ok(not_fitted(format!("{e}; the defaults stay in use"), have))
            }
            Err(e) => Err(ApiError::Internal(e.to_string())),
        }
    }

    /// Stores the fitted parameters, if any.
    pub fn store(&self, conn: &mut DbConnection, org_id: &str) -> ApiResult<()> {
        if let (Some(parameters), Some(at)) = (&self.parameters, self.fitted_at) {
            model::save_parameters(conn, org_id, parameters, at)?;
        }
        Ok(())
    }
}

/// Loads the organization's histories, fits and stores, holding `conn` throughout (the CLI).
pub fn optimize_org(
    conn: &mut DbConnection,
    org_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<OptimizeResult> {
    let histories = model::review_histories(conn, org_id)?;
    let result = OptimizeResult::from_fit(fit_parameters(&histories), now)?;
    result.store(conn, org_id)?;
    Ok(result)
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
pub async fn optimize_fsrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<OptimizeResult>> {
    let org = caller.org_id.clone();
    let histories = state
        .db(move |conn| Ok(model::review_histories(conn, &org)?))
        .await?;
    // CPU-bound: off the async workers, without holding a connection.
    let fit = web::block(move || fit_parameters(&histories)).await?;
    let result = OptimizeResult::from_fit(fit, state.clock.now())?;
    let result = state
        .db(move |conn| {
            result.store(conn, &caller.org_id)?;
            Ok(result)
        })
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
pub async fn get_fsrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<FsrsModel>> {
    let stored = state
        .db(move |conn| Ok(model::parameters(conn, &caller.org_id)?))
        .await?;
    Ok(web::Json(FsrsModel {
        parameters: stored.parameters,
        fitted_at: stored.fitted_at,
    }))
}
