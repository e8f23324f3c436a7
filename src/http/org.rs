//! The caller's organization and its settings (time zone, quiet weekdays, reminder defaults).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::Json;
use super::caller::{Admins, Authorized, Caller};
use super::fields::{OrgName, TimeZone, Weekday};
use super::state::AppState;
use crate::accounts::{organization, provisioning};
use crate::domain::accounts::{self, Organization};
use crate::domain::nudges::NotificationChoice;
use crate::domain::validation::{self, Errors, FieldError};
use crate::error::{ApiResult, Problem};
use crate::store::accounts::{self as account_store, OrgUpdate};

/// The caller's organization.
#[utoipa::path(tag = "organization", responses((status = 200, body = Organization)), security(("bearer" = [])))]
#[get("/api/v1/org")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn get_org(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Organization>> {
    let org = state
        .db(move |conn| Ok(account_store::get_org(conn, &caller.org_id)?))
        .await?;
    Ok(web::Json(org))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    #[schema(value_type = Option<OrgName>)]
    pub name: Option<String>,
    /// IANA zone: the default for users without their own.
    #[schema(value_type = Option<TimeZone>)]
    pub timezone: Option<String>,
    /// Days with no nuggets, e.g. `["sat", "sun"]`: at most six (a repeated day counts).
    #[schema(value_type = Option<Vec<Weekday>>, max_items = 6)]
    pub quiet_weekdays: Option<Vec<String>>,
    /// How learners are reminded until they choose for themselves.
    pub notification_defaults: Option<NotificationChoice>,
    /// Pack imports refuse nuggets without an explanation and unsupported question types
    /// instead of importing them with warnings.
    pub strict_imports: Option<bool>,
    /// Show leaderboards of points for learning to the organization (off by default; see
    /// `GET /api/v1/leaderboards`).
    pub leaderboards: Option<bool>,
    /// Let teammates review each other's pitches (off by default: managers and admins review).
    pub peer_review: Option<bool>,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl UpdateOrgRequest {
    /// Every field checked; all problems reported at once.
    fn parse(self) -> Result<OrgUpdate, Vec<FieldError>> {
        let mut errs = Errors::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errs.check(validation::text("name", n, 2, 120)));
        if name
            .as_deref()
            .is_some_and(|n| accounts::slugify(n).is_empty())
        {
            errs.add("name", "must contain at least one letter or digit");
        }
        let timezone = self
            .timezone
            .as_deref()
            .and_then(|t| errs.check(accounts::time_zone("timezone", t)))
            .map(|t| t.name().to_string());
        let quiet = match self.quiet_weekdays {
            Some(days) if days.iter().all(|d| WEEKDAYS.contains(&d.as_str())) && days.len() < 7 => {
                Some(
                    WEEKDAYS
                        .iter()
                        .filter(|w| days.iter().any(|d| d == *w))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }
            Some(_) => {
                errs.add(
                    "quiet_weekdays",
                    "list at most six of mon, tue, wed, thu, fri, sat, sun",
                );
                None
            }
            None => None,
        };
        let notification_defaults = self
            .notification_defaults
            .as_ref()
            .and_then(|c| errs.check(c.parse("notification_defaults.remind_at")));
        errs.into_result(|| OrgUpdate {
            name,
            timezone,
            quiet_weekdays: quiet,
            notification_defaults,
            strict_imports: self.strict_imports,
            leaderboards: self.leaderboards,
            peer_review: self.peer_review,
        })
    }
}

/// Change the organization's name, time zone, quiet weekdays, reminder defaults, import
/// strictness, whether leaderboards are shown or whether teammates review pitches (admins).
#[utoipa::path(
    tag = "organization",
    request_body = UpdateOrgRequest,
    responses((status = 200, body = Organization), ),
    security(("bearer" = []))
)]
#[patch("/api/v1/org")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn update_org(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<UpdateOrgRequest>,
) -> ApiResult<web::Json<Organization>> {
    let changes = body.0.parse()?;
    let now = state.clock.now();
    let org = state
        .db(move |conn| organization::update(conn, &caller, changes, now))
        .await?;
    Ok(web::Json(org))
}

/// The organization's SCIM token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct ScimToken {
    /// Send it to the SCIM endpoints as `Authorization: Bearer <token>`. Only its hash is kept:
    /// a lost token is replaced, never shown again.
    pub token: String,
    /// The SCIM base URL to give the identity provider.
    pub scim_base_url: String,
}

/// Issue the organization's SCIM token for its identity provider (admins). A new token replaces
/// the previous one at once.
#[utoipa::path(
    tag = "organization",
    responses((status = 201, body = ScimToken)),
    security(("bearer" = []))
)]
#[post("/api/v1/org/scim-token")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn issue_scim_token(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let token = state
        .db(move |conn| provisioning::issue_token(conn, &caller, now))
        .await?;
    let scim_base_url = format!(
        "{}/scim/v2",
        state.settings.public_url.trim_end_matches('/')
    );
    Ok(HttpResponse::Created().json(ScimToken {
        token,
        scim_base_url,
    }))
}

/// Revoke the organization's SCIM token (admins): provisioning stops until a new one is issued.
#[utoipa::path(
    tag = "organization",
    responses(
        (status = 204, description = "the token no longer works"),
        (status = 404, description = "there was no token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/org/scim-token")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn revoke_scim_token(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    state
        .db(move |conn| provisioning::revoke_token(conn, &caller, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
