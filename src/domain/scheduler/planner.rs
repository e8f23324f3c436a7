//! The budget-aware planner: each learner-day, which nuggets to ask (within the daily cap) so
//! that the learner's expected recall over the assignment's horizon is highest for the
//! questions spent.
//!
//! Why a planner and not an interval rule: a fixed rule or constant-retention FSRS spends the
//! same questions on every learner and nugget. The planner prices a question (`price`, in points
//! of mean recall over the horizon) and asks only when a question *now* is worth more than
//! asking tomorrow or never again. The value of a question comes from a dynamic programme over
//! FSRS memory states (the "next review interval" formulation of Ye et al., KDD 2022, "A
//! Stochastic Shortest Path Algorithm for Optimizing Spaced Repetition Scheduling", with recall
//! over a window as the reward and a Lagrangian price per question instead of a cost to reach a
//! target stability). Three things make it personal:
//! - each nugget's stability is stretched by a *stability factor* (learner × nugget), learnt from
//!   right and wrong answers by [`SpreadEstimate`];
//! - a right answer on a `K`-option question is a guess with probability `1/K` when the learner
//!   does not recall, so the programme's outcome probabilities and the factors' updates both
//!   count guesses;
//! - the horizon is the window HR reads or a single target date ("ready by").
//!
//! Everything heavy happens once in [`Planner::build`] (tables over a grid of memory states);
//! [`plan_day`] does O(1) table reads per nugget, so a queue read stays cheap.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::{fsrs_policy, MemoryState};

/// Grid step of log-stability and log-factor; both share it so stability × factor lands on the
/// effective-stability grid exactly.
const LN_STEP: f64 = 0.25;
/// Scheduler stability grid: e^-2.5 ≈ 0.08 to e^7 ≈ 1,100 days (recall over a few months is
/// flat beyond it).
const LN_S_MIN: f64 = -2.5;
const S_POINTS: usize = 39;
/// Difficulty grid: FSRS difficulty runs 1..=10.
const D_POINTS: usize = 10;
/// Stability-factor grid: e^-2 ≈ 0.14 to e^2 ≈ 7.4.
const LN_M_MIN: f64 = -2.0;
const M_POINTS: usize = 17;
/// Effective (factor × scheduler) stability grid.
const LN_G_MIN: f64 = LN_S_MIN + LN_M_MIN;
const G_POINTS: usize = S_POINTS + M_POINTS - 1;
/// The largest log stability factor the estimates may reach.
pub const MAX_LN_FACTOR: f64 = -LN_M_MIN;
/// The prior spread (log standard deviation) of a learner's stability factor: what the planner
/// assumes before any answer (a learner forgetting up to about 2.7 times faster or slower than
/// the parameters predict is within two standard deviations).
pub const PRIOR_SPREAD: f64 = 0.5;
/// Price of a question when nothing else is asked for: one point of mean recall over the
/// horizon per nugget.
pub const DEFAULT_PRICE: f64 = 0.01;
/// A nugget is `at_risk` when its personal predicted recall on the horizon's last day, without
/// another question, is below this.
pub const AT_RISK_RECALL: f64 = 0.8;

/// The days whose recall the planner maximises: every day in `first..=last` (days since the
/// assignment's start, measured before that day's answers). A target date is a one-day horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Horizon {
    pub first: u32,
    pub last: u32,
}

impl Horizon {
    /// The window HR reads by default: days 30 to 120 after the training event.
    pub const HR_WINDOW: Horizon = Horizon {
        first: 30,
        last: 120,
    };

    /// "Ready by": only recall on `day` counts.
    pub fn target(day: u32) -> Self {
        Self {
            first: day,
            last: day,
        }
    }

    fn days(&self) -> f64 {
        f64::from(self.last.saturating_sub(self.first) + 1)
    }
}

/// What the planner needs to build its tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerSettings {
    /// FSRS-6 parameters the scheduler uses (empty: the defaults). Never the truth.
    pub parameters: Vec<f32>,
    pub horizon: Horizon,
    /// What one question costs, in mean recall over the horizon per nugget (0.01 = one point).
    pub price: f64,
    /// Option counts the nuggets have (multiple choice with K options; 2 = true/false).
    pub options: Vec<u8>,
}

