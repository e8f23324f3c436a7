//! Item analysis for authors: how each nugget of a pack performs on learners' first attempts.
//!
//! Only first attempts are analysed: later attempts come after the feedback and the explanation,
//! so they measure the reinforcement, not the question. Per nugget this gives the classic
//! figures of test item analysis — difficulty (first-attempt correct rate), discrimination
//! (point-biserial correlation with the learner's score on the rest of the pack), how often each
//! option was chosen — and flags for the authors to look at.
//!
//! **Discrimination uses the rest score** (the corrected item–total correlation): a learner's
//! score for nugget *N* is their mean first-attempt correctness over the *other* nuggets of the
//! pack they answered. Including *N* in the score would correlate the nugget with itself and
//! inflate the figure, markedly so on packs of a handful of nuggets. Learners who answered only
//! *N* have no rest score and are left out of its discrimination.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::StoredOption;

/// A nugget is flagged `too_easy` when its first-attempt correct rate is above this…
pub const TOO_EASY_ABOVE: f64 = 0.9;
/// …and `too_hard` when below this…
pub const TOO_HARD_BELOW: f64 = 0.3;
/// …provided at least this many learners answered it (fewer say little about difficulty).
pub const MIN_LEARNERS_FOR_DIFFICULTY: usize = 5;
/// Correlations and variances within this of zero are zero (floating-point rounding), so that a
/// nugget with no relation to the rest score is not flagged as negatively discriminating.
pub const ROUNDING_NOISE: f64 = 1e-12;

/// A nugget as the analysis shows it: the newest published version's text.
#[derive(Debug, Clone)]
pub struct ItemContent {
    pub nugget_id: String,
    pub key: String,
    pub topic: String,
    pub prompt: String,
    pub options: Vec<StoredOption>,
    /// The nugget left the pack in a later version.
    pub retired: bool,
}

/// A learner's first answer to a nugget.
#[derive(Debug, Clone)]
pub struct FirstAttempt {
    pub learner_id: String,
    pub nugget_id: String,
    pub correct: bool,
    /// Chosen option ids.
    pub selected: Vec<String>,
    pub response_ms: u32,
}

/// Something an author should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemFlag {
    /// First-attempt correct rate above 0.9 with at least 5 learners.
    TooEasy,
    /// First-attempt correct rate below 0.3 with at least 5 learners.
    TooHard,
    /// A wrong option was chosen more often than every correct option.
    DistractorBeatsAnswer,
    /// Learners who do better on the rest of the pack do worse on this nugget.
    NegativeDiscrimination,
}

/// How often an option was chosen on first attempts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OptionAnalysis {
    /// Option id (`a`…`f`, by position).
    pub id: String,
    pub text: String,
    pub correct: bool,
    /// First attempts that chose this option.
    pub chosen: usize,
    /// `chosen` ÷ first attempts; 0 without answers. Multi-select answers count for each option
    /// chosen, so shares may add up to more than 1.
    pub share: f64,
}

/// One nugget's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NuggetAnalysis {
    pub nugget_id: String,
    pub key: String,
    pub topic: String,
    pub prompt: String,
    /// The nugget is no longer in the newest version of the pack.
    pub retired: bool,
    /// Every answer, first attempts and later ones.
    pub attempts: u64,
    /// Learners who answered it (one first attempt each).
    pub learners: usize,
    /// Share of first attempts that were correct; null without answers.
    pub first_attempt_correct_rate: Option<f64>,
    /// Point-biserial correlation between first-attempt correctness on this nugget and the
    /// learner's rest score (mean first-attempt correctness over the pack's other nuggets they
    /// answered), in −1..=1. Null with fewer than 2 learners who also answered another nugget,
    /// or when either side does not vary.
    pub discrimination: Option<f64>,
    /// Median response time of first attempts; null without answers.
    pub median_response_ms: Option<f64>,
    /// Every option of the newest version, in order.
    pub option_shares: Vec<OptionAnalysis>,
    pub flags: Vec<ItemFlag>,
}

/// A pack's item analysis.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ItemAnalysis {
    /// Learners who answered at least one nugget of the pack.
    pub learners: usize,
    /// Every answer to the pack's nuggets.
    pub attempts: u64,
    pub nuggets: Vec<NuggetAnalysis>,
}

