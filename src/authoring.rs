//! Authoring as a service: a parsed pack becomes its slug's draft, a draft becomes an immutable
//! published version, a published version is written back out in a file format (for the API's
//! export and `reprise export`), and a pack's item analysis shows authors how each nugget
//! performs.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::blobs::{self, Blobs};
use crate::domain::catalog::{DraftOutcome, PackSummary, PackVersionInfo};
use crate::domain::content::{self, bundle, ContentError, Format, Imported, Pack};
use crate::domain::ids::OrgId;
use crate::domain::item_analysis::{self, ItemAnalysis};
use crate::domain::media::{self, CleanImage, ImageError, ImageKind};
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::media::{self as media_store, StoredImage};
use crate::store::{
    self, accounts as account_store, analysis as analysis_store, content as content_store,
    Database, DbConnection,
};

#[derive(Serialize, ToSchema)]
pub struct UploadResult {
    pub outcome: DraftOutcome,
    pub pack: PackSummary,
    /// What the file lacks but did not stop the import (a nugget without an explanation, a
    /// question skipped), by line; empty for a clean file.
    pub warnings: Vec<ImportWarning>,
}

/// A pack checked as an upload would check it, with nothing stored.
#[derive(Serialize, ToSchema)]
pub struct ValidationResult {
    pub slug: String,
    pub title: String,
    /// Nuggets the pack would hold.
    pub nuggets: usize,
    /// What an upload would let through, as it would list it.
    pub warnings: Vec<ImportWarning>,
}

/// A problem an import let through.
#[derive(Serialize, ToSchema)]
pub struct ImportWarning {
    /// The file's line, when the format locates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field (a path like `nuggets[3].explanation`, or a CSV column); empty for the file.
    pub field: String,
    pub message: String,
}

impl From<ContentError> for ImportWarning {
    fn from(w: ContentError) -> Self {
        Self {
            line: w.line,
            field: w.field,
            message: w.message,
        }
    }
}

/// The 422 of an import that failed: every error with its field and line.
pub fn import_errors(errors: Vec<ContentError>) -> ApiError {
    ApiError::validation(
        errors
            .into_iter()
            .map(|e| FieldError {
                field: if e.field.is_empty() {
                    "body".into()
                } else {
                    e.field
                },
                message: e.message,
                line: e.line,
            })
            .collect(),
    )
}

/// Stores an imported pack as the draft of its slug (creating the pack when the slug is new),
/// in one write transaction with the summary it answers with; its warnings are errors when
/// the call (`strict`) or the organization asks for strictness. An identical upload changes
/// nothing.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %imported.pack.slug))]
/// Checks a parsed pack as [`save_draft`] would (the organization's strictness included) and
/// stores nothing: the browser editor calls it as the author types.
pub fn validate(
    conn: &mut DbConnection,
    caller: &Caller,
    imported: Imported,
    strict: bool,
) -> ApiResult<ValidationResult> {
    let Imported { pack, warnings } = with_strictness(conn, caller, imported, strict)?;
    Ok(ValidationResult {
        slug: pack.slug,
        title: pack.title,
        nuggets: pack.nuggets.len(),
        warnings: warnings.into_iter().map(ImportWarning::from).collect(),
    })
}

/// The import as saved: a strict call, or an organization that asks for strictness, turns its
/// warnings into errors.
fn with_strictness(
    conn: &mut DbConnection,
    caller: &Caller,
    imported: Imported,
    strict: bool,
) -> ApiResult<Imported> {
    let strict = strict || account_store::get_org(conn, &caller.org_id)?.strict_imports;
    if strict {
        imported.strict().map_err(import_errors)
    } else {
        Ok(imported)
    }
}

pub fn save_draft(
    conn: &mut DbConnection,
    caller: &Caller,
    imported: Imported,
    strict: bool,
    now: DateTime<Utc>,
) -> ApiResult<UploadResult> {
    let Imported { pack, warnings } = with_strictness(conn, caller, imported, strict)?;
    write_draft(conn, caller, &pack, warnings, &[], now)
}

