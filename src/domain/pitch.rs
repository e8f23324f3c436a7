//! Pitch practice rules: a pitch nugget's rubric and time limit, what an uploaded recording may
//! be, a review's scores, and how a weak score brings the pitch back.
//!
//! A pitch nugget puts a client situation to the seller, who answers it out loud on camera or
//! microphone. Nobody grades it at once: a manager (or a peer, where the organization allows)
//! scores it later on the nugget's rubric, 1 to 4 per criterion. Until then the upload itself is
//! the practice that the spacing policy schedules; a score of 1 or 2 on any criterion brings the
//! pitch back within [`SOONER_DAYS`].

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ids::{PitchId, PitchReviewId, UserId};

/// A rubric has 2 to 6 criteria.
pub const MIN_CRITERIA: usize = 2;
pub const MAX_CRITERIA: usize = 6;
/// Criterion names are short labels; descriptions say what a 4 looks like.
pub const MAX_CRITERION_CHARS: usize = 60;
pub const MAX_DESCRIPTION_CHARS: usize = 400;
/// The recording time a pitch allows when its nugget names none.
pub const DEFAULT_MAX_SECONDS: u32 = 90;
/// The range a nugget's `max_seconds` may take: long enough for a greeting, short enough to
/// stay a nugget.
pub const MAX_SECONDS_RANGE: std::ops::RangeInclusive<u32> = 10..=600;
/// Scores run from 1 (not shown) to 4 (exemplary).
pub const SCORE_RANGE: std::ops::RangeInclusive<i64> = 1..=4;
/// A score at or under this on any criterion brings the pitch back sooner.
pub const WEAK_SCORE: i64 = 2;
/// How soon a weakly scored pitch comes back, in days after the review.
pub const SOONER_DAYS: i64 = 2;
/// A review comment's length limit.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The default size limit of one recording (`REPRISE_MAX_RECORDING_BYTES`).
pub const DEFAULT_MAX_RECORDING_BYTES: u64 = 50 * 1024 * 1024;

/// Whether a nugget is a multiple-choice question or a pitch to record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NuggetKind {
    #[default]
    Choice,
    Pitch,
}

impl NuggetKind {
    pub fn is_choice(&self) -> bool {
        *self == NuggetKind::Choice
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            NuggetKind::Choice => "choice",
            NuggetKind::Pitch => "pitch",
        }
    }

    /// The stored spelling back; anything unknown is a choice nugget (the column's default).
    pub fn parse(value: &str) -> NuggetKind {
        match value {
            "pitch" => NuggetKind::Pitch,
            _ => NuggetKind::Choice,
        }
    }
}

/// One thing a reviewer scores in a pitch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RubricCriterion {
    /// A short label, unique within the rubric (the key of a review's `scores`).
    pub criterion: String,
    /// What the reviewer looks for.
    pub description: String,
}

