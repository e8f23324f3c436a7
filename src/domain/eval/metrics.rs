//! Prediction metrics, defined as in fsrs-rs and open-spaced-repetition/srs-benchmark so the
//! figures are comparable with theirs.

use std::collections::HashMap;

use fsrs::FSRSItem;

/// Predictions are kept inside this margin of 0 and 1 so a confident miss (e.g. SuperMemo's
/// expFI of 0) costs a large but finite log loss.
const EPSILON: f64 = 1e-7;

/// One predicted review: probability of recall, outcome, and its RMSE (bins) cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub p: f64,
    pub recalled: bool,
    pub bin: (u32, u32, u32),
}

impl Observation {
    /// For an item's last review; the bin is the crate's `r_matrix_index`.
    pub fn from_item(item: &FSRSItem, p: f64) -> Self {
        let current = item.reviews.last().copied();
        Self {
            p,
            recalled: current.is_some_and(|r| r.rating > 1),
            bin: bin_of(item),
        }
    }
}

/// srs-benchmark's / fsrs-rs's RMSE (bins) cell of an item's last review: the interval
/// (log base 3.62), the review's position (log base 1.89) and the lapses before it (log base
/// 1.73), each rounded onto a geometric grid.
fn bin_of(item: &FSRSItem) -> (u32, u32, u32) {
    let Some((current, history)) = item.reviews.split_last() else {
        return (0, 0, 0);
    };
    let grid = |x: f64, scale: f64, base: f64| scale * base.powf(x.log(base).floor());
    let delta_t = f64::from(current.delta_t);
    let delta_bin = (grid(delta_t, 2.48, 3.62) * 100.0).round() as u32;
    let length = item.reviews.iter().filter(|r| r.delta_t > 0).count() as f64 + 1.0;
    let length_bin = grid(length, 1.99, 1.89).round() as u32;
    let lapses = history
        .iter()
        .filter(|r| r.rating == 1 && r.delta_t > 0)
        .count();
    let lapse_bin = match lapses {
        0 => 0,
        n => grid(n as f64, 1.65, 1.73).round() as u32,
    };
    (delta_bin, length_bin, lapse_bin)
}

/// Mean binary cross-entropy.
pub fn log_loss(observations: &[Observation]) -> f64 {
    let total: f64 = observations
        .iter()
        .map(|o| {
            let p = o.p.clamp(EPSILON, 1.0 - EPSILON);
            -if o.recalled { p.ln() } else { (1.0 - p).ln() }
        })
        .sum();
    total / observations.len().max(1) as f64
}

/// RMSE (bins): reviews are grouped by [`Observation::bin`]; the error between each group's
/// mean prediction and its recall rate is weighted by group size.
pub fn rmse_bins(observations: &[Observation]) -> f64 {
    let mut groups: HashMap<(u32, u32, u32), (f64, f64, f64)> = HashMap::new();
    for o in observations {
        let g = groups.entry(o.bin).or_default();
        g.0 += o.p;
        g.1 += f64::from(u8::from(o.recalled));
        g.2 += 1.0;
    }
    let (sum, count) = groups
        .values()
        .fold((0.0, 0.0), |(sum, count), &(p, y, n)| {
            (sum + (p / n - y / n).powi(2) * n, count + n)
        });
    if count == 0.0 {
        0.0
    } else {
        (sum / count).sqrt()
    }
}

/// Area under the ROC curve (Mann–Whitney, ties counted half); `None` when only one outcome
/// occurs.
pub fn auc(observations: &[Observation]) -> Option<f64> {
    let mut sorted: Vec<_> = observations.iter().map(|o| (o.p, o.recalled)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = sorted.iter().filter(|o| o.1).count() as f64;
    let negatives = sorted.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|o| o.0 == sorted[start].0)
                .count();
        let mean_rank = (start + end + 1) as f64 / 2.0;
        rank_sum += mean_rank * sorted[start..end].iter().filter(|o| o.1).count() as f64;
        start = end;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(p: f64, recalled: bool) -> Observation {
        Observation {
            p,
            recalled,
            bin: (0, 0, 0),
        }
    }

    #[test]
    fn log_loss_of_known_values() {
        let o = [obs(0.9, true), obs(0.9, false)];
        let expected = -(0.9f64.ln() + 0.1f64.ln()) / 2.0;
        assert!((log_loss(&o) - expected).abs() < 1e-12);
    }

    #[test]
    fn rmse_bins_compares_group_means() {
        let o = [obs(0.8, true), obs(0.8, false)];
        assert!((rmse_bins(&o) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn auc_perfect_random_and_ties() {
        assert_eq!(auc(&[obs(0.2, false), obs(0.8, true)]), Some(1.0));
        assert_eq!(auc(&[obs(0.8, false), obs(0.2, true)]), Some(0.0));
        assert_eq!(auc(&[obs(0.5, false), obs(0.5, true)]), Some(0.5));
        assert_eq!(auc(&[obs(0.5, true)]), None);
    }

    #[test]
    fn bins_follow_the_crate_grid() {
        let item = FSRSItem {
            reviews: vec![
                fsrs::FSRSReview {
                    rating: 3,
                    delta_t: 0,
                },
                fsrs::FSRSReview {
                    rating: 1,
                    delta_t: 3,
                },
                fsrs::FSRSReview {
                    rating: 3,
                    delta_t: 10,
                },
            ],
        };
        // delta 10 -> 2.48 * 3.62^1 = 8.9776 -> 898; length 3 -> 1.99 * 1.89 = 3.76 -> 4;
        // one lapse -> 1.65 -> 2.
        assert_eq!(bin_of(&item), (898, 4, 2));
    }
}
