//! The answer log export (CSV, streamed in keyset pages) and fitting the organization's FSRS
//! parameters on it, over HTTP.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use serde_json::json;

use reprise::domain::accounts::Role;
use reprise::domain::ids::OrgId;
use reprise::domain::scheduler::{self, CardState, Policy, Rating, SchedulingContext};
use reprise::store::accounts::{self, NewUser};
use reprise::store::reviews::{self, ExportCursor, ReceivedWindow, ReviewRow};
use reprise::store::{learning, write_tx, StoreError};

use crate::helpers::*;

const HEADER: &str = "attempt_id,learner_id,learner_email,nugget_id,nugget_key,pack_slug,\
client_answered_at,answered_at,received_at,selected,correct,rating,response_ms,confidence,\
clock_flag,elapsed_days,stability_before,difficulty_before,stability_after,difficulty_after,\
status_after,due_after";

/// An export's rows as column → cell maps.
struct Export {
    header: String,
    rows: Vec<HashMap<String, String>>,
}

impl Export {
    fn column(&self, name: &str) -> Vec<&str> {
        self.rows.iter().map(|r| r[name].as_str()).collect()
    }

    fn by_attempt(&self, attempt: &str) -> &HashMap<String, String> {
        let found: Vec<_> = self
            .rows
            .iter()
            .filter(|r| r["attempt_id"] == attempt)
            .collect();
        assert_eq!(found.len(), 1, "attempt {attempt} exported once");
        found[0]
    }
}

async fn export(app: &TestApp, token: &str, query: &str) -> Export {
    let res = app
        .get(&format!("/api/v1/reviews/export{query}"), Some(token))
        .await;
    let status = res.status();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            names
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    Export {
        header: text.lines().next().unwrap_or_default().to_string(),
        rows,
    }
}

