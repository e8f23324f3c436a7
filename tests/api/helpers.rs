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
    /// The server's database, for tests that arrange data through the store layer.
    pub database_url: String,
    /// The server's reminder service, for tests that run a pass at a chosen time.
    pub reach: std::sync::Arc<reprise::reach::Reach>,
    /// The server's webhook service, for tests that run a round at a chosen time.
    pub webhooks: std::sync::Arc<reprise::webhooks::Webhooks>,
    /// The server's media storage (a directory, or the bucket `REPRISE_TEST_MEDIA_URL` names).
    pub blobs: reprise::blobs::Blobs,
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

/// Everything the servers of this test process log, so tests can check what never appears.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    static BUFFER: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,h2=info,hyper=info,reqwest=info",
            ))
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buffer
    })
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rows in every table: a fingerprint of the database to show a request changed nothing.
pub fn table_counts(database_url: &str) -> Vec<(&'static str, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    const TABLES: [&str; 28] = [
        "organizations",
        "logins",
        "users",
        "teams",
        "team_members",
        "refresh_tokens",
        "packs",
        "pack_versions",
        "nuggets",
        "nugget_versions",
        "assignments",
        "assignment_learners",
        "memory_states",
        "reviews",
        "idempotency_keys",
        "deliveries",
        "pauses",
        "kpis",
        "xapi_outbox",
        "refreshers",
        "refresher_items",
        "coaching_notes",
        "planner_estimates",
        "media",
        "pitches",
        "pitch_reviews",
        "media_bodies_to_move",
        "observations",
    ];
    let pool =
        reprise::store::connect(database_url, 1, reprise::store::SqliteSync::Normal).unwrap();
    let mut conn = pool.get().unwrap();
    TABLES
        .iter()
        .map(|t| {
            let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}"))
                .get_result(&mut *conn)
                .unwrap();
            (*t, c.n)
        })
        .collect()
}

/// A second server on an existing database (another instance behind the same load balancer).
pub async fn spawn_on(database_url: &str) -> TestApp {
    spawn_configured(Settings::for_tests(database_url.to_string()), |_| {}).await
}

/// [`spawn_on`] with settings adjusted.
pub async fn spawn_on_with(database_url: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_configured(Settings::for_tests(database_url.to_string()), adjust).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_configured(Settings::for_tests(fresh_database_url()), adjust).await
}

