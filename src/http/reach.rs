//! Reaching learners: the push key browsers subscribe with, the caller's push subscriptions and
//! reminder choices, one-click unsubscribe from e-mail, and one-tap sign-in links.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::Caller;
use super::query::Query;
use super::state::AppState;
use crate::accounts::tokens::{self, TokenPair};
use crate::domain::nudges::NotificationChoice;
use crate::domain::validation::{self, Errors};
use crate::error::{ApiError, ApiResult, Problem};
use crate::leaderboards;
use crate::reach::push;
use crate::store::leaderboards as board_store;
use crate::store::push_subscriptions::{self as subscriptions, Subscribed};
use crate::store::{nudges as nudge_store, StoreError};

#[derive(Serialize, ToSchema)]
pub struct VapidKey {
    /// The server's VAPID public key: an uncompressed P-256 point, base64url, for
    /// `pushManager.subscribe({applicationServerKey})`.
    pub key: String,
}

/// The key browsers subscribe to push with.
#[utoipa::path(tag = "reminders", responses((status = 200, body = VapidKey)))]
#[get("/api/v1/push/vapid-public-key")]
pub async fn vapid_public_key(state: web::Data<AppState>) -> web::Json<VapidKey> {
    web::Json(VapidKey {
        key: state.reach.vapid.public_key().to_string(),
    })
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key, base64url.
    #[schema(max_length = 200)]
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    #[schema(max_length = 100)]
    pub auth: String,
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Deserialize, ToSchema)]
pub struct PushSubscriptionRequest {
    /// The push service URL to deliver to (`https`).
    #[schema(max_length = 2000)]
    pub endpoint: String,
    pub keys: SubscriptionKeys,
    /// Sent by some browsers; not used.
    #[serde(default, rename = "expirationTime")]
    #[allow(dead_code)]
    #[schema(value_type = Option<f64>)]
    pub expiration_time: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct PushSubscriptionView {
    pub endpoint: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Keep a push subscription of the caller's browser. The same endpoint again changes nothing
/// (200); a browser another user of the organization subscribed moves to the caller.
#[utoipa::path(
    tag = "reminders",
    request_body = PushSubscriptionRequest,
    responses(
        (status = 201, description = "kept", body = PushSubscriptionView),
        (status = 200, description = "already kept", body = PushSubscriptionView),
        (status = 422, description = "bad endpoint or keys", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/me/push-subscriptions")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn subscribe(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PushSubscriptionRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let mut errs = Errors::default();
    if request.endpoint.len() > 2000 {
        errs.add("endpoint", "must be at most 2000 characters");
    } else if let Err(e) = state.outbound.check_destination(&request.endpoint).await {
        errs.add("endpoint", format!("cannot be delivered to: {e}"));
    }
    errs.check(push::subscription_keys(
        &request.keys.p256dh,
        &request.keys.auth,
    ));
    errs.into_result(|| ())?;
    let now = state.clock.now();
    let endpoint = request.endpoint.clone();
    let outcome = state
        .db(move |conn| {
            Ok(subscriptions::subscribe(
                conn,
                &caller.org_id,
                &caller.user_id,
                &request.endpoint,
                &request.keys.p256dh,
                &request.keys.auth,
                now,
            )?)
        })
        .await?;
    let (mut response, since) = match outcome {
        Subscribed::Created(since) => (HttpResponse::Created(), since),
        Subscribed::Existing(since) => (HttpResponse::Ok(), since),
    };
    Ok(response.json(PushSubscriptionView {
        endpoint,
        created_at: since.and_utc(),
    }))
}

/// The caller's push subscriptions.
#[utoipa::path(tag = "reminders", responses((status = 200, body = Vec<PushSubscriptionView>)), security(("bearer" = [])))]
#[get("/api/v1/me/push-subscriptions")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<PushSubscriptionView>>> {
    let subs = state
        .db(move |conn| {
            Ok(subscriptions::of_learner(
                conn,
                &caller.org_id,
                &caller.user_id,
            )?)
        })
        .await?;
    Ok(web::Json(
        subs.into_iter()
            .map(|s| PushSubscriptionView {
                endpoint: s.endpoint,
                created_at: s.created_at.and_utc(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EndpointQuery {
    /// The subscription's endpoint URL.
    #[param(max_length = 2000)]
    pub endpoint: String,
}

/// Remove one of the caller's push subscriptions.
#[utoipa::path(
    tag = "reminders",
    params(EndpointQuery),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "the caller has no such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/me/push-subscriptions")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<EndpointQuery>,
) -> ApiResult<HttpResponse> {
    let endpoint = query.0.endpoint;
    let removed = state
        .db(move |conn| {
            Ok(subscriptions::unsubscribe(
                conn,
                &caller.org_id,
                &caller.user_id,
                &endpoint,
            )?)
        })
        .await?;
    if removed {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(
            "no push subscription with this endpoint".into(),
        ))
    }
}

/// The caller's reminder choices and the name they appear under on leaderboards.
#[derive(Serialize, ToSchema)]
pub struct MySettings {
    /// Push notifications on the devices the learner allowed.
    pub push: bool,
    /// A daily e-mail.
    pub email: bool,
    /// Local time of day of the reminder, `HH:MM` (24-hour).
    #[schema(example = "09:00")]
    pub remind_at: String,
    /// The pseudonym other sellers see on leaderboards (`null`: the real name).
    pub leaderboard_name: Option<String>,
}

/// The caller's reminder choices (their organization's defaults until they choose), and their
/// leaderboard pseudonym.
#[utoipa::path(tag = "reminders", responses((status = 200, body = MySettings)), security(("bearer" = [])))]
#[get("/api/v1/me/notification-settings")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn get_settings(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<MySettings>> {
    let (settings, pseudonym) = state
        .db(move |conn| {
            let settings = nudge_store::effective_settings(conn, &caller.org_id, &caller.user_id)?;
            let pseudonym = board_store::pseudonym(conn, &caller.org_id, &caller.user_id)?;
            Ok((settings, pseudonym))
        })
        .await?;
    Ok(web::Json(my_settings(settings.into(), pseudonym)))
}

fn my_settings(choice: NotificationChoice, leaderboard_name: Option<String>) -> MySettings {
    MySettings {
        push: choice.push,
        email: choice.email,
        remind_at: choice.remind_at,
        leaderboard_name,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSettingsRequest {
    /// Push notifications on the devices the learner allowed.
    pub push: bool,
    /// A daily e-mail.
    pub email: bool,
    /// Local time of day of the reminder, `HH:MM` (24-hour).
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub remind_at: String,
    /// The name to appear under on leaderboards (2–40 characters, not another person's name
    /// or pseudonym); `null` shows the real name again; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 2, max_length = 40)]
    pub leaderboard_name: Option<Option<String>>,
}

/// A field that may be absent (outer `None`) or `null` (inner `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Choose how and when to be reminded (push, e-mail, the local time of day), and the name to
/// appear under on leaderboards.
#[utoipa::path(
    tag = "reminders",
    request_body = PutSettingsRequest,
    responses(
        (status = 200, body = MySettings),
        (status = 422, description = "a bad time of day or pseudonym", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/me/notification-settings")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn put_settings(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PutSettingsRequest>,
) -> ApiResult<web::Json<MySettings>> {
    let body = body.0;
    let mut errs = Errors::default();
    let choice = NotificationChoice {
        push: body.push,
        email: body.email,
        remind_at: body.remind_at,
    };
    let settings = errs.check(choice.parse("remind_at"));
    let pseudonym = match body.leaderboard_name {
        Some(Some(name)) => errs
            .check(validation::text("leaderboard_name", &name, 2, 40))
            .map(Some),
        Some(None) => Some(None),
        None => None,
    };
    let settings = errs.into_result(|| settings.expect("checked"))?;
    let now = state.clock.now();
    let (settings, pseudonym) = state
        .db(move |conn| leaderboards::save_settings(conn, &caller, &settings, pseudonym, now))
        .await?;
    Ok(web::Json(my_settings(settings.into(), pseudonym)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeQuery {
    /// The token of the e-mail's `List-Unsubscribe` link.
    #[param(max_length = 2000)]
    pub token: String,
}

/// One-click unsubscribe (RFC 8058), the URL of every reminder e-mail's `List-Unsubscribe`:
/// turns the addressee's e-mail reminders off. Needs no login; the token names the addressee.
#[utoipa::path(
    tag = "reminders",
    params(UnsubscribeQuery),
    responses(
        (status = 200, description = "e-mail reminders are off"),
        (status = 401, description = "not a valid unsubscribe token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/unsubscribe")]
#[tracing::instrument(skip_all)]
pub async fn one_click_unsubscribe(
    state: web::Data<AppState>,
    query: Query<UnsubscribeQuery>,
) -> ApiResult<HttpResponse> {
    let (org_id, user_id) = state
        .keys
        .verify_unsubscribe(&query.0.token)
        .map_err(|_| ApiError::Unauthorized("the unsubscribe link is not valid".into()))?;
    let now = state.clock.now();
    state
        .db(move |conn| {
            nudge_store::stop_email(conn, &org_id, &user_id, now).map_err(|e| match e {
                // The account was removed: nothing is sent to it any more anyway.
                StoreError::NotFound => ApiError::NotFound("no such account".into()),
                e => e.into(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("You will get no more reminder e-mails.\n"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The token of a reminder e-mail's sign-in link.
    #[schema(max_length = 200)]
    pub token: String,
}

/// Exchange a one-tap sign-in link from a reminder e-mail for a token pair. Each link works
/// once, for 24 hours, and only while its account is active.
#[utoipa::path(
    tag = "auth",
    request_body = LinkRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "unknown, used or expired link", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/link")]
#[tracing::instrument(skip_all)]
pub async fn sign_in_with_link(
    state: web::Data<AppState>,
    body: Json<LinkRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let (issuer, now) = (state.issuer(), state.clock.now());
    let pair = tokens::sign_in_with_link(&state.database, &issuer, &body.0.token, now).await?;
    Ok(web::Json(pair))
}
