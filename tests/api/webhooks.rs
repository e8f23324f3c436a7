//! Webhooks: an admin's endpoint on loopback receives the organization's events signed as
//! Standard Webhooks say, a failing receiver is retried with the same message id for a day and
//! then marked failing, chat endpoints get a channel message, and answers, masteries, completed
//! assignments, forgetting risk and the weekly digest each become one event.

use std::collections::VecDeque;
use std::sync::Mutex;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use reprise::domain::egress::EgressPolicy;

/// A message as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A receiver on loopback: answers each message with the next status queued (200 when none).
#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    statuses: Mutex<VecDeque<u16>>,
}

impl Receiver {
    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn of_type(&self, event: &str) -> Vec<Value> {
        self.all()
            .iter()
            .map(Received::json)
            .filter(|m| m["type"] == event)
            .collect()
    }

    fn answer_with(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, r: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    r.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let status = r.statuses.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

async fn start_receiver() -> (web::Data<Receiver>, String) {
    let receiver = web::Data::new(Receiver::default());
    let data = receiver.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::post().to(receive))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let origin = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    actix_web::rt::spawn(server.run());
    (receiver, origin)
}

fn loopback_allowed(s: &mut reprise::config::Settings) {
    s.egress = EgressPolicy::parse_allow("127.0.0.1", true).unwrap();
}

async fn create_webhook(app: &TestApp, admin: &str, body: Value) -> Value {
    expect_json(
        app.post_json("/api/v1/org/webhooks", Some(admin), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

async fn deliveries(app: &TestApp, admin: &str, id: &str) -> Vec<Value> {
    expect_json(
        app.get(
            &format!("/api/v1/org/webhooks/{id}/deliveries"),
            Some(admin),
        )
        .await,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

/// A round late enough for every answer so far to have settled.
async fn round(app: &TestApp) -> reprise::webhooks::RoundReport {
    app.webhooks
        .round(app.clock.now() + Duration::seconds(30))
        .await
        .unwrap()
}

/// The right options of the sample pack's nuggets, by prompt.
fn right_options(prompt: &str) -> Vec<&'static str> {
    if prompt.starts_with("Select all") {
        vec!["a", "c"]
    } else {
        vec!["b"]
    }
}

/// Answers every nugget in the learner's queue right; returns how many.
async fn answer_all_right(app: &TestApp, token: &str) -> usize {
    let q = app.queue(token).await;
    let nuggets = q["nuggets"].as_array().unwrap().clone();
    for n in &nuggets {
        let res = app
            .answer(
                token,
                n["nugget_id"].as_str().unwrap(),
                &right_options(n["prompt"].as_str().unwrap()),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    nuggets.len()
}

#[actix_web::test]
async fn answers_reach_the_receiver_signed_once_each() {
    let (receiver, origin) = start_receiver().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    let made = create_webhook(
        &app,
        admin,
        json!({"url": format!("{origin}/hooks/crm"), "events": ["answer.created"], "description": "CRM"}),
    )
    .await;
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{made}");
    assert_eq!(made["format"], "standard");
    assert_eq!(made["status"], "active");
    let id = made["id"].as_str().unwrap().to_string();
    // The secret is shown once: the list never carries it.
    let listed = expect_json(
        app.get("/api/v1/org/webhooks", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none(), "{listed}");
    assert!(!listed.to_string().contains(&secret[6..]));
    // Only admins manage webhooks.
    let res = app.get("/api/v1/org/webhooks", Some(&l.learner)).await;
    expect_problem(res, StatusCode::FORBIDDEN).await;

    let q = app.queue(&l.learner).await;
    let first = q["nuggets"][0]["nugget_id"].as_str().unwrap().to_string();
    app.answer(&l.learner, &first, &["a"]).await;
    // Answers younger than a few seconds wait for the next round.
    let early = app.webhooks.round(app.clock.now()).await.unwrap();
    assert_eq!(early.queued, 0);
    let report = round(&app).await;
    assert_eq!((report.queued, report.delivered), (1, 1), "{report:?}");
    let got = receiver.all();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(m.id.starts_with("msg_"), "{m:?}");
    // The signature verifies with the secret shown at creation (Standard Webhooks).
    let signer = standardwebhooks::Webhook::new(&secret).unwrap();
    let expected = signer
        .sign(&m.id, m.timestamp.parse().unwrap(), m.body.as_bytes())
        .unwrap();
    assert_eq!(m.signature, expected);
    let other = standardwebhooks::Webhook::new("whsec_c2VjcmV0LXRoYXQtaXMtbm90LWl0Cg==").unwrap();
    assert_ne!(
        m.signature,
        other
            .sign(&m.id, m.timestamp.parse().unwrap(), m.body.as_bytes())
            .unwrap()
    );
    let body = m.json();
    assert_eq!(body["type"], "answer.created");
    assert_eq!(body["data"]["nugget_id"], first.as_str());
    assert_eq!(body["data"]["correct"], false);
    assert_eq!(body["data"]["learner_id"], l.learner_id.as_str());
    assert_eq!(body["data"]["learner_email"], "sam@acme.example");
    assert_eq!(body["data"]["pack"], "sample");
    assert_eq!(body["data"]["prompt"], "Question 1?");

    // Nothing new: nothing more, whatever the rounds.
    round(&app).await;
    round(&app).await;
    assert_eq!(receiver.all().len(), 1);
    let shown = deliveries(&app, admin, &id).await;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["id"], m.id.as_str());
    assert_eq!(shown[0]["status"], "delivered");
    assert_eq!(shown[0]["attempts"][0]["status_code"], 200);

    // Deleted: no more messages, and its history is gone with it.
    let res = app
        .delete(&format!("/api/v1/org/webhooks/{id}"), admin)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let second = app.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.answer(&l.learner, &second, &["b"]).await;
    round(&app).await;
    assert_eq!(receiver.all().len(), 1);
    let res = app
        .get(
            &format!("/api/v1/org/webhooks/{id}/deliveries"),
            Some(admin),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn a_failing_receiver_is_retried_with_the_same_id_then_marked_failing() {
    let (receiver, origin) = start_receiver().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    let made = create_webhook(
        &app,
        admin,
        json!({"url": format!("{origin}/hooks"), "events": ["answer.created"]}),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    let first = app.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.answer(&l.learner, &first, &["b"]).await;

    // 500, then 503: retried with backoff; then accepted.
    receiver.answer_with(&[500, 503]);
    let r1 = round(&app).await;
    assert_eq!((r1.delivered, r1.retried), (0, 1), "{r1:?}");
    let shown = deliveries(&app, admin, &id).await;
    assert_eq!(shown[0]["status"], "pending");
    assert_eq!(shown[0]["attempts"][0]["status_code"], 500);
    assert!(shown[0]["next_attempt_at"].is_string());
    // Not before the backoff is over.
    assert_eq!(round(&app).await.retried + round(&app).await.delivered, 0);
    app.clock.advance(Duration::seconds(10));
    assert_eq!(round(&app).await.retried, 1);
    app.clock.advance(Duration::minutes(6));
    assert_eq!(round(&app).await.delivered, 1);
    let got = receiver.all();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|m| m.id == got[0].id),
        "one message id for every attempt"
    );
    let shown = deliveries(&app, admin, &id).await;
    let codes: Vec<&Value> = shown[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(503), &json!(200)]);

    // A receiver that never recovers: a day of retries, then the delivery fails and the
    // webhook is failing.
    receiver.answer_with(&[503; 40]);
    let token = app.token("sam@acme.example").await;
    let second = app.queue(&token).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.answer(&token, &second, &["b"]).await;
    let mut failed = 0;
    for _ in 0..30 {
        failed += round(&app).await.failed;
        app.clock.advance(Duration::hours(3));
    }
    assert_eq!(failed, 1);
    let admin = &app.token("ada@acme.example").await;
    let hooks = expect_json(
        app.get("/api/v1/org/webhooks", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(hooks[0]["status"], "failing", "{hooks}");
    assert!(hooks[0]["failing_since"].is_string());
    let shown = deliveries(&app, admin, &id).await;
    assert_eq!(shown[0]["status"], "failed");
    let tries = shown[0]["attempts"].as_array().unwrap().len();
    assert!((5..=10).contains(&tries), "{tries} attempts in a day");

    // While failing, one message a round knocks; the first that gets through heals it.
    receiver.statuses.lock().unwrap().clear();
    receiver.answer_with(&[503]);
    let token = app.token("sam@acme.example").await;
    let more = answer_all_right(&app, &token).await;
    assert!(more >= 2, "{more}");
    let r = round(&app).await;
    assert_eq!(r.delivered + r.retried, 1, "one probe: {r:?}");
    app.clock.advance(Duration::minutes(1));
    let r = round(&app).await;
    assert_eq!(r.delivered, 1, "{r:?}");
    app.clock.advance(Duration::minutes(1));
    let r = round(&app).await;
    assert_eq!(r.delivered, more - 1, "{r:?}");
    let hooks = expect_json(
        app.get("/api/v1/org/webhooks", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(hooks[0]["status"], "active");
}

#[actix_web::test]
async fn webhook_requests_are_checked_field_by_field() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let admin = &l.org.admin_token;
    let res = app
        .post_json(
            "/api/v1/org/webhooks",
            Some(admin),
            &json!({"url": "not a url", "events": []}),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&p), ["url", "events"]);
    let res = app
        .post_json(
            "/api/v1/org/webhooks",
            Some(admin),
            &json!({"url": "https://hooks.example.com/x", "events": ["answer.deleted"]}),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p.to_string().contains("events"), "{p}");
    // Loopback, private and metadata addresses are refused unless the operator allows them.
    for url in [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
    ] {
        let res = app
            .post_json(
                "/api/v1/org/webhooks",
                Some(admin),
                &json!({"url": url, "events": ["answer.created"]}),
            )
            .await;
        let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem_fields(&p), ["url"], "{url}: {p}");
    }
    let listed = expect_json(
        app.get("/api/v1/org/webhooks", Some(admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]), "nothing half made");
    let res = app.delete("/api/v1/org/webhooks/nope", admin).await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn mastery_completion_risk_and_digest_become_events_and_chat_messages() {
    let (receiver, origin) = start_receiver().await;
    let (chat, chat_origin) = start_receiver().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(6).await;
    let admin = &l.org.admin_token;
    // Qstream's rule retires a nugget after two right answers in a row, 42 days apart.
    let res = app
        .patch_json(
            &format!("/api/v1/assignments/{}", l.assignment_id),
            &l.author,
            &json!({"policy": "qstream"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    create_webhook(
        &app,
        admin,
        json!({"url": format!("{origin}/all"), "events": ["nugget.mastered", "assignment.completed", "learner.at_risk", "digest.weekly"]}),
    )
    .await;
    let chat_hook = create_webhook(
        &app,
        admin,
        json!({"url": format!("{chat_origin}/services/T0/B0/x"), "events": ["nugget.mastered", "digest.weekly"], "format": "slack"}),
    )
    .await;
    assert_eq!(chat_hook["format"], "slack");

    // Day 0, Monday 2 March before 09:00: six right answers; nothing mastered yet.
    assert_eq!(answer_all_right(&app, &l.learner).await, 6);
    round(&app).await;
    assert!(receiver.of_type("nugget.mastered").is_empty());
    assert!(receiver.of_type("digest.weekly").is_empty(), "before 09:00");

    // Monday 9 March, 09:30: the weekly digest, once.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 9, 9, 30, 0).unwrap());
    round(&app).await;
    round(&app).await;
    let digests = receiver.of_type("digest.weekly");
    assert_eq!(digests.len(), 1);
    let d = &digests[0]["data"];
    assert_eq!(d["week_start"], "2026-03-09");
    assert_eq!(d["everyone"]["learners"], 1);
    assert_eq!(d["teams"][0]["team"], "North");
    assert!(d["everyone"]["proficiency"].as_f64().unwrap() > 0.5, "{d}");
    let chat_digest: Vec<Value> = chat.all().iter().map(Received::json).collect();
    assert_eq!(chat_digest.len(), 1);
    let text = chat_digest[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Week of 2026-03-09: proficiency"),
        "{text}"
    );
    assert!(
        chat.all()[0].signature.is_empty(),
        "chat messages are not signed"
    );

    // Weeks on, recall has faded: Sam is at risk, once a week however many rounds.
    let earlier = receiver.of_type("learner.at_risk").len();
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 13, 10, 0, 0).unwrap());
    round(&app).await;
    round(&app).await;
    let risks = receiver.of_type("learner.at_risk");
    assert_eq!(risks.len(), earlier + 1, "{risks:?}");
    let risks = &risks[earlier..];
    assert_eq!(risks[0]["data"]["learner_id"], l.learner_id.as_str());
    assert!(!risks[0]["data"]["topics"].as_array().unwrap().is_empty());

    // Right again at 42 days: every nugget mastered, and with the last the assignment.
    let token = app.token("sam@acme.example").await;
    assert_eq!(answer_all_right(&app, &token).await, 6);
    round(&app).await;
    round(&app).await;
    assert_eq!(receiver.of_type("nugget.mastered").len(), 6);
    let done = receiver.of_type("assignment.completed");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["data"]["assignment_id"], l.assignment_id.as_str());
    let chat_mastered: Vec<String> = chat
        .all()
        .iter()
        .map(|m| m.json()["text"].as_str().unwrap().to_string())
        .filter(|t| t.contains(" mastered "))
        .collect();
    assert_eq!(chat_mastered.len(), 6);
    assert!(chat_mastered
        .iter()
        .any(|t| t == "Sam mastered \"Question 1?\" (Discovery)"));
}

#[actix_web::test]
async fn two_instances_queue_and_deliver_each_event_once() {
    let (receiver, origin) = start_receiver().await;
    let a = spawn_with(loopback_allowed).await;
    let b = spawn_on_with(&a.database_url, loopback_allowed).await;
    b.clock.set(a.clock.now());
    let l = a.setup_learning(6).await;
    create_webhook(
        &a,
        &l.org.admin_token,
        json!({"url": format!("{origin}/hooks"), "events": ["answer.created"]}),
    )
    .await;
    let token = a.token("sam@acme.example").await;
    assert_eq!(answer_all_right(&a, &token).await, 6);
    let at = a.clock.now() + Duration::seconds(30);
    let (ra, rb) = futures_util::join!(a.webhooks.round(at), b.webhooks.round(at));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.queued + rb.queued, 6, "{ra:?} {rb:?}");
    assert_eq!(ra.delivered + rb.delivered, 6, "{ra:?} {rb:?}");
    let ids: std::collections::HashSet<String> = receiver.all().into_iter().map(|m| m.id).collect();
    assert_eq!((receiver.all().len(), ids.len()), (6, 6));
}
