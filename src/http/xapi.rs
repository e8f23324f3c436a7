//! xAPI: the organization's answers as statements, and the LRS they are forwarded to.

use actix_web::{delete, get, put, web, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::{Admins, Analysts, Authorized};
use super::query::Query;
use super::read_replica::ReadSource;
use super::state::AppState;
use crate::accounts::organization;
use crate::domain::calendar;
use crate::domain::validation::{Errors, FieldError};
use crate::domain::xapi::Statement;
use crate::error::{ApiError, ApiResult};
use crate::store::xapi::{self, LrsSettings, StatementQuery};

/// Statements a page holds unless `limit` says otherwise.
const DEFAULT_PAGE: i64 = 100;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementParams {
    /// Only statements stored at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only statements stored before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1..=500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `more` cursor of the previous page.
    pub cursor: Option<String>,
}

/// A page of statements: xAPI's StatementResult object.
#[derive(Serialize, ToSchema)]
pub struct StatementPage {
    pub statements: Vec<Statement>,
    /// Relative URL of the next page; empty on the last.
    pub more: String,
}

impl StatementParams {
    /// The page asked for: its size checked, its cursor one this server gave out.
    fn query(&self) -> ApiResult<StatementQuery> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=500).contains(&limit) {
            return Err(vec![FieldError::new("limit", "must be between 1 and 500")].into());
        }
        let mut errors = Errors::default();
        let since = self
            .since
            .and_then(|t| errors.check(calendar::storable("since", t)));
        let until = self
            .until
            .and_then(|t| errors.check(calendar::storable("until", t)));
        errors.into_result(|| ())?;
        let after = match self.cursor.as_deref() {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                ApiError::field("cursor", "is not a cursor this server gave out")
            })?),
        };
        Ok(StatementQuery {
            since,
            until,
            after,
            attempt_ids: None,
            limit,
        })
    }

    /// The relative URL of the page after a full one ending at `last`; empty after the last.
    fn next_page(&self, page: &xapi::StatementPage, limit: i64) -> String {
        match (&page.last, page.statements.len() as i64 == limit) {
            (Some((at, id)), true) => {
                let mut url = format!(
                    "/api/v1/xapi/statements?limit={limit}&cursor={}",
                    encode_cursor(*at, id)
                );
                for (name, value) in [("since", self.since), ("until", self.until)] {
                    if let Some(v) = value {
                        url.push_str(&format!("&{name}={}", v.to_rfc3339().replace('+', "%2B")));
                    }
                }
                url
            }
            _ => String::new(),
        }
    }
}

fn encode_cursor(at: NaiveDateTime, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}|{id}", at.and_utc().timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> Option<(NaiveDateTime, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let (micros, id) = std::str::from_utf8(&raw).ok()?.split_once('|')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.to_string()))
}

/// The organization's counted answers as xAPI 1.0.3 statements, oldest stored first (analysts,
/// admins). Practice answers moved no score, so they are neither listed nor forwarded.
#[utoipa::path(
    tag = "xapi",
    params(StatementParams),
    responses(
        (status = 200, body = StatementPage, headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/xapi/statements")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_statements(
    state: web::Data<AppState>,
    caller: Authorized<Analysts>,
    params: Query<StatementParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let query = p.query()?;
    let limit = query.limit;
    let st = state.clone();
    let org = caller.org_id.clone();
    let (page, source) = state
        .read_db(move |conn| {
            Ok(xapi::statements(
                conn,
                &org,
                &st.settings.public_url,
                query,
            )?)
        })
        .await?;
    let more = p.next_page(&page, limit);
    Ok(HttpResponse::Ok()
        .insert_header(source.header())
        .json(StatementPage {
            statements: page.statements,
            more,
        }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LrsRequest {
    /// The LRS's xAPI endpoint, e.g. `https://lrs.example.com/xapi`; statements go to
    /// `{endpoint}/statements`.
    #[schema(
        example = "https://lrs.example.com/xapi",
        pattern = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&()*+,;=:@/-]*)?$",
        max_length = 500
    )]
    pub endpoint: String,
    #[schema(max_length = 200)]
    pub username: String,
    #[schema(max_length = 500)]
    pub password: String,
}