/// Why a nugget is in today's plan (shown to the learner's app and to L&D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanReason {
    /// The scheduler's FSRS due date has come.
    Due,
    /// Not due yet, but this learner's predicted recall at the horizon's end is slipping.
    AtRisk,
    /// Never answered.
    New,
    /// A question now adds more recall over the horizon than it costs.
    Refresh,
}

/// One nugget as the scheduler knows it for one learner. Days count from the assignment's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NuggetPlanInput {
    /// The scheduler's FSRS memory (`None`: never answered).
    pub memory: Option<MemoryState>,
    /// Day of the last counted answer (ignored when `memory` is `None`).
    pub last_review_day: u32,
    /// The scheduler's FSRS due day, if scheduled.
    pub due_day: Option<u32>,
    /// Number of options of the question (the guessing rate is 1/options).
    pub options: u8,
    /// Learner × nugget stability factor (1 = as the parameters predict).
    pub stability_factor: f64,
}

/// A nugget to ask today.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlannedQuestion {
    /// Index into the input slice.
    pub nugget: usize,
    pub reason: PlanReason,
    /// Expected gain of asking today over the best alternative (tomorrow or never), in the
    /// price's units, net of the price.
    pub gain: f64,
}

/// Precomputed tables for every option count in the settings.
#[derive(Debug, Clone)]
pub struct Planner {
    settings: PlannerSettings,
    curve: Curve,
    /// `trans[s][d][dt]` for dt in 0..=last: (good ln S, good D, again ln S, again D) after a
    /// question `dt` days after the last one, as the scheduler's FSRS computes it.
    trans: Vec<[f32; 4]>,
    by_options: Vec<(u8, Tables)>,
    /// Memory after a right first answer (for nuggets never answered).
    first_good: MemoryState,
}

/// The FSRS-6 forgetting curve R(t) = (1 + factor · t / S)^-decay of the parameters.
#[derive(Debug, Clone, Copy)]
struct Curve {
    decay: f64,
    factor: f64,
}

impl Curve {
    fn new(parameters: &[f32]) -> Self {
        let decay = f64::from(fsrs_policy::decay(parameters));
        Self {
            decay,
            factor: 0.9f64.powf(-1.0 / decay) - 1.0,
        }
    }

    fn recall(&self, days: f64, stability: f64) -> f64 {
        (1.0 + self.factor * days / stability.max(1e-3)).powf(-self.decay)
    }
}

#[derive(Debug, Clone)]
struct Tables {
    guess: f64,
    /// `cum[g][k]` = Σ_{j=1..=k} R(j days; effective stability g), k in 0..=last.
    cum: Vec<f64>,
    /// Value of the horizon days after a question on day t, from the state it left:
    /// `value[t][s][d][m]` for t in 0..last (later questions are worthless).
    value: Vec<f32>,
}

/// Where `x` falls on a grid: the two neighbouring points and the weight of the upper one.
fn axis(x: f64, min: f64, step: f64, points: usize) -> (usize, usize, f64) {
    let pos = ((x - min) / step).clamp(0.0, (points - 1) as f64);
    let low = pos.floor() as usize;
    (low, (low + 1).min(points - 1), pos - low as f64)
}

/// Intervals the programme considers after a question: every day up to two weeks, then steps
/// of about 12 % (the value is smooth in the interval, so the optimum is found closely).
fn intervals(last: u32) -> Vec<u32> {
    let mut out: Vec<u32> = (1..=14.min(last)).collect();
    let mut next = 14.0f64;
    loop {
        next = (next * 1.12).max(next + 1.0);
        let day = next.round() as u32;
        if day > last {
            break;
        }
        out.push(day);
    }
    out
}

