//! Attacks on accounts, tenants and input: throttled guessing, secrets never logged, hostile
//! bodies refused without side effects, and no route leaking another organization's data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn password_guessing_is_throttled_per_account() {
    let app = spawn_app().await;
    app.create_org("Acme", "ada@acme.example").await;
    let guess = json!({"email": "ada@acme.example", "password": "wrong-password-1"});
    for _ in 0..10 {
        let res = app.post_json("/api/v1/auth/login", None, &guess).await;
        expect_problem(res, StatusCode::UNAUTHORIZED).await;
    }
    let res = app.post_json("/api/v1/auth/login", None, &guess).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry));
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // Even the right password waits; other accounts do not.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ada@acme.example", "password": PASSWORD}),
        )
        .await;
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    app.create_org("Globex", "gus@globex.example").await;
    app.login("gus@globex.example", PASSWORD).await;
}

#[actix_web::test]
async fn passwords_hashes_and_tokens_never_reach_the_logs() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let secret = "a-very-secret-passphrase-42";
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&org.admin_token),
            &json!({"email": "sam@acme.example", "name": "Sam", "password": secret, "role": "learner"}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let tokens = app.login("sam@acme.example", secret).await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "sam@acme.example", "password": "wrong-secret-99"}),
        )
        .await;
    expect_problem(wrong, StatusCode::UNAUTHORIZED).await;
    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    expect_json(refreshed, StatusCode::OK).await;
    let short = app.post_json("/api/v1/orgs", None, &json!({"org_name": "X Co", "admin_email": "x@x.example", "admin_password": "short-pw", "admin_name": "X"})).await;
    expect_problem(short, StatusCode::UNPROCESSABLE_ENTITY).await;
    let logs = captured_logs();
    assert!(
        logs.contains("/api/v1/auth/login"),
        "logging is not captured"
    );
    for needle in [
        secret,
        PASSWORD,
        "wrong-secret-99",
        "short-pw",
        "$argon2",
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        org.admin_token.as_str(),
    ] {
        assert!(!logs.contains(needle), "{needle} appears in the logs");
    }
}

