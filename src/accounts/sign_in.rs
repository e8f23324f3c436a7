//! Getting in: signing up an organization with its first admin, and logging in with e-mail and
//! password. Both hash or verify a password (tens of milliseconds of CPU on purpose) through the
//! bounded [`Passwords`], without holding a connection meanwhile, and only once every cheaper
//! check has passed.
//!
//! An account belongs to one organization, and one address may have accounts in several (a
//! consultant, or an address another organization entered first): signing up never reveals
//! whether an address is known, and no organization can take an address from another. Login
//! names the organization by its slug, or tries the address's accounts (see [`log_in`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::passwords::Passwords;
use super::tokens::{Holder, Issuer, TokenPair};
use crate::domain::accounts::{Email, NewPassword, Organization, Role, User};
use crate::error::{ApiError, ApiResult};
use crate::store::{self, accounts as account_store, new_id, sso as sso_store, Database};

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

fn name_taken() -> ApiError {
    ApiError::Conflict("an organization with this name already exists".into())
}

/// Creates the organization and its admin in one transaction, and logs the admin in. A taken
/// name is found before the password is hashed (and again by the insert, should two sign-ups
/// race for it).
#[tracing::instrument(skip_all, fields(org_id = tracing::field::Empty, user_id = tracing::field::Empty))]
pub async fn sign_up(
    database: &Database,
    issuer: &Issuer,
    passwords: &Passwords,
    new: NewOrganization,
    now: DateTime<Utc>,
) -> ApiResult<CreateOrgResponse> {
    let slug = new.slug.clone();
    if database
        .run(move |conn| Ok::<_, ApiError>(account_store::slug_taken(conn, &slug)?))
        .await?
    {
        return Err(name_taken());
    }
    let hash = passwords.hash(new.admin_password).await?;
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
    ApiError::Unauthorized(
        "the e-mail address or password is wrong (an address used in several organizations may \
         also need `organization`)"
            .into(),
    )
}

/// Longest password verified: anything longer is wrong without spending a hash on it.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Accounts of one address a login without `organization` tries. An address with more needs the
/// organization named; this bounds what one login can cost.
const MAX_ACCOUNTS_TRIED: usize = 3;

/// What a login presents.
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    /// The organization's slug; needed only when the address has accounts in several.
    pub organization: Option<String>,
}

/// Exchanges e-mail and password for a new login's token pair. With `organization`, only that
/// organization's account is tried; without, each account of the address (up to
/// [`MAX_ACCOUNTS_TRIED`]) is verified, all of them whatever matches, and the oldest
/// organization's active account whose password matches is logged in. An address with no
/// account is verified against a decoy hash, so the answer takes as long as for a wrong
/// password; a deactivated account is refused like a wrong password.
#[tracing::instrument(skip_all, fields(org_id = tracing::field::Empty, user_id = tracing::field::Empty))]
pub async fn log_in(
    database: &Database,
    issuer: &Issuer,
    passwords: &Passwords,
    attempt: LoginAttempt,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let LoginAttempt {
        email,
        password: given,
        organization,
    } = attempt;
    if given.len() > MAX_PASSWORD_BYTES {
        return Err(bad_credentials());
    }
    let accounts = match Email::parse("email", &email) {
        Ok(email) => {
            database
                .run(move |conn| {
                    Ok::<_, ApiError>(account_store::find_logins(
                        conn,
                        email.as_str(),
                        organization.as_deref(),
                        MAX_ACCOUNTS_TRIED as i64 + 1,
                    )?)
                })
                .await?
        }
        Err(_) => Vec::new(),
    };
    let mut chosen = None;
    if accounts.is_empty() || accounts.len() > MAX_ACCOUNTS_TRIED {
        passwords.verify(&given, None).await?;
    } else {
        for login in accounts {
            let matches = passwords.verify(&given, Some(&login.password_hash)).await?;
            if matches && login.user.active && chosen.is_none() {
                chosen = Some(login);
            }
        }
    }
    let Some(login) = chosen else {
        tracing::info!("login refused");
        return Err(bad_credentials());
    };
    let span = tracing::Span::current();
    span.record("org_id", tracing::field::display(&login.user.org_id));
    span.record("user_id", tracing::field::display(&login.user.id));
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
                // Admins keep their password as a way in when the provider is down or
                // misconfigured (break-glass); everyone else follows the organization's choice.
                if access.role != Role::Admin
                    && !sso_store::password_login_allowed(conn, &user.org_id)?
                {
                    tracing::info!("login refused: the organization signs in with SSO");
                    return Err(ApiError::Forbidden(
                        "your organization signs in with single sign-on: use \"Sign in with your \
                         company account\""
                            .into(),
                    ));
                }
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
