//! Today's queue for one learner: an experiment's open probes first, then due reviews (most
//! overdue first), then new nuggets in pack order, within each assignment's daily cap and the
//! learner's own daily maximum.
//! Caps also spread a backlog after an absence over the following days.
//!
//! The same rules decide whether an answer counts (see [`practice_reason`]): only an answer to a
//! nugget the queue would serve that day moves the memory state, the schedule and the figures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::LocalDay;
use super::ids::{AssignmentId, NuggetId};
use super::scheduler::{CardState, CardStatus};

/// A nugget the learner has met, due at `due`.
#[derive(Debug, Clone)]
pub struct DueNugget {
    pub nugget_id: NuggetId,
    pub assignment_id: AssignmentId,
    pub due: DateTime<Utc>,
    /// Still being learnt (a recent wrong answer, or first steps): back soon to refresh it.
    pub refresh: bool,
    /// Brought forward by the planner because, without it, recall would be below target on the
    /// assignment's target date or at its horizon's end.
    pub at_risk: bool,
}

/// An active assignment's unmet nuggets in pack order and what it already delivered today.
#[derive(Debug, Clone)]
pub struct AssignmentSlots {
    pub assignment_id: AssignmentId,
    pub daily_cap: usize,
    pub answered_today: usize,
    pub new_nuggets: Vec<NuggetId>,
    /// Probes open today for the experiment running on the assignment (`experiments::probes`).
    pub probes: Vec<NuggetId>,
}

/// Why a nugget is in today's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = QueueReason)]
pub enum Reason {
    /// Met before and due by its schedule.
    Due,
    /// Never met: next in pack order.
    New,
    /// Met before and still being learnt (answered wrong recently, or in its first steps): back
    /// soon by its schedule to refresh it.
    Refresh,
    /// Met before, in a planner assignment, and predicted to be below 80 % recall on the
    /// assignment's target date (or at its horizon's end) without another question.
    AtRisk,
    /// An experiment's probe: a nugget met before, drawn at random whatever its schedule, to
    /// measure what is retained.
    Probe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub nugget_id: NuggetId,
    pub assignment_id: AssignmentId,
    pub reason: Reason,
}

impl QueueItem {
    /// A nugget met before, rather than a new one.
    pub fn review(&self) -> bool {
        self.reason != Reason::New
    }
}

/// Picks today's nuggets. `due` lists nuggets due by the end of today; `answered_today` are
/// nuggets already answered today (never repeated the same day); `daily_max` caps the whole
/// day across assignments, counting what was answered already.
pub fn build(
    mut due: Vec<DueNugget>,
    assignments: &[AssignmentSlots],
    answered_today: &[NuggetId],
    daily_max: Option<usize>,
) -> Vec<QueueItem> {
    let answered_total: usize = assignments.iter().map(|a| a.answered_today).sum();
    let mut room_total = daily_max
        .map(|m| m.saturating_sub(answered_total))
        .unwrap_or(usize::MAX);
    let mut room: Vec<(AssignmentId, usize)> = assignments
        .iter()
        .map(|a| {
            (
                a.assignment_id.clone(),
                a.daily_cap.saturating_sub(a.answered_today),
            )
        })
        .collect();
    let mut take = |assignment: &AssignmentId, room_total: &mut usize| -> bool {
        match room.iter_mut().find(|(id, _)| id == assignment) {
            Some((_, left)) if *left > 0 && *room_total > 0 => {
                *left -= 1;
                *room_total -= 1;
                true
            }
            _ => false,
        }
    };
    due.sort_by(|a, b| {
        a.due
            .cmp(&b.due)
            .then_with(|| a.nugget_id.cmp(&b.nugget_id))
    });
    let mut queue: Vec<QueueItem> = Vec::new();
    // A probe takes its place within the caps, so measuring adds nothing to the day's effort.
    for a in assignments {
        for n in &a.probes {
            if answered_today.contains(n) || queue.iter().any(|q| &q.nugget_id == n) {
                continue;
            }
            if take(&a.assignment_id, &mut room_total) {
                queue.push(QueueItem {
                    nugget_id: n.clone(),
                    assignment_id: a.assignment_id.clone(),
                    reason: Reason::Probe,
                });
            }
        }
    }
    for d in due {
        if answered_today.contains(&d.nugget_id) || queue.iter().any(|q| q.nugget_id == d.nugget_id)
        {
            continue;
        }
        if take(&d.assignment_id, &mut room_total) {
            queue.push(QueueItem {
                nugget_id: d.nugget_id,
                assignment_id: d.assignment_id,
                reason: if d.at_risk {
                    Reason::AtRisk
                } else if d.refresh {
                    Reason::Refresh
                } else {
                    Reason::Due
                },
            });
        }
    }
    for a in assignments {
        for n in &a.new_nuggets {
            if answered_today.contains(n) || queue.iter().any(|q| &q.nugget_id == n) {
                continue;
            }
            if !take(&a.assignment_id, &mut room_total) {
                break;
            }
            queue.push(QueueItem {
                nugget_id: n.clone(),
                assignment_id: a.assignment_id.clone(),
                reason: Reason::New,
            });
        }
    }
    queue
}

