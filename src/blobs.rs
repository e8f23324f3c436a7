//! Where media bytes live (nugget images, recordings): a directory on this machine or an
//! S3-compatible bucket, behind one interface built on the `object_store` crate.
//!
//! The database keeps what a file is and who owns it; this module keeps its bytes. Keys are
//! plain paths chosen by the code, never by a client: `orgs/{org}/images/{sha256}.{ext}`,
//! `orgs/{org}/pitches/{user}/{pitch}.webm`. A key is checked before any call ([`check_key`]),
//! so a mistake can never reach outside the store's root or address a whole tree by accident.
//!
//! A directory serves one machine (the embedded default, `data/media/`); a bucket serves every
//! instance behind a load balancer. Credentials for a bucket come from the usual `AWS_*`
//! variables, never from the URL, so the URL can be logged.

use std::fmt;
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::domain::ids::{OrgId, UserId};

/// The part size of a multipart upload to a bucket (S3 asks at least 5 MiB but for the last).
/// A smaller file is sent in one request.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once: bounds the memory an upload holds.
const PARTS_IN_FLIGHT: usize = 2;
/// What is read from a local file at once while it is uploaded.
const READ_BYTES: usize = 256 * 1024;

/// Where media bytes live: a directory or an S3-compatible bucket. Cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// The directory, when the store is one: files are copied in and empty folders pruned.
    root: Option<PathBuf>,
    /// What the store is, for logs and errors (no credentials are ever part of it).
    description: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such object")]
    NotFound,
    /// A key or prefix that names no single place in the store (a bug of the caller).
    #[error("invalid media key {0:?}: segments of letters, digits, '.', '-', '_' split by '/'")]
    BadKey(String),
    /// `REPRISE_MEDIA_URL` names no store this server can open.
    #[error("{0}")]
    BadUrl(String),
    #[error("media storage: {0}")]
    Other(String),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound,
            other => BlobError::Other(other.to_string()),
        }
    }
}

impl From<std::io::Error> for BlobError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => BlobError::NotFound,
            _ => BlobError::Other(e.to_string()),
        }
    }
}

/// Where an organization keeps the image `id` (its SHA-256) of format `extension`.
pub fn image_key(org: &OrgId, id: &str, extension: &str) -> String {
    format!("orgs/{org}/images/{id}.{extension}")
}

/// Where the recordings of `user` in `org` are kept: erasing the person deletes this prefix.
pub fn recordings_prefix(org: &OrgId, user: &UserId) -> String {
    format!("orgs/{org}/pitches/{user}/")
}

/// What `REPRISE_MEDIA_URL` names, read without touching anything.
#[derive(Debug, PartialEq)]
enum Location {
    Directory(PathBuf),
    Bucket {
        bucket: String,
        /// Keys live under this folder of the bucket (`s3://bucket/folder`), if any.
        folder: Option<String>,
        endpoint: Option<String>,
        region: Option<String>,
    },
}

impl Location {
    fn parse(url: &str) -> Result<Location, BlobError> {
        let url = url.trim();
        let bad = |m: String| BlobError::BadUrl(format!("REPRISE_MEDIA_URL {url:?}: {m}"));
        if url.is_empty() {
            return Err(bad("is empty".into()));
        }
        if let Some(rest) = url.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(bad(
                    "a file:// URL needs an absolute path (file:///srv/media)".into(),
                ));
            }
            let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
            let path = parsed
                .to_file_path()
                .map_err(|_| bad("is not a directory path".into()))?;
            return Ok(Location::Directory(path));
        }
        if !url.starts_with("s3://") {
            if url.contains("://") {
                return Err(bad(
                    "use a directory path, file:///abs/dir or s3://bucket?endpoint=…&region=…"
                        .into(),
                ));
            }
            return Ok(Location::Directory(PathBuf::from(url)));
        }
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("names no bucket (s3://bucket)".into()))?
            .to_string();
        let folder = parsed.path().trim_matches('/');
        let folder = if folder.is_empty() {
            None
        } else {
            check_prefix(folder).map_err(|_| bad(format!("{folder:?} is not a folder name")))?;
            Some(folder.to_string())
        };
        let (mut endpoint, mut region) = (None, None);
        for (name, value) in parsed.query_pairs() {
            match name.as_ref() {
                "endpoint" => {
                    let e = url::Url::parse(&value)
                        .map_err(|e| bad(format!("endpoint {value:?}: {e}")))?;
                    if !matches!(e.scheme(), "http" | "https") || e.host_str().is_none() {
                        return Err(bad(format!("endpoint {value:?} is not an http(s) address")));
                    }
                    endpoint = Some(value.trim_end_matches('/').to_string());
                }
                "region" if !value.is_empty() => region = Some(value.into_owned()),
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (endpoint and region are read; \
                         credentials come from the AWS_* variables)"
                    )))
                }
            }
        }
        Ok(Location::Bucket {
            bucket,
            folder,
            endpoint,
            region,
        })
    }
}

