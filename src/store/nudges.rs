//! The nudge outbox and what planning it reads: organizations' and learners' reminder choices,
//! who answered when, pauses, and one-tap sign-in links.
//!
//! A row is written once per learner, channel and local day (the unique key makes a second
//! planner's insert a no-op); sending claims pending rows under a lease, on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED` so concurrent instances take disjoint rows, on SQLite inside the
//! single writer's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{
    notification_settings, nudges, organizations, pauses, reviews, team_members, users,
};
use super::{new_id, DbConnection, StoreError, StoreResult};
use crate::domain::accounts::Role;
use crate::domain::ids::{NudgeId, OrgId, UserId};
use crate::domain::nudges::{Channel, ClockTime, NotificationSettings, SkipReason};

fn settings_of(push: bool, email: bool, at: &str) -> NotificationSettings {
    NotificationSettings {
        push,
        email,
        // Written only through `ClockTime`; a damaged value falls back to the default hour.
        remind_at: ClockTime::parse("remind_at", at).unwrap_or_default(),
    }
}

/// The organization's defaults for learners who have not chosen.
pub fn org_defaults(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<NotificationSettings> {
    let (push, email, at): (bool, bool, String) = organizations::table
        .find(org_id)
        .select((
            organizations::nudge_push,
            organizations::nudge_email,
            organizations::nudge_at,
        ))
        .first(conn)?;
    Ok(settings_of(push, email, &at))
}

/// The learner's own choice, if they made one.
fn own_settings(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
) -> StoreResult<Option<NotificationSettings>> {
    let row: Option<(bool, bool, String)> = notification_settings::table
        .find((org_id, learner))
        .select((
            notification_settings::push,
            notification_settings::email,
            notification_settings::remind_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(p, e, at)| settings_of(p, e, &at)))
}

/// The learner's choice, else their organization's defaults.
pub fn effective_settings(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
) -> StoreResult<NotificationSettings> {
    match own_settings(conn, org_id, learner)? {
        Some(own) => Ok(own),
        None => org_defaults(conn, org_id),
    }
}

pub fn put_settings(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
    settings: &NotificationSettings,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let at = settings.remind_at.to_string();
    let values = (
        notification_settings::org_id.eq(org_id),
        notification_settings::learner_id.eq(learner),
        notification_settings::push.eq(settings.push),
        notification_settings::email.eq(settings.email),
        notification_settings::remind_at.eq(&at),
        notification_settings::updated_at.eq(now.naive_utc()),
    );
    let changes = (
        notification_settings::push.eq(settings.push),
        notification_settings::email.eq(settings.email),
        notification_settings::remind_at.eq(&at),
        notification_settings::updated_at.eq(now.naive_utc()),
    );
    execute_on_backend!(
        conn,
        diesel::insert_into(notification_settings::table)
            .values(values)
            .on_conflict((
                notification_settings::org_id,
                notification_settings::learner_id,
            ))
            .do_update()
            .set(changes)
    )?;
    Ok(())
}

/// Turns e-mail nudges off for a learner (a one-click unsubscribe), keeping their other choices.
pub fn stop_email(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        let settings = NotificationSettings {
            email: false,
            ..effective_settings(conn, org_id, learner)?
        };
        put_settings(conn, org_id, learner, &settings, now)
    })
}

/// An organization as planning sees it.
pub struct OrgReach {
    pub id: OrgId,
    pub timezone: String,
    pub quiet_weekdays: Vec<String>,
}

pub fn organizations(conn: &mut DbConnection) -> StoreResult<Vec<OrgReach>> {
    let rows: Vec<(String, String, String)> = organizations::table
        .select((
            organizations::id,
            organizations::timezone,
            organizations::quiet_weekdays,
        ))
        .order(organizations::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, timezone, quiet)| OrgReach {
            id: id.into(),
            timezone,
            quiet_weekdays: super::accounts::weekday_list(&quiet),
        })
        .collect())
}

/// An active user, with their time zone and effective choices.
pub struct Recipient {
    pub id: UserId,
    pub timezone: Option<String>,
    pub settings: NotificationSettings,
}

