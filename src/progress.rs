//! The learner's own view of their learning: progress figures per pack and topic, their streak
//! and the week ahead; and vacation holds (pauses), which move due dates past them.
//!
//! Nothing here is kept between requests: each function reads (or writes) what it needs on one
//! connection, with the learner's settings and time zone read the way the learner's loop
//! (`learning`) reads them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::calendar::{local_day, local_midnight, weekday_code};
use crate::domain::ids::{NuggetId, PackVersionId};
use crate::domain::progress::{self, Figures, NuggetProgress, PackProgress};
use crate::domain::scheduler::{self, CardStatus};
use crate::domain::validation::FieldError;
use crate::error::ApiResult;
use crate::learning::queue::learner_settings;
use crate::store::learning::{self as learning_store, StoredState};
use crate::store::{self, content as content_store, new_id, DbConnection};

#[derive(Serialize, ToSchema)]
pub struct DueDay {
    pub date: NaiveDate,
    pub nuggets: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Progress {
    pub overall: Figures,
    pub packs: Vec<PackProgress>,
    /// Days in a row with at least one answer, up to today (or yesterday while today is still
    /// open); quiet weekdays and paused days neither count nor break it.
    pub streak_days: u32,
    /// Nuggets falling due on each of the next 7 days (today first).
    pub due_next_7_days: Vec<DueDay>,
}

/// Pack slug and topic of each nugget of a pack version, by nugget id.
type VersionNuggets = HashMap<NuggetId, (String, String)>;

/// Each memory state with its pack and topic (from the version the learner is on) and answer
/// counts; states whose nugget is not in that version are left out.
fn nugget_progress(
    conn: &mut DbConnection,
    caller: &Caller,
    states: &[StoredState],
    recall: impl Fn(&StoredState) -> Option<f64>,
) -> ApiResult<Vec<NuggetProgress>> {
    let org = &caller.org_id;
    let counts = learning_store::answer_counts(conn, org, &caller.user_id)?;
    let slugs = learning_store::pack_slugs(conn, org)?;
    let mut versions: HashMap<PackVersionId, VersionNuggets> = HashMap::new();
    let mut items = Vec::with_capacity(states.len());
    for s in states {
        if !versions.contains_key(&s.pack_version_id) {
            let by_id = content_store::version_nuggets(conn, org, &s.pack_version_id)?
                .into_iter()
                .map(|n| {
                    let pack = slugs.get(&n.pack_id).cloned().unwrap_or_default();
                    (n.nugget_id, (pack, n.topic))
                })
                .collect();
            versions.insert(s.pack_version_id.clone(), by_id);
        }
        let Some((pack, topic)) = versions[&s.pack_version_id].get(&s.nugget_id).cloned() else {
            continue;
        };
        let (answers, correct_answers) = counts.get(&s.nugget_id).copied().unwrap_or_default();
        items.push(NuggetProgress {
            pack,
            topic,
            recall: recall(s),
            first_correct: s.first_correct,
            answers,
            correct_answers,
            mastered: s.card.status == CardStatus::Mastered,
        });
    }
    Ok(items)
}

/// Nuggets in learning or review falling due on each of the `days` days from `today` (in the
/// learner's zone); today's count includes what is overdue.
fn due_per_day(states: &[StoredState], tz: Tz, today: NaiveDate, days: i64) -> Vec<DueDay> {
    (0..days)
        .map(|i| {
            let date = today + Duration::days(i);
            let from = local_midnight(tz, date);
            let to = local_midnight(tz, date + Duration::days(1));
            let nuggets = states
                .iter()
                .filter(|s| matches!(s.card.status, CardStatus::Learning | CardStatus::Review))
                .filter(|s| s.card.due.is_some_and(|d| (i == 0 || d >= from) && d < to))
                .count();
            DueDay { date, nuggets }
        })
        .collect()
}

/// The caller's progress at `now`: figures overall and per pack and topic, streak, week ahead.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn progress(
    conn: &mut DbConnection,
    caller: &Caller,
    now: DateTime<Utc>,
) -> ApiResult<Progress> {
    let (org, learner) = (&caller.org_id, &caller.user_id);
    let (tz, settings) = learner_settings(conn, caller)?;
    let states = learning_store::states(conn, org, learner)?;
    let params = &settings.fsrs_parameters;
    let items = nugget_progress(conn, caller, &states, |s| {
        scheduler::retrievability(&s.card, now, params)
    })?;
    let today = local_day(tz, now).date;
    let answer_days: Vec<NaiveDate> = learning_store::answer_times(conn, org, learner)?
        .into_iter()
        .map(|t| t.and_utc().with_timezone(&tz).date_naive())
        .collect();
    let pauses = learning_store::pauses(conn, org, learner)?;
    let skipped = |d: NaiveDate| {
        settings.quiet_weekdays.iter().any(|q| q == weekday_code(d))
            || pauses
                .iter()
                .any(|(_, from, to)| (*from..=*to).contains(&d))
    };
    Ok(Progress {
        overall: progress::figures(items.iter()),
        packs: progress::by_pack(&items),
        streak_days: progress::streak(&answer_days, today, skipped),
        due_next_7_days: due_per_day(&states, tz, today, 7),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Pause {
    pub id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Longest pause, in days after its first.
const MAX_PAUSE_DAYS: i64 = 90;

/// Furthest ahead a pause may start, in days after today.
const MAX_PAUSE_LEAD_DAYS: i64 = 366;

/// A pause starts today or later (in the learner's zone), within a year, and lasts at most 91
/// days. Compared by the days between dates, never by adding to one: any date the calendar holds
/// is checked without overflow.
fn check_pause(today: NaiveDate, starts_on: NaiveDate, ends_on: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if starts_on < today {
        errors.push(FieldError::new("starts_on", "must be today or later"));
    } else if (starts_on - today).num_days() > MAX_PAUSE_LEAD_DAYS {
        errors.push(FieldError::new(
            "starts_on",
            "must be within a year from today",
        ));
    }
    if ends_on < starts_on || (ends_on - starts_on).num_days() > MAX_PAUSE_DAYS {
        errors.push(FieldError::new(
            "ends_on",
            "must be between starts_on and 90 days after it",
        ));
    }
    errors
}

/// Holds the caller's nuggets from `starts_on` to `ends_on`: nothing is due on those days, and
/// due dates from the first move later by the pause's length.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pause_id = tracing::field::Empty))]
pub fn add_pause(
    conn: &mut DbConnection,
    caller: &Caller,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<Pause> {
    let (tz, _) = learner_settings(conn, caller)?;
    let errors = check_pause(local_day(tz, now).date, starts_on, ends_on);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let id = new_id();
    store::write_tx(conn, |conn| {
        learning_store::add_pause(
            conn,
            &caller.org_id,
            &caller.user_id,
            learning_store::PauseSpan {
                id: &id,
                starts_on,
                ends_on,
                begins_at: local_midnight(tz, starts_on),
            },
            now,
        )
    })?;
    tracing::Span::current().record("pause_id", tracing::field::display(&id));
    tracing::info!(%starts_on, %ends_on, "pause added");
    Ok(Pause {
        id,
        starts_on,
        ends_on,
    })
}

/// The caller's pauses, newest first.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn pauses(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Vec<Pause>> {
    Ok(
        learning_store::pauses(conn, &caller.org_id, &caller.user_id)?
            .into_iter()
            .map(|(id, starts_on, ends_on)| Pause {
                id,
                starts_on,
                ends_on,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_today_or_later_and_last_at_most_91_days() {
        let d = |m: u32, n: u32| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
        let today = d(3, 2);
        assert!(check_pause(today, today, today).is_empty());
        assert!(check_pause(today, d(3, 3), d(6, 1)).is_empty());
        let fields =
            |errors: Vec<FieldError>| errors.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(check_pause(today, d(3, 1), d(3, 5))), ["starts_on"]);
        assert_eq!(fields(check_pause(today, d(3, 3), d(6, 2))), ["ends_on"]);
        assert_eq!(
            fields(check_pause(today, d(3, 1), d(2, 27))),
            ["starts_on", "ends_on"]
        );
        // The calendar's last days are refused, never overflowed.
        let last = NaiveDate::MAX;
        assert_eq!(fields(check_pause(today, last, last)), ["starts_on"]);
        assert_eq!(fields(check_pause(today, today, last)), ["ends_on"]);
        assert!(fields(check_pause(last, last, last)).is_empty());
    }
}
