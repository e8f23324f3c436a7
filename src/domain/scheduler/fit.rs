//! Personal FSRS-6 parameters from a learner population's answers, via the `fsrs` crate.

use chrono::{DateTime, Utc};
use fsrs::{
    compute_parameters, evaluate_with_time_series_splits, ComputeParametersInput, FSRSError,
    FSRSItem, FSRSReview,
};
use serde::{Deserialize, Serialize};

use super::{FsrsPredictor, Rating};
use crate::domain::eval::metrics;

/// Below this many predictable reviews the crate's first time-series fold (a sixth of the data)
/// has fewer than 64 items, where `compute_parameters` only re-estimates initial stability;
/// callers keep the defaults instead.
pub const MIN_FIT_REVIEWS: usize = 400;

/// One answer in a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEvent {
    pub at: DateTime<Utc>,
    pub rating: Rating,
}

/// One learner × nugget answer sequence (any order; it is sorted by time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewHistory {
    pub reviews: Vec<ReviewEvent>,
}

/// An [`FSRSItem`] (a review plus everything before it) and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedItem {
    pub item: FSRSItem,
    /// Index of the source history, used as the crate's card id.
    pub history: usize,
    /// Index of the predicted review among that history's kept, time-sorted reviews.
    pub review: usize,
    pub at: DateTime<Utc>,
}

/// Log loss and RMSE (bins) of a parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub log_loss: f64,
    pub rmse_bins: f64,
}

/// Fitted parameters and how default vs fitted parameters predict held-out later reviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOutcome {
    pub parameters: Vec<f32>,
    /// Predictable reviews (every review after a history's first).
    pub reviews: usize,
    /// FSRS-6 defaults on the time-series test segments.
    pub before: Score,
    /// The crate's time-series-split evaluation (train on earlier, predict later).
    pub after: Score,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("not enough reviews to fit FSRS parameters: have {have}, need {need}")]
    NotEnoughReviews { have: usize, need: usize },
    #[error("fsrs: {0}")]
    Fsrs(#[from] FSRSError),
}

/// Time-sorted, one-per-UTC-day reviews of a history (FSRS models day-level intervals, so a
/// same-day repeat adds no long-term information; the first answer of the day is kept).
pub fn daily_reviews(history: &ReviewHistory) -> Vec<ReviewEvent> {
    let mut reviews = history.reviews.clone();
    reviews.sort_by_key(|r| r.at);
    reviews.dedup_by_key(|r| r.at.date_naive());
    reviews
}

/// Every review after a history's first as an [`FSRSItem`], ordered by review time (stable, so
/// same-time items keep input order) as the crate's time-series split requires.
pub fn fsrs_items(histories: &[ReviewHistory]) -> Vec<IndexedItem> {
    let mut items = Vec::new();
    for (h, history) in histories.iter().enumerate() {
        let reviews = daily_reviews(history);
        let mut fsrs_reviews: Vec<FSRSReview> = Vec::with_capacity(reviews.len());
        for (i, review) in reviews.iter().enumerate() {
            let delta_t = match i {
                0 => 0,
                _ => (review.at.date_naive() - reviews[i - 1].at.date_naive()).num_days() as u32,
            };
            fsrs_reviews.push(FSRSReview {
                rating: review.rating.as_u32(),
                delta_t,
            });
            if i > 0 {
                items.push(IndexedItem {
                    item: FSRSItem {
                        reviews: fsrs_reviews.clone(),
                    },
                    history: h,
                    review: i,
                    at: review.at,
                });
            }
        }
    }
    items.sort_by_key(|item| item.at);
    items
}

/// The crate's training input for time-sorted items.
pub(crate) fn training_input(items: &[IndexedItem]) -> ComputeParametersInput {
    ComputeParametersInput {
        train_set: items.iter().map(|i| i.item.clone()).collect(),
        card_ids: Some(items.iter().map(|i| i.history as i64).collect()),
        ..ComputeParametersInput::default()
    }
}

/// Fits FSRS-6 parameters on all histories with `fsrs::compute_parameters` and scores them
/// with `fsrs::evaluate_with_time_series_splits`; `before` scores the defaults on the same
/// held-out segments (everything after the first sixth, in time order).
pub fn fit_parameters(histories: &[ReviewHistory]) -> Result<FitOutcome, FitError> {
    let items = fsrs_items(histories);
    if items.len() < MIN_FIT_REVIEWS {
        return Err(FitError::NotEnoughReviews {
            have: items.len(),
            need: MIN_FIT_REVIEWS,
        });
    }
    let parameters = compute_parameters(training_input(&items))?;
    let after = evaluate_with_time_series_splits(training_input(&items), |_| true)?;
    let held_out = &items[items.len() / 6..];
    let defaults = FsrsPredictor::new(&[]);
    let observations = held_out
        .iter()
        .map(|i| metrics::Observation::from_item(&i.item, defaults.recall(&i.item)))
        .collect::<Vec<_>>();
    Ok(FitOutcome {
        parameters,
        reviews: items.len(),
        before: Score {
            log_loss: metrics::log_loss(&observations),
            rmse_bins: metrics::rmse_bins(&observations),
        },
        after: Score {
            log_loss: f64::from(after.log_loss),
            rmse_bins: f64::from(after.rmse_bins),
        },
    })
}