/// Whether an answer to an open probe counts: always, once a day. A probe is drawn whatever the
/// schedule, so neither the due date nor the caps (the probe took its slot within them) apply.
pub fn probe_practice_reason(card: &CardState, day: &LocalDay) -> Option<PracticeReason> {
    card.last_review
        .is_some_and(|at| at >= day.start)
        .then_some(PracticeReason::AnsweredToday)
}

/// Why an answer was practice: graded and kept, but not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PracticeReason {
    /// The nugget already had a counted answer on the learner's local day of this one.
    AnsweredToday,
    /// The nugget was not due by the end of that day, or is not scheduled at all (mastered or
    /// suspended).
    NotDue,
    /// A new nugget past the day's allowance: counted answers had reached its assignment's
    /// daily cap or the learner's daily maximum.
    OverDailyCap,
}

impl PracticeReason {
    /// The name stored with the answer and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnsweredToday => "answered_today",
            Self::NotDue => "not_due",
            Self::OverDailyCap => "over_daily_cap",
        }
    }

    /// Inverse of [`PracticeReason::as_str`].
    pub fn parse(value: &str) -> Option<Self> {
        [Self::AnsweredToday, Self::NotDue, Self::OverDailyCap]
            .into_iter()
            .find(|r| r.as_str() == value)
    }
}

/// What a learner's day already counted, for the allowance of a nugget met for the first time.
#[derive(Debug, Clone, Copy, Default)]
pub struct DayAllowance {
    pub daily_cap: usize,
    /// Counted answers that day in the nugget's assignment.
    pub counted_in_assignment: usize,
    pub daily_max: Option<usize>,
    /// Counted answers that day in every assignment.
    pub counted_total: usize,
}

/// The nugget an answer is to, as the counting rule needs it.
pub enum Seen<'a> {
    /// Counted before: its memory state as the answer found it.
    Before(&'a CardState),
    /// Never counted: what the day counted so far (read only for such nuggets, so a review
    /// costs no read).
    First(DayAllowance),
}

