//! Team administration: teams (nested under a parent or not) and their members. A reference in
//! the input that names nothing is reported on its field, never as the team of the path.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::scope::TeamScope;
use crate::auth::Caller;
use crate::domain::accounts::Team;
use crate::domain::ids::{OrgId, TeamId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Actor, Entry};
use crate::store::{self, accounts as account_store, new_id, DbConnection, StoreError};

/// The teams the caller may read: the organization's, or a manager's own and those below them.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn list(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Vec<Team>> {
    let scope = TeamScope::of(conn, caller)?;
    let mut teams = account_store::list_teams(conn, &caller.org_id)?;
    teams.retain(|t| scope.reaches(Some(&t.id)));
    Ok(teams)
}

/// Creates a team in the caller's organization, under `parent_id` when given (404 on
/// `parent_id` when there is no such team).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, team_id = tracing::field::Empty))]
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    name: &str,
    parent_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Team> {
    let team = create_as(conn, &caller.org_id, caller.into(), name, parent_id, now)?;
    tracing::Span::current().record("team_id", tracing::field::display(&team.id));
    tracing::info!("team created");
    Ok(team)
}

/// Creates a team and records it as done by `actor`, in one transaction (a savepoint inside
/// the caller's).
pub(crate) fn create_as(
    conn: &mut DbConnection,
    org_id: &OrgId,
    actor: Actor,
    name: &str,
    parent_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Team> {
    store::write_tx(conn, |conn| {
        let team = account_store::create_team(conn, org_id, &new_id(), name, parent_id, now)
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::missing("parent_id", "no such team"),
                other => other.into(),
            })?;
        let after = json!({"name": team.name, "parent_id": team.parent_id});
        let entry = Entry::by(actor, "team.created", "team", team.id.as_str()).after(after);
        audit::record(conn, org_id, &entry, now)?;
        Ok::<_, ApiError>(team)
    })
}

/// Puts users in a team and records it as done by `actor`; a user id that names nobody is a
/// 422 on `user_ids`.
pub(crate) fn add_members_as(
    conn: &mut DbConnection,
    org_id: &OrgId,
    actor: Actor,
    team_id: &TeamId,
    user_ids: &[UserId],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    store::write_tx(conn, |conn| {
        account_store::add_team_members(conn, org_id, team_id, user_ids).map_err(|e| match e {
            StoreError::NotFound => ApiError::field("user_ids", "names a user that does not exist"),
            other => other.into(),
        })?;
        record_members(
            conn,
            org_id,
            actor,
            team_id,
            "team.members_added",
            user_ids,
            now,
        )
    })
}

/// Records a change of a team's members: `user_ids` after for additions, before for removals.
fn record_members(
    conn: &mut DbConnection,
    org_id: &OrgId,
    actor: Actor,
    team_id: &TeamId,
    action: &str,
    user_ids: &[UserId],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let fields = json!({"user_ids": user_ids});
    let entry = Entry::by(actor, action, "team", team_id.as_str());
    let entry = if action == "team.members_added" {
        entry.after(fields)
    } else {
        entry.before(fields)
    };
    audit::record(conn, org_id, &entry, now)?;
    Ok(())
}

/// Takes users out of a team and records it as done by `actor`; every one must be a member.
pub(crate) fn remove_members_as(
    conn: &mut DbConnection,
    org_id: &OrgId,
    actor: Actor,
    team_id: &TeamId,
    user_ids: &[UserId],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    store::write_tx(conn, |conn| {
        for user_id in user_ids {
            account_store::remove_team_member(conn, org_id, team_id, user_id)?;
        }
        let action = if user_ids.len() == 1 {
            "team.member_removed"
        } else {
            "team.members_removed"
        };
        record_members(conn, org_id, actor, team_id, action, user_ids, now)
    })
}

/// Puts users in a team. 404 is for the team; a user id that names nobody is a 422 on
/// `user_ids` (a 404 would say the team is gone).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, team_id = %team_id, members = user_ids.len()))]
pub fn add_members(
    conn: &mut DbConnection,
    caller: &Caller,
    team_id: &TeamId,
    user_ids: &[UserId],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    account_store::get_team(conn, &caller.org_id, team_id)?;
    add_members_as(conn, &caller.org_id, caller.into(), team_id, user_ids, now)?;
    tracing::info!("team members added");
    Ok(())
}

/// Takes a user out of a team.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, team_id = %team_id, subject_id = %user_id))]
pub fn remove_member(
    conn: &mut DbConnection,
    caller: &Caller,
    team_id: &TeamId,
    user_id: &UserId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    remove_members_as(
        conn,
        &caller.org_id,
        caller.into(),
        team_id,
        std::slice::from_ref(user_id),
        now,
    )
}
