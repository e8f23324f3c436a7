//! Sign-up of an organization, login, refresh-token rotation and logout.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::Json;
use super::fields::{EmailAddress, Name, OrgName, Password, TimeZone};
use super::state::AppState;
use crate::accounts::credentials;
use crate::accounts::sign_in::{self, CreateOrgResponse, LoginAttempt, NewOrganization};
use crate::accounts::tokens::{self, TokenPair};
use crate::domain::accounts::{self, Email, NewPassword};
use crate::domain::validation::{self, Errors, FieldError};
use crate::error::{ApiError, ApiResult, Problem};

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

impl CreateOrgRequest {
    /// Every field checked; all problems reported at once.
    fn parse(self) -> Result<NewOrganization, Vec<FieldError>> {
        let mut errs = Errors::default();
        let name = errs.check(validation::text("org_name", &self.org_name, 2, 120));
        let email = errs.check(Email::parse("admin_email", &self.admin_email));
        let password = errs.check(NewPassword::parse(
            "admin_password",
            &self.admin_password,
            email.as_ref(),
        ));
        let admin_name = errs.check(accounts::person_name("admin_name", &self.admin_name));
        let timezone = match &self.timezone {
            Some(tz) => errs
                .check(accounts::time_zone("timezone", tz))
                .map(|t| t.name().to_string()),
            None => Some("UTC".to_string()),
        };
        let slug = name.as_deref().map(accounts::slugify).unwrap_or_default();
        if name.is_some() && slug.is_empty() {
            errs.add("org_name", "must contain at least one letter or digit");
        }
        errs.into_result(|| NewOrganization {
            name: name.unwrap(),
            slug,
            timezone: timezone.unwrap(),
            admin_email: email.unwrap(),
            admin_password: password.unwrap(),
            admin_name: admin_name.unwrap(),
        })
    }
}

/// Create an organization and its first admin.
#[utoipa::path(
    tag = "auth",
    request_body = CreateOrgRequest,
    responses(
        (status = 201, body = CreateOrgResponse),
        (status = 403, description = "self-service sign-up is switched off", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the organization name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many sign-ups from this address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "password hashing is at its limit; retry after `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/orgs")]
#[tracing::instrument(skip_all)]
pub async fn create_org(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<CreateOrgRequest>,
) -> ApiResult<HttpResponse> {
    if !state.settings.allow_signup {
        return Err(ApiError::Forbidden(
            "self-service organization sign-up is switched off".into(),
        ));
    }
    let new = body.0.parse()?;
    let address = client_address(&req, state.settings.trusted_proxy_hops);
    state
        .login_limiter
        .check_signup(address)
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let (issuer, now) = (state.issuer(), state.clock.now());
    let created = sign_in::sign_up(&state.database, &issuer, &state.passwords, new, now).await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "seller01@demo.example")]
    pub email: String,
    #[schema(example = "demo-password")]
    pub password: String,
    /// The organization's slug. Needed only when the address has accounts in several
    /// organizations and the password alone does not pick one.
    #[schema(example = "demo")]
    pub organization: Option<String>,
}

/// The client's address: the TCP peer, or the entry the trusted proxies added to
/// `X-Forwarded-For` when configured.
fn client_address(req: &HttpRequest, trusted_hops: usize) -> Option<std::net::IpAddr> {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    forwarded_client(&forwarded, trusted_hops).or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// The client address in an `X-Forwarded-For` value behind `trusted_hops` proxies: each proxy
/// appends the address it received from, so the entry the outermost trusted proxy added is the
/// `trusted_hops`-th from the right. Entries left of it are whatever the client sent and are
/// never believed. `None` (use the peer address) with no trusted proxy, or when the header is
/// shorter than the proxies that should have written it.
fn forwarded_client(header: &str, trusted_hops: usize) -> Option<std::net::IpAddr> {
    if trusted_hops == 0 {
        return None;
    }
    let entries: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let entry = entries
        .len()
        .checked_sub(trusted_hops)
        .map(|i| entries[i])?;
    entry.parse().ok()
}

/// Exchange e-mail and password for a token pair.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "wrong e-mail or password, or a deactivated account", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "password hashing is at its limit; retry after `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let LoginRequest {
        email,
        password,
        organization,
    } = body.0;
    let address = client_address(&req, state.settings.trusted_proxy_hops);
    state
        .login_limiter
        .check(email.trim(), address)
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let attempt = LoginAttempt {
        email,
        password,
        organization,
    };
    let (issuer, now) = (state.issuer(), state.clock.now());
    let pair = sign_in::log_in(&state.database, &issuer, &state.passwords, attempt, now).await?;
    Ok(web::Json(pair))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Rotate a refresh token: the old one stops working, a new pair is returned. Presenting an
