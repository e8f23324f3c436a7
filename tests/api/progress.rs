//! Real life over weeks on the injected clock: progress, pauses, quiet days, backlog, mastery.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn answer_fast_and_sure(
    app: &TestApp,
    token: &str,
    nugget: &str,
    selected: &[&str],
) -> Value {
    let body = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": selected, "answered_at": app.clock.now(), "response_ms": 3000, "confidence": "sure"});
    expect_json(
        app.post_json("/api/v1/me/answers", Some(token), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

#[actix_web::test]
async fn progress_reports_initial_and_current_proficiency_by_topic() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let empty = expect_json(
        app.get("/api/v1/me/progress", Some(&l.learner)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(empty["overall"]["nuggets"], 0);
    assert_eq!(empty["overall"]["proficiency"], Value::Null);
    assert_eq!(empty["streak_days"], 0);

    let q = app.queue(&l.learner).await;
    let all = ids(&q);
    app.answer(&l.learner, &all[0], &["b"]).await;
    app.answer(&l.learner, &all[1], &["a"]).await;
    let p = expect_json(
        app.get("/api/v1/me/progress", Some(&l.learner)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["overall"]["nuggets"], 2);
    assert_eq!(p["overall"]["answers"], 2);
    assert_eq!(p["overall"]["correct_answers"], 1);
    assert_eq!(p["overall"]["initial_proficiency"], 0.5);
    assert_eq!(p["streak_days"], 1);
    let pack = &p["packs"][0];
    assert_eq!(pack["pack"], "sample");
    assert_eq!(pack["topics"][0]["topic"], "Discovery");
    // Due tomorrow: the wrong answer.
    assert_eq!(p["due_next_7_days"][1]["nuggets"], 1);

    // A week later without practice, predicted recall has fallen below what it was.
    let before = p["overall"]["proficiency"].as_f64().unwrap();
    app.clock.advance(Duration::days(7));
    let token = app.token("sam@acme.example").await;
    let later = expect_json(
        app.get("/api/v1/me/progress", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert!(later["overall"]["proficiency"].as_f64().unwrap() < before);
    assert_eq!(later["streak_days"], 0);
}

#[actix_web::test]
async fn a_pause_empties_the_queue_and_shifts_due_dates() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    let first = ids(&q)[0].clone();
    let wrong = app.answer(&l.learner, &first, &["a"]).await;
    let due: DateTime<Utc> = expect_json(wrong, StatusCode::CREATED).await["next_due"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let res = app
        .post_json(
            "/api/v1/me/pause",
            Some(&l.learner),
            &json!({"starts_on": "2026-03-03", "ends_on": "2026-03-09"}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let res = app
        .post_json(
            "/api/v1/me/pause",
            Some(&l.learner),
            &json!({"starts_on": "2026-03-01", "ends_on": "2026-02-20"}),
        )
        .await;
    let mut fields = problem_fields(&expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await);
    fields.sort();
    assert_eq!(fields, vec!["ends_on", "starts_on"]);

    app.clock.advance(Duration::days(3));
    let token = app.token("sam@acme.example").await;
    assert_eq!(app.queue(&token).await["nuggets"], json!([]));
    // The day after the pause the wrong answer is back, due a week later than before.
    app.clock.set(start_time() + Duration::days(8));
    let token = app.token("sam@acme.example").await;
    let q = app.queue(&token).await;
    assert_eq!(ids(&q)[0], first);
    let p = expect_json(
        app.get("/api/v1/me/progress", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert!(p["streak_days"].as_u64().is_some());
    let _ = due;
}

#[actix_web::test]
async fn quiet_weekdays_have_no_nuggets() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    // 2 March 2026 is a Monday.
    let res = app
        .patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"quiet_weekdays": ["mon", "sun"]}),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["quiet_weekdays"],
        json!(["mon", "sun"])
    );
    assert_eq!(app.queue(&l.learner).await["nuggets"], json!([]));
    let res = app
        .patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"quiet_weekdays": ["funday"]}),
        )
        .await;
    assert_eq!(
        problem_fields(&expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        vec!["quiet_weekdays"]
    );
    expect_problem(
        app.patch_json("/api/v1/org", &l.learner, &json!({"name": "Mine"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[actix_web::test]
async fn a_backlog_after_an_absence_is_spread_over_days() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let day1 = ids(&app.queue(&l.learner).await);
    assert_eq!(day1.len(), 6);
    for n in &day1 {
        app.answer(&l.learner, n, &["a"]).await;
    }
    app.set_daily_cap(&l, 3).await;
    // Away for a month: six reviews wait, but only three come per day, most overdue first.
    app.clock.advance(Duration::days(30));
    let token = app.token("sam@acme.example").await;
    let back = app.queue(&token).await;
    let first_batch = ids(&back);
    assert_eq!(first_batch.len(), 3);
    assert!(back["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["review"] == true));
    for n in &first_batch {
        app.answer(&token, n, &["b"]).await;
    }
    assert_eq!(app.queue(&token).await["nuggets"], json!([]));
    app.clock.advance(Duration::days(1));
    let token = app.token("sam@acme.example").await;
    let second_batch = ids(&app.queue(&token).await);
    assert_eq!(second_batch.len(), 3);
    let mut all: Vec<String> = first_batch.into_iter().chain(second_batch).collect();
    all.sort();
    let mut expected = day1.clone();
    expected.sort();
    assert_eq!(
        all, expected,
        "the second day serves the rest of the backlog"
    );
}

#[actix_web::test]
async fn nuggets_known_well_are_mastered_and_leave_the_queue() {
    let app = spawn_app().await;
    let l = app.setup_learning(1).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    let mut token = l.learner.clone();
    let mut status = String::new();
    for _ in 0..12 {
        let res = answer_fast_and_sure(&app, &token, &nugget, &["b"]).await;
        status = res["status"].as_str().unwrap().to_string();
        if status == "mastered" {
            assert_eq!(res["next_due"], Value::Null);
            break;
        }
        let due: DateTime<Utc> = res["next_due"].as_str().unwrap().parse().unwrap();
        app.clock.set(due + Duration::minutes(1));
        token = app.token("sam@acme.example").await;
    }
    assert_eq!(status, "mastered");
    let p = expect_json(
        app.get("/api/v1/me/progress", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["overall"]["mastered"], 1);
    app.clock.advance(Duration::days(400));
    let token = app.token("sam@acme.example").await;
    let q = app.queue(&token).await;
    assert!(!ids(&q).contains(&nugget));
}
