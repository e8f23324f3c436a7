//! What the audit log records of a change: the fields that differ, before and after.

use serde_json::{Map, Value};

/// The fields of two JSON objects whose values differ, as they were and as they became; fields
/// present on one side only count as changed (null on the other).
pub fn changed_fields(before: &Value, after: &Value) -> (Value, Value) {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut was = Map::new();
    let mut is = Map::new();
    for key in b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))) {
        let (old, new) = (
            b.get(key).cloned().unwrap_or(Value::Null),
            a.get(key).cloned().unwrap_or(Value::Null),
        );
        if old != new {
            was.insert(key.clone(), old);
            is.insert(key.clone(), new);
        }
    }
    (Value::Object(was), Value::Object(is))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_changed_is_kept() {
        let (was, is) = changed_fields(
            &json!({"role": "learner", "active": true, "zone": null}),
            &json!({"role": "manager", "active": true, "cap": 5}),
        );
        assert_eq!(was, json!({"role": "learner", "cap": null}));
        assert_eq!(is, json!({"role": "manager", "cap": 5}));
    }
}
