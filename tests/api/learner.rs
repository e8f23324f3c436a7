//! The seller's loop over HTTP: queue order and caps, feedback, ETags, idempotent answers,
//! offline batches and days passing on the injected clock.

use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn prompts(queue: &Value) -> Vec<String> {
    queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["prompt"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn the_queue_follows_pack_order_and_the_daily_cap_without_answers() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    assert_eq!(q["date"], "2026-03-02");
    assert_eq!(
        prompts(&q),
        vec!["Question 1?", "Question 2?", "Question 3?"]
    );
    let text = q.to_string();
    assert!(
        !text.contains("correct") && !text.contains("Because"),
        "answers leaked: {text}"
    );
    assert_eq!(q["nuggets"][0]["multiple"], false);
    assert_eq!(q["nuggets"][0]["review"], false);

    // Answered nuggets leave today's queue and count against the cap.
    let first = &ids(&q)[0];
    expect_json(
        app.answer(&l.learner, first, &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    let q = app.queue(&l.learner).await;
    assert_eq!(prompts(&q), vec!["Question 2?", "Question 3?"]);
}

#[actix_web::test]
async fn answers_are_graded_with_feedback_and_scheduled() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let q = app.queue(&l.learner).await;
    let all = ids(&q);
    let right = expect_json(
        app.answer(&l.learner, &all[0], &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(right["correct"], true);
    assert_eq!(right["correct_option_ids"], json!(["b"]));
    assert_eq!(right["explanation"], "Because 1.");
    assert_eq!(right["options"][0]["feedback"], "Not this one.");
    assert_eq!(right["options"][1]["chosen"], true);
    assert_eq!(right["team"]["answers"], 1);
    // Every option in the nugget's order, with the share of answers that chose it.
    assert_eq!(right["org"]["options"][0], json!({"id": "a", "share": 0.0}));
    assert_eq!(right["org"]["options"][1], json!({"id": "b", "share": 1.0}));
    assert_eq!(right["proficiency"]["topic"], "Discovery");
    assert!(right["proficiency"]["nugget"].as_f64().unwrap() > 0.99);
    let due = chrono::DateTime::parse_from_rfc3339(right["next_due"].as_str().unwrap()).unwrap();
    assert!(
        due > start_time() + Duration::days(1),
        "a right answer comes back after days: {due}"
    );

    let wrong = expect_json(
        app.answer(&l.learner, &all[1], &["a"]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(wrong["correct"], false);
    assert_eq!(wrong["status"], "learning");
    let due = chrono::DateTime::parse_from_rfc3339(wrong["next_due"].as_str().unwrap()).unwrap();
    assert!(
        due <= start_time() + Duration::days(1) + Duration::hours(1),
        "a wrong answer comes back the next day: {due}"
    );

    // Multi-select: all or nothing, partial credit recorded.
    let multi = q["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["multiple"] == true)
        .unwrap();
    let half = expect_json(
        app.answer(&l.learner, multi["nugget_id"].as_str().unwrap(), &["a"])
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (half["correct"].as_bool(), half["partial_credit"].as_f64()),
        (Some(false), Some(0.5))
    );

    // An option the nugget does not have is a reference to nothing (404 naming the field);
    // no choice, or one twice, is invalid input (422).
    let res = app.answer(&l.learner, &all[2], &["z"]).await;
    assert_eq!(
        problem_fields(&expect_problem(res, StatusCode::NOT_FOUND).await),
        vec!["selected"]
    );
    for selected in [&[][..], &["a", "a"][..]] {
        let res = app.answer(&l.learner, &all[2], selected).await;
        assert_eq!(
            problem_fields(&expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
            vec!["selected"]
        );
    }
}

#[actix_web::test]
async fn next_day_brings_the_wrong_answer_back_first() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    let all = ids(&q);
    app.answer(&l.learner, &all[0], &["b"]).await;
    app.answer(&l.learner, &all[1], &["a"]).await;
    app.answer(&l.learner, &all[2], &["b"]).await;
    assert_eq!(ids(&app.queue(&l.learner).await), Vec::<String>::new());
    app.clock.advance(Duration::days(1));
    let token = app.token("sam@acme.example").await;
    let q = app.queue(&token).await;
    assert_eq!(q["date"], "2026-03-03");
    assert_eq!(ids(&q)[0], all[1]);
    assert_eq!(q["nuggets"][0]["review"], true);
    assert_eq!(
        prompts(&q)[1..],
        ["Question 4?".to_string(), "Question 5?".to_string()]
    );
}

#[actix_web::test]
async fn days_follow_the_learners_time_zone() {
    let app = spawn_app().await;
    let l = app.setup_learning(1).await;
    // 08:00 UTC on 2 March is 21:00 in Auckland; at 12:00 UTC it is already 3 March there.
    let res = app
        .patch_json(
            &format!("/api/v1/users/{}", l.learner_id),
            &l.org.admin_token,
            &json!({"timezone": "Pacific/Auckland"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    let q = app.queue(&l.learner).await;
    assert_eq!(q["date"], "2026-03-02");
    expect_json(
        app.answer(&l.learner, &ids(&q)[0], &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    let after = app.queue(&l.learner).await;
    assert_eq!(ids(&after).len(), 0, "{after}");
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 2, 11, 30, 0).unwrap());
    let q = app.queue(&app.token("sam@acme.example").await).await;
    assert_eq!(q["date"], "2026-03-03");
    assert_eq!(prompts(&q), vec!["Question 2?"]);
}

#[actix_web::test]
async fn the_queue_etag_gives_304_until_something_changes() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let res = app.get("/api/v1/me/queue", Some(&l.learner)).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let again = app
        .client
        .get(app.url("/api/v1/me/queue"))
        .bearer_auth(&l.learner)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let q = app.queue(&l.learner).await;
    app.answer(&l.learner, &ids(&q)[0], &["b"]).await;
    let changed = app
        .client
        .get(app.url("/api/v1/me/queue"))
        .bearer_auth(&l.learner)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
}

/// Servers keep the queues they build: a change made through another server behind the same
/// load balancer must still reach the learner's next queue on this one.
#[actix_web::test]
async fn kept_queues_follow_changes_made_through_another_server() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let other = spawn_on(&app.database_url).await;
    let q = app.queue(&l.learner).await;
    assert_eq!(ids(&q).len(), 3);
    // An answer through the other server leaves two.
    expect_json(
        other.answer(&l.learner, &ids(&q)[0], &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    let q = app.queue(&l.learner).await;
    assert_eq!(ids(&q).len(), 2, "{q}");
    // Today made a quiet day for the organization: nothing.
    let res = other
        .patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"quiet_weekdays": ["mon"]}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    assert_eq!(ids(&app.queue(&l.learner).await).len(), 0);
    let res = other
        .patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"quiet_weekdays": []}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    assert_eq!(ids(&app.queue(&l.learner).await).len(), 2);
    // Out of the team the assignment reaches: nothing.
    other.set_membership(&l, false).await;
    assert_eq!(ids(&app.queue(&l.learner).await).len(), 0);
    // Back in the team, then the assignment ended: nothing again.
    other.set_membership(&l, true).await;
    assert_eq!(ids(&app.queue(&l.learner).await).len(), 2);
    other.end_assignment(&l).await;
    assert_eq!(ids(&app.queue(&l.learner).await).len(), 0);
}

/// Servers keep what reaches each learner (teams and running assignments) between answers: a
/// change made through another server must still decide the next answer on this one.
#[actix_web::test]
async fn kept_enrolments_follow_changes_made_through_another_server() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let other = spawn_on(&app.database_url).await;
    let q = ids(&app.queue(&l.learner).await);
    assert_eq!(q.len(), 3);
    expect_json(
        app.answer(&l.learner, &q[0], &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    other.set_membership(&l, false).await;
    let res = app.answer(&l.learner, &q[1], &["b"]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "out of the team");
    other.set_membership(&l, true).await;
    expect_json(
        app.answer(&l.learner, &q[1], &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    other.end_assignment(&l).await;
    let res = app.answer(&l.learner, &q[2], &["b"]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "assignment ended");
}

/// Queue reads arriving together have their kept queues checked in one read: each learner
/// still gets their own verdict, a new queue after their own answer and 304 otherwise.
#[actix_web::test]
async fn kept_queues_checked_together_answer_each_learner() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let tokens = app.team_tokens(&l, 7).await;
    let mut etags = Vec::new();
    for t in &tokens {
        let res = app.get("/api/v1/me/queue", Some(t)).await;
        etags.push(res.headers()["etag"].to_str().unwrap().to_string());
    }
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    // Every other learner answers.
    for t in tokens.iter().step_by(2) {
        expect_json(app.answer(t, &nugget, &["b"]).await, StatusCode::CREATED).await;
    }
    let app = &app;
    let read_all = || {
        (0..3)
            .flat_map(|_| tokens.iter().zip(&etags).enumerate())
            .map(|(i, (t, etag))| async move {
                let res = app
                    .client
                    .get(app.url("/api/v1/me/queue"))
                    .bearer_auth(t)
                    .header("if-none-match", etag)
                    .send()
                    .await
                    .unwrap();
                (i, res.status())
            })
    };
    // Connections opened first (on a route that keeps nothing), so the reads arrive together.
    let opens = (0..24).map(|_| app.client.get(app.url("/healthz")).send());
    futures_util::future::join_all(opens).await;
    for (i, status) in futures_util::future::join_all(read_all()).await {
        let expected = match i % 2 {
            0 => StatusCode::OK,
            _ => StatusCode::NOT_MODIFIED,
        };
        assert_eq!(status, expected, "learner {i}");
    }
}

#[actix_web::test]
async fn retried_answers_are_recorded_once() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    let body = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": ["b"], "answered_at": app.clock.now(), "response_ms": 4000, "confidence": "sure"});
    let first = expect_json(
        app.post_json("/api/v1/me/answers", Some(&l.learner), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let second = expect_json(
        app.post_json("/api/v1/me/answers", Some(&l.learner), &body)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["replayed"], true);
    assert_eq!(second["next_due"], first["next_due"]);
    assert_eq!(second["org"]["answers"], 1);
    let mut other = body.clone();
    other["selected"] = json!(["a"]);
    expect_problem(
        app.post_json("/api/v1/me/answers", Some(&l.learner), &other)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[actix_web::test]
async fn concurrent_retries_of_one_answer_count_once() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    let body = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": ["b"], "answered_at": app.clock.now(), "response_ms": 4000});
    let sends = (0..8).map(|_| app.post_json("/api/v1/me/answers", Some(&l.learner), &body));
    let responses = futures_util::future::join_all(sends).await;
    let mut created = 0;
    for res in responses {
        match res.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!(created, 1);
    let last = expect_json(
        app.post_json("/api/v1/me/answers", Some(&l.learner), &body)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(last["org"]["answers"], 1);
}

/// Sends two answers of every learner to `nugget` at once; returns how many counted.
async fn answer_twice_at_once(app: &TestApp, tokens: &[String], nugget: &str) -> usize {
    let sends = tokens
        .iter()
        .flat_map(|t| [t, t])
        .map(|t| app.answer(t, nugget, &["b"]));
    let mut counted = 0;
    for res in futures_util::future::join_all(sends).await {
        let result = expect_json(res, StatusCode::CREATED).await;
        counted += usize::from(result["counted"] == true);
    }
    counted
}

/// Answers arriving together share commits (SQLite) or run side by side (PostgreSQL): each one
/// acknowledged is recorded once, and of one learner's answers to one nugget on one day the
/// first counts and the others are practice.
#[actix_web::test]
async fn simultaneous_answers_of_many_learners_are_each_recorded() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let tokens = app.team_tokens(&l, 5).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    assert_eq!(answer_twice_at_once(&app, &tokens, &nugget).await, 6);
    let last = expect_json(
        app.answer(&l.learner, &nugget, &["a"]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(last["counted"], false);
    assert_eq!(last["org"]["answers"], 6);
    assert_eq!(last["team"]["answers"], 6);
    let share = |id: &str| {
        last["org"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap()["share"]
            .as_f64()
            .unwrap()
    };
    assert_eq!((share("b"), share("a")), (1.0, 0.0));

    // Once due again, repeat answers all at once: they create the retention roll-up rows and
    // bump the same counters concurrently; each is recorded (a losing insert is retried).
    app.clock.advance(Duration::days(30));
    let mut tokens = vec![app.token("sam@acme.example").await];
    for i in 0..5 {
        tokens.push(app.token(&format!("seller{i}@acme.example")).await);
    }
    assert_eq!(answer_twice_at_once(&app, &tokens, &nugget).await, 6);
    let last = expect_json(
        app.answer(&tokens[0], &nugget, &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(last["org"]["answers"], 12);
}

#[actix_web::test]
async fn offline_batches_apply_in_answer_order_and_report_each() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    let all = ids(&q);
    let t0 = app.clock.now() - Duration::hours(3);
    let a = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": all[0], "selected": ["a"], "answered_at": t0 + Duration::minutes(10), "response_ms": 5000});
    let b = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": all[0], "selected": ["b"], "answered_at": t0 + Duration::minutes(50), "response_ms": 5000});
    let bad = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": "no-such-nugget", "selected": ["b"], "answered_at": t0, "response_ms": 5000});
    let future = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": all[1], "selected": ["b"], "answered_at": app.clock.now() + Duration::days(2), "response_ms": 5000});
    let batch = json!({"answers": [b, a, bad, future]});
    let res = expect_json(
        app.post_json("/api/v1/me/answers/batch", Some(&l.learner), &batch)
            .await,
        StatusCode::OK,
    )
    .await;
    let results = res["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    // Sent order is kept in the response; the later answer (right) was applied last, so it is
    // the day's second to that nugget: practice, leaving the state the first (wrong) left.
    let outcome = |r: &Value| {
        (
            r["status"].as_u64(),
            r["result"]["correct"].as_bool(),
            r["result"]["counted"].as_bool(),
        )
    };
    assert_eq!(outcome(&results[0]), (Some(201), Some(true), Some(false)));
    assert_eq!(outcome(&results[1]), (Some(201), Some(false), Some(true)));
    assert_eq!(results[0]["result"]["practice"], "answered_today");
    assert_eq!(results[0]["result"]["status"], "learning");
    assert_eq!(results[2]["status"], 404);
    assert_eq!(results[3]["result"]["clock_flag"], "future");
    // The same batch again changes nothing.
    let again = expect_json(
        app.post_json("/api/v1/me/answers/batch", Some(&l.learner), &batch)
            .await,
        StatusCode::OK,
    )
    .await;
    let statuses: Vec<u64> = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 200, 404, 200]);
    assert_eq!(again["results"][0]["result"]["org"]["answers"], 1);
    assert_eq!(again["results"][0]["result"]["counted"], false);
}

/// An attempt id sent twice in one batch is recorded once: the same answer again is a replay,
/// a different answer under that id a conflict, whatever order they arrive in.
#[actix_web::test]
async fn an_attempt_id_twice_in_one_batch_is_recorded_once() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let all = ids(&app.queue(&l.learner).await);
    let t0 = app.clock.now() - Duration::hours(2);
    let reviews = |app: &TestApp| {
        table_counts(&app.database_url)
            .into_iter()
            .find(|(t, _)| *t == "reviews")
            .unwrap()
            .1
    };
    let same = uuid::Uuid::new_v4();
    let a = json!({"attempt_id": same, "nugget_id": all[0], "selected": ["b"], "answered_at": t0, "response_ms": 5000});
    let statuses = |res: &Value| -> Vec<u64> {
        res["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect()
    };
    let before = reviews(&app);
    let res = expect_json(
        app.post_json(
            "/api/v1/me/answers/batch",
            Some(&l.learner),
            &json!({"answers": [a, a]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(statuses(&res), vec![201, 200]);
    assert_eq!(res["results"][1]["result"]["replayed"], true);
    assert_eq!(reviews(&app), before + 1);

    // A different answer under one id: the earlier answer is recorded, the other refused.
    let other = uuid::Uuid::new_v4();
    let late = json!({"attempt_id": other, "nugget_id": all[1], "selected": ["a"], "answered_at": t0 + Duration::minutes(30), "response_ms": 5000});
    let early = json!({"attempt_id": other, "nugget_id": all[1], "selected": ["b"], "answered_at": t0 + Duration::minutes(5), "response_ms": 5000});
    let res = expect_json(
        app.post_json(
            "/api/v1/me/answers/batch",
            Some(&l.learner),
            &json!({"answers": [late, early]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(statuses(&res), vec![409, 201]);
    assert_eq!(res["results"][1]["result"]["correct"], true);
    assert_eq!(res["results"][0]["problem"]["status"], 409);
    assert_eq!(reviews(&app), before + 2);
}

/// Phone clocks at the edges of what RFC 3339 can say are recorded, flagged, and replayed.
#[actix_web::test]
async fn answers_at_the_edges_of_time_are_recorded_and_replayed() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let all = ids(&app.queue(&l.learner).await);
    let answers: Vec<Value> = [
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+23:59",
        "2026-12-31T23:59:60Z",
    ]
    .iter()
    .zip(&all)
    .map(|(at, nugget)| {
        json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": ["b"],
            "answered_at": at, "response_ms": 5000})
    })
    .collect();
    let batch = json!({ "answers": answers });
    let first = expect_json(
        app.post_json("/api/v1/me/answers/batch", Some(&l.learner), &batch)
            .await,
        StatusCode::OK,
    )
    .await;
    let flags: Vec<(u64, Value)> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_u64().unwrap(),
                r["result"]["clock_flag"].clone(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        vec![
            (201, json!("future")),
            (201, json!("before_start")),
            (201, json!("future"))
        ],
        "{first}"
    );
    let again = expect_json(
        app.post_json("/api/v1/me/answers/batch", Some(&l.learner), &batch)
            .await,
        StatusCode::OK,
    )
    .await;
    for r in again["results"].as_array().unwrap() {
        assert_eq!(r["status"], 200, "{again}");
    }
    let export = app
        .client
        .get(app.url("/api/v1/reviews/export"))
        .bearer_auth(&l.org.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(export.text().await.unwrap().lines().count() >= 4);
}

#[actix_web::test]
async fn nuggets_of_unassigned_packs_cannot_be_answered() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, outsider) = app.create_user(&l.org, "out@acme.example", "learner").await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    expect_problem(
        app.answer(&outsider, &nugget, &["b"]).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.queue(&outsider).await["nuggets"], json!([]));
}

#[actix_web::test]
async fn response_times_beyond_32_bits_are_refused_whole() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = ids(&app.queue(&l.learner).await)[0].clone();
    let answer = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": ["b"], "answered_at": app.clock.now(), "response_ms": 2_147_483_648u64});
    let res = app
        .post_json("/api/v1/me/answers", Some(&l.learner), &answer)
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["response_ms"]);
    let res = app
        .post_json(
            "/api/v1/me/answers/batch",
            Some(&l.learner),
            &json!({ "answers": [answer] }),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["answers[0].response_ms"]);
}

#[actix_web::test]
async fn enrolments_read_in_a_batch_are_those_read_one_by_one() {
    use reprise::store::enrolments::{enrolment, enrolments};
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    // A team below North, with Lee in it; Kim in no team.
    let east = expect_json(
        app.post_json(
            "/api/v1/teams",
            Some(admin),
            &json!({"name": "East", "parent_id": l.team_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let east_id = east["id"].as_str().unwrap();
    let mut learners = vec![l.learner_id.clone()];
    for (email, teams) in [
        ("lee@acme.example", json!([east_id])),
        ("kim@acme.example", json!([])),
    ] {
        let user = expect_json(
            app.post_json(
                "/api/v1/users",
                Some(admin),
                &json!({"email": email, "name": "X", "password": PASSWORD, "role": "learner", "team_ids": teams}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        learners.push(user["id"].as_str().unwrap().to_string());
    }
    let org = app.org_id(admin).await;
    let today = app.clock.now().date_naive();
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let ids: Vec<&str> = learners.iter().map(String::as_str).collect();
    let batch = enrolments(&mut conn, &org, &ids, today).unwrap();
    let shape = |e: &reprise::store::enrolments::Enrolment| {
        let assignments: Vec<String> = e.assignments.iter().map(|a| a.id.to_string()).collect();
        (e.teams.clone(), assignments)
    };
    for id in &learners {
        let one = enrolment(&mut conn, &org, &id.as_str().into(), today).unwrap();
        assert_eq!(shape(&batch[id]), shape(&one), "{id}");
    }
    // North's assignment reaches Lee through East; Kim has none.
    assert_eq!(batch[&learners[1]].assignments.len(), 1);
    assert!(batch[&learners[2]].assignments.is_empty());
}
