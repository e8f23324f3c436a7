//! What counts: only the first answer of the day to a nugget the queue serves moves the memory
//! state and the figures; any other answer is practice, graded and kept. And the cap on how fast
//! one learner's answers are taken.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// Everything an answer that counts would change, as the API shows it: the learner's progress,
/// the analytics views, the answer log, item analysis and the xAPI statements.
async fn figures(app: &TestApp, learner: &str, staff: &str) -> Vec<Value> {
    let mut seen = vec![
        expect_json(
            app.get("/api/v1/me/progress", Some(learner)).await,
            StatusCode::OK,
        )
        .await,
    ];
    for path in [
        "/api/v1/analytics/proficiency",
        "/api/v1/analytics/heatmap",
        "/api/v1/analytics/knowledge-gain",
        "/api/v1/analytics/retention-curve",
        "/api/v1/analytics/engagement",
        "/api/v1/analytics/trends",
        "/api/v1/packs/sample/analysis",
        "/api/v1/xapi/statements",
    ] {
        seen.push(expect_json(app.get(path, Some(staff)).await, StatusCode::OK).await);
    }
    let export = app.get("/api/v1/reviews/export", Some(staff)).await;
    assert_eq!(export.status(), StatusCode::OK);
    seen.push(Value::String(export.text().await.unwrap()));
    seen
}

async fn answer_with(app: &TestApp, token: &str, body: &Value) -> (StatusCode, Value) {
    let res = app.post_json("/api/v1/me/answers", Some(token), body).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[actix_web::test]
async fn a_second_answer_the_same_day_is_graded_practice_and_changes_nothing() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    let first = expect_json(
        app.answer(&l.learner, &nugget, &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (first["counted"].as_bool(), first.get("practice")),
        (Some(true), None)
    );
    let admin = &l.org.admin_token;
    // The figures as of the second answer's time, so that only the answer could change them.
    app.clock.advance(Duration::minutes(10));
    let before = figures(&app, &l.learner, admin).await;
    let attempt = uuid::Uuid::new_v4();
    let body = json!({"attempt_id": attempt, "nugget_id": nugget, "selected": ["a"], "answered_at": app.clock.now(), "response_ms": 3000});
    let (status, again) = answer_with(&app, &l.learner, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    // Graded at once, with the explanation, but flagged and applied to nothing.
    assert_eq!(again["correct"], false);
    assert_eq!(again["correct_option_ids"], json!(["b"]));
    assert!(again["explanation"]
        .as_str()
        .unwrap()
        .starts_with("Because"));
    assert_eq!(
        (again["counted"].as_bool(), again["practice"].as_str()),
        (Some(false), Some("answered_today"))
    );
    assert_eq!(again["next_due"], first["next_due"]);
    assert_eq!(again["status"], first["status"]);
    assert_eq!(again["org"]["answers"], 1);
    assert_eq!(again["org"]["options"][0]["share"], 0.0);
    assert_eq!(figures(&app, &l.learner, admin).await, before);
    let counts = table_counts(&app.database_url);
    assert!(
        counts.contains(&("reviews", 2)) && counts.contains(&("memory_states", 1)),
        "{counts:?}"
    );

    // The same attempt id again returns the stored result: still practice, nothing added.
    let (status, replay) = answer_with(&app, &l.learner, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (replay["replayed"].as_bool(), replay["counted"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(replay["practice"], "answered_today");
    assert_eq!(replay["correct"], false);
    assert!(table_counts(&app.database_url).contains(&("reviews", 2)));
    assert_eq!(figures(&app, &l.learner, admin).await, before);
}

#[actix_web::test]
async fn a_nugget_not_yet_due_is_practice_and_the_first_answer_once_due_counts() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    let start = app.clock.now();
    let first = expect_json(
        app.answer(&l.learner, &nugget, &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    let due: DateTime<Utc> = first["next_due"].as_str().unwrap().parse().unwrap();
    // A day before it falls due, and on another day than the first answer.
    let early = due - Duration::days(1);
    assert!(early.date_naive() > start.date_naive(), "due {due}");
    app.clock.advance(early - start);
    let sam = app.token("sam@acme.example").await;
    assert!(!ids(&app.queue(&sam).await).contains(&nugget));
    let res = expect_json(app.answer(&sam, &nugget, &["b"]).await, StatusCode::CREATED).await;
    assert_eq!(
        (res["counted"].as_bool(), res["practice"].as_str()),
        (Some(false), Some("not_due"))
    );
    assert_eq!(res["next_due"], first["next_due"]);

    app.clock.advance(due - early);
    let sam = app.token("sam@acme.example").await;
    assert!(ids(&app.queue(&sam).await).contains(&nugget));
    let res = expect_json(app.answer(&sam, &nugget, &["b"]).await, StatusCode::CREATED).await;
    assert_eq!(res["counted"], true);
    assert!(res.get("practice").is_none());
    let later: DateTime<Utc> = res["next_due"].as_str().unwrap().parse().unwrap();
    assert!(
        later > due + Duration::days(1),
        "a second right answer spaces it further"
    );
    let progress = expect_json(
        app.get("/api/v1/me/progress", Some(&sam)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(progress["overall"]["answers"], 2);
}

#[actix_web::test]
async fn new_nuggets_past_the_daily_cap_are_practice() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let all = ids(&app.queue(&l.learner).await);
    app.set_daily_cap(&l, 2).await;
    let mut counted = Vec::new();
    for nugget in &all[..3] {
        let res = expect_json(
            app.answer(&l.learner, nugget, &["b"]).await,
            StatusCode::CREATED,
        )
        .await;
        counted.push((res["counted"].as_bool().unwrap(), res["practice"].clone()));
    }
    assert_eq!(
        counted,
        [
            (true, Value::Null),
            (true, Value::Null),
            (false, json!("over_daily_cap"))
        ]
    );
    assert_eq!(app.queue(&l.learner).await["nuggets"], json!([]));
    let counts = table_counts(&app.database_url);
    assert!(
        counts.contains(&("reviews", 3)) && counts.contains(&("memory_states", 2)),
        "{counts:?}"
    );
}

#[actix_web::test]
async fn a_learner_past_the_answer_rate_cap_gets_429_with_retry_after() {
    let app = spawn_with(|s| {
        s.answer_burst = 3;
        s.answers_per_second = 1;
    })
    .await;
    let l = app.setup_learning(6).await;
    let all = ids(&app.queue(&l.learner).await);
    let mut refused = None;
    for nugget in all.iter().cycle().take(20) {
        let res = app.answer(&l.learner, nugget, &["b"]).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = refused.expect("the cap refused an answer");
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // A batch is taken from the same quota, and refused whole.
    let batch = json!({"answers": [{"attempt_id": uuid::Uuid::new_v4(), "nugget_id": all[0], "selected": ["b"], "answered_at": app.clock.now(), "response_ms": 3000}]});
    let reviews_before = table_counts(&app.database_url);
    let res = app
        .post_json("/api/v1/me/answers/batch", Some(&l.learner), &batch)
        .await;
    assert!(res.headers().contains_key("retry-after"));
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(table_counts(&app.database_url), reviews_before);
    // Another learner has a quota of their own.
    let kim = app.add_team_learner(&l, "kim@acme.example").await;
    expect_json(app.answer(&kim, &all[0], &["b"]).await, StatusCode::CREATED).await;
}
