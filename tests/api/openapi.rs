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
