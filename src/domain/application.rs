//! Knowledge × application: what a seller knows of a topic (predicted recall) beside what they
//! were seen to apply (a manager's field observations, later pitch review scores), and the one
//! next step a manager takes for each combination.
//!
//! Application evidence ages: a ride-along from last week says more than one from last
//! quarter. Each piece weighs half as much every [`HALF_LIFE_DAYS`], and the score is the
//! weighted mean on a 0–1 scale (1–4 ratings mapped linearly). With no evidence left worth
//! counting the score is unknown rather than zero: a seller nobody observed has not failed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ids::{ObservationId, UserId};
use super::validation::{self, Errors, FieldError};

/// Days after which a piece of application evidence weighs half.
pub const HALF_LIFE_DAYS: f64 = 60.0;
/// Evidence weighing less than this in total says nothing any more (about 8 half-lives).
const MIN_WEIGHT: f64 = 0.004;
/// Days of evidence worth reading: past 8 half-lives a piece weighs under [`MIN_WEIGHT`].
pub const COUNTS_FOR_DAYS: i64 = 8 * HALF_LIFE_DAYS as i64;
/// Predicted recall at or above which a seller "knows" a topic.
pub const KNOWS_AT: f64 = 0.8;
/// Application score at or above which a seller "applies" a topic (a rating of 3 of 4 maps to
/// 0.67).
pub const APPLIES_AT: f64 = 0.6;
/// Oldest observation accepted: older field notes belong to a review, not to this measure.
pub const MAX_AGE_DAYS: i64 = 365;
pub const MAX_NOTE: usize = 2000;
pub const MAX_TOPIC: usize = 200;

/// One piece of application evidence on a 1–4 scale, dated: an observation's rating, or a
/// reviewed pitch's mean score (hence not always whole).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub rating: f64,
    pub on: NaiveDate,
}

/// The decayed mean of `evidence` on a 0–1 scale as of `today`; `None` without evidence that
/// still counts. Evidence dated after `today` counts as of today.
pub fn application_score(evidence: &[Evidence], today: NaiveDate) -> Option<f64> {
    let (mut weight, mut sum) = (0.0, 0.0);
    for e in evidence {
        let age = (today - e.on).num_days().max(0) as f64;
        let w = 0.5f64.powf(age / HALF_LIFE_DAYS);
        weight += w;
        sum += w * (e.rating.clamp(1.0, 4.0) - 1.0) / 3.0;
    }
    (weight >= MIN_WEIGHT).then(|| sum / weight)
}

/// Where a seller stands on a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    KnowsAndApplies,
    /// Knows it but was not seen doing it: coach the behaviour.
    KnowsNotApplied,
    /// Does it without the knowledge behind it: reinforce the why.
    AppliesWithoutKnowing,
    /// Neither: train.
    Neither,
    /// Nobody has seen the seller apply it yet.
    NotObserved,
}

/// The one step a manager takes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NextAction {
    /// Nothing: recognise it, perhaps share the seller's way of doing it.
    None,
    /// Go along to a customer meeting and watch for the topic.
    RideAlong,
    /// Ask for a recorded pitch on the topic.
    Pitch,
    /// Assign a refresher of the topic's nuggets.
    Refresher,
}

/// The quadrant of a proficiency (predicted recall, 0–1; `None` for a topic the seller never
/// studied, which they do not know) and an application score.
pub fn quadrant(proficiency: Option<f64>, application: Option<f64>) -> Quadrant {
    let knows = proficiency.is_some_and(|p| p >= KNOWS_AT);
    match application.map(|a| a >= APPLIES_AT) {
        None => Quadrant::NotObserved,
        Some(true) if knows => Quadrant::KnowsAndApplies,
        Some(false) if knows => Quadrant::KnowsNotApplied,
        Some(true) => Quadrant::AppliesWithoutKnowing,
        Some(false) => Quadrant::Neither,
    }
}

