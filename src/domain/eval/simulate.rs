//! Seeded what-if simulation: how much answering each policy asks for and how much learners
//! actually remember, with "true" memory following FSRS-6.
//!
//! Each learner gets an ability factor (log-uniform in [e^-0.5, e^0.5]) that stretches their
//! true stability: the scheduler does not know it, as in real life. Answers are correct with
//! probability = true FSRS retrievability at answer time; a nugget's first question is
//! answered right with probability [`FIRST_ANSWER_RECALL`] (prior knowledge). Right answers
//! are rated Good, wrong ones Again, for both the true memory and the scheduler.

use chrono::{Duration, TimeZone, Utc};
use fsrs::{check_and_fill_parameters, current_retrievability, MemoryState, FSRS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::domain::scheduler::{
    fuzz_seed, review, CardState, CardStatus, Policy, Rating, SchedulingContext,
};

/// New nuggets a learner receives per day at most.
pub const NEW_PER_DAY: usize = 3;
/// Chance a learner already knows a nugget when first asked.
pub const FIRST_ANSWER_RECALL: f64 = 0.5;
/// Days after the start at which mean true recall is reported (those within the run).
pub const CHECKPOINTS: [u32; 3] = [30, 60, 90];

/// Outcome of one policy on one simulated population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    pub policy: String,
    pub learners: usize,
    pub nuggets: usize,
    pub days: u32,
    /// Mean answers per learner per day over the run.
    pub reviews_per_learner_per_day: f64,
    /// Mean answers per learner on each day.
    pub daily_reviews: Vec<f64>,
    /// `(day, mean true recall)` over nuggets introduced by then, measured before that day's
    /// answers.
    pub recall_at: Vec<(u32, f64)>,
    /// Share of introduced nuggets retired (mastered) at the end.
    pub retired_share: f64,
}

struct Card {
    truth: MemoryState,
    last_day: u32,
    sched: CardState,
    seed: u64,
}

/// Runs `learners` × `nuggets` for `days` days under `policy`, true memory and scheduler both
/// using FSRS-6 `params` (empty = defaults). Same seed, same result.
pub fn simulate(
    learners: usize,
    nuggets: usize,
    days: u32,
    policy: &Policy,
    params: &[f32],
    seed: u64,
) -> SimulationReport {
    let truth_model = FSRS::new(params).unwrap_or_default();
    let decay = check_and_fill_parameters(params).map_or(fsrs::FSRS6_DEFAULT_DECAY, |w| w[20]);
    let ctx = SchedulingContext {
        parameters: params.to_vec(),
        ..SchedulingContext::default()
    };
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 9, 0, 0)
        .single()
        .expect("valid date");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ability: Vec<f32> = (0..learners)
        .map(|_| rng.gen_range(-0.5f32..0.5).exp())
        .collect();
    let mut cards: Vec<Vec<Card>> = (0..learners).map(|_| Vec::new()).collect();
    let mut daily_reviews = Vec::with_capacity(days as usize);
    let mut recall_at = Vec::new();
    let recall = |card: &Card, day: u32, ability: f32| {
        let elapsed = (day - card.last_day) as f32 / ability;
        f64::from(current_retrievability(card.truth, elapsed, decay))
    };
    for day in 0..=days {
        if CHECKPOINTS.contains(&day) {
            let (sum, n) = cards
                .iter()
                .zip(&ability)
                .fold((0.0, 0usize), |acc, (cs, &a)| {
                    (
                        acc.0 + cs.iter().map(|c| recall(c, day, a)).sum::<f64>(),
                        acc.1 + cs.len(),
                    )
                });
            recall_at.push((day, sum / n.max(1) as f64));
        }
        if day == days {
            break;
        }
        let now = start + Duration::days(i64::from(day));
        let mut answers = 0usize;
        for (l, learner_cards) in cards.iter_mut().enumerate() {
            for card in learner_cards.iter_mut() {
                let due = matches!(card.sched.status, CardStatus::Learning | CardStatus::Review)
                    && card.sched.due.is_some_and(|d| d <= now);
                if due {
                    let p = recall(card, day, ability[l]);
                    let rating = answer(&mut rng, p);
                    let elapsed = day - card.last_day;
                    card.truth = step(&truth_model, Some(card.truth), rating, elapsed);
                    card.last_day = day;
                    card.sched = review(&card.sched, rating, now, &ctx, policy, card.seed);
                    answers += 1;
                }
            }
            let introduce = NEW_PER_DAY.min(nuggets - learner_cards.len());
            for _ in 0..introduce {
                let nugget = learner_cards.len();
                let rating = answer(&mut rng, FIRST_ANSWER_RECALL);
                let seed = fuzz_seed(&format!("learner-{l}"), &format!("nugget-{nugget}"));
                learner_cards.push(Card {
                    truth: step(&truth_model, None, rating, 0),
                    last_day: day,
                    sched: review(&CardState::default(), rating, now, &ctx, policy, seed),
                    seed,
                });
                answers += 1;
            }
        }
        daily_reviews.push(answers as f64 / learners.max(1) as f64);
    }
    let introduced: usize = cards.iter().map(Vec::len).sum();
    let retired = cards
        .iter()
        .flatten()
        .filter(|c| c.sched.status == CardStatus::Mastered)
        .count();
    SimulationReport {
        policy: policy_name(policy).to_owned(),
        learners,
        nuggets,
        days,
        reviews_per_learner_per_day: daily_reviews.iter().sum::<f64>() / f64::from(days.max(1)),
        daily_reviews,
        recall_at,
        retired_share: retired as f64 / introduced.max(1) as f64,
    }
}

