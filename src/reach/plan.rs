//! Planning: today's decision for every learner whose reminder time has come, and on Mondays
//! each manager's digest.
//!
//! A first read per organization takes its active learners and the decisions already made, so
//! a pass in which every decision is made (most of the day) reads nothing more. Only the
//! learners who are due a decision are looked at closer, in chunks: their pauses, latest answers
//! and devices, and, for those nothing else stops, today's queue.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::{PassReport, Reach};
use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::calendar::{local_day, weekday_code, LocalDay};
use crate::domain::ids::{OrgId, UserId};
use crate::domain::nudges::{opening_words, Channel, LearnerDay, SkipReason};
use crate::error::{ApiError, ApiResult};
use crate::learning::queue as learner_queue;
use crate::store::enrolments::{self as enrolment_store, Enrolment, EnrolmentCache};
use crate::store::nudges::{self as nudge_store, Decision, OrgReach};
use crate::store::push_subscriptions as subscriptions;
use crate::store::{self, DbConnection};

/// Learners decided in one database call.
const CHUNK: usize = 500;
/// The longest opening of a prompt shown in a nudge.
const OPENING_CHARS: usize = 80;

/// A learner due a decision now: their local day and the channels still undecided on it.
#[derive(Clone)]
struct Due {
    learner: UserId,
    day_start: DateTime<Utc>,
    day: chrono::NaiveDate,
    channels: Vec<Channel>,
}

impl Reach {
    /// Decides today's nudges for every learner whose reminder time has come.
    pub async fn plan(&self, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let orgs = self.database.run(nudge_store::organizations).await?;
        let mut report = PassReport::default();
        for org in orgs {
            report.merge(self.plan_org(org, at).await?);
        }
        Ok(report)
    }

    async fn plan_org(&self, org: OrgReach, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let org_tz: Tz = org.timezone.parse().unwrap_or(Tz::UTC);
        // Every local day that can be "today" somewhere, with a day's margin.
        let since = (at - Duration::days(2)).date_naive();
        let (recipients, managers, decided) = {
            let org_id = org.id.clone();
            self.database
                .run(move |conn| {
                    Ok::<_, ApiError>((
                        nudge_store::recipients(conn, &org_id, Role::Learner)?,
                        nudge_store::recipients(conn, &org_id, Role::Manager)?,
                        nudge_store::decided_since(conn, &org_id, since)?,
                    ))
                })
                .await?
        };
        let digests: Vec<Decision> = managers
            .into_iter()
            .filter_map(|m| {
                let tz = m
                    .timezone
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(org_tz);
                let local = at.with_timezone(&tz);
                let date = local.date_naive();
                let made = decided
                    .get(m.id.as_str())
                    .is_some_and(|d| d.contains(&(Channel::Digest, date)));
                (!made && m.settings.digest_due(date, local.time())).then(|| Decision {
                    learner_id: m.id,
                    channel: Channel::Digest,
                    local_day: date,
                    skip: None,
                    waiting: 0,
                    opening: String::new(),
                })
            })
            .collect();
        let mut report = PassReport {
            learners: recipients.len(),
            ..Default::default()
        };
        if !digests.is_empty() {
            report
                .decided
                .insert((Channel::Digest.as_str(), "send"), digests.len());
            let org_id = org.id.clone();
            self.database
                .run(move |conn| {
                    store::write_tx(conn, |conn| {
                        nudge_store::record(conn, &org_id, &digests, at)
                    })
                })
                .await?;
        }
        let due: Vec<Due> = recipients
            .into_iter()
            .filter_map(|r| {
                let tz = r
                    .timezone
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(org_tz);
                let LocalDay { date, start, .. } = local_day(tz, at);
                let made = decided.get(r.id.as_str());
                let channels = r.settings.channels_due(at.with_timezone(&tz).time(), |c| {
                    made.is_some_and(|m| m.contains(&(c, date)))
                });
                (!channels.is_empty()).then_some(Due {
                    learner: r.id,
                    day_start: start,
                    day: date,
                    channels,
                })
            })
            .collect();
        let quiet = Arc::new(org.quiet_weekdays);
        for chunk in due.chunks(CHUNK) {
            let (chunk, org_id, quiet) = (chunk.to_vec(), org.id.clone(), quiet.clone());
            let enrolments = self.enrolments.clone();
            let decisions = self
                .database
                .run(move |conn| decide(conn, &enrolments, &org_id, &quiet, chunk, at))
                .await?;
            for d in &decisions {
                let outcome = d.skip.map_or("send", SkipReason::as_str);
                *report
                    .decided
                    .entry((d.channel.as_str(), outcome))
                    .or_default() += 1;
            }
        }
        Ok(report)
    }
}

