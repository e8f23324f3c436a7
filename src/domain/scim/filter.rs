//! SCIM filters (RFC 7644 §3.4.2.2) evaluated against a resource as its SCIM JSON document.
//!
//! The grammar is parsed by the `scim_v2` crate; this module only decides whether a parsed
//! filter matches one resource. Evaluating on the rendered document rather than on columns
//! keeps one meaning for every attribute a client can read, whatever Reprise stores it as, and
//! every operator works on every attribute. Lists are narrowed in the database first where a
//! filter makes that easy (`Narrowing`), so the documents evaluated here stay few.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::{CORE_GROUP, CORE_USER};

/// A filter as the client sent it, parsed; a filter that does not parse is the client's error.
pub fn parse(raw: &str) -> Result<Filter, String> {
    raw.parse::<Filter>()
        .map_err(|e| format!("the filter does not parse: {e}"))
}

/// Whether `resource` (a User or Group document) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Attr(exp) => attr_matches(exp, resource),
        Filter::ValuePath(vp) => elements(resource, &vp.attr)
            .into_iter()
            .any(|element| val_matches(&vp.filter, element)),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::And(operands) => operands.as_slice().iter().all(|f| matches(f, resource)),
        Filter::Or(operands) => operands.as_slice().iter().any(|f| matches(f, resource)),
    }
}

/// Whether one element of a multi-valued attribute matches the filter inside `attr[…]`.
pub fn val_matches(filter: &ValFilter, element: &Value) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(exp, element),
        ValFilter::Not(inner) => !val_matches(inner, element),
        ValFilter::And(operands) => operands.as_slice().iter().all(|f| val_matches(f, element)),
        ValFilter::Or(operands) => operands.as_slice().iter().any(|f| val_matches(f, element)),
    }
}

fn attr_matches(exp: &AttrExp, node: &Value) -> bool {
    match exp {
        AttrExp::Present(path) => values(node, path).into_iter().any(is_present),
        AttrExp::Comparison(path, op, expected) => {
            let found = values(node, path);
            let exact = case_exact(path);
            if *op == CompareOp::Ne {
                // `ne` holds when no value equals, which includes having no value at all.
                return !found
                    .iter()
                    .any(|v| compare(v, &CompareOp::Eq, expected, exact));
            }
            found.iter().any(|v| compare(v, op, expected, exact))
        }
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// RFC 7643 makes `id` and `externalId` case-exact; the other attributes Reprise serves are not.
fn case_exact(path: &AttrPath) -> bool {
    path.sub_attr.is_none()
        && (path.name.eq_ignore_ascii_case("id") || path.name.eq_ignore_ascii_case("externalId"))
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = if exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
            }
        }
        (Value::Bool(a), CompValue::True | CompValue::False) => {
            let e = matches!(expected, CompValue::True);
            match op {
                CompareOp::Eq => *a == e,
                CompareOp::Ne => *a != e,
                _ => false,
            }
        }
        (Value::Number(a), CompValue::Number(e)) => {
            let (Some(a), Some(e)) = (a.as_f64(), e.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
                _ => false,
            }
        }
        (Value::Null, CompValue::Null) => *op == CompareOp::Eq,
        _ => false,
    }
}

/// The object an attribute path starts from: the document itself for core attributes (with or
/// without their schema's URN), an extension's object for an extension URN.
fn container<'a>(node: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match &path.uri {
        None => Some(node),
        Some(uri)
            if uri.eq_ignore_ascii_case(CORE_USER) || uri.eq_ignore_ascii_case(CORE_GROUP) =>
        {
            Some(node)
        }
        Some(uri) => get(node, uri),
    }
}

/// A key of a JSON object, matched without regard to case as SCIM attribute names are.
pub fn get<'a>(node: &'a Value, key: &str) -> Option<&'a Value> {
    node.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The values of an attribute, the elements of a multi-valued one one by one.
fn elements<'a>(node: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    match container(node, path).and_then(|c| get(c, &path.name)) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