/// [`save_draft`] keeping the images a bundle brought: their bytes go to the media storage
/// first, then their records with the draft in one transaction; a refused pack keeps none of
/// them (the bytes written for it are deleted again, see [`with_images_stored`]).
pub async fn save_draft_with_images(
    database: &Database,
    blobs: &Blobs,
    caller: Caller,
    imported: Imported,
    images: Vec<CleanImage>,
    strict: bool,
    now: DateTime<Utc>,
) -> ApiResult<UploadResult> {
    let checker = caller.clone();
    let Imported { pack, warnings } = database
        .run(move |conn| with_strictness(conn, &checker, imported, strict))
        .await?;
    if images.is_empty() {
        return database
            .run(move |conn| write_draft(conn, &caller, &pack, warnings, &[], now))
            .await;
    }
    let org_id = caller.org_id.clone();
    with_images_stored(database, blobs, &org_id, images, move |conn, images| {
        write_draft(conn, &caller, &pack, warnings, images, now)
    })
    .await
}

/// The draft of `pack` and the records of `images`, in one write transaction.
fn write_draft(
    conn: &mut DbConnection,
    caller: &Caller,
    pack: &Pack,
    warnings: Vec<ContentError>,
    images: &[CleanImage],
    now: DateTime<Utc>,
) -> ApiResult<UploadResult> {
    let result = store::write_tx(conn, |conn| {
        for image in images {
            media_store::save(conn, &caller.org_id, image, &caller.user_id, now)?;
        }
        let outcome = content_store::save_draft(conn, &caller.org_id, pack, now)?;
        let (summary, _, _) = content_store::pack_detail(conn, &caller.org_id, &pack.slug)?;
        Ok::<_, ApiError>(UploadResult {
            outcome,
            pack: summary,
            warnings: warnings.into_iter().map(ImportWarning::from).collect(),
        })
    })?;
    tracing::info!(outcome = ?result.outcome, images = images.len(), "pack draft saved");
    Ok(result)
}

/// Puts the bytes of `images` in the media storage, then runs `record` (which records their
/// rows in one transaction). When either fails, the bytes of every image the organization has
/// no record of are deleted again: nothing is left that no row owns. Bytes are named by their
/// hash, so writing an image the organization already has rewrites the same bytes.
async fn with_images_stored<T, F>(
    database: &Database,
    blobs: &Blobs,
    org_id: &OrgId,
    images: Vec<CleanImage>,
    record: F,
) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection, &[CleanImage]) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let keys: Vec<(String, String)> = images
        .iter()
        .map(|i| {
            (
                i.id.clone(),
                blobs::image_key(org_id, &i.id, i.kind.extension()),
            )
        })
        .collect();
    let mut outcome = Ok(());
    for (image, (_, key)) in images.iter().zip(&keys) {
        outcome = blobs.put_bytes(key, Bytes::from(image.bytes.clone())).await;
        if outcome.is_err() {
            break;
        }
    }
    let error = match outcome {
        Ok(()) => match database.run(move |conn| record(conn, &images)).await {
            Ok(done) => return Ok(done),
            Err(e) => e,
        },
        Err(e) => ApiError::from(e),
    };
    let (org, ids) = (
        org_id.clone(),
        keys.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
    );
    match database
        .run(move |conn| media_store::recorded(conn, &org, &ids))
        .await
    {
        Ok(recorded) => {
            for (id, key) in &keys {
                if recorded.contains(id) {
                    continue;
                }
                if let Err(e) = blobs.delete(key).await {
                    tracing::warn!(key = %key, error = %e, "an image of a refused write stays in the media storage");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "images of a refused write may stay in the media storage")
        }
    }
    Err(error)
}

