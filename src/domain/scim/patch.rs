//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON document.
//!
//! A PATCH is applied to the document the client would read, and the result is then taken as
//! a full replacement, checked like a PUT. So every attribute a client can read can be patched,
//! with one set of rules for what a valid resource is, and providers' dialects only have to be
//! understood here: Microsoft Entra ID's `replace` without a path whose value holds attribute
//! paths as keys (`"name.givenName"`, an extension attribute's full URN), capitalised `op`s,
//! and removal of group members listed in `value`; Okta's `replace` of the whole resource with
//! its read-only `id` in it, and `members[value eq "…"]` paths.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::filter::val_matches;
use super::{ScimError, CORE_GROUP, CORE_USER, PATCH_OP};

/// A PATCH request's body.
#[derive(Debug, Deserialize)]
pub struct PatchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<Operation>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    pub op: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

impl PatchRequest {
    /// Applies every operation in order to `doc`, or fails on the first that cannot apply.
    pub fn apply(&self, doc: &mut Value) -> Result<(), ScimError> {
        if !self.schemas.iter().any(|s| s == PATCH_OP) {
            return Err(ScimError::invalid_syntax(format!(
                "`schemas` must list {PATCH_OP}"
            )));
        }
        for operation in &self.operations {
            operation.apply(doc)?;
        }
        Ok(())
    }
}

impl Operation {
    fn apply(&self, doc: &mut Value) -> Result<(), ScimError> {
        let kind = match self.op.to_ascii_lowercase().as_str() {
            "add" => Kind::Add,
            "replace" => Kind::Replace,
            "remove" => Kind::Remove,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "`op` must be add, replace or remove, not {other:?}"
                )))
            }
        };
        let value = self.value.clone();
        match (self.path.as_deref().map(str::trim), kind) {
            (None | Some(""), Kind::Remove) => {
                Err(ScimError::no_target("a remove operation needs a `path`"))
            }
            (None | Some(""), _) => match value {
                Some(Value::Object(fields)) => {
                    for (key, value) in fields {
                        keyed(doc, kind, &key, value)?;
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(
                    "an operation without `path` needs an object as its `value`",
                )),
            },
            // A path naming a whole extension: its attributes are in the value.
            (Some(raw), _) if raw.starts_with("urn:") && is_extension_urn(raw) => {
                let ext = child_object(root(doc)?, raw);
                match (kind, value) {
                    (Kind::Remove, _) => ext.clear(),
                    (_, Some(Value::Object(fields))) => {
                        for (name, v) in fields.into_iter().filter(|(k, _)| k != "schemas") {
                            set(ext, kind, &name, v);
                        }
                    }
                    _ => {
                        return Err(ScimError::invalid_value(
                            "the value for an extension must be an object of its attributes",
                        ))
                    }
                }
                Ok(())
            }
            (Some(raw), _) => {
                let path: PatchPath = raw.parse().map_err(|e| {
                    ScimError::invalid_path(format!("the path {raw:?} does not parse: {e}"))
                })?;
                if kind != Kind::Remove && value.is_none() {
                    return Err(ScimError::invalid_value("the operation needs a `value`"));
                }
                at_path(doc, kind, &path, value.unwrap_or(Value::Null))
            }
        }
    }
}

/// One key of a path-less operation's value: an attribute, an extension's object, or (as
/// Entra sends them) an attribute path.
fn keyed(doc: &mut Value, kind: Kind, key: &str, value: Value) -> Result<(), ScimError> {
    let is_schema_urn = key.starts_with("urn:") && value.is_object() && is_extension_urn(key);
    if is_schema_urn {
        let Value::Object(fields) = value else {
            unreachable!()
        };
        let ext = child_object(root(doc)?, key);
        for (name, v) in fields {
            set(ext, kind, &name, v);
        }
        return Ok(());
    }
    if key.contains('.') || key.contains(':') {
        let path: PatchPath = key.parse().map_err(|e| {
            ScimError::invalid_path(format!("the attribute {key:?} does not parse: {e}"))
        })?;
        return at_path(doc, kind, &path, value);
    }
    set(root(doc)?, kind, key, value);
    Ok(())
}

/// Whether `urn` names a schema (an extension's object) rather than an attribute inside one.
fn is_extension_urn(urn: &str) -> bool {
    let last = urn.rsplit(':').next().unwrap_or_default();
    last == "User" || last == "Group"
}

fn root(doc: &mut Value) -> Result<&mut Map<String, Value>, ScimError> {
    doc.as_object_mut()
        .ok_or_else(|| ScimError::invalid_value("the resource is not an object"))
}

/// The object a path's attribute lives in: the document for core attributes, else the
/// extension's object (created when missing).
fn container<'a>(
    doc: &'a mut Value,
    attr: &AttrPath,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let root = root(doc)?;
    match &attr.uri {
        None => Ok(root),
        Some(uri)
            if uri.eq_ignore_ascii_case(CORE_USER) || uri.eq_ignore_ascii_case(CORE_GROUP) =>
        {
            Ok(root)
        }
        Some(uri) => Ok(child_object(root, uri)),
    }
}

