//! SCIM 2.0 (RFC 7643, RFC 7644) as Reprise speaks it to identity providers: users and groups
//! (teams) as SCIM documents, the filters and PATCH operations on them, the discovery
//! documents, and SCIM's error shape. Pure: no storage, no HTTP.

pub mod discovery;
pub mod filter;
pub mod patch;
pub mod resources;

use serde_json::{json, Value};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Reprise's extension of the User resource: the user's role. It follows the
/// `urn:ietf:params:scim:schemas:extension:…` form Microsoft Entra ID requires of custom
/// attributes, so every provider can map one to it.
pub const REPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:reprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one page of a list holds; a larger `count` is cut to it.
pub const MAX_PAGE: usize = 500;

/// A SCIM error (RFC 7644 §3.12): the HTTP status and, for 400s and 409s, the `scimType`
/// that tells a provider what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidFilter"), detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidPath"), detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some("noTarget"), detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some("mutability"), detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self::new(status, None, detail)
    }

    /// The error document; `status` is a string, as RFC 7644 writes it.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

/// A page of a list: `startIndex` is 1-based, `count` the most resources wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: usize,
    pub count: usize,
}

impl Page {
    /// RFC 7644 §3.4.2.4: a `startIndex` below 1 is read as 1 and a negative `count` as 0;
    /// `count` is cut to [`MAX_PAGE`].
    pub fn parse(start_index: Option<&str>, count: Option<&str>) -> Result<Page, ScimError> {
        let number = |name: &str, raw: Option<&str>, default: i64| -> Result<i64, ScimError> {
            match raw {
                None => Ok(default),
                Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
                    ScimError::invalid_value(format!("`{name}` must be a whole number"))
                }),
            }
        };
        let start = number("startIndex", start_index, 1)?.max(1);
        let count = number("count", count, MAX_PAGE as i64)?.clamp(0, MAX_PAGE as i64);
        Ok(Page {
            start_index: usize::try_from(start).unwrap_or(usize::MAX),
            count: usize::try_from(count).unwrap_or(0),
        })
    }

    /// The list response of one page of `matched`, everything matching in order.
    pub fn list(&self, matched: Vec<Value>) -> Value {
        let total = matched.len();
        let resources: Vec<Value> = matched
            .into_iter()
            .skip(self.start_index - 1)
            .take(self.count)
            .collect();
        json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": self.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        })
    }
}

/// Reads a boolean as providers send it: JSON's `true`/`false`, or Entra's `"True"`/`"False"`.
pub fn boolean(field: &str, value: &Value) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!(
            "`{field}` must be true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_rfc_7644_bounds() {
        assert_eq!(
            Page::parse(None, None).unwrap(),
            Page {
                start_index: 1,
                count: MAX_PAGE
            }
        );
        assert_eq!(
            Page::parse(Some("0"), Some("-3")).unwrap(),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(Page::parse(None, Some("9999")).unwrap().count, MAX_PAGE);
        assert!(Page::parse(Some("one"), None).is_err());
        let page = Page::parse(Some("2"), Some("2")).unwrap();
        let list = page.list((1..=5).map(|i| json!(i)).collect());
        assert_eq!(list["totalResults"], 5);
        assert_eq!(list["itemsPerPage"], 2);
        assert_eq!(list["Resources"], json!([2, 3]));
    }

    #[test]
    fn booleans_come_as_json_or_as_entra_strings() {
        assert!(boolean("active", &json!("True")).unwrap());
        assert!(!boolean("active", &json!("false")).unwrap());
        assert!(!boolean("active", &json!(false)).unwrap());
        assert!(boolean("active", &json!("yes")).is_err());
    }

    #[test]
    fn errors_carry_their_status_as_a_string_and_their_scim_type() {
        let body = ScimError::uniqueness("taken").body();
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["schemas"], json!([ERROR]));
        assert!(ScimError::not_found("x").body().get("scimType").is_none());
    }
}