/// Where this server serves an image of the organization.
pub fn image_url(public_url: &str, org_id: &OrgId, image: &CleanImage) -> String {
    format!(
        "{}/media/{org_id}/{}.{}",
        public_url.trim_end_matches('/'),
        image.id,
        image.kind.extension()
    )
}

/// A bundle's pack, parsed as an upload of its pack file, with the images it holds for its
/// nuggets cleaned like any upload: each nugget whose image is in the bundle then shows this
/// organization's copy at this server's address. CPU only; the images are kept when the draft
/// is saved ([`save_draft_with_images`]).
pub fn read_bundle(
    bytes: &[u8],
    options: content::ImportOptions,
    public_url: &str,
    org_id: &OrgId,
) -> ApiResult<(Imported, Vec<CleanImage>)> {
    let read = bundle::read(bytes).map_err(import_errors)?;
    let mut imported = content::parse_pack_with(
        &read.pack_text,
        read.format,
        Some(&read.pack_name),
        None,
        options,
    )
    .map_err(import_errors)?;
    let mut images: Vec<CleanImage> = Vec::new();
    for (i, nugget) in imported.pack.nuggets.iter_mut().enumerate() {
        let Some((_, id, kind)) = nugget.media_url.as_deref().and_then(media::kept_image) else {
            continue;
        };
        let Some(bytes) = read.media.get(&format!("{id}.{}", kind.extension())) else {
            continue;
        };
        let image = clean_image(bytes, Some(kind.content_type())).map_err(|e| {
            ApiError::field(
                &format!("nuggets[{i}].media_url"),
                format!("the bundle's media/{id}.{}: {e}", kind.extension()),
            )
        })?;
        nugget.media_url = Some(image_url(public_url, org_id, &image));
        if !images.iter().any(|kept| kept.id == image.id) {
            images.push(image);
        }
    }
    Ok((imported, images))
}

/// A published version as a bundle: its pack file as YAML and, under `media/`, the
/// organization's images its nuggets show (recorded for it, read from the media storage).
pub async fn export_bundle(
    database: &Database,
    blobs: &Blobs,
    caller: Caller,
    slug: String,
    version: Option<i32>,
) -> ApiResult<Vec<u8>> {
    let (pack, shown) = database
        .run(move |conn| {
            let org_id = &caller.org_id;
            let pack = content_store::version_as_pack(conn, org_id, &slug, version)?;
            let mut shown: Vec<(String, String)> = Vec::new();
            for nugget in &pack.nuggets {
                let Some((org, id, kind)) = nugget.media_url.as_deref().and_then(media::kept_image)
                else {
                    continue;
                };
                let name = format!("{id}.{}", kind.extension());
                if org != org_id.as_str() || shown.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                if media_store::get(conn, org_id, &id)?
                    .is_some_and(|i| i.content_type == kind.content_type())
                {
                    shown.push((name, blobs::image_key(org_id, &id, kind.extension())));
                }
            }
            Ok::<_, ApiError>((pack, shown))
        })
        .await?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, key) in shown {
        match blobs.get_bytes(&key).await? {
            Some(bytes) => files.push((name, bytes.to_vec())),
            None => {
                tracing::warn!(key = %key, "a recorded image is missing from the media storage")
            }
        }
    }
    crate::offload::cpu(move || bundle::write(&content::to_yaml(&pack), &files)).await
}

#[derive(Serialize, ToSchema)]
pub struct PackDetail {
    pub pack: PackSummary,
    /// Published versions, newest first.
    pub versions: Vec<PackVersionInfo>,
    /// The unpublished draft in the pack format (authors and admins only).
    #[schema(value_type = Option<Object>)]
    pub draft: Option<Pack>,
}

/// A pack with its versions; with its draft only when `with_draft` (the caller writes content).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub fn pack_detail(
    conn: &mut DbConnection,
    caller: &Caller,
    slug: &str,
    with_draft: bool,
) -> ApiResult<PackDetail> {
    let (pack, versions, draft) = content_store::pack_detail(conn, &caller.org_id, slug)?;
    Ok(PackDetail {
        pack,
        versions,
        draft: draft.filter(|_| with_draft),
    })
}

