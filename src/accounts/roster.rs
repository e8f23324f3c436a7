//! Roster imports: an organization without SCIM keeps its people in step with its HR system by
//! uploading a CSV (the API, `reprise users import`). The roster is read and planned against
//! the organization (`domain::roster`), then applied in one transaction through the same flows
//! as an admin's changes, each recorded in the audit log: all or nothing.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::access::AccessCache;
use super::{teams, users};
use crate::domain::accounts::{NewPassword, Role};
use crate::domain::ids::{OrgId, TeamId, UserId};
use crate::domain::roster::{self, ExistingTeam, Member, Plan, RosterDiff, TeamRef};
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};
use crate::store::accounts::{self as account_store, NewUser, UserChanges, UserFilter};
use crate::store::audit::Actor;
use crate::store::{self, new_id, scim as scim_store, Database, DbConnection};

/// How an import goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// Deactivate the organization's active people the roster leaves out.
    pub deactivate_missing: bool,
}

/// Who imports: the organization, the actor the audit log names, and the admin importing (never
/// deactivated for being left out, and unable to demote or deactivate themselves).
#[derive(Debug, Clone)]
pub struct Importer {
    pub org_id: OrgId,
    pub actor: Actor,
    pub admin: Option<UserId>,
}

/// What an import did: the diff, and the people it created (to invite).
pub struct Imported {
    pub diff: RosterDiff,
    pub created: Vec<UserId>,
}

/// The organization as a plan needs it: its people with their teams, and its teams.
fn snapshot(conn: &mut DbConnection, org: &OrgId) -> ApiResult<(Vec<Member>, Vec<ExistingTeam>)> {
    let mut teams_of: HashMap<UserId, BTreeSet<TeamId>> = HashMap::new();
    for (team, members) in scim_store::memberships(conn, org)? {
        for user in members {
            teams_of
                .entry(user)
                .or_default()
                .insert(TeamId::new(team.clone()));
        }
    }
    let all = UserFilter {
        limit: i64::MAX,
        ..Default::default()
    };
    let members = account_store::list_users(conn, org, &all)?
        .into_iter()
        .map(|u| Member {
            teams: teams_of.remove(&u.id).unwrap_or_default(),
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            active: u.active,
        })
        .collect();
    let teams = account_store::list_teams(conn, org)?
        .into_iter()
        .map(|t| ExistingTeam {
            id: t.id.into(),
            name: t.name,
            parent_id: t.parent_id.map(TeamId::from),
        })
        .collect();
    Ok((members, teams))
}

fn make_plan(
    conn: &mut DbConnection,
    importer: &Importer,
    rows: &[roster::RosterRow],
    options: ImportOptions,
) -> ApiResult<(Plan, Vec<ExistingTeam>)> {
    let (members, teams) = snapshot(conn, &importer.org_id)?;
    let admin = importer.admin.as_ref();
    let plan = roster::plan(rows, &members, &teams, options.deactivate_missing, admin)
        .map_err(ApiError::validation)?;
    // Admins keep their own access, as in the users API.
    if let Some(me) = plan
        .people
        .iter()
        .find(|p| admin.is_some() && p.existing.as_ref().map(|m| &m.id) == admin)
    {
        if me.row.role != Role::Admin {
            return Err(ApiError::validation(vec![FieldError {
                field: "role".into(),
                message: "admins cannot demote themselves".into(),
                line: Some(me.line),
            }]));
        }
    }
    Ok((plan, teams))
}

