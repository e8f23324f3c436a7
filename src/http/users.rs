//! The caller (`/me`) and administration of users and teams.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::{Admins, Authorized, Caller, Readers, SelfOr, Staff};
use super::fields::{EmailAddress, Name, Password, TimeZone, TimeZoneOrEmpty};
use super::query::Query;
use super::state::AppState;
use crate::accounts::credentials;
use crate::accounts::personal_data::{self, DataExport};
use crate::accounts::roster;
use crate::accounts::teams;
use crate::accounts::tokens::TokenPair;
use crate::accounts::users::{self as accounts, AccountChanges, Me, NewAccount};
use crate::domain::accounts::{self as rules, Email, NewPassword, Role, Team, User};
use crate::domain::ids::{TeamId, UserId};
use crate::domain::roster::RosterDiff;
use crate::domain::validation::{self, Errors, FieldError};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::accounts as account_store;

/// The caller, their organization and teams.
#[utoipa::path(
    tag = "users",
    responses((status = 200, body = Me), ),
    security(("bearer" = []))
)]
#[get("/api/v1/me")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<Me>> {
    let me = state.db(move |conn| accounts::me(conn, &caller)).await?;
    Ok(web::Json(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(value_type = EmailAddress)]
    pub email: String,
    #[schema(value_type = Name)]
    pub name: String,
    /// At least 10 characters, not the e-mail address, not a common password. Leave it out
    /// with `invite`: the user chooses their own.
    #[serde(default)]
    #[schema(value_type = Option<Password>)]
    pub password: Option<String>,
    pub role: Role,
    #[schema(value_type = Option<TimeZone>)]
    pub timezone: Option<String>,
    /// Teams to put the new user in.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub team_ids: Vec<TeamId>,
    /// Mail the user an invitation to set their password (valid once, for 7 days).
    #[serde(default)]
    pub invite: bool,
}

fn timezone_field(errs: &mut Errors, tz: Option<&str>) -> Option<Option<String>> {
    match tz {
        None => Some(None),
        Some(tz) => errs
            .check(rules::time_zone("timezone", tz))
            .map(|t| Some(t.name().to_string())),
    }
}

impl CreateUserRequest {
    /// Every field checked; all problems reported at once.
    fn parse(self) -> Result<NewAccount, Vec<FieldError>> {
        let mut errs = Errors::default();
        let email = errs.check(Email::parse("email", &self.email));
        let password = match (&self.password, self.invite) {
            (Some(p), _) => errs.check(NewPassword::parse("password", p, email.as_ref())),
            // Nobody knows it: the invitation sets the real one.
            (None, true) => Some(NewPassword::unguessable()),
            (None, false) => {
                errs.add("password", "is required unless `invite` is true");
                None
            }
        };
        let name = errs.check(rules::person_name("name", &self.name));
        let timezone = timezone_field(&mut errs, self.timezone.as_deref());
        errs.into_result(|| NewAccount {
            email: email.unwrap(),
            password: password.unwrap(),
            name: name.unwrap(),
            role: self.role,
            timezone: timezone.unwrap(),
            team_ids: self.team_ids,
        })
    }
}

/// Create a user (admins).
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = User),
        (status = 404, description = "a team of `team_ids` does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        ),
    security(("bearer" = []))
)]
#[post("/api/v1/users")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let invite = body.0.invite;
    let new = body.0.parse()?;
    let now = state.clock.now();
    let user = accounts::create(&state.database, &state.passwords, &caller, new, now).await?;
    if invite {
        credentials::invite(
            &state.database,
            &state.account_mail,
            &caller,
            user.id.clone(),
            now,
        )
        .await?;
    }
    Ok(HttpResponse::Created().json(user))
}

/// Mail a user an invitation to set their password (admins): a link valid once, for 7 days.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses(
        (status = 202, description = "the invitation was sent"),
        (status = 404, description = "no such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the user is deactivated", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the mail server did not take it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/users/{id}/invite")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn invite_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<UserId>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    credentials::invite(
        &state.database,
        &state.account_mail,
        &caller,
        id.into_inner(),
        now,
    )
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters, not the e-mail address, not a common password.
    #[schema(value_type = Password)]
    pub new_password: String,
}

/// Change the caller's password. Every other session of theirs ends; the response is this
/// session's new token pair.
#[utoipa::path(
    tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 422, description = "the current password is wrong, or the new one breaks a rule", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/password")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ChangePasswordRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let now = state.clock.now();
    let issuer = state.issuer();
    let pair = credentials::change_password(
        state.credential_desk(&issuer),
        &caller,
        &body.0.current_password,
        &body.0.new_password,
        now,
    )
    .await?;
    Ok(web::Json(pair))
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

