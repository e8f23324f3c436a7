//! Organizations, users, teams and the global login directory.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{logins, organizations, team_members, teams, users};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::accounts::{Organization, Role, Team, User};
use crate::domain::ids::{OrgId, TeamId, UserId};
use crate::domain::nudges::{ClockTime, NotificationChoice, NotificationSettings};
use crate::domain::teams::TeamTree;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
struct OrgRow {
    id: String,
    slug: String,
    name: String,
    timezone: String,
    quiet_weekdays: String,
    created_at: NaiveDateTime,
    nudge_push: bool,
    nudge_email: bool,
    nudge_at: String,
    strict_imports: bool,
    leaderboards: bool,
    peer_review: bool,
}

impl From<OrgRow> for Organization {
    fn from(r: OrgRow) -> Self {
        Organization {
            id: r.id.into(),
            slug: r.slug,
            name: r.name,
            timezone: r.timezone,
            quiet_weekdays: weekday_list(&r.quiet_weekdays),
            created_at: r.created_at.and_utc(),
            notification_defaults: NotificationChoice {
                push: r.nudge_push,
                email: r.nudge_email,
                remind_at: r.nudge_at,
            },
            strict_imports: r.strict_imports,
            leaderboards: r.leaderboards,
            peer_review: r.peer_review,
        }
    }
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    org_id: String,
    id: String,
    email: String,
    name: String,
    password_hash: String,
    role: String,
    timezone: Option<String>,
    daily_max: Option<i32>,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    auth_version: i64,
}

impl UserRow {
    fn into_user(self) -> (User, String) {
        let user = User {
            role: Role::parse(&self.role).unwrap_or(Role::Learner),
            id: self.id.into(),
            org_id: self.org_id.into(),
            email: self.email,
            name: self.name,
            timezone: self.timezone,
            daily_max: self.daily_max,
            active: self.active,
            created_at: self.created_at.and_utc(),
        };
        (user, self.password_hash)
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
struct TeamRow {
    org_id: String,
    id: String,
    name: String,
    parent_id: Option<String>,
    created_at: NaiveDateTime,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Self {
        Team {
            id: r.id,
            name: r.name,
            parent_id: r.parent_id,
            created_at: r.created_at.and_utc(),
        }
    }
}

/// What it takes to create a user; the password is already hashed.
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub timezone: Option<String>,
}

pub struct NewOrg {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub timezone: String,
}

fn insert_user(
    conn: &mut DbConnection,
    org_id: &OrgId,
    u: NewUser,
    now: NaiveDateTime,
) -> StoreResult<User> {
    diesel::insert_into(logins::table)
        .values((
            logins::email.eq(&u.email),
            logins::org_id.eq(org_id),
            logins::user_id.eq(&u.id),
        ))
        .execute(conn)
        .map_err(|e| {
            StoreError::unique_as(
                e,
                "a user with this e-mail address already exists in this organization",
            )
        })?;
    let row = UserRow {
        org_id: org_id.to_string(),
        id: u.id,
        email: u.email,
        name: u.name,
        password_hash: u.password_hash,
        role: u.role.as_str().to_string(),
        timezone: u.timezone,
        daily_max: None,
        active: true,
        created_at: now,
        updated_at: now,
        auth_version: FIRST_AUTH_VERSION,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)?;
    Ok(row.into_user().0)
}

/// Creates an organization and its first admin in one transaction.
pub fn create_org_with_admin(
    conn: &mut DbConnection,
    org: NewOrg,
    admin: NewUser,
    now: DateTime<Utc>,
) -> StoreResult<(Organization, User)> {
    let now = now.naive_utc();
    super::write_tx(conn, |conn| {
        let row = OrgRow {
            id: org.id,
            slug: org.slug,
            name: org.name,
            timezone: org.timezone,
            quiet_weekdays: String::new(),
            created_at: now,
            nudge_push: true,
            nudge_email: true,
            nudge_at: ClockTime::default().to_string(),
            strict_imports: false,
            leaderboards: false,
            peer_review: false,
        };
        diesel::insert_into(organizations::table)
            .values(&row)
            .execute(conn)
            .map_err(|e| {
                StoreError::unique_as(e, "an organization with this name already exists")
            })?;
        let user = insert_user(conn, &OrgId::new(row.id.clone()), admin, now)?;
        Ok((Organization::from(row), user))
    })
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn get_org(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Organization> {
    Ok(organizations::table
        .find(org_id)
        .select(OrgRow::as_select())
        .first(conn)?
        .into())
}

pub fn find_org_by_slug(conn: &mut DbConnection, slug: &str) -> StoreResult<Organization> {
    Ok(organizations::table
        .filter(organizations::slug.eq(slug))
        .select(OrgRow::as_select())
        .first(conn)?
        .into())
}

/// An account found by its e-mail address, with what logging in checks.
pub struct Login {
    pub user: User,
    pub password_hash: String,
    /// The user's auth version when the password hash was read: a token is issued only if it
    /// is still current, so a password changed meanwhile is not undone by a slow login.
    pub auth_version: i64,
}

/// The accounts of an e-mail address with their password hashes, at most `limit`, oldest
/// organization first; only the one of the organization with slug `organization` when given.
/// An address has one account per organization at most.
pub fn find_logins(
    conn: &mut DbConnection,
    email: &str,
    organization: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Login>> {
    let mut query = logins::table
        .inner_join(
            users::table.on(users::org_id
                .eq(logins::org_id)
                .and(users::id.eq(logins::user_id))),
        )
        .inner_join(organizations::table.on(organizations::id.eq(logins::org_id)))
        .filter(logins::email.eq(email))
        .select(UserRow::as_select())
        .order(organizations::created_at.asc())
        .then_order_by(organizations::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(slug) = organization {
        query = query.filter(organizations::slug.eq(slug));
    }
    Ok(query
        .load::<UserRow>(conn)?
        .into_iter()
        .map(|row| {
            let auth_version = row.auth_version;
            let (user, password_hash) = row.into_user();
            Login {
                user,
                password_hash,
                auth_version,
            }
        })
        .collect())
}

/// Whether an organization already has this slug.
pub fn slug_taken(conn: &mut DbConnection, slug: &str) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        organizations::table.filter(organizations::slug.eq(slug)),
    ))
    .get_result(conn)?)
}

/// The auth version of a user created now (the column's default, for rows inserted in bulk).
pub const FIRST_AUTH_VERSION: i64 = 0;

/// What a user may do now, as an access token is checked against it: the token must carry
/// `version`, the user must be `active`, and they act with `role` (not the role in the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserAccess {
    pub version: i64,
    pub role: Role,
    pub active: bool,
}