/// Bodies no client should send, each paired with a description.
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        ("malformed", b"{\"a\": ".to_vec()),
        ("truncated", b"{\"email\": \"a@b.c\", \"passw".to_vec()),
        ("not an object", b"[1, 2, 3]".to_vec()),
        ("wrong types", br#"{"email": 1, "password": [], "name": {}, "pack": 7, "starts_on": true, "attempt_id": 5, "answers": "x"}"#.to_vec()),
        ("huge string", format!("{{\"name\": \"{}\"}}", "x".repeat(1_500_000)).into_bytes()),
        ("10 MB", vec![b' '; 10 * 1024 * 1024]),
        ("deep nesting", deep.into_bytes()),
        ("invalid UTF-8", b"{\"name\": \"\xff\xfe\"}".to_vec()),
        ("NUL bytes", b"{\"name\": \"a\0b\", \"email\": \"\0\"}".to_vec()),
        ("injection text", br#"{"email": "x' OR '1'='1@x.example", "name": "<script>alert(1)</script>", "pack": "'; DROP TABLE reviews; --", "org_name": "Robert'); DROP TABLE users;--"}"#.to_vec()),
        ("huge numbers", br#"{"daily_cap": 99999999999999999999, "response_ms": -5, "desired_retention": 1e308, "limit": -1}"#.to_vec()),
        ("bad dates and zones", br#"{"starts_on": "2026-02-30", "ends_on": "yesterday", "answered_at": "not a time", "timezone": "Mars/Olympus"}"#.to_vec()),
        ("unknown enums", br#"{"role": "root", "policy": "random", "confidence": "maybe", "format": "docx"}"#.to_vec()),
    ]
}

#[actix_web::test]
async fn hostile_bodies_get_problems_and_change_nothing() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let targets: Vec<(Method, String, &str)> = vec![
        (Method::POST, "/api/v1/orgs".into(), ""),
        (Method::POST, "/api/v1/auth/login".into(), ""),
        (Method::POST, "/api/v1/auth/refresh".into(), ""),
        (Method::POST, "/api/v1/users".into(), &l.org.admin_token),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", l.learner_id),
            &l.org.admin_token,
        ),
        (Method::POST, "/api/v1/teams".into(), &l.org.admin_token),
        (
            Method::POST,
            format!("/api/v1/teams/{}/members", l.team_id),
            &l.org.admin_token,
        ),
        (Method::POST, "/api/v1/assignments".into(), &l.author),
        (
            Method::PATCH,
            format!("/api/v1/assignments/{}", l.assignment_id),
            &l.author,
        ),
        (Method::POST, "/api/v1/me/answers".into(), &l.learner),
        (Method::POST, "/api/v1/me/answers/batch".into(), &l.learner),
        (Method::POST, "/api/v1/me/pause".into(), &l.learner),
        (Method::PATCH, "/api/v1/org".into(), &l.org.admin_token),
        (Method::POST, "/api/v1/packs".into(), &l.author),
    ];
    let before = table_counts(&app.database_url);
    for (method, path, token) in &targets {
        for (what, body) in hostile_bodies() {
            for content_type in ["application/json", "application/yaml"] {
                if content_type == "application/yaml" && path != "/api/v1/packs" {
                    continue;
                }
                let mut req = app
                    .client
                    .request(method.clone(), app.url(path))
                    .header("content-type", content_type)
                    .body(body.clone());
                if !token.is_empty() {
                    req = req.bearer_auth(token);
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let ctype = res
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let text = res.text().await.unwrap();
                assert!(
                    status.is_client_error(),
                    "{method} {path} with {what}: {status} {text}"
                );
                assert_eq!(
                    ctype, "application/problem+json",
                    "{method} {path} with {what}: {text}"
                );
                let problem: Value = serde_json::from_str(&text).unwrap();
                if status == StatusCode::UNPROCESSABLE_ENTITY {
                    assert!(
                        !problem["errors"].as_array().unwrap().is_empty(),
                        "{method} {path} with {what}: no field named: {text}"
                    );
                }
            }
        }
    }
    let hostile_query = [
        "/api/v1/users?limit=-1",
        "/api/v1/users?limit=99999999999999999999",
        "/api/v1/users?role=root",
        "/api/v1/packs/sample/export?format=docx",
        "/api/v1/packs/sample/export?version=abc",
        "/api/v1/reviews/export?since=yesterday",
        "/api/v1/packs?include_archived=maybe",
    ];
    for path in hostile_query {
        let res = app.get(path, Some(&l.org.admin_token)).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    assert_eq!(
        table_counts(&app.database_url),
        before,
        "a refused request changed the database"
    );
}

/// Offline batches built to hurt: each is refused whole with a small problem naming the field,
/// promptly, and nothing of it is recorded.
#[actix_web::test]
async fn hostile_batches_are_refused_whole_naming_the_field() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = app.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = |selected: Value| {
        json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": selected,
            "answered_at": app.clock.now(), "response_ms": 4000})
    };
    let batch = |n: usize| {
        let answers: Vec<Value> = (0..n).map(|_| answer(json!(["b"]))).collect();
        json!({ "answers": answers }).to_string()
    };
    let huge = "x".repeat(100_000);
    let many: Vec<String> = (0..180_000).map(|i| format!("o{i}")).collect();
    let mut wrong_confidence = answer(json!(["b"]));
    wrong_confidence["confidence"] = json!(true);
    let mut huge_key = answer(json!(["b"]));
    huge_key[huge.as_str()] = json!(1);
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "no answers",
            batch(0),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers",
        ),
        (
            "one too many",
            batch(101),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers",
        ),
        (
            "a thousand",
            batch(1000),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers",
        ),
        (
            "text after the batch",
            format!("{} trailing", batch(1)),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "a confidence of the wrong type",
            json!({ "answers": [wrong_confidence] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[0].confidence",
        ),
        (
            "a long option id chosen twice",
            json!({ "answers": [answer(json!([huge, huge]))] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[0].selected",
        ),
        (
            "an unknown field with a long name",
            json!({ "answers": [huge_key] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            "many distinct option ids, the last chosen twice",
            json!({ "answers": [answer(json!([many.clone(), vec!["o0".to_string()]].concat()))] })
                .to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[0].selected",
        ),
    ];
    let before = table_counts(&app.database_url);
    for (what, body, status, field) in cases {
        let started = std::time::Instant::now();
        let res = app
            .client
            .post(app.url("/api/v1/me/answers/batch"))
            .bearer_auth(&l.learner)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let len = res.content_length();
        let problem = expect_problem(res, status).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}: took {:?}",
            started.elapsed()
        );
        assert!(len.is_some_and(|n| n < 2048), "{what}: {len:?} bytes");
        let fields = problem_fields(&problem);
        match field {
            "" if status == StatusCode::BAD_REQUEST => assert!(fields.is_empty(), "{what}"),
            "" => assert_eq!(fields.len(), 1, "{what}: {problem}"),
            field => assert_eq!(fields, vec![field], "{what}: {problem}"),
        }
    }
    assert_eq!(
        table_counts(&app.database_url),
        before,
        "a refused batch changed the database"
    );
}

/// Fills `{…}` path parameters with the ids of `l`'s organization.
fn fill(path: &str, l: &Learning) -> String {
    let mut out = path
        .replace("{slug}", "sample")
        .replace("{user_id}", &l.learner_id);
    let id = if path.starts_with("/api/v1/teams/") {
        &l.team_id
    } else if path.starts_with("/api/v1/assignments/") {
        &l.assignment_id
    } else {
        &l.learner_id
    };
    out = out.replace("{id}", id);
    assert!(!out.contains('{'), "unknown path parameter in {path}");
    out
}

/// Every route of the OpenAPI document, as (method, path template).
fn spec_routes() -> Vec<(Method, String)> {
    let spec: Value = serde_json::from_str(&reprise::http::openapi().to_json().unwrap()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase().parse().unwrap(), path.clone()));
        }
    }
    routes
}

