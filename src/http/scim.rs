//! The SCIM 2.0 service provider at `/scim/v2` (RFC 7644): discovery, Users and Groups.
//!
//! These routes follow SCIM rather than the rest of the API: they authenticate with the
//! organization's SCIM token instead of a user's access token, read and write
//! `application/scim+json`, and answer errors in SCIM's shape (`scimType` included), so they
//! are not in the OpenAPI document; docs/identity.md describes them.

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;

use super::state::AppState;
use crate::accounts::provisioning::{self, Provider};
use crate::domain::ids::{TeamId, UserId};
use crate::domain::scim::patch::PatchRequest;
use crate::domain::scim::resources::project;
use crate::domain::scim::{discovery, Page, ScimError};
use crate::error::ApiError;

const SCIM_JSON: &str = "application/scim+json";

/// An error of a SCIM route, rendered as a SCIM error document.
#[derive(Debug)]
pub struct ScimFailure(ApiError);

impl<E: Into<ApiError>> From<E> for ScimFailure {
    fn from(e: E) -> Self {
        ScimFailure(e.into())
    }
}

impl std::fmt::Display for ScimFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ScimFailure {
    /// The API's errors as SCIM names them: conflicts are `uniqueness`, invalid input
    /// `invalidValue`, and what went wrong inside is logged and told only as a 500.
    fn scim(&self) -> ScimError {
        match &self.0 {
            ApiError::Scim(e) => e.clone(),
            ApiError::Validation { detail, .. } => ScimError::invalid_value(detail.clone()),
            ApiError::BadRequest(d) => ScimError::invalid_syntax(d.clone()),
            ApiError::Conflict(d) => ScimError::uniqueness(d.clone()),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ScimError::status(500, "an unexpected error occurred; it has been logged")
            }
            other => ScimError::status(other.status_code().as_u16(), other.to_string()),
        }
    }
}

impl ResponseError for ScimFailure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.scim().status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let error = self.scim();
        let mut response = HttpResponse::build(self.status_code());
        if error.status == 401 {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::Overloaded { retry_after_secs } = &self.0 {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        scim_json(response, &error.body())
    }
}

type ScimResult = Result<HttpResponse, ScimFailure>;

fn scim_json(mut builder: actix_web::HttpResponseBuilder, body: &Value) -> HttpResponse {
    builder
        .insert_header((header::CONTENT_TYPE, SCIM_JSON))
        .body(body.to_string())
}

fn ok(body: &Value) -> ScimResult {
    Ok(scim_json(HttpResponse::Ok(), body))
}

fn created(body: &Value) -> ScimResult {
    let mut builder = HttpResponse::Created();
    if let Some(location) = body["meta"]["location"].as_str() {
        builder.insert_header((header::LOCATION, location));
    }
    Ok(scim_json(builder, body))
}

/// The SCIM base URL of this installation, which resources' locations start with.
fn base(state: &AppState) -> String {
    format!(
        "{}/scim/v2",
        state.settings.public_url.trim_end_matches('/')
    )
}

/// The organization's provider, admitted by its SCIM token.
pub struct Scim(Provider);

impl FromRequest for Scim {
    type Error = ScimFailure;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string());
        let request_id = req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no state".into()))?;
            let token = token.ok_or_else(|| {
                ApiError::Unauthorized("send the SCIM token as `Authorization: Bearer …`".into())
            })?;
            let org_id = state
                .db(move |conn| provisioning::authenticate(conn, &token))
                .await?;
            Ok(Scim(Provider {
                org_id,
                request_id,
                base: base(&state),
            }))
        })
    }
}

/// A SCIM request body: JSON, whatever the content type says (`application/scim+json`, or
/// plain `application/json` as some providers send).
fn body(bytes: &[u8]) -> Result<Value, ScimFailure> {
    serde_json::from_slice(bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")).into())
}

fn patch_body(bytes: &[u8]) -> Result<PatchRequest, ScimFailure> {
    serde_json::from_value(body(bytes)?)
        .map_err(|e| ScimError::invalid_syntax(format!("not a PatchOp request: {e}")).into())
}

/// What a list or a read asks for in its query string.
struct ListQuery {
    filter: Option<String>,
    page: Page,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn list_query(req: &HttpRequest) -> Result<ListQuery, ScimFailure> {
    let mut filter = None;
    let mut start = None;
    let mut count = None;
    let mut attributes = Vec::new();
    let mut excluded = Vec::new();
    let names = |v: &str| -> Vec<String> {
        v.split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect()
    };
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "filter" => filter = Some(value.into_owned()),
            "startIndex" => start = Some(value.into_owned()),
            "count" => count = Some(value.into_owned()),
            "attributes" => attributes = names(&value),
            "excludedAttributes" => excluded = names(&value),
            // Sorting is not offered (ServiceProviderConfig says so); RFC 7644 lets a provider
            // that does not sort ignore the request.
            _ => {}
        }
    }
    Ok(ListQuery {
        filter,
        page: Page::parse(start.as_deref(), count.as_deref())?,
        attributes,
        excluded,
    })
}

