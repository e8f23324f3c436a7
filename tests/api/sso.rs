//! Single sign-on against real identity providers: panva's `oidc-provider` (OpenID Certified),
//! run by node from `tests/oidc/`, and SAML responses made and signed by `saml-rs`'s identity
//! provider with a key and certificate made here (see `sso_saml.rs`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    expect_json, expect_problem, problem_fields, spawn_with, Org, TestApp, PASSWORD,
};
use reprise::domain::egress::EgressPolicy;

pub const CLIENT_ID: &str = "reprise-test";
pub const CLIENT_SECRET: &str = "a-client-secret-only-the-provider-knows";
const REDIRECT_URI: &str = "http://reprise.test/api/v1/auth/sso/callback";

/// A running oidc-provider, stopped when dropped.
pub struct Provider {
    pub issuer: String,
    child: Child,
    http: Client,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs the provider's locked packages once per test run when they are missing.
fn install_provider() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if *done || oidc_dir().join("node_modules/oidc-provider").exists() {
        *done = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(oidc_dir())
        .status()
        .expect("npm runs (node and npm are needed for the SSO tests)");
    assert!(status.success(), "npm ci in tests/oidc failed");
    *done = true;
}

impl Provider {
    pub fn start() -> Provider {
        install_provider();
        let mut child = Command::new("node")
            .arg(oidc_dir().join("provider.mjs"))
            .env("OIDC_PORT", "0")
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", REDIRECT_URI)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let issuer = loop {
            let line = lines
                .next()
                .expect("the provider printed READY")
                .expect("provider output");
            if let Some(issuer) = line.strip_prefix("READY ") {
                break issuer.to_string();
            }
        };
        // The provider logs notices to stdout: keep reading, or its writes fail once the pipe
        // is closed.
        std::thread::spawn(move || for _ in lines {});
        Provider {
            issuer,
            child,
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Sets the claims of people signing in.
    pub async fn accounts(&self, accounts: Value) {
        let res = self
            .http
            .post(format!("{}/test/accounts", self.issuer))
            .json(&accounts)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    /// Alters the ID tokens the provider returns from now on (`none` to stop).
    pub async fn tamper(&self, mode: &str) {
        let res = self
            .http
            .post(format!("{}/test/tamper", self.issuer))
            .json(&json!({"mode": mode}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
}

/// A server that may call loopback providers, with its clock on the real time (the provider
/// stamps its tokens with it).
pub async fn spawn_sso_app() -> TestApp {
    let app = spawn_with(|s| {
        s.egress = EgressPolicy::parse_allow("127.0.0.1", true).unwrap();
    })
    .await;
    app.clock.set(chrono::Utc::now());
    app
}

pub async fn configure_oidc(app: &TestApp, org: &Org, provider: &Provider, extra: Value) -> Value {
    let mut body = json!({
        "protocol": "oidc",
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "email_domains": ["acme.test"],
        "default_role": "learner",
        "role_claim": "reprise_role",
        "role_map": {"sales-manager": "manager", "sales-author": "author"},
        "team_claim": "groups",
        "allow_password_login": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app
        .client
        .put(app.url("/api/v1/org/sso"))
        .bearer_auth(&org.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::OK).await
}

/// A browser's cookies, by name (enough for one provider and one Reprise).
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, res: &reqwest::Response) {
        for value in res.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_string(), value.to_string());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a redirect, got {}", res.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The provider's answer for a sign-in, ready to be delivered to Reprise's callback.
pub struct Answer {
    /// The callback path and query on the test server.
    pub callback: String,
    /// The browser's state cookie from the start.
    pub cookie: String,
}

/// Walks a browser from Reprise's start through the provider and stops before the callback.
pub async fn through_provider(app: &TestApp, provider: &Provider, email: &str) -> Answer {
    let start = app
        .client
        .get(app.url(&format!("/api/v1/auth/sso/start?email={email}")))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let mut reprise = Jar::default();
    reprise.take(&start);
    let mut jar = Jar::default();
    let mut next = location(&start);
    assert!(next.starts_with(&provider.issuer), "{next}");
    assert!(next.contains("code_challenge="), "PKCE: {next}");
    assert!(next.contains("nonce="), "nonce: {next}");
    for _ in 0..6 {
        if next.starts_with(REDIRECT_URI) {
            return Answer {
                callback: next.trim_start_matches("http://reprise.test").to_string(),
                cookie: reprise.header(),
            };
        }
        let url = if next.starts_with('/') {
            format!("{}{next}", provider.issuer)
        } else {
            next.clone()
        };
        let res = provider
            .http
            .get(&url)
            .header(COOKIE, jar.header())
            .send()
            .await
            .unwrap();
        jar.take(&res);
        assert!(
            res.status().is_redirection(),
            "{url}: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
        next = location(&res);
    }
    panic!("the provider never sent the browser back: {next}");
}

/// Delivers the provider's answer to Reprise's callback.
pub async fn deliver(app: &TestApp, answer: &Answer) -> reqwest::Response {
    app.client
        .get(app.url(&answer.callback))
        .header(COOKIE, &answer.cookie)
        .send()
        .await
        .unwrap()
}

/// The one-time code of the console address a finished sign-in redirects to.
pub fn console_code(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(res);
    to.strip_prefix("http://reprise.test/#/sso/")
        .unwrap_or_else(|| panic!("to the console: {to}"))
        .to_string()
}

pub async fn exchange(app: &TestApp, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/sso/exchange", None, &json!({"code": code}))
        .await
}

/// Signs in all the way and returns the new access token.
pub async fn sign_in(app: &TestApp, provider: &Provider, email: &str) -> String {
    let answer = through_provider(app, provider, email).await;
    let res = deliver(app, &answer).await;
    let code = console_code(&res);
    let pair = expect_json(exchange(app, &code).await, StatusCode::OK).await;
    pair["access_token"].as_str().unwrap().to_string()
}

pub async fn me(app: &TestApp, token: &str) -> Value {
    expect_json(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await
}

pub async fn user_count(app: &TestApp, org: &Org) -> usize {
    let users = expect_json(
        app.get("/api/v1/users?limit=100", Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    users
        .as_array()
        .or_else(|| users["users"].as_array())
        .map(|a| a.len())
        .unwrap_or_default()
}

pub async fn team_names(app: &TestApp, org: &Org, ids: &Value) -> Vec<String> {
    let teams = expect_json(
        app.get("/api/v1/teams", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut names: Vec<String> = teams
        .as_array()
        .or_else(|| teams["teams"].as_array())
        .unwrap()
        .iter()
        .filter(|t| ids.contains(&t["id"].as_str().unwrap()))
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn first_sign_in_creates_the_member_and_the_next_ones_update_them() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    configure_oidc(&app, &org, &provider, json!({})).await;
    provider
        .accounts(
            json!({"sam@acme.test": {"name": "Sam Seller", "groups": ["East", "Key accounts"]}}),
        )
        .await;
    let before = user_count(&app, &org).await;

    let token = sign_in(&app, &provider, "sam@acme.test").await;
    let first = me(&app, &token).await;
    assert_eq!(first["user"]["email"], "sam@acme.test");
    assert_eq!(first["user"]["name"], "Sam Seller");
    assert_eq!(first["user"]["role"], "learner", "the default role");
    assert_eq!(
        team_names(&app, &org, &first["team_ids"]).await,
        ["East", "Key accounts"]
    );
    assert_eq!(
        user_count(&app, &org).await,
        before + 1,
        "created just in time"
    );

    // The provider now says otherwise, and has rotated its signing key: the next sign-in
    // fetches the new key set and follows name, role and teams.
    provider
        .accounts(json!({"sam@acme.test": {"name": "Samantha Seller", "role": "sales-manager", "groups": ["West"]}}))
        .await;
    provider.tamper("rotated").await;
    let token = sign_in(&app, &provider, "sam@acme.test").await;
    let second = me(&app, &token).await;
    assert_eq!(second["user"]["id"], first["user"]["id"], "the same member");
    assert_eq!(second["user"]["name"], "Samantha Seller");
    assert_eq!(
        second["user"]["role"], "manager",
        "mapped from the role claim"
    );
    assert_eq!(team_names(&app, &org, &second["team_ids"]).await, ["West"]);
    assert_eq!(user_count(&app, &org).await, before + 1);

    // The audit log has the settings, the creation and the sign-in that changed the role, the
    // member as actor of their own sign-ins.
    let page = expect_json(
        app.get("/api/v1/audit", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let events = page["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions[..3],
        ["user.signed_in", "user.created", "sso.configured"],
        "{page}"
    );
    assert_eq!(events[0]["actor_kind"], "sso");
    assert_eq!(events[0]["actor_id"], first["user"]["id"]);
    assert_eq!(events[0]["before"]["role"], "learner");
    assert_eq!(events[0]["after"]["role"], "manager");
    assert_eq!(events[1]["after"]["teams"], json!(["East", "Key accounts"]));
    let text = page.to_string();
    assert!(!text.contains(CLIENT_SECRET));
    assert!(
        !text.contains("sam@acme.test") && !text.contains("Seller"),
        "no personal data: {text}"
    );
}

#[actix_web::test]
async fn a_code_is_exchanged_once_and_an_answer_is_taken_once() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    configure_oidc(&app, &org, &provider, json!({})).await;

    let answer = through_provider(&app, &provider, "sam@acme.test").await;
    let res = deliver(&app, &answer).await;
    let code = console_code(&res);
    expect_json(exchange(&app, &code).await, StatusCode::OK).await;
    expect_problem(exchange(&app, &code).await, StatusCode::UNAUTHORIZED).await;
    expect_problem(exchange(&app, "not-a-code").await, StatusCode::UNAUTHORIZED).await;

    // The same answer delivered again: its sign-in is finished.
    expect_problem(deliver(&app, &answer).await, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn an_answer_for_another_browser_or_state_is_refused() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    configure_oidc(&app, &org, &provider, json!({})).await;
    let before = user_count(&app, &org).await;

    // Without the browser's state cookie (a sign-in started elsewhere).
    let answer = through_provider(&app, &provider, "sam@acme.test").await;
    let stranger = Answer {
        callback: answer.callback.clone(),
        cookie: "reprise_sso_state=someone-elses".into(),
    };
    expect_problem(deliver(&app, &stranger).await, StatusCode::UNAUTHORIZED).await;

    // A state this server never gave out, consistently in cookie and query.
    let (path, query) = answer.callback.split_once('?').unwrap();
    let forged_state = format!("{}.{}", "x", "0".repeat(64));
    let query: String = query
        .split('&')
        .map(|kv| {
            if kv.starts_with("state=") {
                format!("state={forged_state}")
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let forged = Answer {
        callback: format!("{path}?{query}"),
        cookie: format!("reprise_sso_state={forged_state}"),
    };
    expect_problem(deliver(&app, &forged).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(user_count(&app, &org).await, before, "nobody was created");
}

#[actix_web::test]
async fn id_tokens_failing_a_check_are_refused() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    configure_oidc(&app, &org, &provider, json!({})).await;
    let before = user_count(&app, &org).await;
    for mode in ["audience", "expired", "nonce", "unsigned"] {
        provider.tamper(mode).await;
        let answer = through_provider(&app, &provider, "sam@acme.test").await;
        let problem = expect_problem(deliver(&app, &answer).await, StatusCode::UNAUTHORIZED).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("ID token"),
            "{mode}: {problem}"
        );
    }
    assert_eq!(user_count(&app, &org).await, before, "nobody was created");
    provider.tamper("none").await;
    sign_in(&app, &provider, "sam@acme.test").await;
}

#[actix_web::test]
async fn password_login_follows_the_organizations_choice_but_admins_keep_it() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    app.create_user(&org, "lee@acme.test", "learner").await;
    configure_oidc(
        &app,
        &org,
        &provider,
        json!({"allow_password_login": false}),
    )
    .await;

    let app = &app;
    let login = |email: &'static str| async move {
        app.post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await
    };
    let problem = expect_problem(login("lee@acme.test").await, StatusCode::FORBIDDEN).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("single sign-on"));
    expect_json(login("ada@acme.test").await, StatusCode::OK).await;

    configure_oidc(app, &org, &provider, json!({"allow_password_login": true})).await;
    expect_json(login("lee@acme.test").await, StatusCode::OK).await;
}

#[actix_web::test]
async fn settings_are_for_admins_and_never_show_the_secret() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    let (_, learner) = app.create_user(&org, "lee@acme.test", "learner").await;
    let (_, manager) = app.create_user(&org, "max@acme.test", "manager").await;

    expect_problem(
        app.get("/api/v1/org/sso", Some(&org.admin_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let saved = configure_oidc(&app, &org, &provider, json!({})).await;
    assert_eq!(saved["client_secret_set"], true);
    for token in [&learner, &manager] {
        expect_problem(
            app.get("/api/v1/org/sso", Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        let res = app
            .client
            .put(app.url("/api/v1/org/sso"))
            .bearer_auth(token)
            .json(&json!({"protocol": "oidc"}))
            .send()
            .await
            .unwrap();
        expect_problem(res, StatusCode::FORBIDDEN).await;
        expect_problem(
            app.delete("/api/v1/org/sso", token).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let res = app.get("/api/v1/org/sso", Some(&org.admin_token)).await;
    let text = res.text().await.unwrap();
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["issuer"], provider.issuer);
    assert_eq!(shown["redirect_uri"], REDIRECT_URI);
    assert_eq!(shown["email_domains"], json!(["acme.test"]));

    // The secret is sealed at rest too.
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let stored = reprise::store::sso::stored_client_secrets(&mut conn).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].1.starts_with("v1.") && !stored[0].1.contains(CLIENT_SECRET));

    // Changing other settings of the same client keeps the secret.
    let kept = configure_oidc(
        &app,
        &org,
        &provider,
        json!({"client_secret": null, "default_role": "author"}),
    )
    .await;
    assert_eq!(kept["client_secret_set"], true);
    assert_eq!(kept["default_role"], "author");

    let res = app.delete("/api/v1/org/sso", &org.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_problem(
        app.get("/api/v1/org/sso", Some(&org.admin_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.get("/api/v1/auth/sso/start?email=sam@acme.test", None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn a_bad_configuration_is_a_422_naming_the_field() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    let other = app.create_org("Other", "otto@other.test").await;
    configure_oidc(
        &app,
        &other,
        &provider,
        json!({"email_domains": ["other.test"]}),
    )
    .await;
    let cases = [
        (json!({"protocol": "ldap"}), "protocol"),
        (json!({"issuer": null}), "issuer"),
        (json!({"issuer": "not a url"}), "issuer"),
        (
            json!({"issuer": "http://127.0.0.1:9/nothing-here"}),
            "issuer",
        ),
        (json!({"client_id": ""}), "client_id"),
        (json!({"client_secret": null}), "client_secret"),
        (json!({"email_domains": []}), "email_domains"),
        (json!({"email_domains": ["gmail.com"]}), "email_domains"),
        (
            json!({"email_domains": ["elsewhere.test"]}),
            "email_domains",
        ),
        (json!({"email_domains": ["other.test"]}), "email_domains"),
        (json!({"default_role": "admin"}), "default_role"),
        (json!({"role_map": {"x": "boss"}}), "role_map"),
        (json!({"idp_metadata_xml": "<x/>"}), "idp_metadata_xml"),
    ];
    for (change, field) in cases {
        let mut body = json!({
            "protocol": "oidc",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "email_domains": ["acme.test"],
            "default_role": "learner",
            "allow_password_login": true,
        });
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app
            .client
            .put(app.url("/api/v1/org/sso"))
            .bearer_auth(&org.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            problem_fields(&problem).contains(&field.to_string()),
            "{change} should name {field}: {problem}"
        );
    }
    expect_problem(
        app.get("/api/v1/org/sso", Some(&org.admin_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn the_issuer_must_pass_the_egress_policy() {
    let provider = Provider::start();
    // The default policy: loopback refused.
    let app = spawn_with(|_| {}).await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    let res = app
        .client
        .put(app.url("/api/v1/org/sso"))
        .bearer_auth(&org.admin_token)
        .json(&json!({
            "protocol": "oidc", "issuer": provider.issuer, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "email_domains": ["acme.test"],
            "default_role": "learner", "allow_password_login": true,
        }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), ["issuer"]);
}

#[actix_web::test]
async fn without_a_role_claim_roles_stay_managed_in_reprise() {
    let provider = Provider::start();
    let app = spawn_sso_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    app.create_user(&org, "aud@acme.test", "author").await;
    configure_oidc(
        &app,
        &org,
        &provider,
        json!({"role_claim": null, "role_map": null, "team_claim": null, "default_role": "manager"}),
    )
    .await;
    provider
        .accounts(json!({"aud@acme.test": {"role": "sales-manager"}}))
        .await;
    let author = me(&app, &sign_in(&app, &provider, "aud@acme.test").await).await;
    assert_eq!(
        author["user"]["role"], "author",
        "an existing member keeps their role"
    );
    let newcomer = me(&app, &sign_in(&app, &provider, "neo@acme.test").await).await;
    assert_eq!(
        newcomer["user"]["role"], "manager",
        "a new one gets the default"
    );
    assert_eq!(
        newcomer["user"]["name"], "neo",
        "named after the address without a name claim"
    );
}

#[actix_web::test]
async fn the_client_secret_is_sealed_again_under_a_new_key() {
    use reprise::domain::accounts::Role;
    use reprise::domain::sso::{Mapping, Protocol};
    use reprise::secrets::{reseal_all, SecretBox};
    use reprise::store::sso;
    let app = crate::helpers::spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.test").await;
    let org_id = app.org_id(&org.admin_token).await;
    let (old_key, new_key) = ([1u8; 32], [2u8; 32]);
    let old = SecretBox::new(&old_key, &[]).unwrap();
    let context = sso::client_secret_context(&org_id);
    let config = sso::SsoConfig {
        protocol: Protocol::Oidc,
        issuer: Some("https://idp.acme.test".into()),
        client_id: Some("reprise".into()),
        client_secret: Some(old.seal(&context, "s3cret")),
        idp_metadata_xml: None,
        email_domains: Vec::new(),
        mapping: Mapping {
            default_role: Role::Learner,
            role_claim: None,
            role_map: Default::default(),
            team_claim: None,
        },
        allow_password_login: true,
        updated_at: app.clock.now(),
    };
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let now = app.clock.now();
    reprise::store::write_tx(&mut conn, |c| {
        sso::save_config(c, &org_id, &config, &[], now).map(|saved| assert!(saved.is_ok()))
    })
    .unwrap();

    let rotating = SecretBox::new(&new_key, &[old_key.to_vec()]).unwrap();
    assert_eq!(reseal_all(&mut conn, &rotating).unwrap(), 1);
    let stored = sso::stored_client_secrets(&mut conn).unwrap();
    let new_only = SecretBox::new(&new_key, &[]).unwrap();
    assert_eq!(new_only.open(&context, &stored[0].1).unwrap(), "s3cret");
    assert!(old.open(&context, &stored[0].1).is_err());
}
