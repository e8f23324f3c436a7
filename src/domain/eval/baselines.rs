//! Recall predictions for each review from the history before it, per model.
//!
//! Interval-only schedulers (SM-2, Leitner, Qstream) do not predict recall; as in
//! srs-benchmark's SM-2 baseline, their last interval `I` is read as the time at which recall
//! falls to 90% on an exponential curve: `R = 0.9^(t / I)`.

use std::thread;

use fsrs::{compute_parameters, FSRSReview};
use serde::{Deserialize, Serialize};

use super::metrics::Observation;
use crate::domain::scheduler::{training_input, FitError, FsrsPredictor, IndexedItem, QstreamRule};

/// Number of test folds in the time-series split, as in fsrs-rs and srs-benchmark.
const SPLITS: usize = 5;
/// srs-benchmark's SM-2 interval cap (`s_max`, days).
const SM2_MAX_INTERVAL: f64 = 36_500.0;
/// Leitner boxes hold 1, 2, 4, … days; the top box (512 days) is the cap.
const LEITNER_TOP_BOX: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Model {
    /// FSRS-6 fitted per learner, time-series split: train on earlier, predict later.
    FsrsFitted,
    /// FSRS-6 with the crate's default parameters.
    FsrsDefault,
    Sm2,
    Leitner,
    Qstream,
    /// The prediction recorded by the source system (SuperMemo: `1 - expFI/100`).
    SuperMemo,
}

impl Model {
    pub const ALL: [Model; 6] = [
        Model::FsrsFitted,
        Model::FsrsDefault,
        Model::Sm2,
        Model::Leitner,
        Model::Qstream,
        Model::SuperMemo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Model::FsrsFitted => "FSRS-6 fitted",
            Model::FsrsDefault => "FSRS-6 default",
            Model::Sm2 => "SM-2",
            Model::Leitner => "Leitner",
            Model::Qstream => "Qstream",
            Model::SuperMemo => "SuperMemo",
        }
    }
}

/// Predictions of `model` for one learner's items, given in time-series split order. `source` gives the recorded
/// prediction for an item (only [`Model::SuperMemo`] uses it; items without one are skipped).
pub fn predict(
    model: Model,
    items: &[IndexedItem],
    source: impl Fn(&IndexedItem) -> Option<f64>,
) -> Result<Vec<Observation>, FitError> {
    let observe = |item: &IndexedItem, p: f64| Observation::from_item(&item.item, p);
    let by_interval = |interval: fn(&[FSRSReview]) -> f64| {
        items
            .iter()
            .map(|i| {
                let (current, history) = i.item.reviews.split_last().expect("items are non-empty");
                observe(
                    i,
                    0.9f64.powf(f64::from(current.delta_t) / interval(history)),
                )
            })
            .collect()
    };
    Ok(match model {
        Model::FsrsFitted => time_series_predictions(items)?,
        Model::FsrsDefault => {
            let fsrs = FsrsPredictor::new(&[]);
            items
                .iter()
                .map(|i| observe(i, fsrs.recall(&i.item)))
                .collect()
        }
        Model::Sm2 => by_interval(sm2_interval),
        Model::Leitner => by_interval(leitner_interval),
        Model::Qstream => by_interval(qstream_interval),
        Model::SuperMemo => items
            .iter()
            .filter_map(|i| source(i).map(|p| observe(i, p)))
            .collect(),
    })
}

/// fsrs-rs's `evaluate_with_time_series_splits` protocol, keeping each prediction: the items
/// are cut into `SPLITS + 1` equal segments; fold k fits `compute_parameters` on segments
/// `0..=k` and predicts segment `k + 1` (the last fold also takes the remainder). Folds run
/// in parallel.
fn time_series_predictions(items: &[IndexedItem]) -> Result<Vec<Observation>, FitError> {
    let segment = items.len() / (SPLITS + 1);
    if segment == 0 {
        return Ok(Vec::new());
    }
    let folds: Vec<Result<Vec<Observation>, FitError>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..SPLITS)
            .map(|k| {
                scope.spawn(move || {
                    let test_start = (k + 1) * segment;
                    let test_end = if k + 1 == SPLITS {
                        items.len()
                    } else {
                        test_start + segment
                    };
                    let parameters = compute_parameters(training_input(&items[..test_start]))?;
                    let fsrs = FsrsPredictor::new(&parameters);
                    Ok(items[test_start..test_end]
                        .iter()
                        .map(|i| Observation::from_item(&i.item, fsrs.recall(&i.item)))
                        .collect())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("fold thread panicked"))
            .collect()
    });
    folds.into_iter().try_fold(Vec::new(), |mut all, fold| {
        all.extend(fold?);
        Ok(all)
    })
}

/// srs-benchmark's SM-2: EF starts at 2.5; a pass (Hard or better, quality = rating + 1 ≥ 3)
/// gives 1, 6, then `I·EF` days; a fail resets to 1 day; EF moves by the SM-2 formula.
fn sm2_interval(history: &[FSRSReview]) -> f64 {
    let (mut interval, mut ef, mut reps) = (0.0f64, 2.5f64, 0u32);
    for review in history {
        let quality = f64::from(review.rating + 1);
        if quality > 2.0 {
            interval = match reps {
                0 => 1.0,
                1 => 6.0,
                _ => interval * ef,
            };
            reps += 1;
        } else {
            interval = 1.0;
            reps = 0;
        }
        ef = (ef + (0.1 - (5.0 - quality) * (0.08 + (5.0 - quality) * 0.02))).max(1.3);
        interval = (interval + 0.01).round().clamp(1.0, SM2_MAX_INTERVAL);
    }
    interval.max(1.0)
}

/// Leitner: a recall moves the item up a box, a lapse back to box 1; box b waits 2^(b-1) days.
fn leitner_interval(history: &[FSRSReview]) -> f64 {
    let top = history.iter().fold(0u32, |b, r| match r.rating {
        1 => 1,
        _ => (b + 1).min(LEITNER_TOP_BOX),
    });
    f64::from(1u32 << top.max(1).saturating_sub(1))
}

/// Qstream: 21 days after a wrong answer, 42 after a right one.
fn qstream_interval(history: &[FSRSReview]) -> f64 {
    let correct = history.last().is_some_and(|r| r.rating > 1);
    f64::from(QstreamRule::default().interval_after(correct))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reviews(ratings: &[u32]) -> Vec<FSRSReview> {
        ratings
            .iter()
            .map(|&rating| FSRSReview { rating, delta_t: 1 })
            .collect()
    }

    #[test]
    fn sm2_intervals() {
        assert_eq!(sm2_interval(&reviews(&[3])), 1.0);
        assert_eq!(sm2_interval(&reviews(&[3, 3])), 6.0);
        // EF stays 2.5 on Good (quality 4): 6 * 2.5 = 15.
        assert_eq!(sm2_interval(&reviews(&[3, 3, 3])), 15.0);
        assert_eq!(sm2_interval(&reviews(&[3, 3, 1])), 1.0);
    }

    #[test]
    fn leitner_boxes_double() {
        assert_eq!(leitner_interval(&reviews(&[3])), 1.0);
        assert_eq!(leitner_interval(&reviews(&[3, 3, 3])), 4.0);
        assert_eq!(leitner_interval(&reviews(&[3, 3, 1])), 1.0);
        assert_eq!(leitner_interval(&reviews(&[3; 20])), 512.0);
    }

    #[test]
    fn qstream_intervals() {
        assert_eq!(qstream_interval(&reviews(&[1])), 21.0);
        assert_eq!(qstream_interval(&reviews(&[1, 4])), 42.0);
    }
}