impl Planner {
    /// Builds the tables once per settings: O(last × grid × intervals), a fraction of a second.
    pub fn build(settings: &PlannerSettings) -> Self {
        let last = settings.horizon.last.max(1);
        let curve = Curve::new(&settings.parameters);
        let model = fsrs_policy::model(&settings.parameters);
        let mut trans = Vec::with_capacity(S_POINTS * D_POINTS * (last as usize + 1));
        for s in 0..S_POINTS {
            let stability = (LN_S_MIN + s as f64 * LN_STEP).exp();
            for d in 0..D_POINTS {
                let state = fsrs::MemoryState {
                    stability: stability as f32,
                    difficulty: (d + 1) as f32,
                };
                for dt in 0..=last {
                    let entry = model
                        .next_states(Some(state), 0.9, dt.max(1))
                        .map(|n| {
                            [
                                n.good.memory.stability.max(1e-3).ln(),
                                n.good.memory.difficulty,
                                n.again.memory.stability.max(1e-3).ln(),
                                n.again.memory.difficulty,
                            ]
                        })
                        .unwrap_or([
                            stability.ln() as f32,
                            state.difficulty,
                            stability.ln() as f32,
                            state.difficulty,
                        ]);
                    trans.push(entry);
                }
            }
        }
        let first_good = model
            .next_states(None, 0.9, 0)
            .map(|n| MemoryState::from_fsrs(n.good.memory))
            .unwrap_or(MemoryState {
                stability: 2.3,
                difficulty: 2.1,
            });
        let mut options = settings.options.clone();
        options.retain(|&k| k >= 2);
        options.sort_unstable();
        options.dedup();
        if options.is_empty() {
            options.push(4);
        }
        let mut planner = Self {
            settings: PlannerSettings {
                horizon: Horizon {
                    first: settings.horizon.first.min(last),
                    last,
                },
                ..settings.clone()
            },
            curve,
            trans,
            by_options: Vec::new(),
            first_good,
        };
        planner.by_options = options
            .iter()
            .map(|&k| (k, planner.tables_for(k)))
            .collect();
        planner
    }

    pub fn settings(&self) -> &PlannerSettings {
        &self.settings
    }

    fn last(&self) -> u32 {
        self.settings.horizon.last
    }

    fn tables(&self, options: u8) -> &Tables {
        self.by_options
            .iter()
            .min_by_key(|(k, _)| k.abs_diff(options))
            .map(|(_, t)| t)
            .expect("at least one option count")
    }

    fn trans_at(&self, s: usize, d: usize, dt: u32) -> [f32; 4] {
        self.trans[(s * D_POINTS + d) * (self.last() as usize + 1) + dt as usize]
    }

    /// FSRS transition from a state off the grid (bilinear in log stability and difficulty).
    fn transition(&self, ln_s: f64, difficulty: f64, dt: u32) -> [f64; 4] {
        let dt = dt.clamp(1, self.last());
        let (s0, s1, fs) = axis(ln_s, LN_S_MIN, LN_STEP, S_POINTS);
        let (d0, d1, fd) = axis(difficulty, 1.0, 1.0, D_POINTS);
        let mut out = [0.0; 4];
        for (s, ws) in [(s0, 1.0 - fs), (s1, fs)] {
            for (d, wd) in [(d0, 1.0 - fd), (d1, fd)] {
                let w = ws * wd;
                if w > 0.0 {
                    let t = self.trans_at(s, d, dt);
                    for (o, v) in out.iter_mut().zip(t) {
                        *o += w * f64::from(v);
                    }
                }
            }
        }
        out
    }

    fn tables_for(&self, options: u8) -> Tables {
        let last = self.last();
        let width = last as usize + 1;
        let mut cum = vec![0.0; G_POINTS * width];
        for g in 0..G_POINTS {
            let stability = (LN_G_MIN + g as f64 * LN_STEP).exp();
            for k in 1..width {
                cum[g * width + k] =
                    cum[g * width + k - 1] + self.curve.recall(k as f64, stability);
            }
        }
        let mut tables = Tables {
            guess: 1.0 / f64::from(options),
            cum,
            value: vec![0.0; last as usize * S_POINTS * D_POINTS * M_POINTS],
        };
        let steps = intervals(last);
        let price = self.settings.price;
        // Where each grid state lands after a question `dt` days later: bilinear corners in
        // (stability, difficulty), the same for every factor and day, so the innermost loop runs
        // over factors on contiguous memory.
        let corners = |s: usize, d: usize, dt: u32| {
            let tr = self.trans_at(s, d, dt);
            let corner = |ln_s: f32, diff: f32| {
                let (s0, s1, fs) = axis(f64::from(ln_s), LN_S_MIN, LN_STEP, S_POINTS);
                let (d0, d1, fd) = axis(f64::from(diff), 1.0, 1.0, D_POINTS);
                [
                    (s0 * D_POINTS + d0, (1.0 - fs) * (1.0 - fd)),
                    (s0 * D_POINTS + d1, (1.0 - fs) * fd),
                    (s1 * D_POINTS + d0, fs * (1.0 - fd)),
                    (s1 * D_POINTS + d1, fs * fd),
                ]
            };
            (corner(tr[0], tr[1]), corner(tr[2], tr[3]))
        };
        let plane = S_POINTS * D_POINTS * M_POINTS;
        let mut best = [0.0f64; M_POINTS];
        for t in (0..last).rev() {
            for s in 0..S_POINTS {
                for d in 0..D_POINTS {
                    for (m, b) in best.iter_mut().enumerate() {
                        let g = s + m;
                        *b = self.window(&tables.cum[g * width..(g + 1) * width], t, last - t);
                    }
                    for &dt in steps.iter().take_while(|&&dt| t + dt < last) {
                        let (good, again) = corners(s, d, dt);
                        let later = &tables.value[(t + dt) as usize * plane..][..plane];
                        for (m, b) in best.iter_mut().enumerate() {
                            let g = s + m;
                            let row = &tables.cum[g * width..(g + 1) * width];
                            let r = row[dt as usize] - row[dt as usize - 1];
                            let p = r + (1.0 - r) * tables.guess;
                            let v = |c: &[(usize, f64); 4]| {
                                c.iter()
                                    .map(|&(sd, w)| w * f64::from(later[sd * M_POINTS + m]))
                                    .sum::<f64>()
                            };
                            let u = self.window(row, t, dt) - price
                                + p * v(&good)
                                + (1.0 - p) * v(&again);
                            if u > *b {
                                *b = u;
                            }
                        }
                    }
                    let at = Tables::index(t, s, d, 0);
                    for (m, b) in best.iter().enumerate() {
                        tables.value[at + m] = *b as f32;
                    }
                }
            }
        }
        tables
    }