/// Whether an answer counts, `None`, or why it is practice; `day` is the learner's local day of
/// the answer's trusted time.
///
/// The rule is the queue's, decided from the memory state instead of rebuilding the queue: the
/// queue serves a nugget met before when it is due by the end of the day and was not answered
/// that day, and a new nugget while the day's caps have room. Practice answers never touch the
/// memory state, so its last review is the last *counted* answer, and "already counted today"
/// is that review falling on the day. Deliberately not checked: the order the queue serves in,
/// the caps for due reviews (a learner clearing a backlog faster than the caps spread it gives
/// real reviews, each at or after its due time), and pauses and quiet weekdays (they stop
/// Reprise from asking, not a learner from reviewing what is due).
pub fn practice_reason(seen: Seen<'_>, day: &LocalDay) -> Option<PracticeReason> {
    match seen {
        Seen::Before(card) => {
            if card.last_review.is_some_and(|at| at >= day.start) {
                return Some(PracticeReason::AnsweredToday);
            }
            let scheduled = matches!(card.status, CardStatus::Learning | CardStatus::Review);
            match card.due {
                Some(due) if scheduled && due < day.end => None,
                _ => Some(PracticeReason::NotDue),
            }
        }
        Seen::First(a) => {
            let capped = a.counted_in_assignment >= a.daily_cap
                || a.daily_max.is_some_and(|m| a.counted_total >= m);
            capped.then_some(PracticeReason::OverDailyCap)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 8, 0, 0).unwrap()
    }

    fn slots(id: &str, cap: usize, answered: usize, new: &[&str]) -> AssignmentSlots {
        AssignmentSlots {
            assignment_id: id.into(),
            daily_cap: cap,
            answered_today: answered,
            new_nuggets: new.iter().map(|s| NuggetId::from(*s)).collect(),
            probes: Vec::new(),
        }
    }

    fn due(id: &str, a: &str, day: u32) -> DueNugget {
        DueNugget {
            at_risk: false,
            nugget_id: id.into(),
            assignment_id: a.into(),
            due: at(day),
            refresh: false,
        }
    }

    fn ids(q: &[QueueItem]) -> Vec<&str> {
        q.iter().map(|i| i.nugget_id.as_str()).collect()
    }

    #[test]
    fn most_overdue_reviews_come_first_then_new_in_order() {
        let q = build(
            vec![due("r2", "A", 5), due("r1", "A", 2)],
            &[slots("A", 4, 0, &["n1", "n2", "n3"])],
            &[],
            None,
        );
        assert_eq!(ids(&q), vec!["r1", "r2", "n1", "n2"]);
        assert!(q[0].review() && !q[2].review());
        assert_eq!((q[0].reason, q[2].reason), (Reason::Due, Reason::New));
    }

    #[test]
    fn probes_come_first_within_the_cap_and_learning_nuggets_are_refreshes() {
        let mut learning = due("r1", "A", 2);
        learning.refresh = true;
        let mut a = slots("A", 3, 0, &["n1", "n2"]);
        a.probes = vec!["p1".into(), "r2".into()];
        let q = build(vec![learning, due("r2", "A", 3)], &[a], &[], None);
        assert_eq!(ids(&q), vec!["p1", "r2", "r1"]);
        let reasons: Vec<Reason> = q.iter().map(|i| i.reason).collect();
        assert_eq!(reasons, vec![Reason::Probe, Reason::Probe, Reason::Refresh]);
    }

    #[test]
    fn caps_spread_a_backlog_and_count_todays_answers() {
        let backlog: Vec<DueNugget> = (1..=9).map(|d| due(&format!("r{d}"), "A", d)).collect();
        let q = build(backlog.clone(), &[slots("A", 3, 0, &["n1"])], &[], None);
        assert_eq!(ids(&q), vec!["r1", "r2", "r3"]);
        let q = build(
            backlog,
            &[slots("A", 3, 2, &["n1"])],
            &["r1".into(), "r2".into()],
            None,
        );
        assert_eq!(ids(&q), vec!["r3"]);
    }

    #[test]
    fn the_daily_maximum_caps_all_assignments_together() {
        let q = build(
            vec![],
            &[
                slots("A", 3, 0, &["a1", "a2", "a3"]),
                slots("B", 3, 1, &["b1", "b2"]),
            ],
            &[],
            Some(4),
        );
        assert_eq!(ids(&q), vec!["a1", "a2", "a3"]);
    }

    fn day(d: u32) -> LocalDay {
        LocalDay {
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap(),
            start: Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, d + 1, 0, 0, 0).unwrap(),
        }
    }

    fn reviewed(last: DateTime<Utc>, due: DateTime<Utc>, status: CardStatus) -> CardState {
        CardState {
            status,
            last_review: Some(last),
            due: Some(due),
            reps: 1,
            ..CardState::default()
        }
    }

    #[test]
    fn a_due_nugget_counts_once_a_day() {
        let card = reviewed(at(2), at(5), CardStatus::Review);
        assert_eq!(practice_reason(Seen::Before(&card), &day(5)), None);
        // Due later on the day the answer falls on: the queue serves it that morning.
        let later = reviewed(
            at(2),
            at(5) + chrono::Duration::hours(10),
            CardStatus::Review,
        );
        assert_eq!(practice_reason(Seen::Before(&later), &day(5)), None);
        // Overdue counts too.
        assert_eq!(practice_reason(Seen::Before(&card), &day(9)), None);
        // Once counted today (even if a wrong answer made it due again within the day), the
        // day's other answers are practice.
        let again = reviewed(at(5), at(5), CardStatus::Learning);
        assert_eq!(
            practice_reason(Seen::Before(&again), &day(5)),
            Some(PracticeReason::AnsweredToday)
        );
        assert_eq!(practice_reason(Seen::Before(&again), &day(6)), None);
    }

    #[test]
    fn a_nugget_not_due_or_not_scheduled_is_practice() {
        let card = reviewed(at(2), at(6), CardStatus::Review);
        assert_eq!(
            practice_reason(Seen::Before(&card), &day(5)),
            Some(PracticeReason::NotDue)
        );
        for status in [CardStatus::Mastered, CardStatus::Suspended] {
            let retired = CardState {
                due: None,
                ..reviewed(at(2), at(3), status)
            };
            assert_eq!(
                practice_reason(Seen::Before(&retired), &day(5)),
                Some(PracticeReason::NotDue)
            );
        }
    }

    #[test]
    fn new_nuggets_count_within_the_days_allowance() {
        let room = DayAllowance {
            daily_cap: 3,
            counted_in_assignment: 2,
            daily_max: Some(5),
            counted_total: 4,
        };
        assert_eq!(practice_reason(Seen::First(room), &day(5)), None);
        let cap_reached = DayAllowance {
            counted_in_assignment: 3,
            ..room
        };
        let max_reached = DayAllowance {
            counted_total: 5,
            ..room
        };
        for full in [cap_reached, max_reached] {
            assert_eq!(
                practice_reason(Seen::First(full), &day(5)),
                Some(PracticeReason::OverDailyCap)
            );
        }
        let no_max = DayAllowance {
            daily_max: None,
            counted_total: 50,
            ..room
        };
        assert_eq!(practice_reason(Seen::First(no_max), &day(5)), None);
    }

    #[test]
    fn practice_reasons_round_trip_their_names() {
        for r in [
            PracticeReason::AnsweredToday,
            PracticeReason::NotDue,
            PracticeReason::OverDailyCap,
        ] {
            assert_eq!(PracticeReason::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
