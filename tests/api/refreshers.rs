//! Refreshers put met nuggets back into sellers' queues over the next days within their cap and
//! report when each was answered; coaching notes reach the seller with the next nugget of their
//! topic. Both refuse bad input with problems naming the field, and write nothing then.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// Plans a refresher of `nuggets` for `learner` over `days` (201 expected); returns its report.
async fn create_refresher(
    app: &TestApp,
    token: &str,
    learner: &str,
    nuggets: &[String],
    days: u32,
) -> Value {
    expect_json(
        app.post_json(
            "/api/v1/refreshers",
            Some(token),
            &json!({"learner_ids": [learner], "nugget_ids": nuggets, "days": days}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

async fn refresher(app: &TestApp, token: &str, id: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/refreshers/{id}"), Some(token))
            .await,
        StatusCode::OK,
    )
    .await
}

fn answered_count(report: &Value) -> usize {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["answered_at"].is_null())
        .count()
}

#[actix_web::test]
async fn a_refresher_brings_met_nuggets_back_within_the_cap_and_reports_when_answered() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    app.add_team_manager(&l, "mia@acme.example").await;
    let met = ids(&app.queue(&l.learner).await);
    for n in &met {
        expect_json(app.answer(&l.learner, n, &["b"]).await, StatusCode::CREATED).await;
    }
    // The next day: three new nuggets wait, the reviews are not due yet.
    app.clock.advance(Duration::days(1));
    let sam = app.token("sam@acme.example").await;
    let before = ids(&app.queue(&sam).await);
    assert!(met.iter().all(|n| !before.contains(n)), "{before:?}");
    let unmet = before[0].clone();
    let manager = app.token("mia@acme.example").await;
    let mut nuggets = met.clone();
    nuggets.push(unmet.clone());
    let created = create_refresher(&app, &manager, &l.learner_id, &nuggets, 2).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            created["items"].as_array().unwrap().len(),
            created["answered"].as_u64()
        ),
        (3, Some(0))
    );
    assert_eq!(
        created["skipped"],
        json!([{"learner_id": l.learner_id, "nugget_id": unmet, "reason": "not_met"}])
    );
    let today = app.clock.now().date_naive();
    let planned: Vec<String> = created["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["planned_on"].as_str().unwrap().to_string())
        .collect();
    let (d0, d1) = (today.to_string(), (today + Duration::days(1)).to_string());
    assert_eq!(planned, vec![d0.clone(), d0, d1]);
    let due_today: Vec<String> = created["items"].as_array().unwrap()[..2]
        .iter()
        .map(|i| i["nugget_id"].as_str().unwrap().to_string())
        .collect();

    // Today's queue: the two planned today first, still three nuggets in all (the cap).
    let queue = app.queue(&sam).await;
    let today_ids = ids(&queue);
    assert_eq!(today_ids.len(), 3, "{queue}");
    assert_eq!(today_ids[..2].to_vec(), due_today, "{queue}");
    assert!(queue["nuggets"][0]["review"].as_bool().unwrap());
    for n in &due_today {
        let res = expect_json(app.answer(&sam, n, &["b"]).await, StatusCode::CREATED).await;
        assert_eq!(res["counted"], true);
    }
    let report = refresher(&app, &manager, &id).await;
    assert_eq!(answered_count(&report), 2, "{report}");
    assert_eq!(report["answered"], 2);
    assert!(report["items"][0]["correct"].as_bool().unwrap());
    let list = expect_json(
        app.get("/api/v1/refreshers", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            list[0]["id"].as_str(),
            list[0]["planned"].as_u64(),
            list[0]["answered"].as_u64()
        ),
        (Some(id.as_str()), Some(3), Some(2))
    );

    // The next day: the last one.
    app.clock.advance(Duration::days(1));
    let sam = app.token("sam@acme.example").await;
    let last = created["items"][2]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ids(&app.queue(&sam).await)[0], last);
    expect_json(app.answer(&sam, &last, &["a"]).await, StatusCode::CREATED).await;
    let admin = app.token("ada@acme.example").await;
    let report = refresher(&app, &admin, &id).await;
    assert_eq!(answered_count(&report), 3);
    assert_eq!(report["items"][2]["correct"], false);
    assert_eq!(report["items"][2]["learner_name"], "Sam");

    // Audited, without names.
    let audit = expect_json(
        app.get("/api/v1/audit?action=refresher.created", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit["events"][0]["target_id"], id.as_str());
    assert_eq!(audit["events"][0]["after"]["items"], 3);
}

