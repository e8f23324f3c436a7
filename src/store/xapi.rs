//! Answers as xAPI statements, and the outbox that forwards them to an organization's LRS.
//! The outbox is filled from the answer log by the forwarder, so the answer path stays as it is
//! and nothing is lost: the log is the source of truth, the outbox only remembers delivery.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{nugget_versions, nuggets, organizations, packs, reviews, xapi_outbox};
use super::{DbConnection, StoreResult};
use crate::domain::catalog::StoredOption;
use crate::domain::ids::OrgId;
use crate::domain::xapi::{self, AnswerFacts, Statement};

/// What the statement of one stored answer is built from.
#[derive(Queryable)]
struct AnswerRow {
    id: String,
    attempt_id: String,
    learner_id: String,
    nugget_id: String,
    selected: String,
    correct: bool,
    partial_credit: f64,
    response_ms: i32,
    answered_at: NaiveDateTime,
    received_at: NaiveDateTime,
    prompt: String,
    options: String,
    pack_slug: String,
}

/// Statements in `(received_at, id)` order after `after`, with the cursor of the last one.
pub struct StatementPage {
    pub statements: Vec<Statement>,
    pub last: Option<(NaiveDateTime, String)>,
}

/// Filters of a statement query.
#[derive(Debug, Clone, Default)]
pub struct StatementQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub after: Option<(NaiveDateTime, String)>,
    /// Only these attempt ids (the outbox's pending ones).
    pub attempt_ids: Option<Vec<String>>,
    pub limit: i64,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn statements(
    conn: &mut DbConnection,
    org_id: &OrgId,
    base: &str,
    q: StatementQuery,
) -> StoreResult<StatementPage> {
    let org_slug: String = organizations::table
        .find(org_id)
        .select(organizations::slug)
        .first(conn)?;
    let mut query = reviews::table
        .inner_join(
            nugget_versions::table.on(nugget_versions::org_id
                .eq(reviews::org_id)
                .and(nugget_versions::pack_version_id.eq(reviews::pack_version_id))
                .and(nugget_versions::nugget_id.eq(reviews::nugget_id))),
        )
        .inner_join(
            nuggets::table.on(nuggets::org_id
                .eq(reviews::org_id)
                .and(nuggets::id.eq(reviews::nugget_id))),
        )
        .inner_join(
            packs::table.on(packs::org_id
                .eq(nuggets::org_id)
                .and(packs::id.eq(nuggets::pack_id))),
        )
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .select((
            reviews::id,
            reviews::attempt_id,
            reviews::learner_id,
            reviews::nugget_id,
            reviews::selected,
            reviews::correct,
            reviews::partial_credit,
            reviews::response_ms,
            reviews::answered_at,
            reviews::received_at,
            nugget_versions::prompt,
            nugget_versions::options,
            packs::slug,
        ))
        .order((reviews::received_at.asc(), reviews::id.asc()))
        .limit(q.limit)
        .into_boxed();
    if let Some(since) = q.since {
        query = query.filter(reviews::received_at.ge(since.naive_utc()));
    }
    if let Some(until) = q.until {
        query = query.filter(reviews::received_at.lt(until.naive_utc()));
    }
    if let Some((at, id)) = q.after {
        query = query.filter(
            reviews::received_at
                .gt(at)
                .or(reviews::received_at.eq(at).and(reviews::id.gt(id))),
        );
    }
    if let Some(ids) = q.attempt_ids {
        query = query.filter(reviews::attempt_id.eq_any(ids));
    }
    let rows: Vec<AnswerRow> = query.load(conn)?;
    let last = rows.last().map(|r| (r.received_at, r.id.clone()));
    let statements = rows
        .into_iter()
        .map(|r| {
            let options: Vec<StoredOption> = serde_json::from_str(&r.options).unwrap_or_default();
            let selected: Vec<String> = serde_json::from_str(&r.selected).unwrap_or_default();
            xapi::statement(&AnswerFacts {
                attempt_id: &r.attempt_id,
                base,
                org_slug: &org_slug,
                learner_id: &r.learner_id,
                nugget_id: &r.nugget_id,
                pack_slug: &r.pack_slug,
                prompt: &r.prompt,
                options: &options,
                selected: &selected,
                correct: r.correct,
                partial_credit: r.partial_credit,
                response_ms: i64::from(r.response_ms),
                answered_at: r.answered_at.and_utc(),
                received_at: r.received_at.and_utc(),
            })
        })
        .collect();
    Ok(StatementPage { statements, last })
}

