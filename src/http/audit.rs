//! The audit log (admins): who changed what, when, in which request; JSON or CSV, newest first,
//! page by page.

use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::analytics::{negotiate, OutputFormat, Table};
use super::caller::{Admins, Authorized};
use super::query::Query;
use super::state::AppState;
use crate::domain::ids::UserId;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::audit::{self, Event, Filter};

const DEFAULT_PAGE: i64 = 100;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only changes at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only changes before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Only changes by this user.
    #[param(value_type = Option<String>)]
    pub actor_id: Option<UserId>,
    /// Only this action, e.g. `user.updated`.
    pub action: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
    /// Page size, 1..=500 (default 100).
    pub limit: Option<i64>,
    /// Where the page starts: the `more` link of the previous page carries it.
    pub cursor: Option<String>,
}

/// One recorded change.
#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `user`, `scim` (the provisioning client), `sso` (a sign-in through the identity
    /// provider) or `system`.
    pub actor_kind: String,
    /// The user who acted (for `user` and `sso`).
    pub actor_id: Option<String>,
    /// `<target type>.<verb>`, e.g. `user.created`, `assignment.ended`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// The changed fields as they were (null for a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The changed fields as they became (null for a deletion).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
}

impl From<Event> for AuditEvent {
    fn from(e: Event) -> Self {
        let json = |v: Option<String>| v.and_then(|t| serde_json::from_str(&t).ok());
        AuditEvent {
            id: e.id,
            at: e.at.and_utc(),
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            before: json(e.before),
            after: json(e.after),
            request_id: e.request_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// The relative URL of the next (older) page; empty on the last.
    pub more: String,
}

/// The cursor after `e`: its time and id, opaque to clients.
fn cursor_of(e: &Event) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", e.at.and_utc().timestamp_micros(), e.id))
}

fn parse_cursor(text: &str) -> ApiResult<(NaiveDateTime, String)> {
    let bad = || ApiError::field("cursor", "is not a cursor this service gave");
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (micros, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at.naive_utc(), id.to_string()))
}

/// Every change by an admin, author, manager, provisioning client or single sign-on in the
/// organization, newest first (admins).
#[utoipa::path(
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, content((AuditPage = "application/json"), (String = "text/csv")),
            headers(("link" = String, description = "CSV only: `<next page>; rel=\"next\"` when there is one"))),
        (status = 422, description = "a parameter out of range", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn audit_log(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    req: HttpRequest,
    q: Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 500"));
    }
    let filter = Filter {
        since: q.since,
        until: q.until,
        actor_id: q.actor_id.clone(),
        action: q.action.clone(),
        before_event: q.cursor.as_deref().map(parse_cursor).transpose()?,
    };
    let org = caller.org_id.clone();
    let events = state
        .db(move |conn| Ok(audit::page(conn, &org, &filter, limit + 1)?))
        .await?;
    let mut events = events;
    let more = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("since", q.since.map(|t| t.to_rfc3339())),
            ("until", q.until.map(|t| t.to_rfc3339())),
            ("actor_id", q.actor_id.map(UserId::into_string)),
            ("action", q.action),
            ("limit", q.limit.map(|l| l.to_string())),
            (
                "format",
                (format == OutputFormat::Csv).then(|| "csv".to_string()),
            ),
            ("cursor", events.last().map(cursor_of)),
        ] {
            if let Some(v) = v {
                query.append_pair(k, &v);
            }
        }
        format!("/api/v1/audit?{}", query.finish())
    } else {
        String::new()
    };
    let events: Vec<AuditEvent> = events.into_iter().map(AuditEvent::from).collect();
    match format {
        OutputFormat::Csv => {
            let mut ok = HttpResponse::Ok();
            ok.content_type("text/csv; charset=utf-8").insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ));
            if !more.is_empty() {
                ok.insert_header((header::LINK, format!("<{more}>; rel=\"next\"")));
            }
            Ok(ok.body(table(&events).to_csv()))
        }
        _ => Ok(HttpResponse::Ok().json(AuditPage { events, more })),
    }
}

fn table(events: &[AuditEvent]) -> Table {
    let mut t = Table::new(&[
        "at",
        "actor_kind",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "before",
        "after",
        "request_id",
        "id",
    ]);
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    for e in events {
        t.push(vec![
            e.at.to_rfc3339(),
            e.actor_kind.clone(),
            e.actor_id.clone().unwrap_or_default(),
            e.action.clone(),
            e.target_type.clone(),
            e.target_id.clone(),
            json(&e.before),
            json(&e.after),
            e.request_id.clone().unwrap_or_default(),
            e.id.clone(),
        ]);
    }
    t
}
