//! Offline evaluation of memory models on review logs, and a policy simulator.
//!
//! Pure: callers load data (with [`sm18`] or [`reprise_format`]) and get tables back.

pub mod baselines;
pub mod metrics;
pub mod reprise_format;
pub mod simulate;
pub mod sm18;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::scheduler::{
    fsrs_items, FitError, IndexedItem, Rating, ReviewEvent, ReviewHistory,
};
pub use baselines::Model;
use metrics::Observation;

/// One observed answer, with the source system's own recall prediction if it logged one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObservedReview {
    pub at: DateTime<Utc>,
    pub rating: Rating,
    pub source_recall: Option<f64>,
}

/// All answers to one item by one learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemHistory {
    pub item: String,
    pub reviews: Vec<ObservedReview>,
}

/// One learner's items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnerHistories {
    pub learner: String,
    pub items: Vec<ItemHistory>,
}

/// Scores of one model on one learner (or on everyone: learner [`OVERALL`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub learner: String,
    pub model: Model,
    /// Reviews predicted.
    pub n: usize,
    pub log_loss: f64,
    pub rmse_bins: f64,
    pub auc: Option<f64>,
}

/// Learner name of the rows pooling every learner's predictions.
pub const OVERALL: &str = "(overall)";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub rows: Vec<ReportRow>,
}

/// How items are lined up before the time-series split cuts them into train/test segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitOrder {
    /// Strictly by review time: every prediction uses only earlier reviews. Use for app data.
    ReviewTime,
    /// By item in input order, then by review: the fsrs-vs-sm15 protocol (its pipeline sorts
    /// by element number), which produced the `shared/data/revlogs` reference figures. Later
    /// items are roughly newer, but training segments can hold reviews dated after test ones.
    Item,
}

/// Scores `models` per learner (each learner fitted on their own history, as in the
/// fsrs-vs-sm15 study) and overall (all learners' predictions pooled). `split` only affects
/// [`Model::FsrsFitted`]; every other model predicts every review from its own history. A model
/// that predicts nothing for a learner (a single answer per item, too few reviews for a fitted
/// fold, no source prediction) gets no row rather than a meaningless zero.
pub fn evaluate(
    learners: &[LearnerHistories],
    models: &[Model],
    split: SplitOrder,
) -> Result<Report, FitError> {
    let mut rows = Vec::new();
    let mut pooled: Vec<Vec<Observation>> = vec![Vec::new(); models.len()];
    for learner in learners {
        let histories: Vec<ReviewHistory> = learner.items.iter().map(review_history).collect();
        let mut items = fsrs_items(&histories);
        if split == SplitOrder::Item {
            items.sort_by_key(|i| (i.history, i.review));
        }
        let source = |i: &IndexedItem| {
            learner.items[i.history]
                .reviews
                .get(i.review)?
                .source_recall
        };
        for (m, &model) in models.iter().enumerate() {
            let observations = baselines::predict(model, &items, source)?;
            if !observations.is_empty() {
                rows.push(row(&learner.learner, model, &observations));
                pooled[m].extend(observations);
            }
        }
    }
    for (m, &model) in models.iter().enumerate() {
        if !pooled[m].is_empty() {
            rows.push(row(OVERALL, model, &pooled[m]));
        }
    }
    Ok(Report { rows })
}

/// The scheduler's view of an item; reviews must already be time-sorted, one per day (as
/// [`sm18`] produces) for `IndexedItem::review` to index `ItemHistory::reviews`.
pub fn review_history(item: &ItemHistory) -> ReviewHistory {
    ReviewHistory {
        reviews: item
            .reviews
            .iter()
            .map(|r| ReviewEvent {
                at: r.at,
                rating: r.rating,
            })
            .collect(),
    }
}

fn row(learner: &str, model: Model, observations: &[Observation]) -> ReportRow {
    ReportRow {
        learner: learner.to_owned(),
        model,
        n: observations.len(),
        log_loss: metrics::log_loss(observations),
        rmse_bins: metrics::rmse_bins(observations),
        auc: metrics::auc(observations),
    }
}

impl Report {
    /// The row for `learner` and `model`, if evaluated.
    pub fn get(&self, learner: &str, model: Model) -> Option<&ReportRow> {
        self.rows
            .iter()
            .find(|r| r.learner == learner && r.model == model)
    }

