//! What a run measured, and how it is printed (a table for people, JSON for scripts).

use serde::{Deserialize, Serialize};

use super::run::SimConfig;

/// Days whose mean true recall is reported besides the window.
pub const CHECKPOINTS: [u32; 4] = [30, 60, 90, 120];

/// True recall on the checkpoint days (`null` past the run's last day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RecallAt {
    #[serde(rename = "30")]
    pub d30: Option<f64>,
    #[serde(rename = "60")]
    pub d60: Option<f64>,
    #[serde(rename = "90")]
    pub d90: Option<f64>,
    #[serde(rename = "120")]
    pub d120: Option<f64>,
}

impl RecallAt {
    pub fn get(&self, day: u32) -> Option<f64> {
        match day {
            30 => self.d30,
            60 => self.d60,
            90 => self.d90,
            120 => self.d120,
            _ => None,
        }
    }

    fn set(&mut self, day: u32, value: f64) {
        match day {
            30 => self.d30 = Some(value),
            60 => self.d60 = Some(value),
            90 => self.d90 = Some(value),
            120 => self.d120 = Some(value),
            _ => {}
        }
    }
}

/// One policy's outcome on one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub policy: String,
    /// Questions after the training event, per learner × nugget.
    pub questions_per_nugget: f64,
    pub answers_per_learner_day: f64,
    /// True recall averaged over the window's days, nuggets and learners.
    pub mean_recall_window: f64,
    pub recall_at: RecallAt,
    /// Share of learner × nugget pairs the policy no longer asks at the end.
    pub retired_share: f64,
    /// 95 % interval of `mean_recall_window`, over learners (normal approximation).
    pub ci95: [f64; 2],
}

/// `{"policies": [...]}`, the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reports {
    pub policies: Vec<PolicyReport>,
}

/// Running sums while a simulation runs.
pub(super) struct Tally {
    learners: usize,
    nuggets: usize,
    days: u32,
    window: (u32, u32),
    pub(super) questions: u64,
    learner_window: Vec<f64>,
    checkpoint: Vec<(u32, f64)>,
}

impl Tally {
    pub(super) fn new(config: &SimConfig) -> Self {
        Self {
            learners: config.learners,
            nuggets: config.nuggets,
            days: config.days,
            window: (config.window.0, config.window.1.min(config.days)),
            questions: 0,
            learner_window: vec![0.0; config.learners],
            checkpoint: Vec::new(),
        }
    }

    /// Adds learner `l`'s true recall of every nugget on `day` (before that day's answers).
    pub(super) fn measure(&mut self, day: u32, l: usize, recalls: impl Iterator<Item = f64>) {
        let in_window = (self.window.0..=self.window.1).contains(&day);
        let checkpoint = CHECKPOINTS.contains(&day);
        if !in_window && !checkpoint {
            return;
        }
        let sum: f64 = recalls.sum();
        if in_window {
            self.learner_window[l] += sum;
        }
        if checkpoint {
            match self.checkpoint.iter_mut().find(|(d, _)| *d == day) {
                Some((_, total)) => *total += sum,
                None => self.checkpoint.push((day, sum)),
            }
        }
    }

    pub(super) fn finish(self, retired: usize) -> PolicyReport {
        let pairs = (self.learners * self.nuggets).max(1) as f64;
        let window_days = f64::from(self.window.1.saturating_sub(self.window.0) + 1);
        let per_learner: Vec<f64> = self
            .learner_window
            .iter()
            .map(|s| s / (window_days * self.nuggets.max(1) as f64))
            .collect();
        let n = per_learner.len().max(1) as f64;
        let mean = per_learner.iter().sum::<f64>() / n;
        let var = per_learner.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let half = 1.96 * (var / n).sqrt();
        let mut recall_at = RecallAt::default();
        for (day, sum) in self.checkpoint {
            recall_at.set(day, sum / pairs);
        }
        PolicyReport {
            policy: String::new(),
            questions_per_nugget: self.questions as f64 / pairs,
            answers_per_learner_day: self.questions as f64
                / (self.learners.max(1) as f64 * f64::from(self.days.max(1))),
            mean_recall_window: mean,
            recall_at,
            retired_share: retired as f64 / pairs,
            ci95: [mean - half, mean + half],
        }
    }
}

/// A fixed-width table, one line per policy.
pub fn table(reports: &[PolicyReport]) -> String {
    let mut out = format!(
        "{:<16} {:>9} {:>11} {:>12} {:>17} {:>7} {:>7} {:>7} {:>7} {:>8}\n",
        "policy",
        "q/nugget",
        "answers/day",
        "recall(win)",
        "95% CI",
        "@30",
        "@60",
        "@90",
        "@120",
        "retired"
    );
    for r in reports {
        let at = |d| {
            r.recall_at
                .get(d)
                .map_or("-".to_owned(), |v| format!("{v:.3}"))
        };
        out += &format!(
            "{:<16} {:>9.3} {:>11.3} {:>12.4} {:>17} {:>7} {:>7} {:>7} {:>7} {:>7.1}%\n",
            r.policy,
            r.questions_per_nugget,
            r.answers_per_learner_day,
            r.mean_recall_window,
            format!("[{:.4}, {:.4}]", r.ci95[0], r.ci95[1]),
            at(30),
            at(60),
            at(90),
            at(120),
            r.retired_share * 100.0
        );
    }
    out
}
