//! Turning a learner's answer into an FSRS rating.
//!
//! Nuggets are multiple choice, so there is no self-grading button: correctness, the
//! learner's stated confidence and the response time stand in for Anki's four buttons.

use serde::{Deserialize, Serialize};

/// The four FSRS grades; the discriminants are the crate's rating numbers (1..=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Again = 1,
    Hard = 2,
    Good = 3,
    Easy = 4,
}

impl Rating {
    /// The rating number `fsrs` expects.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// Inverse of [`Rating::as_u32`].
    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Again),
            2 => Some(Self::Hard),
            3 => Some(Self::Good),
            4 => Some(Self::Easy),
            _ => None,
        }
    }

    /// Whether the answer counts as recalled (everything but Again), the label FSRS predicts.
    pub fn is_recall(self) -> bool {
        self != Self::Again
    }
}

/// The learner's own "I was sure / I guessed" flag, asked after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Sure,
    Unsure,
}

/// Response-time limits that separate fluent from laboured answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradingThresholds {
    /// Answers strictly faster than this (and sure) are Easy.
    pub fast_ms: u32,
    /// Answers strictly slower than this are Hard even when right.
    pub slow_ms: u32,
}

impl Default for GradingThresholds {
    fn default() -> Self {
        Self {
            fast_ms: 8_000,
            slow_ms: 30_000,
        }
    }
}

/// Wrong is Again; right but unsure or slow is Hard; right, sure and fast is Easy; else Good.
pub fn rating_for(
    correct: bool,
    confidence: Option<Confidence>,
    response_ms: u32,
    thresholds: &GradingThresholds,
) -> Rating {
    if !correct {
        Rating::Again
    } else if confidence == Some(Confidence::Unsure) || response_ms > thresholds.slow_ms {
        Rating::Hard
    } else if confidence == Some(Confidence::Sure) && response_ms < thresholds.fast_ms {
        Rating::Easy
    } else {
        Rating::Good
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Confidence::{Sure, Unsure};

    #[test]
    fn rating_table() {
        let t = GradingThresholds::default();
        let cases = [
            (false, Some(Sure), 1_000, Rating::Again),
            (false, None, 40_000, Rating::Again),
            (true, Some(Unsure), 1_000, Rating::Hard),
            (true, Some(Sure), 30_001, Rating::Hard),
            (true, None, 31_000, Rating::Hard),
            (true, Some(Sure), 7_999, Rating::Easy),
            (true, Some(Sure), 8_000, Rating::Good),
            (true, Some(Sure), 30_000, Rating::Good),
            (true, None, 1_000, Rating::Good),
        ];
        for (correct, confidence, ms, expected) in cases {
            assert_eq!(
                rating_for(correct, confidence, ms, &t),
                expected,
                "{correct} {confidence:?} {ms}"
            );
        }
    }

    #[test]
    fn rating_numbers_round_trip() {
        for r in [Rating::Again, Rating::Hard, Rating::Good, Rating::Easy] {
            assert_eq!(Rating::from_u32(r.as_u32()), Some(r));
        }
        assert_eq!(Rating::from_u32(0), None);
    }
}
