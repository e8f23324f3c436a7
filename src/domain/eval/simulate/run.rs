//! One seeded run of one policy over a drawn population, and the price search that holds the
//! planner to another policy's effort.
//!
//! Every policy gets the same population (same truth, same clock factors) and the same daily
//! cap, and schedules only from what it observes: right or wrong answers (a right answer may be
//! a guess), with the default FSRS-6 parameters or parameters fitted on the population's own
//! first answers (`fit_after`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::policies::SimPolicy;
use super::report::{PolicyReport, Tally};
use super::truth::{Population, Truth};
use crate::domain::scheduler::{
    fit_parameters, fuzz_seed, plan_day, review, CardState, CardStatus, Horizon, NuggetPlanInput,
    Planner, PlannerSettings, Policy, Rating, ReviewEvent, ReviewHistory, SchedulingContext,
    SpreadEstimate, DEFAULT_PRICE, PRIOR_SPREAD,
};

/// A planner nugget counts as retired when its personal predicted recall at the horizon's end
/// is at least this (FSRS's mastery rule, personalised).
const PLANNER_RETIRED_RECALL: f64 = 0.9;
/// Price search bounds and steps.
const PRICE_LOW: f64 = 1e-5;
const PRICE_HIGH: f64 = 0.5;
const PRICE_STEPS: usize = 12;

/// Everything a run depends on besides the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub learners: usize,
    pub nuggets: usize,
    /// Last day measured; questions are asked on days 1 to `days - 1`.
    pub days: u32,
    /// Days whose mean true recall is the headline figure.
    pub window: (u32, u32),
    /// Questions per learner per day at most, for every policy.
    pub budget: usize,
    /// Options per question (a learner who does not recall is right with probability 1/K).
    pub options: u8,
    pub seed: u64,
    /// Day on which the schedulers switch to parameters fitted on the answers so far.
    pub fit_after: Option<u32>,
    /// The planner aims at recall on this day instead of the window ("ready by").
    pub target_day: Option<u32>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            learners: 100,
            nuggets: 60,
            days: 120,
            window: (30, 120),
            budget: 3,
            options: 4,
            seed: 2024,
            fit_after: None,
            target_day: None,
        }
    }
}

impl SimConfig {
    fn horizon(&self) -> Horizon {
        match self.target_day {
            Some(day) => Horizon::target(day.min(self.days)),
            None => Horizon {
                first: self.window.0,
                last: self.window.1.min(self.days),
            },
        }
    }
}

/// Runs `policy`; `planner:Q` searches the price first.
pub fn run(config: &SimConfig, truth: &Truth, policy: &SimPolicy) -> PolicyReport {
    let mut report = match *policy {
        SimPolicy::Qstream(rule) => run_with(config, truth, Mode::Rule(Policy::Qstream(rule), 0.9)),
        SimPolicy::Fsrs { retention } => {
            run_with(config, truth, Mode::Rule(Policy::Fsrs, retention))
        }
        SimPolicy::Planner {
            questions_per_nugget: None,
        } => run_with(config, truth, Mode::Planner(DEFAULT_PRICE)),
        SimPolicy::Planner {
            questions_per_nugget: Some(q),
        } => calibrate(config, truth, q).1,
    };
    report.policy = policy.to_string();
    report
}

/// The lowest price (most questions) at which the planner asks at most `questions_per_nugget`,
/// by bisection on the log price over the same seeded run, and that run's report.
pub fn calibrate(
    config: &SimConfig,
    truth: &Truth,
    questions_per_nugget: f64,
) -> (f64, PolicyReport) {
    let at = |price: f64| run_with(config, truth, Mode::Planner(price));
    let cheap = at(PRICE_LOW);
    if cheap.questions_per_nugget <= questions_per_nugget {
        return (PRICE_LOW, cheap);
    }
    let (mut low, mut high) = (PRICE_LOW.ln(), PRICE_HIGH.ln());
    let mut best = at(PRICE_HIGH);
    for _ in 0..PRICE_STEPS {
        let mid = 0.5 * (low + high);
        let report = at(mid.exp());
        if report.questions_per_nugget > questions_per_nugget {
            low = mid;
        } else {
            high = mid;
            best = report;
        }
    }
    (high.exp(), best)
}

#[derive(Debug, Clone)]
enum Mode {
    /// A fixed rule or FSRS at a desired retention: asks what is due, oldest first.
    Rule(Policy, f64),
    /// The planner at a price per question.
    Planner(f64),
}

struct Card {
    truth: fsrs::MemoryState,
    sched: CardState,
    last_day: u32,
    seed: u64,
    history: Vec<ReviewEvent>,
}

fn day_time(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 9, 0, 0)
        .single()
        .expect("valid date")
        + Duration::days(i64::from(day))
}

/// One multiple-choice answer: recalled with probability `recall`; otherwise a guess, right
/// with probability `guess` (1/options). Returns (recalled, right).
pub(super) fn answer(rng: &mut ChaCha8Rng, recall: f64, guess: f64) -> (bool, bool) {
    let recalled = rng.gen_bool(recall.clamp(0.0, 1.0));
    (recalled, recalled || rng.gen_bool(guess.clamp(0.0, 1.0)))
}