/// The key of `map` spelled like `name` without regard to case, if there is one.
fn key_of(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn child_object<'a>(map: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let key = key_of(map, name).unwrap_or_else(|| name.to_string());
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

/// Adds or replaces one attribute of `map`: `add` appends to a multi-valued attribute and
/// merges into a complex one; `replace` merges a complex attribute's sub-attributes and
/// replaces anything else (RFC 7644 §3.5.2.1, §3.5.2.3). A null value removes the attribute.
fn set(map: &mut Map<String, Value>, kind: Kind, name: &str, value: Value) {
    let key = key_of(map, name).unwrap_or_else(|| name.to_string());
    if kind == Kind::Remove || value.is_null() {
        map.remove(&key);
        return;
    }
    match (map.get_mut(&key), value) {
        (Some(Value::Array(existing)), value) if kind == Kind::Add => {
            let added = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            for item in added {
                if !existing.contains(&item) {
                    existing.push(item);
                }
            }
        }
        (Some(Value::Object(existing)), Value::Object(fields)) => {
            for (k, v) in fields {
                set(existing, Kind::Replace, &k, v);
            }
        }
        (_, value) => {
            map.insert(key, value);
        }
    }
}

fn at_path(doc: &mut Value, kind: Kind, path: &PatchPath, value: Value) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) => {
            let map = container(doc, attr)?;
            match &attr.sub_attr {
                None if kind == Kind::Remove => {
                    remove_listed(map, &attr.name, &value);
                    Ok(())
                }
                None => {
                    set(map, kind, &attr.name, value);
                    Ok(())
                }
                Some(sub) => {
                    let Some(key) = key_of(map, &attr.name) else {
                        if kind != Kind::Remove {
                            set(child_object(map, &attr.name), kind, sub, value);
                        }
                        return Ok(());
                    };
                    match map.get_mut(&key) {
                        Some(Value::Object(inner)) => set(inner, kind, sub, value),
                        Some(Value::Array(items)) => {
                            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                                set(item, kind, sub, value.clone());
                            }
                        }
                        Some(other) if kind != Kind::Remove => {
                            *other = Value::Object(Map::new());
                            set(other.as_object_mut().expect("an object"), kind, sub, value);
                        }
                        _ => {}
                    }
                    Ok(())
                }
            }
        }
        PatchPath::Value(vp) => {
            let map = container(doc, &vp.attr)?;
            let key = key_of(map, &vp.attr.name).unwrap_or_else(|| vp.attr.name.clone());
            let items = match map.get_mut(&key) {
                Some(Value::Array(items)) => items,
                _ if kind == Kind::Remove => return Ok(()),
                _ => {
                    map.insert(key.clone(), Value::Array(Vec::new()));
                    map.get_mut(&key)
                        .and_then(Value::as_array_mut)
                        .expect("inserted above")
                }
            };
            if kind == Kind::Remove {
                match &vp.sub_attr {
                    None => items.retain(|item| !val_matches(&vp.filter, item)),
                    Some(sub) => {
                        for item in items.iter_mut().filter(|i| val_matches(&vp.filter, i)) {
                            if let Some(obj) = item.as_object_mut() {
                                set(obj, Kind::Remove, sub, Value::Null);
                            }
                        }
                    }
                }
                return Ok(());
            }
            if !items.iter().any(|i| val_matches(&vp.filter, i)) {
                // Entra replaces `emails[type eq "work"].value` on a user who has no work
                // address yet: the element the filter describes is made, then set.
                match element_described_by(&vp.filter) {
                    Some(element) => items.push(element),
                    None => {
                        return Err(ScimError::no_target(format!(
                            "no value of {} matches the path's filter",
                            vp.attr.name
                        )))
                    }
                }
            }
            for item in items.iter_mut().filter(|i| val_matches(&vp.filter, i)) {
                match (&vp.sub_attr, item) {
                    (Some(sub), Value::Object(obj)) => set(obj, Kind::Replace, sub, value.clone()),
                    (None, Value::Object(obj)) if value.is_object() => {
                        set_all(obj, &value);
                    }
                    (None, item) => *item = value.clone(),
                    (Some(_), _) => {}
                }
            }
            Ok(())
        }
    }
}

fn set_all(obj: &mut Map<String, Value>, value: &Value) {
    if let Value::Object(fields) = value {
        for (k, v) in fields {
            set(obj, Kind::Replace, k, v.clone());
        }
    }
}

