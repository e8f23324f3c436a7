//! Pitches and their reviews. A pitch row is the record that a recording exists in media
//! storage (under `storage_key`); a review row is one reviewer's scores of it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{pitch_reviews, pitches, users};
use super::{DbConnection, StoreResult};
use crate::domain::ids::{NuggetId, OrgId, PitchId, PitchReviewId, UserId};
use crate::domain::pitch::PitchReview;

/// A pitch as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pitches)]
pub struct PitchRow {
    pub id: String,
    pub learner_id: String,
    pub nugget_id: String,
    pub pack_version_id: String,
    pub topic: String,
    pub attempt_id: String,
    pub content_type: String,
    pub bytes: i64,
    pub duration_ms: i32,
    pub storage_key: String,
    pub created_at: NaiveDateTime,
    pub shared_at: Option<NaiveDateTime>,
}

/// A review as stored, with its reviewer's name.
#[derive(Debug, Clone, Queryable)]
pub struct ReviewRow {
    pub id: String,
    pub pitch_id: String,
    pub learner_id: String,
    pub reviewer_id: String,
    pub reviewer_name: String,
    pub topic: String,
    pub scores: String,
    pub mean_score: f64,
    pub comment: String,
    pub created_at: NaiveDateTime,
    pub seen_at: Option<NaiveDateTime>,
}

impl From<ReviewRow> for PitchReview {
    fn from(r: ReviewRow) -> Self {
        PitchReview {
            id: r.id.into(),
            pitch_id: r.pitch_id.into(),
            reviewer_id: r.reviewer_id.into(),
            reviewer_name: r.reviewer_name,
            topic: r.topic,
            scores: serde_json::from_str(&r.scores).unwrap_or_default(),
            mean_score: r.mean_score,
            comment: r.comment,
            created_at: r.created_at.and_utc(),
            seen_at: r.seen_at.map(|t| t.and_utc()),
        }
    }
}

/// Reviews joined with their reviewers, selecting a [`ReviewRow`].
macro_rules! reviews_with_reviewers {
    () => {
        pitch_reviews::table
            .inner_join(
                users::table.on(users::org_id
                    .eq(pitch_reviews::org_id)
                    .and(users::id.eq(pitch_reviews::reviewer_id))),
            )
            .select((
                pitch_reviews::id,
                pitch_reviews::pitch_id,
                pitch_reviews::learner_id,
                pitch_reviews::reviewer_id,
                users::name,
                pitch_reviews::topic,
                pitch_reviews::scores,
                pitch_reviews::mean_score,
                pitch_reviews::comment,
                pitch_reviews::created_at,
                pitch_reviews::seen_at,
            ))
    };
}

/// A new pitch.
pub struct NewPitch<'a> {
    pub id: &'a PitchId,
    pub learner_id: &'a UserId,
    pub nugget_id: &'a NuggetId,
    pub pack_version_id: &'a str,
    pub topic: &'a str,
    pub attempt_id: &'a str,
    pub content_type: &'a str,
    pub bytes: u64,
    pub duration_ms: u32,
    pub storage_key: &'a str,
    pub at: DateTime<Utc>,
}

/// Keeps a pitch; `false` when the learner's attempt id was kept first (by a concurrent upload).
pub fn insert(conn: &mut DbConnection, org_id: &OrgId, p: &NewPitch<'_>) -> StoreResult<bool> {
    let inserted = execute_on_backend!(
        conn,
        diesel::insert_into(pitches::table)
            .values((
                pitches::org_id.eq(org_id),
                pitches::id.eq(p.id),
                pitches::learner_id.eq(p.learner_id),
                pitches::nugget_id.eq(p.nugget_id),
                pitches::pack_version_id.eq(p.pack_version_id),
                pitches::topic.eq(p.topic),
                pitches::attempt_id.eq(p.attempt_id),
                pitches::content_type.eq(p.content_type),
                pitches::bytes.eq(p.bytes.min(i64::MAX as u64) as i64),
                pitches::duration_ms.eq(p.duration_ms.min(i32::MAX as u32) as i32),
                pitches::storage_key.eq(p.storage_key),
                pitches::created_at.eq(p.at.naive_utc()),
            ))
            .on_conflict_do_nothing()
    )?;
    Ok(inserted == 1)
}

