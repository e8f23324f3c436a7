//! Assignments (campaigns): a pack for a team and/or named learners from a start date, with the
//! daily cap, target retention, spacing policy and grading thresholds that govern it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scheduler::Horizon;
use super::validation::{Errors, FieldError};

/// How nuggets are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyName {
    /// FSRS-6: the next review when predicted recall falls to the desired retention.
    Fsrs,
    /// Qstream's fixed rule: again after 21 days if wrong, 42 if right; retired after two
    /// correct answers in a row.
    Qstream,
    /// The budget-aware planner: after each answer, the next question comes on the day that
    /// adds the most expected recall over the assignment's horizon (days 30–120 after the start,
    /// or the `target_date`) for its price; a nugget whose next question is worth less than
    /// that price is retired.
    Planner,
}

impl PolicyName {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyName::Fsrs => "fsrs",
            PolicyName::Qstream => "qstream",
            PolicyName::Planner => "planner",
        }
    }

    pub fn parse(s: &str) -> Option<PolicyName> {
        match s {
            "fsrs" => Some(PolicyName::Fsrs),
            "qstream" => Some(PolicyName::Qstream),
            "planner" => Some(PolicyName::Planner),
            _ => None,
        }
    }
}

pub const DEFAULT_DAILY_CAP: i32 = 3;
/// The furthest target date: the planner's tables grow with the horizon, and a year is longer
/// than any launch or certification a training event prepares for.
pub const MAX_TARGET_DAYS: i64 = 365;
pub const DEFAULT_RETENTION: f64 = 0.9;
/// A right answer faster than this (and marked sure) rates Easy.
pub const DEFAULT_FAST_MS: i32 = 8_000;
/// A right answer slower than this rates Hard.
pub const DEFAULT_SLOW_MS: i32 = 30_000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assignment {
    pub id: String,
    pub pack_id: String,
    pub pack_slug: String,
    pub team_id: Option<String>,
    pub learner_ids: Vec<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// "Ready by": the day the planner aims recall at (a launch, a certification) instead of
    /// the window HR reads.
    pub target_date: Option<NaiveDate>,
    pub daily_cap: i32,
    pub desired_retention: f64,
    pub policy: PolicyName,
    pub fast_ms: i32,
    pub slow_ms: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Assignment {
    pub fn settings(&self) -> Settings {
        Settings {
            daily_cap: self.daily_cap,
            desired_retention: self.desired_retention,
            policy: self.policy,
            fast_ms: self.fast_ms,
            slow_ms: self.slow_ms,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            target_date: self.target_date,
        }
    }
}

/// Checked settings of an assignment (creation or update).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub daily_cap: i32,
    pub desired_retention: f64,
    pub policy: PolicyName,
    pub fast_ms: i32,
    pub slow_ms: i32,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub target_date: Option<NaiveDate>,
}

/// Raw settings as a client sends them; `None` keeps `base`.
#[derive(Debug, Default)]
pub struct SettingsInput {
    pub daily_cap: Option<i32>,
    pub desired_retention: Option<f64>,
    pub policy: Option<PolicyName>,
    pub fast_ms: Option<i32>,
    pub slow_ms: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<Option<NaiveDate>>,
    pub target_date: Option<Option<NaiveDate>>,
}

impl Settings {
    /// The days the planner aims recall at, counted from `starts_on`: the target date alone
    /// when one is set ("ready by"), else the window HR reads.
    pub fn planner_horizon(&self) -> Horizon {
        match self.target_date {
            Some(target) => Horizon::target(
                u32::try_from((target - self.starts_on).num_days().max(1)).unwrap_or(1),
            ),
            None => Horizon::HR_WINDOW,
        }
    }

    pub fn defaults(starts_on: NaiveDate) -> Settings {
        Settings {
            daily_cap: DEFAULT_DAILY_CAP,
            desired_retention: DEFAULT_RETENTION,
            policy: PolicyName::Fsrs,
            fast_ms: DEFAULT_FAST_MS,
            slow_ms: DEFAULT_SLOW_MS,
            starts_on,
            ends_on: None,
            target_date: None,
        }
    }

    /// Applies `input` over `self`, checking every bound and reporting every bad field.
    pub fn apply(&self, input: SettingsInput) -> Result<Settings, Vec<FieldError>> {
        let mut errs = Errors::default();
        let next = Settings {
            daily_cap: input.daily_cap.unwrap_or(self.daily_cap),
            desired_retention: input.desired_retention.unwrap_or(self.desired_retention),
            policy: input.policy.unwrap_or(self.policy),
            fast_ms: input.fast_ms.unwrap_or(self.fast_ms),
            slow_ms: input.slow_ms.unwrap_or(self.slow_ms),
            starts_on: input.starts_on.unwrap_or(self.starts_on),
            ends_on: input.ends_on.unwrap_or(self.ends_on),
            target_date: input.target_date.unwrap_or(self.target_date),
        };
        if !(1..=20).contains(&next.daily_cap) {
            errs.add("daily_cap", "must be between 1 and 20");
        }
        if !(0.7..=0.99).contains(&next.desired_retention) {
            errs.add("desired_retention", "must be between 0.7 and 0.99");
        }
        if !(500..=600_000).contains(&next.fast_ms) {
            errs.add("fast_ms", "must be between 500 and 600000");
        }
        if !(500..=600_000).contains(&next.slow_ms) || next.slow_ms <= next.fast_ms {
            errs.add(
                "slow_ms",
                "must be between 500 and 600000 and above fast_ms",
            );
        }
        if next.ends_on.is_some_and(|end| end < next.starts_on) {
            errs.add("ends_on", "must not be before starts_on");
        }
        if let Some(target) = next.target_date {
            let days = (target - next.starts_on).num_days();
            if !(1..=MAX_TARGET_DAYS).contains(&days) {
                errs.add(
                    "target_date",
                    format!("must be 1 to {MAX_TARGET_DAYS} days after starts_on"),
                );
            }
        }
        errs.into_result(|| next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_together() {
        let base = Settings::defaults(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        let ok = base
            .apply(SettingsInput {
                daily_cap: Some(5),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ok.daily_cap, 5);
        assert_eq!(ok.desired_retention, DEFAULT_RETENTION);
        let bad = base
            .apply(SettingsInput {
                daily_cap: Some(0),
                desired_retention: Some(1.5),
                slow_ms: Some(1000),
                ends_on: Some(NaiveDate::from_ymd_opt(2026, 3, 1)),
                ..Default::default()
            })
            .unwrap_err();
        let fields: Vec<_> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["daily_cap", "desired_retention", "slow_ms", "ends_on"]
        );
    }
}
