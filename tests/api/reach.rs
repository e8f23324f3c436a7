//! Reaching learners: Web Push received and decrypted by an endpoint on loopback, e-mail received
//! by a real SMTP server, the one-tap link and one-click unsubscribe, and the promise of one
//! nudge per learner, channel and day through concurrent and interrupted passes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use reprise::domain::egress::EgressPolicy;

/// A push message as the receiving push service saw it.
#[derive(Clone)]
struct Received {
    path: String,
    authorization: String,
    encoding: String,
    topic: String,
    body: Vec<u8>,
}

/// A push service on loopback: `/push/…` accepts (201), `/gone/…` says the subscription is gone
/// (410). From the `hold_after`-th accepted message on it never answers, like a service that
/// stopped responding mid-run.
#[derive(Default)]
struct PushService {
    received: Mutex<Vec<Received>>,
    arrived: AtomicUsize,
    hold_after: AtomicUsize,
}

async fn push_endpoint(
    req: HttpRequest,
    body: web::Bytes,
    service: web::Data<PushService>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if req.path().starts_with("/gone/") {
        return HttpResponse::Gone().finish();
    }
    let n = service.arrived.fetch_add(1, Ordering::SeqCst) + 1;
    let hold = service.hold_after.load(Ordering::SeqCst);
    if hold > 0 && n >= hold {
        std::future::pending::<()>().await;
    }
    service.received.lock().unwrap().push(Received {
        path: req.path().to_string(),
        authorization: header("authorization"),
        encoding: header("content-encoding"),
        topic: header("topic"),
        body: body.to_vec(),
    });
    HttpResponse::Created().finish()
}

async fn start_push_service() -> (web::Data<PushService>, String) {
    let service = web::Data::new(PushService::default());
    let data = service.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::post().to(push_endpoint))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let origin = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    actix_web::rt::spawn(server.run());
    (service, origin)
}

/// A browser's side of a subscription: its key pair and auth secret.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Browser {
        let mut auth = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut auth);
        Browser {
            secret: p256::SecretKey::random(&mut rand::rngs::OsRng),
            auth,
        }
    }

    fn subscription(&self, endpoint: &str) -> Value {
        let public = self.secret.public_key().as_affine().to_encoded_point(false);
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    fn decrypt(&self, body: &[u8]) -> Value {
        let plain = web_push_native::decrypt(
            body.to_vec(),
            &self.secret,
            web_push_native::Auth::from_slice(&self.auth),
        )
        .expect("the message decrypts with the subscription's private key");
        serde_json::from_slice(&plain).expect("a JSON payload")
    }
}

/// 09:30 on the test's first day (UTC, the organization's zone): after the default reminder time.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
}

fn loopback_allowed(s: &mut reprise::config::Settings) {
    s.egress = EgressPolicy::parse_allow("127.0.0.1", true).unwrap();
}

async fn choose(app: &TestApp, token: &str, push: bool, email: bool) {
    let res = app
        .client
        .put(app.url("/api/v1/me/notification-settings"))
        .bearer_auth(token)
        .json(&json!({"push": push, "email": email, "remind_at": "09:00"}))
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::OK).await;
}

