//! The statistics of an experiment: per arm a mean over learners with its 95 % interval, and per
//! arm against the control the difference with its interval and a p-value.
//!
//! The learner is the unit: learners were randomised, answers of one learner are not independent
//! of each other, so every resampling draws learners, not answers. Intervals are percentile
//! bootstraps (each arm resampled on its own); the p-value is a permutation test of the
//! difference in means (labels shuffled between the two arms' learners), two-sided. Both are
//! seeded from the experiment and the measure, so the same data always gives the same figures.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use utoipa::ToSchema;

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_SAMPLES: usize = 2000;
/// Label shuffles per permutation test.
pub const PERMUTATIONS: usize = 2000;

/// A probe answer corrected for guessing: with K options a learner who does not recall is right
/// with probability 1/K, so P(right) = r + (1 − r)/K and r = (P(right) − 1/K)/(1 − 1/K). Applied
/// to one answer it is 1 when right and −1/(K − 1) when wrong; its mean over a learner's probes
/// is their corrected recall (unbiased, and so sometimes below 0 or above 1 for one learner).
pub fn guess_corrected(correct: bool, options: u32) -> f64 {
    let guess = 1.0 / f64::from(options.max(2));
    let p = if correct { 1.0 } else { 0.0 };
    (p - guess) / (1.0 - guess)
}

/// A mean over learners with its 95 % interval.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Estimate {
    /// Learners with a value.
    pub learners: usize,
    /// The mean over learners (`null` without learners).
    pub mean: Option<f64>,
    /// 95 % percentile-bootstrap interval of the mean over learners.
    pub ci95: Option<[f64; 2]>,
}

/// An arm against the control.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Difference {
    /// The arm's mean less the control's.
    pub estimate: f64,
    /// 95 % bootstrap interval of the difference (learners resampled within each arm).
    pub ci95: [f64; 2],
    /// Two-sided permutation p-value: the share of label shuffles between the two arms'
    /// learners giving a difference at least as large (counting the observed one).
    pub p_value: f64,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn interval(mut draws: Vec<f64>) -> [f64; 2] {
    draws.sort_by(f64::total_cmp);
    [percentile(&draws, 0.025), percentile(&draws, 0.975)]
}

fn resampled_mean(values: &[f64], rng: &mut ChaCha8Rng) -> f64 {
    let n = values.len();
    (0..n).map(|_| values[rng.gen_range(0..n)]).sum::<f64>() / n as f64
}

/// The mean of `values` (one per learner) with its bootstrap interval, resampled from `seed`.
pub fn estimate(values: &[f64], seed: u64) -> Estimate {
    if values.is_empty() {
        return Estimate {
            learners: 0,
            mean: None,
            ci95: None,
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws = (0..BOOTSTRAP_SAMPLES)
        .map(|_| resampled_mean(values, &mut rng))
        .collect();
    Estimate {
        learners: values.len(),
        mean: Some(mean(values)),
        ci95: Some(interval(draws)),
    }
}

/// `arm` against `control` (one value per learner each), resampled from `seed`; `None` when
/// either has no learner.
pub fn difference(arm: &[f64], control: &[f64], seed: u64) -> Option<Difference> {
    if arm.is_empty() || control.is_empty() {
        return None;
    }
    let observed = mean(arm) - mean(control);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws = (0..BOOTSTRAP_SAMPLES)
        .map(|_| resampled_mean(arm, &mut rng) - resampled_mean(control, &mut rng))
        .collect();
    let mut pooled: Vec<f64> = arm.iter().chain(control).copied().collect();
    let n = arm.len();
    // Differences within rounding of the observed one count as "as large".
    let bar = observed.abs() - 1e-12;
    let mut as_large = 0;
    for _ in 0..PERMUTATIONS {
        pooled.shuffle(&mut rng);
        let d = mean(&pooled[..n]) - mean(&pooled[n..]);
        if d.abs() >= bar {
            as_large += 1;
        }
    }
    Some(Difference {
        estimate: observed,
        ci95: interval(draws),
        p_value: (as_large + 1) as f64 / (PERMUTATIONS + 1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessing_is_taken_out() {
        // Four options, true recall 0.6: right 0.6 + 0.4/4 = 0.7 of the time.
        let per_answer = 0.7 * guess_corrected(true, 4) + 0.3 * guess_corrected(false, 4);
        assert!((per_answer - 0.6).abs() < 1e-12);
        assert_eq!(guess_corrected(true, 2), 1.0);
        assert_eq!(guess_corrected(false, 2), -1.0);
    }

    #[test]
    fn the_same_data_gives_the_same_figures() {
        let a: Vec<f64> = (0..50).map(|i| f64::from(i % 7) / 7.0).collect();
        let b: Vec<f64> = (0..60).map(|i| f64::from(i % 5) / 5.0 + 0.2).collect();
        assert_eq!(estimate(&a, 7), estimate(&a, 7));
        let d = difference(&b, &a, 9).unwrap();
        assert_eq!(Some(d.clone()), difference(&b, &a, 9));
        let e = estimate(&a, 7);
        let [lo, hi] = e.ci95.unwrap();
        assert!(lo < e.mean.unwrap() && e.mean.unwrap() < hi);
        assert!(d.ci95[0] < d.estimate && d.estimate < d.ci95[1]);
        assert!(d.p_value < 0.01, "{d:?}");
        let same = difference(&a, &a, 3).unwrap();
        assert!(same.p_value > 0.5, "{same:?}");
        assert_eq!(estimate(&[], 1).mean, None);
        assert!(difference(&a, &[], 1).is_none());
    }
}