/// Publishes the draft as the pack's next version, recording who published it.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub fn publish(
    conn: &mut DbConnection,
    caller: &Caller,
    slug: &str,
    now: DateTime<Utc>,
) -> ApiResult<PackVersionInfo> {
    let version = store::write_tx(conn, |conn| {
        let version = content_store::publish(conn, &caller.org_id, slug, &caller.user_id, now)?;
        let after = json!({"slug": slug, "version": version.version, "content_hash": version.content_hash, "nuggets": version.nugget_count});
        let entry = Entry::by(caller, "pack.published", "pack", slug).after(after);
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(version)
    })?;
    tracing::info!(version = version.version, "pack published");
    Ok(version)
}

/// Archives a pack: it leaves the catalogue; its versions, assignments and history stay.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub fn archive(
    conn: &mut DbConnection,
    caller: &Caller,
    slug: &str,
    now: DateTime<Utc>,
) -> ApiResult<PackSummary> {
    store::write_tx(conn, |conn| {
        let pack = content_store::archive(conn, &caller.org_id, slug, now)?;
        let entry = Entry::by(caller, "pack.archived", "pack", slug)
            .before(json!({"archived": false}))
            .after(json!({"archived": true}));
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok(pack)
    })
}

/// A published version (the newest when `version` is `None`) in `format`, with its media type.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %slug))]
pub fn export(
    conn: &mut DbConnection,
    caller: &Caller,
    slug: &str,
    version: Option<i32>,
    format: Format,
) -> ApiResult<(String, mime::Mime)> {
    let pack = content_store::version_as_pack(conn, &caller.org_id, slug, version)?;
    render(&pack, format)
}

/// Renders a pack in an export format, with its media type.
pub fn render(pack: &Pack, format: Format) -> ApiResult<(String, mime::Mime)> {
    let pitches = pack
        .nuggets
        .iter()
        .any(|n| n.kind == content::NuggetKind::Pitch);
    if pitches && matches!(format, Format::Gift | Format::Csv) {
        return Err(ApiError::field(
            "format",
            "this pack holds pitch nuggets, which GIFT and CSV cannot express; export as yaml, json or zip",
        ));
    }
    Ok(match format {
        Format::Yaml => (
            content::to_yaml(pack),
            "application/yaml".parse().expect("valid mime"),
        ),
        Format::Json => (content::to_json(pack), mime::APPLICATION_JSON),
        Format::Gift => (content::to_gift(pack), mime::TEXT_PLAIN_UTF_8),
        Format::Csv => (
            content::to_csv(pack),
            "text/csv; charset=utf-8".parse().expect("valid mime"),
        ),
        Format::Aiken => {
            return Err(ApiError::field(
                "format",
                "Aiken is an import format only; export as yaml, json, gift or csv",
            ))
        }
    })
}

#[derive(Serialize, ToSchema)]
pub struct PackItemAnalysis {
    pub slug: String,
    pub title: String,
    /// Newest published version: the text, topic and options shown are from the newest version
    /// that contains each nugget.
    pub latest_version: Option<i32>,
    #[serde(flatten)]
    pub analysis: ItemAnalysis,
}

/// How each nugget of the pack performs, from every answer its nuggets received (read in one
/// snapshot, then computed by `domain::item_analysis`).
#[tracing::instrument(skip_all, fields(org_id = %org_id, pack = %slug))]
pub fn item_analysis(
    conn: &mut DbConnection,
    org_id: &OrgId,
    slug: &str,
) -> ApiResult<PackItemAnalysis> {
    let input = analysis_store::load(conn, org_id, slug)?;
    let analysis = item_analysis::analyse(&input.items, &input.attempts, &input.first_attempts);
    Ok(PackItemAnalysis {
        slug: input.pack.slug,
        title: input.pack.title,
        latest_version: input.pack.latest_version,
        analysis,
    })
}

