//! Leaderboard points: what an answer earns, over which period, and how people and teams rank.
//!
//! Points reward learning, not volume. Only counted answers earn (the queue's, ADR 0014): a
//! practice answer (a repeat the same day, a nugget not due, a new nugget past the day's cap)
//! earns nothing, and of counted answers at most one per nugget and local day does. A counted
//! answer earns:
//!
//! - **on time**, [`ON_TIME`] points: given on or before the learner's local day on which the
//!   nugget was due (the due date the previous counted answer set, and at the earliest the day
//!   after that answer, since a nugget is asked once a day); a nugget met for the first time is
//!   on time, since the queue offered it that day. A late review earns none of these.
//! - **recall**, for a right answer to a nugget answered before: `round(5 × ln(1 + d))` where `d`
//!   is the days since the previous counted answer to it (1 day: 3, a week: 10, a month: 17,
//!   three months: 23), so remembering over a longer gap earns more.
//! - **knowledge gained**, [`KNOWLEDGE_GAINED`] points: the first right answer to a nugget whose
//!   first answer was wrong (its proficiency went from not known to known).
//!
//! Teams rank by the mean of their learners' points, learners who earned nothing counting as
//! zero, so a team of five and a team of fifty compete on the same footing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::calendar::local_midnight;

/// Points for a counted answer given on or before its nugget's due day.
pub const ON_TIME: u32 = 10;
/// Points for the first right answer to a nugget first answered wrong.
pub const KNOWLEDGE_GAINED: u32 = 15;
/// Scale of the recall points: `round(RECALL_SCALE × ln(1 + days))`.
pub const RECALL_SCALE: f64 = 5.0;

/// A counted answer, as the points rules read it.
#[derive(Debug, Clone)]
pub struct CountedAnswer {
    pub nugget_id: String,
    pub answered_at: DateTime<Utc>,
    pub correct: bool,
    /// When the answer made the nugget due next (none once it is mastered).
    pub due_after: Option<DateTime<Utc>>,
}

/// A learner's points over a period, by rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Points {
    pub total: u32,
    /// Answers given on or before their due day.
    pub on_time: u32,
    /// Right answers to reviews, more for longer gaps.
    pub recall: u32,
    /// First right answers to nuggets first answered wrong.
    pub knowledge_gained: u32,
    /// Counted answers in the period that earned (at most one per nugget and day).
    pub answers: u32,
}

impl Points {
    fn add(&mut self, on_time: u32, recall: u32, knowledge: u32) {
        self.on_time += on_time;
        self.recall += recall;
        self.knowledge_gained += knowledge;
        self.total += on_time + recall + knowledge;
        self.answers += 1;
    }
}

/// Recall points for a right answer `days` after the previous answer to the nugget.
pub fn recall_points(days: f64) -> u32 {
    (RECALL_SCALE * (1.0 + days.max(0.0)).ln()).round() as u32
}