async fn spawn_configured(mut settings: Settings, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    log_buffer();
    adjust(&mut settings);
    let database_url = settings.database_url.clone();
    let clock = Clock::manual(start_time());
    let app = Application::build(settings, clock.clone())
        .await
        .expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let reach = app.reach();
    let webhooks = app.webhooks();
    let blobs = app.state().blobs.clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        database_url,
        reach,
        webhooks,
        blobs,
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
    /// A small pool on the server's database.
    pub fn pool(&self) -> reprise::store::DbPool {
        reprise::store::connect(&self.database_url, 2, reprise::store::SqliteSync::Normal)
            .expect("connect to the test database")
    }

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

/// The nugget ids of a queue, in its order.
pub fn ids(queue: &Value) -> Vec<String> {
    queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nugget_id"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts the status and the content type, and returns the JSON body.
pub async fn expect_typed(res: Response, status: StatusCode, content_type: &str) -> Value {
    let got = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = expect_json(res, status).await;
    assert_eq!(got, content_type, "body: {body}");
    body
}

/// Asserts a problem document with `status`, returning it.
pub async fn expect_problem(res: Response, status: StatusCode) -> Value {
    let body = expect_typed(res, status, "application/problem+json").await;
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

/// A small pack: five single-answer nuggets (option `b` correct) and one multi-select.
pub fn sample_pack_yaml(slug: &str) -> String {
    let mut yaml = format!("slug: {slug}\ntitle: Sample pack {slug}\ndescription: For tests.\nlanguage: en\nnuggets:\n");
    for i in 1..=5 {
        yaml.push_str(&format!(
            "  - key: q{i}\n    topic: {topic}\n    prompt: Question {i}?\n    options:\n      - text: Wrong {i}\n        feedback: Not this one.\n      - text: Right {i}\n        correct: true\n      - text: Also wrong {i}\n    explanation: Because {i}.\n",
            topic = if i <= 3 { "Discovery" } else { "Closing" }
        ));
    }
    yaml.push_str(
        "  - key: multi\n    topic: Closing\n    prompt: Select all that apply.\n    options:\n      - text: One\n        correct: true\n      - text: Two\n      - text: Three\n        correct: true\n    explanation: One and three.\n",
    );
    yaml
}

/// An org with an author, a team with one learner, and `slug` published and assigned to the team
/// from the test start date with `daily_cap`.
pub struct Learning {
    pub org: Org,
    pub author: String,
    pub learner: String,
    pub learner_id: String,
    pub team_id: String,
    pub assignment_id: String,
}

impl TestApp {
    pub async fn upload_yaml(&self, token: &str, yaml: &str) -> Response {
        self.client
            .post(self.url("/api/v1/packs"))
            .bearer_auth(token)
            .header("content-type", "application/yaml")
            .body(yaml.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn publish(&self, token: &str, slug: &str) -> Value {
        let res = self
            .post_json(
                &format!("/api/v1/packs/{slug}/publish"),
                Some(token),
                &json!({}),
            )
            .await;
        expect_json(res, StatusCode::CREATED).await
    }

    pub async fn setup_learning(&self, daily_cap: i32) -> Learning {
        self.setup_learning_in("Acme", "acme.example", daily_cap)
            .await
    }

    /// [`TestApp::setup_learning`] for an organization of another name and e-mail domain, so
    /// one server can hold several: its admin is `ada@DOMAIN`, its learner `sam@DOMAIN`.
    pub async fn setup_learning_in(&self, name: &str, domain: &str, daily_cap: i32) -> Learning {
        let org = self.create_org(name, &format!("ada@{domain}")).await;
        let (_, author) = self
            .create_user(&org, &format!("lena@{domain}"), "author")
            .await;
        let team = expect_json(
            self.post_json(
                "/api/v1/teams",
                Some(&org.admin_token),
                &json!({"name": "North"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let team_id = team["id"].as_str().unwrap().to_string();
        let res = self
            .post_json(
                "/api/v1/users",
                Some(&org.admin_token),
                &json!({"email": format!("sam@{domain}"), "name": "Sam", "password": PASSWORD, "role": "learner", "team_ids": [team_id]}),
            )
            .await;
        let learner_id = expect_json(res, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let learner = self.login(&format!("sam@{domain}"), PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let res = self.upload_yaml(&author, &sample_pack_yaml("sample")).await;
        expect_json(res, StatusCode::CREATED).await;
        self.publish(&author, "sample").await;
        let res = self
            .post_json(
                "/api/v1/assignments",
                Some(&author),
                &json!({"pack": "sample", "team_id": team_id, "starts_on": "2026-03-02", "daily_cap": daily_cap}),
            )
            .await;
        let assignment_id = expect_json(res, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        Learning {
            org,
            author,
            learner,
            learner_id,
            team_id,
            assignment_id,
        }
    }

    /// The id of the organization a token's user belongs to.
    pub async fn org_id(&self, token: &str) -> reprise::domain::ids::OrgId {
        expect_json(self.get("/api/v1/org", Some(token)).await, StatusCode::OK).await["id"]
            .as_str()
            .unwrap()
            .into()
    }

    /// A fresh access token (tests that move the clock by days outlive the old one).
    pub async fn token(&self, email: &str) -> String {
        self.login(email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn queue(&self, token: &str) -> Value {
        expect_json(
            self.get("/api/v1/me/queue", Some(token)).await,
            StatusCode::OK,
        )
        .await
    }

    /// Answers `nugget_id` with `selected` at the current test time.
    pub async fn answer(&self, token: &str, nugget_id: &str, selected: &[&str]) -> Response {
        self.answer_in(token, nugget_id, selected, 12000).await
    }

    /// Answers `nugget_id` with `selected` at the current test time, taking `response_ms`.
    pub async fn answer_in(
        &self,
        token: &str,
        nugget_id: &str,
        selected: &[&str],
        response_ms: u32,
    ) -> Response {
        let body = json!({
            "attempt_id": uuid::Uuid::new_v4(),
            "nugget_id": nugget_id,
            "selected": selected,
            "answered_at": self.clock.now(),
            "response_ms": response_ms,
        });
        self.post_json("/api/v1/me/answers", Some(token), &body)
            .await
    }

    /// Adds a learner with `email` to the team of `l`; returns their access token.
    pub async fn add_team_learner(&self, l: &Learning, email: &str) -> String {
        let res = self
            .post_json(
                "/api/v1/users",
                Some(&l.org.admin_token),
                &json!({"email": email, "name": "Seller", "password": PASSWORD, "role": "learner", "team_ids": [l.team_id]}),
            )
            .await;
        expect_json(res, StatusCode::CREATED).await;
        self.token(email).await
    }

    /// Adds a manager named Mia with `email` to the team of `l`; returns (id, access token).
    pub async fn add_team_manager(&self, l: &Learning, email: &str) -> (String, String) {
        let res = self
            .post_json(
                "/api/v1/users",
                Some(&l.org.admin_token),
                &json!({"email": email, "name": "Mia", "password": PASSWORD, "role": "manager", "team_ids": [l.team_id]}),
            )
            .await;
        let id = expect_json(res, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        (id, self.token(email).await)
    }

    /// Tokens of the learner of `l` and of `more` learners added to the same team.
    pub async fn team_tokens(&self, l: &Learning, more: usize) -> Vec<String> {
        let mut tokens = vec![l.learner.clone()];
        for i in 0..more {
            tokens.push(
                self.add_team_learner(l, &format!("seller{i}@acme.example"))
                    .await,
            );
        }
        tokens
    }

    /// Takes the learner of `l` out of its team (`false`) or puts them back (`true`).
    pub async fn set_membership(&self, l: &Learning, member: bool) {
        let members = format!("/api/v1/teams/{}/members", l.team_id);
        let res = if member {
            self.post_json(
                &members,
                Some(&l.org.admin_token),
                &json!({"user_ids": [l.learner_id]}),
            )
            .await
        } else {
            self.delete(&format!("{members}/{}", l.learner_id), &l.org.admin_token)
                .await
        };
        assert!(res.status().is_success(), "{}", res.status());
    }

    /// Sets the daily cap of the assignment of `l`.
    pub async fn set_daily_cap(&self, l: &Learning, daily_cap: i32) {
        let res = self
            .patch_json(
                &format!("/api/v1/assignments/{}", l.assignment_id),
                &l.author,
                &json!({ "daily_cap": daily_cap }),
            )
            .await;
        expect_json(res, StatusCode::OK).await;
    }

    /// Ends the assignment of `l`.
    pub async fn end_assignment(&self, l: &Learning) {
        let res = self
            .post_json(
                &format!("/api/v1/assignments/{}/end", l.assignment_id),
                Some(&l.author),
                &json!({}),
            )
            .await;
        assert!(res.status().is_success(), "{}", res.status());
    }
}

/// An e-mail the server wrote to its mail folder, as a reader sees it.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub list_unsubscribe: bool,
}

/// The `.eml` files in `dir`, in file-name order.
pub fn mails_in(dir: &std::path::Path) -> Vec<Mail> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            Mail {
                to: m
                    .to()
                    .unwrap()
                    .first()
                    .unwrap()
                    .address()
                    .unwrap()
                    .to_string(),
                subject: m.subject().unwrap_or_default().to_string(),
                text: m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                html: m.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
                list_unsubscribe: m.header_raw("List-Unsubscribe").is_some(),
            }
        })
        .collect()
}