impl LrsRequest {
    /// The endpoint (without a trailing `/`) and credentials, each checked.
    fn parse(self) -> Result<LrsSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.endpoint.chars().count() > 500 || !is_lrs_url(&self.endpoint) {
            errors.push(FieldError::new("endpoint", "must be an http(s) URL"));
        }
        if self.username.chars().count() > 200 || self.password.chars().count() > 500 {
            errors.push(FieldError::new(
                "username",
                "username ≤ 200 and password ≤ 500 characters",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LrsSettings {
            endpoint: self.endpoint.trim_end_matches('/').to_string(),
            username: self.username,
            password: self.password,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct LrsStatus {
    pub configured: bool,
    pub endpoint: Option<String>,
    pub username: Option<String>,
}

/// Where the organization's statements are forwarded (the password is never shown).
#[utoipa::path(tag = "xapi", responses((status = 200, body = LrsStatus)), security(("bearer" = [])))]
#[get("/api/v1/org/lrs")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn get_lrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<LrsStatus>> {
    let lrs = state
        .db(move |conn| Ok(xapi::lrs(conn, &caller.org_id)?))
        .await?;
    Ok(web::Json(LrsStatus::of(lrs.as_ref())))
}

impl LrsStatus {
    /// What may be shown of the settings: never the password.
    fn of(lrs: Option<&LrsSettings>) -> LrsStatus {
        LrsStatus {
            configured: lrs.is_some(),
            endpoint: lrs.map(|l| l.endpoint.clone()),
            username: lrs.map(|l| l.username.clone()),
        }
    }
}

/// Forward every answer, past and future, to this LRS (admins).
#[utoipa::path(
    tag = "xapi",
    request_body = LrsRequest,
    responses((status = 200, body = LrsStatus), ),
    security(("bearer" = []))
)]
#[put("/api/v1/org/lrs")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn put_lrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<LrsRequest>,
) -> ApiResult<web::Json<LrsStatus>> {
    let mut settings = body.0.parse()?;
    // The server will call this URL with the organization's credentials: it must lead to an
    // address the egress policy allows (checked again at every delivery).
    state
        .outbound
        .check_destination(&settings.endpoint)
        .await
        .map_err(|e| ApiError::field("endpoint", e.to_string()))?;
    let status = LrsStatus::of(Some(&settings));
    let now = state.clock.now();
    settings.password = state.secrets.seal(
        &xapi::lrs_password_context(&caller.org_id),
        &settings.password,
    );
    state
        .db(move |conn| organization::set_lrs(conn, &caller, Some(&settings), now))
        .await?;
    tracing::info!("statements forwarded to an LRS");
    Ok(web::Json(status))
}

/// An http(s) URL with an ASCII host name or address, an optional port and path: the same
/// rule as the request schema's pattern.
fn is_lrs_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._~%!$&()*+,;=:@/-".contains(&b));
    host_ok && port_ok && path_ok
}

/// Stop forwarding (admins).
#[utoipa::path(tag = "xapi", responses((status = 204, description = "forwarding off")), security(("bearer" = [])))]
#[delete("/api/v1/org/lrs")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn delete_lrs(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    state
        .db(move |conn| organization::set_lrs(conn, &caller, None, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lrs_urls_are_plain_http_urls() {
        for good in [
            "https://lrs.example.com/xapi",
            "http://127.0.0.1:8080/xapi/",
            "http://a",
        ] {
            assert!(super::is_lrs_url(good), "{good}");
        }
        for bad in [
            "ftp://x",
            "http://",
            "http:///x",
            "http://[::1]/",
            "http://a b",
            "http://ä.example",
            "http://a:99999999/",
        ] {
            assert!(!super::is_lrs_url(bad), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip() {
        let at = chrono::DateTime::from_timestamp_micros(1_772_438_400_123_456)
            .unwrap()
            .naive_utc();
        let c = super::encode_cursor(at, "id-1");
        assert_eq!(super::decode_cursor(&c), Some((at, "id-1".to_string())));
        assert_eq!(super::decode_cursor("garbage!"), None);
    }
}