/// The organization's active users of `role` (learners for nudges, managers for digests): one
/// pass over its users.
pub fn recipients(
    conn: &mut DbConnection,
    org_id: &OrgId,
    role: Role,
) -> StoreResult<Vec<Recipient>> {
    let defaults = org_defaults(conn, org_id)?;
    type Row = (String, Option<String>, Option<(bool, bool, String)>);
    let rows: Vec<Row> = users::table
        .left_join(
            notification_settings::table.on(notification_settings::org_id
                .eq(users::org_id)
                .and(notification_settings::learner_id.eq(users::id))),
        )
        .filter(users::org_id.eq(org_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq(role.as_str()))
        .select((
            users::id,
            users::timezone,
            (
                notification_settings::push,
                notification_settings::email,
                notification_settings::remind_at,
            )
                .nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, timezone, own)| Recipient {
            id: id.into(),
            timezone,
            settings: own.map_or(defaults, |(p, e, at)| settings_of(p, e, &at)),
        })
        .collect())
}

/// The decisions made from `since` on, per learner: (channel, local day).
pub fn decided_since(
    conn: &mut DbConnection,
    org_id: &OrgId,
    since: NaiveDate,
) -> StoreResult<HashMap<String, Vec<(Channel, NaiveDate)>>> {
    let rows: Vec<(String, String, NaiveDate)> = nudges::table
        .filter(nudges::org_id.eq(org_id))
        .filter(nudges::local_day.ge(since))
        .select((nudges::learner_id, nudges::channel, nudges::local_day))
        .load(conn)?;
    let mut decided: HashMap<String, Vec<(Channel, NaiveDate)>> = HashMap::new();
    for (learner, channel, day) in rows {
        if let Some(channel) = Channel::parse(&channel) {
            decided.entry(learner).or_default().push((channel, day));
        }
    }
    Ok(decided)
}

/// The pauses of `learners` that end on or after `from`: (first, last day) per learner.
pub fn pauses_of(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learners: &[&str],
    from: NaiveDate,
) -> StoreResult<HashMap<String, Vec<(NaiveDate, NaiveDate)>>> {
    let rows: Vec<(String, NaiveDate, NaiveDate)> = pauses::table
        .filter(pauses::org_id.eq(org_id))
        .filter(pauses::learner_id.eq_any(learners))
        .filter(pauses::ends_on.ge(from))
        .select((pauses::learner_id, pauses::starts_on, pauses::ends_on))
        .load(conn)?;
    let mut pauses: HashMap<String, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
    for (learner, first, last) in rows {
        pauses.entry(learner).or_default().push((first, last));
    }
    Ok(pauses)
}

/// The latest answer of each of `learners` at or after `since`.
pub fn last_answers(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learners: &[&str],
    since: DateTime<Utc>,
) -> StoreResult<HashMap<String, NaiveDateTime>> {
    let rows: Vec<(String, Option<NaiveDateTime>)> = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq_any(learners))
        .filter(reviews::answered_at.ge(since.naive_utc()))
        .group_by(reviews::learner_id)
        .select((reviews::learner_id, diesel::dsl::max(reviews::answered_at)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(l, at)| at.map(|at| (l, at)))
        .collect())
}

/// A nudge sent to a learner, and whether the learner answered within a window after it.
#[derive(Debug)]
pub struct SentNudge {
    pub learner_id: String,
    pub channel: Channel,
    pub sent_at: NaiveDateTime,
    pub answered: bool,
}

