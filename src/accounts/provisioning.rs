//! Provisioning by SCIM: an organization's identity provider creates, changes and deactivates
//! its users and teams. Every change goes through the same flows as an admin's (a change of
//! role or activation ends the user's logins) and is recorded in the audit log by the `scim`
//! actor, in the transaction of the change.
//!
//! The provider authenticates with the organization's SCIM token: `<org id>.<256 random
//! bits>`, kept only as its SHA-256 like refresh tokens, one per organization, shown once.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::access::AccessCache;
use super::passwords::Passwords;
use super::{teams, users};
use crate::auth::{refresh, Caller};
use crate::domain::accounts::{NewPassword, Role};
use crate::domain::ids::{OrgId, TeamId, UserId};
use crate::domain::scim::filter::{self, Narrowing};
use crate::domain::scim::patch::PatchRequest;
use crate::domain::scim::resources::{read_group, read_user, ScimGroup, ScimUser, UserInput};
use crate::domain::scim::ScimError;
use crate::error::{ApiError, ApiResult};
use crate::store::accounts::{self as account_store, NewUser, UserChanges};
use crate::store::audit::{self, Actor, Entry};
use crate::store::{self, new_id, scim as scim_store, Database, DbConnection};

/// Issues the organization's SCIM token, replacing any other (admins). The token is returned
/// once and kept only as its hash.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn issue_token(
    conn: &mut DbConnection,
    caller: &Caller,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let token = refresh::generate(&caller.org_id);
    store::write_tx(conn, |conn| {
        scim_store::replace_token(conn, &caller.org_id, &token.hash, now)?;
        let entry = Entry::by(
            caller,
            "scim.token_issued",
            "organization",
            caller.org_id.as_str(),
        );
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(())
    })?;
    tracing::info!("SCIM token issued");
    Ok(token.token)
}

/// Revokes the organization's SCIM token (admins); a 404 when there is none.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn revoke_token(conn: &mut DbConnection, caller: &Caller, now: DateTime<Utc>) -> ApiResult<()> {
    store::write_tx(conn, |conn| {
        if !scim_store::revoke_token(conn, &caller.org_id)? {
            return Err(ApiError::NotFound(
                "the organization has no SCIM token".into(),
            ));
        }
        let entry = Entry::by(
            caller,
            "scim.token_revoked",
            "organization",
            caller.org_id.as_str(),
        );
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok(())
    })?;
    tracing::info!("SCIM token revoked");
    Ok(())
}

/// The organization a presented SCIM token belongs to; a 401 for anything else.
pub fn authenticate(conn: &mut DbConnection, token: &str) -> ApiResult<OrgId> {
    let refused = || ApiError::Unauthorized("the SCIM token is not valid".into());
    let org_id = OrgId::new(refresh::org_of(token).ok_or_else(refused)?);
    if scim_store::token_matches(conn, &org_id, &refresh::digest(token))? {
        Ok(org_id)
    } else {
        Err(refused())
    }
}

/// Who provisioning acts as: the organization's provider, in one request.
#[derive(Debug, Clone)]
pub struct Provider {
    pub org_id: OrgId,
    pub request_id: Option<String>,
    /// The SCIM base URL resources' locations start with.
    pub base: String,
}

impl Provider {
    fn actor(&self) -> Actor {
        Actor::Scim {
            request_id: self.request_id.clone(),
        }
    }
}

fn parse_filter(raw: Option<&str>) -> ApiResult<Option<scim_v2::filter::Filter>> {
    match raw.map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(raw) => Ok(Some(filter::parse(raw).map_err(ScimError::invalid_filter)?)),
    }
}

/// The resources matching `filter` (all of them without one), as documents, oldest first:
/// `load` reads the candidates (only those the narrowing can match, when there is one), and
/// the filter is evaluated on each one's document.
fn find<T>(
    filter: Option<&str>,
    load: impl FnOnce(Option<&Narrowing>) -> store::StoreResult<Vec<T>>,
    render: impl Fn(&T) -> Value,
) -> ApiResult<Vec<Value>> {
    let filter = parse_filter(filter)?;
    let narrowing = filter.as_ref().and_then(Narrowing::of);
    Ok(load(narrowing.as_ref())?
        .iter()
        .map(render)
        .filter(|doc| filter.as_ref().is_none_or(|f| filter::matches(f, doc)))
        .collect())
}