/// An uploaded image checked by its bytes and re-encoded without metadata (CPU work: run it off
/// the async workers). A declared content type that names another image format than the bytes
/// is refused rather than trusted or silently corrected.
pub fn clean_image(bytes: &[u8], declared: Option<&str>) -> ApiResult<CleanImage> {
    let image = media::clean(bytes).map_err(|e| match e {
        ImageError::TooLarge => ApiError::PayloadTooLarge(e.to_string()),
        ImageError::NotAnImage
        | ImageError::Empty
        | ImageError::TooManyPixels(..)
        | ImageError::Unreadable(_) => ApiError::field("body", e.to_string()),
    })?;
    if let Some(claimed) = declared.and_then(ImageKind::from_content_type) {
        if claimed != image.kind {
            return Err(ApiError::Unsupported(format!(
                "the body is {} but was sent as {}",
                image.kind.content_type(),
                claimed.content_type()
            )));
        }
    }
    Ok(image)
}

/// Keeps an image for the caller's organization: its bytes in the media storage, then its
/// record; `true` when it was not kept already. Gives the image back.
pub async fn save_image(
    database: &Database,
    blobs: &Blobs,
    caller: Caller,
    image: CleanImage,
    now: DateTime<Utc>,
) -> ApiResult<(CleanImage, bool)> {
    let org_id = caller.org_id.clone();
    let (created, image) = with_images_stored(
        database,
        blobs,
        &org_id,
        vec![image],
        move |conn, images| {
            let image = &images[0];
            let created = media_store::save(conn, &caller.org_id, image, &caller.user_id, now)?;
            Ok((created, image.clone()))
        },
    )
    .await?;
    if created {
        tracing::info!(image = %image.id, bytes = image.bytes.len(), "image kept");
    }
    Ok((image, created))
}

/// The organization's image `id` in the format its file name's extension says, if recorded
/// (no storage is read: a revalidation needs no bytes).
pub fn image(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &str,
    kind: ImageKind,
) -> ApiResult<StoredImage> {
    media_store::get(conn, org_id, id)?
        .filter(|i| i.content_type == kind.content_type())
        .ok_or_else(|| ApiError::NotFound("no such image".into()))
}

/// The bytes of a recorded image, from the media storage.
pub async fn image_bytes(
    blobs: &Blobs,
    org_id: &OrgId,
    id: &str,
    kind: ImageKind,
) -> ApiResult<Bytes> {
    let key = blobs::image_key(org_id, id, kind.extension());
    blobs.get_bytes(&key).await?.ok_or_else(|| {
        tracing::warn!(key = %key, "a recorded image is missing from the media storage");
        ApiError::NotFound("no such image".into())
    })
}

/// Images kept in the database before their bytes moved to the media storage: each body is
/// copied there, then its row deleted, a few at a time. Safe to run again after a failure (an
/// image copied twice is the same bytes at the same key). Returns how many moved.
pub async fn move_image_bodies(database: &Database, blobs: &Blobs) -> ApiResult<usize> {
    const BATCH: i64 = 16;
    let mut moved = 0;
    loop {
        let batch = database
            .run(|conn| Ok::<_, ApiError>(media_store::bodies_to_move(conn, BATCH)?))
            .await?;
        if batch.is_empty() {
            return Ok(moved);
        }
        for body in batch {
            let org_id = OrgId::from(body.org_id);
            let extension = ImageKind::from_content_type(&body.content_type)
                .map_or("bin", ImageKind::extension);
            let key = blobs::image_key(&org_id, &body.id, extension);
            blobs.put_bytes(&key, Bytes::from(body.body)).await?;
            let id = body.id;
            database
                .run(move |conn| Ok::<_, ApiError>(media_store::body_moved(conn, &org_id, &id)?))
                .await?;
            moved += 1;
        }
    }
}
