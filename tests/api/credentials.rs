//! Passwords people look after themselves: invitations, resets by e-mail, changing one's own;
//! each link works once, and setting a password ends the user's other sessions.

use std::path::Path;
use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// The e-mails written to `dir` so far, as (to, subject, text).
fn mails(dir: &Path) -> Vec<(String, String, String)> {
    mails_in(dir)
        .into_iter()
        .map(|m| (m.to, m.subject, m.text))
        .collect()
}

/// Waits for a mail to `to` (resets are sent after the answer) and returns its link token.
async fn link_for(dir: &Path, to: &str, count: usize) -> String {
    for _ in 0..100 {
        let found: Vec<_> = mails(dir).into_iter().filter(|m| m.0 == to).collect();
        if found.len() >= count {
            let text = &found[count - 1].2;
            return text
                .split("/#/set-password/")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("a link")
                .to_string();
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("no mail to {to}");
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": token, "new_password": password}),
    )
    .await
}

async fn can_log_in(app: &TestApp, email: &str, password: &str) -> bool {
    app.post_json(
        "/api/v1/auth/login",
        None,
        &json!({"email": email, "password": password}),
    )
    .await
    .status()
        == StatusCode::OK
}

#[actix_web::test]
async fn an_invited_user_sets_their_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_with(|s| s.mail_dir = path.clone()).await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    // No password without an invitation.
    let res = app
        .post_json(
            "/api/v1/users",
            Some(admin),
            &json!({"email": "ivy@acme.example", "name": "Ivy", "role": "learner"}),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&p), ["password"]);
    let ivy = expect_json(
        app.post_json(
            "/api/v1/users",
            Some(admin),
            &json!({"email": "ivy@acme.example", "name": "Ivy", "role": "learner", "invite": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let sent = mails(dir.path());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "ivy@acme.example");
    assert_eq!(sent[0].1, "You are invited to Acme on Reprise");
    assert!(sent[0].2.contains("for 7 days"), "{}", sent[0].2);
    let token = link_for(dir.path(), "ivy@acme.example", 1).await;

    // A common password is refused, naming the field; the link still works after that.
    let p = expect_problem(
        confirm(&app, &token, "1234567890").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&p), ["new_password"]);
    let pair = expect_json(
        confirm(&app, &token, "ivy-chooses-this-one").await,
        StatusCode::OK,
    )
    .await;
    assert!(pair["access_token"].is_string());
    assert!(can_log_in(&app, "ivy@acme.example", "ivy-chooses-this-one").await);
    // Once only.
    expect_problem(
        confirm(&app, &token, "another-good-password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Inviting again mails a new link; a deactivated user cannot be invited.
    let id = ivy["id"].as_str().unwrap();
    let res = app
        .post_json(
            &format!("/api/v1/users/{id}/invite"),
            Some(admin),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(mails(dir.path()).len(), 2);
    let res = app.delete(&format!("/api/v1/users/{id}"), admin).await;
    assert!(res.status().is_success());
    let res = app
        .post_json(
            &format!("/api/v1/users/{id}/invite"),
            Some(admin),
            &json!({}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT).await;
    let res = app
        .post_json(
            &format!("/api/v1/users/{id}/invite"),
            Some(&l.learner),
            &json!({}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;

    let audit: Value = expect_json(
        app.get("/api/v1/audit?limit=500", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_id"] == id)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.deactivated",
            "user.invited",
            "user.invitation_accepted",
            "user.invited",
            "user.created"
        ]
    );
}

#[actix_web::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_with(|s| s.mail_dir = path.clone()).await;
    let l = app.setup_learning(3).await;
    let old = app.login("sam@acme.example", PASSWORD).await;
    // The same answer for an address with no account, and no mail.
    for email in ["sam@acme.example", "nobody@acme.example"] {
        let res = app
            .post_json(
                "/api/v1/auth/password-reset",
                None,
                &json!({"email": email}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(res.text().await.unwrap(), "");
    }
    let token = link_for(dir.path(), "sam@acme.example", 1).await;
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(mails(dir.path()).iter().all(|m| m.0 == "sam@acme.example"));

    let pair = expect_json(
        confirm(&app, &token, "sam-new-password-1").await,
        StatusCode::OK,
    )
    .await;
    assert!(can_log_in(&app, "sam@acme.example", "sam-new-password-1").await);
    assert!(!can_log_in(&app, "sam@acme.example", PASSWORD).await);
    // The sessions from before end: their refresh token no longer works, their access token
    // neither; the new pair does.
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": old["refresh_token"]}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app.get("/api/v1/me", Some(&l.learner)).await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .get("/api/v1/me", Some(pair["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    expect_problem(
        confirm(&app, &token, "yet-another-password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // A link works for an hour.
    let res = app
        .post_json(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "sam@acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let late = link_for(dir.path(), "sam@acme.example", 2).await;
    app.clock.advance(chrono::Duration::minutes(61));
    expect_problem(
        confirm(&app, &late, "too-late-password-1").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    expect_problem(
        confirm(&app, "not-a-link", "too-late-password-1").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[actix_web::test]
async fn a_user_changes_their_own_password_knowing_the_current_one() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let old = app.login("sam@acme.example", PASSWORD).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let res = app
        .post_json(
            "/api/v1/me/password",
            Some(&l.learner),
            &change("wrong-password-x", "sam-new-password-1"),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&p), ["current_password"]);
    for (bad, why) in [
        ("short", "at least 10"),
        ("qwertyuiop", "common"),
        ("sam@acme.example", "e-mail"),
    ] {
        let res = app
            .post_json(
                "/api/v1/me/password",
                Some(&l.learner),
                &change(PASSWORD, bad),
            )
            .await;
        let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem_fields(&p), ["new_password"]);
        assert!(p.to_string().contains(why), "{bad}: {p}");
    }
    let pair = expect_json(
        app.post_json(
            "/api/v1/me/password",
            Some(&l.learner),
            &change(PASSWORD, "sam-new-password-1"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(can_log_in(&app, "sam@acme.example", "sam-new-password-1").await);
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": old["refresh_token"]}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .get("/api/v1/me", Some(pair["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