/// The users matching `filter`, as User documents.
pub fn find_users(
    conn: &mut DbConnection,
    provider: &Provider,
    filter: Option<&str>,
) -> ApiResult<Vec<Value>> {
    let org = &provider.org_id;
    find(
        filter,
        |n| scim_store::list_users(conn, org, n),
        |u| u.render(&provider.base),
    )
}

/// The teams matching `filter`, as Group documents.
pub fn find_groups(
    conn: &mut DbConnection,
    provider: &Provider,
    filter: Option<&str>,
) -> ApiResult<Vec<Value>> {
    let org = &provider.org_id;
    find(
        filter,
        |n| scim_store::list_groups(conn, org, n),
        |g| g.render(&provider.base),
    )
}

pub fn get_user(conn: &mut DbConnection, provider: &Provider, id: &UserId) -> ApiResult<ScimUser> {
    scim_store::get_user(conn, &provider.org_id, id).map_err(|e| not_found(e, "user"))
}

pub fn get_group(
    conn: &mut DbConnection,
    provider: &Provider,
    id: &TeamId,
) -> ApiResult<ScimGroup> {
    scim_store::get_group(conn, &provider.org_id, id).map_err(|e| not_found(e, "group"))
}

fn not_found(e: store::StoreError, what: &str) -> ApiError {
    match e {
        store::StoreError::NotFound => ScimError::not_found(format!("no such {what}")).into(),
        other => other.into(),
    }
}

/// A conflict on a unique attribute, as SCIM names it.
fn uniqueness(e: ApiError) -> ApiError {
    match e {
        ApiError::Conflict(detail) => ScimError::uniqueness(detail).into(),
        other => other,
    }
}

/// Creates a user from a User document: a learner unless the Reprise extension names a role,
/// with a password nobody knows (they sign in with single sign-on or are invited).
#[tracing::instrument(skip_all, fields(org_id = %provider.org_id, subject_id = tracing::field::Empty))]
pub async fn create_user(
    database: &Database,
    passwords: &Passwords,
    provider: &Provider,
    doc: Value,
    now: DateTime<Utc>,
) -> ApiResult<ScimUser> {
    let input = read_user(&doc)?;
    let Some(email) = input.email.clone() else {
        return Err(ScimError::invalid_value(
            "an e-mail address is required: in `emails`, or as `userName`",
        )
        .into());
    };
    let hash = passwords.hash(NewPassword::unguessable()).await?;
    let provider = provider.clone();
    let user = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let org = &provider.org_id;
                check_unique(conn, org, &input, None)?;
                let name = input
                    .name
                    .clone()
                    .unwrap_or_else(|| local_part(email.as_str()));
                let row = NewUser {
                    id: new_id(),
                    email: email.as_str().into(),
                    name,
                    password_hash: hash,
                    role: input.role.unwrap_or(Role::Learner),
                    timezone: None,
                };
                let user = users::create_in(conn, org, provider.actor(), row, &[], now)
                    .map_err(uniqueness)?;
                scim_store::set_user_names(
                    conn,
                    org,
                    &user.id,
                    input.external_id.as_deref(),
                    &input.user_name,
                    &input.profile,
                )?;
                if input.active == Some(false) {
                    let changes = UserChanges {
                        active: Some(false),
                        ..Default::default()
                    };
                    users::apply_in(
                        conn,
                        org,
                        provider.actor(),
                        &user.id,
                        changes,
                        "user.deactivated",
                        now,
                    )?;
                }
                Ok::<_, ApiError>(scim_store::get_user(conn, org, &user.id)?)
            })
        })
        .await?;
    tracing::Span::current().record("subject_id", tracing::field::display(&user.id));
    tracing::info!(role = user.role.as_str(), "user provisioned");
    Ok(user)
}

