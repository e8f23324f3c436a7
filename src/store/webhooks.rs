//! Webhooks, their outbox of deliveries and the attempts at each, and the answers events are
//! made from.
//!
//! A delivery is written once per webhook and `event_key` (the unique key makes a second
//! writer's insert a no-op). Sending claims pending rows under a lease, on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED` so concurrent instances take disjoint rows, on SQLite inside the
//! single writer's transaction; a failing webhook gives up one row per claim, so a dead endpoint
//! is knocked on once a round rather than once per event.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{
    assignments, memory_states, nugget_versions, nuggets, pack_versions, packs, reviews, users,
    webhook_attempts, webhook_deliveries, webhooks,
};
use super::{new_id, DbConnection, StoreError, StoreResult};
use crate::domain::ids::{AssignmentId, DeliveryId, OrgId, UserId, WebhookId};
use crate::domain::webhooks::{event_list, parse_event_list, Event, Format, NewWebhook};

/// A webhook as kept (its secret still sealed).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<Event>,
    pub format: Format,
    pub description: String,
    pub sealed_secret: String,
    /// `active` or `failing`.
    pub status: String,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

type WebhookRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

fn webhook_of(r: WebhookRow) -> Webhook {
    Webhook {
        id: r.0.into(),
        url: r.1,
        events: parse_event_list(&r.2),
        // Written only through `Format`.
        format: Format::parse(&r.3).unwrap_or(Format::Standard),
        description: r.4,
        sealed_secret: r.5,
        status: r.6,
        failing_since: r.7.map(|t| t.and_utc()),
        created_at: r.8.and_utc(),
    }
}

macro_rules! webhook_columns {
    () => {
        (
            webhooks::id,
            webhooks::url,
            webhooks::events,
            webhooks::format,
            webhooks::description,
            webhooks::secret,
            webhooks::status,
            webhooks::failing_since,
            webhooks::created_at,
        )
    };
}

/// Keeps a new webhook. Events start with the answers received from `now` on.
pub fn create(
    conn: &mut DbConnection,
    org_id: &OrgId,
    hook: &NewWebhook,
    sealed_secret: &str,
    created_by: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    let id = new_id();
    let at = now.naive_utc();
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::org_id.eq(org_id),
            webhooks::id.eq(&id),
            webhooks::url.eq(&hook.url),
            webhooks::events.eq(event_list(&hook.events)),
            webhooks::format.eq(hook.format.as_str()),
            webhooks::description.eq(&hook.description),
            webhooks::secret.eq(sealed_secret),
            webhooks::status.eq("active"),
            webhooks::cursor_at.eq(at),
            webhooks::cursor_id.eq(""),
            webhooks::created_by.eq(created_by),
            webhooks::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(Webhook {
        id: id.into(),
        url: hook.url.clone(),
        events: hook.events.clone(),
        format: hook.format,
        description: hook.description.clone(),
        sealed_secret: sealed_secret.into(),
        status: "active".into(),
        failing_since: None,
        created_at: now,
    })
}

/// The organization's webhooks, oldest first.
pub fn list(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<Webhook>> {
    let rows: Vec<WebhookRow> = webhooks::table
        .filter(webhooks::org_id.eq(org_id))
        .order((webhooks::created_at, webhooks::id))
        .select(webhook_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(webhook_of).collect())
}

/// One webhook of the organization; `NotFound` for any other id.
pub fn find(conn: &mut DbConnection, org_id: &OrgId, id: &WebhookId) -> StoreResult<Webhook> {
    let row: WebhookRow = webhooks::table
        .find((org_id, id))
        .select(webhook_columns!())
        .first(conn)?;
    Ok(webhook_of(row))
}

/// Removes a webhook with its deliveries and their attempts; `NotFound` when there is none.
pub fn delete(conn: &mut DbConnection, org_id: &OrgId, id: &WebhookId) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        let deliveries = webhook_deliveries::table
            .filter(webhook_deliveries::org_id.eq(org_id))
            .filter(webhook_deliveries::webhook_id.eq(id))
            .select(webhook_deliveries::id);
        diesel::delete(
            webhook_attempts::table
                .filter(webhook_attempts::org_id.eq(org_id))
                .filter(webhook_attempts::delivery_id.eq_any(deliveries)),
        )
        .execute(conn)?;
        diesel::delete(
            webhook_deliveries::table
                .filter(webhook_deliveries::org_id.eq(org_id))
                .filter(webhook_deliveries::webhook_id.eq(id)),
        )
        .execute(conn)?;
        match diesel::delete(webhooks::table.find((org_id, id))).execute(conn)? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    })
}