#[actix_web::test]
async fn a_refresher_for_a_team_on_a_topic_plans_what_each_seller_met() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let sellers = app.team_tokens(&l, 1).await;
    // Sam meets all six nuggets; the other seller none.
    for n in ids(&app.queue(&sellers[0]).await) {
        app.answer(&sellers[0], &n, &["b"]).await;
    }
    let created = expect_json(
        app.post_json(
            "/api/v1/refreshers",
            Some(&l.org.admin_token),
            &json!({"team_id": l.team_id, "topic": "discovery", "days": 3}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["topic"], "discovery");
    assert_eq!(created["team_id"], l.team_id.as_str());
    let items = created["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{created}");
    assert!(items
        .iter()
        .all(|i| i["learner_id"] == l.learner_id.as_str() && i["topic"] == "Discovery"));
    assert_eq!(created["skipped"].as_array().unwrap().len(), 3);
    assert!(created["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["reason"] == "not_met"));
    // One a day for three days.
    let days: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|i| i["planned_on"].as_str().unwrap())
        .collect();
    assert_eq!(days.len(), 3);
}

#[actix_web::test]
async fn bad_refreshers_are_refused_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, manager) = app.add_team_manager(&l, "mia@acme.example").await;
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    let (_, outside) = app
        .create_user(&l.org, "otto@acme.example", "manager")
        .await;
    let met = ids(&app.queue(&l.learner).await);
    for n in &met {
        app.answer(&l.learner, n, &["b"]).await;
    }
    let first = met[0].clone();
    app.set_daily_cap(&l, 1).await;
    let before = table_counts(&app.database_url);
    let other_nugget = ids(&app.queue(&other.learner).await)[0].clone();
    let cases: Vec<(Value, StatusCode, Vec<&str>)> = vec![
        (
            json!({"nugget_ids": [first], "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["learner_ids"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "team_id": l.team_id, "nugget_ids": [first], "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["team_id"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["nugget_ids"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": [first], "topic": "Closing", "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["topic"],
        ),
        (
            json!({"learner_ids": [], "nugget_ids": [], "days": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["learner_ids", "nugget_ids", "days"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": [first]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["days"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": [first], "days": 31}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["days"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": [first], "days": 2.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["days"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "topic": "", "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["topic"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "topic": "Astrology", "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["topic"],
        ),
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": [first], "days": 2, "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["colour"],
        ),
        // Three met nuggets at a cap of one do not fit in two days.
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": met, "days": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["days"],
        ),
        // Nothing the learner met.
        (
            json!({"learner_ids": [l.learner_id], "nugget_ids": [other_nugget], "days": 2}),
            StatusCode::NOT_FOUND,
            vec!["nugget_ids[0]"],
        ),
        (
            json!({"learner_ids": [l.learner_id, other.learner_id], "nugget_ids": [first], "days": 2}),
            StatusCode::NOT_FOUND,
            vec!["learner_ids[1]"],
        ),
        (
            json!({"team_id": other.team_id, "nugget_ids": [first], "days": 2}),
            StatusCode::NOT_FOUND,
            vec!["team_id"],
        ),
    ];
    for (body, status, fields) in cases {
        let res = app
            .post_json("/api/v1/refreshers", Some(&manager), &body)
            .await;
        let problem = expect_problem(res, status).await;
        assert_eq!(problem_fields(&problem), fields, "{body}: {problem}");
    }
    // A nugget the learner never met: nothing to refresh.
    let unmet = app.queue(&l.learner).await;
    if let Some(n) = unmet["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| !n["review"].as_bool().unwrap())
    {
        let res = app
            .post_json(
                "/api/v1/refreshers",
                Some(&manager),
                &json!({"learner_ids": [l.learner_id], "nugget_ids": [n["nugget_id"]], "days": 2}),
            )
            .await;
        assert_eq!(
            problem_fields(&expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
            vec!["nugget_ids"]
        );
    }
    // A manager of other teams does not reach Sam; learners may not create refreshers.
    let res = app
        .post_json(
            "/api/v1/refreshers",
            Some(&outside),
            &json!({"learner_ids": [l.learner_id], "nugget_ids": [first], "days": 2}),
        )
        .await;
    assert_eq!(
        problem_fields(&expect_problem(res, StatusCode::NOT_FOUND).await),
        vec!["learner_ids[0]"]
    );
    let res = app
        .post_json(
            "/api/v1/refreshers",
            Some(&l.learner),
            &json!({"learner_ids": [l.learner_id], "nugget_ids": [first], "days": 2}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    let res = app
        .post_json("/api/v1/refreshers", Some(&manager), &json!([1]))
        .await;
    assert!(res.status().is_client_error());
    assert_eq!(
        table_counts(&app.database_url),
        before,
        "a refused refresher wrote something"
    );

    // One made by the manager: another manager and another organization cannot read it.
    let ok = create_refresher(&app, &manager, &l.learner_id, &met, 3).await;
    let path = format!("/api/v1/refreshers/{}", ok["id"].as_str().unwrap());
    expect_problem(app.get(&path, Some(&outside)).await, StatusCode::NOT_FOUND).await;
    expect_problem(
        app.get(&path, Some(&other.org.admin_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed = expect_json(
        app.get("/api/v1/refreshers", Some(&outside)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
    let listed = expect_json(
        app.get("/api/v1/refreshers?limit=0", Some(&manager)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&listed), vec!["limit"]);
}

#[actix_web::test]
async fn a_coaching_note_comes_with_the_next_nugget_of_its_topic_until_seen() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let (_, manager) = app.add_team_manager(&l, "mia@acme.example").await;
    let path = format!("/api/v1/users/{}/notes", l.learner_id);
    let etag_before = app
        .get("/api/v1/me/queue", Some(&l.learner))
        .await
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let note = expect_json(
        app.post_json(
            &path,
            Some(&manager),
            &json!({"topic": "closing", "body": "Ask for the order.\nThen stop talking."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (note["topic"].as_str(), note["author_name"].as_str()),
        (Some("Closing"), Some("Mia"))
    );
    assert_eq!(note["seen_at"], Value::Null);
    // The cached queue is rebuilt with the note on the first Closing nugget only.
    let res = app.get("/api/v1/me/queue", Some(&l.learner)).await;
    assert_ne!(
        res.headers().get("etag").unwrap().to_str().unwrap(),
        etag_before
    );
    let queue: Value = res.json().await.unwrap();
    let carriers: Vec<(String, Value)> = queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n.get("coach_note").is_some())
        .map(|n| {
            (
                n["topic"].as_str().unwrap().to_string(),
                n["coach_note"].clone(),
            )
        })
        .collect();
    assert_eq!(carriers.len(), 1, "{queue}");
    assert_eq!(carriers[0].0, "Closing");
    assert_eq!(
        carriers[0].1["body"],
        "Ask for the order.\nThen stop talking."
    );
    assert_eq!(carriers[0].1["author"], "Mia");
    let first_closing = queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["topic"] == "Closing")
        .unwrap();
    assert!(first_closing.get("coach_note").is_some());

    // Seen: gone from the queue, and the coach sees when.
    let seen = format!(
        "/api/v1/me/coach-notes/{}/seen",
        note["id"].as_str().unwrap()
    );
    let res = app.post_json(&seen, Some(&l.learner), &json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let queue = app.queue(&l.learner).await;
    assert!(queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n.get("coach_note").is_none()));
    let notes = expect_json(app.get(&path, Some(&manager)).await, StatusCode::OK).await;
    assert!(notes[0]["seen_at"].is_string(), "{notes}");
    // The seller reads their own notes too; nobody else's note can be marked.
    let own = expect_json(app.get(&path, Some(&l.learner)).await, StatusCode::OK).await;
    assert_eq!(own, notes);
    let peer = app.add_team_learner(&l, "pia@acme.example").await;
    expect_problem(
        app.post_json(&seen, Some(&peer), &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(app.get(&path, Some(&peer)).await, StatusCode::FORBIDDEN).await;

    // Refusals, naming the field; nothing written.
    let (_, outside) = app
        .create_user(&l.org, "otto@acme.example", "manager")
        .await;
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    let before = table_counts(&app.database_url);
    for (body, status, fields) in [
        (
            json!({"topic": "Closing", "body": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["body"],
        ),
        (
            json!({"topic": "", "body": "x".repeat(2001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["topic", "body"],
        ),
        (
            json!({"topic": "Astrology", "body": "Read the stars."}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["topic"],
        ),
        (
            json!({"topic": "Closing"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["body"],
        ),
        (
            json!({"topic": "Closing", "body": "Hi", "urgent": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["urgent"],
        ),
    ] {
        let problem =
            expect_problem(app.post_json(&path, Some(&manager), &body).await, status).await;
        assert_eq!(problem_fields(&problem), fields, "{body}");
    }
    let note_body = json!({"topic": "Closing", "body": "Hi"});
    expect_problem(
        app.post_json(&path, Some(&outside), &note_body).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.post_json(&path, Some(&peer), &note_body).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.post_json(&path, Some(&other.org.admin_token), &note_body)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.get(&path, Some(&other.org.admin_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(table_counts(&app.database_url), before);
}

#[actix_web::test]
async fn a_sellers_export_holds_their_notes_refreshers_and_pseudonym_and_erasure_removes_them() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, manager) = app.add_team_manager(&l, "mia@acme.example").await;
    let met = ids(&app.queue(&l.learner).await);
    for n in &met {
        app.answer(&l.learner, n, &["b"]).await;
    }
    create_refresher(&app, &manager, &l.learner_id, &met, 3).await;
    let notes = format!("/api/v1/users/{}/notes", l.learner_id);
    expect_json(
        app.post_json(
            &notes,
            Some(&manager),
            &json!({"topic": "Discovery", "body": "Ask why twice."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let res = app
        .client
        .put(app.url("/api/v1/me/notification-settings"))
        .bearer_auth(&l.learner)
        .json(&json!({"push": false, "email": true, "remind_at": "08:00", "leaderboard_name": "Closer42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let export = format!("/api/v1/users/{}/data-export", l.learner_id);
    let held =
        expect_json(app.get(&export, Some(&l.learner)).await, StatusCode::OK).await["held"].clone();
    assert_eq!(held["leaderboard_name"], "Closer42");
    assert_eq!(held["coaching_notes"][0][0], "Discovery");
    assert_eq!(held["coaching_notes"][0][1], "Ask why twice.");
    assert_eq!(held["refreshers"].as_array().unwrap().len(), 3);

    let res = app
        .post_json(
            &format!("/api/v1/users/{}/erase", l.learner_id),
            Some(&l.org.admin_token),
            &json!({"confirm_email": "sam@acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let held = expect_json(
        app.get(&export, Some(&l.org.admin_token)).await,
        StatusCode::OK,
    )
    .await["held"]
        .clone();
    assert_eq!(held["leaderboard_name"], Value::Null);
    assert_eq!(held["coaching_notes"], json!([]));
    // The refresher's figures stay, under the erased user's id.
    assert_eq!(held["refreshers"].as_array().unwrap().len(), 3);
    let text = app.get(&notes, Some(&manager)).await.text().await.unwrap();
    assert!(!text.contains("Ask why twice."), "{text}");
}
