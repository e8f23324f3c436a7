//! `spawn_app`: a real server on a free loopback port with a fresh database and a manual clock.

use chrono::{DateTime, TimeZone, Utc};
use diesel::{Connection, RunQueryDsl};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use reprise::clock::Clock;
use reprise::config::Settings;
use reprise::startup::Application;

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub clock: Clock,
}

/// A fresh database URL: a new PostgreSQL database on the server named by
/// `REPRISE_TEST_DATABASE_URL`, or a new SQLite file in the temp directory.
pub fn fresh_database_url() -> String {
    let name = format!("reprise_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("REPRISE_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let mut conn = diesel::pg::PgConnection::establish(&admin_url)
                .expect("connect to REPRISE_TEST_DATABASE_URL");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create test database");
            let (main, query) = match admin_url.split_once('?') {
                Some((main, query)) => (main, format!("?{query}")),
                None => (admin_url.as_str(), String::new()),
            };
            let (base, _) = main.rsplit_once('/').expect("URL has a database name");
            format!("{base}/{name}{query}")
        }
        _ => {
            let dir = std::env::temp_dir().join("reprise-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            dir.join(format!("{name}.db")).display().to_string()
        }
    }
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::for_tests(fresh_database_url());
    adjust(&mut settings);
    let clock = Clock::manual(start_time());
    let app = Application::build(settings, clock.clone())
        .await
        .expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
    }
}

/// An organization with its admin, as created through the API.
pub struct Org {
    pub admin_token: String,
    pub admin_id: String,
    pub refresh_token: String,
}

pub const PASSWORD: &str = "a-long-enough-password";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn create_org(&self, name: &str, admin_email: &str) -> Org {
        let res = self
            .post_json(
                "/api/v1/orgs",
                None,
                &json!({"org_name": name, "admin_email": admin_email, "admin_password": PASSWORD, "admin_name": "Ada Admin"}),
            )
            .await;
        let body = expect_json(res, StatusCode::CREATED).await;
        Org {
            admin_id: body["user"]["id"].as_str().unwrap().into(),
            admin_token: body["tokens"]["access_token"].as_str().unwrap().into(),
            refresh_token: body["tokens"]["refresh_token"].as_str().unwrap().into(),
        }
    }

    /// Creates a user with `role` in `org` and returns (id, access token).
    pub async fn create_user(&self, org: &Org, email: &str, role: &str) -> (String, String) {
        let res = self
            .post_json(
                "/api/v1/users",
                Some(&org.admin_token),
                &json!({"email": email, "name": "Test User", "password": PASSWORD, "role": role}),
            )
            .await;
        let user = expect_json(res, StatusCode::CREATED).await;
        let tokens = self.login(email, PASSWORD).await;
        (
            user["id"].as_str().unwrap().into(),
            tokens["access_token"].as_str().unwrap().into(),
        )
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        expect_json(res, StatusCode::OK).await
    }
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts a problem document with `status`, returning it.
pub async fn expect_problem(res: Response, status: StatusCode) -> Value {
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = expect_json(res, status).await;
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], status.as_u16(), "body: {body}");
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "problem without {key}: {body}");
    }
    body
}

/// The `field` values named by a validation problem.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}