/// The part of an address before `@`, for a user the provider gave no name.
fn local_part(email: &str) -> String {
    email.split('@').next().unwrap_or(email).to_string()
}

fn check_unique(
    conn: &mut DbConnection,
    org: &OrgId,
    input: &UserInput,
    except: Option<&UserId>,
) -> ApiResult<()> {
    match scim_store::taken_name(
        conn,
        org,
        &input.user_name,
        input.external_id.as_deref(),
        except,
    )? {
        Some(attribute) => Err(ScimError::uniqueness(format!(
            "another user of the organization has this {attribute}"
        ))
        .into()),
        None => Ok(()),
    }
}

/// The identity provider may not take away the organization's last way in: deactivating or
/// demoting its last active admin is refused, so an unassignment in the provider cannot lock
/// every admin out of Reprise.
fn keep_an_admin(
    conn: &mut DbConnection,
    org: &OrgId,
    current: &ScimUser,
    role: Option<Role>,
    active: Option<bool>,
) -> ApiResult<()> {
    let loses_admin = current.role == Role::Admin
        && current.active
        && (active == Some(false) || role.is_some_and(|r| r != Role::Admin));
    if loses_admin && scim_store::other_active_admins(conn, org, &current.id)? == 0 {
        return Err(ScimError::mutability(
            "this is the organization's last active admin: make another admin in Reprise first",
        )
        .into());
    }
    Ok(())
}

/// How a change to a user went.
pub struct Changed<T> {
    pub resource: T,
    /// The change ended the user's logins: their cached access must be dropped.
    pub ended_logins: bool,
}

/// Replaces a user with a User document (PUT), in the caller's transaction. Attributes Reprise
/// does not model are kept as sent; a document without the role extension keeps the role.
fn replace_user_in(
    conn: &mut DbConnection,
    provider: &Provider,
    id: &UserId,
    doc: &Value,
    now: DateTime<Utc>,
) -> ApiResult<Changed<ScimUser>> {
    let org = &provider.org_id;
    let current = scim_store::get_user(conn, org, id).map_err(|e| not_found(e, "user"))?;
    let input = read_user(doc)?;
    check_unique(conn, org, &input, Some(id))?;
    let changes = UserChanges {
        name: input.name.clone().filter(|n| *n != current.name),
        role: input.role.filter(|r| *r != current.role),
        active: input.active.filter(|a| *a != current.active),
        ..Default::default()
    };
    keep_an_admin(conn, org, &current, changes.role, changes.active)?;
    let mut ended_logins = false;
    if changes.name.is_some() || changes.role.is_some() || changes.active.is_some() {
        let action = match changes.active {
            Some(false) => "user.deactivated",
            _ => "user.updated",
        };
        ended_logins =
            users::apply_in(conn, org, provider.actor(), id, changes, action, now)?.ended_logins;
    }
    // Names and addresses are personal: the log says which changed, never from or to what.
    let mut changed = serde_json::Map::new();
    if let Some(email) = input.email.as_ref().filter(|e| e.as_str() != current.email) {
        scim_store::change_email(conn, org, id, email.as_str(), now)
            .map_err(|e| uniqueness(e.into()))?;
        changed.insert("email".into(), json!("(changed)"));
    }
    if current.user_name.as_deref() != Some(input.user_name.as_str()) {
        changed.insert("user_name".into(), json!("(changed)"));
    }
    if current.external_id != input.external_id {
        changed.insert("external_id".into(), json!("(changed)"));
    }
    scim_store::set_user_names(
        conn,
        org,
        id,
        input.external_id.as_deref(),
        &input.user_name,
        &input.profile,
    )
    .map_err(|e| uniqueness(e.into()))?;
    if !changed.is_empty() {
        let before: serde_json::Map<String, Value> = changed
            .keys()
            .map(|k| (k.clone(), json!("(personal)")))
            .collect();
        let entry = Entry::by(
            provider.actor(),
            "user.identity_changed",
            "user",
            id.as_str(),
        )
        .before(Value::Object(before))
        .after(Value::Object(changed));
        audit::record(conn, org, &entry, now)?;
    }
    Ok(Changed {
        resource: scim_store::get_user(conn, org, id)?,
        ended_logins,
    })
}

