//! The organization's own FSRS memory model as a service: the parameters it schedules with, and
//! fitting them on its answers. A fit reads every answer history, then spends seconds (or, on
//! millions of answers, minutes) of CPU, holding no connection meanwhile; too few answers is an
//! outcome that changes nothing, not an error.

use crate::store::audit::{self, Actor, Entry};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::domain::ids::OrgId;
use crate::domain::scheduler::{fit_parameters, FitError, FitOutcome, MIN_FIT_REVIEWS};
use crate::error::{ApiError, ApiResult};
use crate::offload;
use crate::store::{model, Database, DbConnection};

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

    /// Stores the fitted parameters, if any, and records the change by `actor`.
    pub fn store(&self, conn: &mut DbConnection, org_id: &OrgId, actor: Actor) -> ApiResult<()> {
        if let (Some(parameters), Some(at)) = (&self.parameters, self.fitted_at) {
            crate::store::write_tx(conn, |conn| {
                let before = model::parameters(conn, org_id)?.parameters;
                model::save_parameters(conn, org_id, parameters, at)?;
                let entry = Entry::by(actor, "model.fitted", "organization", org_id.as_str())
                    .before(serde_json::json!({"parameters": before}))
                    .after(serde_json::json!({"parameters": parameters}));
                audit::record(conn, org_id, &entry, at)?;
                Ok::<_, ApiError>(())
            })?;
        }
        Ok(())
    }
}

/// The parameters the organization schedules with.
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub fn current(conn: &mut DbConnection, org_id: &OrgId) -> ApiResult<FsrsModel> {
    let stored = model::parameters(conn, org_id)?;
    Ok(FsrsModel {
        parameters: stored.parameters,
        fitted_at: stored.fitted_at,
    })
}

/// Fits the organization's parameters on its answers and stores them when there were enough:
/// the histories are read on one connection, fitted on the blocking pool with none held, and
/// stored on another. They count as fitted when the fit ends (by `clock`).
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn optimize(
    database: &Database,
    clock: &Clock,
    org_id: &OrgId,
    actor: Actor,
) -> ApiResult<OptimizeResult> {
    let org = org_id.clone();
    let histories = database
        .run(move |conn| Ok::<_, ApiError>(model::review_histories(conn, &org)?))
        .await?;
    let fit = offload::cpu(move || fit_parameters(&histories)).await?;
    let result = OptimizeResult::from_fit(fit, clock.now())?;
    let org = org_id.clone();
    let result = database
        .run(move |conn| {
            result.store(conn, &org, actor)?;
            Ok::<_, ApiError>(result)
        })
        .await?;
    tracing::info!(
        fitted = result.fitted,
        have = result.have,
        "FSRS parameters fitted"
    );
    Ok(result)
}

/// Loads the organization's histories, fits and stores, holding `conn` throughout (the command
/// line, where nothing else waits for the connection).
pub fn optimize_org(
    conn: &mut DbConnection,
    org_id: &OrgId,
    now: DateTime<Utc>,
) -> ApiResult<OptimizeResult> {
    let histories = model::review_histories(conn, org_id)?;
    let result = OptimizeResult::from_fit(fit_parameters(&histories), now)?;
    result.store(conn, org_id, Actor::System)?;
    Ok(result)
}