/// The learner's pitch for `attempt_id`, if one was kept.
pub fn by_attempt(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    attempt_id: &str,
) -> StoreResult<Option<PitchRow>> {
    Ok(pitches::table
        .filter(pitches::org_id.eq(org_id))
        .filter(pitches::learner_id.eq(learner_id))
        .filter(pitches::attempt_id.eq(attempt_id))
        .select(PitchRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, org_id: &OrgId, id: &PitchId) -> StoreResult<Option<PitchRow>> {
    Ok(pitches::table
        .find((org_id, id))
        .select(PitchRow::as_select())
        .first(conn)
        .optional()?)
}

/// Which pitches to list: of these learners (`None`: the whole organization), newest first.
pub struct PitchFilter<'a> {
    pub learners: Option<&'a [String]>,
    /// Shared ones only (exemplars).
    pub shared: bool,
    pub limit: i64,
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &OrgId,
    filter: &PitchFilter<'_>,
) -> StoreResult<Vec<PitchRow>> {
    let mut q = pitches::table
        .filter(pitches::org_id.eq(org_id))
        .select(PitchRow::as_select())
        .order((pitches::created_at.desc(), pitches::id.desc()))
        .limit(filter.limit)
        .into_boxed();
    if let Some(learners) = filter.learners {
        q = q.filter(pitches::learner_id.eq_any(learners));
    }
    if filter.shared {
        q = q.filter(pitches::shared_at.is_not_null());
    }
    Ok(q.load(conn)?)
}

/// Marks a pitch shared with the seller's teams; `false` when it was already.
pub fn share(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &PitchId,
    by: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = diesel::update(
        pitches::table
            .filter(pitches::org_id.eq(org_id))
            .filter(pitches::id.eq(id))
            .filter(pitches::shared_at.is_null()),
    )
    .set((
        pitches::shared_at.eq(now.naive_utc()),
        pitches::shared_by.eq(by),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A new review.
pub struct NewReview<'a> {
    pub id: &'a PitchReviewId,
    pub pitch_id: &'a PitchId,
    pub learner_id: &'a UserId,
    pub reviewer_id: &'a UserId,
    pub topic: &'a str,
    pub scores: &'a str,
    pub mean_score: f64,
    pub comment: &'a str,
    pub at: DateTime<Utc>,
}

/// Keeps a review; `false` when this reviewer reviewed the pitch before.
pub fn insert_review(
    conn: &mut DbConnection,
    org_id: &OrgId,
    r: &NewReview<'_>,
) -> StoreResult<bool> {
    let inserted = execute_on_backend!(
        conn,
        diesel::insert_into(pitch_reviews::table)
            .values((
                pitch_reviews::org_id.eq(org_id),
                pitch_reviews::id.eq(r.id),
                pitch_reviews::pitch_id.eq(r.pitch_id),
                pitch_reviews::learner_id.eq(r.learner_id),
                pitch_reviews::reviewer_id.eq(r.reviewer_id),
                pitch_reviews::topic.eq(r.topic),
                pitch_reviews::scores.eq(r.scores),
                pitch_reviews::mean_score.eq(r.mean_score),
                pitch_reviews::comment.eq(r.comment),
                pitch_reviews::created_at.eq(r.at.naive_utc()),
            ))
            .on_conflict_do_nothing()
    )?;
    Ok(inserted == 1)
}

/// The reviews of these pitches, oldest first.
pub fn reviews_of(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pitch_ids: &[&str],
) -> StoreResult<Vec<ReviewRow>> {
    if pitch_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(reviews_with_reviewers!()
        .filter(pitch_reviews::org_id.eq(org_id))
        .filter(pitch_reviews::pitch_id.eq_any(pitch_ids))
        .order(pitch_reviews::created_at.asc())
        .load(conn)?)
}

/// A learner's reviews not yet seen, oldest first: what their queue carries.
pub fn unseen_reviews(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<ReviewRow>> {
    Ok(reviews_with_reviewers!()
        .filter(pitch_reviews::org_id.eq(org_id))
        .filter(pitch_reviews::learner_id.eq(learner_id))
        .filter(pitch_reviews::seen_at.is_null())
        .order(pitch_reviews::created_at.asc())
        .load(conn)?)
}

/// The learner marks a review of their pitch seen; `false` when it is not theirs (or unknown).
pub fn mark_review_seen(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    id: &PitchReviewId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let found = pitch_reviews::table
        .filter(pitch_reviews::org_id.eq(org_id))
        .filter(pitch_reviews::learner_id.eq(learner_id))
        .filter(pitch_reviews::id.eq(id))
        .select(pitch_reviews::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if found {
        diesel::update(
            pitch_reviews::table
                .filter(pitch_reviews::org_id.eq(org_id))
                .filter(pitch_reviews::id.eq(id))
                .filter(pitch_reviews::seen_at.is_null()),
        )
        .set(pitch_reviews::seen_at.eq(now.naive_utc()))
        .execute(conn)?;
    }
    Ok(found)
}

/// Storage keys of a learner's recordings (to delete from media storage after erasure).
pub fn keys_of_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<String>> {
    Ok(pitches::table
        .filter(pitches::org_id.eq(org_id))
        .filter(pitches::learner_id.eq(learner_id))
        .select(pitches::storage_key)
        .load(conn)?)
}
