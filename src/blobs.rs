//! PLACEHOLDER (directory only) until the object storage module lands.

use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::stream::BoxStream;

#[derive(Clone)]
pub struct Blobs {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Other(String),
}

fn other(e: impl std::fmt::Display) -> BlobError {
    BlobError::Other(e.to_string())
}

impl Blobs {
    pub fn open(url: &str) -> Result<Blobs, BlobError> {
        let root = PathBuf::from(url);
        std::fs::create_dir_all(&root).map_err(other)?;
        Ok(Blobs { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        if key.split('/').any(|s| s.is_empty() || s == "..") {
            return Err(BlobError::Other(format!("bad key {key}")));
        }
        Ok(self.root.join(key))
    }

    pub async fn put_file(&self, key: &str, path: &Path) -> Result<u64, BlobError> {
        let to = self.path(key)?;
        std::fs::create_dir_all(to.parent().unwrap()).map_err(other)?;
        std::fs::copy(path, &to).map_err(other)
    }

    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let to = self.path(key)?;
        std::fs::create_dir_all(to.parent().unwrap()).map_err(other)?;
        std::fs::write(to, bytes).map_err(other)
    }

    pub async fn get_bytes(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match std::fs::read(self.path(key)?) {
            Ok(b) => Ok(Some(b.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(other(e)),
        }
    }

    pub async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match std::fs::metadata(self.path(key)?) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(other(e)),
        }
    }

    pub async fn get_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let all = self.get_bytes(key).await?.ok_or(BlobError::NotFound)?;
        let part = all.slice(range.start as usize..range.end as usize);
        Ok(Box::pin(futures_util::stream::once(
            async move { Ok(part) },
        )))
    }

    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(other(e)),
            _ => Ok(()),
        }
    }

    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let dir = self.root.join(prefix.trim_end_matches('/'));
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                out.push(format!("{prefix}{}", e.file_name().to_string_lossy()));
            }
        }
        Ok(out)
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), BlobError> {
        let _ = std::fs::remove_dir_all(self.root.join(prefix.trim_end_matches('/')));
        Ok(())
    }
}

pub fn recordings_prefix(
    org: &crate::domain::ids::OrgId,
    user: &crate::domain::ids::UserId,
) -> String {
    format!("orgs/{org}/pitches/{user}/")
}
