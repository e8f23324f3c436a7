//! The caller (`/me`) and administration of users and teams.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::Caller;
use super::caller::{Admins, Authorized, Readers, Staff};
use super::fields::{EmailAddress, Name, Password, TimeZone, TimeZoneOrEmpty};
use super::state::AppState;
use crate::auth::password;
use crate::domain::accounts::{self, Email, NewPassword, Organization, Role, Team, User};
use crate::domain::validation::{self, Errors, FieldError};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::{accounts as account_store, new_id, tokens, StoreError};

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub organization: Organization,
    /// Teams the caller belongs to.
    pub team_ids: Vec<String>,
}

/// The caller, their organization and teams.
#[utoipa::path(
    tag = "users",
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/api/v1/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<Me>> {
    let me = state
        .db(move |conn| {
            let user = account_store::get_user(conn, &caller.org_id, &caller.user_id)?;
            let organization = account_store::get_org(conn, &caller.org_id)?;
            let team_ids = account_store::list_user_teams(conn, &caller.org_id, &caller.user_id)?;
            Ok(Me {
                user,
                organization,
                team_ids,
            })
        })
        .await?;
    Ok(web::Json(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(value_type = EmailAddress)]
    pub email: String,
    #[schema(value_type = Name)]
    pub name: String,
    /// At least 10 characters, not the e-mail address.
    #[schema(value_type = Password)]
    pub password: String,
    pub role: Role,
    #[schema(value_type = Option<TimeZone>)]
    pub timezone: Option<String>,
    /// Teams to put the new user in.
    #[serde(default)]
    pub team_ids: Vec<String>,
}

fn timezone_field(errs: &mut Errors, tz: Option<&str>) -> Option<Option<String>> {
    match tz {
        None => Some(None),
        Some(tz) => errs
            .check(accounts::time_zone("timezone", tz))
            .map(|t| Some(t.name().to_string())),
    }
}

/// Create a user (admins).
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = User),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "a team of `team_ids` does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errs = Errors::default();
    let email = errs.check(Email::parse("email", &b.email));
    let pw = errs.check(NewPassword::parse("password", &b.password, email.as_ref()));
    let name = errs.check(accounts::person_name("name", &b.name));
    let tz = timezone_field(&mut errs, b.timezone.as_deref());
    let (email, pw, name, tz) =
        errs.into_result(|| (email.unwrap(), pw.unwrap(), name.unwrap(), tz.unwrap()))?;
    let hash = web::block(move || password::hash(pw.expose())).await?;
    let st = state.clone();
    let user = state
        .db(move |conn| {
            let new = account_store::NewUser {
                id: new_id(),
                email: email.as_str().into(),
                name,
                password_hash: hash,
                role: b.role,
                timezone: tz,
            };
            account_store::create_user(conn, &caller.org_id, new, &b.team_ids, st.clock.now())
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        ApiError::missing("team_ids", "names a team that does not exist")
                    }
                    other => other.into(),
                })
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub team_id: Option<String>,
    /// 1..=500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// List the organization's users (admins; managers and analysts read-only).
#[utoipa::path(
    tag = "users",
    params(UserQuery),
    responses((status = 200, body = Vec<User>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    q: web::Query<UserQuery>,
) -> ApiResult<web::Json<Vec<User>>> {
    let q = q.into_inner();
    let filter = account_store::UserFilter {
        role: q.role,
        team_id: q.team_id,
        limit: page_limit(q.limit)?,
        offset: page_offset(q.offset)?,
    };
    let users = state
        .db(move |conn| Ok(account_store::list_users(conn, &caller.org_id, &filter)?))
        .await?;
    Ok(web::Json(users))
}

pub fn page_limit(limit: Option<i64>) -> Result<i64, Vec<FieldError>> {
    match limit.unwrap_or(100) {
        l @ 1..=500 => Ok(l),
        _ => Err(vec![FieldError::new("limit", "must be between 1 and 500")]),
    }
}

pub fn page_offset(offset: Option<i64>) -> Result<i64, Vec<FieldError>> {
    match offset.unwrap_or(0) {
        o if o >= 0 => Ok(o),
        _ => Err(vec![FieldError::new("offset", "must not be negative")]),
    }
}

/// One user (admins, or the user themself).
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/api/v1/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    let id = id.into_inner();
    if id != caller.user_id {
        caller.require(&[Role::Admin, Role::Analyst, Role::Manager])?;
    }
    let user = state
        .db(move |conn| Ok(account_store::get_user(conn, &caller.org_id, &id)?))
        .await?;
    Ok(web::Json(user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    pub role: Option<Role>,
    /// IANA zone, or an empty string to fall back to the organization's.
    #[schema(value_type = Option<TimeZoneOrEmpty>)]
    pub timezone: Option<String>,
    /// Most nuggets a day (1..=50), or 0 for no personal maximum.
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(minimum = 0, maximum = 50)]
    pub daily_max: Option<i32>,
    /// `false` deactivates: login and refresh stop at once, access tokens within their life.
    pub active: Option<bool>,
    #[schema(value_type = Option<Password>)]
    pub password: Option<String>,
}

/// Update a user (admins).
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = User),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<String>,
    body: Json<UpdateUserRequest>,
) -> ApiResult<web::Json<User>> {
    let id = id.into_inner();
    let b = body.0;
    let mut errs = Errors::default();
    let name = b
        .name
        .as_deref()
        .and_then(|n| errs.check(accounts::person_name("name", n)));
    let timezone = match b.timezone.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(tz) => timezone_field(&mut errs, Some(tz)),
    };
    let daily_max = match b.daily_max {
        None => None,
        Some(0) => Some(None),
        Some(n @ 1..=50) => Some(Some(n)),
        Some(_) => {
            errs.add("daily_max", "must be between 1 and 50, or 0 for none");
            None
        }
    };
    let pw = b
        .password
        .as_deref()
        .and_then(|p| errs.check(NewPassword::parse("password", p, None)));
    errs.into_result(|| ())?;
    // Not a property of the input but of who sends it: the caller may not do this to themself.
    if id == caller.user_id && (b.active == Some(false) || b.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::Forbidden(
            "admins cannot deactivate or demote themselves".into(),
        ));
    }
    let password_hash = match pw {
        Some(pw) => Some(web::block(move || password::hash(pw.expose())).await?),
        None => None,
    };
    let revoke = b.active == Some(false) || password_hash.is_some();
    let changes = account_store::UserChanges {
        name,
        role: b.role,
        timezone,
        daily_max,
        active: b.active,
        password_hash,
    };
    let st = state.clone();
    let user = state
        .db(move |conn| {
            let now = st.clock.now();
            let user = account_store::update_user(conn, &caller.org_id, &id, changes, now)?;
            if revoke {
                tokens::revoke_user(conn, &caller.org_id, &id, now)?;
            }
            Ok(user)
        })
        .await?;
    Ok(web::Json(user))
}