/// Nudges sent in `[from, to)` to learners who are direct members of `teams` (`None`: the whole
/// organization), each with whether one of its learner's answers was given within `window`
/// after it. One statement: the answers are probed per nudge through the index on (learner,
/// answered time), never read.
pub fn sent_with_responses(
    conn: &mut DbConnection,
    org_id: &OrgId,
    teams: Option<&[String]>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    window: Duration,
) -> StoreResult<Vec<SentNudge>> {
    // The one engine-specific part: adding the window to a timestamp. SQLite keeps timestamps
    // as text, so the bound is written in the same form (to the millisecond) to compare as text.
    let minutes = window.num_minutes();
    let bound = match conn {
        DbConnection::Sqlite(_) => {
            format!("strftime('%Y-%m-%d %H:%M:%f', nudges.sent_at, '+{minutes} minutes')")
        }
        DbConnection::Pg(_) => format!("nudges.sent_at + interval '{minutes} minutes'"),
    };
    let answered = diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM reviews r WHERE r.org_id = nudges.org_id \
         AND r.learner_id = nudges.learner_id AND r.answered_at >= nudges.sent_at \
         AND r.answered_at < {bound})"
    ));
    // A learner's local day is within a day of the UTC date; the day bounds reach the index.
    let mut q = nudges::table
        .filter(nudges::org_id.eq(org_id))
        .filter(nudges::local_day.ge(from.date_naive() - Duration::days(1)))
        .filter(nudges::local_day.le(to.date_naive() + Duration::days(1)))
        .filter(nudges::status.eq("sent"))
        // Learners' reminders; managers' digests are not nudges to answer.
        .filter(nudges::channel.ne(Channel::Digest.as_str()))
        .filter(nudges::sent_at.ge(from.naive_utc()))
        .filter(nudges::sent_at.lt(to.naive_utc()))
        .select((
            nudges::learner_id,
            nudges::channel,
            nudges::sent_at.assume_not_null(),
            answered,
        ))
        .into_boxed();
    if let Some(teams) = teams {
        let members = team_members::table
            .filter(team_members::org_id.eq(org_id))
            .filter(team_members::team_id.eq_any(teams.to_vec()))
            .select(team_members::user_id);
        q = q.filter(nudges::learner_id.eq_any(members));
    }
    let rows: Vec<(String, String, NaiveDateTime, bool)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(learner_id, channel, sent_at, answered)| {
            Some(SentNudge {
                learner_id,
                channel: Channel::parse(&channel)?,
                sent_at,
                answered,
            })
        })
        .collect())
}

/// A decision to record: a nudge to send, or a skip with its reason.
pub struct Decision {
    pub learner_id: UserId,
    pub channel: Channel,
    pub local_day: NaiveDate,
    /// `None` to send.
    pub skip: Option<SkipReason>,
    /// Nuggets waiting, and the first one's opening words, for the message.
    pub waiting: i32,
    pub opening: String,
}

/// Records decisions; one already made for the same learner, channel and day stays as it is.
/// Returns how many were new.
pub fn record(
    conn: &mut DbConnection,
    org_id: &OrgId,
    decisions: &[Decision],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let now = now.naive_utc();
    let mut inserted = 0;
    for chunk in decisions.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|d| {
                (
                    nudges::org_id.eq(org_id),
                    nudges::id.eq(new_id()),
                    nudges::learner_id.eq(&d.learner_id),
                    nudges::channel.eq(d.channel.as_str()),
                    nudges::local_day.eq(d.local_day),
                    nudges::status.eq(if d.skip.is_some() {
                        "skipped"
                    } else {
                        "pending"
                    }),
                    nudges::reason.eq(d.skip.map(SkipReason::as_str)),
                    nudges::waiting.eq(d.waiting),
                    nudges::opening.eq(&d.opening),
                    nudges::attempts.eq(0),
                    nudges::next_attempt_at.eq(now),
                    nudges::created_at.eq(now),
                )
            })
            .collect();
        inserted += execute_on_backend!(
            conn,
            diesel::insert_into(nudges::table)
                .values(&rows)
                .on_conflict_do_nothing()
        )?;
    }
    Ok(inserted)
}

/// A nudge claimed for sending, with what the message needs of its reader.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: NudgeId,
    pub learner_id: UserId,
    pub channel: Channel,
    pub waiting: i32,
    pub opening: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub email: String,
    pub name: String,
}

/// Organizations with nudges waiting to be sent at `now`.
pub fn orgs_with_pending(conn: &mut DbConnection, now: DateTime<Utc>) -> StoreResult<Vec<OrgId>> {
    let rows: Vec<String> = nudges::table
        .filter(nudges::status.eq("pending"))
        .filter(nudges::next_attempt_at.le(now.naive_utc()))
        .select(nudges::org_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().map(OrgId::from).collect())
}

