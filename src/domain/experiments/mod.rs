//! Experiments on real answers: an assignment's learners split at random between arms, each arm
//! scheduled by its own policy, and retention measured by probes (see `probes`) and compared
//! between arms (see `stats`).
//!
//! The split is per learner and stable: a hash of the experiment and the learner falls into the
//! arms' cumulative shares, so the same learner lands in the same arm on every server and every
//! day without a write, and the arm recorded when the learner is first seen is the one they keep.

pub mod kpis;
pub mod probes;
pub mod stats;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use chrono::{DateTime, Utc};

use super::assignments::{PolicyName, Settings};
use super::ids::{AssignmentId, ExperimentId, UserId};
use super::validation::{Errors, FieldError};

/// Most arms an experiment may have.
pub const MAX_ARMS: usize = 10;
/// Probes a week by default: one question a week spent on measuring.
pub const DEFAULT_PROBES_PER_WEEK: u32 = 1;
/// Shares are decimals a client typed: they must sum to 1 within this.
const SHARE_TOLERANCE: f64 = 1e-6;

/// One arm: who is scheduled how, and the share of learners it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Arm {
    pub name: String,
    /// The spacing policy of the arm's learners for the experiment's assignment (any policy an
    /// assignment can take).
    pub policy: PolicyName,
    /// FSRS's desired retention for the arm; the assignment's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_retention: Option<f64>,
    /// The arm the others are compared with (exactly one).
    pub control: bool,
    /// Share of learners, in (0, 1]; the shares of an experiment sum to 1.
    pub share: f64,
}

impl Arm {
    /// The assignment's settings as this arm's learners are scheduled with them.
    pub fn settings(&self, assignment: &Settings) -> Settings {
        Settings {
            policy: self.policy,
            desired_retention: self
                .desired_retention
                .unwrap_or(assignment.desired_retention),
            ..assignment.clone()
        }
    }
}

/// An experiment's design, checked: a name, the arms, and probes a week.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub name: String,
    pub arms: Vec<Arm>,
    pub probes_per_week: u32,
}

impl Design {
    /// Checks a design, reporting every bad field (`arms[1].share`, …) at once.
    pub fn check(
        name: &str,
        arms: Vec<Arm>,
        probes_per_week: Option<u32>,
    ) -> Result<Design, Vec<FieldError>> {
        let mut errs = Errors::default();
        let name = errs.check(super::validation::text("name", name, 1, 200));
        if arms.len() < 2 {
            errs.add("arms", "an experiment needs at least 2 arms");
        }
        if arms.len() > MAX_ARMS {
            errs.add("arms", format!("at most {MAX_ARMS} arms"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, arm) in arms.iter().enumerate() {
            let field = |f: &str| format!("arms[{i}].{f}");
            if let Err(e) = super::validation::text(&field("name"), &arm.name, 1, 64) {
                errs.add(&e.field, e.message);
            } else if !names.insert(arm.name.trim().to_lowercase()) {
                errs.add(
                    &field("name"),
                    format!("{:?} names two arms", arm.name.trim()),
                );
            }
            if !(arm.share.is_finite() && arm.share > 0.0 && arm.share <= 1.0) {
                errs.add(&field("share"), "must be above 0 and at most 1");
            }
            if arm
                .desired_retention
                .is_some_and(|r| !(0.7..=0.99).contains(&r))
            {
                errs.add(&field("desired_retention"), "must be between 0.7 and 0.99");
            }
        }
        let sum: f64 = arms.iter().map(|a| a.share).sum();
        if arms.len() >= 2 && sum.is_finite() && (sum - 1.0).abs() > SHARE_TOLERANCE {
            errs.add(
                "arms",
                format!("the shares must sum to 1 (they sum to {sum})"),
            );
        }
        match arms.iter().filter(|a| a.control).count() {
            1 => {}
            0 => errs.add("arms", "mark one arm as the control"),
            n => errs.add("arms", format!("exactly one arm is the control ({n} are)")),
        }
        let probes_per_week = probes_per_week.unwrap_or(DEFAULT_PROBES_PER_WEEK);
        if !(1..=7).contains(&probes_per_week) {
            errs.add("probes_per_week", "must be between 1 and 7");
        }
        let arms = arms
            .into_iter()
            .map(|a| Arm {
                name: a.name.trim().to_string(),
                ..a
            })
            .collect();
        errs.into_result(|| Design {
            name: name.unwrap_or_default(),
            arms,
            probes_per_week,
        })
    }
}

/// An experiment as stored: its design, on which assignment, and when it ran.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub id: ExperimentId,
    pub name: String,
    pub assignment_id: AssignmentId,
    pub arms: Vec<Arm>,
    pub probes_per_week: u32,
    pub created_by: UserId,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

impl Experiment {
    /// The arm a learner not yet recorded falls in.
    pub fn arm_for(&self, learner_id: &str) -> &Arm {
        &self.arms[arm_of(self.id.as_str(), learner_id, &self.arms)]
    }

    pub fn control(&self) -> &Arm {
        self.arms
            .iter()
            .find(|a| a.control)
            .unwrap_or(&self.arms[0])
    }
}

/// A learner in a running experiment, as their queue and answers need it.
#[derive(Debug, Clone)]
pub struct Enlisted {
    pub experiment_id: ExperimentId,
    pub arm: String,
    pub probes_per_week: u32,
    pub started_at: DateTime<Utc>,
    /// Whether the learner's arm is recorded (else their next counted answer records it).
    pub recorded: bool,
}

impl Enlisted {
    /// `learner_id` in `experiment`: in the arm `recorded` for them, else in the arm they draw.
    pub fn of<'e>(
        experiment: &'e Experiment,
        learner_id: &str,
        recorded: Option<&String>,
    ) -> (&'e Arm, Enlisted) {
        let arm = recorded
            .and_then(|name| experiment.arms.iter().find(|a| &a.name == name))
            .unwrap_or_else(|| experiment.arm_for(learner_id));
        let enlisted = Enlisted {
            experiment_id: experiment.id.clone(),
            arm: arm.name.clone(),
            probes_per_week: experiment.probes_per_week,
            started_at: experiment.started_at,
            recorded: recorded.is_some(),
        };
        (arm, enlisted)
    }
}

/// A number in [0, 1) from the hash of `parts`: the same parts give the same number anywhere,
/// in any release (SHA-256, not the standard library's hasher, whose output may change).
pub fn unit_hash(parts: &[&str]) -> f64 {
    (seed_of(parts) >> 11) as f64 / (1u64 << 53) as f64
}

/// A 64-bit seed from the hash of `parts` (for the statistics' resampling and the probes).
pub fn seed_of(parts: &[&str]) -> u64 {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p.as_bytes());
        hasher.update([0x1f]);
    }
    let digest = hasher.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The index of the arm `learner_id` falls in: the hash of experiment and learner into the