/// Decides and records the day of each learner of `chunk`.
fn decide(
    conn: &mut DbConnection,
    enrolments: &EnrolmentCache,
    org_id: &OrgId,
    quiet_weekdays: &[String],
    chunk: Vec<Due>,
    at: DateTime<Utc>,
) -> ApiResult<Vec<Decision>> {
    let ids: Vec<&str> = chunk.iter().map(|d| d.learner.as_str()).collect();
    let earliest = chunk.iter().map(|d| d.day).min().unwrap_or(at.date_naive());
    let earliest_start = chunk.iter().map(|d| d.day_start).min().unwrap_or(at);
    let pauses = nudge_store::pauses_of(conn, org_id, &ids, earliest)?;
    let answers = nudge_store::last_answers(conn, org_id, &ids, earliest_start)?;
    let devices: HashSet<String> = subscriptions::of_learners(conn, org_id, &ids)?
        .into_iter()
        .map(|s| s.learner_id.into_string())
        .collect();
    // The queues built below each need the learner's enrolment: read them for the whole chunk
    // at once (per local date; a chunk rarely spans two), not one learner at a time.
    let mut dates: Vec<chrono::NaiveDate> = chunk.iter().map(|d| d.day).collect();
    dates.sort_unstable();
    dates.dedup();
    let mut enrolled: HashMap<(String, chrono::NaiveDate), Arc<Enrolment>> = HashMap::new();
    for date in dates {
        let learners: Vec<&str> = chunk
            .iter()
            .filter(|d| d.day == date)
            .map(|d| d.learner.as_str())
            .collect();
        for (learner, e) in enrolment_store::enrolments(conn, org_id, &learners, date)? {
            enrolled.insert((learner, date), Arc::new(e));
        }
    }
    let mut decisions = Vec::new();
    for due in chunk {
        let id = due.learner.as_str();
        let mut day = LearnerDay {
            quiet: quiet_weekdays.iter().any(|d| d == weekday_code(due.day)),
            paused: pauses.get(id).is_some_and(|p| {
                p.iter()
                    .any(|(first, last)| (*first..=*last).contains(&due.day))
            }),
            answered_today: answers
                .get(id)
                .is_some_and(|last: &NaiveDateTime| *last >= due.day_start.naive_utc()),
            waiting: 0,
        };
        let mut opening = String::new();
        if day.may_be_nudged() {
            let caller = Caller {
                user_id: due.learner.clone(),
                org_id: org_id.clone(),
                role: Role::Learner,
                request_id: None,
            };
            let read = |conn: &mut DbConnection, date: chrono::NaiveDate| match enrolled
                .remove(&(caller.user_id.to_string(), date))
            {
                Some(e) => Ok(e),
                None => enrolments.enrolment(conn, org_id, &caller.user_id, date),
            };
            let (_, queue) = learner_queue::build_with(conn, read, &caller, at)?;
            day.waiting = queue.nuggets.len();
            if let Some(first) = queue.nuggets.first() {
                opening = opening_words(&first.prompt, OPENING_CHARS);
            }
        }
        let has_device = devices.contains(id);
        for channel in due.channels {
            decisions.push(Decision {
                learner_id: due.learner.clone(),
                channel,
                local_day: due.day,
                skip: day.decide(channel, has_device).err(),
                waiting: day.waiting as i32,
                opening: opening.clone(),
            });
        }
    }
    store::write_tx(conn, |conn| {
        nudge_store::record(conn, org_id, &decisions, at)
    })?;
    Ok(decisions)
}
