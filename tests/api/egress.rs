//! Requests the server makes on a customer's behalf never reach inside: not when the URL is
//! saved, not at delivery (names can change what they resolve to), not through a redirect, and
//! one organization's slow endpoint does not hold up the others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::xapi::wait_for;
use reprise::domain::egress::EgressPolicy;

/// An HTTP server on `ip` that counts requests and answers each with `respond`.
fn counting_server(
    ip: &str,
    respond: impl Fn() -> HttpResponse + Clone + Send + 'static,
) -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = HttpServer::new(move || {
        let (counter, respond) = (counter.clone(), respond.clone());
        App::new().default_service(web::to(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let response = respond();
            async move { response }
        }))
    })
    .workers(1)
    .bind((ip, 0))
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    (port, hits)
}

async fn put_lrs(app: &TestApp, admin: &str, endpoint: &str) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/org/lrs"))
        .bearer_auth(admin)
        .json(&json!({"endpoint": endpoint, "username": "u", "password": "p"}))
        .send()
        .await
        .unwrap()
}

/// Whether a statement's last delivery failed with an error containing `text`.
fn failed_with(app: &TestApp, text: &str) -> bool {
    use diesel::prelude::*;
    use reprise::store::schema::xapi_outbox;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    xapi_outbox::table
        .select(xapi_outbox::last_error)
        .load::<Option<String>>(&mut *conn)
        .unwrap()
        .into_iter()
        .flatten()
        .any(|e| e.contains(text))
}

/// An LRS endpoint stored as it is, as if its name had resolved elsewhere when it was saved.
async fn store_lrs(app: &TestApp, admin: &str, endpoint: &str) {
    use reprise::store::xapi::{set_lrs, LrsSettings};
    let org_id = app.org_id(admin).await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let settings = LrsSettings {
        endpoint: endpoint.into(),
        username: "u".into(),
        password: "p".into(),
    };
    set_lrs(&mut conn, &org_id, Some(&settings)).unwrap();
}