/// Imports a roster (or, with `dry_run`, reports what importing would do). Any error in the
/// file or against the organization is a 422 listing every problem with its line, and nothing
/// is changed.
#[tracing::instrument(skip_all, fields(org_id = %importer.org_id, rows = tracing::field::Empty))]
pub async fn import(
    database: &Database,
    passwords: &super::passwords::Passwords,
    access: &AccessCache,
    importer: &Importer,
    csv: &[u8],
    options: ImportOptions,
    now: DateTime<Utc>,
) -> ApiResult<Imported> {
    let rows = roster::parse(csv).map_err(ApiError::validation)?;
    tracing::Span::current().record("rows", rows.len());
    let (plan, _) = {
        let (importer, rows) = (importer.clone(), rows.clone());
        database
            .run(move |conn| {
                store::read_tx(conn, |conn| make_plan(conn, &importer, &rows, options))
            })
            .await?
    };
    if options.dry_run {
        return Ok(Imported {
            diff: plan.diff(true),
            created: Vec::new(),
        });
    }
    // Passwords nobody knows for the people the import creates, hashed before the write
    // transaction so it is not held through the hashing.
    let to_create = plan.people.iter().filter(|p| p.existing.is_none()).count();
    let mut hashes = Vec::with_capacity(to_create);
    for _ in 0..to_create {
        hashes.push(passwords.hash(NewPassword::unguessable()).await?);
    }
    let importer_ = importer.clone();
    let (imported, ended) = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let (plan, teams) = make_plan(conn, &importer_, &rows, options)?;
                apply(conn, &importer_, &plan, &teams, hashes, now)
            })
        })
        .await?;
    for id in &ended {
        access.forget(&importer.org_id, id);
    }
    tracing::info!(
        created = imported.diff.created.len(),
        updated = imported.diff.updated.len(),
        deactivated = imported.diff.deactivated.len(),
        "roster imported"
    );
    Ok(imported)
}

/// Applies a plan inside the caller's transaction; returns what it did and the users whose
/// logins it ended.
fn apply(
    conn: &mut DbConnection,
    importer: &Importer,
    plan: &Plan,
    teams: &[ExistingTeam],
    mut hashes: Vec<String>,
    now: DateTime<Utc>,
) -> ApiResult<(Imported, Vec<UserId>)> {
    let org = &importer.org_id;
    let actor = || importer.actor.clone();
    let mut made: HashMap<String, TeamId> = HashMap::new();
    for team in &plan.new_teams {
        let parent = match &team.parent {
            None => None,
            Some(path) => made
                .get(path)
                .or_else(|| teams.iter().find(|t| &t.name == path).map(|t| &t.id))
                .cloned(),
        };
        let parent = parent.as_ref().map(TeamId::as_str);
        let created = teams::create_as(conn, org, actor(), &team.name, parent, now)?;
        made.insert(team.path.clone(), TeamId::new(created.id));
    }
    let resolve = |r: &TeamRef| match r {
        TeamRef::Existing(id) => id.clone(),
        TeamRef::New(path) => made[path].clone(),
    };
    let mut ended = Vec::new();
    let mut created = Vec::new();
    for person in &plan.people {
        let (id, current) = match &person.existing {
            None => {
                let hash = hashes.pop().ok_or_else(|| {
                    ApiError::Concurrent("people were added meanwhile: import again".into())
                })?;
                let row = NewUser {
                    id: new_id(),
                    email: person.row.email.as_str().into(),
                    name: person.row.name.clone(),
                    password_hash: hash,
                    role: person.row.role,
                    timezone: None,
                };
                let user = users::create_in(conn, org, actor(), row, &[], now)?;
                created.push(user.id.clone());
                (user.id, BTreeSet::new())
            }
            Some(m) => {
                let changes = UserChanges {
                    name: (m.name != person.row.name).then(|| person.row.name.clone()),
                    role: (m.role != person.row.role).then_some(person.row.role),
                    active: (!m.active).then_some(true),
                    ..Default::default()
                };
                let changed =
                    changes.name.is_some() || changes.role.is_some() || changes.active.is_some();
                if changed
                    && users::apply_in(conn, org, actor(), &m.id, changes, "user.updated", now)?
                        .ended_logins
                {
                    ended.push(m.id.clone());
                }
                (m.id.clone(), m.teams.clone())
            }
        };
        if let Some(wanted) = &person.teams {
            let wanted: BTreeSet<TeamId> = wanted.iter().map(resolve).collect();
            for team in wanted.difference(&current) {
                teams::add_members_as(conn, org, actor(), team, std::slice::from_ref(&id), now)?;
            }
            for team in current.difference(&wanted) {
                teams::remove_members_as(conn, org, actor(), team, std::slice::from_ref(&id), now)?;
            }
        }
    }
    for member in &plan.deactivate {
        let id = member.id.clone();
        let changes = UserChanges {
            active: Some(false),
            ..Default::default()
        };
        if users::apply_in(conn, org, actor(), &id, changes, "user.deactivated", now)?.ended_logins
        {
            ended.push(id);
        }
    }
    Ok((
        Imported {
            diff: plan.diff(false),
            created,
        },
        ended,
    ))
}
