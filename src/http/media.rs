//! Images for nuggets: uploaded by authors, served to anyone holding their address.
//!
//! An image's address is its organization and the SHA-256 of its bytes: unguessable without the
//! picture itself, and never reused for other content. Phones load nugget images with a plain
//! `<img>`, which sends no bearer token, so the address is the capability; the response may be
//! kept for a year by the browser (`private`, never by a shared cache) and is revalidated by its
//! hash.

use actix_web::http::header::{self, CacheControl, CacheDirective, ETag, EntityTag};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::body::content_essence;
use super::caller::{Authorized, Authors};
use super::state::AppState;
use crate::authoring;
use crate::domain::ids::OrgId;
use crate::domain::media::{is_image_id, ImageKind, MAX_IMAGE_BYTES};
use crate::error::{ApiError, ApiResult, Problem};

#[derive(Serialize, ToSchema)]
pub struct MediaResult {
    /// Hex SHA-256 of the stored bytes.
    pub id: String,
    /// Where the image is served: put it in a nugget's `media_url`.
    pub url: String,
    /// `image/png`, `image/jpeg` or `image/webp`: the upload's own format.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// Size of the stored (re-encoded) image.
    pub bytes: usize,
}

/// Upload an image for nuggets (authors, admins): PNG, JPEG or WebP up to 2 MB, recognised by
/// its bytes, re-encoded without metadata (EXIF, comments), upright. The same image again
/// answers 200 with the same address.
#[utoipa::path(
    tag = "content",
    request_body(content = Vec<u8>, description = "the image file", content_type = "image/png"),
    responses(
        (status = 201, description = "kept", body = MediaResult),
        (status = 200, description = "the same image was kept before", body = MediaResult),
        (status = 413, description = "larger than 2 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "an image of another format than the content type says", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`body` is not a PNG, JPEG or WebP image, or is empty, damaged or over-large (more than 8192 pixels a side)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/media")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn upload_media(
    state: web::Data<AppState>,
    caller: Authorized<Authors>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    if body.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "an image may have at most {MAX_IMAGE_BYTES} bytes"
        )));
    }
    let declared = Some(content_essence(&req)).filter(|e| !e.is_empty());
    let image = web::block(move || authoring::clean_image(&body, declared.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let now = state.clock.now();
    let org_id = caller.org_id.clone();
    let (image, created) =
        authoring::save_image(&state.database, &state.blobs, caller.0, image, now).await?;
    let result = MediaResult {
        url: authoring::image_url(&state.settings.public_url, &org_id, &image),
        content_type: image.kind.content_type().to_string(),
        width: image.width,
        height: image.height,
        bytes: image.bytes.len(),
        id: image.id,
    };
    Ok(if created {
        HttpResponse::Created().json(result)
    } else {
        HttpResponse::Ok().json(result)
    })
}

/// An image kept for nuggets, by organization and content hash (no sign-in: the address is
/// the capability). Cached by the browser for a year; `If-None-Match` with its hash answers 304.
#[utoipa::path(
    tag = "content",
    params(
        ("org_id" = String, Path, description = "organization id"),
        ("file" = String, Path, description = "`<sha256>.png`, `.jpg` or `.webp`"),
    ),
    responses(
        (status = 200, description = "the image", content_type = "image/png"),
        (status = 304, description = "the browser's copy is current"),
        (status = 404, description = "no such image", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/media/{org_id}/{file}")]
#[tracing::instrument(skip_all)]
pub async fn get_media(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, file) = path.into_inner();
    let missing = || ApiError::NotFound("no such image".into());
    let (id, ext) = file.split_once('.').ok_or_else(missing)?;
    let kind = ImageKind::from_extension(ext).ok_or_else(missing)?;
    if !is_image_id(id) {
        return Err(missing());
    }
    let tag = EntityTag::new_strong(id.to_string());
    let cache = CacheControl(vec![
        CacheDirective::Private,
        CacheDirective::MaxAge(31_536_000),
        CacheDirective::Extension("immutable".into(), None),
    ]);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag.to_string()));
    let (org_id, id) = (OrgId::from(org), id.to_string());
    // Checked even for a revalidation, so a copy of another organization's address learns nothing.
    let (owner, name) = (org_id.clone(), id.clone());
    let image = state
        .db(move |conn| authoring::image(conn, &owner, &name, kind))
        .await?;
    if fresh {
        return Ok(HttpResponse::NotModified()
            .insert_header(ETag(tag))
            .insert_header(cache)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type(image.content_type)
        .insert_header(ETag(tag))
        .insert_header(cache)
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(authoring::image_bytes(&state.blobs, &org_id, &id, kind).await?))
}
