//! The caller's own account, and the administration of users: creating them (with their
//! teams), changing them, deactivating them. A change of role, activation or password ends the
//! user's logins at once (see `accounts::access`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::access::AccessCache;
use super::passwords::Passwords;
use super::scope::TeamScope;
use crate::auth::Caller;
use crate::domain::accounts::{Email, NewPassword, Organization, Role, User};
use crate::domain::audit::changed_fields;
use crate::domain::ids::{OrgId, TeamId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Actor, Entry};
use crate::store::{self, accounts as account_store, new_id, Database, DbConnection, StoreError};

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
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &UserId) -> ApiResult<User> {
    match in_reach(conn, caller, id)? {
        (user, true) => Ok(user),
        (_, false) => Err(StoreError::NotFound.into()),
    }
}

/// A user of the caller's organization (another organization's, or nobody, is a 404) and
/// whether the caller reaches them: themself, anyone for the whole organization's roles, the
/// people of their teams (and of the teams below them) for managers. Flows that may say "not
/// one of your people" (a 403) read the second half; [`get`] hides it as a 404.
pub fn in_reach(conn: &mut DbConnection, caller: &Caller, id: &UserId) -> ApiResult<(User, bool)> {
    let user = account_store::get_user(conn, &caller.org_id, id)?;
    if *id == caller.user_id {
        return Ok((user, true));
    }
    let scope = TeamScope::of(conn, caller)?;
    if scope.teams().is_none() {
        return Ok((user, true));
    }
    let teams = account_store::list_user_teams(conn, &caller.org_id, id)?;
    let reached = teams.iter().any(|t| scope.reaches(Some(t)));
    Ok((user, reached))
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
    pub team_ids: Vec<TeamId>,
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
    let actor = Actor::from(caller);
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
            create_in(conn, &org_id, actor, row, &new.team_ids, now)
        })
        .await?;
    tracing::Span::current().record("subject_id", tracing::field::display(&user.id));
    tracing::info!(role = user.role.as_str(), "user created");
    Ok(user)
}

/// Creates a user with their teams and records it, in one transaction (a savepoint inside the
/// caller's). A team that does not exist is a 404 naming `team_ids`.
pub(crate) fn create_in(
    conn: &mut DbConnection,
    org_id: &OrgId,
    actor: Actor,
    row: account_store::NewUser,
    team_ids: &[TeamId],
    now: DateTime<Utc>,
) -> ApiResult<User> {
    store::write_tx(conn, |conn| {
        let user =
            account_store::create_user(conn, org_id, row, team_ids, now).map_err(|e| match e {
                StoreError::NotFound => {
                    ApiError::missing("team_ids", "names a team that does not exist")
                }
                other => other.into(),
            })?;
        let after = json!({"role": user.role, "active": true, "team_ids": team_ids});
        audit::record(
            conn,
            org_id,
            &Entry::by(actor, "user.created", "user", user.id.as_str()).after(after),
            now,
        )?;
        Ok::<_, ApiError>(user)
    })
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

/// Admins keep their own access: a change that would deactivate or demote the caller is refused.
fn check_not_self(caller: &Caller, id: &UserId, changes: &AccountChanges) -> ApiResult<()> {
    let demotes = changes.role.is_some_and(|r| r != Role::Admin);
    if *id == caller.user_id && (changes.active == Some(false) || demotes) {
        return Err(ApiError::Forbidden(
            "admins cannot deactivate or demote themselves".into(),
        ));
    }
    Ok(())
}

/// Changes a user of the caller's organization. A change that ends their logins takes effect on
/// this instance's next request: their entry in `access` is dropped once it is committed.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn update(
    database: &Database,
    passwords: &Passwords,
    access: &AccessCache,
    caller: &Caller,
    id: UserId,
    changes: AccountChanges,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    check_not_self(caller, &id, &changes)?;
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
    let changed = apply(database, access, caller, id, row, "user.updated", now).await?;
    tracing::info!(ended_logins = changed.ended_logins, "user changed");
    Ok(changed.user)
}

/// Applies changes to a user and records them as `action` in the audit log, in one transaction;
/// drops their cached access when the change ended their logins.
async fn apply(
    database: &Database,
    access: &AccessCache,
    caller: &Caller,
    id: UserId,
    changes: account_store::UserChanges,
    action: &'static str,
    now: DateTime<Utc>,
) -> ApiResult<account_store::ChangedUser> {
    let org_id = caller.org_id.clone();
    let actor = Actor::from(caller);
    let changed = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                apply_in(conn, &org_id, actor, &id, changes, action, now)
            })
        })
        .await?;
    if changed.ended_logins {
        access.forget(&caller.org_id, &changed.user.id);
    }
    Ok(changed)
}

/// Applies changes to a user and records them as `action` by `actor`, inside the caller's
/// transaction. Whoever calls it drops the user's cached access once committed when the change
/// ended their logins.
pub(crate) fn apply_in(
    conn: &mut DbConnection,
    org_id: &OrgId,
    actor: Actor,
    id: &UserId,
    changes: account_store::UserChanges,
    action: &str,
    now: DateTime<Utc>,
) -> ApiResult<account_store::ChangedUser> {
    let name_changed = changes.name.is_some();
    let password_changed = changes.password_hash.is_some();
    let before = account_store::get_user(conn, org_id, id)?;
    let changed = account_store::update_user(conn, org_id, id, changes, now)?;
    let (mut was, mut is) =
        changed_fields(&account_fields(&before), &account_fields(&changed.user));
    if name_changed && before.name != changed.user.name {
        was["name"] = json!("(personal)");
        is["name"] = json!("(changed)");
    }
    if password_changed {
        is["password"] = json!("(changed)");
    }
    let entry = Entry::by(actor, action, "user", id.as_str())
        .before(was)
        .after(is);
    audit::record(conn, org_id, &entry, now)?;
    Ok(changed)
}

/// What the audit log keeps of an account: no name or e-mail address, which erasure must be able
/// to remove.
fn account_fields(u: &User) -> serde_json::Value {
    json!({"role": u.role, "active": u.active, "timezone": u.timezone, "daily_max": u.daily_max})
}

/// Deactivates a user and ends their logins; their answers and history stay.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn deactivate(
    database: &Database,
    access: &AccessCache,
    caller: &Caller,
    id: UserId,
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
    let changed = apply(
        database,
        access,
        caller,
        id,
        changes,
        "user.deactivated",
        now,
    )
    .await?;
    tracing::info!("user deactivated");
    Ok(changed.user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> Caller {
        Caller {
            user_id: "ada".into(),
            org_id: "acme".into(),
            role: Role::Admin,
            request_id: None,
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
        assert!(check_not_self(&admin(), &"ada".into(), &deactivate).is_err());
        assert!(check_not_self(&admin(), &"ada".into(), &demote).is_err());
        assert!(check_not_self(&admin(), &"ada".into(), &rename).is_ok());
        assert!(check_not_self(&admin(), &"sam".into(), &deactivate).is_ok());
        assert!(check_not_self(&admin(), &"sam".into(), &demote).is_ok());
    }
}
