//! Token pairs: a short-lived signed access token and a single-use opaque refresh token, issued
//! at sign-up and login, rotated on refresh and revoked at logout.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::jwt::TokenKeys;
use crate::auth::refresh;
use crate::domain::accounts::{LinkPurpose, Role};
use crate::domain::ids::{OrgId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::store::{
    accounts as account_store, links, new_id, tokens, Database, DbConnection, StoreError,
    StoreResult,
};

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// Short-lived bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque token for `POST /api/v1/auth/refresh`; single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// What issuing a pair takes: the signing keys and how long refresh tokens live. Cheap to clone,
/// so flows can move it into their database work.
#[derive(Clone)]
pub struct Issuer {
    pub keys: Arc<TokenKeys>,
    pub refresh_ttl_secs: i64,
}

/// Who a pair is for, as they stand when it is issued.
pub struct Holder<'a> {
    pub user_id: &'a UserId,
    pub org_id: &'a OrgId,
    pub role: Role,
    /// Their auth version, carried by the access token (see `accounts::access`).
    pub version: i64,
}

impl Issuer {
    /// Issues an access token and a refresh token of `family` (a new family, that is a new
    /// login, when `None`).
    pub fn issue(
        &self,
        conn: &mut DbConnection,
        holder: Holder,
        family: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<TokenPair> {
        let fresh = refresh::generate(holder.org_id);
        let family_id = family.map(String::from).unwrap_or_else(new_id);
        tokens::insert(
            conn,
            tokens::IssuedRefresh {
                id: &new_id(),
                org_id: holder.org_id,
                user_id: holder.user_id,
                family_id: &family_id,
                hash: &fresh.hash,
            },
            now,
            self.refresh_ttl_secs,
        )?;
        Ok(TokenPair {
            access_token: self.keys.issue(
                holder.user_id,
                holder.org_id,
                holder.role,
                holder.version,
                now.timestamp(),
            ),
            refresh_token: fresh.token,
            token_type: "Bearer",
            expires_in: self.keys.ttl_secs,
        })
    }
}

fn refused() -> ApiError {
    ApiError::Unauthorized("the refresh token is invalid, expired or revoked; log in again".into())
}

/// Exchanges a one-tap sign-in link from a reminder e-mail for a new token pair: once, within
/// its life, and only while its account is active. The link is marked used in the transaction
/// that issues the pair, so a second use, even a concurrent one, is refused.
#[tracing::instrument(skip_all)]
pub async fn sign_in_with_link(
    database: &Database,
    issuer: &Issuer,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let refused = || ApiError::Unauthorized("the sign-in link is invalid, used or expired".into());
    let org_id = OrgId::new(refresh::org_of(token).ok_or_else(refused)?);
    let hash = refresh::digest(token);
    let issuer = issuer.clone();
    let pair = database
        .run(move |conn| {
            crate::store::write_tx(conn, |conn| {
                let Some(user) = links::redeem(conn, &org_id, LinkPurpose::SignIn, &hash, now)?
                else {
                    return Ok(None);
                };
                let access = account_store::user_access(conn, &org_id, &user)?;
                let Some(access) = access.filter(|a| a.active) else {
                    return Ok(None);
                };
                let holder = Holder {
                    user_id: &user,
                    org_id: &org_id,
                    role: access.role,
                    version: access.version,
                };
                Ok::<_, ApiError>(Some(issuer.issue(conn, holder, None, now)?))
            })
        })
        .await?;
    pair.ok_or_else(refused)
}

/// Rotates a refresh token: it stops working and a new pair of the same family is returned,
/// its access token with the user's current role and auth version. A token presented again
/// after its rotation revokes its whole family (it leaked); a deactivated user's is refused
/// (`tokens::rotate` checks that in the same transaction). A token that is not shaped like one
/// of ours is refused without reading anything.
#[tracing::instrument(skip_all, fields(org_id = tracing::field::Empty, user_id = tracing::field::Empty))]
pub async fn rotate(
    database: &Database,
    issuer: &Issuer,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let org_id = OrgId::new(refresh::org_of(token).ok_or_else(refused)?);
    let span = tracing::Span::current();
    span.record("org_id", tracing::field::display(&org_id));
    let hash = refresh::digest(token);
    let issuer = issuer.clone();
    let (outcome, issued) = database
        .run(move |conn| {
            let mut issued = None;
            let outcome = tokens::rotate(conn, &org_id, &hash, now, |conn, rotation| {
                let access = account_store::user_access(conn, &org_id, &rotation.user_id)?
                    .ok_or(StoreError::NotFound)?;
                let holder = Holder {
                    user_id: &rotation.user_id,
                    org_id: &org_id,
                    role: access.role,
                    version: access.version,
                };
                let pair = issuer.issue(conn, holder, Some(&rotation.family_id), now)?;
                issued = Some(pair);
                Ok(())
            })?;
            Ok::<_, ApiError>((outcome, issued))
        })
        .await?;
    match (outcome, issued) {
        (Ok(rotation), Some(pair)) => {
            span.record("user_id", tracing::field::display(&rotation.user_id));
            Ok(pair)
        }
        (outcome, _) => {
            tracing::info!(refused = ?outcome.err(), "refresh token refused");
            Err(refused())
        }
    }
}

/// Revokes the family of a refresh token (the login it came from). A token that is not ours
/// changes nothing.
#[tracing::instrument(skip_all, fields(org_id = tracing::field::Empty))]
pub async fn revoke(database: &Database, token: &str, now: DateTime<Utc>) -> ApiResult<()> {
    let Some(org_id) = refresh::org_of(token).map(OrgId::from) else {
        return Ok(());
    };
    tracing::Span::current().record("org_id", tracing::field::display(&org_id));
    let hash = refresh::digest(token);
    database
        .run(move |conn| Ok(tokens::revoke_by_hash(conn, &org_id, &hash, now)?))
        .await
}
