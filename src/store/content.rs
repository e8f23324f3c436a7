//! Packs, drafts, immutable published versions and the nuggets they contain.
//!
//! A nugget's identity (`nuggets`) is stable across versions by its key, so a learner's memory
//! state survives a new version; its text lives per version (`nugget_versions`).

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{nugget_versions, nuggets, pack_versions, packs};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::catalog::{
    DraftOutcome, PackSummary, PackVersionInfo, StoredNugget, StoredOption, OPTION_IDS,
};
use crate::domain::content::{content_hash, Nugget, NuggetKind, NuggetOption, Pack, PackDefaults};
use crate::domain::ids::{NuggetId, OrgId, PackId, PackVersionId, UserId};

#[derive(Queryable, Selectable)]
#[diesel(table_name = packs)]
struct PackRow {
    id: String,
    slug: String,
    title: String,
    draft: Option<String>,
    draft_hash: Option<String>,
    archived_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn find_pack(conn: &mut DbConnection, org_id: &OrgId, slug: &str) -> StoreResult<Option<PackRow>> {
    Ok(packs::table
        .filter(packs::org_id.eq(org_id))
        .filter(packs::slug.eq(slug))
        .select(PackRow::as_select())
        .first(conn)
        .optional()?)
}

fn latest_version(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: &str,
) -> StoreResult<Option<(String, i32, String)>> {
    Ok(pack_versions::table
        .filter(pack_versions::org_id.eq(org_id))
        .filter(pack_versions::pack_id.eq(pack_id))
        .order(pack_versions::version.desc())
        .select((
            pack_versions::id,
            pack_versions::version,
            pack_versions::content_hash,
        ))
        .first(conn)
        .optional()?)
}

/// Stores `pack` as the draft of its slug. Identical content is a no-op.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn save_draft(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack: &Pack,
    now: DateTime<Utc>,
) -> StoreResult<DraftOutcome> {
    let hash = content_hash(pack);
    let json = serde_json::to_string(pack).map_err(|e| StoreError::Conflict(e.to_string()))?;
    let now = now.naive_utc();
    match find_pack(conn, org_id, &pack.slug)? {
        None => {
            diesel::insert_into(packs::table)
                .values((
                    packs::org_id.eq(org_id),
                    packs::id.eq(uuid::Uuid::now_v7().to_string()),
                    packs::slug.eq(&pack.slug),
                    packs::title.eq(&pack.title),
                    packs::draft.eq(&json),
                    packs::draft_hash.eq(&hash),
                    packs::created_at.eq(now),
                    packs::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| StoreError::unique_as(e, "a pack with this slug already exists"))?;
            Ok(DraftOutcome::Created)
        }
        Some(row) => {
            let same_as_draft = row.draft_hash.as_deref() == Some(hash.as_str());
            let same_as_published = row.draft.is_none()
                && latest_version(conn, org_id, &row.id)?.is_some_and(|(_, _, h)| h == hash);
            if same_as_draft || same_as_published {
                return Ok(DraftOutcome::Unchanged);
            }
            diesel::update(packs::table.find((org_id, &row.id)))
                .set((
                    packs::draft.eq(&json),
                    packs::draft_hash.eq(&hash),
                    packs::title.eq(&pack.title),
                    packs::archived_at.eq(None::<NaiveDateTime>),
                    packs::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(DraftOutcome::Updated)
        }
    }
}

fn options_json(options: &[NuggetOption]) -> String {
    let stored: Vec<StoredOption> = options
        .iter()
        .zip(OPTION_IDS)
        .map(|(o, id)| StoredOption {
            id: id.to_string(),
            text: o.text.clone(),
            correct: o.correct,
            feedback: o.feedback.clone(),
        })
        .collect();
    serde_json::to_string(&stored).expect("options serialize")
}

/// Turns the draft into a new immutable version. Nuggets whose key left the pack are retired;
/// a key that comes back is active again.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn publish(
    conn: &mut DbConnection,
    org_id: &OrgId,
    slug: &str,
    by: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<PackVersionInfo> {
    let row = find_pack(conn, org_id, slug)?.ok_or(StoreError::NotFound)?;
    let draft = row
        .draft
        .ok_or_else(|| StoreError::Conflict("the pack has no draft to publish".into()))?;
    let pack: Pack = serde_json::from_str(&draft)
        .map_err(|e| StoreError::Conflict(format!("stored draft is unreadable: {e}")))?;
    let version = latest_version(conn, org_id, &row.id)?.map_or(1, |(_, v, _)| v + 1);
    let version_id = uuid::Uuid::now_v7().to_string();
    let hash = content_hash(&pack);
    let now_n = now.naive_utc();
    diesel::insert_into(pack_versions::table)
        .values((
            pack_versions::org_id.eq(org_id),
            pack_versions::id.eq(&version_id),
            pack_versions::pack_id.eq(&row.id),
            pack_versions::version.eq(version),
            pack_versions::content_hash.eq(&hash),
            pack_versions::title.eq(&pack.title),
            pack_versions::description.eq(&pack.description),
            pack_versions::language.eq(&pack.language),
            pack_versions::desired_retention.eq(pack.defaults.desired_retention),
            pack_versions::daily_cap.eq(pack.defaults.daily_cap.map(|c| c as i32)),
            pack_versions::published_at.eq(now_n),
            pack_versions::published_by.eq(by),
        ))
        .execute(conn)?;
    let existing: Vec<(String, String)> = nuggets::table
        .filter(nuggets::org_id.eq(org_id))
        .filter(nuggets::pack_id.eq(&row.id))
        .select((nuggets::key, nuggets::id))
        .load(conn)?;
    for (position, n) in pack.nuggets.iter().enumerate() {
        let nugget_id = match existing.iter().find(|(k, _)| *k == n.key) {
            Some((_, id)) => {
                diesel::update(nuggets::table.find((org_id, id)))
                    .set(nuggets::retired_at.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
                id.clone()
            }
            None => {
                let id = uuid::Uuid::now_v7().to_string();
                diesel::insert_into(nuggets::table)
                    .values((
                        nuggets::org_id.eq(org_id),
                        nuggets::id.eq(&id),
                        nuggets::pack_id.eq(&row.id),
                        nuggets::key.eq(&n.key),
                    ))
                    .execute(conn)?;
                id
            }
        };
        diesel::insert_into(nugget_versions::table)
            .values((
                nugget_versions::org_id.eq(org_id),
                nugget_versions::nugget_id.eq(&nugget_id),
                nugget_versions::pack_version_id.eq(&version_id),
                nugget_versions::position.eq(position as i32),
                nugget_versions::topic.eq(&n.topic),
                nugget_versions::tags.eq(serde_json::to_string(&n.tags).expect("tags serialize")),
                nugget_versions::prompt.eq(&n.prompt),
                nugget_versions::options.eq(options_json(&n.options)),
                nugget_versions::explanation.eq(&n.explanation),
                nugget_versions::media_url.eq(&n.media_url),
                nugget_versions::kind.eq(n.kind.as_str()),
                nugget_versions::rubric.eq((!n.rubric.is_empty())
                    .then(|| serde_json::to_string(&n.rubric).expect("rubric serializes"))),
                nugget_versions::max_seconds.eq(n.max_seconds.map(|s| s as i32)),
            ))
            .execute(conn)?;
    }
    let kept: Vec<&str> = pack.nuggets.iter().map(|n| n.key.as_str()).collect();
    diesel::update(
        nuggets::table
            .filter(nuggets::org_id.eq(org_id))
            .filter(nuggets::pack_id.eq(&row.id))
            .filter(nuggets::key.ne_all(kept))
            .filter(nuggets::retired_at.is_null()),
    )
    .set(nuggets::retired_at.eq(now_n))
    .execute(conn)?;
    diesel::update(packs::table.find((org_id, &row.id)))
        .set((
            packs::draft.eq(None::<String>),
            packs::draft_hash.eq(None::<String>),
            packs::title.eq(&pack.title),
            packs::updated_at.eq(now_n),
        ))
        .execute(conn)?;
    Ok(PackVersionInfo {
        id: version_id,
        version,
        title: pack.title,
        content_hash: hash,
        nugget_count: pack.nuggets.len() as i64,
        published_at: now_n.and_utc(),
        published_by: by.to_string(),
    })
}

fn summary(conn: &mut DbConnection, org_id: &OrgId, row: &PackRow) -> StoreResult<PackSummary> {
    Ok(PackSummary {
        id: row.id.clone(),
        slug: row.slug.clone(),
        title: row.title.clone(),
        latest_version: latest_version(conn, org_id, &row.id)?.map(|(_, v, _)| v),
        has_draft: row.draft.is_some(),
        archived: row.archived_at.is_some(),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn list_packs(
    conn: &mut DbConnection,
    org_id: &OrgId,
    include_archived: bool,
) -> StoreResult<Vec<PackSummary>> {
    let mut q = packs::table
        .filter(packs::org_id.eq(org_id))
        .order(packs::slug.asc())
        .select(PackRow::as_select())
        .into_boxed();
    if !include_archived {
        q = q.filter(packs::archived_at.is_null());
    }
    let rows = q.load(conn)?;
    rows.iter().map(|r| summary(conn, org_id, r)).collect()
}

/// A pack's summary, versions (newest first) and draft.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn pack_detail(
    conn: &mut DbConnection,
    org_id: &OrgId,
    slug: &str,
) -> StoreResult<(PackSummary, Vec<PackVersionInfo>, Option<Pack>)> {
    let row = find_pack(conn, org_id, slug)?.ok_or(StoreError::NotFound)?;
    let versions: Vec<(String, i32, String, String, NaiveDateTime, String)> = pack_versions::table
        .filter(pack_versions::org_id.eq(org_id))
        .filter(pack_versions::pack_id.eq(&row.id))
        .order(pack_versions::version.desc())
        .select((
            pack_versions::id,
            pack_versions::version,
            pack_versions::title,
            pack_versions::content_hash,
            pack_versions::published_at,
            pack_versions::published_by,
        ))
        .load(conn)?;
    let mut infos = Vec::with_capacity(versions.len());
    for (id, version, title, content_hash, published_at, published_by) in versions {
        let nugget_count = nugget_versions::table
            .filter(nugget_versions::org_id.eq(org_id))
            .filter(nugget_versions::pack_version_id.eq(&id))
            .count()
            .get_result(conn)?;
        infos.push(PackVersionInfo {
            id,
            version,
            title,
            content_hash,
            nugget_count,
            published_at: published_at.and_utc(),
            published_by,
        });
    }
    let draft = row
        .draft
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    Ok((summary(conn, org_id, &row)?, infos, draft))
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn archive(
    conn: &mut DbConnection,
    org_id: &OrgId,
    slug: &str,
    now: DateTime<Utc>,
) -> StoreResult<PackSummary> {
    let row = find_pack(conn, org_id, slug)?.ok_or(StoreError::NotFound)?;
    diesel::update(packs::table.find((org_id, &row.id)))
        .set((
            packs::archived_at.eq(now.naive_utc()),
            packs::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    let row = find_pack(conn, org_id, slug)?.ok_or(StoreError::NotFound)?;
    summary(conn, org_id, &row)
}

/// The id of the pack's newest published version.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn latest_version_id(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: &PackId,
) -> StoreResult<Option<PackVersionId>> {
    Ok(latest_version(conn, org_id, pack_id.as_str())?.map(|(id, _, _)| id.into()))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = nugget_versions)]
struct NuggetVersionRow {
    nugget_id: String,
    pack_version_id: String,
    position: i32,
    topic: String,
    tags: String,
    prompt: String,
    options: String,
    explanation: String,
    media_url: Option<String>,
    kind: String,
    rubric: Option<String>,
    max_seconds: Option<i32>,
}

fn stored(row: NuggetVersionRow, pack_id: String, key: String) -> StoredNugget {
    StoredNugget {
        nugget_id: row.nugget_id.into(),
        pack_id: pack_id.into(),
        pack_version_id: row.pack_version_id.into(),
        key,
        position: row.position,
        topic: row.topic,
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        prompt: row.prompt,
        options: serde_json::from_str(&row.options).unwrap_or_default(),
        explanation: row.explanation,
        media_url: row.media_url,
        kind: NuggetKind::parse(&row.kind),
        rubric: row
            .rubric
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_default(),
        max_seconds: row.max_seconds.map(|s| s.max(0) as u32),
    }
}

/// Published versions are immutable, so their nuggets are read once per process and kept.
/// Ids are fresh UUIDs, so an entry can never go stale; the map is emptied when it grows large.
static VERSIONS: std::sync::OnceLock<std::sync::Mutex<VersionCache>> = std::sync::OnceLock::new();
/// (organization id, version id) → the version's nuggets.
type VersionCache = std::collections::HashMap<(String, String), Arc<Vec<StoredNugget>>>;
const MAX_CACHED_VERSIONS: usize = 512;

/// Every nugget of one version, in pack order (shared, from the version cache).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn version_nuggets_shared(
    conn: &mut DbConnection,
    org_id: &OrgId,
    version_id: &PackVersionId,
) -> StoreResult<Arc<Vec<StoredNugget>>> {
    let cache = VERSIONS.get_or_init(Default::default);
    let key = (org_id.to_string(), version_id.to_string());
    if let Some(hit) = cache.lock().expect("cache lock").get(&key) {
        return Ok(hit.clone());
    }
    let rows: Vec<(NuggetVersionRow, String, String)> = nugget_versions::table
        .inner_join(
            nuggets::table.on(nuggets::org_id
                .eq(nugget_versions::org_id)
                .and(nuggets::id.eq(nugget_versions::nugget_id))),
        )
        .filter(nugget_versions::org_id.eq(org_id))
        .filter(nugget_versions::pack_version_id.eq(version_id))
        .order(nugget_versions::position.asc())
        .select((
            NuggetVersionRow::as_select(),
            nuggets::pack_id,
            nuggets::key,
        ))
        .load(conn)?;
    let version: Arc<Vec<StoredNugget>> = Arc::new(
        rows.into_iter()
            .map(|(r, pack_id, key)| stored(r, pack_id, key))
            .collect(),
    );
    // An unknown or not yet committed version reads empty: not worth keeping.
    if !version.is_empty() {
        let mut map = cache.lock().expect("cache lock");
        if map.len() >= MAX_CACHED_VERSIONS {
            map.clear();
        }
        map.insert(key, version.clone());
    }
    Ok(version)
}

/// Every nugget of one version, in pack order.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn version_nuggets(
    conn: &mut DbConnection,
    org_id: &OrgId,
    version_id: &PackVersionId,
) -> StoreResult<Vec<StoredNugget>> {
    Ok(version_nuggets_shared(conn, org_id, version_id)?.to_vec())
}

/// A nugget as it reads in `version_id`.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn nugget_in_version(
    conn: &mut DbConnection,
    org_id: &OrgId,
    nugget_id: &NuggetId,
    version_id: &PackVersionId,
) -> StoreResult<StoredNugget> {
    version_nuggets_shared(conn, org_id, version_id)?
        .iter()
        .find(|n| n.nugget_id == *nugget_id)
        .cloned()
        .ok_or(StoreError::NotFound)
}

/// A published version rebuilt as a pack (for export); the newest when `version` is `None`.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn version_as_pack(
    conn: &mut DbConnection,
    org_id: &OrgId,
    slug: &str,
    version: Option<i32>,
) -> StoreResult<Pack> {
    let row = find_pack(conn, org_id, slug)?.ok_or(StoreError::NotFound)?;
    let mut q = pack_versions::table
        .filter(pack_versions::org_id.eq(org_id))
        .filter(pack_versions::pack_id.eq(&row.id))
        .order(pack_versions::version.desc())
        .select((
            pack_versions::id,
            pack_versions::title,
            pack_versions::description,
            pack_versions::language,
            pack_versions::desired_retention,
            pack_versions::daily_cap,
        ))
        .into_boxed();
    if let Some(v) = version {
        q = q.filter(pack_versions::version.eq(v));
    }
    let (version_id, title, description, language, desired_retention, daily_cap): (
        String,
        String,
        String,
        String,
        Option<f64>,
        Option<i32>,
    ) = q.first(conn)?;
    let nuggets = version_nuggets(conn, org_id, &version_id.into())?
        .into_iter()
        .map(|n| Nugget {
            key: n.key,
            kind: n.kind,
            rubric: n.rubric,
            max_seconds: n.max_seconds,
            topic: n.topic,
            tags: n.tags,
            prompt: n.prompt,
            options: n
                .options
                .into_iter()
                .map(|o| NuggetOption {
                    text: o.text,
                    correct: o.correct,
                    feedback: o.feedback,
                })
                .collect(),
            explanation: n.explanation,
            media_url: n.media_url,
        })
        .collect();
    Ok(Pack {
        slug: row.slug,
        title,
        description,
        language,
        defaults: PackDefaults {
            desired_retention,
            daily_cap: daily_cap.map(|c| c as u32),
        },
        nuggets,
    })
}

/// The pack a nugget belongs to.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn pack_of_nugget(
    conn: &mut DbConnection,
    org_id: &OrgId,
    nugget_id: &NuggetId,
) -> StoreResult<PackId> {
    Ok(nuggets::table
        .find((org_id, nugget_id))
        .select(nuggets::pack_id)
        .first::<String>(conn)?
        .into())
}

/// The ids of a pack's nuggets by key (retired ones included); empty for an unknown pack.
pub fn nugget_ids_by_key(
    conn: &mut DbConnection,
    org_id: &OrgId,
    slug: &str,
) -> StoreResult<std::collections::HashMap<String, NuggetId>> {
    let Some(pack) = find_pack(conn, org_id, slug)? else {
        return Ok(Default::default());
    };
    let rows: Vec<(String, String)> = nuggets::table
        .filter(nuggets::org_id.eq(org_id))
        .filter(nuggets::pack_id.eq(&pack.id))
        .select((nuggets::key, nuggets::id))
        .load(conn)?;
    Ok(rows.into_iter().map(|(k, id)| (k, id.into())).collect())
}
