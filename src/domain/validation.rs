//! Field-level validation errors shared by every input type of the domain.

use serde::Serialize;

/// One problem with one input field, reported to the client as `{field, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// 1-based line of the uploaded file at fault, for file imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            line: None,
        }
    }
}

/// Collects every field error of an input so the client can fix them all in one round.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of a parse step and returns its value when it succeeded.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

/// Shortens `text` to its first and last `keep` characters around an ellipsis when it is
/// longer, so a message that repeats what the client sent (a value, a field name) stays small.
pub fn elide(text: &str, keep: usize) -> String {
    let chars = text.chars().count();
    if chars <= 2 * keep + 1 {
        return text.to_string();
    }
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(chars - keep).collect();
    format!("{head}…{tail}")
}

/// A client's value quoted for a message, as `{:?}` does, its middle elided when long.
pub fn quoted(value: &str) -> String {
    format!("{:?}", elide(value, 24))
}

/// Trims `value` and checks its length in characters: at least `min` once trimmed, at most `max`
/// as sent (so that the OpenAPI `maxLength` is the rule).
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(FieldError::new(
            field,
            format!("must have at least {min} characters"),
        ));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must have at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_client_text_is_elided_in_messages() {
        assert_eq!(elide("short", 2), "short");
        assert_eq!(elide("abcde", 2), "abcde");
        assert_eq!(elide("abcdef", 2), "ab…ef");
        assert_eq!(elide(&"é".repeat(1000), 3), "ééé…ééé");
        assert_eq!(quoted("a\"b"), r#""a\"b""#);
        let long = quoted(&"x".repeat(100_000));
        assert!(long.len() < 60, "{long}");
    }
}