fn policy_name(policy: &Policy) -> &'static str {
    match policy {
        Policy::Fsrs => "fsrs",
        Policy::Qstream(_) => "qstream",
    }
}

fn answer(rng: &mut ChaCha8Rng, p: f64) -> Rating {
    if rng.gen_bool(p.clamp(0.0, 1.0)) {
        Rating::Good
    } else {
        Rating::Again
    }
}

/// True memory after an answer, via the crate.
fn step(model: &FSRS, state: Option<MemoryState>, rating: Rating, elapsed: u32) -> MemoryState {
    let next = model
        .next_states(state, 0.9, elapsed)
        .or_else(|_| model.next_states(None, 0.9, 0))
        .expect("FSRS initial states are finite for valid parameters");
    match rating {
        Rating::Again => next.again.memory,
        Rating::Hard => next.hard.memory,
        Rating::Good => next.good.memory,
        Rating::Easy => next.easy.memory,
    }
}

/// One line per report: answers per learner-day, recall at each checkpoint, retired share.
pub fn table(reports: &[SimulationReport]) -> String {
    let mut out = format!(
        "{:<8} {:>8} {:>7} {:>5} {:>12} {:>10} {:>10} {:>10} {:>8}\n",
        "policy",
        "learners",
        "nuggets",
        "days",
        "answers/day",
        "recall@30",
        "recall@60",
        "recall@90",
        "retired"
    );
    for r in reports {
        let at = |d: u32| {
            r.recall_at
                .iter()
                .find(|(day, _)| *day == d)
                .map_or("-".to_owned(), |(_, v)| format!("{v:.3}"))
        };
        out += &format!(
            "{:<8} {:>8} {:>7} {:>5} {:>12.2} {:>10} {:>10} {:>10} {:>7.1}%\n",
            r.policy,
            r.learners,
            r.nuggets,
            r.days,
            r.reviews_per_learner_per_day,
            at(30),
            at(60),
            at(90),
            r.retired_share * 100.0
        );
    }
    out
}

/// Long CSV: `policy,metric,day,value` (`answers` per day, `recall` per checkpoint,
/// `retired_share` at the end).
pub fn to_csv(reports: &[SimulationReport]) -> String {
    let mut out = String::from("policy,metric,day,value\n");
    for r in reports {
        for (day, v) in r.daily_reviews.iter().enumerate() {
            out += &format!("{},answers,{day},{v:.4}\n", r.policy);
        }
        for (day, v) in &r.recall_at {
            out += &format!("{},recall,{day},{v:.4}\n", r.policy);
        }
        out += &format!(
            "{},retired_share,{},{:.4}\n",
            r.policy, r.days, r.retired_share
        );
    }
    out
}

/// Helper for callers that simulate both policies side by side.
pub fn compare(
    learners: usize,
    nuggets: usize,
    days: u32,
    params: &[f32],
    seed: u64,
) -> Vec<SimulationReport> {
    [Policy::Fsrs, Policy::Qstream(Default::default())]
        .iter()
        .map(|p| simulate(learners, nuggets, days, p, params, seed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_shaped() {
        let a = simulate(5, 12, 95, &Policy::Fsrs, &[], 7);
        let b = simulate(5, 12, 95, &Policy::Fsrs, &[], 7);
        assert_eq!(a, b);
        assert_eq!(a.daily_reviews.len(), 95);
        assert_eq!(
            a.recall_at.iter().map(|r| r.0).collect::<Vec<_>>(),
            [30, 60, 90]
        );
        // Day 0 introduces exactly the daily cap.
        assert_eq!(a.daily_reviews[0], NEW_PER_DAY as f64);
        assert!(a.recall_at.iter().all(|&(_, r)| (0.0..=1.0).contains(&r)));
    }

    #[test]
    fn fsrs_keeps_more_remembered_than_qstream_rule() {
        let reports = compare(20, 30, 90, &[], 11);
        let recall90 = |r: &SimulationReport| r.recall_at.last().unwrap().1;
        assert!(recall90(&reports[0]) > recall90(&reports[1]));
        let text = table(&reports);
        assert!(text.contains("qstream") && text.contains("fsrs"));
        assert!(to_csv(&reports).starts_with("policy,metric,day,value\n"));
    }
}