/// Organizations with at least one webhook.
pub fn organizations(conn: &mut DbConnection) -> StoreResult<Vec<OrgId>> {
    let ids: Vec<String> = webhooks::table
        .select(webhooks::org_id)
        .distinct()
        .load(conn)?;
    Ok(ids.into_iter().map(OrgId::from).collect())
}

/// What making events needs of a webhook: what it wants and how far it has got.
#[derive(Debug, Clone)]
pub struct Listener {
    pub id: WebhookId,
    pub events: Vec<Event>,
    pub format: Format,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// The last answer turned into events: (received at, id).
    pub cursor: (NaiveDateTime, String),
    pub risk_checked_on: Option<NaiveDate>,
    pub digest_week: Option<NaiveDate>,
}

/// The organization's webhooks as event makers.
pub fn listeners(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<Listener>> {
    type Row = (
        String,
        String,
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
    );
    let rows: Vec<Row> = webhooks::table
        .filter(webhooks::org_id.eq(org_id))
        .select((
            webhooks::id,
            webhooks::events,
            webhooks::format,
            webhooks::created_by,
            webhooks::created_at,
            webhooks::cursor_at,
            webhooks::cursor_id,
            webhooks::risk_checked_on,
            webhooks::digest_week,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Listener {
            id: r.0.into(),
            events: parse_event_list(&r.1),
            format: Format::parse(&r.2).unwrap_or(Format::Standard),
            created_by: r.3.into(),
            created_at: r.4.and_utc(),
            cursor: (r.5, r.6),
            risk_checked_on: r.7,
            digest_week: r.8,
        })
        .collect())
}

/// An answer as events tell of it.
#[derive(Debug, Clone, Queryable)]
pub struct AnswerFact {
    pub id: String,
    pub attempt_id: String,
    pub learner_id: String,
    pub learner_name: String,
    pub learner_email: String,
    pub nugget_id: String,
    pub assignment_id: String,
    pub topic: String,
    pub prompt: String,
    pub correct: bool,
    pub practice: Option<String>,
    pub status_after: String,
    pub due_after: Option<NaiveDateTime>,
    pub answered_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub pack: String,
}

/// Up to `limit` of the organization's answers after `cursor` (received at, id) and received
/// no later than `until`, in that order.
pub fn answers_after(
    conn: &mut DbConnection,
    org_id: &OrgId,
    cursor: &(NaiveDateTime, String),
    until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<AnswerFact>> {
    let (at, id) = (cursor.0, cursor.1.as_str());
    Ok(reviews::table
        .inner_join(
            users::table.on(users::org_id
                .eq(reviews::org_id)
                .and(users::id.eq(reviews::learner_id))),
        )
        .inner_join(
            nugget_versions::table.on(nugget_versions::org_id
                .eq(reviews::org_id)
                .and(nugget_versions::pack_version_id.eq(reviews::pack_version_id))
                .and(nugget_versions::nugget_id.eq(reviews::nugget_id))),
        )
        .inner_join(
            pack_versions::table.on(pack_versions::org_id
                .eq(reviews::org_id)
                .and(pack_versions::id.eq(reviews::pack_version_id))),
        )
        .inner_join(
            packs::table.on(packs::org_id
                .eq(reviews::org_id)
                .and(packs::id.eq(pack_versions::pack_id))),
        )
        .filter(reviews::org_id.eq(org_id))
        .filter(
            reviews::received_at
                .gt(at)
                .or(reviews::received_at.eq(at).and(reviews::id.gt(id))),
        )
        .filter(reviews::received_at.le(until.naive_utc()))
        .order((reviews::received_at, reviews::id))
        .select((
            reviews::id,
            reviews::attempt_id,
            reviews::learner_id,
            users::name,
            users::email,
            reviews::nugget_id,
            reviews::assignment_id,
            nugget_versions::topic,
            nugget_versions::prompt,
            reviews::correct,
            reviews::practice,
            reviews::status_after,
            reviews::due_after,
            reviews::answered_at,
            reviews::received_at,
            packs::slug,
        ))
        .limit(limit)
        .load(conn)?)
}

/// Whether every current nugget of the assignment's pack is mastered by the learner.
pub fn assignment_mastered(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
    assignment: &AssignmentId,
) -> StoreResult<bool> {
    let pack_id: String = assignments::table
        .find((org_id, assignment))
        .select(assignments::pack_id)
        .first(conn)?;
    let Some(version): Option<String> = pack_versions::table
        .filter(pack_versions::org_id.eq(org_id))
        .filter(pack_versions::pack_id.eq(&pack_id))
        .order(pack_versions::version.desc())
        .select(pack_versions::id)
        .first(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let current: Vec<String> = nugget_versions::table
        .inner_join(
            nuggets::table.on(nuggets::org_id
                .eq(nugget_versions::org_id)
                .and(nuggets::id.eq(nugget_versions::nugget_id))),
        )
        .filter(nugget_versions::org_id.eq(org_id))
        .filter(nugget_versions::pack_version_id.eq(&version))
        .filter(nuggets::retired_at.is_null())
        .select(nugget_versions::nugget_id)
        .load(conn)?;
    if current.is_empty() {
        return Ok(false);
    }
    let mastered: i64 = memory_states::table
        .filter(memory_states::org_id.eq(org_id))
        .filter(memory_states::learner_id.eq(learner))
        .filter(memory_states::nugget_id.eq_any(&current))
        .filter(memory_states::status.eq("mastered"))
        .count()
        .get_result(conn)?;
    Ok(mastered as usize == current.len())
}

/// An event to queue for one webhook.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: WebhookId,
    pub event: Event,
    /// What happened, unique per webhook: the same key is queued once.
    pub key: String,
    /// The message body as sent (standard: the envelope; slack: the chat message).
    pub payload: String,
}

/// How far a webhook's events have got, saved with the deliveries they made.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub cursor: Option<(NaiveDateTime, String)>,
    pub risk_checked_on: Option<NaiveDate>,
    pub digest_week: Option<NaiveDate>,
}

/// Queues `deliveries` (each key once per webhook) and moves the webhooks' progress, in one
/// transaction: an event is queued exactly when its progress is recorded.
pub fn record(
    conn: &mut DbConnection,
    org_id: &OrgId,
    deliveries: &[NewDelivery],
    progress: &[(WebhookId, Progress)],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let at = now.naive_utc();
    super::write_tx(conn, |conn| {
        let mut queued = 0;
        for chunk in deliveries.chunks(200) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|d| {
                    (
                        webhook_deliveries::org_id.eq(org_id),
                        webhook_deliveries::id.eq(format!("msg_{}", new_id().replace('-', ""))),
                        webhook_deliveries::webhook_id.eq(&d.webhook_id),
                        webhook_deliveries::event.eq(d.event.as_str()),
                        webhook_deliveries::event_key.eq(&d.key),
                        webhook_deliveries::payload.eq(&d.payload),
                        webhook_deliveries::status.eq("pending"),
                        webhook_deliveries::attempts.eq(0),
                        webhook_deliveries::next_attempt_at.eq(at),
                        webhook_deliveries::created_at.eq(at),
                    )
                })
                .collect();
            queued += execute_on_backend!(
                conn,
                diesel::insert_into(webhook_deliveries::table)
                    .values(&rows)
                    .on_conflict_do_nothing()
            )?;
        }
        for (id, p) in progress {
            let row = webhooks::table.find((org_id, id));
            if let Some((cursor_at, cursor_id)) = &p.cursor {
                diesel::update(row)
                    .set((
                        webhooks::cursor_at.eq(cursor_at),
                        webhooks::cursor_id.eq(cursor_id),
                    ))
                    .execute(conn)?;
            }
            if let Some(day) = p.risk_checked_on {
                diesel::update(row)
                    .set(webhooks::risk_checked_on.eq(day))
                    .execute(conn)?;
            }
            if let Some(week) = p.digest_week {
                diesel::update(row)
                    .set(webhooks::digest_week.eq(week))
                    .execute(conn)?;
            }
        }
        Ok::<_, StoreError>(queued)
    })
}

