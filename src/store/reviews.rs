//! The immutable answer log.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Text};

use super::schema::{choice_counts, nuggets, packs, reviews, users};
use super::{prepared, DbConnection, StoreError, StoreResult};
use crate::domain::eval::reprise_format::ReviewRecord;
use crate::domain::ids::{NuggetId, OrgId, UserId};

/// One stored answer. `None` is inserted as NULL rather than left to the column's default (also
/// NULL), so the insert has one shape and stays prepared.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews, treat_none_as_default_value = false)]
pub struct ReviewRow {
    pub org_id: String,
    pub id: String,
    pub learner_id: String,
    pub nugget_id: String,
    pub pack_version_id: String,
    pub assignment_id: String,
    pub attempt_id: String,
    pub request_hash: String,
    pub selected: String,
    pub correct: bool,
    pub partial_credit: f64,
    pub response_ms: i32,
    pub confidence: Option<String>,
    pub rating: i32,
    pub client_answered_at: NaiveDateTime,
    pub answered_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub clock_flag: Option<String>,
    pub elapsed_days: Option<f64>,
    pub stability_before: Option<f64>,
    pub difficulty_before: Option<f64>,
    pub stability_after: f64,
    pub difficulty_after: f64,
    pub status_after: String,
    pub due_after: Option<NaiveDateTime>,
    /// Why the answer was practice (`domain::queue::PracticeReason`), `None` when it counted.
    /// A practice row's `_after` columns repeat the state it left unchanged (0 for a memory it
    /// never had), and every figure read from the log skips it.
    pub practice: Option<String>,
}

/// Inserts an answer; a known attempt id is a `Conflict` (the caller replays the stored one).
pub fn insert(conn: &mut DbConnection, row: &ReviewRow) -> StoreResult<()> {
    diesel::insert_into(reviews::table)
        .values(row)
        .execute(conn)
        .map_err(|e| StoreError::unique_as(e, "attempt already recorded"))?;
    Ok(())
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn by_attempt(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    attempt_id: &str,
) -> StoreResult<Option<ReviewRow>> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::learner_id.eq(learner_id))
        .filter(reviews::attempt_id.eq(attempt_id))
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?)
}

/// Rows each choice count is spread over, so concurrent answers to one nugget on PostgreSQL do
/// not queue on one row lock.
const CHOICE_SHARDS: u32 = 8;

/// Adds an answer choosing `selected` to the nugget's counts, organization-wide and in each of
/// `teams`, on the rows of `shard`, and returns the counts with it as [`choice_counts`] does.
/// Read in the write, so the learner sees their own answer counted and the read costs no
/// transaction of its own (on SQLite the writer's pages are warm; on PostgreSQL the increment
/// and the read are one statement, whose rows are taken in key order so concurrent answers lock
/// shared rows in one order).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn count_choices(
    conn: &mut DbConnection,
    org_id: &OrgId,
    nugget_id: &NuggetId,
    teams: &[String],
    selected: &[String],
    shard: u32,
) -> StoreResult<(ChoiceCounts, ChoiceCounts)> {
    let shard = (shard % CHOICE_SHARDS) as i32;
    let scopes = || std::iter::once("").chain(teams.iter().map(String::as_str));
    let options = || std::iter::once("").chain(selected.iter().map(String::as_str));
    if let DbConnection::Pg(pg) = conn {
        let rows: Vec<(String, String, i64)> = CountAndRead {
            org_id: org_id.as_str(),
            nugget_id: nugget_id.as_str(),
            shard,
            scopes: scopes().collect(),
            options: options().collect(),
        }
        .load(pg)?;
        return Ok(by_scope(rows));
    }
    for team in scopes() {
        for option in options() {
            let updated = prepared::update(
                choice_counts::table,
                choice_counts::answers.eq(choice_counts::answers + 1),
                choice_counts::org_id
                    .eq(org_id)
                    .and(choice_counts::nugget_id.eq(nugget_id))
                    .and(choice_counts::team_id.eq(team))
                    .and(choice_counts::option_id.eq(option))
                    .and(choice_counts::shard.eq(shard)),
            )
            .execute(conn)?;
            if updated == 0 {
                diesel::insert_into(choice_counts::table)
                    .values((
                        choice_counts::org_id.eq(org_id),
                        choice_counts::nugget_id.eq(nugget_id),
                        choice_counts::team_id.eq(team),
                        choice_counts::option_id.eq(option),
                        choice_counts::shard.eq(shard),
                        choice_counts::answers.eq(1i64),
                    ))
                    .execute(conn)
                    .map_err(|e| StoreError::created_concurrently(e, "choice count"))?;
            }
        }
    }
    choice_counts(conn, org_id, nugget_id, teams)
}