/// What to do next for a quadrant: knowledge missing comes first (a refresher is cheap and
/// the seller can do it alone); knowledge there but not the behaviour needs practice seen by
/// someone (a pitch); never observed, someone has to look.
pub fn next_action(q: Quadrant) -> NextAction {
    match q {
        Quadrant::KnowsAndApplies => NextAction::None,
        Quadrant::KnowsNotApplied => NextAction::Pitch,
        Quadrant::AppliesWithoutKnowing | Quadrant::Neither => NextAction::Refresher,
        Quadrant::NotObserved => NextAction::RideAlong,
    }
}

/// The manager's next step for `learner` on `topic` in a quadrant, as a sentence.
pub fn advice(q: Quadrant, learner: &str, topic: &str) -> String {
    match q {
        Quadrant::KnowsAndApplies => format!(
            "{learner} knows {topic} and applies it: recognise it, and consider sharing how they do it."
        ),
        Quadrant::KnowsNotApplied => format!(
            "{learner} knows {topic} but was not seen applying it: ask for a pitch on it and coach the behaviour."
        ),
        Quadrant::AppliesWithoutKnowing => format!(
            "{learner} applies {topic} without the knowledge behind it: assign a refresher to reinforce the why."
        ),
        Quadrant::Neither => format!(
            "{learner} neither knows nor applies {topic} yet: assign a refresher, then watch for it again."
        ),
        Quadrant::NotObserved => format!(
            "Nobody has seen {learner} apply {topic} yet: go on a ride-along and watch for it."
        ),
    }
}

impl Quadrant {
    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::KnowsAndApplies => "knows_and_applies",
            Quadrant::KnowsNotApplied => "knows_not_applied",
            Quadrant::AppliesWithoutKnowing => "applies_without_knowing",
            Quadrant::Neither => "neither",
            Quadrant::NotObserved => "not_observed",
        }
    }
}

impl NextAction {
    pub fn as_str(self) -> &'static str {
        match self {
            NextAction::None => "none",
            NextAction::RideAlong => "ride_along",
            NextAction::Pitch => "pitch",
            NextAction::Refresher => "refresher",
        }
    }
}

/// A field observation as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Observation {
    #[schema(value_type = String)]
    pub id: ObservationId,
    #[schema(value_type = String)]
    pub learner_id: UserId,
    #[schema(value_type = String)]
    pub observer_id: UserId,
    pub observer_name: String,
    /// The topic as the content spells it.
    pub topic: String,
    /// 1 (not at all) to 4 (fully, unprompted).
    #[schema(minimum = 1, maximum = 4)]
    pub applied: u8,
    pub note: Option<String>,
    pub observed_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// A field observation as a manager records it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationInput {
    pub topic: String,
    pub applied: u8,
    pub note: Option<String>,
    pub observed_on: NaiveDate,
}

