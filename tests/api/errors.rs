//! Bad requests of every kind get a 4xx problem document, never a 500.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn malformed_json_wrong_type_and_unknown_routes_are_problems() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::BAD_REQUEST).await;

    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": 42, "password": "x"}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["email"]);

    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "a@b.example", "password": "x", "admin": true}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["admin"]);

    expect_problem(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let big = "x".repeat(3 * 1024 * 1024);
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"email\": \"{big}\", \"password\": \"x\"}}"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[actix_web::test]
async fn validation_names_every_bad_field() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            "/api/v1/orgs",
            None,
            &json!({"org_name": "", "admin_email": "not-an-email", "admin_password": "short", "admin_name": "A", "timezone": "Mars/Olympus"}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut fields = problem_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        vec!["admin_email", "admin_password", "org_name", "timezone"]
    );
}

#[actix_web::test]
async fn password_policy_is_enforced_with_clear_errors() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&org.admin_token),
            &json!({"email": "sam.seller@acme.example", "name": "Sam", "password": "sam.seller@acme.example", "role": "learner"}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "password");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("e-mail"));
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&org.admin_token),
            &json!({"email": "sam@acme.example", "name": "Sam", "password": PASSWORD, "role": "superuser"}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["role"]);
}

#[actix_web::test]
async fn bad_tokens_are_401_problems() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (header, rest) = org.admin_token.split_once('.').unwrap();
    let (payload, _sig) = rest.split_once('.').unwrap();
    let none_alg = format!("{}.{payload}.", base64_url(r#"{"alg":"none","typ":"JWT"}"#));
    let tampered = format!("{header}.{payload}.AAAA");
    let truncated = org.admin_token[..org.admin_token.len() - 10].to_string();
    let oversized = "a".repeat(10_000);
    for token in [none_alg, tampered, truncated, oversized, "garbage".into()] {
        let res = app.get("/api/v1/me", Some(&token)).await;
        expect_problem(res, StatusCode::UNAUTHORIZED).await;
    }
    let res = app.get("/api/v1/me", None).await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[actix_web::test]
async fn probes_and_metrics_answer() {
    let app = spawn_app().await;
    assert_eq!(
        expect_json(app.get("/healthz", None).await, StatusCode::OK).await["status"],
        "ok"
    );
    assert_eq!(
        expect_json(app.get("/readyz", None).await, StatusCode::OK).await["status"],
        "ok"
    );
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("reprise_http_requests_total"), "{text}");
    let res = app.get("/healthz", None).await;
    assert!(res.headers().contains_key("x-request-id"));
}

#[actix_web::test]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let app = spawn_app().await;
    let cases = [
        ("TRACE", "/readyz", "GET"),
        ("DELETE", "/api/v1/me", "GET"),
        ("PUT", "/api/v1/users", "GET, POST"),
        ("PUT", "/api/v1/users/some-id", "GET, PATCH, DELETE"),
        ("GET", "/api/v1/teams/t1/members", "POST"),
        ("POST", "/api/v1/packs/some-pack/export", "GET"),
        ("HEAD", "/healthz", "GET"),
        ("POST", "/metrics", "GET"),
    ];
    for (method, path, allow) in cases {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        if method != "HEAD" {
            let problem = expect_problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
            assert_eq!(problem["type"], "/problems/method-not-allowed");
        }
    }
    // Unknown paths stay 404, whatever the method; the routes themselves still answer.
    for (method, path) in [("TRACE", "/api/v1/nothing"), ("GET", "/api/v1/users/a/b")] {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        expect_problem(res, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}