fn shown(req: &HttpRequest, doc: Value) -> Result<Value, ScimFailure> {
    let q = list_query(req)?;
    Ok(project(doc, &q.attributes, &q.excluded))
}

async fn service_provider_config(state: web::Data<AppState>, _scim: Scim) -> ScimResult {
    ok(&discovery::service_provider_config(&base(&state)))
}

fn listed(req: &HttpRequest, all: Vec<Value>) -> ScimResult {
    let q = list_query(req)?;
    let all = all
        .into_iter()
        .map(|d| project(d, &q.attributes, &q.excluded))
        .collect();
    ok(&q.page.list(all))
}

async fn resource_types(req: HttpRequest, state: web::Data<AppState>, _scim: Scim) -> ScimResult {
    listed(&req, discovery::resource_types(&base(&state)))
}

/// One discovery document by its `id`, else a 404.
fn by_id(all: Vec<Value>, id: &str, what: &str) -> ScimResult {
    match all.into_iter().find(|d| d["id"] == id) {
        Some(doc) => ok(&doc),
        None => Err(ScimError::not_found(format!("no such {what}")).into()),
    }
}

async fn resource_type(
    state: web::Data<AppState>,
    _scim: Scim,
    id: web::Path<String>,
) -> ScimResult {
    by_id(
        discovery::resource_types(&base(&state)),
        &id,
        "resource type",
    )
}

async fn schemas(req: HttpRequest, state: web::Data<AppState>, _scim: Scim) -> ScimResult {
    listed(&req, discovery::schemas(&base(&state)))
}

