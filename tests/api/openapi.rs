//! The checked-in OpenAPI document is the one the code generates, and the server serves it.

use reqwest::StatusCode;

use crate::helpers::*;

#[test]
fn checked_in_spec_matches_the_code() {
    let generated = reprise::http::openapi().to_pretty_json().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var("REPRISE_UPDATE_SPEC").is_ok() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
        return;
    }
    assert_eq!(
        committed.trim_end(),
        generated,
        "api-spec/openapi.json is stale: run `REPRISE_UPDATE_SPEC=1 cargo test --test api openapi` and commit it"
    );
}

#[actix_web::test]
async fn spec_and_docs_are_served() {
    let app = spawn_app().await;
    let spec = expect_json(app.get("/api/v1/openapi.json", None).await, StatusCode::OK).await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/v1/auth/login"]["post"].is_object());
    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("swagger"));
}

/// Every `$ref` of the document points at a component it defines.
#[test]
fn every_reference_resolves() {
    let spec = serde_json::to_value(reprise::http::openapi()).unwrap();
    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local reference");
        assert!(spec.pointer(pointer).is_some(), "unresolvable {r}");
    }
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The problem responses each operation can give are documented on every operation, including
/// routes added later: 401/403 where a token is required, 404 with path parameters, 400/413/415/422
/// with a body.
#[test]
fn every_operation_documents_its_problem_responses() {
    let spec = serde_json::to_value(reprise::http::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let mut expected = Vec::new();
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                expected.extend(["401", "403"]);
            }
            if path.contains('{') {
                expected.push("404");
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            for status in expected {
                let response = &responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
                let response = match response["$ref"].as_str() {
                    Some(r) => spec.pointer(r.strip_prefix('#').unwrap()).unwrap(),
                    None => response,
                };
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} {status} is not a problem document"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30);
    let login = &spec["paths"]["/api/v1/auth/login"]["post"]["responses"];
    assert!(login["429"].is_object());
}

/// Suffixes client generators add to a type's name for the types around it (an operation's
/// `…Request` and `…Response`, a call's `…Result`, a collection's `…List`, a second type of the
/// same name's `…2`).
const GENERATED_SUFFIXES: [&str; 4] = ["result", "request", "response", "list"];

/// Pairs of schema names where the second is the first plus a generated suffix (or the same
/// name in another case): a client generator would make the same name for both.
fn colliding_names<'a>(names: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = Vec::new();
    for &a in names {
        for &b in names {
            let (la, lb) = (a.to_lowercase(), b.to_lowercase());
            let Some(rest) = lb.strip_prefix(&la) else {
                continue;
            };
            let numbered = !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit());
            if (a != b && rest.is_empty()) || numbered || GENERATED_SUFFIXES.contains(&rest) {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

#[test]
fn schema_names_stay_apart_in_generated_clients() {
    assert_eq!(
        colliding_names(&[
            "Statement",
            "StatementResult",
            "Pause",
            "PauseRequest",
            "Team2"
        ]),
        [("Statement", "StatementResult"), ("Pause", "PauseRequest")]
    );
    assert_eq!(colliding_names(&["Team", "team", "Team2"]).len(), 4);
    let spec = serde_json::to_value(reprise::http::openapi()).unwrap();
    let names: Vec<&str> = spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(names.len() > 50, "{names:?}");
    assert_eq!(
        colliding_names(&names),
        [],
        "schema names that collide in generated clients"
    );
}
