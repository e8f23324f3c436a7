//! One-time links: a reminder's one-tap sign-in, an invitation, a password reset. Only the
//! SHA-256 of a link's token is kept; a link works once, before it expires, for its purpose.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::sign_in_links;
use super::{DbConnection, StoreResult};
use crate::domain::accounts::LinkPurpose;
use crate::domain::ids::{OrgId, UserId};

/// Keeps a new link's hash for `user`, valid for `ttl`.
pub fn insert(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user: &UserId,
    purpose: LinkPurpose,
    hash: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> StoreResult<()> {
    diesel::insert_into(sign_in_links::table)
        .values((
            sign_in_links::org_id.eq(org_id),
            sign_in_links::token_hash.eq(hash),
            sign_in_links::user_id.eq(user),
            sign_in_links::created_at.eq(now.naive_utc()),
            sign_in_links::expires_at.eq((now + ttl).naive_utc()),
            sign_in_links::purpose.eq(purpose.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Uses a link: its user when it exists for `purpose`, has not expired and was not used,
/// marking it used in the same write so a second use, even a concurrent one, finds nothing.
/// Runs in the caller's write transaction (which applies what the link allows).
pub fn redeem(
    conn: &mut DbConnection,
    org_id: &OrgId,
    purpose: LinkPurpose,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserId>> {
    let at = now.naive_utc();
    let user: Option<String> = sign_in_links::table
        .filter(sign_in_links::org_id.eq(org_id))
        .filter(sign_in_links::token_hash.eq(hash))
        .filter(sign_in_links::purpose.eq(purpose.as_str()))
        .filter(sign_in_links::used_at.is_null())
        .filter(sign_in_links::expires_at.gt(at))
        .select(sign_in_links::user_id)
        .first(conn)
        .optional()?;
    let Some(user) = user else { return Ok(None) };
    let marked = diesel::update(
        sign_in_links::table
            .find((org_id, hash))
            .filter(sign_in_links::used_at.is_null()),
    )
    .set(sign_in_links::used_at.eq(at))
    .execute(conn)?;
    Ok((marked == 1).then(|| user.into()))
}

/// Ends the user's unused links of `purpose` (a new password makes older reset links void).
pub fn void(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user: &UserId,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(diesel::update(
        sign_in_links::table
            .filter(sign_in_links::org_id.eq(org_id))
            .filter(sign_in_links::user_id.eq(user))
            .filter(sign_in_links::purpose.eq(purpose.as_str()))
            .filter(sign_in_links::used_at.is_null()),
    )
    .set(sign_in_links::used_at.eq(now.naive_utc()))
    .execute(conn)?)
}

/// Forgets expired links.
pub fn prune(conn: &mut DbConnection, now: DateTime<Utc>) -> StoreResult<usize> {
    let at: NaiveDateTime = now.naive_utc();
    Ok(
        diesel::delete(sign_in_links::table.filter(sign_in_links::expires_at.lt(at)))
            .execute(conn)?,
    )
}