/// Answers and returns the attempt id.
async fn answered(app: &TestApp, token: &str, nugget: &str, selected: &[&str]) -> String {
    let res = expect_json(
        app.answer(token, nugget, selected).await,
        StatusCode::CREATED,
    )
    .await;
    res["attempt_id"].as_str().unwrap().to_string()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[actix_web::test]
async fn the_export_has_every_answer_of_the_organization_once_in_received_order() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    app.create_user(&l.org, "hr@acme.example", "analyst").await;
    let q = app.queue(&l.learner).await;
    let all = ids(&q);
    let multi = q["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["multiple"] == true)
        .unwrap()["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    let t0 = app.clock.now();
    let right = answered(&app, &l.learner, &all[0], &["b"]).await;
    app.clock.advance(Duration::minutes(1));
    let wrong = answered(&app, &l.learner, &all[1], &["a"]).await;
    app.clock.advance(Duration::minutes(1));
    let sure = uuid::Uuid::new_v4().to_string();
    let body = json!({"attempt_id": sure, "nugget_id": multi, "selected": ["c", "a"], "answered_at": app.clock.now(), "response_ms": 3000, "confidence": "sure"});
    expect_json(
        app.post_json("/api/v1/me/answers", Some(&l.learner), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    app.clock.advance(Duration::minutes(1));
    // The same day again: practice, which the export leaves out.
    answered(&app, &l.learner, &all[0], &["b"]).await;
    app.clock.advance(Duration::days(30));
    let learner = app.token("sam@acme.example").await;
    let again = answered(&app, &learner, &all[0], &["b"]).await;
    let analyst = app.token("hr@acme.example").await;

    let e = export(&app, &analyst, "").await;
    assert_eq!(e.header, HEADER);
    assert_eq!(
        e.column("attempt_id"),
        [right.as_str(), &wrong, &sure, &again],
        "ordered by received time"
    );
    let r = e.by_attempt(&right);
    assert_eq!(r["learner_id"], l.learner_id);
    assert_eq!(r["learner_email"], "sam@acme.example");
    assert_eq!(r["nugget_id"], all[0]);
    assert_eq!(r["nugget_key"], "q1");
    assert_eq!(r["pack_slug"], "sample");
    assert_eq!(r["received_at"], rfc3339(t0));
    assert_eq!(r["answered_at"], rfc3339(t0));
    assert_eq!(
        (r["selected"].as_str(), r["correct"].as_str()),
        ("b", "true")
    );
    assert_eq!(
        (r["rating"].as_str(), r["response_ms"].as_str()),
        ("3", "12000")
    );
    assert_eq!(r["status_after"], "review");
    for empty in [
        "confidence",
        "clock_flag",
        "elapsed_days",
        "stability_before",
        "difficulty_before",
    ] {
        assert_eq!(r[empty], "", "{empty} is empty on a first answer");
    }
    assert!(r["stability_after"].parse::<f64>().unwrap() > 0.0);
    let due = DateTime::parse_from_rfc3339(&r["due_after"]).unwrap();
    assert!(due > t0 + Duration::days(1));

    let w = e.by_attempt(&wrong);
    assert_eq!(
        (w["correct"].as_str(), w["rating"].as_str()),
        ("false", "1")
    );
    assert_eq!(w["status_after"], "learning");
    let s = e.by_attempt(&sure);
    assert_eq!(
        (s["selected"].as_str(), s["correct"].as_str()),
        ("a;c", "true")
    );
    assert_eq!(
        (s["confidence"].as_str(), s["rating"].as_str()),
        ("sure", "4")
    );
    let a = e.by_attempt(&again);
    assert_eq!(
        a["stability_before"], r["stability_after"],
        "the second answer starts from the first's state"
    );
    let elapsed: f64 = a["elapsed_days"].parse().unwrap();
    assert!((elapsed - (30.0 + 3.0 / 1440.0)).abs() < 1e-9, "{elapsed}");

    // Admins may export too.
    let admin = app.token("ada@acme.example").await;
    assert_eq!(export(&app, &admin, "").await.rows.len(), 4);
}

#[actix_web::test]
async fn since_and_until_bound_the_received_time() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let all = ids(&app.queue(&l.learner).await);
    let t0 = app.clock.now();
    let mut attempts = Vec::new();
    for nugget in &all[..3] {
        attempts.push(answered(&app, &l.learner, nugget, &["b"]).await);
        app.clock.advance(Duration::minutes(1));
    }
    let admin = &l.org.admin_token;
    let t1 = rfc3339(t0 + Duration::minutes(1));
    let t2 = rfc3339(t0 + Duration::minutes(2));
    let e = export(&app, admin, &format!("?since={t1}")).await;
    assert_eq!(e.column("attempt_id"), [attempts[1].as_str(), &attempts[2]]);
    let e = export(&app, admin, &format!("?until={t1}")).await;
    assert_eq!(e.column("attempt_id"), [attempts[0].as_str()]);
    let e = export(&app, admin, &format!("?since={t1}&until={t2}")).await;
    assert_eq!(e.column("attempt_id"), [attempts[1].as_str()]);
    // Offsets work, encoded or not (an unencoded `+` arrives as a space).
    for since in ["2026-03-02T09:01:00%2B01:00", "2026-03-02T09:01:00+01:00"] {
        let e = export(&app, admin, &format!("?since={since}")).await;
        assert_eq!(e.rows.len(), 2, "{since}");
    }
    let e = export(&app, admin, "?since=2026-03-03T00:00:00Z").await;
    assert_eq!((e.header.as_str(), e.rows.len()), (HEADER, 0));

    for (query, field) in [
        ("?since=yesterday", "since"),
        ("?until=2026-03-02", "until"),
        (
            "?since=2026-03-02T09:00:00Z&until=2026-03-02T08:00:00Z",
            "until",
        ),
        ("?from=2026-03-02T09:00:00Z", "from"),
    ] {
        let res = app
            .get(&format!("/api/v1/reviews/export{query}"), Some(admin))
            .await;
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem_fields(&problem), [field], "{query}: {problem}");
    }
}

#[actix_web::test]
async fn only_analysts_and_admins_export_and_only_their_own_organization() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let all = ids(&app.queue(&l.learner).await);
    answered(&app, &l.learner, &all[0], &["b"]).await;
    let (_, manager) = app.create_user(&l.org, "max@acme.example", "manager").await;
    for token in [&l.learner, &l.author, &manager] {
        let res = app.get("/api/v1/reviews/export", Some(token)).await;
        expect_problem(res, StatusCode::FORBIDDEN).await;
    }
    expect_problem(
        app.get("/api/v1/reviews/export", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let other = app.create_org("Globex", "gus@globex.example").await;
    let e = export(&app, &other.admin_token, "").await;
    assert_eq!((e.header.as_str(), e.rows.len()), (HEADER, 0));
    assert_eq!(export(&app, &l.org.admin_token, "").await.rows.len(), 1);
}

#[actix_web::test]
async fn too_few_reviews_keep_the_defaults_and_store_nothing() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    app.create_user(&l.org, "hr@acme.example", "analyst").await;
    let all = ids(&app.queue(&l.learner).await);
    answered(&app, &l.learner, &all[0], &["b"]).await;
    answered(&app, &l.learner, &all[1], &["a"]).await;
    app.clock.advance(Duration::days(1));
    let learner = app.token("sam@acme.example").await;
    let admin = app.token("ada@acme.example").await;
    answered(&app, &learner, &all[1], &["b"]).await;

    let res = app
        .post_json("/api/v1/admin/fsrs/optimize", Some(&admin), &json!({}))
        .await;
    let result = expect_json(res, StatusCode::OK).await;
    assert_eq!(result["fitted"], false, "{result}");
    assert_eq!(
        (result["have"].as_u64(), result["need"].as_u64()),
        (Some(1), Some(400))
    );
    assert!(result["reason"]
        .as_str()
        .unwrap()
        .contains("not enough reviews"));
    assert!(result.get("parameters").is_none());
    let model = expect_json(
        app.get("/api/v1/admin/fsrs", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(model, json!({"parameters": null, "fitted_at": null}));

    let analyst = app.token("hr@acme.example").await;
    for token in [&learner, &analyst] {
        let res = app
            .post_json("/api/v1/admin/fsrs/optimize", Some(token), &json!({}))
            .await;
        expect_problem(res, StatusCode::FORBIDDEN).await;
        expect_problem(
            app.get("/api/v1/admin/fsrs", Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
}

/// Inserts, through the store, `learners` new learners' answers to `nuggets`, `answers` each,
/// one a day or more apart on the FSRS schedule, recall drawn from the FSRS defaults. Rows
/// copy `template` (a real answer) for what the test does not vary; `received_at` is the
/// answer's day at midnight, so many rows share it. Returns the rows.
fn seed_reviews(
    app: &TestApp,
    template: &ReviewRow,
    nuggets: &[String],
    learners: usize,
    answers: usize,
) -> Vec<ReviewRow> {
    let pool = app.pool();
    let conn = &mut pool.get().unwrap();
    let org = &OrgId::from(template.org_id.as_str());
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let ctx = SchedulingContext::default();
    let mut rows = Vec::new();
    for i in 0..learners {
        let learner = accounts::create_user(
            conn,
            org,
            NewUser {
                id: uuid::Uuid::now_v7().to_string(),
                email: format!("seeded{i}@acme.example"),
                name: format!("Seeded {i}"),
                password_hash: "not-a-password-hash".into(),
                role: Role::Learner,
                timezone: None,
            },
            &[],
            start_time(),
        )
        .unwrap();
        for (n, nugget) in nuggets.iter().enumerate() {
            let mut state = CardState::default();
            let mut at = start_time() + Duration::hours(((i + n) % 12) as i64);
            for _ in 0..answers {
                let p = scheduler::retrievability(&state, at, &[]).unwrap_or(0.8);
                let correct = rng.gen_bool(p);
                let rating = match (correct, rng.gen_range(0..5)) {
                    (false, _) => Rating::Again,
                    (true, 0) => Rating::Hard,
                    (true, 1) => Rating::Easy,
                    _ => Rating::Good,
                };
                let before = state.clone();
                state = scheduler::review(&state, rating, at, &ctx, &Policy::Fsrs, n as u64);
                let memory = state.memory.unwrap();
                rows.push(ReviewRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    learner_id: learner.id.to_string(),
                    nugget_id: nugget.clone(),
                    attempt_id: uuid::Uuid::new_v4().to_string(),
                    selected: if correct { r#"["b"]"# } else { r#"["a"]"# }.into(),
                    correct,
                    rating: rating.as_u32() as i32,
                    client_answered_at: at.naive_utc(),
                    answered_at: at.naive_utc(),
                    received_at: at.date_naive().and_hms_opt(0, 0, 0).unwrap(),
                    elapsed_days: before
                        .last_review
                        .map(|t| (at - t).num_seconds() as f64 / 86_400.0),
                    stability_before: before.memory.map(|m| m.stability),
                    difficulty_before: before.memory.map(|m| m.difficulty),
                    stability_after: memory.stability,
                    difficulty_after: memory.difficulty,
                    status_after: state.status.as_str().into(),
                    due_after: state.due.map(|d| d.naive_utc()),
                    ..template.clone()
                });
                at = state
                    .due
                    .unwrap_or(at + Duration::days(60))
                    .max(at + Duration::days(1));
            }
        }
    }
    write_tx(conn, |conn| -> Result<(), StoreError> {
        rows.iter().try_for_each(|r| reviews::insert(conn, r))
    })
    .unwrap();
    rows
}

/// One real answer through the API, read back from the store as a row template.
async fn template_answer(app: &TestApp, l: &Learning) -> (ReviewRow, Vec<String>) {
    let nuggets = ids(&app.queue(&l.learner).await);
    let attempt = answered(app, &l.learner, &nuggets[0], &["b"]).await;
    let me = expect_json(
        app.get("/api/v1/me", Some(&l.learner)).await,
        StatusCode::OK,
    )
    .await;
    let org = &OrgId::from(me["user"]["org_id"].as_str().unwrap());
    let pool = app.pool();
    let row = reviews::by_attempt(
        &mut pool.get().unwrap(),
        org,
        &l.learner_id.as_str().into(),
        &attempt,
    )
    .unwrap()
    .unwrap();
    (row, nuggets)
}

#[actix_web::test]
async fn a_fit_on_enough_reviews_is_stored_and_schedules_from_then_on() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let (template, nuggets) = template_answer(&app, &l).await;
    // 10 learners × 6 nuggets × 9 answers: 480 predictable reviews (MIN_FIT_REVIEWS is 400).
    seed_reviews(&app, &template, &nuggets, 10, 9);

    let admin = &l.org.admin_token;
    let res = app
        .post_json("/api/v1/admin/fsrs/optimize", Some(admin), &json!({}))
        .await;
    let result = expect_json(res, StatusCode::OK).await;
    assert_eq!(result["fitted"], true, "{result}");
    assert_eq!(result["have"], 480);
    assert!(result.get("reason").is_none());
    let parameters = result["parameters"].as_array().unwrap();
    assert_eq!(parameters.len(), 21);
    for side in ["before", "after"] {
        for metric in ["log_loss", "rmse_bins"] {
            let v = result[side][metric].as_f64().unwrap();
            assert!(v.is_finite() && v > 0.0, "{side}.{metric} = {v}");
        }
    }
    assert_eq!(result["fitted_at"], rfc3339(app.clock.now()));

    let model = expect_json(
        app.get("/api/v1/admin/fsrs", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(model["parameters"], result["parameters"]);
    assert_eq!(model["fitted_at"], result["fitted_at"]);
    // Scheduling reads what was stored.
    let pool = app.pool();
    let org = OrgId::from(template.org_id.as_str());
    let used = learning::fsrs_parameters(&mut pool.get().unwrap(), &org).unwrap();
    let stored: Vec<f32> = serde_json::from_value(result["parameters"].clone()).unwrap();
    assert_eq!(used, stored);
}

#[actix_web::test]
async fn export_pages_resume_after_their_last_row_even_on_equal_times() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let (template, nuggets) = template_answer(&app, &l).await;
    let seeded = seed_reviews(&app, &template, &nuggets, 3, 4);
    let pool = app.pool();
    let conn = &mut pool.get().unwrap();
    let mut cursor: Option<ExportCursor> = None;
    let mut seen = Vec::new();
    loop {
        let page = reviews::export_page(
            conn,
            &OrgId::from(template.org_id.as_str()),
            ReceivedWindow::default(),
            cursor.as_ref(),
            7,
        )
        .unwrap();
        assert!(page.records.len() <= 7);
        seen.extend(page.records);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), seeded.len() + 1);
    let unique: HashSet<_> = seen.iter().map(|r| r.attempt_id.as_str()).collect();
    assert_eq!(unique.len(), seen.len());
    assert!(seen
        .windows(2)
        .all(|w| w[0].received_at <= w[1].received_at));
    let ties = seen
        .windows(2)
        .filter(|w| w[0].received_at == w[1].received_at)
        .count();
    assert!(ties > 10, "the data has equal received times ({ties})");
}

#[actix_web::test]
async fn a_large_export_streams_in_several_pages() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let (template, nuggets) = template_answer(&app, &l).await;
    // 5,100 rows plus the real answer: two pages of 5,000.
    let seeded = seed_reviews(&app, &template, &nuggets, 10, 85);
    let e = export(&app, &l.org.admin_token, "").await;
    assert_eq!(e.rows.len(), seeded.len() + 1);
    let unique: HashSet<_> = e.column("attempt_id").into_iter().collect();
    assert_eq!(unique.len(), e.rows.len());
    let received = e.column("received_at");
    assert!(received.windows(2).all(|w| w[0] <= w[1]));
}
