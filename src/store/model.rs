//! The organization's FSRS memory model: the review histories it is fitted on and the fitted
//! parameters (`organizations.fsrs_parameters`, read when scheduling by
//! [`super::learning::fsrs_parameters`]).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{organizations, reviews, users};
use super::{DbConnection, StoreResult};
use crate::domain::ids::OrgId;
use crate::domain::scheduler::{Rating, ReviewEvent, ReviewHistory};

/// What an organization schedules with: fitted parameters, or `None` for the crate's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredParameters {
    pub parameters: Option<Vec<f32>>,
    pub fitted_at: Option<DateTime<Utc>>,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn parameters(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<StoredParameters> {
    let (text, fitted_at): (Option<String>, Option<NaiveDateTime>) = organizations::table
        .find(org_id)
        .select((
            organizations::fsrs_parameters,
            organizations::fsrs_fitted_at,
        ))
        .first(conn)?;
    Ok(StoredParameters {
        parameters: text.and_then(|t| serde_json::from_str(&t).ok()),
        fitted_at: fitted_at.map(|t| t.and_utc()),
    })
}

/// Stores fitted parameters (a JSON array) and when they were fitted.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn save_parameters(
    conn: &mut DbConnection,
    org_id: &OrgId,
    parameters: &[f32],
    fitted_at: DateTime<Utc>,
) -> StoreResult<()> {
    let text = serde_json::to_string(parameters).expect("floats serialize");
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::fsrs_parameters.eq(text),
            organizations::fsrs_fitted_at.eq(fitted_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every learner × nugget answer sequence of the organization, as the fitter takes them.
/// Read one learner at a time (on the `(org_id, learner_id, answered_at)` index) so only the
/// compact events are held, never the rows; learners by id and nuggets in order of first
/// answer, so the same log always gives the same histories.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn review_histories(
    conn: &mut DbConnection,
    org_id: &OrgId,
) -> StoreResult<Vec<ReviewHistory>> {
    let learners: Vec<String> = users::table
        .filter(users::org_id.eq(org_id))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)?;
    let mut histories = Vec::new();
    for learner in learners {
        let answers: Vec<(String, NaiveDateTime, i32)> = reviews::table
            .filter(reviews::org_id.eq(org_id))
            .filter(reviews::learner_id.eq(&learner))
            .filter(reviews::practice.is_null())
            .order((reviews::answered_at.asc(), reviews::id.asc()))
            .select((reviews::nugget_id, reviews::answered_at, reviews::rating))
            .load(conn)?;
        let mut by_nugget: HashMap<String, usize> = HashMap::new();
        for (nugget, at, rating) in answers {
            let Some(rating) = u32::try_from(rating).ok().and_then(Rating::from_u32) else {
                continue;
            };
            let index = *by_nugget.entry(nugget).or_insert_with(|| {
                histories.push(ReviewHistory::default());
                histories.len() - 1
            });
            histories[index].reviews.push(ReviewEvent {
                at: at.and_utc(),
                rating,
            });
        }
    }
    Ok(histories)
}