async fn answer_one(app: &TestApp, l: &Learning) {
    let q = app.queue(&l.learner).await;
    let n = q["nuggets"][0]["nugget_id"].as_str().unwrap().to_string();
    expect_json(
        app.answer(&l.learner, &n, &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
}

#[actix_web::test]
async fn lrs_urls_that_lead_inside_are_refused_when_saved() {
    // Even with plain http allowed, no inside address is.
    let app = spawn_with(|s| s.egress = EgressPolicy::parse_allow("", true).unwrap()).await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    for endpoint in [
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:6379/",
        "http://10.0.0.1/xapi",
        "http://172.20.1.1/xapi",
        "http://192.168.1.10/xapi",
        "http://100.64.0.1/xapi",
        "http://0.0.0.0/xapi",
        "http://127.0.0.1:8080/xapi",
        "http://2130706433/xapi",
        "http://0x7f.0.0.1/xapi",
        "http://127.1/xapi",
        "http://224.0.0.1/xapi",
    ] {
        let problem = expect_problem(
            put_lrs(&app, &org.admin_token, endpoint).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem_fields(&problem), vec!["endpoint"], "{endpoint}");
    }
    let shown = expect_json(
        app.get("/api/v1/org/lrs", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shown["configured"], false, "nothing refused was stored");

    // By default only https is called: credentials never travel in the clear.
    let strict = spawn_app().await;
    let org = strict.create_org("Acme", "ada@acme.example").await;
    let problem = expect_problem(
        put_lrs(&strict, &org.admin_token, "http://lrs.example.com/xapi").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), vec!["endpoint"]);
}

#[actix_web::test]
async fn deliveries_check_the_destination_again() {
    let (port, hits) = counting_server("127.0.0.1", || HttpResponse::Ok().json(json!([])));
    let app = spawn_with(|s| {
        s.xapi_forward_interval_ms = 20;
        s.egress = EgressPolicy::parse_allow("", true).unwrap();
    })
    .await;
    let l = app.setup_learning(3).await;
    // A name that resolves to loopback, and loopback written as an address: stored as if they
    // had led elsewhere when saved; each delivery checks again and sends nothing.
    let q = app.queue(&l.learner).await;
    for (i, (endpoint, refusal)) in [
        (
            format!("http://localhost:{port}/xapi"),
            "localhost resolves to",
        ),
        (
            format!("http://127.0.0.1:{port}/xapi"),
            "127.0.0.1 is not a public address",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        store_lrs(&app, &l.org.admin_token, &endpoint).await;
        let n = q["nuggets"][i]["nugget_id"].as_str().unwrap();
        expect_json(app.answer(&l.learner, n, &["b"]).await, StatusCode::CREATED).await;
        wait_for(refusal, || failed_with(&app, refusal)).await;
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached loopback");
}

#[actix_web::test]
async fn redirects_are_not_followed() {
    let (inside_port, inside_hits) =
        counting_server("127.0.0.1", || HttpResponse::Ok().json(json!([])));
    let target = format!("http://127.0.0.1:{inside_port}/xapi/statements");
    let (lrs_port, lrs_hits) = counting_server("127.0.0.2", move || {
        HttpResponse::TemporaryRedirect()
            .insert_header(("location", target.clone()))
            .finish()
    });
    // The operator allows one address (an on-premises LRS); it redirects to another.
    let app = spawn_with(|s| {
        s.xapi_forward_interval_ms = 20;
        s.egress = EgressPolicy::parse_allow("127.0.0.2", true).unwrap();
    })
    .await;
    let l = app.setup_learning(3).await;
    expect_json(
        put_lrs(
            &app,
            &l.org.admin_token,
            &format!("http://127.0.0.2:{lrs_port}/xapi"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    answer_one(&app, &l).await;
    wait_for("the redirect answered", || failed_with(&app, "307")).await;
    assert!(lrs_hits.load(Ordering::SeqCst) >= 1);
    assert_eq!(
        inside_hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

#[actix_web::test]
async fn one_hanging_lrs_does_not_hold_up_other_organizations() {
    // Acme's LRS accepts the request and never answers; Globex's answers at once.
    let (hang_port, hang_hits) = {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let server = HttpServer::new(move || {
            let counter = counter.clone();
            App::new().default_service(web::to(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {
                    std::future::pending::<()>().await;
                    HttpResponse::Ok().finish()
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        (port, hits)
    };
    let (ok_port, ok_hits) = counting_server("127.0.0.1", || HttpResponse::Ok().json(json!([])));
    let app = spawn_with(|s| {
        s.xapi_forward_interval_ms = 20;
        s.egress = EgressPolicy::parse_allow("127.0.0.1", true).unwrap();
        // Far longer than the test waits: a forwarder that waited on the hanging LRS before
        // serving the next organization would fail the wait below.
        s.outbound_timeout_secs = 600;
    })
    .await;
    let acme = app.setup_learning_in("Acme", "acme.example", 3).await;
    let globex = app.setup_learning_in("Globex", "globex.example", 3).await;
    let endpoint = |port: u16| format!("http://127.0.0.1:{port}/xapi");
    expect_json(
        put_lrs(&app, &acme.org.admin_token, &endpoint(hang_port)).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        put_lrs(&app, &globex.org.admin_token, &endpoint(ok_port)).await,
        StatusCode::OK,
    )
    .await;
    answer_one(&app, &acme).await;
    wait_for("Acme's LRS to hang", || {
        hang_hits.load(Ordering::SeqCst) >= 1
    })
    .await;
    // Globex answers only now, while Acme's delivery is still waiting.
    answer_one(&app, &globex).await;
    wait_for("Globex's delivery", || ok_hits.load(Ordering::SeqCst) >= 1).await;
    assert_eq!(
        hang_hits.load(Ordering::SeqCst),
        1,
        "Acme's request is still pending"
    );
}