impl UserQuery {
    fn filter(self) -> Result<account_store::UserFilter, Vec<FieldError>> {
        let limit = match self.limit.unwrap_or(100) {
            l @ 1..=500 => l,
            _ => return Err(vec![FieldError::new("limit", "must be between 1 and 500")]),
        };
        let offset = match self.offset.unwrap_or(0) {
            o if o >= 0 => o,
            _ => return Err(vec![FieldError::new("offset", "must not be negative")]),
        };
        Ok(account_store::UserFilter {
            role: self.role,
            team_id: self.team_id,
            within: None,
            limit,
            offset,
        })
    }
}

/// List the organization's users (admins and analysts; managers only the members of their teams
/// and the teams below them).
#[utoipa::path(
    tag = "users",
    params(UserQuery),
    responses((status = 200, body = Vec<User>), ),
    security(("bearer" = []))
)]
#[get("/api/v1/users")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    q: Query<UserQuery>,
) -> ApiResult<web::Json<Vec<User>>> {
    let filter = q.into_inner().filter()?;
    let users = state
        .db(move |conn| accounts::list(conn, &caller, filter))
        .await?;
    Ok(web::Json(users))
}

/// One user (admins and analysts; managers for the members of their teams; anyone for themself).
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses(
        (status = 200, body = User),
        (status = 404, description = "no such user, or one outside a manager's teams", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/users/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Authorized<SelfOr<Staff>>,
    id: web::Path<UserId>,
) -> ApiResult<web::Json<User>> {
    let id = id.into_inner();
    let user = state
        .db(move |conn| accounts::get(conn, &caller, &id))
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
    /// `false` deactivates. A change of `role`, `active` or `password` ends the user's logins:
    /// their access and refresh tokens stop working at once, and they log in again.
    pub active: Option<bool>,
    #[schema(value_type = Option<Password>)]
    pub password: Option<String>,
}

impl UpdateUserRequest {
    /// Every field checked; all problems reported at once.
    fn parse(self) -> Result<AccountChanges, Vec<FieldError>> {
        let mut errs = Errors::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errs.check(rules::person_name("name", n)));
        let timezone = match self.timezone.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(tz) => timezone_field(&mut errs, Some(tz)),
        };
        let daily_max = match self.daily_max {
            None => None,
            Some(0) => Some(None),
            Some(n @ 1..=50) => Some(Some(n)),
            Some(_) => {
                errs.add("daily_max", "must be between 1 and 50, or 0 for none");
                None
            }
        };
        let password = self
            .password
            .as_deref()
            .and_then(|p| errs.check(NewPassword::parse("password", p, None)));
        errs.into_result(|| AccountChanges {
            name,
            role: self.role,
            timezone,
            daily_max,
            active: self.active,
            password,
        })
    }
}

/// Update a user (admins).
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = User),
        ),
    security(("bearer" = []))
)]
#[patch("/api/v1/users/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<UserId>,
    body: Json<UpdateUserRequest>,
) -> ApiResult<web::Json<User>> {
    let changes = body.0.parse()?;
    let now = state.clock.now();
    let (database, passwords, access) = (&state.database, &state.passwords, &state.access);
    let id = id.into_inner();
    let user = accounts::update(database, passwords, access, &caller, id, changes, now).await?;
    Ok(web::Json(user))
}

