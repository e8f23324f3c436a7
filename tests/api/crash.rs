//! Durability: the real binary is killed with SIGKILL in the middle of a burst of answers, then
//! restarted on the same database. Every acknowledged answer is there exactly once, and
//! re-sending the rest completes the set without duplicates.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{fresh_database_url, sample_pack_yaml, PASSWORD};

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(database_url: &str, port: u16) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .arg("serve")
        .env("REPRISE_DATABASE_URL", database_url)
        .env("REPRISE_BIND", format!("127.0.0.1:{port}"))
        .env(
            "REPRISE_JWT_SECRET",
            "crash-test-secret-crash-test-secret-0123",
        )
        .env(
            "REPRISE_SECRET_KEY",
            "0404040404040404040404040404040404040404040404040404040404040404",
        )
        .env(
            "REPRISE_VAPID_PRIVATE_KEY",
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
        )
        .env("REPRISE_LOG", "warn")
        .env("REPRISE_LOGIN_BURST_PER_ADDRESS", "10000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reprise");
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::new();
    for _ in 0..300 {
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
            if res.status() == StatusCode::OK {
                return Server { child, base };
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("reprise did not become ready");
}

async fn post(
    client: &Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An organization on `base` with the sample pack assigned to one team (six nuggets a day), and
/// `sellers` learners in it; returns the admin token and each seller's (token, today's queue).
async fn organization_with_sellers(
    client: &Client,
    base: &str,
    name: &str,
    sellers: usize,
) -> (String, Vec<(String, Value)>) {
    let domain = format!("{}.example", name.to_lowercase().replace(' ', "-"));
    let (_, org) = post(
        client,
        format!("{base}/api/v1/orgs"),
        None,
        json!({"org_name": name, "admin_email": format!("ada@{domain}"), "admin_password": PASSWORD, "admin_name": "Ada"}),
    )
    .await;
    let admin = org["tokens"]["access_token"].as_str().unwrap().to_string();
    let (_, team) = post(
        client,
        format!("{base}/api/v1/teams"),
        Some(&admin),
        json!({"name": "Field"}),
    )
    .await;
    let res = client
        .post(format!("{base}/api/v1/packs"))
        .bearer_auth(&admin)
        .header("content-type", "application/yaml")
        .body(sample_pack_yaml("sample"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    post(
        client,
        format!("{base}/api/v1/packs/sample/publish"),
        Some(&admin),
        json!({}),
    )
    .await;
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let (status, _) = post(
        client,
        format!("{base}/api/v1/assignments"),
        Some(&admin),
        json!({"pack": "sample", "team_id": team["id"], "starts_on": yesterday, "daily_cap": 6}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut out = Vec::new();
    for i in 0..sellers {
        let email = format!("seller{i}@{domain}");
        let (status, _) = post(
            client,
            format!("{base}/api/v1/users"),
            Some(&admin),
            json!({"email": email, "name": "Seller", "password": PASSWORD, "role": "learner", "team_ids": [team["id"]]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, tokens) = post(
            client,
            format!("{base}/api/v1/auth/login"),
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
        let token = tokens["access_token"].as_str().unwrap().to_string();
        let queue: Value = client
            .get(format!("{base}/api/v1/me/queue"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.push((token, queue));
    }
    (admin, out)
}

#[actix_web::test]
async fn acknowledged_answers_survive_sigkill_exactly_once() {
    let database_url = fresh_database_url();
    let port = free_port();
    let mut server = start(&database_url, port).await;
    let client = Client::new();
    let base = server.base.clone();
    let (admin, sellers) = organization_with_sellers(&client, &base, "Crash Co", 8).await;
    // Eight sellers, each with today's six nuggets to answer.
    let mut work: Vec<(String, Value)> = Vec::new();
    for (token, queue) in &sellers {
        for n in queue["nuggets"].as_array().unwrap() {
            let body = json!({
                "attempt_id": uuid::Uuid::new_v4(),
                "nugget_id": n["nugget_id"],
                "selected": [n["options"][1]["id"]],
                "answered_at": chrono::Utc::now(),
                "response_ms": 5000,
            });
            work.push((token.clone(), body));
        }
    }
    assert_eq!(work.len(), 48);

    // Fire them all at once; kill the server once a third are acknowledged.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut tasks = Vec::new();
    for (token, body) in work.clone() {
        let client = client.clone();
        let url = format!("{base}/api/v1/me/answers");
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            if let Ok(res) = client.post(url).bearer_auth(token).json(&body).send().await {
                if res.status().is_success() {
                    let _ = tx.send(body["attempt_id"].as_str().unwrap().to_string());
                }
            }
        }));
    }
    drop(tx);
    let mut acknowledged = Vec::new();
    while let Some(id) = rx.recv().await {
        acknowledged.push(id);
        if acknowledged.len() == 16 {
            server.child.kill().expect("SIGKILL");
            break;
        }
    }
    server.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    while let Ok(id) = rx.try_recv() {
        acknowledged.push(id);
    }
    assert!(acknowledged.len() >= 16);

    // Restart on the same database: every acknowledged answer is stored exactly once.
    let mut server = start(&database_url, port).await;
    let export = |client: Client, admin: String, base: String| async move {
        let csv = client
            .get(format!("{base}/api/v1/reviews/export"))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for line in csv.lines().skip(1) {
            *counts
                .entry(line.split(',').next().unwrap().to_string())
                .or_default() += 1;
        }
        counts
    };
    let stored = export(client.clone(), admin.clone(), base.clone()).await;
    for id in &acknowledged {
        assert_eq!(
            stored.get(id),
            Some(&1),
            "acknowledged answer {id} is not stored exactly once"
        );
    }
    assert!(stored.values().all(|&n| n == 1));

    // Re-sending everything (same attempt ids) completes the set with no duplicates, and each
    // memory state counts exactly its answers.
    for (token, body) in &work {
        let (status, result) = post(
            &client,
            format!("{base}/api/v1/me/answers"),
            Some(token),
            body.clone(),
        )
        .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {result}"
        );
        let id = body["attempt_id"].as_str().unwrap();
        if acknowledged.iter().any(|a| a == id) {
            assert_eq!(
                status,
                StatusCode::OK,
                "an acknowledged answer was applied again"
            );
        }
    }
    let stored = export(client.clone(), admin.clone(), base.clone()).await;
    assert_eq!(stored.len(), 48);
    assert!(stored.values().all(|&n| n == 1));
    let mut tokens: Vec<&String> = work.iter().map(|(t, _)| t).collect();
    tokens.dedup();
    for token in tokens {
        let progress: Value = client
            .get(format!("{base}/api/v1/me/progress"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(progress["overall"]["answers"], 6);
        assert_eq!(progress["overall"]["nuggets"], 6);
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[actix_web::test]
async fn a_terminated_server_finishes_what_it_accepted() {
    let database_url = fresh_database_url();
    let port = free_port();
    let mut server = start(&database_url, port).await;
    let client = Client::new();
    let base = server.base.clone();
    let (_, sellers) = organization_with_sellers(&client, &base, "Stop Co", 1).await;
    let (token, queue) = sellers.into_iter().next().unwrap();
    let nugget = queue["nuggets"][0]["nugget_id"].clone();
    let answers: Vec<Value> = (0..100)
        .map(|i| json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": ["b"], "answered_at": chrono::Utc::now() - chrono::Duration::minutes(200 - i), "response_ms": 4000}))
        .collect();
    let pending = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/api/v1/me/answers/batch");
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"answers": answers}))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let res = pending
        .await
        .unwrap()
        .expect("the accepted request is answered");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 100);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "server exited with {status}");
}