/// cumulative shares (the last arm takes what rounding leaves).
pub fn arm_of(experiment_id: &str, learner_id: &str, arms: &[Arm]) -> usize {
    let u = unit_hash(&[experiment_id, learner_id]);
    let mut cumulative = 0.0;
    for (i, arm) in arms.iter().enumerate() {
        cumulative += arm.share;
        if u < cumulative {
            return i;
        }
    }
    arms.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(name: &str, control: bool, share: f64) -> Arm {
        Arm {
            name: name.into(),
            policy: PolicyName::Fsrs,
            desired_retention: None,
            control,
            share,
        }
    }

    fn fields(r: Result<Design, Vec<FieldError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_design_is_checked_field_by_field() {
        let ok = Design::check(
            "Trial",
            vec![arm("A", true, 0.3), arm("B", false, 0.7)],
            None,
        )
        .unwrap();
        assert_eq!(ok.probes_per_week, 1);
        assert_eq!(
            fields(Design::check("Trial", vec![arm("A", true, 1.0)], None)),
            vec!["arms"]
        );
        assert_eq!(
            fields(Design::check(
                "Trial",
                vec![arm("A", true, 0.5), arm("B", false, 0.6)],
                None
            )),
            vec!["arms"]
        );
        assert_eq!(
            fields(Design::check(
                "Trial",
                vec![arm("A", true, 0.5), arm("B", true, 0.5)],
                None
            )),
            vec!["arms"]
        );
        assert_eq!(
            fields(Design::check(
                "Trial",
                vec![arm("A", true, 0.0), arm("a", false, 1.0)],
                Some(9)
            )),
            vec!["arms[0].share", "arms[1].name", "probes_per_week"]
        );
        assert_eq!(
            fields(Design::check(
                " ",
                vec![arm("A", true, 0.5), arm("B", false, 0.5)],
                None
            )),
            vec!["name"]
        );
    }

    #[test]
    fn learners_split_stably_by_the_shares() {
        let arms = vec![arm("A", true, 0.25), arm("B", false, 0.75)];
        let n = 4000;
        let in_a = (0..n)
            .filter(|i| arm_of("exp-1", &format!("learner-{i}"), &arms) == 0)
            .count();
        let share = in_a as f64 / n as f64;
        assert!((share - 0.25).abs() < 0.03, "{share}");
        assert_eq!(
            arm_of("exp-1", "learner-7", &arms),
            arm_of("exp-1", "learner-7", &arms)
        );
    }

    #[test]
    fn an_arm_overrides_the_policy_and_retention_only() {
        let base = Settings::defaults(chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        let qstream = Arm {
            policy: PolicyName::Qstream,
            desired_retention: Some(0.8),
            ..arm("Q", false, 0.5)
        };
        let s = qstream.settings(&base);
        assert_eq!((s.policy, s.desired_retention), (PolicyName::Qstream, 0.8));
        assert_eq!(s.daily_cap, base.daily_cap);
        assert_eq!(
            arm("F", true, 0.5).settings(&base).desired_retention,
            base.desired_retention
        );
    }
}