/// Analyses `items` (in the order given) from their first attempts and their answer counts
/// (`attempts`: nugget id → every answer). A learner should have at most one first attempt per
/// nugget; should more be given, the first one counts. Attempts at nuggets not in `items` are
/// ignored.
pub fn analyse(
    items: &[ItemContent],
    attempts: &HashMap<String, u64>,
    first_attempts: &[FirstAttempt],
) -> ItemAnalysis {
    let in_pack: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.nugget_id.as_str(), i))
        .collect();
    // One first attempt per (learner, nugget), grouped by nugget.
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut by_item: Vec<Vec<&FirstAttempt>> = vec![Vec::new(); items.len()];
    // Per learner: (nuggets answered, answered correctly) over the pack.
    let mut scores: HashMap<&str, (usize, usize)> = HashMap::new();
    for a in first_attempts {
        let Some(&i) = in_pack.get(a.nugget_id.as_str()) else {
            continue;
        };
        if !seen.insert((a.learner_id.as_str(), a.nugget_id.as_str())) {
            continue;
        }
        by_item[i].push(a);
        let score = scores.entry(a.learner_id.as_str()).or_default();
        score.0 += 1;
        score.1 += usize::from(a.correct);
    }
    let nuggets = items
        .iter()
        .zip(&by_item)
        .map(|(item, firsts)| {
            analyse_item(
                item,
                attempts.get(&item.nugget_id).copied().unwrap_or(0),
                firsts,
                &scores,
            )
        })
        .collect();
    ItemAnalysis {
        learners: scores.len(),
        attempts: items
            .iter()
            .map(|i| attempts.get(&i.nugget_id).copied().unwrap_or(0))
            .sum(),
        nuggets,
    }
}

fn analyse_item(
    item: &ItemContent,
    attempts: u64,
    firsts: &[&FirstAttempt],
    scores: &HashMap<&str, (usize, usize)>,
) -> NuggetAnalysis {
    let learners = firsts.len();
    let rate = (learners > 0)
        .then(|| firsts.iter().filter(|a| a.correct).count() as f64 / learners as f64);
    let option_shares: Vec<OptionAnalysis> = item
        .options
        .iter()
        .map(|o| {
            let chosen = firsts.iter().filter(|a| a.selected.contains(&o.id)).count();
            OptionAnalysis {
                id: o.id.clone(),
                text: o.text.clone(),
                correct: o.correct,
                chosen,
                share: if learners == 0 {
                    0.0
                } else {
                    chosen as f64 / learners as f64
                },
            }
        })
        .collect();
    let pairs: Vec<(f64, f64)> = firsts
        .iter()
        .filter_map(|a| {
            let (answered, correct) = scores[a.learner_id.as_str()];
            (answered > 1).then(|| {
                let x = f64::from(u8::from(a.correct));
                (x, (correct as f64 - x) / (answered - 1) as f64)
            })
        })
        .collect();
    let discrimination = point_biserial(&pairs);
    let mut times: Vec<u32> = firsts.iter().map(|a| a.response_ms).collect();
    times.sort_unstable();
    let median_response_ms = median(&times);

    let mut flags = Vec::new();
    if let Some(rate) = rate.filter(|_| learners >= MIN_LEARNERS_FOR_DIFFICULTY) {
        if rate > TOO_EASY_ABOVE {
            flags.push(ItemFlag::TooEasy);
        }
        if rate < TOO_HARD_BELOW {
            flags.push(ItemFlag::TooHard);
        }
    }
    if distractor_beats_answer(&option_shares) {
        flags.push(ItemFlag::DistractorBeatsAnswer);
    }
    if discrimination.is_some_and(|d| d < 0.0) {
        flags.push(ItemFlag::NegativeDiscrimination);
    }
    NuggetAnalysis {
        nugget_id: item.nugget_id.clone(),
        key: item.key.clone(),
        topic: item.topic.clone(),
        prompt: item.prompt.clone(),
        retired: item.retired,
        attempts,
        learners,
        first_attempt_correct_rate: rate,
        discrimination,
        median_response_ms,
        option_shares,
        flags,
    }
}

/// Some wrong option chosen strictly more often than the most chosen correct option.
fn distractor_beats_answer(options: &[OptionAnalysis]) -> bool {
    let best = |correct: bool| {
        options
            .iter()
            .filter(|o| o.correct == correct)
            .map(|o| o.chosen)
            .max()
    };
    matches!((best(false), best(true)), (Some(wrong), Some(right)) if wrong > right)
}