fn leaks(body: &str, l: &Learning, secrets: &[&str]) -> Option<String> {
    [
        l.learner_id.as_str(),
        l.team_id.as_str(),
        l.assignment_id.as_str(),
        "sam@acme.example",
        "Question 1?",
        "Because 1.",
    ]
    .iter()
    .chain(secrets)
    .find(|s| body.contains(*s))
    .map(|s| s.to_string())
}

#[actix_web::test]
async fn no_route_shows_one_organization_to_another() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    let nugget = q["nuggets"][0]["nugget_id"].as_str().unwrap().to_string();
    expect_json(
        app.answer(&l.learner, &nugget, &["b"]).await,
        StatusCode::CREATED,
    )
    .await;
    let acme_org_id = app.org_id(&l.org.admin_token).await;

    let globex = app.create_org("Globex", "gus@globex.example").await;
    let (_, globex_analyst) = app
        .create_user(&globex, "hr@globex.example", "analyst")
        .await;
    let (_, globex_learner) = app
        .create_user(&globex, "lee@globex.example", "learner")
        .await;
    let public = [
        "/healthz",
        "/readyz",
        "/api/v1/orgs",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/sso/start",
        "/api/v1/auth/sso/callback",
        "/api/v1/auth/sso/exchange",
        "/api/v1/auth/saml/metadata",
        "/api/v1/auth/saml/acs",
        "/media/{org_id}/{file}",
    ];
    for (method, template) in spec_routes() {
        if public.contains(&template.as_str()) {
            continue;
        }
        let path = fill(&template, &l);
        for token in [&globex.admin_token, &globex_analyst, &globex_learner] {
            let mut req = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(token);
            if method == Method::POST || method == Method::PATCH {
                req = req.json(&json!({"user_ids": [l.learner_id], "nugget_id": nugget, "pack": "sample", "team_id": l.team_id}));
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            assert!(
                !status.is_server_error(),
                "{method} {path}: {status} {body}"
            );
            if let Some(leak) = leaks(&body, &l, &[acme_org_id.as_str()]) {
                panic!("{method} {path} showed Acme's {leak} to Globex: {body}");
            }
            if template.contains('{') {
                assert!(
                    matches!(status.as_u16(), 403 | 404 | 415 | 422),
                    "{method} {path} with another organization's id: {status} {body}"
                );
            }
        }
    }
}