/// `remove` with a path naming a multi-valued attribute and a `value` listing some of its
/// elements removes those (by their `value`), as Entra removes group members; without a
/// `value`, the whole attribute goes.
fn remove_listed(map: &mut Map<String, Value>, name: &str, listed: &Value) {
    let Some(key) = key_of(map, name) else {
        return;
    };
    let listed: Vec<&Value> = match listed {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    };
    if listed.is_empty() {
        map.remove(&key);
        return;
    }
    let value_of = |v: &Value| v.get("value").cloned().unwrap_or_else(|| v.clone());
    let gone: Vec<Value> = listed.into_iter().map(value_of).collect();
    if let Some(Value::Array(items)) = map.get_mut(&key) {
        items.retain(|item| !gone.contains(&value_of(item)));
    }
}

/// The element a filter like `type eq "work"` describes, to be made when none matches.
fn element_described_by(filter: &ValFilter) -> Option<Value> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value))
            if path.sub_attr.is_none() && path.uri.is_none() =>
        {
            let value = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                _ => return None,
            };
            let mut element = Map::new();
            element.insert(path.name.clone(), value);
            Some(Value::Object(element))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(doc: &mut Value, ops: Value) -> Result<(), ScimError> {
        let request: PatchRequest =
            serde_json::from_value(json!({"schemas": [PATCH_OP], "Operations": ops})).unwrap();
        request.apply(doc)
    }

    fn user() -> Value {
        json!({
            "schemas": [CORE_USER],
            "userName": "ann@example.com",
            "active": true,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true}]
        })
    }

    #[test]
    fn entra_replaces_without_a_path_with_attribute_paths_as_keys() {
        let mut doc = user();
        patch(
            &mut doc,
            json!([{"op": "Replace", "value": {
                "active": "False",
                "name.familyName": "Smith",
                "emails[type eq \"work\"].value": "ann.smith@example.com",
                "urn:ietf:params:scim:schemas:extension:reprise:2.0:User:role": "manager"
            }}]),
        )
        .unwrap();
        assert_eq!(doc["active"], "False");
        assert_eq!(
            doc["name"],
            json!({"givenName": "Ann", "familyName": "Smith"})
        );
        assert_eq!(doc["emails"][0]["value"], "ann.smith@example.com");
        assert_eq!(
            doc["urn:ietf:params:scim:schemas:extension:reprise:2.0:User"]["role"],
            "manager"
        );
    }

    #[test]
    fn okta_replaces_whole_objects_and_extensions() {
        let mut doc = user();
        patch(
            &mut doc,
            json!([{"op": "replace", "value": {"active": false,
                "urn:ietf:params:scim:schemas:extension:reprise:2.0:User": {"role": "author"}}}]),
        )
        .unwrap();
        assert_eq!(doc["active"], false);
        assert_eq!(
            doc["urn:ietf:params:scim:schemas:extension:reprise:2.0:User"]["role"],
            "author"
        );
        patch(
            &mut doc,
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:reprise:2.0:User",
                "value": {"schemas": ["urn:ietf:params:scim:schemas:extension:reprise:2.0:User"], "role": "admin"}}]),
        )
        .unwrap();
        assert_eq!(
            doc["urn:ietf:params:scim:schemas:extension:reprise:2.0:User"],
            json!({"role": "admin"})
        );
    }

    #[test]
    fn members_are_added_and_removed_by_filter_or_by_value() {
        let mut group = json!({"schemas": [CORE_GROUP], "displayName": "EMEA",
            "members": [{"value": "u1"}, {"value": "u2"}]});
        patch(
            &mut group,
            json!([{"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]}]),
        )
        .unwrap();
        assert_eq!(group["members"].as_array().unwrap().len(), 3);
        patch(
            &mut group,
            json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
        )
        .unwrap();
        patch(
            &mut group,
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u3"}]}]),
        )
        .unwrap();
        assert_eq!(group["members"], json!([{"value": "u1"}]));
        patch(&mut group, json!([{"op": "remove", "path": "members"}])).unwrap();
        assert!(group.get("members").is_none());
    }

    #[test]
    fn paths_reach_sub_attributes_and_filtered_elements() {
        let mut doc = user();
        patch(
            &mut doc,
            json!([
                {"op": "replace", "path": "name.givenName", "value": "Anna"},
                {"op": "remove", "path": "emails[type eq \"work\"]"},
                {"op": "add", "path": "emails", "value": [{"value": "a@example.org"}]},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "Anna Lee"}
            ]),
        )
        .unwrap();
        assert_eq!(doc["name"]["givenName"], "Anna");
        assert_eq!(doc["emails"], json!([{"value": "a@example.org"}]));
        assert_eq!(doc["displayName"], "Anna Lee");
    }

    #[test]
    fn bad_operations_name_what_is_wrong() {
        let mut doc = user();
        let err = patch(&mut doc, json!([{"op": "remove"}])).unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
        let err = patch(&mut doc, json!([{"op": "move", "path": "x"}])).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
        let err = patch(
            &mut doc,
            json!([{"op": "add", "path": "emails[", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("invalidPath"));
        let err = patch(
            &mut doc,
            json!([{"op": "replace", "path": "emails[type co \"x\"].value", "value": "a@b.c"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
    }
}