/// Pearson correlation of `(x, y)` pairs — with a 0/1 `x`, the point-biserial correlation
/// `(M₁ − M₀) / s · √(p·q)`. `None` with fewer than 2 pairs or when either side does not vary.
pub fn point_biserial(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let mean_x = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        let (dx, dy) = (x - mean_x, y - mean_y);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if sxx / n <= ROUNDING_NOISE || syy / n <= ROUNDING_NOISE {
        return None;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    Some(if r.abs() <= ROUNDING_NOISE { 0.0 } else { r })
}

/// Median of sorted values: the mean of the middle two for an even count.
fn median(sorted: &[u32]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(f64::from(sorted[n / 2])),
        _ => Some((f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, correct: &[bool]) -> ItemContent {
        ItemContent {
            nugget_id: id.into(),
            key: id.to_lowercase(),
            topic: "Discovery".into(),
            prompt: format!("{id}?"),
            options: correct
                .iter()
                .zip(["a", "b", "c", "d"])
                .map(|(&correct, id)| StoredOption {
                    id: id.into(),
                    text: format!("Option {id}"),
                    correct,
                    feedback: None,
                })
                .collect(),
            retired: false,
        }
    }

    fn first(
        learner: &str,
        nugget: &str,
        correct: bool,
        selected: &[&str],
        ms: u32,
    ) -> FirstAttempt {
        FirstAttempt {
            learner_id: learner.into(),
            nugget_id: nugget.into(),
            correct,
            selected: selected.iter().map(|s| s.to_string()).collect(),
            response_ms: ms,
        }
    }

    fn close(got: Option<f64>, want: f64) {
        let got = got.expect("a value");
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
    }

    /// Four learners, five nuggets. First-attempt correctness (– = not answered):
    ///
    /// ```text
    ///        N1 N2 N3 N4 N5
    ///   L1    0  0  0  –  –
    ///   L2    0  1  0  –  –
    ///   L3    1  0  1  –  –
    ///   L4    1  –  1  1  –
    /// ```
    ///
    /// Rest scores (mean over the learner's *other* answered nuggets) and point-biserial
    /// r = (M₁ − M₀) / s · √(p·q), with s the population standard deviation of the rest scores:
    ///
    /// - N1: x = (0, 0, 1, 1); rest = (0/2, 1/2, 1/2, 2/2) = (0, ½, ½, 1); mean ½,
    ///   s² = (¼ + 0 + 0 + ¼)/4 = ⅛, s = √2/4; M₁ = ¾, M₀ = ¼; p = q = ½, √pq = ½;
    ///   r = (½)/(√2/4) · ½ = 1/√2 ≈ 0.7071068.
    /// - N2 (L1–L3): x = (0, 1, 0); rest = (0, 0, 2/2) = (0, 0, 1); mean ⅓,
    ///   s² = (1/9 + 1/9 + 4/9)/3 = 2/9, s = √2/3; M₁ = 0, M₀ = ½; p = ⅓, √pq = √2/3;
    ///   r = (−½)/(√2/3) · √2/3 = −½.
    /// - N3: x = (0, 0, 1, 1); rest = (0, ½, ½, 1) as for N1 → 1/√2.
    /// - N4: only L4 answered → null. (L4's rest scores above: N1 → (N3, N4) = 1, N3 → 1.)
    /// - N5: nobody answered → every figure null, shares 0.
    ///
    /// Options: N1 (b right) L1 c, L2 c, L3 b, L4 b → b ½, c ½: a tie does not flag.
    /// N2 (a right) L1 b, L2 a, L3 b → a ⅓, b ⅔ → distractor beats answer, and r < 0.
    /// N3 (a and c right) L1 [a], L2 [a b], L3 [a c], L4 [a c] → a 1, b ¼, c ½.
    /// Medians: N1 (3000, 4000, 5000, 9000) → 4500; N2 (2000, 6000, 8000) → 6000.
    #[test]
    fn hand_computed_pack() {
        let items = vec![
            item("N1", &[false, true, false]),
            item("N2", &[true, false]),
            item("N3", &[true, false, true]),
            item("N4", &[true, false]),
            item("N5", &[true, false]),
        ];
        let firsts = vec![
            first("L1", "N1", false, &["c"], 3000),
            first("L2", "N1", false, &["c"], 5000),
            first("L3", "N1", true, &["b"], 4000),
            first("L4", "N1", true, &["b"], 9000),
            first("L1", "N2", false, &["b"], 2000),
            first("L2", "N2", true, &["a"], 8000),
            first("L3", "N2", false, &["b"], 6000),
            first("L1", "N3", false, &["a"], 1000),
            first("L2", "N3", false, &["a", "b"], 1000),
            first("L3", "N3", true, &["a", "c"], 1000),
            first("L4", "N3", true, &["a", "c"], 1000),
            first("L4", "N4", true, &["a"], 7000),
            // A second "first" attempt of the same pair is ignored.
            first("L1", "N1", true, &["b"], 1),
        ];
        let attempts: HashMap<String, u64> = [("N1", 6), ("N2", 3), ("N3", 4), ("N4", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let out = analyse(&items, &attempts, &firsts);
        assert_eq!((out.learners, out.attempts), (4, 14));
        let n: Vec<&NuggetAnalysis> = out.nuggets.iter().collect();
        assert_eq!(
            n.iter().map(|n| n.key.as_str()).collect::<Vec<_>>(),
            ["n1", "n2", "n3", "n4", "n5"]
        );

        assert_eq!((n[0].attempts, n[0].learners), (6, 4));
        close(n[0].first_attempt_correct_rate, 0.5);
        close(n[0].discrimination, 1.0 / 2f64.sqrt());
        close(n[0].median_response_ms, 4500.0);
        let shares: Vec<(usize, f64)> = n[0]
            .option_shares
            .iter()
            .map(|o| (o.chosen, o.share))
            .collect();
        assert_eq!(shares, [(0, 0.0), (2, 0.5), (2, 0.5)]);
        assert_eq!(n[0].option_shares[1].text, "Option b");
        assert!(n[0].option_shares[1].correct);
        assert_eq!(n[0].flags, []);

        close(n[1].first_attempt_correct_rate, 1.0 / 3.0);
        close(n[1].discrimination, -0.5);
        close(n[1].median_response_ms, 6000.0);
        assert_eq!(
            n[1].flags,
            [
                ItemFlag::DistractorBeatsAnswer,
                ItemFlag::NegativeDiscrimination
            ]
        );

        close(n[2].discrimination, 1.0 / 2f64.sqrt());
        let shares: Vec<f64> = n[2].option_shares.iter().map(|o| o.share).collect();
        assert_eq!(shares, [1.0, 0.25, 0.5]);
        assert_eq!(n[2].flags, []);

        assert_eq!((n[3].learners, n[3].discrimination), (1, None));
        close(n[3].first_attempt_correct_rate, 1.0);

        assert_eq!((n[4].attempts, n[4].learners), (0, 0));
        assert_eq!(n[4].first_attempt_correct_rate, None);
        assert_eq!(n[4].discrimination, None);
        assert_eq!(n[4].median_response_ms, None);
        assert!(n[4].option_shares.iter().all(|o| o.share == 0.0));
        assert_eq!(n[4].flags, []);
    }

    /// The difficulty flags of a nugget that `correct` of `learners` learners answer right.
    fn difficulty_flags(learners: usize, correct: usize) -> Vec<ItemFlag> {
        let items = vec![item("X", &[true, false, false])];
        let mut firsts = Vec::new();
        for l in 0..learners {
            let learner = format!("L{l}");
            let right = l < correct;
            firsts.push(first(
                &learner,
                "X",
                right,
                &[if right { "a" } else { "b" }],
                1000,
            ));
        }
        analyse(&items, &HashMap::new(), &firsts).nuggets[0]
            .flags
            .iter()
            .copied()
            .filter(|f| matches!(f, ItemFlag::TooEasy | ItemFlag::TooHard))
            .collect()
    }

    #[test]
    fn difficulty_flags_need_enough_learners_and_strict_thresholds() {
        assert_eq!(difficulty_flags(5, 5), [ItemFlag::TooEasy]);
        assert_eq!(difficulty_flags(4, 4), []);
        assert_eq!(difficulty_flags(10, 9), [], "0.9 is not above 0.9");
        assert_eq!(difficulty_flags(5, 1), [ItemFlag::TooHard]);
        assert_eq!(difficulty_flags(4, 0), []);
        assert_eq!(difficulty_flags(10, 3), [], "0.3 is not below 0.3");
        assert_eq!(difficulty_flags(10, 2), [ItemFlag::TooHard]);
    }

    #[test]
    fn discrimination_is_null_without_variation_and_zero_is_not_negative() {
        assert_eq!(point_biserial(&[(1.0, 0.5)]), None);
        assert_eq!(
            point_biserial(&[(1.0, 0.2), (1.0, 0.8)]),
            None,
            "x constant"
        );
        let third = 1.0 / 3.0;
        assert_eq!(
            point_biserial(&[(0.0, third), (1.0, third), (1.0, third)]),
            None
        );
        // Equal group means: r = 0 exactly, no flag.
        assert_eq!(
            point_biserial(&[(1.0, 0.5), (1.0, 0.0), (0.0, 0.5), (0.0, 0.0)]),
            Some(0.0)
        );
        close(point_biserial(&[(0.0, 0.0), (1.0, 1.0)]), 1.0);
    }
}