/// Every value an attribute path reaches: the elements of a multi-valued attribute one by one,
/// and for a multi-valued complex attribute named without a sub-attribute, each element's
/// `value` (RFC 7644 §3.4.2.2: `emails eq "x"` compares the addresses).
fn values<'a>(node: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let multi = container(node, path)
        .and_then(|c| get(c, &path.name))
        .is_some_and(Value::is_array);
    let elements = elements(node, path);
    match &path.sub_attr {
        Some(sub) => elements.into_iter().filter_map(|e| get(e, sub)).collect(),
        None if multi => elements
            .into_iter()
            .map(|e| {
                if e.is_object() {
                    get(e, "value").unwrap_or(e)
                } else {
                    e
                }
            })
            .collect(),
        None => elements,
    }
}

/// What the database can look up before the filter is evaluated: a filter that can only match
/// resources with this value of an indexed attribute (it is one `eq`, or an `and` that holds
/// one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Narrowing {
    UserName(String),
    ExternalId(String),
    Email(String),
    DisplayName(String),
    Id(String),
}

impl Narrowing {
    pub fn of(filter: &Filter) -> Option<Narrowing> {
        match filter {
            Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value))) => {
                let name = path.name.to_ascii_lowercase();
                let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
                let value = value.clone();
                match (name.as_str(), sub.as_deref()) {
                    ("username", None) => Some(Narrowing::UserName(value)),
                    ("externalid", None) => Some(Narrowing::ExternalId(value)),
                    ("emails", None | Some("value")) => Some(Narrowing::Email(value)),
                    ("displayname", None) => Some(Narrowing::DisplayName(value)),
                    ("id", None) => Some(Narrowing::Id(value)),
                    _ => None,
                }
            }
            Filter::And(operands) => operands.as_slice().iter().find_map(Narrowing::of),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [CORE_USER],
            "id": "u1",
            "userName": "Bjensen@Example.com",
            "externalId": "00uA1",
            "displayName": "Barbara Jensen",
            "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:reprise:2.0:User": {"role": "manager"}
        })
    }

    fn check(filter: &str) -> bool {
        matches(&parse(filter).unwrap(), &user())
    }

    #[test]
    fn operators_on_strings_ignore_case_except_for_ids() {
        assert!(check(r#"userName eq "bjensen@example.com""#));
        assert!(check(r#"USERNAME eq "BJENSEN@EXAMPLE.COM""#));
        assert!(check(r#"displayName co "jens""#));
        assert!(check(r#"displayName sw "barb""#));
        assert!(check(r#"displayName ew "SEN""#));
        assert!(check(r#"externalId eq "00uA1""#));
        assert!(!check(r#"externalId eq "00ua1""#));
        assert!(check(r#"userName ne "someone""#));
        assert!(check(r#"title ne "x""#), "ne holds for an absent attribute");
        assert!(!check(r#"title eq "x""#));
    }

    #[test]
    fn logic_value_paths_presence_and_booleans() {
        assert!(check(r#"userName sw "bj" and active eq true"#));
        assert!(!check(r#"userName sw "bj" and active eq false"#));
        assert!(check(
            r#"userName eq "nobody" or emails.value eq "bjensen@example.com""#
        ));
        assert!(check(r#"emails eq "bjensen@example.com""#));
        assert!(check(r#"emails[type eq "work" and value co "@example"]"#));
        assert!(!check(r#"emails[type eq "home"]"#));
        assert!(check("externalId pr"));
        assert!(!check("title pr"));
        assert!(check(r#"not (userName eq "x")"#));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:reprise:2.0:User:role eq "manager""#
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bjensen""#
        ));
    }

    #[test]
    fn an_eq_on_an_indexed_attribute_narrows_the_lookup() {
        let narrowing = |f: &str| Narrowing::of(&parse(f).unwrap());
        assert_eq!(
            narrowing(r#"userName eq "a@b.c""#),
            Some(Narrowing::UserName("a@b.c".into()))
        );
        assert_eq!(
            narrowing(r#"active eq true and externalId eq "x""#),
            Some(Narrowing::ExternalId("x".into()))
        );
        assert_eq!(
            narrowing(r#"emails.value eq "a@b.c""#),
            Some(Narrowing::Email("a@b.c".into()))
        );
        assert_eq!(narrowing(r#"userName eq "a" or userName eq "b""#), None);
        assert_eq!(narrowing(r#"userName co "a""#), None);
    }

    #[test]
    fn garbage_is_refused_with_a_message() {
        assert!(parse("userName eq").is_err());
        assert!(parse("userName zz \"a\"").is_err());
    }
}
