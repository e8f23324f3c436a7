//! The caller's own account, and the administration of users: creating them (with their
//! teams), changing them, deactivating them. Deactivating a user or changing their password ends
//! their logins at once.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::passwords::Passwords;
use super::scope::TeamScope;
use crate::auth::Caller;
use crate::domain::accounts::{Email, NewPassword, Organization, Role, User};
use crate::error::{ApiError, ApiResult};
use crate::store::{accounts as account_store, new_id, tokens, Database, DbConnection, StoreError};

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub organization: Organization,
    /// Teams the caller belongs to.
    pub team_ids: Vec<String>,
}

/// The caller, their organization and the teams they belong to.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn me(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Me> {
    Ok(Me {
        user: account_store::get_user(conn, &caller.org_id, &caller.user_id)?,
        organization: account_store::get_org(conn, &caller.org_id)?,
        team_ids: account_store::list_user_teams(conn, &caller.org_id, &caller.user_id)?,
    })
}

/// The users the caller may read, filtered: everyone in the organization for admins and
/// analysts, the members of their teams (and of the teams below them) for managers. A team
/// filter outside a manager's scope lists nobody, as an unknown team does.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    mut filter: account_store::UserFilter,
) -> ApiResult<Vec<User>> {
    filter.within = TeamScope::of(conn, caller)?.teams().map(<[String]>::to_vec);
    Ok(account_store::list_users(conn, &caller.org_id, &filter)?)
}

/// One user: the caller themself, or anyone their scope reaches. A user outside a manager's
/// teams is the same 404 as one who does not exist, so the answer does not tell them apart.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> ApiResult<User> {
    let user = account_store::get_user(conn, &caller.org_id, id)?;
    if id != caller.user_id {
        let scope = TeamScope::of(conn, caller)?;
        if scope.teams().is_some() {
            let teams = account_store::list_user_teams(conn, &caller.org_id, id)?;
            if !teams.iter().any(|t| scope.reaches(Some(t))) {
                return Err(StoreError::NotFound.into());
            }
        }
    }
    Ok(user)
}

/// A new user, every field checked.
pub struct NewAccount {
    pub email: Email,
    pub password: NewPassword,
    pub name: String,
    pub role: Role,
    /// IANA zone; the organization's when `None`.
    pub timezone: Option<String>,
    /// Teams to put the user in.
    pub team_ids: Vec<String>,
}

/// Creates a user in the caller's organization, in the teams named. A team that does not exist
/// is a 404 naming `team_ids`, and nothing is created.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = tracing::field::Empty))]
pub async fn create(
    database: &Database,
    passwords: &Passwords,
    caller: &Caller,
    new: NewAccount,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    let hash = passwords.hash(new.password).await?;
    let org_id = caller.org_id.clone();
    let user = database
        .run(move |conn| {
            let row = account_store::NewUser {
                id: new_id(),
                email: new.email.as_str().into(),
                name: new.name,
                password_hash: hash,
                role: new.role,
                timezone: new.timezone,
            };
            account_store::create_user(conn, &org_id, row, &new.team_ids, now).map_err(
                |e| match e {
                    StoreError::NotFound => {
                        ApiError::missing("team_ids", "names a team that does not exist")
                    }
                    other => other.into(),
                },
            )
        })
        .await?;
    tracing::Span::current().record("subject_id", tracing::field::display(&user.id));
    tracing::info!(role = user.role.as_str(), "user created");
    Ok(user)
}

/// Changes to a user, every field checked; `None` leaves a field as it is.
#[derive(Default)]
pub struct AccountChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` falls back to the organization's zone.
    pub timezone: Option<Option<String>>,
    /// `Some(None)` removes the personal maximum.
    pub daily_max: Option<Option<i32>>,
    pub active: Option<bool>,
    pub password: Option<NewPassword>,
}

impl AccountChanges {
    /// Whether the user's logins must end: they are deactivated or get a new password.
    fn ends_logins(&self) -> bool {
        self.active == Some(false) || self.password.is_some()
    }
}

/// Admins keep their own access: a change that would deactivate or demote the caller is refused.
fn check_not_self(caller: &Caller, id: &str, changes: &AccountChanges) -> ApiResult<()> {
    let demotes = changes.role.is_some_and(|r| r != Role::Admin);
    if id == caller.user_id && (changes.active == Some(false) || demotes) {
        return Err(ApiError::Forbidden(
            "admins cannot deactivate or demote themselves".into(),
        ));
    }
    Ok(())
}

/// Changes a user of the caller's organization.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn update(
    database: &Database,
    passwords: &Passwords,
    caller: &Caller,
    id: String,
    changes: AccountChanges,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    check_not_self(caller, &id, &changes)?;
    let end_logins = changes.ends_logins();
    let password_hash = match changes.password {
        Some(password) => Some(passwords.hash(password).await?),
        None => None,
    };
    let row = account_store::UserChanges {
        name: changes.name,
        role: changes.role,
        timezone: changes.timezone,
        daily_max: changes.daily_max,
        active: changes.active,
        password_hash,
    };
    let org_id = caller.org_id.clone();
    let user = database
        .run(move |conn| {
            let user = account_store::update_user(conn, &org_id, &id, row, now)?;
            if end_logins {
                tokens::revoke_user(conn, &org_id, &id, now)?;
            }
            Ok::<_, ApiError>(user)
        })
        .await?;
    tracing::info!(ended_logins = end_logins, "user changed");
    Ok(user)
}

/// Deactivates a user and ends their logins; their answers and history stay.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub fn deactivate(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    if id == caller.user_id {
        return Err(ApiError::Forbidden(
            "admins cannot deactivate themselves".into(),
        ));
    }
    let changes = account_store::UserChanges {
        active: Some(false),
        ..Default::default()
    };
    let user = account_store::update_user(conn, &caller.org_id, id, changes, now)?;
    tokens::revoke_user(conn, &caller.org_id, id, now)?;
    tracing::info!("user deactivated");
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> Caller {
        Caller {
            user_id: "ada".into(),
            org_id: "acme".into(),
            role: Role::Admin,
        }
    }

    #[test]
    fn admins_may_not_lock_themselves_out() {
        let deactivate = AccountChanges {
            active: Some(false),
            ..Default::default()
        };
        let demote = AccountChanges {
            role: Some(Role::Analyst),
            ..Default::default()
        };
        let rename = AccountChanges {
            name: Some("Ada".into()),
            role: Some(Role::Admin),
            ..Default::default()
        };
        assert!(check_not_self(&admin(), "ada", &deactivate).is_err());
        assert!(check_not_self(&admin(), "ada", &demote).is_err());
        assert!(check_not_self(&admin(), "ada", &rename).is_ok());
        assert!(check_not_self(&admin(), "sam", &deactivate).is_ok());
        assert!(check_not_self(&admin(), "sam", &demote).is_ok());
    }

    #[test]
    fn deactivation_and_new_passwords_end_logins() {
        let password = NewPassword::parse("password", "a-long-enough-password", None).unwrap();
        let with_password = AccountChanges {
            password: Some(password),
            ..Default::default()
        };
        let deactivate = AccountChanges {
            active: Some(false),
            ..Default::default()
        };
        assert!(with_password.ends_logins());
        assert!(deactivate.ends_logins());
        assert!(!AccountChanges::default().ends_logins());
    }
}
