//! Authoring: packs uploaded as JSON, YAML, CSV, GIFT or Aiken become drafts; publishing turns a
//! draft into an immutable version; exports give a version back in any format.

use actix_web::http::header::{self, ContentType};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::body::content_essence;
use super::caller::{Authorized, Authors, Readers, RoleSet};
use super::query::Query;
use super::state::AppState;
use crate::authoring::{self, PackDetail, UploadResult, ValidationResult};
use crate::domain::catalog::{DraftOutcome, PackSummary, PackVersionInfo};
use crate::domain::content::{self, Format, ImportMeta, ImportOptions, Imported};
use crate::domain::ids::OrgId;
use crate::domain::media::CleanImage;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::content as content_store;

/// Pack metadata for the question-only formats, and the format of `text/plain` bodies.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `gift` or `aiken` for `text/plain` bodies; otherwise taken from the content type.
    pub format: Option<Format>,
    /// Pack slug (CSV, GIFT, Aiken).
    pub slug: Option<String>,
    /// Pack title (CSV, GIFT, Aiken); by default the GIFT file's first category, else the
    /// slug in words.
    pub title: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    /// Refuse what is otherwise a warning (a nugget without an explanation, a skipped
    /// question). Organizations can ask for it on every import (`PATCH /api/v1/org`
    /// `strict_imports`).
    #[serde(default)]
    pub strict: bool,
    /// GIFT: skip questions of types Reprise does not ask (matching, short answer, numerical,
    /// essay, description), each a warning on its line, instead of refusing the file.
    #[serde(default)]
    pub skip_unsupported: bool,
}

/// The upload's format from its content type (and `format` for plain text).
fn upload_format(req: &HttpRequest, query: Option<Format>) -> ApiResult<Format> {
    match (content_essence(req).as_str(), query) {
        ("application/json", _) => Ok(Format::Json),
        ("application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml", _) => Ok(Format::Yaml),
        ("text/csv", _) => Ok(Format::Csv),
        ("text/plain", Some(f @ (Format::Gift | Format::Aiken))) => Ok(f),
        ("text/plain", _) => Err(ApiError::field("format", "text/plain uploads need format=gift or format=aiken")),
        _ => Err(ApiError::Unsupported(
            "upload a pack as application/json, application/yaml, text/csv, text/plain with format=gift|aiken, or a bundle as application/zip".into())),
    }
}

/// Create or update a pack's draft from a file (authors, admins). Nothing is stored when any
/// error is found; an identical upload changes nothing.
#[utoipa::path(
    tag = "content",
    params(UploadQuery),
    request_body(content = String, description = "The pack: JSON or YAML in the pack format, CSV (one row per nugget), GIFT or Aiken; or a bundle (`application/zip`: the pack file with its images, as `format=zip` exports it)",
        content_type = "application/yaml"),
    responses(
        (status = 201, description = "new pack", body = UploadResult),
        (status = 200, description = "draft updated or unchanged", body = UploadResult),
        (status = 422, description = "every error with field and line", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/packs")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn upload_pack(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    req: HttpRequest,
    query: Query<UploadQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let strict = query.strict;
    let (imported, images) = parse_any(&state, &caller.org_id, &req, query, body).await?;
    let now = state.clock.now();
    let result = authoring::save_draft_with_images(
        &state.database,
        &state.blobs,
        caller.0,
        imported,
        images,
        strict,
        now,
    )
    .await?;
    let mut response = match result.outcome {
        DraftOutcome::Created => HttpResponse::Created(),
        _ => HttpResponse::Ok(),
    };
    Ok(response.json(result))
}

/// Check a pack without storing it (authors, admins): the same formats, query and rules as an
/// upload, so an editor can show the errors and warnings an upload would give while the author
/// types.
#[utoipa::path(
    tag = "content",
    params(UploadQuery),
    request_body(content = String, description = "The pack, as for an upload", content_type = "application/json"),
    responses(
        (status = 200, description = "the pack would be accepted, with what it would let through", body = ValidationResult),
        (status = 422, description = "every error with field and line", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/packs/validate")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn validate_pack(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    req: HttpRequest,
    query: Query<UploadQuery>,
    body: web::Bytes,
) -> ApiResult<web::Json<ValidationResult>> {
    let query = query.into_inner();
    let strict = query.strict;
    let (imported, _) = parse_any(&state, &caller.org_id, &req, query, body).await?;
    let result = state
        .db(move |conn| authoring::validate(conn, &caller, imported, strict))
        .await?;
    Ok(web::Json(result))
}

/// Whether the upload is a bundle (a ZIP archive of the pack file and its images).
fn is_bundle(req: &HttpRequest) -> bool {
    content_essence(req) == "application/zip"
}

/// The uploaded pack and, for a bundle, the images it brings (cleaned off the async workers).
async fn parse_any(
    state: &AppState,
    org_id: &OrgId,
    req: &HttpRequest,
    q: UploadQuery,
    body: web::Bytes,
) -> ApiResult<(Imported, Vec<CleanImage>)> {
    if !is_bundle(req) {
        return Ok((parse_upload(req, q, &body)?, Vec::new()));
    }
    let options = ImportOptions {
        strict: false,
        skip_unsupported: q.skip_unsupported,
    };
    let (public_url, org_id) = (state.settings.public_url.clone(), org_id.clone());
    web::block(move || authoring::read_bundle(&body, options, &public_url, &org_id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The uploaded pack, in the format its content type (and `format`) names, with the query's
/// metadata for the question-only formats; lenient (the organization's strictness is applied
/// when it is saved).
fn parse_upload(req: &HttpRequest, q: UploadQuery, body: &[u8]) -> ApiResult<Imported> {
    let format = upload_format(req, q.format)?;
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the upload is not valid UTF-8 text".into()))?;
    let meta = q.slug.map(|slug| ImportMeta {
        title: q
            .title
            .unwrap_or_else(|| content::default_title(text, format, &slug)),
        slug,
        description: q.description.unwrap_or_default(),
        language: q.language.unwrap_or_else(|| "en".into()),
    });
    let options = ImportOptions {
        strict: false,
        skip_unsupported: q.skip_unsupported,
    };
    content::parse_pack_with(text, format, None, meta.as_ref(), options)
        .map_err(authoring::import_errors)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Include archived packs.
    #[serde(default)]
    pub include_archived: bool,
}

/// The organization's packs.
#[utoipa::path(
    tag = "content",
    params(ListQuery),
    responses((status = 200, body = Vec<PackSummary>), ),
    security(("bearer" = []))
)]
#[get("/api/v1/packs")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_packs(
    state: web::Data<AppState>,
    caller: Authorized<Readers>,
    q: Query<ListQuery>,
) -> ApiResult<web::Json<Vec<PackSummary>>> {
    let archived = q.include_archived;
    let packs = state
        .db(move |conn| Ok(content_store::list_packs(conn, &caller.org_id, archived)?))
        .await?;
    Ok(web::Json(packs))
}

/// A pack with its versions and draft.
#[utoipa::path(
    tag = "content",
    params(("slug" = String, Path, description = "pack slug")),
    responses((status = 200, body = PackDetail), ),
    security(("bearer" = []))
)]
#[get("/api/v1/packs/{slug}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub async fn get_pack(
    state: web::Data<AppState>,
    caller: Authorized<Readers>,
    slug: web::Path<String>,
) -> ApiResult<web::Json<PackDetail>> {
    let slug = slug.into_inner();
    let with_draft = Authors::ROLES.contains(&caller.role);
    let detail = state
        .db(move |conn| authoring::pack_detail(conn, &caller, &slug, with_draft))
        .await?;
    Ok(web::Json(detail))
}

