//! Request-body and query extractors whose failures are problem documents naming the field.
//!
//! actix's own `Json` reports serde errors without the path of the offending field; these read
//! the bytes and deserialize with `serde_path_to_error` so the client learns exactly what is wrong.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::validation::{elide, FieldError};
use crate::error::ApiError;

/// A JSON request body of type `T` (`application/json` or any `+json` type).
pub struct Json<T>(pub T);

/// The request's declared content type, when it has a readable one.
pub fn content_type(req: &HttpRequest) -> Option<mime::Mime> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
}

/// The declared content type without its parameters (`text/csv`, `image/png`), or empty.
/// Parameters the `mime` grammar refuses do not hide the type: browsers send MediaRecorder's
/// `video/webm;codecs=vp8,opus` with an unquoted comma.
pub fn content_essence(req: &HttpRequest) -> String {
    content_type(req)
        .map(|m| m.essence_str().to_string())
        .or_else(|| {
            let raw = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
            let essence = raw.split(';').next()?.trim().to_ascii_lowercase();
            essence.parse::<mime::Mime>().ok()?;
            Some(essence)
        })
        .unwrap_or_default()
}

fn is_json(req: &HttpRequest) -> bool {
    content_type(req).is_some_and(|m| {
        m.type_() == mime::APPLICATION
            && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
    })
}

/// Whether the request says its body is CSV (`text/csv`, with any parameters).
pub fn is_csv(req: &HttpRequest) -> bool {
    content_essence(req) == "text/csv"
}

/// Turns a serde error with its path into a field-level problem. Syntax errors are 400s (the
/// body is not JSON at all); shape errors are 422s naming the field.
pub fn decode_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    let message = inner.to_string();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::BadRequest(format!("the body is not valid JSON: {message}"));
    }
    let mut field = e.path().to_string();
    // serde names a missing field in its message; the path stops at the parent object. Only
    // serde's own message counts: a value quoted in another message may contain the words.
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        field = if field == "." || field.is_empty() {
            name.to_string()
        } else {
            format!("{field}.{name}")
        };
    }
    if field == "." {
        field = "body".into();
    }
    // serde quotes the value or key it refused in full: keep both ends of a long message (what
    // was refused, what was expected) and of a path through long keys.
    let message = message
        .rsplit_once(" at line ")
        .map_or(&*message, |(m, _)| m);
    ApiError::validation(vec![FieldError::new(
        elide(&field, 100),
        elide(message, 160),
    )])
}

/// Reads a whole JSON body as `T`: anything after the value, but whitespace, is a syntax error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize(&mut *de) {
        Ok(value) => value,
        // serde_json reports a number, boolean, list or null where a name from a fixed list is
        // expected (an enum) as a syntax error. If the body is JSON after all, that is a value
        // of the wrong type in the field at the path.
        Err(e)
            if e.inner().is_syntax()
                && e.inner().to_string().starts_with("expected value")
                && serde_json::from_slice::<serde_json::Value>(bytes).is_ok() =>
        {
            let field = match e.path().to_string() {
                root if root == "." => "body".to_string(),
                path => elide(&path, 100),
            };
            return Err(ApiError::field(
                &field,
                "invalid type: expected a string, one of the values this field allows",
            ));
        }
        Err(e) => return Err(decode_error(e)),
    };
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::Unsupported(
                    "send the body as JSON with Content-Type: application/json".into(),
                ));
            }
            let bytes = bytes.await.map_err(payload_error)?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// Maps body-reading failures (size limit, broken transfer) to 4xx problems.
pub fn payload_error(e: actix_web::Error) -> ApiError {
    use actix_web::error::PayloadError;
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => {
            ApiError::PayloadTooLarge("the request body is too large".into())
        }
        _ if e.as_response_error().status_code()
            == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge("the request body is too large".into())
        }
        _ => ApiError::BadRequest(format!("the request body could not be read: {e}")),
    }
}

/// Problem documents for malformed query strings and path segments.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = err.to_string();
    let field = message
        .split('`')
        .nth(1)
        .map(String::from)
        .unwrap_or_else(|| "query".into());
    ApiError::validation(vec![FieldError::new(field, message)]).into()
}

pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("no such resource: {err}")).into()
}

/// Whole numbers in JSON bodies (`domain::numbers`), under the name request structs use.
pub use crate::domain::numbers as whole;