/// The points a learner earned in `[start, end)`. `answers` are their counted answers up to `end`
/// (earlier ones give the previous due date, gap and first answer of each nugget), in any order;
/// `tz` is the learner's time zone, whose days decide "on time" and "once a day".
pub fn points(
    answers: &mut [CountedAnswer],
    tz: Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Points {
    answers.sort_by(|a, b| {
        a.nugget_id
            .cmp(&b.nugget_id)
            .then(a.answered_at.cmp(&b.answered_at))
    });
    let day = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    let mut total = Points::default();
    let mut i = 0;
    while i < answers.len() {
        let nugget = &answers[i].nugget_id;
        let run = answers[i..]
            .iter()
            .take_while(|a| &a.nugget_id == nugget)
            .count();
        let history = &answers[i..i + run];
        let first_wrong = !history[0].correct;
        let mut known = false;
        let mut previous: Option<&CountedAnswer> = None;
        let mut earned_on: Option<NaiveDate> = None;
        for a in history {
            if a.answered_at >= end {
                break;
            }
            let today = day(a.answered_at);
            let in_period = a.answered_at >= start && earned_on != Some(today);
            if in_period {
                let on_time = match previous {
                    None => true,
                    // A nugget is asked once a day: one due again the same day (a wrong
                    // answer's short relearning step) is due the next.
                    Some(p) => match p.due_after {
                        Some(due) => today <= day(due).max(day(p.answered_at) + Duration::days(1)),
                        // Mastered: not due again, so answering it was not asked for on a day.
                        None => false,
                    },
                };
                let recall = match previous {
                    Some(p) if a.correct => {
                        let gap = (a.answered_at - p.answered_at).num_seconds() as f64 / 86_400.0;
                        recall_points(gap)
                    }
                    _ => 0,
                };
                let knowledge = if a.correct && first_wrong && !known {
                    KNOWLEDGE_GAINED
                } else {
                    0
                };
                total.add(if on_time { ON_TIME } else { 0 }, recall, knowledge);
                earned_on = Some(today);
            }
            known |= a.correct;
            previous = Some(a);
        }
        i += run;
    }
    total
}

/// The period a leaderboard covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    /// The ISO week (Monday to Sunday) of now, in the organization's time zone.
    Week,
    /// The calendar month of now, in the organization's time zone.
    Month,
}

/// `[start, end)` of the week or month containing `now` in `tz`.
pub fn period_bounds(
    kind: PeriodKind,
    tz: Tz,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let (first, next) = match kind {
        PeriodKind::Week => {
            let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
            (monday, monday + Duration::days(7))
        }
        PeriodKind::Month => {
            let first = today.with_day(1).expect("the first exists");
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .expect("a first of the month exists");
            (first, next)
        }
    };
    (local_midnight(tz, first), local_midnight(tz, next))
}

/// Competition ranks ("1, 2, 2, 4") of scores given in descending order.
pub fn ranks(sorted_desc: &[f64]) -> Vec<u32> {
    let mut out = Vec::with_capacity(sorted_desc.len());
    for (i, s) in sorted_desc.iter().enumerate() {
        let rank = if i > 0 && (sorted_desc[i - 1] - s).abs() < 1e-9 {
            out[i - 1]
        } else {
            i as u32 + 1
        };
        out.push(rank);
    }
    out
}