impl ObservationInput {
    /// Every bad field at once: a 1–4 rating, a topic, a note within bounds, and a day neither
    /// in the future nor more than [`MAX_AGE_DAYS`] ago.
    pub fn check(
        topic: &str,
        applied: i64,
        note: Option<&str>,
        observed_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<ObservationInput, Vec<FieldError>> {
        let mut errs = Errors::default();
        let topic = errs.check(validation::text("topic", topic, 1, MAX_TOPIC));
        if !(1..=4).contains(&applied) {
            errs.add("applied", "must be 1 (not at all) to 4 (fully, unprompted)");
        }
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
            errs.add("note", format!("must have at most {MAX_NOTE} characters"));
        } else if note.is_some_and(|n| {
            n.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        }) {
            errs.add(
                "note",
                "must not contain control characters other than line breaks and tabs",
            );
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if observed_on > today {
            errs.add("observed_on", "must not be in the future");
        } else if (today - observed_on).num_days() > MAX_AGE_DAYS {
            errs.add(
                "observed_on",
                format!("must be within the last {MAX_AGE_DAYS} days"),
            );
        }
        errs.into_result(|| ObservationInput {
            topic: topic.unwrap_or_default(),
            applied: applied.clamp(1, 4) as u8,
            note: note.map(str::to_string),
            observed_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn recent_evidence_weighs_more_and_none_is_unknown() {
        let today = d(6, 30);
        assert_eq!(application_score(&[], today), None);
        let one = application_score(
            &[Evidence {
                rating: 4.0,
                on: d(6, 1),
            }],
            today,
        )
        .unwrap();
        assert!((one - 1.0).abs() < 1e-9);
        // An old 1 and a fresh 4: closer to the fresh one.
        let mixed = application_score(
            &[
                Evidence {
                    rating: 1.0,
                    on: d(1, 1),
                },
                Evidence {
                    rating: 4.0,
                    on: d(6, 29),
                },
            ],
            today,
        )
        .unwrap();
        assert!(mixed > 0.8, "{mixed}");
        // A year-old observation alone still counts, but three years would not.
        assert!(application_score(
            &[Evidence {
                rating: 3.0,
                on: d(1, 1)
            }],
            today
        )
        .is_some());
        let ancient = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        assert_eq!(
            application_score(
                &[Evidence {
                    rating: 3.0,
                    on: ancient
                }],
                today
            ),
            None
        );
    }

    #[test]
    fn quadrants_and_their_next_steps() {
        let cases = [
            (
                Some(0.9),
                Some(0.9),
                Quadrant::KnowsAndApplies,
                NextAction::None,
            ),
            (
                Some(0.9),
                Some(0.2),
                Quadrant::KnowsNotApplied,
                NextAction::Pitch,
            ),
            (
                Some(0.5),
                Some(0.9),
                Quadrant::AppliesWithoutKnowing,
                NextAction::Refresher,
            ),
            // Never studied: does not know.
            (
                None,
                Some(0.9),
                Quadrant::AppliesWithoutKnowing,
                NextAction::Refresher,
            ),
            (
                Some(0.5),
                Some(0.2),
                Quadrant::Neither,
                NextAction::Refresher,
            ),
            (
                Some(0.9),
                None,
                Quadrant::NotObserved,
                NextAction::RideAlong,
            ),
        ];
        for (proficiency, application, q, action) in cases {
            assert_eq!(quadrant(proficiency, application), q);
            assert_eq!(next_action(q), action);
        }
        // A rating of 3 of 4 is applying.
        let three = application_score(
            &[Evidence {
                rating: 3.0,
                on: d(6, 1),
            }],
            d(6, 1),
        );
        assert_eq!(quadrant(Some(0.9), three), Quadrant::KnowsAndApplies);
    }

    #[test]
    fn advice_names_the_seller_and_the_topic() {
        let s = advice(Quadrant::KnowsNotApplied, "Sam", "Discovery");
        assert!(s.starts_with("Sam knows Discovery"), "{s}");
        assert!(s.contains("pitch"), "{s}");
        assert!(advice(Quadrant::NotObserved, "Sam", "Closing").contains("ride-along"));
        assert_eq!(Quadrant::KnowsNotApplied.as_str(), "knows_not_applied");
        assert_eq!(NextAction::RideAlong.as_str(), "ride_along");
    }

    #[test]
    fn observations_are_checked_field_by_field() {
        let today = d(6, 30);
        let ok = ObservationInput::check(" Discovery ", 3, Some("  "), d(6, 29), today).unwrap();
        assert_eq!(
            (ok.topic.as_str(), ok.applied, ok.note),
            ("Discovery", 3, None)
        );
        let bad =
            ObservationInput::check("", 5, Some(&"x".repeat(2001)), d(7, 1), today).unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["topic", "applied", "note", "observed_on"]);
        let control = ObservationInput::check("Dis\u{0}covery", 2, Some("a\u{7}b"), d(6, 1), today)
            .unwrap_err();
        let fields: Vec<&str> = control.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["topic", "note"]);
        let lines = ObservationInput::check("Closing", 2, Some("one\ntwo"), d(6, 1), today);
        assert_eq!(lines.unwrap().note.as_deref(), Some("one\ntwo"));
        let old = ObservationInput::check(
            "Closing",
            1,
            None,
            d(6, 30) - chrono::Duration::days(400),
            today,
        )
        .unwrap_err();
        assert_eq!(old[0].field, "observed_on");
    }
}