    /// Mean recall over the horizon contributed by days `t0+1..=t0+dt`, read off a cumulative
    /// recall row of a memory last reviewed on day `t0`.
    fn window(&self, row: &[f64], t0: u32, dt: u32) -> f64 {
        let h = self.settings.horizon;
        let low = (t0 + 1).max(h.first);
        let high = (t0 + dt).min(h.last);
        if high < low {
            return 0.0;
        }
        (row[(high - t0) as usize] - row[(low - t0 - 1) as usize]) / h.days()
    }

    /// [`Self::window`] for an effective stability off the grid.
    fn window_at(&self, tables: &Tables, ln_g: f64, t0: u32, dt: u32) -> f64 {
        let width = self.last() as usize + 1;
        let (g0, g1, f) = axis(ln_g, LN_G_MIN, LN_STEP, G_POINTS);
        let row = |g: usize| &tables.cum[g * width..(g + 1) * width];
        (1.0 - f) * self.window(row(g0), t0, dt) + f * self.window(row(g1), t0, dt)
    }

    /// Expected value (net of the price) of the next question `dt` days after the last one,
    /// given on day `t0`, then following the plan.
    fn ask_value(&self, tables: &Tables, t0: u32, memory: MemoryState, ln_m: f64, dt: u32) -> f64 {
        let ln_s = memory.stability.max(1e-3).ln();
        let r = self.curve.recall(f64::from(dt), (ln_s + ln_m).exp());
        let p = r + (1.0 - r) * tables.guess;
        let tr = self.transition(ln_s, memory.difficulty, dt);
        let day = t0 + dt;
        let last = self.last();
        let good = tables.value_at(day, last, tr[0], tr[1], ln_m);
        let again = tables.value_at(day, last, tr[2], tr[3], ln_m);
        self.window_at(tables, ln_s + ln_m, t0, dt) - self.settings.price
            + p * good
            + (1.0 - p) * again
    }