/// Publish the draft as a new immutable version.
#[utoipa::path(
    tag = "content",
    params(("slug" = String, Path, description = "pack slug")),
    responses(
        (status = 201, body = PackVersionInfo),
        (status = 409, description = "no draft", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/packs/{slug}/publish")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub async fn publish_pack(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (slug, now) = (slug.into_inner(), state.clock.now());
    let version = state
        .db(move |conn| authoring::publish(conn, &caller, &slug, now))
        .await?;
    Ok(HttpResponse::Created().json(version))
}

/// Archive a pack: it leaves the catalogue; its versions and history stay.
#[utoipa::path(
    tag = "content",
    params(("slug" = String, Path, description = "pack slug")),
    responses((status = 200, body = PackSummary), ),
    security(("bearer" = []))
)]
#[post("/api/v1/packs/{slug}/archive")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub async fn archive_pack(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    slug: web::Path<String>,
) -> ApiResult<web::Json<PackSummary>> {
    let (slug, now) = (slug.into_inner(), state.clock.now());
    let pack = state
        .db(move |conn| authoring::archive(conn, &caller, &slug, now))
        .await?;
    Ok(web::Json(pack))
}

/// The formats a pack can be exported to (Aiken is an import format only).
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Yaml,
    Json,
    Gift,
    Csv,
    /// A bundle: the pack as YAML with the organization's images its nuggets show.
    Zip,
}

impl ExportFormat {
    /// The single-file format, or `None` for a bundle.
    fn file_format(self) -> Option<Format> {
        match self {
            ExportFormat::Yaml => Some(Format::Yaml),
            ExportFormat::Json => Some(Format::Json),
            ExportFormat::Gift => Some(Format::Gift),
            ExportFormat::Csv => Some(Format::Csv),
            ExportFormat::Zip => None,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `yaml` (default), `json`, `gift`, `csv`, or `zip` (the YAML with the pack's images).
    pub format: Option<ExportFormat>,
    /// Version number; the newest when absent.
    pub version: Option<i32>,
}

/// A published version in a file format.
#[utoipa::path(
    tag = "content",
    params(("slug" = String, Path, description = "pack slug"), ExportQuery),
    responses(
        (status = 200, description = "the pack file: the pack format as YAML (`format=yaml`, the default) or JSON (`format=json`), GIFT text (`format=gift`), CSV with one row per nugget (`format=csv`), or a ZIP bundle of `pack.yaml` and `media/<sha256>.<ext>` for the images its nuggets show (`format=zip`)",
            content(
                (Object = "application/yaml"),
                (Object = "application/json"),
                (String = "text/plain"),
                (String = "text/csv"),
                (Vec<u8> = "application/zip"))),
        ),
    security(("bearer" = []))
)]
#[get("/api/v1/packs/{slug}/export")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub async fn export_pack(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    slug: web::Path<String>,
    q: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let slug = slug.into_inner();
    let version = q.version;
    let Some(format) = q.format.unwrap_or(ExportFormat::Yaml).file_format() else {
        let disposition = format!("attachment; filename=\"{slug}.zip\"");
        let body = authoring::export_bundle(&state.database, &state.blobs, caller.0, slug, version)
            .await?;
        return Ok(HttpResponse::Ok()
            .content_type("application/zip")
            .insert_header((header::CONTENT_DISPOSITION, disposition))
            .body(body));
    };
    let (body, content_type) = state
        .db(move |conn| authoring::export(conn, &caller, &slug, version, format))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType(content_type))
        .body(body))
}