/// The user's current access, or `None` when there is no such user.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn user_access(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
) -> StoreResult<Option<UserAccess>> {
    let row: Option<(i64, String, bool)> = users::table
        .find((org_id, user_id))
        .select((users::auth_version, users::role, users::active))
        .first(conn)
        .optional()?;
    Ok(row.map(|(version, role, active)| UserAccess {
        version,
        role: Role::parse(&role).unwrap_or(Role::Learner),
        active,
    }))
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn get_user(conn: &mut DbConnection, org_id: &OrgId, user_id: &UserId) -> StoreResult<User> {
    Ok(users::table
        .find((org_id, user_id))
        .select(UserRow::as_select())
        .first(conn)?
        .into_user()
        .0)
}

/// A user's password hash.
pub fn password_hash(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
) -> StoreResult<String> {
    Ok(users::table
        .find((org_id, user_id))
        .select(users::password_hash)
        .first(conn)?)
}

/// Creates a user and puts them in `team_ids`, all or nothing. A missing team is `NotFound`.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn create_user(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user: NewUser,
    team_ids: &[TeamId],
    now: DateTime<Utc>,
) -> StoreResult<User> {
    super::write_tx(conn, |conn| {
        let user = insert_user(conn, org_id, user, now.naive_utc())?;
        for team_id in team_ids {
            insert_member(conn, org_id, team_id, &user.id)?;
        }
        Ok(user)
    })
}

