//! What provisioning by SCIM keeps: the organization's token (as its SHA-256), the provider's
//! names for users and teams, and users and teams read as SCIM resources.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::schema::{assignments, logins, scim_tokens, team_members, teams, users};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::accounts::Role;
use crate::domain::ids::{OrgId, TeamId, UserId};
use crate::domain::scim::filter::Narrowing;
use crate::domain::scim::resources::{ScimGroup, ScimUser};

diesel::define_sql_function! {
    /// Lower case, on both engines: SCIM compares most text without regard to case.
    fn lower(value: Nullable<Text>) -> Nullable<Text>;
}

/// Makes `hash` the organization's one SCIM token, replacing any other.
pub fn replace_token(
    conn: &mut DbConnection,
    org_id: &OrgId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        diesel::delete(scim_tokens::table.find(org_id)).execute(conn)?;
        diesel::insert_into(scim_tokens::table)
            .values((
                scim_tokens::org_id.eq(org_id),
                scim_tokens::token_hash.eq(hash),
                scim_tokens::created_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Removes the organization's SCIM token; whether there was one.
pub fn revoke_token(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<bool> {
    Ok(diesel::delete(scim_tokens::table.find(org_id)).execute(conn)? > 0)
}

/// Whether `hash` is the organization's current SCIM token.
pub fn token_matches(conn: &mut DbConnection, org_id: &OrgId, hash: &str) -> StoreResult<bool> {
    let stored: Option<String> = scim_tokens::table
        .find(org_id)
        .select(scim_tokens::token_hash)
        .first(conn)
        .optional()?;
    Ok(stored.is_some_and(|s| s == hash))
}

type UserColumns = (
    users::id,
    users::email,
    users::name,
    users::role,
    users::active,
    users::external_id,
    users::user_name,
    users::scim_profile,
    users::created_at,
    users::updated_at,
);

const USER_COLUMNS: UserColumns = (
    users::id,
    users::email,
    users::name,
    users::role,
    users::active,
    users::external_id,
    users::user_name,
    users::scim_profile,
    users::created_at,
    users::updated_at,
);

type UserTuple = (
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

fn scim_user(row: UserTuple) -> ScimUser {
    let (id, email, name, role, active, external_id, user_name, profile, created, updated) = row;
    ScimUser {
        id: id.into(),
        email,
        name,
        role: Role::parse(&role).unwrap_or(Role::Learner),
        active,
        external_id,
        user_name,
        profile: profile.and_then(|p| serde_json::from_str(&p).ok()),
        created_at: created.and_utc(),
        updated_at: updated.and_utc(),
    }
}

/// The organization's users as SCIM resources, oldest first; only those `narrowing` can match
/// when given (the filter is evaluated on what this returns).
pub fn list_users(
    conn: &mut DbConnection,
    org_id: &OrgId,
    narrowing: Option<&Narrowing>,
) -> StoreResult<Vec<ScimUser>> {
    let mut q = users::table
        .filter(users::org_id.eq(org_id))
        .select(USER_COLUMNS)
        .order((users::created_at.asc(), users::id.asc()))
        .into_boxed();
    match narrowing {
        Some(Narrowing::UserName(v)) => {
            let v = v.to_lowercase();
            q = q.filter(
                lower(users::user_name.nullable())
                    .eq(v.clone())
                    .or(users::user_name.is_null().and(users::email.eq(v))),
            );
        }
        Some(Narrowing::ExternalId(v)) => q = q.filter(users::external_id.eq(v.clone())),
        Some(Narrowing::Email(v)) => q = q.filter(users::email.eq(v.to_lowercase())),
        Some(Narrowing::DisplayName(v)) => {
            q = q.filter(lower(users::name.nullable()).eq(v.to_lowercase()))
        }
        Some(Narrowing::Id(v)) => q = q.filter(users::id.eq(v.clone())),
        None => {}
    }
    Ok(q.load::<UserTuple>(conn)?
        .into_iter()
        .map(scim_user)
        .collect())
}

pub fn get_user(conn: &mut DbConnection, org_id: &OrgId, id: &UserId) -> StoreResult<ScimUser> {
    Ok(scim_user(
        users::table
            .find((org_id, id))
            .select(USER_COLUMNS)
            .first::<UserTuple>(conn)?,
    ))
}

/// Which of a user's unique SCIM names another user of the organization already has:
/// `"userName"` (compared without regard to case, and against the addresses of users who have
/// no userName of their own) or `"externalId"`.
pub fn taken_name(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_name: &str,
    external_id: Option<&str>,
    except: Option<&UserId>,
) -> StoreResult<Option<&'static str>> {
    let name = user_name.to_lowercase();
    // Ids are never empty, so "" excepts nobody.
    let except = except.map_or("", UserId::as_str);
    let by_name = users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::id.ne(except))
        .filter(
            lower(users::user_name.nullable())
                .eq(name.clone())
                .or(users::user_name.is_null().and(users::email.eq(name))),
        )
        .select(users::id)
        .first::<String>(conn)
        .optional()?;
    if by_name.is_some() {
        return Ok(Some("userName"));
    }
    if let Some(external_id) = external_id {
        let by_external = users::table
            .filter(users::org_id.eq(org_id))
            .filter(users::id.ne(except))
            .filter(users::external_id.eq(external_id))
            .select(users::id)
            .first::<String>(conn)
            .optional()?;
        if by_external.is_some() {
            return Ok(Some("externalId"));
        }
    }
    Ok(None)
}

/// How many active admins the organization has besides `except`.
pub fn other_active_admins(
    conn: &mut DbConnection,
    org_id: &OrgId,
    except: &UserId,
) -> StoreResult<i64> {
    Ok(users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::id.ne(except))
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)?)
}

/// Sets what SCIM keeps of a user besides Reprise's own fields.
pub fn set_user_names(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &UserId,
    external_id: Option<&str>,
    user_name: &str,
    profile: &serde_json::Value,
) -> StoreResult<()> {
    diesel::update(users::table.find((org_id, id)))
        .set((
            users::external_id.eq(external_id),
            users::user_name.eq(user_name),
            users::scim_profile.eq(profile.to_string()),
        ))
        .execute(conn)
        .map_err(|e| StoreError::unique_as(e, "another user has this userName or externalId"))?;
    Ok(())
}

/// Changes the address a user signs in with (their row and the login directory's).
pub fn change_email(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &UserId,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        diesel::delete(
            logins::table
                .filter(logins::org_id.eq(org_id))
                .filter(logins::user_id.eq(id)),
        )
        .execute(conn)?;
        diesel::insert_into(logins::table)
            .values((
                logins::email.eq(email),
                logins::org_id.eq(org_id),
                logins::user_id.eq(id),
            ))
            .execute(conn)
            .map_err(|e| {
                StoreError::unique_as(
                    e,
                    "a user with this e-mail address already exists in this organization",
                )
            })?;
        diesel::update(users::table.find((org_id, id)))
            .set((
                users::email.eq(email),
                users::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Every membership of the organization: the ids of each team's members.
pub fn memberships(
    conn: &mut DbConnection,
    org_id: &OrgId,
) -> StoreResult<HashMap<String, Vec<UserId>>> {
    members(conn, org_id, None)
}

/// Members of every team of the organization, or of one.
fn members(
    conn: &mut DbConnection,
    org_id: &OrgId,
    team: Option<&TeamId>,
) -> StoreResult<HashMap<String, Vec<UserId>>> {
    let mut q = team_members::table
        .filter(team_members::org_id.eq(org_id))
        .select((team_members::team_id, team_members::user_id))
        .order((team_members::team_id.asc(), team_members::user_id.asc()))
        .into_boxed();
    if let Some(team) = team {
        q = q.filter(team_members::team_id.eq(team.as_str().to_string()));
    }
    let mut by_team: HashMap<String, Vec<UserId>> = HashMap::new();
    for (team, user) in q.load::<(String, String)>(conn)? {
        by_team.entry(team).or_default().push(user.into());
    }
    Ok(by_team)
}

type TeamTuple = (String, String, Option<String>, NaiveDateTime);

fn scim_group(row: TeamTuple, members: Vec<UserId>) -> ScimGroup {
    let (id, name, external_id, created) = row;
    ScimGroup {
        id: id.into(),
        name,
        external_id,
        members,
        created_at: created.and_utc(),
    }
}

/// The organization's teams as SCIM groups, oldest first; only those `narrowing` can match
/// when given.
pub fn list_groups(
    conn: &mut DbConnection,
    org_id: &OrgId,
    narrowing: Option<&Narrowing>,
) -> StoreResult<Vec<ScimGroup>> {
    let mut q = teams::table
        .filter(teams::org_id.eq(org_id))
        .select((
            teams::id,
            teams::name,
            teams::external_id,
            teams::created_at,
        ))
        .order((teams::created_at.asc(), teams::id.asc()))
        .into_boxed();
    match narrowing {
        Some(Narrowing::DisplayName(v)) => {
            q = q.filter(lower(teams::name.nullable()).eq(v.to_lowercase()))
        }
        Some(Narrowing::ExternalId(v)) => q = q.filter(teams::external_id.eq(v.clone())),
        Some(Narrowing::Id(v)) => q = q.filter(teams::id.eq(v.clone())),
        Some(Narrowing::UserName(_) | Narrowing::Email(_)) => return Ok(Vec::new()),
        None => {}
    }
    let rows = q.load::<TeamTuple>(conn)?;
    let mut members = members(conn, org_id, None)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let m = members.remove(&row.0).unwrap_or_default();
            scim_group(row, m)
        })
        .collect())
}

pub fn get_group(conn: &mut DbConnection, org_id: &OrgId, id: &TeamId) -> StoreResult<ScimGroup> {
    let row = teams::table
        .find((org_id, id))
        .select((
            teams::id,
            teams::name,
            teams::external_id,
            teams::created_at,
        ))
        .first::<TeamTuple>(conn)?;
    let members = members(conn, org_id, Some(id))?
        .remove(id.as_str())
        .unwrap_or_default();
    Ok(scim_group(row, members))
}

/// Renames a team and sets the provider's id for it.
pub fn update_team(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &TeamId,
    name: &str,
    external_id: Option<&str>,
) -> StoreResult<()> {
    let changed = diesel::update(teams::table.find((org_id, id)))
        .set((teams::name.eq(name), teams::external_id.eq(external_id)))
        .execute(conn)
        .map_err(|e| StoreError::unique_as(e, "a team with this name already exists"))?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Whether a team can go without taking anything with it: no team is nested in it and no
/// assignment names it.
pub fn team_in_use(conn: &mut DbConnection, org_id: &OrgId, id: &TeamId) -> StoreResult<bool> {
    let children: i64 = teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::parent_id.eq(id.as_str()))
        .count()
        .get_result(conn)?;
    let assigned: i64 = assignments::table
        .filter(assignments::org_id.eq(org_id))
        .filter(assignments::team_id.eq(id.as_str()))
        .count()
        .get_result(conn)?;
    Ok(children > 0 || assigned > 0)
}

/// Deletes a team and its memberships.
pub fn delete_team(conn: &mut DbConnection, org_id: &OrgId, id: &TeamId) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        diesel::delete(
            team_members::table
                .filter(team_members::org_id.eq(org_id))
                .filter(team_members::team_id.eq(id)),
        )
        .execute(conn)?;
        let deleted = diesel::delete(teams::table.find((org_id, id))).execute(conn)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    })
}

/// Which of `ids` are not users of the organization.
pub fn unknown_users(
    conn: &mut DbConnection,
    org_id: &OrgId,
    ids: &[UserId],
) -> StoreResult<Vec<UserId>> {
    let wanted: Vec<&str> = ids.iter().map(UserId::as_str).collect();
    let known: Vec<String> = users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::id.eq_any(&wanted))
        .select(users::id)
        .load(conn)?;
    Ok(ids
        .iter()
        .filter(|id| !known.iter().any(|k| k == id.as_str()))
        .cloned()
        .collect())
}