/// A rubric's problems, each with the criterion's index (`None`: the rubric as a whole) and the
/// field at fault, for the pack validator to place.
pub fn rubric_issues(rubric: &[RubricCriterion]) -> Vec<(Option<usize>, &'static str, String)> {
    let mut out = Vec::new();
    if !(MIN_CRITERIA..=MAX_CRITERIA).contains(&rubric.len()) {
        out.push((
            None,
            "",
            format!(
                "a pitch needs {MIN_CRITERIA} to {MAX_CRITERIA} rubric criteria (got {})",
                rubric.len()
            ),
        ));
    }
    for (i, c) in rubric.iter().enumerate() {
        let name = c.criterion.trim();
        if name.is_empty() {
            out.push((Some(i), "criterion", "must not be empty".into()));
        } else if name.chars().count() > MAX_CRITERION_CHARS {
            out.push((
                Some(i),
                "criterion",
                format!("must be at most {MAX_CRITERION_CHARS} characters"),
            ));
        } else if name != c.criterion || name.contains(['\n', '\r']) {
            out.push((
                Some(i),
                "criterion",
                "must be one line without leading or trailing spaces".into(),
            ));
        }
        if rubric[..i]
            .iter()
            .any(|e| e.criterion.eq_ignore_ascii_case(&c.criterion))
        {
            out.push((
                Some(i),
                "criterion",
                format!("duplicate criterion \"{}\"", c.criterion),
            ));
        }
        if c.description.trim().is_empty() {
            out.push((Some(i), "description", "must not be empty".into()));
        } else if c.description.chars().count() > MAX_DESCRIPTION_CHARS {
            out.push((
                Some(i),
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
    }
    out
}

/// The longest recording a pitch with `max_seconds` takes: its limit plus 10 %, so a seller who
/// stops on the last second is not refused over the recorder's rounding.
pub fn duration_limit(max_seconds: u32) -> Duration {
    Duration::from_millis(u64::from(max_seconds) * 1100)
}

/// A review's scores, checked against the pitch's rubric: every criterion scored, 1 to 4, and
/// nothing else. Keys match the rubric's spelling whatever case the reviewer used.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores(BTreeMap<String, i64>);

/// Why scores were refused: the field (`scores` or `scores.<criterion>`) and the message.
#[derive(Debug, PartialEq)]
pub struct ScoreError {
    pub field: String,
    pub message: String,
}

impl Scores {
    pub fn check(
        rubric: &[RubricCriterion],
        given: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Scores, ScoreError> {
        let mut scores = BTreeMap::new();
        for (key, value) in given {
            let Some(c) = rubric
                .iter()
                .find(|c| c.criterion.eq_ignore_ascii_case(key))
            else {
                let names: Vec<&str> = rubric.iter().map(|c| c.criterion.as_str()).collect();
                return Err(ScoreError {
                    field: format!("scores.{key}"),
                    message: format!(
                        "not a criterion of this pitch's rubric ({})",
                        names.join(", ")
                    ),
                });
            };
            let score = value
                .as_i64()
                .filter(|s| SCORE_RANGE.contains(s))
                .ok_or_else(|| ScoreError {
                    field: format!("scores.{key}"),
                    message: format!("must be a whole number from 1 to 4 (got {value})"),
                })?;
            if scores.insert(c.criterion.clone(), score).is_some() {
                return Err(ScoreError {
                    field: format!("scores.{key}"),
                    message: "scored twice".into(),
                });
            }
        }
        if let Some(missing) = rubric.iter().find(|c| !scores.contains_key(&c.criterion)) {
            return Err(ScoreError {
                field: "scores".into(),
                message: format!(
                    "score every criterion: \"{}\" is missing",
                    missing.criterion
                ),
            });
        }
        Ok(Scores(scores))
    }

    pub fn as_map(&self) -> &BTreeMap<String, i64> {
        &self.0
    }

    /// The mean score, 1 to 4: the application evidence a review gives.
    pub fn mean(&self) -> f64 {
        self.0.values().sum::<i64>() as f64 / self.0.len().max(1) as f64
    }

    /// A weak score on any criterion brings the pitch back sooner.
    pub fn brings_back_sooner(&self) -> bool {
        self.0.values().any(|s| *s <= WEAK_SCORE)
    }
}

/// Who may see a recording besides its seller: a reviewer (their manager, an admin, or a peer
/// when peer review is on), or any member of the seller's teams once it is shared as an
/// exemplar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub is_learner: bool,
    /// The caller manages one of the seller's teams, or is an admin.
    pub coaches: bool,
    /// The caller shares a team with the seller.
    pub teammate: bool,
    pub peer_review: bool,
    pub shared: bool,
}

impl Viewer {
    pub fn may_watch(&self) -> bool {
        self.is_learner || self.coaches || (self.teammate && (self.shared || self.peer_review))
    }

    /// Reviewing is for coaches and, where allowed, teammates; never the seller.
    pub fn may_review(&self) -> bool {
        !self.is_learner && (self.coaches || (self.teammate && self.peer_review))
    }
}

/// One review of a pitch as its seller and reviewers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PitchReview {
    #[schema(value_type = String)]
    pub id: PitchReviewId,
    #[schema(value_type = String)]
    pub pitch_id: PitchId,
    #[schema(value_type = String)]
    pub reviewer_id: UserId,
    pub reviewer_name: String,
    pub topic: String,
    /// Criterion → 1 (not shown) … 4 (exemplary).
    pub scores: BTreeMap<String, i64>,
    pub mean_score: f64,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    /// When the seller saw it (their queue carries it until then).
    pub seen_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rubric() -> Vec<RubricCriterion> {
        ["Opening", "Value", "Close"]
            .iter()
            .map(|c| RubricCriterion {
                criterion: c.to_string(),
                description: format!("{c} done well"),
            })
            .collect()
    }

    fn given(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn rubric_needs_two_to_six_distinct_criteria() {
        assert!(rubric_issues(&rubric()).is_empty());
        assert_eq!(rubric_issues(&rubric()[..1]).len(), 1);
        let mut twice = rubric();
        twice[2].criterion = "opening".into();
        let issues = rubric_issues(&twice);
        assert_eq!(issues[0].0, Some(2));
        assert!(issues[0].2.contains("duplicate"));
        let mut blank = rubric();
        blank[1].description = " ".into();
        assert_eq!(rubric_issues(&blank)[0].1, "description");
    }

    #[test]
    fn scores_cover_the_rubric_exactly() {
        let r = rubric();
        let ok = Scores::check(
            &r,
            &given(&[
                ("opening", json!(4)),
                ("Value", json!(2)),
                ("Close", json!(3)),
            ]),
        )
        .unwrap();
        assert_eq!(ok.as_map()["Opening"], 4);
        assert!((ok.mean() - 3.0).abs() < 1e-9);
        assert!(ok.brings_back_sooner());
        let missing = Scores::check(&r, &given(&[("Opening", json!(4))])).unwrap_err();
        assert_eq!(missing.field, "scores");
        let out_of_range = Scores::check(
            &r,
            &given(&[
                ("Opening", json!(5)),
                ("Value", json!(2)),
                ("Close", json!(3)),
            ]),
        )
        .unwrap_err();
        assert_eq!(out_of_range.field, "scores.Opening");
        let unknown = Scores::check(&r, &given(&[("Tone", json!(3))])).unwrap_err();
        assert_eq!(unknown.field, "scores.Tone");
        let fraction = Scores::check(
            &r,
            &given(&[
                ("Opening", json!(2.5)),
                ("Value", json!(2)),
                ("Close", json!(3)),
            ]),
        )
        .unwrap_err();
        assert!(fraction.message.contains("whole number"));
    }

    #[test]
    fn strong_scores_do_not_bring_the_pitch_back() {
        let s = Scores::check(
            &rubric(),
            &given(&[
                ("Opening", json!(3)),
                ("Value", json!(4)),
                ("Close", json!(3)),
            ]),
        )
        .unwrap();
        assert!(!s.brings_back_sooner());
    }

    #[test]
    fn duration_allows_ten_percent() {
        assert_eq!(duration_limit(90), Duration::from_secs(99));
    }

    #[test]
    fn who_may_watch_and_review() {
        let none = Viewer {
            is_learner: false,
            coaches: false,
            teammate: false,
            peer_review: false,
            shared: false,
        };
        assert!(!none.may_watch());
        let teammate = Viewer {
            teammate: true,
            ..none
        };
        assert!(!teammate.may_watch() && !teammate.may_review());
        assert!(Viewer {
            shared: true,
            ..teammate
        }
        .may_watch());
        let peer = Viewer {
            peer_review: true,
            ..teammate
        };
        assert!(peer.may_watch() && peer.may_review());
        let seller = Viewer {
            is_learner: true,
            ..none
        };
        assert!(seller.may_watch() && !seller.may_review());
        let coach = Viewer {
            coaches: true,
            ..none
        };
        assert!(coach.may_watch() && coach.may_review());
    }
}
