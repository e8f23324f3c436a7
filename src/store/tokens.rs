//! Refresh-token families: each login starts a family; each refresh rotates within it; a token
//! presented after it was rotated means it leaked, so the whole family is revoked.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::schema::{refresh_tokens, users};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::ids::{OrgId, UserId};

pub struct IssuedRefresh<'a> {
    pub id: &'a str,
    pub org_id: &'a OrgId,
    pub user_id: &'a UserId,
    pub family_id: &'a str,
    pub hash: &'a str,
}

pub fn insert(
    conn: &mut DbConnection,
    t: IssuedRefresh,
    now: DateTime<Utc>,
    ttl_secs: i64,
) -> StoreResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::org_id.eq(t.org_id),
            refresh_tokens::id.eq(t.id),
            refresh_tokens::user_id.eq(t.user_id),
            refresh_tokens::family_id.eq(t.family_id),
            refresh_tokens::token_hash.eq(t.hash),
            refresh_tokens::created_at.eq(now.naive_utc()),
            refresh_tokens::expires_at.eq((now + Duration::seconds(ttl_secs)).naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct PresentedToken {
    id: String,
    user_id: String,
    family_id: String,
    expires_at: chrono::NaiveDateTime,
    rotated_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

/// Why a refresh token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired,
    Revoked,
    /// Presented again after rotation: the family is now revoked.
    Reused,
    UserInactive,
}

/// The token's owner and family when it may be rotated.
pub struct Rotation {
    pub user_id: UserId,
    pub family_id: String,
}

/// Checks a presented token and marks it rotated, in one write transaction with the new token's
/// insertion (done by `issue_next`).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn rotate(
    conn: &mut DbConnection,
    org_id: &OrgId,
    hash: &str,
    now: DateTime<Utc>,
    issue_next: impl FnOnce(&mut DbConnection, &Rotation) -> StoreResult<()>,
) -> StoreResult<Result<Rotation, Refused>> {
    let now_n = now.naive_utc();
    super::write_tx(conn, |conn| {
        let row = refresh_tokens::table
            .filter(refresh_tokens::org_id.eq(org_id))
            .filter(refresh_tokens::token_hash.eq(hash))
            .select(PresentedToken::as_select())
            .first(conn)
            .optional()?;
        let Some(PresentedToken {
            id,
            user_id,
            family_id,
            expires_at,
            rotated_at,
            revoked_at,
        }) = row
        else {
            return Ok(Err(Refused::Unknown));
        };
        if revoked_at.is_some() {
            return Ok(Err(Refused::Revoked));
        }
        if rotated_at.is_some() {
            revoke_family(conn, org_id, &family_id, now)?;
            return Ok(Err(Refused::Reused));
        }
        if expires_at <= now_n {
            return Ok(Err(Refused::Expired));
        }
        let active: bool = users::table
            .find((org_id, &user_id))
            .select(users::active)
            .first(conn)?;
        if !active {
            revoke_family(conn, org_id, &family_id, now)?;
            return Ok(Err(Refused::UserInactive));
        }
        let marked = diesel::update(refresh_tokens::table.find((org_id, &id)))
            .filter(refresh_tokens::rotated_at.is_null())
            .set(refresh_tokens::rotated_at.eq(now_n))
            .execute(conn)?;
        if marked != 1 {
            return Err(StoreError::Conflict(
                "refresh token rotated concurrently".into(),
            ));
        }
        let rotation = Rotation {
            user_id: user_id.into(),
            family_id,
        };
        issue_next(conn, &rotation)?;
        Ok(Ok(rotation))
    })
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn revoke_family(
    conn: &mut DbConnection,
    org_id: &OrgId,
    family_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::org_id.eq(org_id))
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now.naive_utc()))
    .execute(conn)?;
    Ok(())
}

/// Revokes the family of the presented token (logout). Unknown tokens are ignored.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn revoke_by_hash(
    conn: &mut DbConnection,
    org_id: &OrgId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let family: Option<String> = refresh_tokens::table
        .filter(refresh_tokens::org_id.eq(org_id))
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(refresh_tokens::family_id)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, org_id, &family, now)?;
    }
    Ok(())
}

/// Revokes every refresh token of a user (a change that ends their logins:
/// `accounts::update_user`).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn revoke_user(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::org_id.eq(org_id))
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now.naive_utc()))
    .execute(conn)?;
    Ok(())
}
