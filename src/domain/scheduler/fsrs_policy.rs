//! FSRS-6 scheduling on top of the `fsrs` crate (no FSRS formulas are re-implemented here).

use chrono::{DateTime, Duration, Utc};
use fsrs::{check_and_fill_parameters, current_retrievability, FSRSItem, ItemState, FSRS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{CardState, CardStatus, MemoryState, Rating, SchedulingContext};

/// A wrong answer brings the nugget back the next day: nuggets are sent at most daily, so
/// there is no shorter relearning step to take.
const RELEARN_DAYS: i64 = 1;

/// Anki's fuzz ranges (rslib `scheduler/states/fuzz.rs`): `(from, to, factor)` — each day of
/// the interval inside `[from, to)` widens the window by `factor` days. The crate has no fuzz
/// helper, and these ranges are what FSRS users already get in Anki.
const FUZZ_RANGES: [(f64, f64, f64); 3] = [
    (2.5, 7.0, 0.15),
    (7.0, 20.0, 0.1),
    (20.0, f64::INFINITY, 0.05),
];

/// The crate model for `parameters`. Invalid vectors fall back to the FSRS-6 defaults so a
/// bad stored configuration degrades scheduling instead of failing an answer; parameters are
/// validated where they are produced ([`super::fit_parameters`]).
pub(super) fn model(parameters: &[f32]) -> FSRS {
    FSRS::new(parameters).unwrap_or_default()
}

/// The decay (w20) of the forgetting curve `parameters` describe.
pub(super) fn decay(parameters: &[f32]) -> f32 {
    check_and_fill_parameters(parameters)
        .or_else(|_| check_and_fill_parameters(&[]))
        .map_or(fsrs::FSRS6_DEFAULT_DECAY, |w| w[20])
}

/// Recall predictions for evaluation: FSRS state from an item's history, read off the
/// forgetting curve at the last review's `delta_t` (what the crate's `evaluate` does).
#[derive(Debug, Clone)]
pub struct FsrsPredictor {
    model: FSRS,
    decay: f32,
}

impl FsrsPredictor {
    pub fn new(parameters: &[f32]) -> Self {
        Self {
            model: model(parameters),
            decay: decay(parameters),
        }
    }

    /// Predicted recall of `item`'s last review; 0.5 (no information) if the crate rejects
    /// the history as numerically invalid.
    pub fn recall(&self, item: &FSRSItem) -> f64 {
        let Some((current, history)) = item.reviews.split_last() else {
            return 0.5;
        };
        let history = FSRSItem {
            reviews: history.to_vec(),
        };
        match self.model.memory_state(history, None) {
            Ok(state) => f64::from(current_retrievability(
                state,
                current.delta_t as f32,
                self.decay,
            )),
            Err(_) => 0.5,
        }
    }
}

/// Predicted recall `days` after the last review.
pub(super) fn recall_after(memory: MemoryState, days: f64, parameters: &[f32]) -> f64 {
    f64::from(current_retrievability(
        memory.to_fsrs(),
        days as f32,
        decay(parameters),
    ))
}

/// Memory state and FSRS interval after answering with `rating` at `now`. Elapsed time is
/// counted in whole UTC calendar days, as FSRS is trained on day-level review logs.
pub(super) fn next_item_state(
    model: &FSRS,
    state: &CardState,
    rating: Rating,
    now: DateTime<Utc>,
    desired_retention: f64,
) -> ItemState {
    let elapsed = state.last_review.map_or(0, |last| {
        (now.date_naive() - last.date_naive()).num_days().max(0) as u32
    });
    let previous = state.memory.map(MemoryState::to_fsrs);
    let retention = desired_retention as f32;
    // A stored state the crate rejects (non-finite) is treated as a fresh card.
    let next = model
        .next_states(previous, retention, elapsed)
        .or_else(|_| model.next_states(None, retention, 0))
        .expect("FSRS initial states are finite for valid parameters");
    match rating {
        Rating::Again => next.again,
        Rating::Hard => next.hard,
        Rating::Good => next.good,
        Rating::Easy => next.easy,
    }
}

/// Status and due date under FSRS for a card already updated by [`super::review`].
pub(super) fn schedule(
    card: &CardState,
    next: &ItemState,
    now: DateTime<Utc>,
    ctx: &SchedulingContext,
    fuzz_seed: u64,
) -> (CardStatus, Option<DateTime<Utc>>) {
    // The streak is zero exactly when this answer was wrong.
    if card.correct_streak == 0 {
        return (
            CardStatus::Learning,
            Some(now + Duration::days(RELEARN_DAYS)),
        );
    }
    let memory = MemoryState::from_fsrs(next.memory);
    let horizon = f64::from(ctx.mastery_horizon_days);
    if recall_after(memory, horizon, &ctx.parameters) >= ctx.desired_retention {
        return (CardStatus::Mastered, None);
    }
    let max = ctx.maximum_interval_days.max(1);
    let interval = f64::from(next.interval).clamp(1.0, f64::from(max));
    let days = if ctx.fuzz {
        // Mixed with the review count (Anki seeds with card id + reps) so successive
        // intervals of one nugget get independent fuzz.
        fuzzed_interval(
            interval,
            max,
            fuzz_seed ^ u64::from(card.reps).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )
    } else {
        interval.round() as u32
    };
    (
        CardStatus::Review,
        Some(now + Duration::days(i64::from(days))),
    )
}

/// Anki's fuzz: a uniform pick in `[interval - delta, interval + delta]` (rounded, at least 2,
/// at most `max`); intervals under 2.5 days are left alone.
pub(super) fn fuzzed_interval(interval: f64, max: u32, seed: u64) -> u32 {
    let (lower, upper) = fuzz_bounds(interval, max);
    let factor: f64 = ChaCha8Rng::seed_from_u64(seed).gen();
    let pick = (f64::from(lower) + factor * f64::from(1 + upper - lower)).floor() as u32;
    pick.min(upper)
}

/// The `[lower, upper]` day window fuzz can pick from.
pub(super) fn fuzz_bounds(interval: f64, max: u32) -> (u32, u32) {
    let rounded = (interval.round() as u32).clamp(1, max);
    if interval < 2.5 {
        return (rounded, rounded);
    }
    let delta = 1.0
        + FUZZ_RANGES
            .iter()
            .map(|&(from, to, factor)| factor * (interval.min(to) - from).max(0.0))
            .sum::<f64>();
    let lower = ((interval - delta).round().max(2.0) as u32).min(max);
    let upper = ((interval + delta).round() as u32).clamp(lower, max);
    (lower, upper)
}
