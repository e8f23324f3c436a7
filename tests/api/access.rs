//! A change to what a user may do (role, activation, password) takes effect at once: their
//! access tokens are refused on the next request and their refresh tokens are revoked.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_json, expect_problem, spawn_app, spawn_on, TestApp, PASSWORD};

/// A refused token's problem tells the client to log in again.
async fn expect_logged_out(res: reqwest::Response) {
    let problem = expect_problem(res, StatusCode::UNAUTHORIZED).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("log in again"), "{problem}");
}

async fn refresh(app: &TestApp, tokens: &Value) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
}

async fn change_user(app: &TestApp, admin: &str, id: &str, change: Value) {
    let res = app
        .patch_json(&format!("/api/v1/users/{id}"), admin, &change)
        .await;
    expect_json(res, StatusCode::OK).await;
}

/// Creates an admin with `email` through `token`.
async fn create_admin(app: &TestApp, token: &str, email: &str) -> reqwest::Response {
    let body = json!({"email": email, "name": "New Admin", "password": PASSWORD, "role": "admin"});
    app.post_json("/api/v1/users", Some(token), &body).await
}

/// A server with Acme, whose admin is Ada, and Sam with `role`, logged in: (server, Ada's
/// token, Sam's id, Sam's token pair).
async fn acme_with_sam(role: &str) -> (TestApp, String, String, Value) {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (sam, _) = app.create_user(&org, "sam@acme.example", role).await;
    let tokens = app.login("sam@acme.example", PASSWORD).await;
    (app, org.admin_token, sam, tokens)
}

async fn log_in_again(app: &TestApp) -> String {
    app.token("sam@acme.example").await
}

#[actix_web::test]
async fn a_demoted_admin_loses_admin_rights_at_once() {
    let (app, ada, sam, tokens) = acme_with_sam("admin").await;
    let token = tokens["access_token"].as_str().unwrap();
    let res = create_admin(&app, token, "eve@acme.example").await;
    expect_json(res, StatusCode::CREATED).await;

    change_user(&app, &ada, &sam, json!({"role": "learner"})).await;
    expect_logged_out(create_admin(&app, token, "mal@acme.example").await).await;
    expect_logged_out(app.get("/api/v1/me", Some(token)).await).await;
    expect_problem(refresh(&app, &tokens).await, StatusCode::UNAUTHORIZED).await;

    // Logged in again, Sam is the learner he now is.
    let token = log_in_again(&app).await;
    let res = create_admin(&app, &token, "mal@acme.example").await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    let me = expect_json(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["user"]["role"], "learner");
}

#[actix_web::test]
async fn a_deactivated_learner_is_refused_at_once() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let queue = app.queue(&l.learner).await;
    let nugget = queue["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();

    let res = app
        .delete(
            &format!("/api/v1/users/{}", l.learner_id),
            &l.org.admin_token,
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    expect_logged_out(app.get("/api/v1/me/queue", Some(&l.learner)).await).await;
    expect_logged_out(app.answer(&l.learner, &nugget, &["b"]).await).await;
}

#[actix_web::test]
async fn a_promoted_user_logs_in_again_for_the_new_role() {
    let (app, ada, sam, tokens) = acme_with_sam("learner").await;
    let token = tokens["access_token"].as_str().unwrap();
    let res = app.get("/api/v1/users", Some(token)).await;
    expect_problem(res, StatusCode::FORBIDDEN).await;

    change_user(&app, &ada, &sam, json!({"role": "analyst"})).await;
    expect_logged_out(app.get("/api/v1/users", Some(token)).await).await;
    expect_problem(refresh(&app, &tokens).await, StatusCode::UNAUTHORIZED).await;
    let token = log_in_again(&app).await;
    expect_json(app.get("/api/v1/users", Some(&token)).await, StatusCode::OK).await;
}

#[actix_web::test]
async fn a_new_password_ends_every_login() {
    let (app, ada, sam, phone) = acme_with_sam("learner").await;
    let laptop = app.login("sam@acme.example", PASSWORD).await;
    for login in [&phone, &laptop] {
        let token = login["access_token"].as_str().unwrap();
        expect_json(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await;
    }

    let password = "another-long-password";
    change_user(&app, &ada, &sam, json!({"password": password})).await;
    for login in [&phone, &laptop] {
        let token = login["access_token"].as_str().unwrap();
        expect_logged_out(app.get("/api/v1/me", Some(token)).await).await;
        expect_problem(refresh(&app, login).await, StatusCode::UNAUTHORIZED).await;
    }
    let old = json!({"email": "sam@acme.example", "password": PASSWORD});
    let res = app.post_json("/api/v1/auth/login", None, &old).await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    app.login("sam@acme.example", password).await;
}

#[actix_web::test]
async fn changes_that_keep_access_keep_tokens() {
    let (app, ada, sam, tokens) = acme_with_sam("learner").await;
    let change = json!({"name": "Samuel", "role": "learner", "active": true, "daily_max": 2});
    change_user(&app, &ada, &sam, change).await;
    let token = tokens["access_token"].as_str().unwrap();
    expect_json(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await;
    expect_json(refresh(&app, &tokens).await, StatusCode::OK).await;
}

#[actix_web::test]
async fn other_instances_see_a_change_within_the_cache_time() {
    let app = spawn_app().await;
    let other = spawn_on(&app.database_url).await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (bob, token) = app.create_user(&org, "bob@acme.example", "admin").await;
    expect_json(
        other.get("/api/v1/users", Some(&token)).await,
        StatusCode::OK,
    )
    .await;

    change_user(&app, &org.admin_token, &bob, json!({"role": "learner"})).await;
    expect_logged_out(app.get("/api/v1/users", Some(&token)).await).await;
    // The other instance read Bob a moment ago and keeps him for the cache time (5 s in tests).
    other.clock.advance(Duration::seconds(4));
    expect_json(
        other.get("/api/v1/users", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    other.clock.advance(Duration::seconds(1));
    expect_logged_out(other.get("/api/v1/users", Some(&token)).await).await;
}
