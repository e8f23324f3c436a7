//! The audit log: one row per change, written in the transaction of the change it records and
//! never updated or deleted (the database refuses both), read newest first in pages.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::schema::audit_events;
use super::{new_id, DbConnection, StoreResult};
use crate::auth::Caller;
use crate::domain::ids::{OrgId, UserId};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user, in a request.
    User {
        id: UserId,
        request_id: Option<String>,
    },
    /// The organization's provisioning client (SCIM), in a request.
    Scim { request_id: Option<String> },
    /// A sign-in through the organization's identity provider: the user it signed in.
    Sso {
        id: UserId,
        request_id: Option<String>,
    },
    /// The service on its own (a command-line tool, a background task).
    System,
}

impl Actor {
    fn parts(&self) -> (&'static str, Option<&UserId>, Option<&str>) {
        match self {
            Actor::User { id, request_id } => ("user", Some(id), request_id.as_deref()),
            Actor::Scim { request_id } => ("scim", None, request_id.as_deref()),
            Actor::Sso { id, request_id } => ("sso", Some(id), request_id.as_deref()),
            Actor::System => ("system", None, None),
        }
    }
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        Actor::User {
            id: c.user_id.clone(),
            request_id: c.request_id.clone(),
        }
    }
}

/// One change: what was done to what, and the fields it changed before and after.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: Actor,
    /// `<target type>.<verb>`, e.g. `user.created`.
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Records `entry` in the organization's log at `at`; call it inside the change's transaction.
pub fn record(
    conn: &mut DbConnection,
    org_id: &OrgId,
    entry: &Entry<'_>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (kind, actor_id, request_id) = entry.actor.parts();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::org_id.eq(org_id),
            audit_events::id.eq(new_id()),
            audit_events::at.eq(at.naive_utc()),
            audit_events::actor_kind.eq(kind),
            audit_events::actor_id.eq(actor_id.map(UserId::as_str)),
            audit_events::action.eq(entry.action),
            audit_events::target_type.eq(entry.target_type),
            audit_events::target_id.eq(entry.target_id),
            audit_events::before.eq(entry.before.as_ref().map(Value::to_string)),
            audit_events::after.eq(entry.after.as_ref().map(Value::to_string)),
            audit_events::request_id.eq(request_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// A recorded change.
#[derive(Debug, Clone, Queryable)]
pub struct Event {
    pub id: String,
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: Option<String>,
}

/// What a page of the log is limited to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
    /// The page starts after this event (at, id), going back in time.
    pub before_event: Option<(NaiveDateTime, String)>,
}

/// Up to `limit` events matching `filter`, newest first.
pub fn page(
    conn: &mut DbConnection,
    org_id: &OrgId,
    filter: &Filter,
    limit: i64,
) -> StoreResult<Vec<Event>> {
    let mut q = audit_events::table
        .filter(audit_events::org_id.eq(org_id))
        .into_boxed();
    if let Some(since) = filter.since {
        q = q.filter(audit_events::at.ge(since.naive_utc()));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_events::at.lt(until.naive_utc()));
    }
    if let Some(actor) = &filter.actor_id {
        q = q.filter(audit_events::actor_id.eq(actor.as_str().to_string()));
    }
    if let Some(action) = &filter.action {
        q = q.filter(audit_events::action.eq(action.clone()));
    }
    if let Some((at, id)) = &filter.before_event {
        q = q.filter(
            audit_events::at.lt(*at).or(audit_events::at
                .eq(*at)
                .and(audit_events::id.lt(id.clone()))),
        );
    }
    Ok(q.order((audit_events::at.desc(), audit_events::id.desc()))
        .select((
            audit_events::id,
            audit_events::at,
            audit_events::actor_kind,
            audit_events::actor_id,
            audit_events::action,
            audit_events::target_type,
            audit_events::target_id,
            audit_events::before,
            audit_events::after,
            audit_events::request_id,
        ))
        .limit(limit)
        .load(conn)?)
}

impl<'a> Entry<'a> {
    /// A change by `actor`: `action` done to the `target_type` with `target_id`.
    pub fn by(
        actor: impl Into<Actor>,
        action: &'a str,
        target_type: &'a str,
        target_id: &'a str,
    ) -> Self {
        Entry {
            actor: actor.into(),
            action,
            target_type,
            target_id,
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, fields: Value) -> Self {
        self.before = Some(fields);
        self
    }

    pub fn after(mut self, fields: Value) -> Self {
        self.after = Some(fields);
        self
    }
}
