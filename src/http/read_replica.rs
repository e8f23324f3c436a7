//! How the API says which database answered a read that may come from the read replica
//! (`store::replica`): the `X-Reprise-Read-Source` header.

use actix_web::http::header::{HeaderName, HeaderValue};

pub use crate::store::replica::ReadSource;

/// Names the database that answered a replica-eligible read: `replica` or `primary`.
pub static READ_SOURCE: HeaderName = HeaderName::from_static("x-reprise-read-source");

impl ReadSource {
    /// The `X-Reprise-Read-Source` header naming this source.
    pub fn header(self) -> (HeaderName, HeaderValue) {
        (READ_SOURCE.clone(), HeaderValue::from_static(self.as_str()))
    }
}
