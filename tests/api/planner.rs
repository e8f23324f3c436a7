//! The planner as an assignment's policy: settings and their refusals by field, questions aimed
//! at a target date ("ready by") with the `at_risk` reason, and what it learns of each learner.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn right(nugget: &Value) -> Vec<&'static str> {
    if nugget["multiple"] == true {
        vec!["a", "c"]
    } else {
        vec!["b"]
    }
}

async fn set(app: &TestApp, l: &Learning, body: Value) -> reqwest::Response {
    app.patch_json(
        &format!("/api/v1/assignments/{}", l.assignment_id),
        &l.author,
        &body,
    )
    .await
}

/// Answers today's queue (right, or wrong with `b` never right when `wrong`), returning the
/// reasons the queue gave.
async fn answer_day(app: &TestApp, token: &str, wrong: bool) -> Vec<String> {
    let queue = app.queue(token).await;
    let mut reasons = Vec::new();
    for n in queue["nuggets"].as_array().unwrap() {
        reasons.push(n["reason"].as_str().unwrap().to_string());
        let id = n["nugget_id"].as_str().unwrap();
        let choice = if wrong { vec!["c"] } else { right(n) };
        let res = app.answer(token, id, &choice).await;
        let body = expect_json(res, StatusCode::CREATED).await;
        assert_eq!(body["counted"], true, "{body}");
    }
    reasons
}

/// A server whose tokens outlive weeks of simulated days, with the sample pack assigned under
/// the planner, ready by 2026-03-23 (three weeks after the start), and the assignment as saved.
async fn ready_by_march_23() -> (TestApp, Learning, Value) {
    let app = spawn_with(|s| s.access_ttl_secs = 90 * 86_400).await;
    let l = app.setup_learning(6).await;
    let res = set(
        &app,
        &l,
        json!({"policy": "planner", "target_date": "2026-03-23"}),
    )
    .await;
    let a = expect_json(res, StatusCode::OK).await;
    (app, l, a)
}

#[actix_web::test]
async fn planner_settings_are_kept_and_bad_ones_refused_by_field() {
    let (app, l, a) = ready_by_march_23().await;
    assert_eq!(
        (a["policy"].as_str(), a["target_date"].as_str()),
        (Some("planner"), Some("2026-03-23"))
    );
    for (body, field) in [
        (json!({"target_date": "2026-03-02"}), "target_date"),
        (json!({"target_date": "2027-03-03"}), "target_date"),
        (json!({"target_date": "soon"}), "target_date"),
        (json!({"policy": "sm2"}), "policy"),
    ] {
        let problem = expect_problem(
            set(&app, &l, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem_fields(&problem), [field], "{body}");
    }
    // Nothing half-applied: the assignment is as the good change left it.
    let list = expect_json(
        app.get("/api/v1/assignments", Some(&l.author)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list[0]["target_date"], "2026-03-23");
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &json!({"pack": "sample", "team_id": l.team_id, "starts_on": "2026-03-02", "policy": "planner", "target_date": "2026-02-20"}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), ["target_date"]);
}

#[actix_web::test]
async fn a_target_date_brings_questions_forward_and_says_why() {
    let (app, l, _) = ready_by_march_23().await;
    // The training event: every nugget once, right.
    let day0 = answer_day(&app, &l.learner, false).await;
    assert_eq!(day0.len(), 6);
    let mut asked: Vec<(u32, Vec<String>)> = Vec::new();
    for day in 1..=20 {
        app.clock.advance(Duration::days(1));
        asked.push((day, answer_day(&app, &l.learner, false).await));
    }
    // Each nugget comes back, and the last question before the target date comes within the
    // two days before it, so recall peaks on that day.
    let questions: usize = asked.iter().map(|(_, r)| r.len()).sum();
    assert!(questions >= 6, "{asked:?}");
    let last_days: usize = asked
        .iter()
        .filter(|(d, _)| *d >= 19)
        .map(|(_, r)| r.len())
        .sum();
    assert_eq!(last_days, 6, "{asked:?}");
    // Questions brought forward because recall on the target date would be low say so.
    assert!(
        asked.iter().any(|(_, r)| r.iter().any(|x| x == "at_risk")),
        "{asked:?}"
    );
    // Frugal: no nugget is asked more than twice between the training and the target date.
    assert!(questions <= 12, "{asked:?}");
    // The same learner under FSRS at 90 %, asked as often, knows less on the target date.
    let fsrs = spawn_with(|s| s.access_ttl_secs = 90 * 86_400).await;
    let f = fsrs.setup_learning(6).await;
    answer_day(&fsrs, &f.learner, false).await;
    let mut fsrs_questions = 0;
    for _ in 1..=20 {
        fsrs.clock.advance(Duration::days(1));
        fsrs_questions += answer_day(&fsrs, &f.learner, false).await.len();
    }
    assert!(
        fsrs_questions >= questions,
        "fsrs {fsrs_questions}, planner {questions}"
    );
    app.clock.advance(Duration::days(1));
    fsrs.clock.advance(Duration::days(1));
    let on_target = |p: Value| p["overall"]["proficiency"].as_f64().unwrap();
    let planned = on_target(
        expect_json(
            app.get("/api/v1/me/progress", Some(&l.learner)).await,
            StatusCode::OK,
        )
        .await,
    );
    let spaced = on_target(
        expect_json(
            fsrs.get("/api/v1/me/progress", Some(&f.learner)).await,
            StatusCode::OK,
        )
        .await,
    );
    assert!(planned > spaced + 0.01, "planner {planned}, fsrs {spaced}");
    // Past the target date the planner has nothing to aim at: FSRS keeps the knowledge.
    let queue = app.queue(&l.learner).await;
    assert!(queue["nuggets"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn the_planner_learns_how_fast_each_learner_forgets() {
    let app = spawn_with(|s| s.access_ttl_secs = 90 * 86_400).await;
    let l = app.setup_learning(6).await;
    let other = app.add_team_learner(&l, "kim@acme.example").await;
    let res = set(&app, &l, json!({"policy": "planner"})).await;
    expect_json(res, StatusCode::OK).await;
    answer_day(&app, &l.learner, false).await;
    answer_day(&app, &other, false).await;
    let (mut sam, mut kim) = (0, 0);
    for _ in 1..=45 {
        app.clock.advance(Duration::days(1));
        sam += answer_day(&app, &l.learner, false).await.len();
        // Kim forgets: every review after the training is answered wrong.
        kim += answer_day(&app, &other, true).await.len();
    }
    // Wrong answers bring nuggets back sooner: Kim is asked more.
    assert!(kim > sam, "kim {kim}, sam {sam}");
    let org = app.org_id(&l.org.admin_token).await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let estimate = |conn: &mut _, id: &str| {
        reprise::store::learning::planner_estimate(conn, &org, &id.into())
            .unwrap()
            .unwrap()
    };
    let users = expect_json(
        app.get("/api/v1/users", Some(&l.org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let kim_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "kim@acme.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (sam_factor, _) = estimate(&mut conn, &l.learner_id);
    let (kim_factor, kim_weight) = estimate(&mut conn, &kim_id);
    assert!(
        sam_factor > 0.0 && kim_factor < 0.0,
        "sam {sam_factor}, kim {kim_factor}"
    );
    assert!(kim_weight > 1.0 / (0.5 * 0.5));
}
