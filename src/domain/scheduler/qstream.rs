//! Qstream's published fixed-interval rule, kept as a baseline policy: repeat a question about
//! three weeks after a wrong answer, six weeks after a right one, retire it after two right
//! answers in a row.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{CardState, CardStatus};

/// Qstream's spacing constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QstreamRule {
    pub wrong_days: u32,
    pub right_days: u32,
    pub retire_after_correct_in_row: u32,
}

impl Default for QstreamRule {
    fn default() -> Self {
        Self {
            wrong_days: 21,
            right_days: 42,
            retire_after_correct_in_row: 2,
        }
    }
}

impl QstreamRule {
    /// Status and due date for a card already updated by [`super::review`].
    pub(super) fn schedule(
        &self,
        card: &CardState,
        now: DateTime<Utc>,
    ) -> (CardStatus, Option<DateTime<Utc>>) {
        if card.correct_streak == 0 {
            (
                CardStatus::Learning,
                Some(now + Duration::days(i64::from(self.wrong_days))),
            )
        } else if card.correct_streak >= self.retire_after_correct_in_row {
            (CardStatus::Mastered, None)
        } else {
            (
                CardStatus::Review,
                Some(now + Duration::days(i64::from(self.right_days))),
            )
        }
    }

    /// The interval this rule set after the last answer, for turning it into a recall guess.
    pub fn interval_after(&self, correct: bool) -> u32 {
        if correct {
            self.right_days
        } else {
            self.wrong_days
        }
    }
}