/// A team's score: the mean of its learners' points, every learner counting (zero when they
/// earned nothing); `None` for a team without learners.
pub fn team_mean(member_points: &[u32]) -> Option<f64> {
    (!member_points.is_empty())
        .then(|| member_points.iter().map(|&p| p as f64).sum::<f64>() / member_points.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn answer(
        n: &str,
        when: DateTime<Utc>,
        correct: bool,
        due: Option<DateTime<Utc>>,
    ) -> CountedAnswer {
        CountedAnswer {
            nugget_id: n.into(),
            answered_at: when,
            correct,
            due_after: due,
        }
    }

    #[test]
    fn recall_grows_with_the_log_of_the_gap() {
        assert_eq!(
            [0.0, 1.0, 7.0, 30.0, 90.0].map(recall_points),
            [0, 3, 10, 17, 23]
        );
    }

    #[test]
    fn a_first_answer_is_on_time_and_a_late_review_earns_only_its_recall() {
        let mut answers = vec![
            answer("a", at(2, 8), true, Some(at(4, 8))),
            // Due on the 4th, answered on the 6th: late.
            answer("a", at(6, 8), true, Some(at(20, 8))),
            answer("b", at(2, 9), true, Some(at(5, 8))),
            // Due on the 5th, answered on the 5th: on time, four days after.
            answer("b", at(6, 7) - Duration::days(1), true, None),
        ];
        let p = points(&mut answers, Tz::UTC, at(1, 0), at(30, 0));
        assert_eq!(p.answers, 4);
        assert_eq!(p.on_time, 3 * ON_TIME);
        assert_eq!(
            p.recall,
            recall_points(4.0) + recall_points(2.0 + 22.0 / 24.0)
        );
        assert_eq!(p.knowledge_gained, 0);
        assert_eq!(p.total, p.on_time + p.recall);
    }

    #[test]
    fn a_nugget_due_again_the_same_day_is_on_time_the_next_day() {
        let mut answers = vec![
            answer("a", at(2, 8), false, Some(at(2, 8) + Duration::minutes(10))),
            answer("a", at(3, 9), true, Some(at(6, 8))),
            answer("b", at(2, 9), false, Some(at(2, 9) + Duration::minutes(10))),
            answer("b", at(4, 9), true, Some(at(9, 8))),
        ];
        let p = points(&mut answers, Tz::UTC, at(1, 0), at(30, 0));
        // Both first answers, and "a" the next day; "b" two days on is late.
        assert_eq!(p.on_time, 3 * ON_TIME);
    }

    #[test]
    fn knowledge_gained_once_when_a_wrong_first_answer_is_put_right() {
        let mut answers = vec![
            answer("a", at(2, 8), false, Some(at(2, 18))),
            answer("a", at(3, 8), true, Some(at(6, 8))),
            answer("a", at(6, 8), true, Some(at(20, 8))),
        ];
        let p = points(&mut answers, Tz::UTC, at(1, 0), at(30, 0));
        assert_eq!(p.knowledge_gained, KNOWLEDGE_GAINED);
        // The wrong first answer is on time but earns no recall.
        assert_eq!(p.recall, recall_points(1.0) + recall_points(3.0));
    }

    #[test]
    fn only_answers_in_the_period_earn_and_once_a_day_per_nugget() {
        let mut answers = vec![
            answer("a", at(2, 8), true, Some(at(3, 8))),
            answer("a", at(3, 8), true, Some(at(3, 12))),
            answer("a", at(3, 13), true, Some(at(9, 8))),
        ];
        let p = points(&mut answers, Tz::UTC, at(3, 0), at(4, 0));
        assert_eq!(p.answers, 1, "the day's second answer earns nothing");
        assert_eq!(p.total, ON_TIME + recall_points(1.0));
    }

    #[test]
    fn on_time_is_judged_on_the_learners_local_day() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // Due 23:30 UTC on the 3rd = the 4th in Paris; answered 22:00 UTC on the 4th = 23:00
        // Paris, still the 4th: on time there, though late by UTC dates.
        let mut answers = vec![
            answer("a", at(2, 8), true, Some(at(3, 23) + Duration::minutes(30))),
            answer("a", at(4, 22), true, None),
        ];
        let p = points(&mut answers, paris, at(4, 0), at(5, 0));
        assert_eq!(p.on_time, ON_TIME);
        let p = points(&mut answers, Tz::UTC, at(4, 0), at(5, 0));
        assert_eq!(p.on_time, 0);
    }

    #[test]
    fn weeks_and_months_in_the_zone() {
        let (s, e) = period_bounds(PeriodKind::Week, Tz::UTC, at(5, 12));
        assert_eq!((s, e), (at(2, 0), at(9, 0)));
        let (s, e) = period_bounds(PeriodKind::Month, Tz::UTC, at(5, 12));
        assert_eq!(s, at(1, 0));
        assert_eq!(e, Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap());
        let (s, _) = period_bounds(
            PeriodKind::Month,
            Tz::UTC,
            Utc.with_ymd_and_hms(2026, 12, 9, 0, 0, 0).unwrap(),
        );
        assert_eq!(s, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn ties_share_a_rank_and_teams_count_everyone() {
        assert_eq!(ranks(&[30.0, 20.0, 20.0, 5.0]), vec![1, 2, 2, 4]);
        assert_eq!(team_mean(&[30, 0, 0]), Some(10.0));
        assert_eq!(team_mean(&[]), None);
    }
}
