//! Sign-up of an organization, login, refresh-token rotation and logout.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::Json;
use super::fields::{EmailAddress, Name, OrgName, Password, TimeZone};
use super::state::AppState;
use crate::auth::{password, refresh};
use crate::domain::accounts::{self, Email, NewPassword, Organization, Role, User};
use crate::domain::validation::Errors;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::{accounts as account_store, new_id, tokens, DbConnection, StoreResult};

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// Short-lived bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque token for `POST /api/v1/auth/refresh`; single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Issues an access token and a refresh token of `family` (a new family when `None`).
pub fn issue_pair(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    org_id: &str,
    role: Role,
    family: Option<&str>,
) -> StoreResult<TokenPair> {
    let now = state.clock.now();
    let fresh = refresh::generate(org_id);
    let family_id = family.map(String::from).unwrap_or_else(new_id);
    tokens::insert(
        conn,
        tokens::IssuedRefresh {
            id: &new_id(),
            org_id,
            user_id,
            family_id: &family_id,
            hash: &fresh.hash,
        },
        now,
        state.settings.refresh_ttl_secs,
    )?;
    Ok(TokenPair {
        access_token: state.keys.issue(user_id, org_id, role, now.timestamp()),
        refresh_token: fresh.token,
        token_type: "Bearer",
        expires_in: state.keys.ttl_secs,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    #[schema(value_type = OrgName)]
    pub org_name: String,
    #[schema(value_type = EmailAddress)]
    pub admin_email: String,
    #[schema(value_type = Password)]
    pub admin_password: String,
    #[schema(value_type = Name)]
    pub admin_name: String,
    /// IANA time zone of the organization (default UTC).
    #[schema(value_type = Option<TimeZone>)]
    pub timezone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateOrgResponse {
    pub organization: Organization,
    pub user: User,
    pub tokens: TokenPair,
}

/// Create an organization and its first admin.
#[utoipa::path(
    tag = "auth",
    request_body = CreateOrgRequest,
    responses(
        (status = 201, body = CreateOrgResponse),
        (status = 403, description = "self-service sign-up is switched off", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "e-mail or organization name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/orgs")]
pub async fn create_org(
    state: web::Data<AppState>,
    body: Json<CreateOrgRequest>,
) -> ApiResult<HttpResponse> {
    if !state.settings.allow_signup {
        return Err(ApiError::Forbidden(
            "self-service organization sign-up is switched off".into(),
        ));
    }
    let b = body.0;
    let mut errs = Errors::default();
    let name = errs.check(crate::domain::validation::text(
        "org_name",
        &b.org_name,
        2,
        120,
    ));
    let email = errs.check(Email::parse("admin_email", &b.admin_email));
    let password = errs.check(NewPassword::parse(
        "admin_password",
        &b.admin_password,
        email.as_ref(),
    ));
    let admin_name = errs.check(accounts::person_name("admin_name", &b.admin_name));
    let tz = match &b.timezone {
        Some(tz) => errs
            .check(accounts::time_zone("timezone", tz))
            .map(|t| t.name().to_string()),
        None => Some("UTC".to_string()),
    };
    let slug = name.as_deref().map(accounts::slugify).unwrap_or_default();
    if name.is_some() && slug.is_empty() {
        errs.add("org_name", "must contain at least one letter or digit");
    }
    let (name, email, password, admin_name, tz) = errs.into_result(|| {
        (
            name.unwrap(),
            email.unwrap(),
            password.unwrap(),
            admin_name.unwrap(),
            tz.unwrap(),
        )
    })?;

    let hash = web::block(move || password::hash(password.expose())).await?;
    let st = state.clone();
    let created = state
        .db(move |conn| {
            let now = st.clock.now();
            let (org, user) = account_store::create_org_with_admin(
                conn,
                account_store::NewOrg {
                    id: new_id(),
                    slug,
                    name,
                    timezone: tz,
                },
                account_store::NewUser {
                    id: new_id(),
                    email: email.as_str().into(),
                    name: admin_name,
                    password_hash: hash,
                    role: Role::Admin,
                    timezone: None,
                },
                now,
            )?;
            let tokens = issue_pair(&st, conn, &user.id, &org.id, Role::Admin, None)?;
            Ok(CreateOrgResponse {
                organization: org,
                user,
                tokens,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "seller01@demo.example")]
    pub email: String,
    #[schema(example = "demo-password")]
    pub password: String,
}

/// The client's address: the TCP peer, or the first `X-Forwarded-For` hop when configured.
fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> Option<std::net::IpAddr> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.peer_addr().map(|a| a.ip())
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("the e-mail address or password is wrong".into())
}

/// Exchange e-mail and password for a token pair.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let LoginRequest {
        email,
        password: given,
    } = body.0;
    state
        .login_limiter
        .check(
            email.trim(),
            client_address(&req, state.settings.trust_forwarded_for),
        )
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    if given.len() > 1024 {
        return Err(bad_credentials());
    }
    let email = Email::parse("email", &email).map_err(|_| bad_credentials());
    let found = match &email {
        Ok(email) => {
            let email = email.as_str().to_string();
            state
                .db(move |conn| Ok(account_store::find_login(conn, &email)?))
                .await?
        }
        Err(_) => None,
    };
    // Verify against a decoy hash when the account is unknown so timing reveals nothing.
    let stored = found
        .as_ref()
        .map(|(_, hash)| hash.clone())
        .unwrap_or_else(|| state.decoy_hash.clone());
    let matches = web::block(move || password::verify(&given, &stored)).await?;
    let user = match found {
        Some((user, _)) if matches && user.active => user,
        _ => return Err(bad_credentials()),
    };
    let st = state.clone();
    let pair = state
        .db(move |conn| {
            Ok(issue_pair(
                &st,
                conn,
                &user.id,
                &user.org_id,
                user.role,
                None,
            )?)
        })
        .await?;
    Ok(web::Json(pair))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

fn refused() -> ApiError {
    ApiError::Unauthorized("the refresh token is invalid, expired or revoked; log in again".into())
}

/// Rotate a refresh token: the old one stops working, a new pair is returned. Presenting an
/// already rotated token revokes every token descended from the same login.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh_tokens(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let token = body.0.refresh_token;
    let org_id = refresh::org_of(&token).ok_or_else(refused)?.to_string();
    let hash = refresh::digest(&token);
    let st = state.clone();
    let outcome = state
        .db(move |conn| {
            let now = st.clock.now();
            let mut pair = None;
            let result = tokens::rotate(conn, &org_id, &hash, now, |conn, rotation| {
                let user = account_store::get_user(conn, &org_id, &rotation.user_id)?;
                pair = Some(issue_pair(
                    &st,
                    conn,
                    &user.id,
                    &org_id,
                    user.role,
                    Some(&rotation.family_id),
                )?);
                Ok(())
            })?;
            Ok(result.ok().and(pair))
        })
        .await?;
    outcome.map(web::Json).ok_or_else(refused)
}

/// Revoke the refresh token's family. Access tokens expire on their own within their short life.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "logged out"))
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let token = body.0.refresh_token;
    if let Some(org_id) = refresh::org_of(&token).map(String::from) {
        let hash = refresh::digest(&token);
        let st = state.clone();
        state
            .db(move |conn| {
                Ok(tokens::revoke_by_hash(
                    conn,
                    &org_id,
                    &hash,
                    st.clock.now(),
                )?)
            })
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
