//! The simulated learners' true memory: what policies are judged against and never see.
//!
//! Truth is FSRS-6 with one parameter set per sub-population (the defaults, given parameters,
//! or parameters fitted on one real learner's history), run on a *personal clock*: a learner ×
//! nugget pair forgets `a_l × b_n` times slower than the parameters say, where `a_l` (the
//! learner) and `b_n` (the nugget, shared by every learner) are log-normal. Why: the planner's
//! edge can only come from what differs between people and questions; a population that
//! forgets alike is served about as well by a fixed rule. Stretching time rather than editing
//! parameters keeps every transition the crate's own FSRS-6.

use fsrs::{current_retrievability, MemoryState, FSRS};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::domain::eval::review_history;
use crate::domain::eval::LearnerHistories;
use crate::domain::scheduler::{fsrs_items, training_input, ReviewHistory};

/// Default spread of the personal clock, as standard deviations of its logarithm: an assumption,
/// documented in the memory-model manual and settable with `--learner-spread` and
/// `--nugget-spread`. With 0.5 each, the middle two thirds of learners (and of nuggets) forget
/// within a factor of 1.65 of the typical one, and one learner × nugget pair in six forgets more
/// than twice as fast as the parameters say. Between-person differences beyond that come from
/// `--truth-from`, where every sub-population is a real learner's fitted FSRS-6.
pub const LEARNER_SPREAD: f64 = 0.5;
pub const NUGGET_SPREAD: f64 = 0.5;

/// One FSRS-6 parameter set the truth draws learners from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthGroup {
    pub name: String,
    pub parameters: Vec<f32>,
}

/// Who the simulated learners are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Learner `l` belongs to group `l % groups.len()`.
    pub groups: Vec<TruthGroup>,
    pub learner_spread: f64,
    pub nugget_spread: f64,
}

impl Truth {
    /// FSRS-6 defaults with the documented spread.
    pub fn default_population() -> Self {
        Self::from_groups(vec![TruthGroup {
            name: "default".to_owned(),
            parameters: Vec::new(),
        }])
    }

    pub fn from_groups(groups: Vec<TruthGroup>) -> Self {
        Self {
            groups,
            learner_spread: LEARNER_SPREAD,
            nugget_spread: NUGGET_SPREAD,
        }
    }
}

/// FSRS-6 fitted on each learner's whole history (no hold-out: this is the truth to simulate,
/// not a forecast to score). Learners with too few reviews for the crate's full fit get what it
/// can estimate (initial stabilities) on top of the defaults.
pub fn fitted_groups(learners: &[LearnerHistories]) -> Result<Vec<TruthGroup>, fsrs::FSRSError> {
    learners
        .iter()
        .map(|learner| {
            let histories: Vec<ReviewHistory> = learner.items.iter().map(review_history).collect();
            let items = fsrs_items(&histories);
            let parameters = fsrs::compute_parameters(training_input(&items))?;
            Ok(TruthGroup {
                name: learner.learner.clone(),
                parameters,
            })
        })
        .collect()
}

/// A drawn population: every learner's and nugget's clock factor and the truth models.
pub struct Population {
    models: Vec<(FSRS, f32)>,
    group: Vec<usize>,
    learner_factor: Vec<f64>,
    nugget_factor: Vec<f64>,
}

impl Population {
    pub fn draw(truth: &Truth, learners: usize, nuggets: usize, rng: &mut ChaCha8Rng) -> Self {
        let models = truth
            .groups
            .iter()
            .map(|g| {
                let decay = crate::domain::scheduler::ForgettingCurve::new(&g.parameters).decay();
                (FSRS::new(&g.parameters).unwrap_or_default(), decay as f32)
            })
            .collect::<Vec<_>>();
        let groups = models.len().max(1);
        let learner_factor = (0..learners)
            .map(|_| (truth.learner_spread * standard_normal(rng)).exp())
            .collect();
        let nugget_factor = (0..nuggets)
            .map(|_| (truth.nugget_spread * standard_normal(rng)).exp())
            .collect();
        Self {
            models,
            group: (0..learners).map(|l| l % groups).collect(),
            learner_factor,
            nugget_factor,
        }
    }

    fn clock(&self, learner: usize, nugget: usize) -> f64 {
        self.learner_factor[learner] * self.nugget_factor[nugget]
    }

    /// True probability of recall `days` after the last review.
    pub fn recall(&self, learner: usize, nugget: usize, memory: MemoryState, days: u32) -> f64 {
        let (_, decay) = self.models[self.group[learner]];
        let personal = f64::from(days) / self.clock(learner, nugget);
        f64::from(current_retrievability(memory, personal as f32, decay))
    }

    /// True memory after training (`days` is `None`) or after a question `days` after the last
    /// review: recalled → Good, not recalled → Again (the explanation re-teaches it, whether or
    /// not a guess hit the right option). The crate counts whole days, so the personal elapsed
    /// time is rounded at random to a neighbouring whole day (unbiased), at least one.
    pub fn step(
        &self,
        learner: usize,
        nugget: usize,
        memory: Option<MemoryState>,
        recalled: bool,
        days: u32,
        rng: &mut ChaCha8Rng,
    ) -> MemoryState {
        let (model, _) = &self.models[self.group[learner]];
        let elapsed = match memory {
            None => 0,
            Some(_) => {
                let personal = f64::from(days) / self.clock(learner, nugget);
                let low = personal.floor();
                let up = rng.gen_bool((personal - low).clamp(0.0, 1.0));
                ((low as u32) + u32::from(up)).max(1)
            }
        };
        let next = model
            .next_states(memory, 0.9, elapsed)
            .or_else(|_| model.next_states(None, 0.9, 0))
            .expect("FSRS initial states are finite for valid parameters");
        if recalled {
            next.good.memory
        } else {
            next.again.memory
        }
    }
}

/// A standard normal draw (Box–Muller), to avoid a distributions crate for one use.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
