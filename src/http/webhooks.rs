//! The organization's webhooks (admins): create one (its secret shown once), list, delete, and
//! read the recent deliveries of one with every attempt's response code.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::{Admins, Authorized};
use super::query::Query;
use super::state::AppState;
use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::webhooks::{Event, Format, WebhookRequest};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::webhooks::{self as store, DeliveryRecord, Webhook};

/// A webhook as admins see it: never its secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    #[schema(value_type = String)]
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<Event>,
    pub format: Format,
    pub description: String,
    /// `active`, or `failing` once a delivery gave up after a day of retries (the next
    /// delivery that gets through makes it active again).
    pub status: String,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        WebhookView {
            id: w.id,
            url: w.url,
            events: w.events,
            format: w.format,
            description: w.description,
            status: w.status,
            failing_since: w.failing_since,
            created_at: w.created_at,
        }
    }
}

/// A new webhook, with the secret its messages are signed with.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and the base64 key of the Standard Webhooks signature. Shown this once; it is
    /// kept sealed.
    pub secret: String,
}

/// Send the organization's events to a URL (admins). Messages are signed (Standard Webhooks)
/// with the secret in the response, which is not shown again.
#[utoipa::path(
    tag = "webhooks",
    request_body = WebhookRequest,
    responses(
        (status = 201, body = CreatedWebhook),
        (status = 422, description = "bad URL, events or format", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/org/webhooks")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<WebhookRequest>,
) -> ApiResult<HttpResponse> {
    let hook = body.0.check().map_err(ApiError::validation)?;
    // The server will POST the organization's data here: it must lead to an address the
    // egress policy allows (checked again at every delivery).
    state
        .outbound
        .check_destination(&hook.url)
        .await
        .map_err(|e| ApiError::field("url", format!("cannot be delivered to: {e}")))?;
    let (webhook, secret) = state.webhooks.create(&caller, hook).await?;
    tracing::info!(webhook_id = %webhook.id, "webhook created");
    Ok(HttpResponse::Created().json(CreatedWebhook {
        webhook: webhook.into(),
        secret,
    }))
}

/// The organization's webhooks, oldest first (admins).
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Vec<WebhookView>)), security(("bearer" = [])))]
#[get("/api/v1/org/webhooks")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<Vec<WebhookView>>> {
    let hooks = state
        .db(move |conn| Ok(store::list(conn, &caller.org_id)?))
        .await?;
    Ok(web::Json(
        hooks.into_iter().map(WebhookView::from).collect(),
    ))
}

/// Stop sending to a webhook; its queued deliveries and their history go with it (admins).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = "webhook id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such webhook", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/org/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, webhook_id = %id))]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<WebhookId>,
) -> ApiResult<HttpResponse> {
    state.webhooks.delete(&caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesParams {
    /// How many of the most recent deliveries, 1..=200 (default 50).
    pub limit: Option<i64>,
}

/// One try at a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The receiver's response status; null when there was no response.
    pub status_code: Option<i32>,
    /// Why there was no response (refused by the egress policy, timeout, connection).
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// One message and its attempts.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// The message's `webhook-id`, the same at every attempt.
    #[schema(value_type = String)]
    pub id: DeliveryId,
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<AttemptView>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        DeliveryView {
            id: d.id,
            event: d.event,
            status: d.status,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            next_attempt_at: d.next_attempt_at,
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    at: a.at,
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

/// A webhook's recent deliveries, newest first, with every attempt (admins).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = "webhook id"), DeliveriesParams),
    responses(
        (status = 200, body = Vec<DeliveryView>),
        (status = 404, description = "no such webhook", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/org/webhooks/{id}/deliveries")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, webhook_id = %id))]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    id: web::Path<WebhookId>,
    q: Query<DeliveriesParams>,
) -> ApiResult<web::Json<Vec<DeliveryView>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 200"));
    }
    let id = id.into_inner();
    let deliveries = state
        .db(move |conn| {
            store::find(conn, &caller.org_id, &id)?;
            Ok(store::recent_deliveries(conn, &caller.org_id, &id, limit)?)
        })
        .await?;
    Ok(web::Json(
        deliveries.into_iter().map(DeliveryView::from).collect(),
    ))
}
