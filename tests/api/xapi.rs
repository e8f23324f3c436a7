//! xAPI statements and forwarding to an LRS that goes down and comes back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use reprise::domain::egress::EgressPolicy;

fn is_iri(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
}

#[actix_web::test]
async fn answers_read_as_valid_xapi_statements() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    let n = q["nuggets"][0]["nugget_id"].as_str().unwrap().to_string();
    let answer = expect_json(
        app.answer_in(&l.learner, &n, &["b"], 12_500).await,
        StatusCode::CREATED,
    )
    .await;
    let (_, analyst) = app.create_user(&l.org, "hr@acme.example", "analyst").await;
    let res = expect_json(
        app.get("/api/v1/xapi/statements", Some(&analyst)).await,
        StatusCode::OK,
    )
    .await;
    let s = &res["statements"][0];
    assert_eq!(s["id"], answer["attempt_id"]);
    assert_eq!(s["version"], "1.0.3");
    assert_eq!(s["verb"]["id"], "http://adlnet.gov/expapi/verbs/answered");
    assert_eq!(s["actor"]["objectType"], "Agent");
    assert!(is_iri(&s["actor"]["account"]["homePage"]));
    assert_eq!(s["actor"]["account"]["name"], l.learner_id);
    assert!(is_iri(&s["object"]["id"]));
    assert_eq!(
        s["object"]["definition"]["type"],
        "http://adlnet.gov/expapi/activities/cmi.interaction"
    );
    assert_eq!(s["object"]["definition"]["interactionType"], "choice");
    assert_eq!(
        s["object"]["definition"]["correctResponsesPattern"],
        json!(["b"])
    );
    assert_eq!(
        s["object"]["definition"]["choices"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(s["result"]["success"], true);
    assert_eq!(s["result"]["response"], "b");
    assert_eq!(s["result"]["duration"], "PT12.5S");
    assert_eq!(s["result"]["score"]["scaled"], 1.0);
    assert_eq!(s["timestamp"], "2026-03-02T08:00:00.000Z");
    assert!(s["stored"].as_str().unwrap().ends_with('Z'));
    assert_eq!(res["more"], "");

    // Paging, access and isolation.
    let second = q["nuggets"][1]["nugget_id"].as_str().unwrap();
    app.answer(&l.learner, second, &["a"]).await;
    let page = expect_json(
        app.get("/api/v1/xapi/statements?limit=1", Some(&analyst))
            .await,
        StatusCode::OK,
    )
    .await;
    let more = page["more"].as_str().unwrap();
    assert!(!more.is_empty());
    let next = expect_json(app.get(more, Some(&analyst)).await, StatusCode::OK).await;
    assert_eq!(next["statements"][0]["result"]["success"], false);
    expect_problem(
        app.get("/api/v1/xapi/statements", Some(&l.learner)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get("/api/v1/xapi/statements?cursor=zzz", Some(&analyst))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let other = app.create_org("Globex", "gus@globex.example").await;
    let theirs = expect_json(
        app.get("/api/v1/xapi/statements", Some(&other.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["statements"], json!([]));
}

/// A Learning Record Store on loopback that can be switched off.
#[derive(Default)]
struct Lrs {
    up: AtomicBool,
    received: Mutex<Vec<String>>,
    bad_requests: Mutex<Vec<String>>,
}

async fn statements(
    req: HttpRequest,
    body: web::Json<Vec<Value>>,
    lrs: web::Data<Lrs>,
) -> HttpResponse {
    if !lrs.up.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let version = req
        .headers()
        .get("x-experience-api-version")
        .and_then(|v| v.to_str().ok());
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if version != Some("1.0.3") || auth != Some("Basic bHJzLXVzZXI6bHJzLXNlY3JldA==") {
        lrs.bad_requests
            .lock()
            .unwrap()
            .push(format!("{version:?} {auth:?}"));
        return HttpResponse::Unauthorized().finish();
    }
    let ids: Vec<String> = body
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    lrs.received.lock().unwrap().extend(ids.clone());
    HttpResponse::Ok().json(ids)
}

pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[actix_web::test]
async fn forwarding_survives_an_lrs_outage_and_delivers_exactly_once() {
    let lrs = web::Data::new(Lrs::default());
    let data = lrs.clone();
    let stub = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/xapi/statements", web::post().to(statements))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let stub_port = stub.addrs()[0].port();
    actix_web::rt::spawn(stub.run());

    // The LRS runs on loopback, which the operator allows, as for an on-premises LRS.
    let app = spawn_with(|s| {
        s.xapi_forward_interval_ms = 20;
        s.egress = EgressPolicy::parse_allow("127.0.0.1", true).unwrap();
    })
    .await;
    let l = app.setup_learning(6).await;
    let res = app
        .client
        .put(app.url("/api/v1/org/lrs"))
        .bearer_auth(&l.org.admin_token)
        .json(&json!({"endpoint": format!("http://127.0.0.1:{stub_port}/xapi/"), "username": "lrs-user", "password": "lrs-secret"}))
        .send()
        .await
        .unwrap();
    let status = expect_json(res, StatusCode::OK).await;
    assert_eq!(status["configured"], true);
    let shown = expect_json(
        app.get("/api/v1/org/lrs", Some(&l.org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert!(!shown.to_string().contains("lrs-secret"));
    // Stored sealed: a copy of the database does not give the LRS password away.
    let stored: Vec<Option<String>> = {
        use diesel::prelude::*;
        use reprise::store::schema::organizations;
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        organizations::table
            .select(organizations::lrs_password)
            .load(&mut *conn)
            .unwrap()
    };
    let stored = stored.into_iter().flatten().collect::<Vec<_>>();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("v1.") && !stored[0].contains("lrs-secret"));

    // The LRS is down while three answers come in: nothing is delivered, nothing lost.
    let q = app.queue(&l.learner).await;
    let nuggets: Vec<String> = q["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nugget_id"].as_str().unwrap().to_string())
        .collect();
    for n in &nuggets[..3] {
        expect_json(app.answer(&l.learner, n, &["b"]).await, StatusCode::CREATED).await;
    }
    let pool = app.pool();
    let attempts = || {
        use diesel::prelude::*;
        use reprise::store::schema::xapi_outbox;
        let mut conn = pool.get().unwrap();
        xapi_outbox::table
            .select(diesel::dsl::sum(xapi_outbox::attempts))
            .first::<Option<i64>>(&mut *conn)
            .unwrap()
            .unwrap_or(0)
    };
    wait_for("failed deliveries", || attempts() >= 3).await;
    assert!(lrs.received.lock().unwrap().is_empty());

    // It comes back; after the backoff every statement arrives once, then new ones follow.
    lrs.up.store(true, Ordering::SeqCst);
    app.clock.advance(chrono::Duration::minutes(20));
    wait_for("redelivery", || lrs.received.lock().unwrap().len() >= 3).await;
    let token = app.token("sam@acme.example").await;
    for n in &nuggets[3..5] {
        expect_json(app.answer(&token, n, &["a"]).await, StatusCode::CREATED).await;
    }
    wait_for("new statements", || lrs.received.lock().unwrap().len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let received = lrs.received.lock().unwrap().clone();
    let mut unique = received.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        received.len(),
        5,
        "a statement was delivered twice: {received:?}"
    );
    assert_eq!(unique.len(), 5);
    assert!(lrs.bad_requests.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn stored_secrets_are_sealed_again_under_a_new_key() {
    use reprise::secrets::{reseal_all, SecretBox};
    use reprise::store::webhooks;
    use reprise::store::xapi::{lrs, lrs_password_context, set_lrs, LrsSettings};
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let org_id = app.org_id(&org.admin_token).await;
    let context = lrs_password_context(&org_id);
    let (old_key, new_key) = ([1u8; 32], [2u8; 32]);
    let old = SecretBox::new(&old_key, &[]).unwrap();
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let settings = LrsSettings {
        endpoint: "https://lrs.example.com/xapi".into(),
        username: "u".into(),
        password: old.seal(&context, "pw-1"),
    };
    set_lrs(&mut conn, &org_id, Some(&settings)).unwrap();
    // A webhook's signing secret, sealed for that webhook.
    let admin_id: reprise::domain::ids::UserId = expect_json(
        app.get("/api/v1/me", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await["user"]["id"]
        .as_str()
        .unwrap()
        .into();
    let hook = reprise::domain::webhooks::WebhookRequest {
        url: "https://hooks.example.com/x".into(),
        events: vec![reprise::domain::webhooks::Event::AnswerCreated],
        format: None,
        description: None,
    }
    .check()
    .unwrap();
    let made = webhooks::create(&mut conn, &org_id, &hook, "", &admin_id, app.clock.now()).unwrap();
    let hook_context = reprise::webhooks::secret_context(&org_id, &made.id);
    webhooks::replace_secret(
        &mut conn,
        &org_id,
        &made.id,
        &old.seal(&hook_context, "whsec_a"),
    )
    .unwrap();

    // The new key alone cannot open it; with the old one listed, rotation seals it again.
    let new_only = SecretBox::new(&new_key, &[]).unwrap();
    assert!(reseal_all(&mut conn, &new_only).is_err());
    let rotating = SecretBox::new(&new_key, &[old_key.to_vec()]).unwrap();
    assert_eq!(reseal_all(&mut conn, &rotating).unwrap(), 2);
    assert_eq!(
        reseal_all(&mut conn, &rotating).unwrap(),
        0,
        "already current"
    );
    let stored = lrs(&mut conn, &org_id).unwrap().unwrap().password;
    assert_eq!(new_only.open(&context, &stored).unwrap(), "pw-1");
    assert!(old.open(&context, &stored).is_err());
    let stored = webhooks::find(&mut conn, &org_id, &made.id)
        .unwrap()
        .sealed_secret;
    assert_eq!(new_only.open(&hook_context, &stored).unwrap(), "whsec_a");
}