/// Replaces a user (PUT).
pub async fn replace_user(
    database: &Database,
    access: &AccessCache,
    provider: &Provider,
    id: UserId,
    doc: Value,
    now: DateTime<Utc>,
) -> ApiResult<ScimUser> {
    let p = provider.clone();
    let changed = database
        .run(move |conn| store::write_tx(conn, |conn| replace_user_in(conn, &p, &id, &doc, now)))
        .await?;
    Ok(settle(access, provider, changed))
}

/// Applies a PATCH to a user: the operations change the document the provider would read, and
/// the result replaces the user, all in one transaction.
#[tracing::instrument(skip_all, fields(org_id = %provider.org_id, subject_id = %id))]
pub async fn patch_user(
    database: &Database,
    access: &AccessCache,
    provider: &Provider,
    id: UserId,
    patch: PatchRequest,
    now: DateTime<Utc>,
) -> ApiResult<ScimUser> {
    let p = provider.clone();
    let changed = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let current =
                    scim_store::get_user(conn, &p.org_id, &id).map_err(|e| not_found(e, "user"))?;
                let mut doc = current.render(&p.base);
                patch.apply(&mut doc)?;
                replace_user_in(conn, &p, &id, &doc, now)
            })
        })
        .await?;
    Ok(settle(access, provider, changed))
}

/// Deactivates a user (DELETE): their logins end, their answers and history stay, and the
/// provider can still read them (`active: false`), so adding them back reactivates the same
/// account.
#[tracing::instrument(skip_all, fields(org_id = %provider.org_id, subject_id = %id))]
pub async fn deactivate_user(
    database: &Database,
    access: &AccessCache,
    provider: &Provider,
    id: UserId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let p = provider.clone();
    let changed = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let current =
                    scim_store::get_user(conn, &p.org_id, &id).map_err(|e| not_found(e, "user"))?;
                keep_an_admin(conn, &p.org_id, &current, None, Some(false))?;
                let mut ended_logins = false;
                if current.active {
                    let changes = UserChanges {
                        active: Some(false),
                        ..Default::default()
                    };
                    ended_logins = users::apply_in(
                        conn,
                        &p.org_id,
                        p.actor(),
                        &id,
                        changes,
                        "user.deactivated",
                        now,
                    )?
                    .ended_logins;
                }
                Ok::<_, ApiError>(Changed {
                    resource: current,
                    ended_logins,
                })
            })
        })
        .await?;
    settle(access, provider, changed);
    tracing::info!("user deprovisioned");
    Ok(())
}

fn settle(access: &AccessCache, provider: &Provider, changed: Changed<ScimUser>) -> ScimUser {
    if changed.ended_logins {
        access.forget(&provider.org_id, &changed.resource.id);
    }
    changed.resource
}

/// Members that are not users of the organization are the provider's error.
fn check_members(conn: &mut DbConnection, org: &OrgId, members: &[UserId]) -> ApiResult<()> {
    let unknown = scim_store::unknown_users(conn, org, members)?;
    match unknown.first() {
        Some(id) => Err(ScimError::invalid_value(format!(
            "the member {id} is not a user of the organization"
        ))
        .into()),
        None => Ok(()),
    }
}

/// Creates a team from a Group document, at the top of the team tree, with its members.
#[tracing::instrument(skip_all, fields(org_id = %provider.org_id))]
pub fn create_group(
    conn: &mut DbConnection,
    provider: &Provider,
    doc: &Value,
    now: DateTime<Utc>,
) -> ApiResult<ScimGroup> {
    let input = read_group(doc)?;
    let org = &provider.org_id;
    store::write_tx(conn, |conn| {
        check_members(conn, org, &input.members)?;
        let team = teams::create_as(conn, org, provider.actor(), &input.name, None, now)
            .map_err(uniqueness)?;
        let id = TeamId::new(team.id);
        if input.external_id.is_some() {
            scim_store::update_team(conn, org, &id, &input.name, input.external_id.as_deref())?;
        }
        if !input.members.is_empty() {
            teams::add_members_as(conn, org, provider.actor(), &id, &input.members, now)?;
        }
        Ok(scim_store::get_group(conn, org, &id)?)
    })
}