/// An organization's Learning Record Store.
#[derive(Debug, Clone, PartialEq)]
pub struct LrsSettings {
    pub endpoint: String,
    pub username: String,
    /// As stored: sealed (`crate::secrets`) for [`lrs_password_context`].
    pub password: String,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn lrs(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Option<LrsSettings>> {
    let (endpoint, username, password): (Option<String>, Option<String>, Option<String>) =
        organizations::table
            .find(org_id)
            .select((
                organizations::lrs_endpoint,
                organizations::lrs_username,
                organizations::lrs_password,
            ))
            .first(conn)?;
    Ok(endpoint.map(|endpoint| LrsSettings {
        endpoint,
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
    }))
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn set_lrs(
    conn: &mut DbConnection,
    org_id: &OrgId,
    lrs: Option<&LrsSettings>,
) -> StoreResult<()> {
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::lrs_endpoint.eq(lrs.map(|l| l.endpoint.clone())),
            organizations::lrs_username.eq(lrs.map(|l| l.username.clone())),
            organizations::lrs_password.eq(lrs.map(|l| l.password.clone())),
        ))
        .execute(conn)?;
    Ok(())
}

/// What an LRS password is sealed for (`crate::secrets`): its organization's row and column, so
/// a sealed value copied into another organization does not open.
pub fn lrs_password_context(org_id: &OrgId) -> String {
    format!("organizations/{org_id}/lrs_password")
}

/// Every stored LRS password, as stored: (organization, value).
pub fn stored_lrs_passwords(conn: &mut DbConnection) -> StoreResult<Vec<(OrgId, String)>> {
    Ok(organizations::table
        .filter(organizations::lrs_password.is_not_null())
        .select((organizations::id, organizations::lrs_password))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(org, password)| password.map(|p| (OrgId::from(org), p)))
        .collect())
}

/// Replaces an organization's stored LRS password (sealed again under a new key).
pub fn replace_lrs_password(
    conn: &mut DbConnection,
    org_id: &OrgId,
    stored: &str,
) -> StoreResult<()> {
    diesel::update(organizations::table.find(org_id))
        .set(organizations::lrs_password.eq(stored))
        .execute(conn)?;
    Ok(())
}

/// Organizations that forward statements.
pub fn forwarding_orgs(conn: &mut DbConnection) -> StoreResult<Vec<OrgId>> {
    Ok(organizations::table
        .filter(organizations::lrs_endpoint.is_not_null())
        .select(organizations::id)
        .load::<String>(conn)?
        .into_iter()
        .map(OrgId::from)
        .collect())
}

/// Puts answers not yet in the outbox into it (up to `limit`), oldest first.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn enqueue_new(
    conn: &mut DbConnection,
    org_id: &OrgId,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<usize> {
    let fresh: Vec<String> = reviews::table
        .left_join(
            xapi_outbox::table.on(xapi_outbox::org_id
                .eq(reviews::org_id)
                .and(xapi_outbox::statement_id.eq(reviews::attempt_id))),
        )
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .filter(xapi_outbox::statement_id.is_null())
        .order((reviews::received_at.asc(), reviews::id.asc()))
        .select(reviews::attempt_id)
        .limit(limit)
        .load(conn)?;
    // One row at a time: the MultiConnection backend has no multi-row INSERT; the caller's
    // transaction makes it one commit.
    for id in &fresh {
        diesel::insert_into(xapi_outbox::table)
            .values((
                xapi_outbox::org_id.eq(org_id),
                xapi_outbox::statement_id.eq(id),
                xapi_outbox::created_at.eq(now.naive_utc()),
                xapi_outbox::attempts.eq(0),
                xapi_outbox::next_attempt_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
    }
    Ok(fresh.len())
}

/// Statement ids due for (re)delivery, oldest first.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn due(
    conn: &mut DbConnection,
    org_id: &OrgId,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<(String, i32)>> {
    Ok(xapi_outbox::table
        .filter(xapi_outbox::org_id.eq(org_id))
        .filter(xapi_outbox::sent_at.is_null())
        .filter(xapi_outbox::next_attempt_at.le(now.naive_utc()))
        .order(xapi_outbox::created_at.asc())
        .select((xapi_outbox::statement_id, xapi_outbox::attempts))
        .limit(limit)
        .load(conn)?)
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn mark_sent(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(
        xapi_outbox::table
            .filter(xapi_outbox::org_id.eq(org_id))
            .filter(xapi_outbox::statement_id.eq_any(ids)),
    )
    .set(xapi_outbox::sent_at.eq(now.naive_utc()))
    .execute(conn)?;
    Ok(())
}

/// Records a failed delivery; the next try waits 2^attempts seconds, at most 15 minutes.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn mark_failed(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[(String, i32)],
    now: DateTime<Utc>,
    error: &str,
) -> StoreResult<()> {
    for (id, attempts) in ids {
        let wait = Duration::seconds(2i64.saturating_pow((*attempts as u32).min(20)).min(900));
        diesel::update(xapi_outbox::table.find((org_id, id)))
            .set((
                xapi_outbox::attempts.eq(attempts + 1),
                xapi_outbox::next_attempt_at.eq((now + wait).naive_utc()),
                xapi_outbox::last_error.eq(error.chars().take(500).collect::<String>()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
