//! Getting in: signing up an organization with its first admin, and logging in with e-mail and
//! password. Both hash or verify a password (tens of milliseconds of CPU on purpose), off the
//! async workers and without holding a connection meanwhile.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::tokens::{Holder, Issuer, TokenPair};
use crate::auth::password;
use crate::domain::accounts::{Email, NewPassword, Organization, Role, User};
use crate::error::{ApiError, ApiResult};
use crate::offload;
use crate::store::{self, accounts as account_store, new_id, Database};

/// A new organization and its first admin, every field checked.
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    /// IANA zone name.
    pub timezone: String,
    pub admin_email: Email,
    pub admin_password: NewPassword,
    pub admin_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreateOrgResponse {
    pub organization: Organization,
    pub user: User,
    pub tokens: TokenPair,
}

/// Creates the organization and its admin in one transaction, and logs the admin in.
#[tracing::instrument(skip_all, fields(org_id = tracing::field::Empty, user_id = tracing::field::Empty))]
pub async fn sign_up(
    database: &Database,
    issuer: &Issuer,
    new: NewOrganization,
    now: DateTime<Utc>,
) -> ApiResult<CreateOrgResponse> {
    let hash = super::hash(new.admin_password).await?;
    let issuer = issuer.clone();
    let created = database
        .run(move |conn| {
            let (organization, user) = account_store::create_org_with_admin(
                conn,
                account_store::NewOrg {
                    id: new_id(),
                    slug: new.slug,
                    name: new.name,
                    timezone: new.timezone,
                },
                account_store::NewUser {
                    id: new_id(),
                    email: new.admin_email.as_str().into(),
                    name: new.admin_name,
                    password_hash: hash,
                    role: Role::Admin,
                    timezone: None,
                },
                now,
            )?;
            let holder = Holder {
                user_id: &user.id,
                org_id: &organization.id,
                role: Role::Admin,
                version: account_store::FIRST_AUTH_VERSION,
            };
            let tokens = issuer.issue(conn, holder, None, now)?;
            Ok::<_, ApiError>(CreateOrgResponse {
                organization,
                user,
                tokens,
            })
        })
        .await?;
    let span = tracing::Span::current();
    span.record("org_id", tracing::field::display(&created.organization.id));
    span.record("user_id", tracing::field::display(&created.user.id));
    tracing::info!("organization created");
    Ok(created)
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("the e-mail address or password is wrong".into())
}

/// Longest password verified: anything longer is wrong without spending a hash on it.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Exchanges e-mail and password for a new login's token pair. An unknown e-mail address is
/// verified against `decoy_hash`, so the answer takes as long as for a wrong password and does
/// not tell which accounts exist; a deactivated account is refused like a wrong password.
#[tracing::instrument(skip_all, fields(org_id = tracing::field::Empty, user_id = tracing::field::Empty))]
pub async fn log_in(
    database: &Database,
    issuer: &Issuer,
    decoy_hash: &str,
    email: &str,
    given: String,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    if given.len() > MAX_PASSWORD_BYTES {
        return Err(bad_credentials());
    }
    let found = match Email::parse("email", email) {
        Ok(email) => {
            database
                .run(move |conn| {
                    Ok::<_, ApiError>(account_store::find_login(conn, email.as_str())?)
                })
                .await?
        }
        Err(_) => None,
    };
    let stored = found
        .as_ref()
        .map_or_else(|| decoy_hash.to_string(), |l| l.password_hash.clone());
    let matches = offload::cpu(move || password::verify(&given, &stored)).await?;
    let span = tracing::Span::current();
    if let Some(login) = &found {
        span.record("org_id", tracing::field::display(&login.user.org_id));
        span.record("user_id", tracing::field::display(&login.user.id));
    }
    let login = match found {
        Some(login) if matches && login.user.active => login,
        _ => {
            tracing::info!("login refused");
            return Err(bad_credentials());
        }
    };
    let issuer = issuer.clone();
    let pair = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                // The account as it is now, in the transaction that issues the refresh token: a
                // change since the hash was read (a new password, deactivation) raised the version.
                let user = &login.user;
                let access = account_store::user_access(conn, &user.org_id, &user.id)?;
                let Some(access) = access.filter(|a| a.active && a.version == login.auth_version)
                else {
                    tracing::info!("login refused: the account changed meanwhile");
                    return Err(bad_credentials());
                };
                let holder = Holder {
                    user_id: &user.id,
                    org_id: &user.org_id,
                    role: access.role,
                    version: access.version,
                };
                Ok(issuer.issue(conn, holder, None, now)?)
            })
        })
        .await?;
    tracing::info!("logged in");
    Ok(pair)
}
