//! Today's queue for one learner: due reviews first (most overdue first), then new nuggets in
//! pack order, within each assignment's daily cap and the learner's own daily maximum.
//! Caps also spread a backlog after an absence over the following days.

use chrono::{DateTime, Utc};

/// A nugget the learner has met, due at `due`.
#[derive(Debug, Clone)]
pub struct DueNugget {
    pub nugget_id: String,
    pub assignment_id: String,
    pub due: DateTime<Utc>,
}

/// An active assignment's unmet nuggets in pack order and what it already delivered today.
#[derive(Debug, Clone)]
pub struct AssignmentSlots {
    pub assignment_id: String,
    pub daily_cap: usize,
    pub answered_today: usize,
    pub new_nuggets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub nugget_id: String,
    pub assignment_id: String,
    /// A review of a nugget met before, rather than a new one.
    pub review: bool,
}

/// Picks today's nuggets. `due` lists nuggets due by the end of today; `answered_today` are
/// nuggets already answered today (never repeated the same day); `daily_max` caps the whole
/// day across assignments, counting what was answered already.
pub fn build(
    mut due: Vec<DueNugget>,
    assignments: &[AssignmentSlots],
    answered_today: &[String],
    daily_max: Option<usize>,
) -> Vec<QueueItem> {
    let answered_total: usize = assignments.iter().map(|a| a.answered_today).sum();
    let mut room_total = daily_max
        .map(|m| m.saturating_sub(answered_total))
        .unwrap_or(usize::MAX);
    let mut room: Vec<(String, usize)> = assignments
        .iter()
        .map(|a| {
            (
                a.assignment_id.clone(),
                a.daily_cap.saturating_sub(a.answered_today),
            )
        })
        .collect();
    let mut take = |assignment: &str, room_total: &mut usize| -> bool {
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
    let mut queue = Vec::new();
    for d in due {
        if answered_today.contains(&d.nugget_id) {
            continue;
        }
        if take(&d.assignment_id, &mut room_total) {
            queue.push(QueueItem {
                nugget_id: d.nugget_id,
                assignment_id: d.assignment_id,
                review: true,
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
                review: false,
            });
        }
    }
    queue
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
            new_nuggets: new.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn due(id: &str, a: &str, day: u32) -> DueNugget {
        DueNugget {
            nugget_id: id.into(),
            assignment_id: a.into(),
            due: at(day),
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
        assert!(q[0].review && !q[2].review);
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
}
