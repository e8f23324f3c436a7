//! What item analysis reads: a pack's nuggets as their newest published version has them, each
//! learner's first answer to each of them, and how many answers each got.
//!
//! Written in the SQL both backends share: the first attempt is picked with a correlated
//! `NOT EXISTS` on an aliased `reviews` (no window functions), so only first attempts leave the
//! database.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::dsl::{count_star, exists, not};
use diesel::prelude::*;

use super::schema::{nugget_versions, nuggets, pack_versions, packs, reviews};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::ids::{OrgId, PackId};
use crate::domain::item_analysis::{FirstAttempt, ItemContent};

/// Everything the analysis of one pack needs, read from one snapshot.
#[derive(Debug, Clone)]
pub struct AnalysisInput {
    pub pack: AnalysedPack,
    pub items: Vec<ItemContent>,
    /// Nugget id → every answer to it.
    pub attempts: HashMap<String, u64>,
    pub first_attempts: Vec<FirstAttempt>,
}

/// Reads the pack with `slug` and its answers in one read-only transaction (repeatable read on
/// PostgreSQL; SQLite's WAL gives a snapshot anyway), so that counts and first attempts agree
/// while learners keep answering.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn load(conn: &mut DbConnection, org_id: &OrgId, slug: &str) -> StoreResult<AnalysisInput> {
    conn.transaction(|conn| {
        if let DbConnection::Pg(pg) = conn {
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        let pack = pack(conn, org_id, slug)?;
        let items = items(conn, org_id, &pack.id)?;
        let attempts = attempt_counts(conn, org_id, &pack.id)?;
        let first_attempts = first_attempts(conn, org_id, &pack.id)?;
        Ok(AnalysisInput {
            pack,
            items,
            attempts,
            first_attempts,
        })
    })
}

/// The pack the analysis is about.
#[derive(Debug, Clone)]
pub struct AnalysedPack {
    pub id: PackId,
    pub slug: String,
    pub title: String,
    /// Newest published version, if any.
    pub latest_version: Option<i32>,
}

/// The pack with `slug` in the organization; `NotFound` otherwise (also for other
/// organizations' packs).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn pack(conn: &mut DbConnection, org_id: &OrgId, slug: &str) -> StoreResult<AnalysedPack> {
    let (id, slug, title): (String, String, String) = packs::table
        .filter(packs::org_id.eq(org_id))
        .filter(packs::slug.eq(slug))
        .select((packs::id, packs::slug, packs::title))
        .first(conn)?;
    let latest_version = pack_versions::table
        .filter(pack_versions::org_id.eq(org_id))
        .filter(pack_versions::pack_id.eq(&id))
        .order(pack_versions::version.desc())
        .select(pack_versions::version)
        .first(conn)
        .optional()?;
    Ok(AnalysedPack {
        id: id.into(),
        slug,
        title,
        latest_version,
    })
}

/// Every nugget of the pack that has a published version, with the text of the newest version
/// that contains it: first the nuggets of the newest version in pack order, then retired ones
/// (newest version first).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn items(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: &PackId,
) -> StoreResult<Vec<ItemContent>> {
    type Row = (
        String,
        String,
        Option<NaiveDateTime>,
        i32,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = nugget_versions::table
        .inner_join(
            pack_versions::table.on(pack_versions::org_id
                .eq(nugget_versions::org_id)
                .and(pack_versions::id.eq(nugget_versions::pack_version_id))),
        )
        .inner_join(
            nuggets::table.on(nuggets::org_id
                .eq(nugget_versions::org_id)
                .and(nuggets::id.eq(nugget_versions::nugget_id))),
        )
        .filter(nugget_versions::org_id.eq(org_id))
        .filter(pack_versions::pack_id.eq(pack_id))
        .filter(nuggets::pack_id.eq(pack_id))
        .order((
            pack_versions::version.desc(),
            nugget_versions::position.asc(),
        ))
        .select((
            nuggets::id,
            nuggets::key,
            nuggets::retired_at,
            pack_versions::version,
            nugget_versions::topic,
            nugget_versions::prompt,
            nugget_versions::options,
        ))
        .load(conn)?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for (nugget_id, key, retired_at, _, topic, prompt, options) in rows {
        if !seen.insert(nugget_id.clone()) {
            continue;
        }
        out.push(ItemContent {
            nugget_id,
            key,
            topic,
            prompt,
            options: serde_json::from_str(&options)
                .map_err(|e| StoreError::Conflict(format!("stored options are unreadable: {e}")))?,
            retired: retired_at.is_some(),
        });
    }
    Ok(out)
}

/// Each learner's first counted answer (by `answered_at`, then by review id) to each of the
/// pack's nuggets.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn first_attempts(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: &PackId,
) -> StoreResult<Vec<FirstAttempt>> {
    let earlier = diesel::alias!(reviews as earlier);
    let pack_nuggets = nuggets::table
        .filter(nuggets::org_id.eq(org_id))
        .filter(nuggets::pack_id.eq(pack_id))
        .select(nuggets::id);
    let an_earlier_answer = earlier
        .filter(earlier.field(reviews::org_id).eq(reviews::org_id))
        .filter(earlier.field(reviews::learner_id).eq(reviews::learner_id))
        .filter(earlier.field(reviews::nugget_id).eq(reviews::nugget_id))
        .filter(earlier.field(reviews::practice).is_null())
        .filter(
            earlier
                .field(reviews::answered_at)
                .lt(reviews::answered_at)
                .or(earlier
                    .field(reviews::answered_at)
                    .eq(reviews::answered_at)
                    .and(earlier.field(reviews::id).lt(reviews::id))),
        );
    let rows: Vec<(String, String, bool, String, i32)> = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .filter(reviews::nugget_id.eq_any(pack_nuggets))
        .filter(not(exists(an_earlier_answer)))
        .select((
            reviews::learner_id,
            reviews::nugget_id,
            reviews::correct,
            reviews::selected,
            reviews::response_ms,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(learner_id, nugget_id, correct, selected, response_ms)| FirstAttempt {
                learner_id,
                nugget_id,
                correct,
                selected: serde_json::from_str(&selected).unwrap_or_default(),
                response_ms: response_ms.max(0) as u32,
            },
        )
        .collect())
}

/// How many counted answers (first and later) each of the pack's answered nuggets has.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn attempt_counts(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: &PackId,
) -> StoreResult<HashMap<String, u64>> {
    let pack_nuggets = nuggets::table
        .filter(nuggets::org_id.eq(org_id))
        .filter(nuggets::pack_id.eq(pack_id))
        .select(nuggets::id);
    let rows: Vec<(String, i64)> = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .filter(reviews::nugget_id.eq_any(pack_nuggets))
        .group_by(reviews::nugget_id)
        .select((reviews::nugget_id, count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, n.max(0) as u64))
        .collect())
}