/// Deactivate a user (admins). Their answers and history stay.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), ),
    security(("bearer" = []))
)]
#[delete("/api/v1/users/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<UserId>,
) -> ApiResult<web::Json<User>> {
    let (id, now) = (id.into_inner(), state.clock.now());
    let user = accounts::deactivate(&state.database, &state.access, &caller, id, now).await?;
    Ok(web::Json(user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    #[schema(value_type = Name)]
    pub name: String,
    /// Nest the team under another one.
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<TeamId>,
}

/// Create a team (admins).
#[utoipa::path(
    tag = "teams",
    request_body = CreateTeamRequest,
    responses(
        (status = 201, body = Team),
        (status = 404, description = "no parent team by `parent_id`", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        ),
    security(("bearer" = []))
)]
#[post("/api/v1/teams")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_team(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<CreateTeamRequest>,
) -> ApiResult<HttpResponse> {
    let CreateTeamRequest { name, parent_id } = body.0;
    let name = validation::text("name", &name, 1, 120).map_err(|e| vec![e])?;
    let now = state.clock.now();
    let team = state
        .db(move |conn| {
            teams::create(
                conn,
                &caller,
                &name,
                parent_id.as_ref().map(TeamId::as_str),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(team))
}

/// The organization's teams (managers: their own and the teams below them).
#[utoipa::path(
    tag = "teams",
    responses((status = 200, body = Vec<Team>)),
    security(("bearer" = []))
)]
#[get("/api/v1/teams")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_teams(
    state: web::Data<AppState>,
    caller: Authorized<Readers>,
) -> ApiResult<web::Json<Vec<Team>>> {
    let teams = state.db(move |conn| teams::list(conn, &caller)).await?;
    Ok(web::Json(teams))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersRequest {
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<String>)]
    pub user_ids: Vec<UserId>,
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
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, team_id = %id))]
pub async fn add_members(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<TeamId>,
    body: Json<MembersRequest>,
) -> ApiResult<HttpResponse> {
    let (team, users) = (id.into_inner(), body.0.user_ids);
    let now = state.clock.now();
    if users.is_empty() || users.len() > 1000 {
        return Err(ApiError::field("user_ids", "must list 1 to 1000 user ids"));
    }
    state
        .db(move |conn| teams::add_members(conn, &caller, &team, &users, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Take a user out of a team (admins).
#[utoipa::path(
    tag = "teams",
    params(("id" = String, Path, description = "team id"), ("user_id" = String, Path, description = "user id")),
    responses((status = 204, description = "removed"), ),
    security(("bearer" = []))
)]
#[delete("/api/v1/teams/{id}/members/{user_id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, team_id = %path.0, subject_id = %path.1))]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    path: web::Path<(TeamId, UserId)>,
) -> ApiResult<HttpResponse> {
    let (team, user) = path.into_inner();
    let now = state.clock.now();
    state
        .db(move |conn| teams::remove_member(conn, &caller, &team, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Report what the import would do and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Deactivate the active people of the organization the roster leaves out (never the admin
    /// importing).
    #[serde(default)]
    pub deactivate_missing: bool,
    /// Mail each person the import creates an invitation to set their password.
    #[serde(default)]
    pub invite: bool,
}

/// What a roster import did, or would do.
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    #[serde(flatten)]
    pub diff: RosterDiff,
    /// Invitations sent to the people created (with `invite=true`).
    pub invited: usize,
    /// The addresses of created people whose invitation the mail server refused: invite them
    /// again later (`POST /api/v1/users/{id}/invite`).
    pub not_invited: Vec<String>,
}

/// Import a roster of people (admins): CSV with the header `email,name,role,team,manager_email`
/// (see docs/identity.md). Teams are made as needed, nested by `/`. All or nothing: any problem
/// is a 422 listing every error with its line, and nothing changes.
#[utoipa::path(
    tag = "users",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        description = "Header `email,name,role,team,manager_email`, then one row per person"),
    responses(
        (status = 200, body = ImportReport),
        (status = 422, description = "every error with its line", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/users/import")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn import_users(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    query: Query<ImportQuery>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> ApiResult<web::Json<ImportReport>> {
    if !super::body::is_csv(&req) {
        return Err(ApiError::Unsupported(
            "send the roster as text/csv with the header email,name,role,team,manager_email".into(),
        ));
    }
    let importer = roster::Importer {
        org_id: caller.org_id.clone(),
        actor: (&caller.0).into(),
        admin: Some(caller.user_id.clone()),
    };
    let options = roster::ImportOptions {
        dry_run: query.dry_run,
        deactivate_missing: query.deactivate_missing,
    };
    let now = state.clock.now();
    let imported = roster::import(
        &state.database,
        &state.passwords,
        &state.access,
        &importer,
        &body,
        options,
        now,
    )
    .await?;
    let mut report = ImportReport {
        diff: imported.diff,
        invited: 0,
        not_invited: Vec::new(),
    };
    if query.invite {
        for (id, listed) in imported.created.into_iter().zip(&report.diff.created) {
            match credentials::invite(&state.database, &state.account_mail, &caller, id, now).await
            {
                Ok(()) => report.invited += 1,
                Err(ApiError::Unavailable(_)) => report.not_invited.push(listed.email.clone()),
                Err(other) => return Err(other),
            }
        }
    }
    Ok(web::Json(report))
}

/// Everything kept about a person, as JSON (GDPR article 15): for admins, and for the person
/// themself.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses(
        (status = 200, body = DataExport),
        (status = 404, description = "no such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/users/{id}/data-export")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn data_export(
    state: web::Data<AppState>,
    caller: Authorized<SelfOr<Admins>>,
    id: web::Path<UserId>,
) -> ApiResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now());
    let export = state
        .db(move |conn| personal_data::export(conn, &caller, &id, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"reprise-data-{}.json\"",
                export.user.id
            ),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(export))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The person's current e-mail address, to confirm whom this erases.
    #[schema(value_type = EmailAddress)]
    pub confirm_email: String,
}

/// Erase a person (admins; irreversible, GDPR article 17): their name, e-mail address,
/// password, sessions, devices, reminder history and pending xAPI statements are removed; their
/// answers stay under a pseudonym, so the organization's figures do not change.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "user id")),
    request_body = EraseRequest,
    responses(
        (status = 204, description = "erased"),
        (status = 404, description = "no such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already erased, or an active admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`confirm_email` is not the person's address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "erased, but the media storage did not delete their recordings: erase again to finish", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/users/{id}/erase")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn erase_user(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<UserId>,
    body: Json<EraseRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    personal_data::erase(
        &state.database,
        &state.blobs,
        &state.access,
        &caller,
        id.into_inner(),
        body.0.confirm_email,
        now,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