fn run_with(config: &SimConfig, truth: &Truth, mode: Mode) -> PolicyReport {
    let mut draw = ChaCha8Rng::seed_from_u64(config.seed);
    let population = Population::draw(truth, config.learners, config.nuggets, &mut draw);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x05ee_d0fa_25e5);
    let (policy, retention) = match mode.clone() {
        Mode::Rule(policy, retention) => (policy, retention),
        Mode::Planner(_) => (Policy::Fsrs, 0.9),
    };
    let mut ctx = SchedulingContext {
        desired_retention: retention,
        ..SchedulingContext::default()
    };
    let planner_settings = |parameters: Vec<f32>, price: f64| PlannerSettings {
        parameters,
        horizon: config.horizon(),
        price,
        options: vec![config.options],
    };
    let mut planner = match mode {
        Mode::Planner(price) => Some(Planner::build(&planner_settings(Vec::new(), price))),
        Mode::Rule(..) => None,
    };
    let mut learner_spread = vec![SpreadEstimate::prior(PRIOR_SPREAD); config.learners];
    let mut nugget_spread = vec![SpreadEstimate::prior(PRIOR_SPREAD); config.nuggets];
    let keep_history = config.fit_after.is_some();
    let mut tally = Tally::new(config);
    let guess = 1.0 / f64::from(config.options.max(2));

    // Day 0, the training event: every nugget taught and answered right once.
    let start = day_time(0);
    let mut cards: Vec<Vec<Card>> = (0..config.learners)
        .map(|l| {
            (0..config.nuggets)
                .map(|n| {
                    let seed = fuzz_seed(&format!("learner-{l}"), &format!("nugget-{n}"));
                    Card {
                        truth: population.step(l, n, None, true, 0, &mut rng),
                        sched: review(
                            &CardState::default(),
                            Rating::Good,
                            start,
                            &ctx,
                            &policy,
                            seed,
                        ),
                        last_day: 0,
                        seed,
                        history: if keep_history {
                            vec![ReviewEvent {
                                at: start,
                                rating: Rating::Good,
                            }]
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect()
        })
        .collect();

    for day in 1..=config.days {
        for (l, learner_cards) in cards.iter().enumerate() {
            tally.measure(
                day,
                l,
                learner_cards
                    .iter()
                    .enumerate()
                    .map(|(n, c)| population.recall(l, n, c.truth, day - c.last_day)),
            );
        }
        if day == config.days {
            break;
        }
        if config.fit_after == Some(day) {
            let histories: Vec<ReviewHistory> = cards
                .iter()
                .flatten()
                .map(|c| ReviewHistory {
                    reviews: c.history.clone(),
                })
                .collect();
            if let Ok(fit) = fit_parameters(&histories) {
                ctx.parameters = fit.parameters;
                if let (Some(p), Mode::Planner(price)) = (&mut planner, &mode) {
                    *p = Planner::build(&planner_settings(ctx.parameters.clone(), *price));
                }
            }
        }
        let now = day_time(day);
        for (l, learner_cards) in cards.iter_mut().enumerate() {
            let asked: Vec<usize> = match &planner {
                Some(planner) => {
                    let inputs: Vec<NuggetPlanInput> = learner_cards
                        .iter()
                        .enumerate()
                        .map(|(n, c)| NuggetPlanInput {
                            memory: c.sched.memory,
                            last_review_day: c.last_day,
                            due_day: c.sched.due.map(|d| (d - start).num_days().max(0) as u32),
                            options: config.options,
                            stability_factor: (learner_spread[l].ln_factor
                                + nugget_spread[n].ln_factor)
                                .exp(),
                        })
                        .collect();
                    plan_day(planner, &inputs, day, config.budget)
                        .into_iter()
                        .map(|q| q.nugget)
                        .collect()
                }
                None => {
                    let mut due: Vec<(DateTime<Utc>, usize)> = learner_cards
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| {
                            matches!(c.sched.status, CardStatus::Learning | CardStatus::Review)
                        })
                        .filter_map(|(n, c)| c.sched.due.filter(|&d| d <= now).map(|d| (d, n)))
                        .collect();
                    due.sort();
                    due.into_iter()
                        .take(config.budget)
                        .map(|(_, n)| n)
                        .collect()
                }
            };
            for n in asked {
                let card = &mut learner_cards[n];
                let elapsed = day - card.last_day;
                let recall = population.recall(l, n, card.truth, elapsed);
                let (recalled, correct) = answer(&mut rng, recall, guess);
                let rating = if correct { Rating::Good } else { Rating::Again };
                if let (Some(planner), Some(memory)) = (&planner, card.sched.memory) {
                    let ln_factor = learner_spread[l].ln_factor + nugget_spread[n].ln_factor;
                    let evidence =
                        planner.evidence(memory, f64::from(elapsed), ln_factor, config.options);
                    learner_spread[l].observe(evidence, correct);
                    nugget_spread[n].observe(evidence, correct);
                }
                card.truth = population.step(l, n, Some(card.truth), recalled, elapsed, &mut rng);
                card.sched = review(&card.sched, rating, now, &ctx, &policy, card.seed);
                card.last_day = day;
                if keep_history {
                    card.history.push(ReviewEvent { at: now, rating });
                }
                tally.questions += 1;
            }
        }
    }

    let retired = match &planner {
        None => cards
            .iter()
            .flatten()
            .filter(|c| c.sched.status == CardStatus::Mastered)
            .count(),
        Some(planner) => {
            let end = planner.settings().horizon.last;
            cards
                .iter()
                .enumerate()
                .flat_map(|(l, cs)| cs.iter().enumerate().map(move |(n, c)| (l, n, c)))
                .filter(|(l, n, c)| {
                    c.sched.memory.is_some_and(|m| {
                        let factor =
                            (learner_spread[*l].ln_factor + nugget_spread[*n].ln_factor).exp();
                        planner.personal_recall(
                            m,
                            factor,
                            f64::from(end.saturating_sub(c.last_day)),
                        ) >= PLANNER_RETIRED_RECALL
                    })
                })
                .count()
        }
    };
    tally.finish(retired)
}
