//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::scim::ScimError;
use crate::domain::validation::FieldError;
use crate::store::replica::{ReadError, ReplicaFailure};
use crate::store::StoreError;

/// The problem document every error response carries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A field of the input names something that does not exist in the organization: a 404 like
    /// any reference to a missing resource, naming the field like a validation problem.
    #[error("{}: {}", .0.field, .0.message)]
    MissingReference(FieldError),
    #[error("{0}")]
    Conflict(String),
    /// What a write read changed before it could apply (`StoreError::Concurrent`): a 409 to
    /// the client, and the signal services retry on.
    #[error("{0}")]
    Concurrent(String),
    /// The path exists but not with this method; `allow` lists the methods it has.
    #[error("{method} is not allowed here; use {allow}")]
    MethodNotAllowed { method: String, allow: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Work this instance bounds (password hashing) is at its limit: a 503 with `Retry-After`,
    /// rather than a queue that grows without end.
    #[error("the server is busy; retry after {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(String),
    /// An error of the SCIM protocol (`scimType` and all): the SCIM routes render it in SCIM's
    /// own shape; anywhere else it is a problem document with its status.
    #[error("{}", .0.detail)]
    Scim(ScimError),
}

impl ApiError {
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        ApiError::Validation { detail, errors }
    }

    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError::new(field, message)])
    }

    /// 404 for a field that names something that does not exist.
    pub fn missing(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::MissingReference(FieldError::new(field, message))
    }

    pub fn forbidden() -> ApiError {
        ApiError::Forbidden("your role does not allow this".into())
    }

    fn kind_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Validation { .. } => ("validation-error", "Invalid input"),
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Forbidden"),
            ApiError::NotFound(_) | ApiError::MissingReference(_) => ("not-found", "Not found"),
            ApiError::Conflict(_) | ApiError::Concurrent(_) => ("conflict", "Conflict"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Unsupported(_) => ("unsupported-media-type", "Unsupported media type"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) | ApiError::Overloaded { .. } => {
                ("unavailable", "Service unavailable")
            }
            ApiError::Internal(_) => ("internal", "Internal server error"),
            ApiError::Scim(_) => ("scim", "SCIM error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (kind, title) = self.kind_and_title();
        let detail = match self {
            // Internal details go to the log, never to the client.
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("/problems/{kind}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            errors: match self {
                ApiError::Validation { errors, .. } => errors.clone(),
                ApiError::MissingReference(error) => vec![error.clone()],
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::MissingReference(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Concurrent(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Scim(e) => StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if let ApiError::TooManyRequests { retry_after_secs }
        | ApiError::Overloaded { retry_after_secs } = self
        {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            response.insert_header((actix_web::http::header::ALLOW, allow.as_str()));
        }
        if let ApiError::Unauthorized(_) = self {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(self.problem())
    }
}

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        ApiError::Scim(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("no such resource".into()),
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Concurrent(what) => ApiError::Concurrent(what),
            StoreError::Pool(e) => ApiError::Unavailable(format!("database unavailable: {e}")),
            StoreError::Unavailable(e) => ApiError::Unavailable(e),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(e: crate::blobs::BlobError) -> Self {
        match e {
            crate::blobs::BlobError::NotFound => ApiError::NotFound("no such file".into()),
            crate::blobs::BlobError::Other(e) => {
                tracing::warn!(error = %e, "media storage failed");
                ApiError::Unavailable("media storage did not answer".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(StoreError::from(e))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::validation(errors)
    }
}

/// On the read replica, a missing row may not have replicated yet and a database failure may be
/// the replica's alone: both are read again on the primary. Everything else is the answer.
impl ReadError for ApiError {
    fn on_replica(&self) -> ReplicaFailure {
        match self {
            ApiError::NotFound(_) | ApiError::MissingReference(_) => ReplicaFailure::Missing,
            ApiError::Internal(_) | ApiError::Unavailable(_) => ReplicaFailure::Database,
            _ => ReplicaFailure::Final,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
