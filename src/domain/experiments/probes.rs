//! Probes: an unbiased measure of retention. A few times a week (the experiment's
//! `probes_per_week`) a learner is asked a nugget they have seen, drawn at random whatever its
//! schedule says, so the share answered right estimates what the arm's learners still know; a
//! scheduled review would not (it is asked when the policy expects forgetting).
//!
//! Which day and which nugget are a function of the experiment, the learner, the ISO week and the
//! memory states, so the queue read computes them without writing anything and the answer
//! recognises its probe the same way. A probe drawn for a day stays offered until answered or
//! until the week ends, so a day without opening the app does not lose it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::seed_of;
use crate::domain::calendar::local_midnight;
use crate::domain::ids::NuggetId;

/// What decides a learner's probes in one experiment.
#[derive(Debug, Clone, Copy)]
pub struct ProbePlan<'a> {
    pub experiment_id: &'a str,
    pub learner_id: &'a str,
    pub probes_per_week: u32,
    /// No probe is drawn before the experiment started.
    pub started_at: DateTime<Utc>,
}

/// A nugget of the experiment's assignment the learner has met, as the memory state has it.
#[derive(Debug, Clone, Copy)]
pub struct Met<'a> {
    pub nugget_id: &'a NuggetId,
    pub first_answered_at: DateTime<Utc>,
    pub last_review: Option<DateTime<Utc>>,
}

/// The probes open on `today` (the learner's local date in `tz`): drawn for a day of this ISO
/// week up to today, among the nuggets met before that day began, and not answered since.
pub fn open_probes(
    plan: &ProbePlan<'_>,
    tz: Tz,
    today: NaiveDate,
    met: &[Met<'_>],
) -> Vec<NuggetId> {
    let week = today.iso_week();
    let week_tag = format!("{}-W{:02}", week.year(), week.week());
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let mut days: Vec<u32> = (0..7).collect();
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed_of(&[plan.experiment_id, plan.learner_id, &week_tag]));
    days.shuffle(&mut rng);
    let mut slots: Vec<(u32, usize)> = days
        .into_iter()
        .take(plan.probes_per_week.min(7) as usize)
        .enumerate()
        .map(|(k, d)| (d, k))
        .collect();
    slots.sort_unstable();
    let mut met: Vec<&Met<'_>> = met.iter().collect();
    met.sort_by(|a, b| a.nugget_id.cmp(b.nugget_id));
    let mut drawn: Vec<&NuggetId> = Vec::new();
    let mut open = Vec::new();
    for (day, slot) in slots {
        let date = monday + Duration::days(i64::from(day));
        if date > today {
            break;
        }
        let from = local_midnight(tz, date).max(plan.started_at);
        if from >= local_midnight(tz, monday + Duration::days(7)) {
            continue;
        }
        let candidates: Vec<&&Met<'_>> = met
            .iter()
            .filter(|m| m.first_answered_at < from && !drawn.contains(&m.nugget_id))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let slot_tag = slot.to_string();
        let pick = seed_of(&[plan.experiment_id, plan.learner_id, &week_tag, &slot_tag]);
        let chosen = candidates[(pick % candidates.len() as u64) as usize];
        drawn.push(chosen.nugget_id);
        if chosen.last_review.is_none_or(|at| at < from) {
            open.push(chosen.nugget_id.clone());
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 9, 0, 0).unwrap()
    }

    #[test]
    fn about_one_probe_a_week_among_nuggets_met_and_answered_once() {
        let ids: Vec<NuggetId> = (0..6)
            .map(|i| NuggetId::from(format!("n{i}").as_str()))
            .collect();
        let plan = ProbePlan {
            experiment_id: "e",
            learner_id: "l",
            probes_per_week: 1,
            started_at: at(1),
        };
        // Met on 1 March, never reviewed since: over a week of 2–8 March, the probe opens on
        // its drawn day and stays open to the week's end.
        let met: Vec<Met<'_>> = ids
            .iter()
            .map(|n| Met {
                nugget_id: n,
                first_answered_at: at(1),
                last_review: Some(at(1)),
            })
            .collect();
        let open: Vec<Vec<NuggetId>> = (2..=8)
            .map(|d| {
                open_probes(
                    &plan,
                    Tz::UTC,
                    NaiveDate::from_ymd_opt(2026, 3, d).unwrap(),
                    &met,
                )
            })
            .collect();
        let first = open
            .iter()
            .position(|o| !o.is_empty())
            .expect("a probe this week");
        assert!(open[first..].iter().all(|o| o == &open[first]));
        assert_eq!(open[first].len(), 1);
        // Answered on its day: closed for the rest of the week.
        let probe = open[first][0].clone();
        let answered: Vec<Met<'_>> = met
            .iter()
            .map(|m| Met {
                last_review: if *m.nugget_id == probe {
                    Some(at(2 + first as u32) + Duration::hours(1))
                } else {
                    m.last_review
                },
                ..*m
            })
            .collect();
        let today = NaiveDate::from_ymd_opt(2026, 3, 2 + first as u32).unwrap();
        assert!(open_probes(&plan, Tz::UTC, today, &answered).is_empty());
        // Nothing met: nothing to probe.
        assert!(open_probes(
            &plan,
            Tz::UTC,
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            &[]
        )
        .is_empty());
    }

    #[test]
    fn several_probes_a_week_draw_distinct_nuggets() {
        let ids: Vec<NuggetId> = (0..10)
            .map(|i| NuggetId::from(format!("n{i}").as_str()))
            .collect();
        let met: Vec<Met<'_>> = ids
            .iter()
            .map(|n| Met {
                nugget_id: n,
                first_answered_at: at(1),
                last_review: Some(at(1)),
            })
            .collect();
        let plan = ProbePlan {
            experiment_id: "e",
            learner_id: "l",
            probes_per_week: 7,
            started_at: at(1),
        };
        let sunday = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let mut open = open_probes(&plan, Tz::UTC, sunday, &met);
        assert_eq!(open.len(), 7);
        open.sort();
        open.dedup();
        assert_eq!(open.len(), 7);
    }
}