async fn schema(state: web::Data<AppState>, _scim: Scim, id: web::Path<String>) -> ScimResult {
    by_id(discovery::schemas(&base(&state)), &id, "schema")
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn list_users(req: HttpRequest, state: web::Data<AppState>, scim: Scim) -> ScimResult {
    let q = list_query(&req)?;
    let provider = scim.0;
    let found = state
        .db(move |conn| provisioning::find_users(conn, &provider, q.filter.as_deref()))
        .await?;
    listed(&req, found)
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn create_user(state: web::Data<AppState>, scim: Scim, bytes: web::Bytes) -> ScimResult {
    let doc = body(&bytes)?;
    let now = state.clock.now();
    let user =
        provisioning::create_user(&state.database, &state.passwords, &scim.0, doc, now).await?;
    created(&user.render(&scim.0.base))
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn get_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    scim: Scim,
    id: web::Path<UserId>,
) -> ScimResult {
    let provider = scim.0.clone();
    let id = id.into_inner();
    let user = state
        .db(move |conn| provisioning::get_user(conn, &provider, &id))
        .await?;
    ok(&shown(&req, user.render(&scim.0.base))?)
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn replace_user(
    state: web::Data<AppState>,
    scim: Scim,
    id: web::Path<UserId>,
    bytes: web::Bytes,
) -> ScimResult {
    let doc = body(&bytes)?;
    let now = state.clock.now();
    let user = provisioning::replace_user(
        &state.database,
        &state.access,
        &scim.0,
        id.into_inner(),
        doc,
        now,
    )
    .await?;
    ok(&user.render(&scim.0.base))
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn patch_user(
    state: web::Data<AppState>,
    scim: Scim,
    id: web::Path<UserId>,
    bytes: web::Bytes,
) -> ScimResult {
    let patch = patch_body(&bytes)?;
    let now = state.clock.now();
    let user = provisioning::patch_user(
        &state.database,
        &state.access,
        &scim.0,
        id.into_inner(),
        patch,
        now,
    )
    .await?;
    ok(&user.render(&scim.0.base))
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn delete_user(state: web::Data<AppState>, scim: Scim, id: web::Path<UserId>) -> ScimResult {
    let now = state.clock.now();
    provisioning::deactivate_user(
        &state.database,
        &state.access,
        &scim.0,
        id.into_inner(),
        now,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn list_groups(req: HttpRequest, state: web::Data<AppState>, scim: Scim) -> ScimResult {
    let q = list_query(&req)?;
    let provider = scim.0;
    let found = state
        .db(move |conn| provisioning::find_groups(conn, &provider, q.filter.as_deref()))
        .await?;
    listed(&req, found)
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn create_group(state: web::Data<AppState>, scim: Scim, bytes: web::Bytes) -> ScimResult {
    let doc = body(&bytes)?;
    let now = state.clock.now();
    let provider = scim.0.clone();
    let group = state
        .db(move |conn| provisioning::create_group(conn, &provider, &doc, now))
        .await?;
    created(&group.render(&scim.0.base))
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn get_group(
    req: HttpRequest,
    state: web::Data<AppState>,
    scim: Scim,
    id: web::Path<TeamId>,
) -> ScimResult {
    let provider = scim.0.clone();
    let id = id.into_inner();
    let group = state
        .db(move |conn| provisioning::get_group(conn, &provider, &id))
        .await?;
    ok(&shown(&req, group.render(&scim.0.base))?)
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn replace_group(
    state: web::Data<AppState>,
    scim: Scim,
    id: web::Path<TeamId>,
    bytes: web::Bytes,
) -> ScimResult {
    let doc = body(&bytes)?;
    let now = state.clock.now();
    let provider = scim.0.clone();
    let id = id.into_inner();
    let group = state
        .db(move |conn| provisioning::replace_group(conn, &provider, &id, &doc, now))
        .await?;
    ok(&group.render(&scim.0.base))
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn patch_group(
    state: web::Data<AppState>,
    scim: Scim,
    id: web::Path<TeamId>,
    bytes: web::Bytes,
) -> ScimResult {
    let patch = patch_body(&bytes)?;
    let now = state.clock.now();
    let provider = scim.0.clone();
    let id = id.into_inner();
    let group = state
        .db(move |conn| provisioning::patch_group(conn, &provider, &id, &patch, now))
        .await?;
    ok(&group.render(&scim.0.base))
}

#[tracing::instrument(skip_all, fields(org_id = %scim.0.org_id))]
async fn delete_group(state: web::Data<AppState>, scim: Scim, id: web::Path<TeamId>) -> ScimResult {
    let now = state.clock.now();
    let provider = scim.0;
    let id = id.into_inner();
    state
        .db(move |conn| provisioning::delete_group(conn, &provider, &id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn no_such_endpoint(req: HttpRequest) -> ScimResult {
    Err(ScimError::not_found(format!("no SCIM endpoint at {}", req.path())).into())
}

/// Searching every resource type at once (RFC 7644 §3.4.3) is not offered: providers list
/// users and groups at their own endpoints.
async fn search_everything() -> ScimResult {
    Err(ScimError::status(501, "search each resource type at its own endpoint").into())
}

async fn method_not_allowed(req: HttpRequest) -> ScimResult {
    Err(ScimError::status(405, format!("{} is not allowed here", req.method())).into())
}

/// A resource answering 405 in SCIM's shape to the methods it does not have.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Mounts `/scim/v2`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2")
            .service(
                resource("/ServiceProviderConfig").route(web::get().to(service_provider_config)),
            )
            .service(resource("/ResourceTypes").route(web::get().to(resource_types)))
            .service(resource("/ResourceTypes/{id}").route(web::get().to(resource_type)))
            .service(resource("/Schemas").route(web::get().to(schemas)))
            .service(resource("/Schemas/{id}").route(web::get().to(schema)))
            .service(resource("/.search").route(web::post().to(search_everything)))
            .service(
                resource("/Users")
                    .route(web::get().to(list_users))
                    .route(web::post().to(create_user)),
            )
            .service(
                resource("/Users/{id}")
                    .route(web::get().to(get_user))
                    .route(web::put().to(replace_user))
                    .route(web::patch().to(patch_user))
                    .route(web::delete().to(delete_user)),
            )
            .service(
                resource("/Groups")
                    .route(web::get().to(list_groups))
                    .route(web::post().to(create_group)),
            )
            .service(
                resource("/Groups/{id}")
                    .route(web::get().to(get_group))
                    .route(web::put().to(replace_group))
                    .route(web::patch().to(patch_group))
                    .route(web::delete().to(delete_group)),
            )
            .default_service(web::to(no_such_endpoint)),
    );
}

/// Whether a response is already a SCIM document (the problem rewriting leaves it alone).
pub fn is_scim(content_type: &[u8]) -> bool {
    content_type.starts_with(SCIM_JSON.as_bytes())
}