#[actix_web::test]
async fn a_push_nudge_reaches_the_device_encrypted_and_signed_once_a_day() {
    let (service, origin) = start_push_service().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(3).await;
    choose(&app, &l.learner, true, false).await;
    let browser = Browser::new();
    let endpoint = format!("{origin}/push/sam-phone");
    let sub = browser.subscription(&endpoint);
    let res = app
        .post_json("/api/v1/me/push-subscriptions", Some(&l.learner), &sub)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again = app
        .post_json("/api/v1/me/push-subscriptions", Some(&l.learner), &sub)
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the same endpoint is kept once"
    );
    let listed = expect_json(
        app.get("/api/v1/me/push-subscriptions", Some(&l.learner))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let reach = app.reach.clone();
    let before = reach
        .pass(morning() - chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        before.sent.values().sum::<usize>(),
        0,
        "08:30 is before 09:00"
    );
    let report = reach.pass(morning()).await.unwrap();
    assert_eq!(report.sent.get("push"), Some(&1), "{report}");
    let received = service.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let push = &received[0];
    assert_eq!(push.path, "/push/sam-phone");
    assert_eq!(push.encoding, "aes128gcm");
    assert_eq!(push.topic, "reprise-nudge");
    let payload = browser.decrypt(&push.body);
    assert_eq!(payload["count"], 3);
    assert_eq!(payload["title"], "3 nuggets are waiting for you");
    assert_eq!(payload["url"], "/#/seller");
    let first_prompt = app.queue(&l.learner).await["nuggets"][0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    let opening = payload["body"]
        .as_str()
        .unwrap()
        .trim_matches(['“', '”', '…']);
    assert!(
        first_prompt.starts_with(opening),
        "{opening:?} opens {first_prompt:?}"
    );

    // VAPID: a token for the endpoint's origin, signed by the key browsers subscribed with.
    let key = expect_json(
        app.get("/api/v1/push/vapid-public-key", None).await,
        StatusCode::OK,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let (token, k) = push
        .authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .expect("vapid t=…, k=…");
    assert_eq!(k, key);
    let point = URL_SAFE_NO_PAD.decode(&key).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..65]),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[&origin]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .expect("the VAPID token verifies for the endpoint's origin")
        .claims;
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
    let mut elsewhere = validation.clone();
    elsewhere.set_audience(&["https://push.example.com"]);
    assert!(jsonwebtoken::decode::<Value>(token, &decoding, &elsewhere).is_err());

    // Later the same day: nothing more.
    let later = reach
        .pass(morning() + chrono::Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(later.sent.values().sum::<usize>(), 0);
    assert_eq!(service.received.lock().unwrap().len(), 1);
    // The learner removes the device.
    let res = app
        .delete(
            &format!(
                "/api/v1/me/push-subscriptions?endpoint={}",
                url::form_urlencoded::byte_serialize(endpoint.as_bytes()).collect::<String>()
            ),
            &l.learner,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn a_gone_device_is_dropped_and_bad_subscriptions_are_refused() {
    let (_service, origin) = start_push_service().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(3).await;
    choose(&app, &l.learner, true, false).await;
    let browser = Browser::new();
    let res = app
        .post_json(
            "/api/v1/me/push-subscriptions",
            Some(&l.learner),
            &browser.subscription(&format!("{origin}/gone/old-phone")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report = app.reach.pass(morning()).await.unwrap();
    assert_eq!(report.devices_dropped, 1, "{report}");
    let listed = expect_json(
        app.get("/api/v1/me/push-subscriptions", Some(&l.learner))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));

    let mut bad = browser.subscription(&format!("{origin}/push/x"));
    bad["keys"]["p256dh"] = json!("AAAA");
    let problem = expect_problem(
        app.post_json("/api/v1/me/push-subscriptions", Some(&l.learner), &bad)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["keys.p256dh"]);
    // A metadata address is refused unless the operator allows it.
    let meta = browser.subscription("http://169.254.169.254/push/x");
    let problem = expect_problem(
        app.post_json("/api/v1/me/push-subscriptions", Some(&l.learner), &meta)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["endpoint"]);
    let problem = expect_problem(
        app.client
            .put(app.url("/api/v1/me/notification-settings"))
            .bearer_auth(&l.learner)
            .json(&json!({"push": true, "email": true, "remind_at": "25:00"}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["remind_at"]);
}

#[actix_web::test]
async fn nothing_is_sent_on_a_quiet_day_or_when_nothing_is_due() {
    let (service, origin) = start_push_service().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(3).await;
    choose(&app, &l.learner, true, false).await;
    let browser = Browser::new();
    app.post_json(
        "/api/v1/me/push-subscriptions",
        Some(&l.learner),
        &browser.subscription(&format!("{origin}/push/p")),
    )
    .await;
    // 2026-03-02 is a Monday: make Mondays quiet.
    let res = app
        .patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"quiet_weekdays": ["mon"]}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    let report = app.reach.pass(morning()).await.unwrap();
    assert_eq!(
        report.decided.get(&("push", "quiet_day")),
        Some(&1),
        "{report}"
    );
    // Tuesday: a learner who answered everything due has nothing waiting.
    let res = app
        .patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"quiet_weekdays": []}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    app.set_daily_cap(&l, 1).await;
    let (_, other) = app
        .create_user(&l.org, "noah@acme.example", "learner")
        .await;
    choose(&app, &other, true, false).await;
    app.post_json(
        "/api/v1/me/push-subscriptions",
        Some(&other),
        &Browser::new().subscription(&format!("{origin}/push/q")),
    )
    .await;
    let tuesday = morning() + chrono::Duration::days(1);
    let report = app.reach.pass(tuesday).await.unwrap();
    assert_eq!(
        report.decided.get(&("push", "nothing_due")),
        Some(&1),
        "Noah has no assignment: {report}"
    );
    assert_eq!(
        report.sent.get("push"),
        Some(&1),
        "Sam's Tuesday nudge: {report}"
    );
    assert_eq!(service.received.lock().unwrap().len(), 1);
}

/// A real SMTP server in this process, keeping every message it accepts. With `require_tls` it
/// refuses a sender until the session said hello a second time: the hello that follows STARTTLS.
#[derive(Clone, Default)]
struct Inbox {
    current: Vec<u8>,
    messages: Arc<Mutex<Vec<Vec<u8>>>>,
    require_tls: bool,
    hellos: usize,
}

impl mailin_embedded::Handler for Inbox {
    fn helo(&mut self, _: std::net::IpAddr, _: &str) -> mailin_embedded::response::Response {
        self.hellos += 1;
        mailin_embedded::response::OK
    }
    fn mail(
        &mut self,
        _: std::net::IpAddr,
        _: &str,
        _: &str,
    ) -> mailin_embedded::response::Response {
        if self.require_tls && self.hellos < 2 {
            return mailin_embedded::response::Response::custom(
                530,
                "Must issue a STARTTLS command first".into(),
            );
        }
        mailin_embedded::response::OK
    }
    fn data_start(
        &mut self,
        _: &str,
        _: &str,
        _: bool,
        _: &[String],
    ) -> mailin_embedded::response::Response {
        self.current.clear();
        mailin_embedded::response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> mailin_embedded::response::Response {
        self.messages
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.current));
        mailin_embedded::response::OK
    }
}

fn start_smtp_server() -> (Arc<Mutex<Vec<Vec<u8>>>>, u16) {
    start_smtp_server_with(mailin_embedded::SslConfig::None)
}

/// An SMTP server on loopback; with a certificate in `ssl` it offers STARTTLS and requires it.
fn start_smtp_server_with(ssl: mailin_embedded::SslConfig) -> (Arc<Mutex<Vec<Vec<u8>>>>, u16) {
    let inbox = Inbox {
        require_tls: !matches!(ssl, mailin_embedded::SslConfig::None),
        ..Inbox::default()
    };
    let messages = inbox.messages.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = mailin_embedded::Server::new(inbox);
    server
        .with_name("mail.test")
        .with_ssl(ssl)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (messages, port)
}

#[actix_web::test]
async fn an_email_nudge_arrives_by_smtp_with_a_single_use_link_and_one_click_unsubscribe() {
    let (messages, port) = start_smtp_server();
    let app = spawn_with(|s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.public_url = "http://console.test".into();
    })
    .await;
    let l = app.setup_learning(2).await;
    let report = app.reach.pass(morning()).await.unwrap();
    assert_eq!(
        report.sent.get("email"),
        Some(&1),
        "e-mail is on by default: {report}"
    );
    let raw = messages.lock().unwrap().clone();
    assert_eq!(raw.len(), 1);
    let mail = mail_parser::MessageParser::default()
        .parse(&raw[0])
        .unwrap();
    assert_eq!(mail.subject(), Some("2 nuggets are waiting for you"));
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("sam@acme.example")
    );
    let text = mail.body_text(0).unwrap().to_string();
    let html = mail.body_html(0).unwrap().to_string();
    assert!(html.contains("Answer today"), "{html}");
    let unsubscribe = mail
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    assert_eq!(
        mail.header_raw("List-Unsubscribe-Post").unwrap().trim(),
        "List-Unsubscribe=One-Click"
    );
    let token = text
        .split("/#/link/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a sign-in link")
        .to_string();
    let pair = expect_json(
        app.post_json("/api/v1/auth/link", None, &json!({"token": token}))
            .await,
        StatusCode::OK,
    )
    .await;
    let access = pair["access_token"].as_str().unwrap();
    let me = expect_json(app.get("/api/v1/me", Some(access)).await, StatusCode::OK).await;
    assert_eq!(me["user"]["email"], "sam@acme.example");
    expect_problem(
        app.post_json("/api/v1/auth/link", None, &json!({"token": token}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // One click (RFC 8058): a POST to the header's URL, no login.
    let path = unsubscribe.strip_prefix("http://console.test").unwrap();
    let res = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let settings = expect_json(
        app.get("/api/v1/me/notification-settings", Some(&l.learner))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settings["email"], false);
    let tampered = path.replace("token=", "token=x");
    let res = app.client.post(app.url(&tampered)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let next_day = app
        .reach
        .pass(morning() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(next_day.sent.get("email"), None, "{next_day}");
}

/// Learners of one team, each with a device subscribed to `origin`.
async fn learners_with_devices(app: &TestApp, l: &Learning, origin: &str, n: usize) {
    for (i, token) in app.team_tokens(l, n - 1).await.iter().enumerate() {
        choose(app, token, true, false).await;
        let res = app
            .post_json(
                "/api/v1/me/push-subscriptions",
                Some(token),
                &Browser::new().subscription(&format!("{origin}/push/device-{i}")),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}

fn per_device(service: &PushService) -> std::collections::HashMap<String, usize> {
    let mut seen = std::collections::HashMap::new();
    for r in service.received.lock().unwrap().iter() {
        *seen.entry(r.path.clone()).or_default() += 1;
    }
    seen
}

#[actix_web::test]
async fn two_instances_passing_at_once_send_each_nudge_once() {
    let (service, origin) = start_push_service().await;
    let app = spawn_with(loopback_allowed).await;
    let other = spawn_on_with(&app.database_url, loopback_allowed).await;
    let l = app.setup_learning(2).await;
    learners_with_devices(&app, &l, &origin, 12).await;
    let (a, b) = tokio::join!(app.reach.pass(morning()), other.reach.pass(morning()));
    let (a, b) = (a.unwrap(), b.unwrap());
    let sent = a.sent.get("push").unwrap_or(&0) + b.sent.get("push").unwrap_or(&0);
    assert_eq!(sent, 12, "{a}\n{b}");
    let seen = per_device(&service);
    assert_eq!(seen.len(), 12);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}

#[actix_web::test]
async fn a_pass_killed_mid_run_resumes_without_doubles() {
    let (service, origin) = start_push_service().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(2).await;
    learners_with_devices(&app, &l, &origin, 10).await;
    // The push service stops answering at the 4th message; the pass is killed while waiting.
    service.hold_after.store(4, Ordering::SeqCst);
    let at = morning().to_rfc3339();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(["remind", "--at", &at])
        .envs(remind_env(&app))
        .env("REPRISE_NUDGE_CONCURRENCY", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if service.arrived.load(Ordering::SeqCst) >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        service.arrived.load(Ordering::SeqCst) >= 4,
        "the pass reached the held message"
    );
    // The kill comes once the three accepted messages are recorded as sent: the window between
    // a push service's acceptance and its record is the one no outbox closes (ADR 0015).
    for _ in 0..600 {
        if sent_nudges(&app) >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sent_nudges(&app), 3);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(service.received.lock().unwrap().len(), 3);
    service.hold_after.store(0, Ordering::SeqCst);
    // The restarted pass finds the held nudge's lease expired a few minutes later.
    let later = (morning() + chrono::Duration::minutes(5)).to_rfc3339();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(["remind", "--at", &later])
        .envs(remind_env(&app))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("sent push: 7"), "{printed}");
    let seen = per_device(&service);
    assert_eq!(seen.len(), 10);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}

/// Nudges recorded as sent in the test server's database.
fn sent_nudges(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use reprise::store::schema::nudges;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    nudges::table
        .filter(nudges::status.eq("sent"))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

/// What `reprise remind` needs to act for the test server's database.
fn remind_env(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("REPRISE_DATABASE_URL", app.database_url.clone()),
        (
            "REPRISE_JWT_SECRET",
            "remind-test-secret-remind-test-secret-01".into(),
        ),
        (
            "REPRISE_SECRET_KEY",
            "0505050505050505050505050505050505050505050505050505050505050505".into(),
        ),
        (
            "REPRISE_VAPID_PRIVATE_KEY",
            reprise::reach::push::Vapid::generate_private_key(),
        ),
        ("REPRISE_EGRESS_ALLOW", "127.0.0.1".into()),
        ("REPRISE_EGRESS_ALLOW_HTTP", "true".into()),
        ("REPRISE_LOG", "warn".into()),
    ]
}

/// The engagement view counts the week's sent reminders per channel, and of the learners
/// reminded, the share who answered within two hours of a reminder.
#[actix_web::test]
async fn engagement_counts_reminders_and_the_answers_that_followed_them() {
    let (service, origin) = start_push_service().await;
    let app = spawn_with(loopback_allowed).await;
    let l = app.setup_learning(3).await;
    app.team_tokens(&l, 1).await;
    app.create_user(&l.org, "ana@acme.example", "analyst").await;
    // Sam takes reminders on both channels, the other seller by e-mail (the default).
    choose(&app, &l.learner, true, true).await;
    let res = app
        .post_json(
            "/api/v1/me/push-subscriptions",
            Some(&l.learner),
            &Browser::new().subscription(&format!("{origin}/push/sam")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.clock.set(morning());
    let report = app.reach.pass(morning()).await.unwrap();
    assert_eq!(
        (report.sent.get("push"), report.sent.get("email")),
        (Some(&1), Some(&2)),
        "{report}"
    );
    assert_eq!(service.received.lock().unwrap().len(), 1);

    // Sam answers an hour after the reminders, the other seller three hours after.
    for (email, after) in [("sam@acme.example", 1), ("seller0@acme.example", 3)] {
        app.clock.set(morning() + chrono::Duration::hours(after));
        let token = app.token(email).await;
        let q = app.queue(&token).await;
        let nugget = q["nuggets"][0]["nugget_id"].as_str().unwrap().to_string();
        expect_json(
            app.answer(&token, &nugget, &["a"]).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let analyst = app.token("ana@acme.example").await;
    let e = expect_json(
        app.get("/api/v1/analytics/engagement?weeks=2", Some(&analyst))
            .await,
        StatusCode::OK,
    )
    .await;
    let row = |team: &str, week: &str| {
        e["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["team"] == team && r["week"] == week)
            .unwrap_or_else(|| panic!("no row {team} {week}"))
            .clone()
    };
    for team in ["North", "All in scope"] {
        let w10 = row(team, "2026-W10");
        assert_eq!(w10["nudges_sent"], json!({"push": 1, "email": 2}), "{team}");
        assert_eq!(w10["answered_within_2h"], json!(0.5), "{team}");
        assert_eq!(w10["answers"], 2, "{team}");
    }
    let w09 = row("All in scope", "2026-W09");
    assert_eq!(w09["nudges_sent"], json!({"push": 0, "email": 0}));
    assert_eq!(
        w09["answered_within_2h"],
        Value::Null,
        "nobody was reminded"
    );

    let res = app
        .get(
            "/api/v1/analytics/engagement?weeks=1&format=csv",
            Some(&analyst),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let all = lines
        .find(|l| l.contains("All in scope"))
        .expect("a row for everyone");
    let cells: Vec<&str> = all.split(',').collect();
    let cell = |name: &str| cells[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!((cell("nudges_push"), cell("nudges_email")), ("1", "2"));
    assert_eq!(cell("answered_within_2h").parse::<f64>().unwrap(), 0.5);
}

/// A self-signed certificate for 127.0.0.1, as a private authority's server would present, in
/// `dir`: (certificate, key) paths.
fn loopback_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.join("smtp-cert.pem"), dir.join("smtp-key.pem"));
    std::fs::write(&cert, issued.cert.pem()).unwrap();
    std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[actix_web::test]
async fn email_goes_over_starttls_to_a_server_signed_by_a_private_authority() {
    // The test SMTP server's TLS runs on rustls' process-wide default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = loopback_certificate(dir.path());
    let (messages, port) = start_smtp_server_with(mailin_embedded::SslConfig::SelfSigned {
        cert_path: cert.display().to_string(),
        key_path: key.display().to_string(),
    });
    let url = format!("smtp://127.0.0.1:{port}?tls=required");

    // Without the authority's certificate the server is not trusted: nothing is sent in clear.
    let untrusting = spawn_with(|s| s.smtp_url = Some(url.clone())).await;
    untrusting.setup_learning(2).await;
    let report = untrusting.reach.pass(morning()).await.unwrap();
    assert_eq!(report.sent.get("email"), None, "{report}");
    assert_eq!(report.retried + report.failed, 1, "{report}");
    assert!(messages.lock().unwrap().is_empty());

    let app = spawn_with(|s| {
        s.smtp_url = Some(url.clone());
        s.smtp_ca_file = Some(cert.clone());
    })
    .await;
    app.setup_learning(2).await;
    let report = app.reach.pass(morning()).await.unwrap();
    assert_eq!(report.sent.get("email"), Some(&1), "{report}");
    let raw = messages.lock().unwrap().clone();
    assert_eq!(raw.len(), 1);
    let mail = mail_parser::MessageParser::default()
        .parse(&raw[0])
        .unwrap();
    assert_eq!(mail.subject(), Some("2 nuggets are waiting for you"));
}
