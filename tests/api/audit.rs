//! The audit log: every administrative change is recorded with its actor, target, the fields
//! before and after and the request's id, in the change's own transaction; admins read it in
//! pages as JSON or CSV; nobody can change or delete a record.

use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn audit(app: &TestApp, token: &str, query: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/audit{query}"), Some(token)).await,
        StatusCode::OK,
    )
    .await
}

fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn administrative_changes_are_recorded_with_actor_fields_and_request() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    let page = audit(&app, admin, "").await;
    // Setting up: the author's user, the team, Sam, the pack, the assignment.
    assert_eq!(
        actions(&page),
        [
            "assignment.created",
            "pack.published",
            "user.created",
            "team.created",
            "user.created"
        ]
    );

    // A role change: before and after, the admin as actor, the request's id.
    let res = app
        .patch_json(
            &format!("/api/v1/users/{}", l.learner_id),
            admin,
            &json!({"role": "manager", "name": "Samantha"}),
        )
        .await;
    let request_id = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    expect_json(res, StatusCode::OK).await;
    let me = expect_json(app.get("/api/v1/me", Some(admin)).await, StatusCode::OK).await;
    let admin_id = me["user"]["id"].as_str().unwrap();
    let page = audit(&app, admin, "?action=user.updated").await;
    let e = &page["events"][0];
    assert_eq!(e["actor_kind"], "user");
    assert_eq!(e["actor_id"], admin_id);
    assert_eq!(e["target_type"], "user");
    assert_eq!(e["target_id"], l.learner_id.as_str());
    assert_eq!(
        e["before"],
        json!({"role": "learner", "name": "(personal)"})
    );
    assert_eq!(e["after"], json!({"role": "manager", "name": "(changed)"}));
    assert_eq!(e["request_id"], request_id.as_str());

    // Teams, assignments, the organization's settings, webhooks.
    let team = expect_json(
        app.post_json("/api/v1/teams", Some(admin), &json!({"name": "South"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let res = app
        .post_json(
            &format!("/api/v1/teams/{}/members", team["id"].as_str().unwrap()),
            Some(admin),
            &json!({"user_ids": [l.learner_id]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .patch_json(
            &format!("/api/v1/assignments/{}", l.assignment_id),
            &l.author,
            &json!({"daily_cap": 5}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    let res = app
        .patch_json("/api/v1/org", admin, &json!({"quiet_weekdays": ["sun"]}))
        .await;
    expect_json(res, StatusCode::OK).await;
    let page = audit(&app, admin, "?limit=4").await;
    assert_eq!(
        actions(&page),
        [
            "organization.updated",
            "assignment.updated",
            "team.members_added",
            "team.created"
        ]
    );
    let assignment = &page["events"][1];
    assert_eq!(assignment["before"], json!({"daily_cap": 3}));
    assert_eq!(assignment["after"], json!({"daily_cap": 5}));
    assert_eq!(page["events"][0]["after"]["quiet_weekdays"], json!(["sun"]));

    // No name or e-mail address is kept in the log: erasure must be able to remove them.
    let all = audit(&app, admin, "?limit=500").await.to_string();
    assert!(
        !all.contains("sam@acme.example") && !all.contains("Samantha"),
        "{all}"
    );

    // Only admins read it.
    let res = app.get("/api/v1/audit", Some(&l.author)).await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
}

#[actix_web::test]
async fn the_log_pages_filters_and_exports_as_csv() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    // Five events: page through them two at a time, newest first, each once.
    let mut seen = Vec::new();
    let mut next = "?limit=2".to_string();
    for _ in 0..5 {
        let page = audit(&app, admin, &next).await;
        seen.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        let more = page["more"].as_str().unwrap();
        if more.is_empty() {
            break;
        }
        next = more.trim_start_matches("/api/v1/audit").to_string();
    }
    assert_eq!(seen.len(), 5);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 5);
    // Filters: the author's changes only.
    let author_id = expect_json(app.get("/api/v1/me", Some(&l.author)).await, StatusCode::OK).await
        ["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = audit(&app, admin, &format!("?actor_id={author_id}")).await;
    assert_eq!(actions(&mine), ["assignment.created", "pack.published"]);
    let none = audit(&app, admin, "?since=2030-01-01T00:00:00Z").await;
    assert_eq!(none["events"], json!([]));
    // CSV, with the next page in a Link header.
    let res = app
        .get("/api/v1/audit?format=csv&limit=2", Some(admin))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let link = res
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        link.contains("cursor=") && link.ends_with("rel=\"next\""),
        "{link}"
    );
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("at,actor_kind,actor_id,action"));
    assert_eq!(lines.count(), 2);
    // A cursor this service did not give is a 422 naming it.
    let res = app.get("/api/v1/audit?cursor=nope", Some(admin)).await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&p), ["cursor"]);
}

#[actix_web::test]
async fn a_refused_change_leaves_no_record_and_records_cannot_be_changed() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    let before = audit(&app, admin, "?limit=500").await["events"]
        .as_array()
        .unwrap()
        .len();
    let res = app
        .post_json(
            "/api/v1/users",
            Some(admin),
            &json!({"email": "new@acme.example", "name": "New", "password": PASSWORD, "role": "learner", "team_ids": ["no-such-team"]}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let after = audit(&app, admin, "?limit=500").await["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before, "no user, no record");

    // Append-only, whatever the engine: an UPDATE or DELETE is refused by the database.
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    for sql in [
        "UPDATE audit_events SET action = 'nothing.happened'",
        "DELETE FROM audit_events",
    ] {
        let refused = conn.batch_execute(sql).unwrap_err().to_string();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    let still = audit(&app, admin, "?limit=500").await["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(still, before);
}
