//! Refreshers: nuggets a manager puts back into learners' queues, spread over the next days
//! within each learner's daily cap, and what makes a learner × nugget pair eligible.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::scheduler::CardStatus;
use super::validation::{Errors, FieldError};

/// Longest spread of a refresher, in days.
pub const MAX_DAYS: u32 = 30;
/// Most learners a refresher names.
pub const MAX_LEARNERS: usize = 500;
/// Most nuggets a refresher names.
pub const MAX_NUGGETS: usize = 100;

/// Why a learner × nugget pair was left out of a refresher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Skipped {
    /// The nugget is in no pack of an assignment that reaches the learner now.
    NotAssigned,
    /// The learner has not met the nugget yet: it comes as a new nugget in pack order.
    NotMet,
    /// The nugget is retired, or suspended for the learner.
    Retired,
}

/// Whether a learner's memory state of a nugget can be refreshed: met before, and neither retired
/// by its organization nor suspended. A mastered nugget comes back as a review.
pub fn eligibility(status: Option<CardStatus>, retired: bool) -> Result<(), Skipped> {
    match status {
        _ if retired => Err(Skipped::Retired),
        None | Some(CardStatus::New) => Err(Skipped::NotMet),
        Some(CardStatus::Suspended) => Err(Skipped::Retired),
        Some(CardStatus::Learning | CardStatus::Review | CardStatus::Mastered) => Ok(()),
    }
}

/// The local days on which `count` nuggets fall due, starting `today`, spread evenly over `days`
/// with at most `per_day` on a day; `Err` with the fewest days that would do when they do not fit.
pub fn spread(
    count: usize,
    days: u32,
    per_day: usize,
    today: NaiveDate,
) -> Result<Vec<NaiveDate>, u32> {
    let per_day = per_day.max(1);
    let days = days.max(1) as usize;
    if count > days * per_day {
        return Err(count.div_ceil(per_day) as u32);
    }
    Ok((0..count)
        .map(|i| today + Duration::days((i * days / count.max(1)) as i64))
        .collect())
}

/// Checks the spread of a refresher's request.
pub fn check_days(days: i64) -> Result<u32, FieldError> {
    if (1..=MAX_DAYS as i64).contains(&days) {
        Ok(days as u32)
    } else {
        Err(FieldError::new(
            "days",
            format!("must be between 1 and {MAX_DAYS}"),
        ))
    }
}

/// Checks the length of the lists a refresher names (empty lists and too long ones).
pub fn check_lists(errs: &mut Errors, learners: Option<usize>, nuggets: Option<usize>) {
    if let Some(n) = learners {
        if n == 0 || n > MAX_LEARNERS {
            errs.add(
                "learner_ids",
                format!("list between 1 and {MAX_LEARNERS} learners"),
            );
        }
    }
    if let Some(n) = nuggets {
        if n == 0 || n > MAX_NUGGETS {
            errs.add(
                "nugget_ids",
                format!("list between 1 and {MAX_NUGGETS} nuggets"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn nuggets_spread_evenly_from_today_within_the_cap() {
        assert_eq!(
            spread(3, 3, 3, day(2)).unwrap(),
            vec![day(2), day(3), day(4)]
        );
        assert_eq!(
            spread(4, 2, 3, day(2)).unwrap(),
            vec![day(2), day(2), day(3), day(3)]
        );
        assert_eq!(spread(1, 5, 3, day(2)).unwrap(), vec![day(2)]);
        // Seven nuggets at three a day need three days.
        assert_eq!(spread(7, 2, 3, day(2)), Err(3));
        for n in 1..=30 {
            let days = spread(n, 10, 3, day(1)).unwrap();
            for d in &days {
                assert!(days.iter().filter(|x| *x == d).count() <= 3);
                assert!(*d < day(11));
            }
        }
    }

    #[test]
    fn only_met_and_scheduled_nuggets_are_refreshed() {
        assert_eq!(eligibility(Some(CardStatus::Review), false), Ok(()));
        assert_eq!(eligibility(Some(CardStatus::Mastered), false), Ok(()));
        assert_eq!(eligibility(None, false), Err(Skipped::NotMet));
        assert_eq!(
            eligibility(Some(CardStatus::Suspended), false),
            Err(Skipped::Retired)
        );
        assert_eq!(
            eligibility(Some(CardStatus::Review), true),
            Err(Skipped::Retired)
        );
        assert_eq!(check_days(0).unwrap_err().field, "days");
        assert_eq!(check_days(30), Ok(30));
    }
}