fn insert_member(
    conn: &mut DbConnection,
    org_id: &OrgId,
    team_id: &TeamId,
    user_id: &UserId,
) -> StoreResult<()> {
    teams::table
        .find((org_id, team_id))
        .select(teams::id)
        .first::<String>(conn)?;
    users::table
        .find((org_id, user_id))
        .select(users::id)
        .first::<String>(conn)?;
    let present = team_members::table
        .find((org_id, team_id, user_id))
        .count()
        .get_result::<i64>(conn)?;
    if present == 0 {
        diesel::insert_into(team_members::table)
            .values((
                team_members::org_id.eq(org_id),
                team_members::team_id.eq(team_id),
                team_members::user_id.eq(user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Filters for listing users.
#[derive(Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub team_id: Option<String>,
    /// Only members of one of these teams (`None`: anyone in the organization).
    pub within: Option<Vec<String>>,
    pub limit: i64,
    pub offset: i64,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn list_users(
    conn: &mut DbConnection,
    org_id: &OrgId,
    f: &UserFilter,
) -> StoreResult<Vec<User>> {
    let mut q = users::table
        .filter(users::org_id.eq(org_id))
        .select(UserRow::as_select())
        .order(users::email.asc())
        .limit(f.limit)
        .offset(f.offset)
        .into_boxed();
    if let Some(role) = f.role {
        q = q.filter(users::role.eq(role.as_str()));
    }
    if let Some(team) = &f.team_id {
        let members = team_members::table
            .filter(team_members::org_id.eq(org_id))
            .filter(team_members::team_id.eq(team.clone()))
            .select(team_members::user_id);
        q = q.filter(users::id.eq_any(members));
    }
    if let Some(teams) = &f.within {
        let members = team_members::table
            .filter(team_members::org_id.eq(org_id))
            .filter(team_members::team_id.eq_any(teams.clone()))
            .select(team_members::user_id);
        q = q.filter(users::id.eq_any(members));
    }
    Ok(q.load(conn)?.into_iter().map(|r| r.into_user().0).collect())
}

/// Changes an administrator may make to a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub timezone: Option<Option<String>>,
    pub daily_max: Option<Option<i32>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

impl UserChanges {
    /// Whether the changes alter what the user's tokens stand for: a new role, activation or
    /// deactivation, or a new password. Names, zones and daily maximums do not. Team
    /// memberships are not user changes at all: a manager's reach is read from the database
    /// on every request that needs it (`accounts::scope::TeamScope`), so it never rides on a
    /// token.
    fn ends_logins(&self, role: &str, active: bool) -> bool {
        self.password_hash.is_some()
            || self.role.is_some_and(|r| r.as_str() != role)
            || self.active.is_some_and(|a| a != active)
    }
}

/// A user as changed, and whether the change ended their logins.
pub struct ChangedUser {
    pub user: User,
    pub ended_logins: bool,
}

/// Changes a user. When the change ends their logins ([`UserChanges::ends_logins`]), the same
/// transaction raises their auth version, so every access token issued before stops working,
/// and revokes all their refresh tokens, so none can be exchanged for a new one.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn update_user(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
    c: UserChanges,
    now: DateTime<Utc>,
) -> StoreResult<ChangedUser> {
    super::write_tx(conn, |conn| {
        let target = users::table.find((org_id, user_id));
        let current = target.select(UserRow::as_select()).first(conn)?;
        let ended_logins = c.ends_logins(&current.role, current.active);
        diesel::update(target)
            .set((
                users::name.eq(c.name.unwrap_or(current.name)),
                users::role.eq(c
                    .role
                    .map(|r| r.as_str().to_string())
                    .unwrap_or(current.role)),
                users::timezone.eq(c.timezone.unwrap_or(current.timezone)),
                users::daily_max.eq(c.daily_max.unwrap_or(current.daily_max)),
                users::active.eq(c.active.unwrap_or(current.active)),
                users::password_hash.eq(c.password_hash.unwrap_or(current.password_hash)),
                users::updated_at.eq(now.naive_utc()),
                // Added in SQL, so concurrent changes each count on PostgreSQL too.
                users::auth_version.eq(users::auth_version + i64::from(ended_logins)),
            ))
            .execute(conn)?;
        if ended_logins {
            super::tokens::revoke_user(conn, org_id, user_id, now)?;
        }
        let user = target
            .select(UserRow::as_select())
            .first(conn)?
            .into_user()
            .0;
        Ok(ChangedUser { user, ended_logins })
    })
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn create_team(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &str,
    name: &str,
    parent_id: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Team> {
    super::write_tx(conn, |conn| {
        if let Some(parent) = parent_id {
            teams::table
                .find((org_id, parent))
                .select(teams::id)
                .first::<String>(conn)?;
        }
        let row = TeamRow {
            org_id: org_id.to_string(),
            id: id.into(),
            name: name.into(),
            parent_id: parent_id.map(String::from),
            created_at: now.naive_utc(),
        };
        diesel::insert_into(teams::table)
            .values(&row)
            .execute(conn)
            .map_err(|e| StoreError::unique_as(e, "a team with this name already exists"))?;
        Ok(row.into())
    })
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn list_teams(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<Team>> {
    Ok(teams::table
        .filter(teams::org_id.eq(org_id))
        .order(teams::name.asc())
        .select(TeamRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Team::from)
        .collect())
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn get_team(conn: &mut DbConnection, org_id: &OrgId, team_id: &TeamId) -> StoreResult<Team> {
    Ok(teams::table
        .find((org_id, team_id))
        .select(TeamRow::as_select())
        .first(conn)?
        .into())
}

/// Adds users to a team; users already in it stay once. Every user must belong to the org.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn add_team_members(
    conn: &mut DbConnection,
    org_id: &OrgId,
    team_id: &TeamId,
    user_ids: &[UserId],
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        for user_id in user_ids {
            insert_member(conn, org_id, team_id, user_id)?;
        }
        Ok(())
    })
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn remove_team_member(
    conn: &mut DbConnection,
    org_id: &OrgId,
    team_id: &TeamId,
    user_id: &UserId,
) -> StoreResult<()> {
    let removed =
        diesel::delete(team_members::table.find((org_id, team_id, user_id))).execute(conn)?;
    if removed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Ids of the teams a user belongs to, and of every team nested below them.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn team_scope(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
) -> StoreResult<Vec<String>> {
    let direct: Vec<String> = team_members::table
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq(user_id))
        .select(team_members::team_id)
        .load(conn)?;
    let all: Vec<(String, Option<String>)> = teams::table
        .filter(teams::org_id.eq(org_id))
        .select((teams::id, teams::parent_id))
        .load(conn)?;
    Ok(TeamTree::new(all).with_descendants(&direct))
}

/// Teams the user is a direct member of.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn list_user_teams(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
) -> StoreResult<Vec<String>> {
    Ok(team_members::table
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq(user_id))
        .select(team_members::team_id)
        .load(conn)?)
}

/// Changes to an organization's settings; `None` leaves one as it is.
#[derive(Default)]
pub struct OrgUpdate {
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// As stored: comma-joined, in week order.
    pub quiet_weekdays: Option<String>,
    pub notification_defaults: Option<NotificationSettings>,
    pub strict_imports: Option<bool>,
    pub leaderboards: Option<bool>,
    pub peer_review: Option<bool>,
}

/// Changes an organization's settings.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn update_org(
    conn: &mut DbConnection,
    org_id: &OrgId,
    update: OrgUpdate,
) -> StoreResult<Organization> {
    let current = organizations::table
        .find(org_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    let defaults = update.notification_defaults;
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::name.eq(update.name.unwrap_or(current.name)),
            organizations::timezone.eq(update.timezone.unwrap_or(current.timezone)),
            organizations::quiet_weekdays
                .eq(update.quiet_weekdays.unwrap_or(current.quiet_weekdays)),
            organizations::nudge_push.eq(defaults.map_or(current.nudge_push, |d| d.push)),
            organizations::nudge_email.eq(defaults.map_or(current.nudge_email, |d| d.email)),
            organizations::nudge_at
                .eq(defaults.map_or(current.nudge_at, |d| d.remind_at.to_string())),
            organizations::strict_imports
                .eq(update.strict_imports.unwrap_or(current.strict_imports)),
            organizations::leaderboards.eq(update.leaderboards.unwrap_or(current.leaderboards)),
            organizations::peer_review.eq(update.peer_review.unwrap_or(current.peer_review)),
        ))
        .execute(conn)?;
    get_org(conn, org_id)
}

/// Weekdays as the organizations table keeps them (`"sat,sun"`), as a list.
pub(super) fn weekday_list(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|d| !d.is_empty())
        .map(String::from)
        .collect()
}

/// What is stored as the password of an account created by single sign-on: not a hash, so no
/// password ever matches it (an admin can still set one).
pub const NO_PASSWORD: &str = "!sso";

/// A member as their organization's identity provider describes them at a sign-in.
pub struct SyncedMember<'a> {
    pub email: &'a str,
    pub name: &'a str,
    /// Their role; `None` leaves an existing member's role as it is (roles are then managed
    /// in Reprise) and gives a new one `default_role`.
    pub role: Option<Role>,
    pub default_role: Role,
    /// The teams they belong to, by name; `None` leaves memberships as they are.
    pub teams: Option<&'a [String]>,
}

/// The member after a sign-in synchronized them.
pub struct Synced {
    pub user: User,
    /// The member as they were before this sign-in; `None` when it created them.
    pub previous: Option<User>,
    pub created: bool,
    /// The role changed, ending the member's earlier logins.
    pub ended_logins: bool,
}

/// Creates the member at their first sign-in, or brings an existing one's name, role and teams
/// in line with the provider, inside the caller's write transaction. A role change raises the
/// auth version and revokes refresh tokens, as an admin's change would. Teams named by the
/// provider that do not exist yet are created at the top level. `None` for a deactivated
/// account, which signing in does not bring back.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn sync_member(
    conn: &mut DbConnection,
    org_id: &OrgId,
    member: SyncedMember,
    now: DateTime<Utc>,
) -> StoreResult<Option<Synced>> {
    let existing: Option<UserRow> = users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::email.eq(member.email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    let previous = existing.as_ref().map(|row| row.clone().into_user().0);
    let (user_id, created, ended_logins) = match existing {
        Some(row) if !row.active => return Ok(None),
        Some(row) => {
            let role = member
                .role
                .map(|r| r.as_str().to_string())
                .unwrap_or_else(|| row.role.clone());
            let role_changed = row.role != role;
            diesel::update(users::table.find((org_id, &row.id)))
                .set((
                    users::name.eq(member.name),
                    users::role.eq(&role),
                    users::updated_at.eq(now.naive_utc()),
                    users::auth_version.eq(users::auth_version + i64::from(role_changed)),
                ))
                .execute(conn)?;
            let id = UserId::from(row.id);
            if role_changed {
                super::tokens::revoke_user(conn, org_id, &id, now)?;
            }
            (id, false, role_changed)
        }
        None => {
            let user = insert_user(
                conn,
                org_id,
                NewUser {
                    id: super::new_id(),
                    email: member.email.into(),
                    name: member.name.into(),
                    password_hash: NO_PASSWORD.into(),
                    role: member.role.unwrap_or(member.default_role),
                    timezone: None,
                },
                now.naive_utc(),
            )?;
            (user.id, true, false)
        }
    };
    if let Some(names) = member.teams {
        let mut wanted = Vec::with_capacity(names.len());
        for name in names {
            let found: Option<String> = teams::table
                .filter(teams::org_id.eq(org_id))
                .filter(teams::name.eq(name))
                .select(teams::id)
                .first(conn)
                .optional()?;
            let id = match found {
                Some(id) => id,
                None => {
                    let row = TeamRow {
                        org_id: org_id.to_string(),
                        id: super::new_id(),
                        name: name.clone(),
                        parent_id: None,
                        created_at: now.naive_utc(),
                    };
                    diesel::insert_into(teams::table)
                        .values(&row)
                        .execute(conn)?;
                    row.id
                }
            };
            wanted.push(id);
        }
        diesel::delete(
            team_members::table
                .filter(team_members::org_id.eq(org_id))
                .filter(team_members::user_id.eq(&user_id))
                .filter(team_members::team_id.ne_all(&wanted)),
        )
        .execute(conn)?;
        for team_id in &wanted {
            insert_member(conn, org_id, &TeamId::from(team_id.clone()), &user_id)?;
        }
    }
    let user = get_user(conn, org_id, &user_id)?;
    Ok(Some(Synced {
        user,
        previous,
        created,
        ended_logins,
    }))
}

/// Ids of a team's direct members.
pub fn team_member_ids(
    conn: &mut DbConnection,
    org_id: &OrgId,
    team_id: &str,
) -> StoreResult<Vec<String>> {
    Ok(team_members::table
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::team_id.eq(team_id))
        .select(team_members::user_id)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::UserChanges;
    use crate::domain::accounts::Role;

    #[test]
    fn role_activation_and_password_changes_end_logins() {
        let change = |c: UserChanges| c.ends_logins("learner", true);
        assert!(change(UserChanges {
            role: Some(Role::Admin),
            ..Default::default()
        }));
        assert!(change(UserChanges {
            active: Some(false),
            ..Default::default()
        }));
        assert!(change(UserChanges {
            password_hash: Some("$argon2id$…".into()),
            ..Default::default()
        }));
        assert!(!UserChanges {
            active: Some(true),
            ..Default::default()
        }
        .ends_logins("learner", true));
        assert!(UserChanges {
            active: Some(true),
            ..Default::default()
        }
        .ends_logins("learner", false));
        assert!(!change(UserChanges {
            role: Some(Role::Learner),
            name: Some("Sam".into()),
            timezone: Some(None),
            daily_max: Some(Some(3)),
            ..Default::default()
        }));
    }
}