/// Claims up to `limit` of the organization's pending nudges due at `now` that no other pass
/// holds, for `lease`: until it ends no other pass takes them.
pub fn claim(
    conn: &mut DbConnection,
    org_id: &OrgId,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<Claimed>> {
    let at = now.naive_utc();
    super::write_tx(conn, |conn| {
        let claimable = nudges::table
            .filter(nudges::org_id.eq(org_id))
            .filter(nudges::status.eq("pending"))
            .filter(nudges::next_attempt_at.le(at))
            .filter(nudges::lease_until.is_null().or(nudges::lease_until.lt(at)))
            .order(nudges::next_attempt_at)
            .select(nudges::id)
            .limit(limit);
        let ids: Vec<String> = match conn {
            // Rows another instance is claiming right now are passed over, not waited for.
            DbConnection::Pg(pg) => claimable.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(c) => claimable.load(c)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(
            nudges::table
                .filter(nudges::org_id.eq(org_id))
                .filter(nudges::id.eq_any(&ids)),
        )
        .set((
            nudges::lease_until.eq(at + lease),
            nudges::attempts.eq(nudges::attempts + 1),
        ))
        .execute(conn)?;
        let rows: Vec<ClaimedRow> = nudges::table
            .inner_join(
                users::table.on(users::org_id
                    .eq(nudges::org_id)
                    .and(users::id.eq(nudges::learner_id))),
            )
            .filter(nudges::org_id.eq(org_id))
            .filter(nudges::id.eq_any(&ids))
            .select((
                nudges::id,
                nudges::learner_id,
                nudges::channel,
                nudges::waiting,
                nudges::opening,
                nudges::attempts,
                users::email,
                users::name,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(Claimed {
                    channel: Channel::parse(&r.channel)?,
                    id: r.id.into(),
                    learner_id: r.learner_id.into(),
                    waiting: r.waiting,
                    opening: r.opening,
                    attempts: r.attempts,
                    email: r.email,
                    name: r.name,
                })
            })
            .collect())
    })
}

#[derive(Queryable)]
struct ClaimedRow {
    id: String,
    learner_id: String,
    channel: String,
    waiting: i32,
    opening: String,
    attempts: i32,
    email: String,
    name: String,
}

/// How a claimed nudge's send ended.
pub enum Settled {
    Sent,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Given up, with the reason kept.
    Failed(String),
    /// Not sent, for a reason found while sending (e.g. every device is gone).
    Skipped(SkipReason),
}

/// Records how the sends of claimed nudges ended, in one transaction.
pub fn settle(
    conn: &mut DbConnection,
    org_id: &OrgId,
    outcomes: &[(NudgeId, Settled)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let at = now.naive_utc();
    super::write_tx(conn, |conn| {
        for (id, outcome) in outcomes {
            let row = nudges::table.find((org_id, id));
            match outcome {
                Settled::Sent => diesel::update(row)
                    .set((
                        nudges::status.eq("sent"),
                        nudges::sent_at.eq(at),
                        nudges::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?,
                Settled::Retry(next) => diesel::update(row)
                    .set((
                        nudges::next_attempt_at.eq(next.naive_utc()),
                        nudges::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?,
                Settled::Failed(reason) => diesel::update(row)
                    .set((
                        nudges::status.eq("failed"),
                        nudges::reason.eq(reason.chars().take(300).collect::<String>()),
                        nudges::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?,
                Settled::Skipped(reason) => diesel::update(row)
                    .set((
                        nudges::status.eq("skipped"),
                        nudges::reason.eq(reason.as_str()),
                        nudges::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?,
            };
        }
        Ok::<_, StoreError>(())
    })
}

/// Forgets decisions and links older than `before` (the outbox keeps about two months).
pub fn prune(conn: &mut DbConnection, before: NaiveDate, now: DateTime<Utc>) -> StoreResult<usize> {
    let n = diesel::delete(nudges::table.filter(nudges::local_day.lt(before))).execute(conn)?;
    Ok(n + super::links::prune(conn, now)?)
}
