//! `Query<T>`: the query string read into `T`, with every failure a 422 naming the parameter.
//!
//! actix's own `web::Query` reports a refused value without saying which parameter held it, so
//! handlers used to take strings and check enum values themselves. Here the query string is
//! decoded with `serde_urlencoded` through `serde_path_to_error`, which keeps the name of the
//! parameter being read: query structs hold real enums, numbers and dates, and a wrong one is
//! answered like a wrong body field.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::validation::{elide, FieldError};
use crate::error::ApiError;

/// The request's query string as `T`.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Decodes `query` (without the `?`) as `T`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // No text the service keeps or compares may hold a NUL character (PostgreSQL's text cannot).
    if let Some((name, _)) = form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(ApiError::field(
            &elide(&name.replace('\0', "\\0"), 100),
            "must not contain a NUL character",
        ));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        // serde names a missing, unknown or repeated parameter only in its message; the path
        // is the whole query then.
        let named = ["missing field `", "unknown field `", "duplicate field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        let field = match named {
            Some(name) => name.to_string(),
            None if path == "." || path.is_empty() => "query".to_string(),
            None => path,
        };
        ApiError::validation(vec![FieldError::new(
            elide(&field, 100),
            elide(&message, 160),
        )])
    })
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Format {
        Json,
        Csv,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Params {
        format: Option<Format>,
        limit: Option<u32>,
        since: Option<chrono::NaiveDate>,
        team: String,
    }

    fn refused(query: &str) -> FieldError {
        match parse_query::<Params>(query) {
            Err(ApiError::Validation { errors, .. }) => errors.into_iter().next().unwrap(),
            other => panic!("{query}: expected a validation problem, got {other:?}"),
        }
    }

    #[test]
    fn reads_enums_numbers_and_dates() {
        let p: Params = parse_query("team=a%20b&format=csv&limit=7&since=2026-01-31").unwrap();
        assert_eq!(p.team, "a b");
        assert_eq!(p.format, Some(Format::Csv));
        assert_eq!(p.limit, Some(7));
        assert_eq!(p.since, chrono::NaiveDate::from_ymd_opt(2026, 1, 31));
    }

    #[test]
    fn every_kind_of_error_names_its_parameter() {
        let e = refused("team=x&format=xml");
        assert_eq!(e.field, "format");
        assert!(e.message.contains("json"), "{}", e.message);
        assert_eq!(refused("team=x&limit=-1").field, "limit");
        assert_eq!(refused("team=x&limit=ten").field, "limit");
        assert_eq!(refused("team=x&since=yesterday").field, "since");
        assert_eq!(refused("format=csv").field, "team");
        assert_eq!(refused("team=x&colour=red").field, "colour");
        assert_eq!(refused("team=x&limit=1&limit=2").field, "limit");
        assert_eq!(refused("team=a%00b").field, "team");
    }
}