    /// The planner's own choice after a question on day `today` (days since the start) that
    /// left `memory`: how many days until the next question, or `None` when no later question
    /// adds more recall over the horizon than its price (the nugget can be retired). This is
    /// the programme's "next review interval" policy, read off the tables: O(intervals).
    pub fn next_question(
        &self,
        memory: MemoryState,
        ln_factor: f64,
        options: u8,
        today: u32,
    ) -> Option<u32> {
        let last = self.last();
        if today >= last {
            return None;
        }
        let tables = self.tables(options);
        let ln_m = ln_factor.clamp(LN_M_MIN, -LN_M_MIN);
        let ln_s = memory.stability.max(1e-3).ln();
        let never = self.window_at(tables, ln_s + ln_m, today, last - today);
        intervals(last)
            .into_iter()
            .take_while(|&dt| today + dt < last)
            .map(|dt| (dt, self.ask_value(tables, today, memory, ln_m, dt)))
            .filter(|&(_, value)| value > never)
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal))
            .map(|(dt, _)| dt)
    }

    /// Personal predicted recall `days` after the last answer.
    pub fn personal_recall(&self, memory: MemoryState, factor: f64, days: f64) -> f64 {
        self.curve.recall(days, memory.stability * factor.max(1e-6))
    }

    /// How one answer informs the log stability factor: the predicted chance of a right answer
    /// (recall, or a guess with probability 1/options) and its slope in the log factor.
    pub fn evidence(
        &self,
        memory: MemoryState,
        elapsed_days: f64,
        ln_factor: f64,
        options: u8,
    ) -> AnswerEvidence {
        let x = self.curve.factor * elapsed_days.max(0.0)
            / (memory.stability.max(1e-3) * ln_factor.exp());
        let recall = (1.0 + x).powf(-self.curve.decay);
        let guess = 1.0 / f64::from(options.max(2));
        let slope = self.curve.decay * x * (1.0 + x).powf(-self.curve.decay - 1.0);
        AnswerEvidence {
            predicted: recall + (1.0 - recall) * guess,
            slope: (1.0 - guess) * slope,
        }
    }
}

impl Tables {
    fn index(t: u32, s: usize, d: usize, m: usize) -> usize {
        ((t as usize * S_POINTS + s) * D_POINTS + d) * M_POINTS + m
    }

    /// Value after a question on day `t` that left (ln S, D), at a factor on the grid.
    fn value_grid_m(&self, t: u32, last: u32, ln_s: f64, difficulty: f64, m: usize) -> f64 {
        if t >= last {
            return 0.0;
        }
        let (s0, s1, fs) = axis(ln_s, LN_S_MIN, LN_STEP, S_POINTS);
        let (d0, d1, fd) = axis(difficulty, 1.0, 1.0, D_POINTS);
        let v = |s, d| f64::from(self.value[Self::index(t, s, d, m)]);
        (1.0 - fs) * ((1.0 - fd) * v(s0, d0) + fd * v(s0, d1))
            + fs * ((1.0 - fd) * v(s1, d0) + fd * v(s1, d1))
    }

    /// [`Self::value_grid_m`] for a factor off the grid.
    fn value_at(&self, t: u32, last: u32, ln_s: f64, difficulty: f64, ln_m: f64) -> f64 {
        let (m0, m1, fm) = axis(ln_m, LN_M_MIN, LN_STEP, M_POINTS);
        let low = self.value_grid_m(t, last, ln_s, difficulty, m0);
        if fm == 0.0 {
            return low;
        }
        (1.0 - fm) * low + fm * self.value_grid_m(t, last, ln_s, difficulty, m1)
    }
}

/// Whether a nugget the planner spaces is at risk: without another question, its predicted
/// recall `days_to_end` days after its last answer (the horizon's last day) is below
/// [`AT_RISK_RECALL`]. Read at every queue read, so it is the curve alone, with the parameters'
/// prediction for the learner.
pub fn at_risk(parameters: &[f32], memory: MemoryState, days_to_end: f64) -> bool {
    Curve::new(parameters).recall(days_to_end.max(0.0), memory.stability) < AT_RISK_RECALL
}

/// Today's questions for one learner: the nuggets whose question today is worth more than its
/// price and more than deferring it, most valuable first, at most `cap`. Deferring means waiting
/// behind the queue: when `n` nuggets are worth asking and `cap` fit a day, a deferred one comes
/// back in about `n / cap` days, so crowded days (everything taught on one training day, or
/// everything aimed at one target date) pull questions earlier instead of past their best day.
/// O(1) table reads per nugget.
pub fn plan_day(
    planner: &Planner,
    nuggets: &[NuggetPlanInput],
    today: u32,
    cap: usize,
) -> Vec<PlannedQuestion> {
    let last = planner.last();
    if today >= last || cap == 0 {
        return Vec::new();
    }
    let options: Vec<NuggetOptions> = nuggets
        .iter()
        .map(|n| nugget_options(planner, n, today))
        .collect();
    let worth = options.iter().filter(|o| o.ask > o.never).count();
    let wait = worth.div_ceil(cap).max(1) as u32;
    let mut plan: Vec<PlannedQuestion> = options
        .iter()
        .zip(nuggets)
        .enumerate()
        .filter_map(|(i, (o, n))| {
            let deferred = match n.memory {
                Some(memory) if today + wait < last => {
                    let ln_m = ln_factor(n);
                    let elapsed = today - n.last_review_day.min(today);
                    planner.ask_value(
                        planner.tables(n.options),
                        today - elapsed,
                        memory,
                        ln_m,
                        elapsed + wait,
                    )
                }
                _ => f64::NEG_INFINITY,
            };
            let gain = o.ask - o.never.max(deferred);
            (gain > 0.0).then_some(PlannedQuestion {
                nugget: i,
                reason: o.reason,
                gain,
            })
        })
        .collect();
    plan.sort_by(|a, b| {
        b.gain
            .partial_cmp(&a.gain)
            .unwrap_or(Ordering::Equal)
            .then(a.nugget.cmp(&b.nugget))
    });
    plan.truncate(cap);
    plan
}