/// Whether `url` names a store [`Blobs::open`] can open, without opening it.
pub fn check_url(url: &str) -> Result<(), BlobError> {
    Location::parse(url).map(|_| ())
}

/// `key` as a path of the store: segments of `[A-Za-z0-9._-]`, none empty, `.` or `..`.
fn check_key(key: &str) -> Result<Path, BlobError> {
    let bad = || BlobError::BadKey(key.to_string());
    let fits = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    };
    if !key.split('/').all(fits) {
        return Err(bad());
    }
    Path::parse(key).map_err(|_| bad())
}

/// A prefix is a key that may end with `/`; the empty prefix (everything) is refused.
fn check_prefix(prefix: &str) -> Result<Path, BlobError> {
    let key = prefix.strip_suffix('/').unwrap_or(prefix);
    check_key(key).map_err(|_| BlobError::BadKey(prefix.to_string()))
}

impl fmt::Display for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl fmt::Debug for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blobs({})", self.description)
    }
}

impl Blobs {
    /// `s3://bucket?endpoint=http://host:port&region=…` or a directory path (created if missing) or `file:///abs/dir`.
    pub fn open(url: &str) -> Result<Blobs, BlobError> {
        match Location::parse(url)? {
            Location::Directory(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    BlobError::BadUrl(format!(
                        "REPRISE_MEDIA_URL: cannot create the directory {}: {e}",
                        dir.display()
                    ))
                })?;
                let root = dir.canonicalize()?;
                let store = LocalFileSystem::new_with_prefix(&root)?;
                Ok(Blobs {
                    store: Arc::new(store),
                    description: format!("directory {}", root.display()).into(),
                    root: Some(root),
                })
            }
            Location::Bucket {
                bucket,
                folder,
                endpoint,
                region,
            } => {
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
                if let Some(endpoint) = &endpoint {
                    // The operator wrote `http://` (a bucket on their own network): allowed.
                    builder = builder
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_endpoint(endpoint);
                }
                if let Some(region) = &region {
                    builder = builder.with_region(region);
                }
                let s3 = builder.build().map_err(|e| {
                    BlobError::BadUrl(format!("REPRISE_MEDIA_URL: the bucket {bucket:?}: {e}"))
                })?;
                let mut description = format!("s3://{bucket}");
                if let Some(folder) = &folder {
                    description.push('/');
                    description.push_str(folder);
                }
                if let Some(endpoint) = &endpoint {
                    description.push_str(&format!(" at {endpoint}"));
                }
                let store: Arc<dyn ObjectStore> = match folder {
                    Some(folder) => Arc::new(PrefixStore::new(s3, folder.as_str())),
                    None => Arc::new(s3),
                };
                Ok(Blobs {
                    store,
                    root: None,
                    description: description.into(),
                })
            }
        }
    }

    /// What the store is (`directory /srv/reprise/media`, `s3://bucket at http://…`).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Whether the store answers: an absent object is looked up (a bucket's credentials and
    /// address are tried; a directory must still exist).
    pub async fn check(&self) -> Result<(), BlobError> {
        if let Some(root) = &self.root {
            if !tokio::fs::metadata(root).await?.is_dir() {
                return Err(BlobError::Other(format!(
                    "{} is not a directory",
                    root.display()
                )));
            }
        }
        self.size("readiness-probe").await.map(|_| ())
    }

    /// Uploads a local file without reading it whole into memory (multipart upload in parts on S3, a rename/copy for a directory). Returns bytes written.
    pub async fn put_file(&self, key: &str, path: &std::path::Path) -> Result<u64, BlobError> {
        let location = check_key(key)?;
        match &self.root {
            Some(root) => copy_into(root, key, path).await,
            None => self.upload(&location, path).await,
        }
    }

    /// A file sent to a bucket: in one request when it fits a part, else in parts, a bounded
    /// number in flight; a failed multipart upload is aborted so no parts are left behind.
    async fn upload(&self, location: &Path, path: &FsPath) -> Result<u64, BlobError> {
        let mut file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        if len <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await?;
            let written = bytes.len() as u64;
            self.store
                .put(location, PutPayload::from(Bytes::from(bytes)))
                .await?;
            return Ok(written);
        }
        let upload = self.store.put_multipart(location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut written = 0u64;
        let mut buf = vec![0u8; READ_BYTES];
        loop {
            let read = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.write(&buf[..read]);
            written += read as u64;
        }
        writer.finish().await?;
        Ok(written)
    }

    pub async fn put_bytes(&self, key: &str, bytes: bytes::Bytes) -> Result<(), BlobError> {
        let location = check_key(key)?;
        self.store.put(&location, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Whole object, None when absent (small objects only: images).
    pub async fn get_bytes(&self, key: &str) -> Result<Option<bytes::Bytes>, BlobError> {
        let location = check_key(key)?;
        let result = match self.store.get(&location).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match result.bytes().await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Object size, None when absent.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        let location = check_key(key)?;
        match self.store.head(&location).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes in `range` (end exclusive) as a stream, for HTTP range responses.
    pub async fn get_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<bytes::Bytes, BlobError>>, BlobError>
    {
        let location = check_key(key)?;
        if range.start >= range.end {
            // Nothing to read, but an absent object is still absent.
            return match self.size(key).await? {
                Some(_) => Ok(stream::empty().boxed()),
                None => Err(BlobError::NotFound),
            };
        }
        let options = GetOptions::default().with_range(Some(GetRange::Bounded(Range {
            start: range.start,
            end: range.end,
        })));
        let result = self.store.get_opts(&location, options).await?;
        Ok(result.into_stream().map_err(BlobError::from).boxed())
    }

    /// Deletes one object; absent is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let location = check_key(key)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The keys of the objects under `prefix`, in no particular order: what an organization
    /// or a person has kept, for checks and audits.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let folder = check_prefix(prefix)?;
        let keys: Vec<String> = self
            .store
            .list(Some(&folder))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await?;
        Ok(keys)
    }

    /// Deletes every object whose key starts with `prefix` (e.g. `orgs/{org}/pitches/{user}/`).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), BlobError> {
        let folder = check_prefix(prefix)?;
        let locations = self
            .store
            .list(Some(&folder))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.store.delete_stream(locations);
        while let Some(outcome) = deleted.next().await {
            match outcome {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(root) = &self.root {
            let dir = root.join(folder.as_ref());
            tokio::task::spawn_blocking(move || prune_empty_dirs(&dir))
                .await
                .map_err(|e| BlobError::Other(e.to_string()))?;
        }
        Ok(())
    }
}

/// A local file copied into the directory store: to a staging name beside its place (which
/// listings skip), then renamed, so a reader never sees half a file.
async fn copy_into(root: &FsPath, key: &str, from: &FsPath) -> Result<u64, BlobError> {
    let dest = root.join(key);
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut staging = dest.clone().into_os_string();
    staging.push(format!("#{}", rand::random::<u32>()));
    let staging = PathBuf::from(staging);
    let copied = match tokio::fs::copy(from, &staging).await {
        Ok(n) => n,
        Err(e) => {
            let _ = tokio::fs::remove_file(&staging).await;
            return Err(e.into());
        }
    };
    if let Err(e) = tokio::fs::rename(&staging, &dest).await {
        let _ = tokio::fs::remove_file(&staging).await;
        return Err(e.into());
    }
    Ok(copied)
}

/// Removes `dir` and the folders below it that hold no file (a directory store keeps no empty
/// folder named after an erased person).
fn prune_empty_dirs(dir: &FsPath) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            prune_empty_dirs(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::{check_key, check_prefix, Location};
    use std::path::PathBuf;

    #[test]
    fn keys_name_one_place_below_the_root() {
        for good in ["orgs/a/images/ab12.png", "x", "orgs/o-1/pitches/u_2/p.webm"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", "a/b c", "a/b#1", "a\\b",
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
        assert!(check_prefix("orgs/a/pitches/u/").is_ok());
        assert!(check_prefix("/").is_err());
        assert!(check_prefix("").is_err());
    }

    #[test]
    fn media_urls_name_a_directory_or_a_bucket() {
        assert_eq!(
            Location::parse("data/media").unwrap(),
            Location::Directory(PathBuf::from("data/media"))
        );
        assert_eq!(
            Location::parse("file:///srv/media").unwrap(),
            Location::Directory(PathBuf::from("/srv/media"))
        );
        assert_eq!(
            Location::parse("s3://media?endpoint=http://127.0.0.1:9000/&region=eu-west-1").unwrap(),
            Location::Bucket {
                bucket: "media".into(),
                folder: None,
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("eu-west-1".into()),
            }
        );
        assert_eq!(
            Location::parse("s3://media/reprise/prod").unwrap(),
            Location::Bucket {
                bucket: "media".into(),
                folder: Some("reprise/prod".into()),
                endpoint: None,
                region: None,
            }
        );
        for bad in [
            "",
            "s3://",
            "s3://b?secret=x",
            "s3://b?endpoint=ftp://x",
            "gs://bucket",
            "file://relative",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }
}