/// Deactivate a user (admins). Their answers and history stay.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[delete("/api/v1/users/{id}")]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    let id = id.into_inner();
    if id == caller.user_id {
        return Err(ApiError::Forbidden(
            "admins cannot deactivate themselves".into(),
        ));
    }
    let st = state.clone();
    let user = state
        .db(move |conn| {
            let now = st.clock.now();
            let changes = account_store::UserChanges {
                active: Some(false),
                ..Default::default()
            };
            let user = account_store::update_user(conn, &caller.org_id, &id, changes, now)?;
            tokens::revoke_user(conn, &caller.org_id, &id, now)?;
            Ok(user)
        })
        .await?;
    Ok(web::Json(user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    #[schema(value_type = Name)]
    pub name: String,
    /// Nest the team under another one.
    pub parent_id: Option<String>,
}

/// Create a team (admins).
#[utoipa::path(
    tag = "teams",
    request_body = CreateTeamRequest,
    responses(
        (status = 201, body = Team),
        (status = 404, description = "no parent team by `parent_id`", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/teams")]
pub async fn create_team(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<CreateTeamRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let name = validation::text("name", &b.name, 1, 120).map_err(|e| vec![e])?;
    let st = state.clone();
    let team = state
        .db(move |conn| {
            account_store::create_team(
                conn,
                &caller.org_id,
                &new_id(),
                &name,
                b.parent_id.as_deref(),
                st.clock.now(),
            )
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::missing("parent_id", "no such team"),
                other => other.into(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(team))
}

/// The organization's teams.
#[utoipa::path(
    tag = "teams",
    responses((status = 200, body = Vec<Team>)),
    security(("bearer" = []))
)]
#[get("/api/v1/teams")]
pub async fn list_teams(
    state: web::Data<AppState>,
    caller: Authorized<Readers>,
) -> ApiResult<web::Json<Vec<Team>>> {
    let teams = state
        .db(move |conn| Ok(account_store::list_teams(conn, &caller.org_id)?))
        .await?;
    Ok(web::Json(teams))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub user_ids: Vec<String>,
}

/// Put users in a team (admins).
#[utoipa::path(
    tag = "teams",
    params(("id" = String, Path, description = "team id")),
    request_body = MembersRequest,
    responses(
        (status = 204, description = "added"),
        (status = 404, description = "no such team", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`user_ids` is empty, too long, or names a user that does not exist", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/teams/{id}/members")]
pub async fn add_members(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<String>,
    body: Json<MembersRequest>,
) -> ApiResult<HttpResponse> {
    let team = id.into_inner();
    let users = body.0.user_ids;
    if users.is_empty() || users.len() > 1000 {
        return Err(vec![FieldError::new("user_ids", "must list 1 to 1000 user ids")].into());
    }
    state
        .db(move |conn| {
            // 404 is for the team the path names. A user id of the body that names nobody is
            // a 422 on `user_ids`: answering 404 would say the team is gone.
            account_store::get_team(conn, &caller.org_id, &team)?;
            account_store::add_team_members(conn, &caller.org_id, &team, &users).map_err(
                |e| match e {
                    StoreError::NotFound => {
                        ApiError::field("user_ids", "names a user that does not exist")
                    }
                    other => other.into(),
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Take a user out of a team (admins).
#[utoipa::path(
    tag = "teams",
    params(("id" = String, Path, description = "team id"), ("user_id" = String, Path, description = "user id")),
    responses((status = 204, description = "removed"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[delete("/api/v1/teams/{id}/members/{user_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (team, user) = path.into_inner();
    state
        .db(move |conn| {
            Ok(account_store::remove_team_member(
                conn,
                &caller.org_id,
                &team,
                &user,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