/// Organizations with a delivery due at `now`.
pub fn orgs_with_pending(conn: &mut DbConnection, now: DateTime<Utc>) -> StoreResult<Vec<OrgId>> {
    let at = now.naive_utc();
    let ids: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(at))
        .filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(at)),
        )
        .select(webhook_deliveries::org_id)
        .distinct()
        .load(conn)?;
    Ok(ids.into_iter().map(OrgId::from).collect())
}

/// A delivery taken to send, with what sending needs of its webhook.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub url: String,
    pub format: Format,
    pub sealed_secret: String,
    pub payload: String,
    /// Attempts including this one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` of the organization's deliveries due at `now` that no other pass holds,
/// for `lease`; of a failing webhook's, only the oldest.
pub fn claim(
    conn: &mut DbConnection,
    org_id: &OrgId,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<Claimed>> {
    let at = now.naive_utc();
    super::write_tx(conn, |conn| {
        let failing: HashSet<String> = webhooks::table
            .filter(webhooks::org_id.eq(org_id))
            .filter(webhooks::status.eq("failing"))
            .select(webhooks::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let claimable = webhook_deliveries::table
            .filter(webhook_deliveries::org_id.eq(org_id))
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.le(at))
            .filter(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.lt(at)),
            )
            .order((
                webhook_deliveries::next_attempt_at,
                webhook_deliveries::created_at,
            ))
            .select((webhook_deliveries::id, webhook_deliveries::webhook_id))
            .limit(limit);
        let candidates: Vec<(String, String)> = match conn {
            // Rows another instance is claiming right now are passed over, not waited for.
            DbConnection::Pg(pg) => claimable.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(c) => claimable.load(c)?,
        };
        let mut probed = HashSet::new();
        let ids: Vec<String> = candidates
            .into_iter()
            .filter(|(_, hook)| !failing.contains(hook) || probed.insert(hook.clone()))
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::org_id.eq(org_id))
                .filter(webhook_deliveries::id.eq_any(&ids)),
        )
        .set((
            webhook_deliveries::lease_until.eq(at + lease),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        ))
        .execute(conn)?;
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            i32,
            NaiveDateTime,
        );
        let rows: Vec<Row> = webhook_deliveries::table
            .inner_join(
                webhooks::table.on(webhooks::org_id
                    .eq(webhook_deliveries::org_id)
                    .and(webhooks::id.eq(webhook_deliveries::webhook_id))),
            )
            .filter(webhook_deliveries::org_id.eq(org_id))
            .filter(webhook_deliveries::id.eq_any(&ids))
            .select((
                webhook_deliveries::id,
                webhook_deliveries::webhook_id,
                webhooks::url,
                webhooks::format,
                webhooks::secret,
                webhook_deliveries::payload,
                webhook_deliveries::attempts,
                webhook_deliveries::created_at,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|r| Claimed {
                id: r.0.into(),
                webhook_id: r.1.into(),
                url: r.2,
                format: Format::parse(&r.3).unwrap_or(Format::Standard),
                sealed_secret: r.4,
                payload: r.5,
                attempts: r.6,
                created_at: r.7.and_utc(),
            })
            .collect())
    })
}