/// PostgreSQL's increment of [`count_choices`] and its read in one statement, kept prepared
/// (diesel's `sql_query` is parsed again on every call). The rows the upsert returns are the
/// ones it changed, as they are now; the others come from the statement's snapshot.
struct CountAndRead<'a> {
    org_id: &'a str,
    nugget_id: &'a str,
    shard: i32,
    scopes: Vec<&'a str>,
    options: Vec<&'a str>,
}

impl QueryId for CountAndRead<'_> {
    type QueryId = CountAndRead<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CountAndRead<'_> {
    type SqlType = (Text, Text, BigInt);
}

impl QueryFragment<Pg> for CountAndRead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH counted AS (INSERT INTO choice_counts \
             (org_id, nugget_id, team_id, option_id, shard, answers) SELECT ",
        );
        out.push_bind_param::<Text, _>(&self.org_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.nugget_id)?;
        out.push_sql(", t, o, ");
        out.push_bind_param::<Integer, _>(&self.shard)?;
        out.push_sql(", 1 FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.scopes)?;
        out.push_sql(") t, unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.options)?;
        out.push_sql(
            ") o ORDER BY t, o \
             ON CONFLICT (org_id, nugget_id, team_id, option_id, shard) \
             DO UPDATE SET answers = choice_counts.answers + 1 \
             RETURNING team_id, option_id, answers) \
             SELECT team_id, option_id, answers FROM counted UNION ALL \
             SELECT team_id, option_id, answers FROM choice_counts WHERE org_id = ",
        );
        out.push_bind_param::<Text, _>(&self.org_id)?;
        out.push_sql(" AND nugget_id = ");
        out.push_bind_param::<Text, _>(&self.nugget_id)?;
        out.push_sql(" AND team_id = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.scopes)?;
        out.push_sql(") AND NOT (shard = ");
        out.push_bind_param::<Integer, _>(&self.shard)?;
        out.push_sql(" AND option_id = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.options)?;
        out.push_sql("))");
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for CountAndRead<'_> {}

/// How many answers a nugget had and how often each option was among their choices.
#[derive(Debug, Default, PartialEq)]
pub struct ChoiceCounts {
    pub answers: u64,
    pub options: HashMap<String, u64>,
}

/// The nugget's choice counts over the whole organization, and summed over `teams` (a peer in
/// two of them counts in both).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn choice_counts(
    conn: &mut DbConnection,
    org_id: &OrgId,
    nugget_id: &NuggetId,
    teams: &[String],
) -> StoreResult<(ChoiceCounts, ChoiceCounts)> {
    let scopes = std::iter::once("").chain(teams.iter().map(String::as_str));
    let counts = choice_counts::table
        .filter(choice_counts::org_id.eq(org_id))
        .filter(choice_counts::nugget_id.eq(nugget_id))
        .select((
            choice_counts::team_id,
            choice_counts::option_id,
            choice_counts::answers,
        ));
    let rows: Vec<(String, String, i64)> = match conn {
        // One round trip: the scopes as an array (`= ANY`, a fixed shape, kept prepared).
        DbConnection::Pg(pg) => counts
            .filter(choice_counts::team_id.eq_any(scopes.collect::<Vec<_>>()))
            .load(pg)?,
        // One fixed-shape query per scope (prepared once per connection), not an `IN` list.
        DbConnection::Sqlite(lite) => {
            let mut rows = Vec::new();
            for scope in scopes {
                let of_scope: Vec<(String, String, i64)> =
                    counts.filter(choice_counts::team_id.eq(scope)).load(lite)?;
                rows.extend(of_scope);
            }
            rows
        }
    };
    Ok(by_scope(rows))
}

/// Sums (scope, option, answers) rows into the organization's counts (scope `''`) and the
/// teams' (every other scope); option `''` counts the answers themselves.
fn by_scope(rows: impl IntoIterator<Item = (String, String, i64)>) -> (ChoiceCounts, ChoiceCounts) {
    let (mut org, mut team) = (ChoiceCounts::default(), ChoiceCounts::default());
    for (scope, option, n) in rows {
        let counts = if scope.is_empty() {
            &mut org
        } else {
            &mut team
        };
        if option.is_empty() {
            counts.answers += n as u64;
        } else {
            *counts.options.entry(option).or_default() += n as u64;
        }
    }
    (org, team)
}

/// Which answers an export covers: `received_at` in `[since, until)`, either bound optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceivedWindow {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Where an export page ends: the last row's `(received_at, id)`; the next page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    pub received_at: NaiveDateTime,
    pub id: String,
}

/// One page of the answer log in export order, and the cursor of the next page (`None` when
/// this page was the last).
#[derive(Debug, Clone)]
pub struct ExportPage {
    pub records: Vec<ReviewRecord>,
    pub next: Option<ExportCursor>,
}

#[derive(Queryable)]
struct ExportRow {
    id: String,
    attempt_id: String,
    learner_id: String,
    learner_email: String,
    nugget_id: String,
    nugget_key: String,
    pack_slug: String,
    client_answered_at: NaiveDateTime,
    answered_at: NaiveDateTime,
    received_at: NaiveDateTime,
    selected: String,
    correct: bool,
    rating: i32,
    response_ms: i32,
    confidence: Option<String>,
    clock_flag: Option<String>,
    elapsed_days: Option<f64>,
    stability_before: Option<f64>,
    difficulty_before: Option<f64>,
    stability_after: f64,
    difficulty_after: f64,
    status_after: String,
    due_after: Option<NaiveDateTime>,
}

impl From<ExportRow> for ReviewRecord {
    fn from(r: ExportRow) -> Self {
        let mut selected: Vec<String> = serde_json::from_str(&r.selected).unwrap_or_default();
        selected.sort();
        ReviewRecord {
            attempt_id: r.attempt_id,
            learner_id: r.learner_id,
            learner_email: r.learner_email,
            nugget_id: r.nugget_id,
            nugget_key: r.nugget_key,
            pack_slug: r.pack_slug,
            client_answered_at: r.client_answered_at.and_utc(),
            answered_at: r.answered_at.and_utc(),
            received_at: r.received_at.and_utc(),
            selected: selected.join(";"),
            correct: r.correct,
            rating: r.rating.clamp(0, 255) as u8,
            response_ms: r.response_ms.max(0) as u32,
            confidence: r.confidence,
            clock_flag: r.clock_flag,
            elapsed_days: r.elapsed_days,
            stability_before: r.stability_before,
            difficulty_before: r.difficulty_before,
            stability_after: r.stability_after,
            difficulty_after: r.difficulty_after,
            status_after: r.status_after,
            due_after: r.due_after.map(|t| t.and_utc()),
        }
    }
}

/// Up to `limit` answers of the organization in `window`, ordered by `(received_at, id)` and
/// starting after `after`: keyset pagination on the `(org_id, received_at)` index, so every
/// page costs the same however deep the export is. With the learner's e-mail, the nugget's key
/// and its pack's slug joined in (same organization only).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn export_page(
    conn: &mut DbConnection,
    org_id: &OrgId,
    window: ReceivedWindow,
    after: Option<&ExportCursor>,
    limit: usize,
) -> StoreResult<ExportPage> {
    let mut q = reviews::table
        .inner_join(
            users::table.on(users::org_id
                .eq(reviews::org_id)
                .and(users::id.eq(reviews::learner_id))),
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
            users::email,
            reviews::nugget_id,
            nuggets::key,
            packs::slug,
            reviews::client_answered_at,
            reviews::answered_at,
            reviews::received_at,
            reviews::selected,
            reviews::correct,
            reviews::rating,
            reviews::response_ms,
            reviews::confidence,
            reviews::clock_flag,
            reviews::elapsed_days,
            reviews::stability_before,
            reviews::difficulty_before,
            reviews::stability_after,
            reviews::difficulty_after,
            reviews::status_after,
            reviews::due_after,
        ))
        .order((reviews::received_at.asc(), reviews::id.asc()))
        .limit(limit as i64)
        .into_boxed();
    if let Some(since) = window.since {
        q = q.filter(reviews::received_at.ge(since.naive_utc()));
    }
    if let Some(until) = window.until {
        q = q.filter(reviews::received_at.lt(until.naive_utc()));
    }
    if let Some(c) = after {
        q = q.filter(
            reviews::received_at
                .gt(c.received_at)
                .or(reviews::received_at
                    .eq(c.received_at)
                    .and(reviews::id.gt(c.id.clone()))),
        );
    }
    let rows: Vec<ExportRow> = q.load(conn)?;
    let next = match rows.last() {
        Some(last) if rows.len() == limit => Some(ExportCursor {
            received_at: last.received_at,
            id: last.id.clone(),
        }),
        _ => None,
    };
    Ok(ExportPage {
        records: rows.into_iter().map(ReviewRecord::from).collect(),
        next,
    })
}
