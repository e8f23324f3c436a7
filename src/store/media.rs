//! Images attached to nuggets, by organization and content hash: what each is and that its
//! organization owns it. The bytes live in the media storage (`crate::blobs`); the bodies of
//! images kept before they moved there wait in `media_bodies_to_move` until the server's start
//! copies them over.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{media, media_bodies_to_move};
use super::{DbConnection, StoreResult};
use crate::domain::ids::{OrgId, UserId};
use crate::domain::media::CleanImage;

/// A kept image as served: its bytes are in the media storage.
#[derive(Debug, Queryable)]
pub struct StoredImage {
    pub content_type: String,
}

/// An image body still in the database, to be copied to the media storage.
#[derive(Debug, Queryable)]
pub struct BodyToMove {
    pub org_id: String,
    pub id: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Records `image` for the organization; `false` when the same bytes were already recorded.
pub fn save(
    conn: &mut DbConnection,
    org_id: &OrgId,
    image: &CleanImage,
    by: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let inserted = execute_on_backend!(
        conn,
        diesel::insert_into(media::table)
            .values((
                media::org_id.eq(org_id),
                media::id.eq(&image.id),
                media::content_type.eq(image.kind.content_type()),
                media::width.eq(image.width as i32),
                media::height.eq(image.height as i32),
                media::created_by.eq(by),
                media::created_at.eq(now.naive_utc()),
            ))
            .on_conflict_do_nothing()
    )?;
    Ok(inserted == 1)
}

/// The image `id` of the organization, if kept.
pub fn get(conn: &mut DbConnection, org_id: &OrgId, id: &str) -> StoreResult<Option<StoredImage>> {
    Ok(media::table
        .find((org_id, id))
        .select(media::content_type)
        .first(conn)
        .optional()?
        .map(|content_type| StoredImage { content_type }))
}

/// Which of `ids` the organization has recorded.
pub fn recorded(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    Ok(media::table
        .filter(media::org_id.eq(org_id))
        .filter(media::id.eq_any(ids))
        .select(media::id)
        .load(conn)?)
}

/// Up to `limit` image bodies still waiting to be copied to the media storage.
pub fn bodies_to_move(conn: &mut DbConnection, limit: i64) -> StoreResult<Vec<BodyToMove>> {
    Ok(media_bodies_to_move::table
        .inner_join(
            media::table.on(media::org_id
                .eq(media_bodies_to_move::org_id)
                .and(media::id.eq(media_bodies_to_move::id))),
        )
        .select((
            media_bodies_to_move::org_id,
            media_bodies_to_move::id,
            media::content_type,
            media_bodies_to_move::body,
        ))
        .order((media_bodies_to_move::org_id, media_bodies_to_move::id))
        .limit(limit)
        .load(conn)?)
}

/// Forgets the body of an image once the media storage holds it.
pub fn body_moved(conn: &mut DbConnection, org_id: &OrgId, id: &str) -> StoreResult<()> {
    execute_on_backend!(
        conn,
        diesel::delete(media_bodies_to_move::table.find((org_id, id)))
    )?;
    Ok(())
}