/// already rotated token revokes every token descended from the same login.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "unknown, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/refresh")]
#[tracing::instrument(skip_all)]
pub async fn refresh_tokens(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let token = body.0.refresh_token;
    let (issuer, now) = (state.issuer(), state.clock.now());
    let pair = tokens::rotate(&state.database, &issuer, &token, now).await?;
    Ok(web::Json(pair))
}

/// Revoke the refresh token's family. Access tokens expire on their own within their short life.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "logged out"))
)]
#[post("/api/v1/auth/logout")]
#[tracing::instrument(skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let token = body.0.refresh_token;
    tokens::revoke(&state.database, &token, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn the_client_is_read_from_the_right() {
        let ip = |s: &str| Some(s.parse().unwrap());
        // The client wrote 6.6.6.6 itself; the one proxy appended the address it saw.
        assert_eq!(
            forwarded_client("6.6.6.6, 203.0.113.7", 1),
            ip("203.0.113.7")
        );
        // Two proxies: the outer one appended the client, the inner one the outer proxy.
        assert_eq!(
            forwarded_client("6.6.6.6, 203.0.113.7, 10.0.0.2", 2),
            ip("203.0.113.7")
        );
        assert_eq!(forwarded_client("203.0.113.7", 2), None, "too short");
        assert_eq!(forwarded_client("203.0.113.7", 0), None, "no proxy trusted");
        assert_eq!(forwarded_client("", 1), None);
        assert_eq!(forwarded_client("6.6.6.6, not-an-address", 1), None);
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(value_type = EmailAddress)]
    pub email: String,
}

/// Ask for a password reset link by e-mail. The answer is the same whether or not the address
/// has an account, and comes before any mail is sent; each account of the address gets a link
/// valid once, for an hour.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "if the address has an active account, a link is on its way"),
        (status = 422, description = "`email` is not an e-mail address", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/password-reset")]
#[tracing::instrument(skip_all)]
pub async fn password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let address = client_address(&req, state.settings.trusted_proxy_hops);
    // A malformed address is refused as such; a well-formed one gets the same answer whether
    // or not it has an account.
    let email = Email::parse("email", &body.0.email)
        .map_err(|e| ApiError::validation(vec![e]))?
        .as_str()
        .to_string();
    // The login throttles: per address and per account, so nobody floods an inbox.
    state
        .login_limiter
        .check(&email, address)
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let (database, mail, now) = (
        state.database.clone(),
        state.account_mail.clone(),
        state.clock.now(),
    );
    actix_web::rt::spawn(async move {
        credentials::request_reset(&database, &mail, &email, now).await;
    });
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token of the link (`#/set-password/<token>`), from a reset or an invitation.
    pub token: String,
    /// At least 10 characters, not the e-mail address, not a common password.
    #[schema(value_type = Password)]
    pub new_password: String,
}

/// Set a new password with a reset or invitation link: once, while it is valid. Every other
/// session of the user ends; the response signs them in.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "the link is invalid, used or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the new password breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/password-reset/confirm")]
#[tracing::instrument(skip_all)]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<PasswordResetConfirm>,
) -> ApiResult<web::Json<TokenPair>> {
    use actix_web::HttpMessage;
    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let issuer = state.issuer();
    let pair = credentials::set_with_link(
        state.credential_desk(&issuer),
        &body.0.token,
        &body.0.new_password,
        request_id,
        state.clock.now(),
    )
    .await?;
    Ok(web::Json(pair))
}
