//! Per-(learner, nugget) memory model: pure state transitions on answers.
//!
//! Everything here is deterministic: the caller passes `now`, the scheduling context and a
//! fuzz seed, and gets the next [`CardState`] back. FSRS-6 maths comes from the `fsrs` crate;
//! this module only decides how its outputs map onto nugget statuses and due dates.

mod fit;
mod fsrs_policy;
pub mod planner;
mod qstream;
mod rating;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) use fit::training_input;
pub use fit::{
    daily_reviews, fit_parameters, fsrs_items, FitError, FitOutcome, IndexedItem, ReviewEvent,
    ReviewHistory, Score, MIN_FIT_REVIEWS,
};
pub use fsrs_policy::FsrsPredictor;
pub use planner::{
    plan_day, Horizon, NuggetPlanInput, PlanReason, PlannedQuestion, Planner, PlannerSettings,
    SpreadEstimate, DEFAULT_PRICE, PRIOR_SPREAD,
};
pub use qstream::QstreamRule;
pub use rating::{rating_for, Confidence, GradingThresholds, Rating};

/// FSRS memory state in `f64` for storage; the crate works in `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemoryState {
    /// Days until predicted recall falls to 90%.
    pub stability: f64,
    /// 1 (easy) ..= 10 (hard).
    pub difficulty: f64,
}

impl MemoryState {
    fn to_fsrs(self) -> fsrs::MemoryState {
        fsrs::MemoryState {
            stability: self.stability as f32,
            difficulty: self.difficulty as f32,
        }
    }

    fn from_fsrs(state: fsrs::MemoryState) -> Self {
        Self {
            stability: f64::from(state.stability),
            difficulty: f64::from(state.difficulty),
        }
    }
}

/// Where a nugget stands for one learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    /// Never answered.
    New,
    /// Last answer was wrong; coming back soon.
    Learning,
    /// Answered correctly; scheduled by the policy.
    Review,
    /// Retired: predicted (or rule-based) retention makes more questions pointless.
    Mastered,
    /// Taken out of rotation by an admin; answers still update memory.
    Suspended,
}

impl CardStatus {
    /// The lowercase name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Learning => "learning",
            Self::Review => "review",
            Self::Mastered => "mastered",
            Self::Suspended => "suspended",
        }
    }

    /// Inverse of [`CardStatus::as_str`].
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "new" => Some(Self::New),
            "learning" => Some(Self::Learning),
            "review" => Some(Self::Review),
            "mastered" => Some(Self::Mastered),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// Everything the scheduler remembers about one learner × nugget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardState {
    /// FSRS memory, tracked under every policy so proficiency can always be predicted.
    pub memory: Option<MemoryState>,
    pub status: CardStatus,
    pub reps: u32,
    /// Wrong answers after the first review.
    pub lapses: u32,
    pub last_review: Option<DateTime<Utc>>,
    /// `None` when not scheduled (new, mastered or suspended).
    pub due: Option<DateTime<Utc>>,
    /// Consecutive correct answers (Qstream retires on this).
    pub correct_streak: u32,
}

impl Default for CardState {
    fn default() -> Self {
        Self {
            memory: None,
            status: CardStatus::New,
            reps: 0,
            lapses: 0,
            last_review: None,
            due: None,
            correct_streak: 0,
        }
    }
}

/// Tunables shared by every review of a programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulingContext {
    /// Target probability of recall at the due date (FSRS).
    pub desired_retention: f64,
    pub maximum_interval_days: u32,
    /// Retire a nugget once recall this many days ahead is still ≥ `desired_retention`.
    pub mastery_horizon_days: u32,
    /// Spread due dates (Anki-style) so nuggets learnt together do not stay bunched.
    pub fuzz: bool,
    /// FSRS-6 parameters; empty means the crate's defaults.
    pub parameters: Vec<f32>,
}

impl Default for SchedulingContext {
    fn default() -> Self {
        Self {
            desired_retention: 0.9,
            maximum_interval_days: 365,
            mastery_horizon_days: 90,
            fuzz: true,
            parameters: Vec::new(),
        }
    }
}

/// Which rule decides the next due date.
#[derive(Debug, Clone)]
pub enum Policy {
    /// FSRS-6 interval for the desired retention.
    Fsrs,
    /// Qstream's fixed-interval rule.
    Qstream(QstreamRule),
    /// The budget-aware planner's next question for this learner.
    Planner(PlannerSpacing),
}

/// What the planner needs to space one learner's answer: its tables (built once per settings
/// and shared), the day its horizon counts from, and what it knows of the learner and nugget.
#[derive(Debug, Clone)]
pub struct PlannerSpacing {
    pub planner: std::sync::Arc<Planner>,
    /// The assignment's start (the training event): day 0 of the horizon.
    pub start: DateTime<Utc>,
    /// The learner's learnt log stability factor (0: as the parameters predict).
    pub ln_factor: f64,
    /// The nugget's option count (a right answer may be a guess, 1 in `options`).
    pub options: u8,
}