/// A nugget's value today if asked now, and if never asked again.
struct NuggetOptions {
    ask: f64,
    never: f64,
    reason: PlanReason,
}

fn ln_factor(n: &NuggetPlanInput) -> f64 {
    n.stability_factor.max(1e-6).ln().clamp(LN_M_MIN, -LN_M_MIN)
}

fn nugget_options(planner: &Planner, n: &NuggetPlanInput, today: u32) -> NuggetOptions {
    let last = planner.last();
    let tables = planner.tables(n.options);
    let ln_m = ln_factor(n);
    let Some(memory) = n.memory else {
        let first = planner.first_good;
        let value = tables.value_at(today, last, first.stability.ln(), first.difficulty, ln_m);
        return NuggetOptions {
            ask: value - planner.settings.price,
            never: 0.0,
            reason: PlanReason::New,
        };
    };
    let t0 = n.last_review_day.min(today);
    let elapsed = today - t0;
    let never = planner.window_at(
        tables,
        memory.stability.max(1e-3).ln() + ln_m,
        t0,
        last - t0,
    );
    if elapsed == 0 {
        return NuggetOptions {
            ask: f64::NEG_INFINITY,
            never,
            reason: PlanReason::Refresh,
        };
    }
    let reason = if n.due_day.is_some_and(|d| d <= today) {
        PlanReason::Due
    } else if planner.personal_recall(memory, ln_m.exp(), f64::from(last - t0)) < AT_RISK_RECALL {
        PlanReason::AtRisk
    } else {
        PlanReason::Refresh
    };
    NuggetOptions {
        ask: planner.ask_value(tables, t0, memory, ln_m, elapsed),
        never,
        reason,
    }
}

/// What one answer says about a log stability factor (see [`Planner::evidence`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerEvidence {
    /// Predicted probability of a right answer.
    pub predicted: f64,
    /// Its derivative in the log stability factor.
    pub slope: f64,
}

/// A learner's (or a nugget's) log stability factor, learnt from answers: a Gaussian belief
/// updated by one Newton step per answer (the extended Kalman filter for a Bernoulli outcome),
/// so early answers move it a lot and later ones little. Right answers are discounted for
/// guessing through [`AnswerEvidence::predicted`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpreadEstimate {
    pub ln_factor: f64,
    /// 1 / variance of `ln_factor`.
    pub precision: f64,
}

impl SpreadEstimate {
    /// No answers yet: factor 1 with a prior standard deviation `sd` (in log units).
    pub fn prior(sd: f64) -> Self {
        Self {
            ln_factor: 0.0,
            precision: 1.0 / (sd * sd).max(1e-6),
        }
    }

    pub fn factor(&self) -> f64 {
        self.ln_factor.exp()
    }

