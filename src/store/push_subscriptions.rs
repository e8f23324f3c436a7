//! Browsers' push subscriptions, kept per learner. An endpoint is one browser profile, so it is
//! unique in the organization: subscribing it again as another learner moves it to them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::push_subscriptions;
use super::{new_id, DbConnection, StoreResult};
use crate::domain::ids::{OrgId, SubscriptionId, UserId};

/// A subscription as the browser gave it: the push service's URL and the keys that encrypt
/// messages for it (base64url, as `PushSubscription.toJSON()` writes them).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = push_subscriptions)]
pub struct Subscription {
    #[diesel(deserialize_as = String)]
    pub id: SubscriptionId,
    #[diesel(deserialize_as = String)]
    pub learner_id: UserId,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub created_at: NaiveDateTime,
}

/// Whether subscribing stored a new subscription or found it already the caller's, and since
/// when it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    Created(NaiveDateTime),
    Existing(NaiveDateTime),
}

/// Keeps a subscription for `learner`, replacing its keys when the endpoint is known (a browser
/// another learner used moves to `learner`, as new).
pub fn subscribe(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    now: DateTime<Utc>,
) -> StoreResult<Subscribed> {
    let now = now.naive_utc();
    super::write_tx(conn, |conn| {
        let existing: Option<(String, String, NaiveDateTime)> = push_subscriptions::table
            .filter(push_subscriptions::org_id.eq(org_id))
            .filter(push_subscriptions::endpoint.eq(endpoint))
            .select((
                push_subscriptions::id,
                push_subscriptions::learner_id,
                push_subscriptions::created_at,
            ))
            .first(conn)
            .optional()?;
        let Some((id, owner, since)) = existing else {
            diesel::insert_into(push_subscriptions::table)
                .values((
                    push_subscriptions::org_id.eq(org_id),
                    push_subscriptions::id.eq(new_id()),
                    push_subscriptions::learner_id.eq(learner),
                    push_subscriptions::endpoint.eq(endpoint),
                    push_subscriptions::p256dh.eq(p256dh),
                    push_subscriptions::auth.eq(auth),
                    push_subscriptions::created_at.eq(now),
                ))
                .execute(conn)?;
            return Ok(Subscribed::Created(now));
        };
        let moved = owner != learner.as_str();
        let since = if moved { now } else { since };
        diesel::update(push_subscriptions::table.find((org_id, &id)))
            .set((
                push_subscriptions::learner_id.eq(learner),
                push_subscriptions::p256dh.eq(p256dh),
                push_subscriptions::auth.eq(auth),
                push_subscriptions::created_at.eq(since),
            ))
            .execute(conn)?;
        Ok(if moved {
            Subscribed::Created(since)
        } else {
            Subscribed::Existing(since)
        })
    })
}

/// The learner's subscriptions, oldest first.
pub fn of_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
) -> StoreResult<Vec<Subscription>> {
    Ok(push_subscriptions::table
        .filter(push_subscriptions::org_id.eq(org_id))
        .filter(push_subscriptions::learner_id.eq(learner))
        .order(push_subscriptions::created_at)
        .select(Subscription::as_select())
        .load(conn)?)
}

/// Every subscription of the organization's learners in `learners`.
pub fn of_learners(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learners: &[&str],
) -> StoreResult<Vec<Subscription>> {
    let mut all = Vec::new();
    for chunk in learners.chunks(500) {
        all.extend(
            push_subscriptions::table
                .filter(push_subscriptions::org_id.eq(org_id))
                .filter(push_subscriptions::learner_id.eq_any(chunk))
                .select(Subscription::as_select())
                .load(conn)?,
        );
    }
    Ok(all)
}

/// Removes the learner's subscription of `endpoint`; false when they had none.
pub fn unsubscribe(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner: &UserId,
    endpoint: &str,
) -> StoreResult<bool> {
    let removed = diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::org_id.eq(org_id))
            .filter(push_subscriptions::learner_id.eq(learner))
            .filter(push_subscriptions::endpoint.eq(endpoint)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// Removes a subscription its push service said is gone (404 or 410).
pub fn drop_gone(conn: &mut DbConnection, org_id: &OrgId, id: &SubscriptionId) -> StoreResult<()> {
    diesel::delete(push_subscriptions::table.find((org_id, id))).execute(conn)?;
    Ok(())
}