/// One try at a delivery and what it came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub outcome: Outcome,
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Retry(DateTime<Utc>),
    /// Out of retries: the delivery failed and its webhook is failing.
    Failed,
}

/// Records attempts and their outcomes, and each webhook's health: a delivery that arrived
/// makes its webhook active, one that gave up makes it failing.
pub fn settle(conn: &mut DbConnection, org_id: &OrgId, attempts: &[Attempt]) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        for a in attempts {
            let at = a.at.naive_utc();
            let row = (
                webhook_attempts::org_id.eq(org_id),
                webhook_attempts::delivery_id.eq(&a.id),
                webhook_attempts::attempt.eq(a.attempt),
                webhook_attempts::attempted_at.eq(at),
                webhook_attempts::status_code.eq(a.status_code.map(i32::from)),
                webhook_attempts::error.eq(a
                    .error
                    .as_ref()
                    .map(|e| e.chars().take(300).collect::<String>())),
                webhook_attempts::duration_ms.eq(a.duration_ms.min(i32::MAX as i64) as i32),
            );
            // A lease that ran out mid-attempt can bring the same attempt number twice.
            execute_on_backend!(
                conn,
                diesel::insert_into(webhook_attempts::table)
                    .values(row)
                    .on_conflict_do_nothing()
            )?;
            let row = webhook_deliveries::table.find((org_id, &a.id));
            let hook = webhooks::table.find((org_id, &a.webhook_id));
            match a.outcome {
                Outcome::Delivered => {
                    diesel::update(row)
                        .set((
                            webhook_deliveries::status.eq("delivered"),
                            webhook_deliveries::delivered_at.eq(at),
                            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)?;
                    diesel::update(hook)
                        .set((
                            webhooks::status.eq("active"),
                            webhooks::failing_since.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)?;
                }
                Outcome::Retry(next) => {
                    diesel::update(row)
                        .set((
                            webhook_deliveries::next_attempt_at.eq(next.naive_utc()),
                            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)?;
                }
                Outcome::Failed => {
                    diesel::update(row)
                        .set((
                            webhook_deliveries::status.eq("failed"),
                            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)?;
                    diesel::update(hook.filter(webhooks::status.eq("active")))
                        .set((
                            webhooks::status.eq("failing"),
                            webhooks::failing_since.eq(at),
                        ))
                        .execute(conn)?;
                }
            }
        }
        Ok::<_, StoreError>(())
    })
}

/// A delivery as admins see it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<AttemptRecord>,
}

