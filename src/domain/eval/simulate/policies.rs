//! The policies the simulator referees, by the names the CLI takes.

use std::fmt;
use std::str::FromStr;

use crate::domain::scheduler::QstreamRule;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SimPolicy {
    /// `qstream-W-R`: back W days after a wrong answer, R after a right one, retired after two
    /// right in a row.
    Qstream(QstreamRule),
    /// `fsrs:R`: FSRS-6 at constant desired retention R.
    Fsrs { retention: f64 },
    /// `planner` (the default price) or `planner:Q` (the price that keeps it to at most Q
    /// questions per nugget on average, found by bisection on the same seeded population).
    Planner { questions_per_nugget: Option<f64> },
}

impl fmt::Display for SimPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Qstream(rule) => write!(f, "qstream-{}-{}", rule.wrong_days, rule.right_days),
            Self::Fsrs { retention } => write!(f, "fsrs:{retention}"),
            Self::Planner {
                questions_per_nugget: None,
            } => f.write_str("planner"),
            Self::Planner {
                questions_per_nugget: Some(q),
            } => write!(f, "planner:{q:.2}"),
        }
    }
}

impl FromStr for SimPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("unknown policy {text:?} (qstream-W-R, fsrs:R, planner, planner:Q)");
        if let Some(rest) = text.strip_prefix("qstream-") {
            let (wrong, right) = rest.split_once('-').ok_or_else(bad)?;
            let days = |s: &str| s.parse::<u32>().ok().filter(|&d| d > 0).ok_or_else(bad);
            return Ok(Self::Qstream(QstreamRule {
                wrong_days: days(wrong)?,
                right_days: days(right)?,
                retire_after_correct_in_row: 2,
            }));
        }
        if let Some(rest) = text.strip_prefix("fsrs:") {
            let retention: f64 = rest.parse().map_err(|_| bad())?;
            if !(0.5..1.0).contains(&retention) {
                return Err(format!("fsrs:R needs 0.5 <= R < 1, got {rest}"));
            }
            return Ok(Self::Fsrs { retention });
        }
        if text == "planner" {
            return Ok(Self::Planner {
                questions_per_nugget: None,
            });
        }
        if let Some(rest) = text.strip_prefix("planner:") {
            let q: f64 = rest.parse().map_err(|_| bad())?;
            if !(q >= 0.0 && q.is_finite()) {
                return Err(format!("planner:Q needs Q >= 0, got {rest}"));
            }
            return Ok(Self::Planner {
                questions_per_nugget: Some(q),
            });
        }
        Err(bad())
    }
}

/// A comma list of policies.
pub fn parse_list(text: &str) -> Result<Vec<SimPolicy>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_round_trips_names() {
        let list = parse_list("qstream-21-42, qstream-8-16,fsrs:0.8,planner,planner:1.5").unwrap();
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "qstream-21-42",
                "qstream-8-16",
                "fsrs:0.8",
                "planner",
                "planner:1.50"
            ]
        );
        assert!(parse_list("fsrs:1.2").is_err());
        assert!(parse_list("qstream-8").is_err());
        assert!(parse_list("sm2").is_err());
    }
}