/// Replaces a team's name, provider id and members with a Group document, in the caller's
/// transaction.
fn replace_group_in(
    conn: &mut DbConnection,
    provider: &Provider,
    id: &TeamId,
    doc: &Value,
    now: DateTime<Utc>,
) -> ApiResult<ScimGroup> {
    let org = &provider.org_id;
    let current = scim_store::get_group(conn, org, id).map_err(|e| not_found(e, "group"))?;
    let input = read_group(doc)?;
    check_members(conn, org, &input.members)?;
    if input.name != current.name || input.external_id != current.external_id {
        scim_store::update_team(conn, org, id, &input.name, input.external_id.as_deref())
            .map_err(|e| uniqueness(e.into()))?;
        let entry = Entry::by(provider.actor(), "team.updated", "team", id.as_str())
            .before(json!({"name": current.name, "external_id": current.external_id}))
            .after(json!({"name": input.name, "external_id": input.external_id}));
        audit::record(conn, org, &entry, now)?;
    }
    let added: Vec<UserId> = input
        .members
        .iter()
        .filter(|m| !current.members.contains(m))
        .cloned()
        .collect();
    let removed: Vec<UserId> = current
        .members
        .iter()
        .filter(|m| !input.members.contains(m))
        .cloned()
        .collect();
    if !added.is_empty() {
        teams::add_members_as(conn, org, provider.actor(), id, &added, now)?;
    }
    if !removed.is_empty() {
        teams::remove_members_as(conn, org, provider.actor(), id, &removed, now)?;
    }
    Ok(scim_store::get_group(conn, org, id)?)
}

pub fn replace_group(
    conn: &mut DbConnection,
    provider: &Provider,
    id: &TeamId,
    doc: &Value,
    now: DateTime<Utc>,
) -> ApiResult<ScimGroup> {
    store::write_tx(conn, |conn| replace_group_in(conn, provider, id, doc, now))
}

/// Applies a PATCH to a team, as [`patch_user`] does to a user.
#[tracing::instrument(skip_all, fields(org_id = %provider.org_id, team_id = %id))]
pub fn patch_group(
    conn: &mut DbConnection,
    provider: &Provider,
    id: &TeamId,
    patch: &PatchRequest,
    now: DateTime<Utc>,
) -> ApiResult<ScimGroup> {
    store::write_tx(conn, |conn| {
        let current =
            scim_store::get_group(conn, &provider.org_id, id).map_err(|e| not_found(e, "group"))?;
        let mut doc = current.render(&provider.base);
        patch.apply(&mut doc)?;
        replace_group_in(conn, provider, id, &doc, now)
    })
}

/// Deletes a team and its memberships (DELETE). A team that assignments name or that has
/// teams nested in it stays (409): deleting it would end training or orphan teams.
#[tracing::instrument(skip_all, fields(org_id = %provider.org_id, team_id = %id))]
pub fn delete_group(
    conn: &mut DbConnection,
    provider: &Provider,
    id: &TeamId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let org = &provider.org_id;
    store::write_tx(conn, |conn| {
        let current = account_store::get_team(conn, org, id).map_err(|e| not_found(e, "group"))?;
        if scim_store::team_in_use(conn, org, id)? {
            return Err(ScimError::status(
                409,
                "the team has assignments or nested teams; end them or move them in Reprise first",
            )
            .into());
        }
        scim_store::delete_team(conn, org, id)?;
        let entry = Entry::by(provider.actor(), "team.deleted", "team", id.as_str())
            .before(json!({"name": current.name, "parent_id": current.parent_id}));
        audit::record(conn, org, &entry, now)?;
        Ok(())
    })
}
