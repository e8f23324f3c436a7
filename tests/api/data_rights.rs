//! A person's data rights: an export of everything kept about them, and an erasure that removes
//! what names or reaches them while the organization's figures stay as they were.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn proficiency(app: &TestApp, token: &str) -> Value {
    expect_json(
        app.get("/api/v1/analytics/proficiency?group_by=team", Some(token))
            .await,
        StatusCode::OK,
    )
    .await["overall"]
        .clone()
}

#[actix_web::test]
async fn a_person_exports_their_data_and_an_admin_erases_it_keeping_the_figures() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    let ids = ids(&app.queue(&l.learner).await);
    app.answer(&l.learner, &ids[0], &["b"]).await;
    app.answer(&l.learner, &ids[1], &["a"]).await;
    let res = app
        .client
        .put(app.url("/api/v1/me/notification-settings"))
        .bearer_auth(&l.learner)
        .json(&json!({"push": false, "email": true, "remind_at": "08:15"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let refresh = app.login("sam@acme.example", PASSWORD).await["refresh_token"].clone();

    // The export: the person's own, or an admin's; nobody else's.
    let path = format!("/api/v1/users/{}/data-export", l.learner_id);
    let mine = expect_json(app.get(&path, Some(&l.learner)).await, StatusCode::OK).await;
    assert_eq!(mine["user"]["email"], "sam@acme.example");
    let answers = mine["held"]["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["prompt"], "Question 1?");
    assert_eq!(answers[0]["correct"], true);
    assert_eq!(mine["held"]["memory"].as_array().unwrap().len(), 2);
    assert_eq!(
        mine["held"]["notification_settings"],
        json!([false, true, "08:15"])
    );
    assert_eq!(mine["held"]["teams"][0][1], "North");
    let by_admin = expect_json(app.get(&path, Some(admin)).await, StatusCode::OK).await;
    assert_eq!(by_admin["held"]["answers"], mine["held"]["answers"]);
    let (_, lee) = app.create_user(&l.org, "lee@acme.example", "learner").await;
    expect_problem(app.get(&path, Some(&lee)).await, StatusCode::FORBIDDEN).await;

    let before = proficiency(&app, admin).await;
    let erase = format!("/api/v1/users/{}/erase", l.learner_id);
    // Confirmed by the person's address, or nothing happens.
    let res = app
        .post_json(
            &erase,
            Some(admin),
            &json!({"confirm_email": "lee@acme.example"}),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&p), ["confirm_email"]);
    assert_eq!(
        app.get("/api/v1/me", Some(&l.learner)).await.status(),
        StatusCode::OK
    );
    let res = app
        .post_json(
            &erase,
            Some(&lee),
            &json!({"confirm_email": "sam@acme.example"}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    let res = app
        .post_json(
            &erase,
            Some(admin),
            &json!({"confirm_email": "Sam@Acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Gone: sign-in, sessions, the address and the name.
    let login = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "sam@acme.example", "password": PASSWORD}),
        )
        .await;
    expect_problem(login, StatusCode::UNAUTHORIZED).await;
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": refresh}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    expect_problem(
        app.get("/api/v1/me", Some(&l.learner)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let after = expect_json(app.get(&path, Some(admin)).await, StatusCode::OK).await;
    let text = after.to_string();
    assert!(
        !text.contains("sam@acme.example") && !text.contains("\"Sam\""),
        "{text}"
    );
    assert_eq!(after["user"]["name"], "Erased user");
    assert_eq!(after["user"]["active"], false);
    assert_eq!(after["held"]["notification_settings"], Value::Null);
    // The answers stay, under the pseudonym: the organization's figures do not move.
    assert_eq!(after["held"]["answers"].as_array().unwrap().len(), 2);
    assert_eq!(proficiency(&app, admin).await["n"], before["n"]);
    // Recorded, without the person's address; once only.
    let audit = expect_json(
        app.get("/api/v1/audit?action=user.erased", Some(admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit["events"][0]["target_id"], l.learner_id.as_str());
    let all = expect_json(
        app.get("/api/v1/audit?limit=500", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    assert!(!all.to_string().contains("sam@acme.example"));
    let res = app
        .post_json(
            &erase,
            Some(admin),
            &json!({"confirm_email": "sam@acme.example"}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT).await;
    // Admins cannot erase themselves.
    let me = expect_json(app.get("/api/v1/me", Some(admin)).await, StatusCode::OK).await;
    let res = app
        .post_json(
            &format!("/api/v1/users/{}/erase", me["user"]["id"].as_str().unwrap()),
            Some(admin),
            &json!({"confirm_email": "ada@acme.example"}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
}