impl PlannerSpacing {
    /// Status and due date for a card already updated by [`review`]. After the horizon's last
    /// day the planner has nothing left to aim at and FSRS keeps the knowledge at the desired
    /// retention, as for an `fsrs` assignment.
    fn schedule(
        &self,
        card: &CardState,
        next: &fsrs::ItemState,
        now: DateTime<Utc>,
        ctx: &SchedulingContext,
        fuzz_seed: u64,
    ) -> (CardStatus, Option<DateTime<Utc>>) {
        let today = u32::try_from((now - self.start).num_days().max(0)).unwrap_or(u32::MAX);
        let Some(memory) = card
            .memory
            .filter(|_| today < self.planner.settings().horizon.last)
        else {
            return fsrs_policy::schedule(card, next, now, ctx, fuzz_seed);
        };
        match self
            .planner
            .next_question(memory, self.ln_factor, self.options, today)
        {
            Some(days) => (
                if card.correct_streak == 0 {
                    CardStatus::Learning
                } else {
                    CardStatus::Review
                },
                Some(now + chrono::Duration::days(i64::from(days))),
            ),
            None => (CardStatus::Mastered, None),
        }
    }
}

/// Applies one answer. Memory is updated with FSRS under both policies; the policy only
/// picks status and due date. `fuzz_seed` (see [`fuzz_seed`]) makes fuzz reproducible.
pub fn review(
    state: &CardState,
    rating: Rating,
    now: DateTime<Utc>,
    ctx: &SchedulingContext,
    policy: &Policy,
    fuzz_seed: u64,
) -> CardState {
    let model = fsrs_policy::model(&ctx.parameters);
    let next = fsrs_policy::next_item_state(&model, state, rating, now, ctx.desired_retention);
    let correct = rating.is_recall();
    let mut out = CardState {
        memory: Some(MemoryState::from_fsrs(next.memory)),
        status: state.status,
        reps: state.reps + 1,
        lapses: state.lapses + u32::from(!correct && state.memory.is_some()),
        last_review: Some(now),
        due: state.due,
        correct_streak: if correct { state.correct_streak + 1 } else { 0 },
    };
    let (status, due) = match policy {
        Policy::Fsrs => fsrs_policy::schedule(&out, &next, now, ctx, fuzz_seed),
        Policy::Qstream(rule) => rule.schedule(&out, now),
        Policy::Planner(spacing) => spacing.schedule(&out, &next, now, ctx, fuzz_seed),
    };
    if state.status == CardStatus::Suspended {
        out.due = None;
    } else {
        out.status = status;
        out.due = due;
    }
    out
}

/// Predicted probability of recall at `at`; `None` for a nugget never answered.
pub fn retrievability(state: &CardState, at: DateTime<Utc>, parameters: &[f32]) -> Option<f64> {
    let memory = state.memory?;
    let last = state.last_review?;
    let days = (at - last).num_seconds().max(0) as f64 / 86_400.0;
    Some(fsrs_policy::recall_after(memory, days, parameters))
}

/// Predicted recall `elapsed_days` after a review that left `stability`: the FSRS forgetting
/// curve of `parameters` (the crate's `current_retrievability`).
pub fn recall_after(stability: f64, elapsed_days: f64, parameters: &[f32]) -> f64 {
    ForgettingCurve::new(parameters).recall(stability, elapsed_days)
}

/// The forgetting curve of one parameter set, for reading many predictions cheaply (analytics
/// evaluate it for millions of memory states).
#[derive(Debug, Clone, Copy)]
pub struct ForgettingCurve {
    decay: f32,
}

impl ForgettingCurve {
    pub fn new(parameters: &[f32]) -> Self {
        Self {
            decay: fsrs_policy::decay(parameters),
        }
    }

    /// The curve's decay, as stored beside values computed with it.
    pub fn decay(&self) -> f64 {
        f64::from(self.decay)
    }

    /// Whether values stored with `decay` were computed with this curve (a refit changes it).
    pub fn is(&self, decay: f64) -> bool {
        self.decay() == decay
    }

    /// Predicted recall `elapsed_days` (clamped at 0) after a review that left `stability`.
    pub fn recall(&self, stability: f64, elapsed_days: f64) -> f64 {
        let state = fsrs::MemoryState {
            stability: stability.max(0.001) as f32,
            difficulty: 5.0,
        };
        f64::from(fsrs::current_retrievability(
            state,
            elapsed_days.max(0.0) as f32,
            self.decay,
        ))
    }

    /// Predicted recall at `at` of a memory last reviewed at `last_review`.
    pub fn recall_at(&self, stability: f64, last_review: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
        self.recall_after_seconds(stability, (at - last_review).num_seconds())
    }

    /// Predicted recall `seconds` (whole) after a review that left `stability`.
    pub fn recall_after_seconds(&self, stability: f64, seconds: i64) -> f64 {
        self.recall(stability, seconds as f64 / 86_400.0)
    }
}

/// Stable 64-bit FNV-1a of `learner`, a separator and `nugget`, so fuzz is reproducible
/// across processes (unlike `std`'s randomly keyed hasher).
pub fn fuzz_seed(learner: &str, nugget: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = learner.bytes().chain([0xff]).chain(nugget.bytes());
    bytes.fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests;