    pub fn observe(&mut self, evidence: AnswerEvidence, correct: bool) {
        let p = evidence.predicted.clamp(0.01, 0.99);
        let variance = p * (1.0 - p);
        self.precision += evidence.slope * evidence.slope / variance;
        let y = if correct { 1.0 } else { 0.0 };
        self.ln_factor = (self.ln_factor + evidence.slope * (y - p) / variance / self.precision)
            .clamp(-MAX_LN_FACTOR, MAX_LN_FACTOR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner(price: f64, horizon: Horizon) -> Planner {
        Planner::build(&PlannerSettings {
            parameters: Vec::new(),
            horizon,
            price,
            options: vec![4],
        })
    }

    fn nugget(stability: f64, last: u32, factor: f64) -> NuggetPlanInput {
        NuggetPlanInput {
            memory: Some(MemoryState {
                stability,
                difficulty: 5.0,
            }),
            last_review_day: last,
            due_day: None,
            options: 4,
            stability_factor: factor,
        }
    }

    #[test]
    fn asks_nothing_when_questions_cost_too_much() {
        let p = planner(10.0, Horizon::HR_WINDOW);
        let nuggets: Vec<_> = (0..20)
            .map(|i| nugget(2.0, 0, 0.2 + 0.1 * f64::from(i)))
            .collect();
        assert!(plan_day(&p, &nuggets, 25, 5).is_empty());
        let new = NuggetPlanInput {
            memory: None,
            ..nuggets[0]
        };
        assert!(plan_day(&p, &[new], 25, 5).is_empty());
    }

    #[test]
    fn forgetting_nuggets_come_first_within_the_cap() {
        let p = planner(0.001, Horizon::HR_WINDOW);
        // Same state; the second nugget is forgotten fast by this learner, the third never.
        let nuggets = [
            nugget(2.3, 0, 1.0),
            nugget(2.3, 0, 0.3),
            nugget(400.0, 0, 1.0),
        ];
        let plan = plan_day(&p, &nuggets, 28, 1);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].nugget, 1);
        assert!(plan[0].gain > 0.0);
        let all = plan_day(&p, &nuggets, 28, 10);
        assert!(all.iter().all(|q| q.nugget != 2), "{all:?}");
        assert!(all.windows(2).all(|w| w[0].gain >= w[1].gain));
        // Nothing is worth asking on or after the horizon's last day.
        assert!(plan_day(&p, &nuggets, 120, 10).is_empty());
    }

    #[test]
    fn reasons_say_why() {
        let p = planner(0.001, Horizon::HR_WINDOW);
        let due = NuggetPlanInput {
            due_day: Some(20),
            ..nugget(2.3, 0, 0.5)
        };
        let new = NuggetPlanInput {
            memory: None,
            ..nugget(2.3, 0, 1.0)
        };
        let plan = plan_day(&p, &[due, new, nugget(2.3, 0, 0.5)], 28, 10);
        let reason = |i| plan.iter().find(|q| q.nugget == i).map(|q| q.reason);
        assert_eq!(reason(0), Some(PlanReason::Due));
        assert_eq!(reason(1), Some(PlanReason::New));
        assert_eq!(reason(2), Some(PlanReason::AtRisk));
    }

    #[test]
    fn guesses_are_counted_in_the_evidence() {
        let p = planner(0.01, Horizon::HR_WINDOW);
        let forgotten = MemoryState {
            stability: 0.01,
            difficulty: 5.0,
        };
        let recall = p.personal_recall(forgotten, 1.0, 1000.0);
        assert!(recall < 0.3);
        for (k, guess) in [(2u8, 0.5), (4, 0.25), (5, 0.2)] {
            let e = p.evidence(forgotten, 1000.0, 0.0, k);
            assert!(
                (e.predicted - (recall + (1.0 - recall) * guess)).abs() < 1e-9,
                "{k}: {e:?}"
            );
        }
        // A right answer raises the factor, a wrong one lowers it, by less as answers pile up.
        let fresh = MemoryState {
            stability: 5.0,
            difficulty: 5.0,
        };
        let e = p.evidence(fresh, 10.0, 0.0, 4);
        let mut up = SpreadEstimate::prior(0.5);
        up.observe(e, true);
        let mut down = SpreadEstimate::prior(0.5);
        down.observe(e, false);
        assert!(up.ln_factor > 0.0 && down.ln_factor < 0.0);
        let first = down.ln_factor;
        down.observe(e, false);
        assert!(down.ln_factor - first > first);
        // On a true/false question a right answer says less than on a five-option one.
        let mut tf = SpreadEstimate::prior(0.5);
        tf.observe(p.evidence(fresh, 10.0, 0.0, 2), true);
        let mut five = SpreadEstimate::prior(0.5);
        five.observe(p.evidence(fresh, 10.0, 0.0, 5), true);
        assert!(tf.ln_factor < five.ln_factor);
    }

    #[test]
    fn a_target_date_values_only_that_day() {
        let p = planner(0.001, Horizon::target(60));
        // Reviewed on day 50: a question on day 55 protects day 60; nothing is worth asking
        // from day 60 on.
        let n = nugget(2.3, 50, 1.0);
        assert!(!plan_day(&p, &[n], 58, 1).is_empty());
        assert!(plan_day(&p, &[n], 60, 1).is_empty());
    }
}