    /// `learner,model,n,log_loss,rmse_bins,auc` with a header line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("learner,model,n,log_loss,rmse_bins,auc\n");
        for r in &self.rows {
            let auc = r.auc.map_or(String::new(), |a| format!("{a:.4}"));
            out += &format!(
                "{},{},{},{:.4},{:.4},{}\n",
                r.learner,
                r.model.name(),
                r.n,
                r.log_loss,
                r.rmse_bins,
                auc
            );
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Learner ids from app exports are UUIDs: widen the column rather than misalign it.
        let width = self
            .rows
            .iter()
            .map(|r| r.learner.chars().count())
            .max()
            .unwrap_or(0)
            .max(14);
        writeln!(
            f,
            "{:<width$} {:<15} {:>6} {:>9} {:>10} {:>6}",
            "learner", "model", "n", "log loss", "RMSE(bins)", "AUC"
        )?;
        for r in &self.rows {
            let auc = r.auc.map_or("-".to_owned(), |a| format!("{a:.4}"));
            writeln!(
                f,
                "{:<width$} {:<15} {:>6} {:>9.4} {:>10.4} {:>6}",
                r.learner,
                r.model.name(),
                r.n,
                r.log_loss,
                r.rmse_bins,
                auc
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::domain::scheduler::{retrievability, review, CardState, Policy, SchedulingContext};

    /// A learner whose recall follows FSRS defaults, with a source system that guesses 0.85.
    fn learner(name: &str, items: usize, seed: u64) -> LearnerHistories {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ctx = SchedulingContext::default();
        let start = Utc.with_ymd_and_hms(2023, 1, 1, 8, 0, 0).unwrap();
        let items = (0..items)
            .map(|i| {
                let mut state = CardState::default();
                let mut at = start + Duration::days(i as i64 % 20);
                let mut reviews = Vec::new();
                for _ in 0..5 {
                    let p = retrievability(&state, at, &[]).unwrap_or(0.7);
                    let rating = if rng.gen_bool(p) {
                        Rating::Good
                    } else {
                        Rating::Again
                    };
                    let source_recall = (!reviews.is_empty()).then_some(0.85);
                    reviews.push(ObservedReview {
                        at,
                        rating,
                        source_recall,
                    });
                    state = review(&state, rating, at, &ctx, &Policy::Fsrs, i as u64);
                    at = state.due.unwrap_or(at + Duration::days(100));
                }
                ItemHistory {
                    item: i.to_string(),
                    reviews,
                }
            })
            .collect();
        LearnerHistories {
            learner: name.to_owned(),
            items,
        }
    }

    #[test]
    fn evaluates_every_model_per_learner_and_overall() {
        let learners = [learner("a", 60, 1), learner("b", 40, 2)];
        let report = evaluate(&learners, &Model::ALL, SplitOrder::ReviewTime).unwrap();
        assert_eq!(report.rows.len(), 3 * Model::ALL.len());
        let a = report.get("a", Model::FsrsDefault).unwrap();
        assert_eq!(a.n, 60 * 4);
        assert_eq!(report.get("a", Model::FsrsFitted).unwrap().n, 240 - 240 / 6);
        assert_eq!(report.get("b", Model::SuperMemo).unwrap().n, 40 * 4);
        assert_eq!(report.get(OVERALL, Model::Sm2).unwrap().n, 400);
        for row in &report.rows {
            assert!(row.log_loss.is_finite() && row.log_loss > 0.0, "{row:?}");
        }
        // Data generated from FSRS defaults: FSRS beats the interval-only baselines.
        let ll = |m| report.get(OVERALL, m).unwrap().log_loss;
        assert!(ll(Model::FsrsDefault) < ll(Model::Sm2));
        assert!(ll(Model::FsrsDefault) < ll(Model::Leitner));
        let csv = report.to_csv();
        assert!(csv.starts_with("learner,model,n,log_loss,rmse_bins,auc\n"));
        assert_eq!(csv.lines().count(), report.rows.len() + 1);
        assert!(report.to_string().contains("FSRS-6 fitted"));
    }

    #[test]
    fn item_order_changes_only_the_fitted_model() {
        let learners = [learner("a", 60, 3)];
        let by_time = evaluate(&learners, &Model::ALL, SplitOrder::ReviewTime).unwrap();
        let by_item = evaluate(&learners, &Model::ALL, SplitOrder::Item).unwrap();
        for model in [Model::FsrsDefault, Model::Sm2, Model::SuperMemo] {
            let (t, i) = (
                by_time.get("a", model).unwrap(),
                by_item.get("a", model).unwrap(),
            );
            assert_eq!((t.n, t.auc), (i.n, i.auc));
            assert!((t.log_loss - i.log_loss).abs() < 1e-12);
        }
    }
}