#[actix_web::test]
async fn learners_and_outside_managers_stay_in_their_lane() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, manager) = app.create_user(&l.org, "mia@acme.example", "manager").await;
    let (_, other_learner) = app.create_user(&l.org, "lee@acme.example", "learner").await;
    let learner_routes = [
        "/api/v1/me",
        "/api/v1/org",
        "/api/v1/users/{id}",
        "/api/v1/leaderboards",
        // Pitches: a learner watches their own and their teammates' shared ones, and reviews
        // with peer review on; any other pitch is a 404 (tests/api/pitches.rs).
        "/api/v1/pitches",
        "/api/v1/pitches/{id}",
        "/api/v1/pitches/{id}/recording",
        "/api/v1/pitches/{id}/reviews",
        "/api/v1/pitches/{id}/share",
    ];
    let public = [
        "/healthz",
        "/readyz",
        "/api/v1/orgs",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/link",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/unsubscribe",
        "/api/v1/push/vapid-public-key",
        "/api/v1/auth/sso/start",
        "/api/v1/auth/sso/callback",
        "/api/v1/auth/sso/exchange",
        "/api/v1/auth/saml/metadata",
        "/api/v1/auth/saml/acs",
        "/media/{org_id}/{file}",
    ];
    for (method, template) in spec_routes() {
        if public.contains(&template.as_str())
            || template.starts_with("/api/v1/me/")
            || learner_routes.contains(&template.as_str())
        {
            continue;
        }
        let path = fill(&template, &l);
        let res = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&other_learner)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a learner called {method} {path}: {body}"
        );
    }
    // Another learner's record is not the caller's to read.
    let res = app
        .get(
            &format!("/api/v1/users/{}", l.learner_id),
            Some(&other_learner),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    // A manager outside the team sees none of its learners' answers in analytics-style reads.
    let assignments = expect_json(
        app.get("/api/v1/assignments", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(assignments, json!([]));
}

/// Text authors type reaches analysts' CSV downloads; no cell of it runs as a formula there.
#[actix_web::test]
async fn csv_exports_carry_no_formulas() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let evil = r#"=HYPERLINK("http://evil.example","x")"#;
    let yaml = sample_pack_yaml("sample").replace("topic: Discovery", &format!("topic: '{evil}'"));
    let yaml = yaml
        .replace("slug: sample", "slug: evil")
        .replace("Sample pack sample", "Evil");
    expect_json(app.upload_yaml(&l.author, &yaml).await, StatusCode::CREATED).await;
    app.publish(&l.author, "evil").await;
    expect_json(
        app.post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &serde_json::json!({"pack": "evil", "team_id": l.team_id, "starts_on": "2026-03-02", "daily_cap": 6}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let q = app.queue(&l.learner).await;
    for n in q["nuggets"].as_array().unwrap() {
        app.answer(&l.learner, n["nugget_id"].as_str().unwrap(), &["b"])
            .await;
    }
    let (_, analyst) = app.create_user(&l.org, "hr@acme.example", "analyst").await;
    for (path, reader) in [
        (
            "/api/v1/analytics/proficiency?group_by=topic&format=csv",
            &analyst,
        ),
        ("/api/v1/analytics/heatmap?format=csv", &analyst),
        (
            "/api/v1/analytics/knowledge-gain?group_by=topic&format=csv",
            &analyst,
        ),
        // The pack as CSV for editing: neutralised too, and read back as written (unit tests).
        ("/api/v1/packs/evil/export?format=csv", &l.author),
    ] {
        let res = app.get(path, Some(reader)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let text = res.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let cells: Vec<String> = reader
            .records()
            .flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
            .collect();
        assert!(
            cells.iter().any(|c| c == &format!("'{evil}")),
            "{path}: the topic is there, neutralised: {text}"
        );
        assert!(
            cells.iter().all(|c| !c.starts_with(['=', '+', '@'])
                && (!c.starts_with('-') || c.parse::<f64>().is_ok())),
            "{path}: a cell would run: {text}"
        );
    }
}

#[actix_web::test]
async fn sign_up_is_throttled_per_client_address() {
    let app = spawn_with(|s| s.signup_burst_per_address = 2).await;
    app.create_org("First Co", "a@first.example").await;
    app.create_org("Second Co", "a@second.example").await;
    let third = json!({"org_name": "Third Co", "admin_email": "a@third.example", "admin_password": PASSWORD, "admin_name": "A"});
    let res = app.post_json("/api/v1/orgs", None, &third).await;
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&wait), "Retry-After {wait}");
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // Nothing was created: the organization's admin cannot log in.
    let login = json!({"email": "a@third.example", "password": PASSWORD});
    let res = app.post_json("/api/v1/auth/login", None, &login).await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    // Login from the same address is limited separately and still works.
    app.login("a@first.example", PASSWORD).await;
}

#[actix_web::test]
async fn password_work_beyond_the_bound_is_refused_not_queued() {
    // One hash at a time, four waiting: a burst of logins gets 401s and 503s, nothing else.
    let app = spawn_with(|s| s.password_concurrency = 1).await;
    app.create_org("Acme", "ada@acme.example").await;
    let attempts = (0..24).map(|i| {
        let body =
            json!({"email": format!("guess{i}@acme.example"), "password": "not-the-password"});
        let app = &app;
        async move { app.post_json("/api/v1/auth/login", None, &body).await }
    });
    let responses = futures_util::future::join_all(attempts).await;
    let mut busy = 0;
    for res in responses {
        match res.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(res.headers().contains_key("retry-after"));
                expect_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy > 0, "no login was refused for load");
    // Once the burst is over, logins work again.
    app.login("ada@acme.example", PASSWORD).await;
}