#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// The webhook's `limit` most recent deliveries, newest first, with their attempts.
pub fn recent_deliveries(
    conn: &mut DbConnection,
    org_id: &OrgId,
    webhook: &WebhookId,
    limit: i64,
) -> StoreResult<Vec<DeliveryRecord>> {
    type Row = (
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        NaiveDateTime,
    );
    let rows: Vec<Row> = webhook_deliveries::table
        .filter(webhook_deliveries::org_id.eq(org_id))
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::event,
            webhook_deliveries::status,
            webhook_deliveries::created_at,
            webhook_deliveries::delivered_at,
            webhook_deliveries::next_attempt_at,
        ))
        .limit(limit)
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    type AttemptRow = (String, NaiveDateTime, Option<i32>, Option<String>, i32);
    let attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::org_id.eq(org_id))
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::attempt))
        .select((
            webhook_attempts::delivery_id,
            webhook_attempts::attempted_at,
            webhook_attempts::status_code,
            webhook_attempts::error,
            webhook_attempts::duration_ms,
        ))
        .load(conn)?;
    let mut by_delivery: std::collections::HashMap<String, Vec<AttemptRecord>> =
        std::collections::HashMap::new();
    for (id, at, status_code, error, duration_ms) in attempts {
        by_delivery.entry(id).or_default().push(AttemptRecord {
            at: at.and_utc(),
            status_code,
            error,
            duration_ms,
        });
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, event, status, created, delivered, next)| DeliveryRecord {
                attempts: by_delivery.remove(&id).unwrap_or_default(),
                next_attempt_at: (status == "pending").then(|| next.and_utc()),
                id: id.into(),
                event,
                status,
                created_at: created.and_utc(),
                delivered_at: delivered.map(|t| t.and_utc()),
            },
        )
        .collect())
}

/// Forgets finished deliveries (and their attempts) made before `before`.
pub fn prune(conn: &mut DbConnection, before: DateTime<Utc>) -> StoreResult<usize> {
    let at = before.naive_utc();
    super::write_tx(conn, |conn| {
        let old = webhook_deliveries::table
            .filter(webhook_deliveries::status.ne("pending"))
            .filter(webhook_deliveries::created_at.lt(at));
        diesel::delete(
            webhook_attempts::table
                .filter(webhook_attempts::delivery_id.eq_any(old.select(webhook_deliveries::id))),
        )
        .execute(conn)?;
        Ok::<_, StoreError>(diesel::delete(old).execute(conn)?)
    })
}

/// Replaces a webhook's sealed secret (made for its id, or sealed again under a new key).
pub fn replace_secret(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &WebhookId,
    sealed: &str,
) -> StoreResult<()> {
    diesel::update(webhooks::table.find((org_id, id)))
        .set(webhooks::secret.eq(sealed))
        .execute(conn)?;
    Ok(())
}

/// Every webhook's sealed secret, for sealing again under a new key.
pub fn stored_secrets(conn: &mut DbConnection) -> StoreResult<Vec<(OrgId, WebhookId, String)>> {
    let rows: Vec<(String, String, String)> = webhooks::table
        .select((webhooks::org_id, webhooks::id, webhooks::secret))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(o, i, s)| (o.into(), i.into(), s))
        .collect())
}

/// The organization's time zone and the local time of day its reminders (and digests) go out.
pub fn org_schedule(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<(String, String)> {
    Ok(super::schema::organizations::table
        .find(org_id)
        .select((
            super::schema::organizations::timezone,
            super::schema::organizations::nudge_at,
        ))
        .first(conn)?)
}
