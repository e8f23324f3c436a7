//! Images attached to nuggets, by organization and content hash.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::media;
use super::{DbConnection, StoreResult};
use crate::domain::ids::{OrgId, UserId};
use crate::domain::media::CleanImage;

/// A stored image as served.
#[derive(Debug, Queryable)]
pub struct StoredImage {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Keeps `image` for the organization; `false` when the same bytes were already kept.
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
                media::body.eq(&image.bytes),
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
        .select((media::content_type, media::body))
        .first(conn)
        .optional()?)
}
