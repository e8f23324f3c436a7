//! Recall weeks, the pure part. A recall week is the mean predicted recall of a scope at the end
//! of an ISO week (UTC), the trends view's proficiency; ended weeks are kept as per-learner
//! snapshots. Here: which weeks are kept, which of them an answer changes, and the recall a
//! learner × nugget history gives at each week's end.
//!
//! A week is read at its end, the Monday midnight after it, and counts every answer up to and
//! including that instant. Once a week has ended and settled it only changes through an answer
//! back-dated into it, so its per-learner sums can be kept.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::analytics::week_start;
use super::scheduler::ForgettingCurve;

/// Weeks kept: the trends view's longest window.
pub const WEEKS_KEPT: i64 = 104;

/// How long after its end a week is first snapshotted: answers recorded just before midnight
/// are committed, and instances whose clocks differ by less than this agree the week is over.
pub fn settling() -> Duration {
    Duration::minutes(10)
}

/// The instant a week is read at: the Monday midnight that ends it.
pub fn week_end(start: NaiveDate) -> DateTime<Utc> {
    (start + Duration::days(7))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// The first week whose snapshot an answer at `t` changes: the week it falls in, or the one
/// before when `t` is exactly the midnight that ends that week.
pub fn first_week_affected(t: NaiveDateTime) -> NaiveDate {
    week_start((t - Duration::nanoseconds(1)).date())
}

/// Whether an answer at `t`, recorded at `now`, changes a week that may already be snapshotted
/// (any week before the current one). Almost every answer falls in the current week: false.
pub fn changes_past_week(t: NaiveDateTime, now: DateTime<Utc>) -> bool {
    first_week_affected(t) < week_start(now.date_naive())
}

/// The weeks an organization keeps snapshots of at `now`: the last [`WEEKS_KEPT`] weeks that
/// ended at least [`settling`] ago, oldest first. Weeks before the first answer are kept too
/// (empty): marking them done once is cheaper than finding the first answer on every pass.
pub fn kept_weeks(now: DateTime<Utc>) -> Vec<NaiveDate> {
    let last = week_start((now - settling()).date_naive()) - Duration::weeks(1);
    (0..WEEKS_KEPT)
        .rev()
        .map(|i| last - Duration::weeks(i))
        .collect()
}

/// Kept weeks without a complete snapshot for the current curve: `done` holds the weeks marked
/// complete with the decay of the curve they were computed with.
pub fn missing_weeks(
    now: DateTime<Utc>,
    done: &[(NaiveDate, f64)],
    curve: &ForgettingCurve,
) -> Vec<NaiveDate> {
    kept_weeks(now)
        .into_iter()
        .filter(|w| !done.iter().any(|(d, decay)| d == w && curve.is(*decay)))
        .collect()
}

/// Calls `add(i, recall)` for every instant `ends[i]` (ascending) at or after the first answer
/// of one learner × nugget history (oldest first): the recall predicted then from the last
/// answer at or before it. `at` gives an answer's time and the stability it left.
pub fn recall_at_ends<T>(
    curve: &ForgettingCurve,
    history: &[T],
    at: impl Fn(&T) -> (NaiveDateTime, f64),
    ends: &[DateTime<Utc>],
    mut add: impl FnMut(usize, f64),
) {
    for (i, end) in ends.iter().enumerate() {
        let before = history.partition_point(|a| at(a).0.and_utc() <= *end);
        let Some(last) = before.checked_sub(1).map(|k| &history[k]) else {
            continue;
        };
        let (answered_at, stability) = at(last);
        add(i, curve.recall_at(stability, answered_at.and_utc(), *end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        day(y, m, d).and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn a_week_ends_at_the_next_monday_midnight_and_counts_answers_at_it() {
        // 2026-03-02 is a Monday.
        assert_eq!(
            week_end(day(2026, 3, 2)),
            Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap()
        );
        assert_eq!(first_week_affected(at(2026, 3, 4, 12, 0)), day(2026, 3, 2));
        assert_eq!(first_week_affected(at(2026, 3, 8, 23, 59)), day(2026, 3, 2));
        // Exactly midnight: the week that ends then already counts it.
        assert_eq!(first_week_affected(at(2026, 3, 9, 0, 0)), day(2026, 3, 2));
        assert_eq!(first_week_affected(at(2026, 3, 9, 0, 1)), day(2026, 3, 9));
    }

    #[test]
    fn only_answers_before_the_current_week_change_the_past() {
        let now = Utc.with_ymd_and_hms(2026, 3, 11, 9, 0, 0).unwrap();
        assert!(!changes_past_week(at(2026, 3, 11, 8, 0), now));
        assert!(!changes_past_week(at(2026, 3, 9, 0, 1), now));
        assert!(changes_past_week(at(2026, 3, 9, 0, 0), now));
        assert!(changes_past_week(at(2026, 3, 6, 17, 0), now));
    }

    #[test]
    fn kept_weeks_end_with_the_last_settled_week() {
        let now = Utc.with_ymd_and_hms(2026, 3, 11, 9, 0, 0).unwrap();
        let weeks = kept_weeks(now);
        assert_eq!(weeks.len(), WEEKS_KEPT as usize);
        assert_eq!(*weeks.last().unwrap(), day(2026, 3, 2));
        assert_eq!(weeks[0], day(2026, 3, 2) - Duration::weeks(WEEKS_KEPT - 1));
        // Five minutes after Monday midnight the week just ended is not settled yet.
        let early = Utc.with_ymd_and_hms(2026, 3, 9, 0, 5, 0).unwrap();
        assert_eq!(*kept_weeks(early).last().unwrap(), day(2026, 2, 23));
        let later = Utc.with_ymd_and_hms(2026, 3, 9, 0, 10, 0).unwrap();
        assert_eq!(*kept_weeks(later).last().unwrap(), day(2026, 3, 2));
    }

    #[test]
    fn missing_weeks_are_those_not_done_with_this_curve() {
        let now = Utc.with_ymd_and_hms(2026, 3, 11, 9, 0, 0).unwrap();
        let curve = ForgettingCurve::new(&[]);
        let kept = kept_weeks(now);
        let mut done: Vec<(NaiveDate, f64)> = kept.iter().map(|w| (*w, curve.decay())).collect();
        assert!(missing_weeks(now, &done, &curve).is_empty());
        done.remove(3);
        done[5].1 += 0.1;
        assert_eq!(missing_weeks(now, &done, &curve), vec![kept[3], kept[6]]);
        // A week outside the kept window does not make one inside done.
        assert_eq!(missing_weeks(now, &[], &curve), kept);
    }

    #[test]
    fn recall_at_each_end_comes_from_the_last_answer_by_then() {
        let curve = ForgettingCurve::new(&[]);
        let history = [(at(2026, 3, 3, 8, 0), 2.0), (at(2026, 3, 9, 0, 0), 10.0)];
        let ends = [
            Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 16, 0, 0, 0).unwrap(),
        ];
        let mut got = Vec::new();
        recall_at_ends(&curve, &history, |a| *a, &ends, |i, r| got.push((i, r)));
        assert_eq!(got.len(), 2, "nothing before the first answer");
        assert_eq!(got[0], (1, 1.0), "answered at the very end: full recall");
        let expected = curve.recall_at(10.0, ends[1], ends[2]);
        assert_eq!(got[1], (2, expected));
    }
}
