//! A read database for analytics (`REPRISE_READ_DATABASE_URL`): the views and exports say which
//! database answered, and answer from the primary when the read database cannot.
//! `scripts/read-replica.sh` runs the same checks against a real PostgreSQL streaming replica.

use reqwest::StatusCode;

use crate::helpers::*;

/// Every replica-backed GET route, with the sample pack of `setup_learning`.
const READS: &[&str] = &[
    "/api/v1/analytics/proficiency?group_by=team",
    "/api/v1/analytics/heatmap?format=csv",
    "/api/v1/analytics/knowledge-gain",
    "/api/v1/analytics/forgetting-risk",
    "/api/v1/analytics/retention-curve?format=svg",
    "/api/v1/analytics/engagement",
    "/api/v1/analytics/trends",
    "/api/v1/analytics/kpi-correlation",
    "/api/v1/reviews/export",
    "/api/v1/xapi/statements",
    "/api/v1/packs/sample/analysis",
];

/// Status and `X-Reprise-Read-Source` of a GET as the org admin.
async fn read(app: &TestApp, token: &str, path: &str) -> (StatusCode, Option<String>) {
    let res = app.get(path, Some(token)).await;
    let source = res
        .headers()
        .get("x-reprise-read-source")
        .map(|v| v.to_str().unwrap().to_string());
    (res.status(), source)
}

/// An org with the sample pack and one answer, so every view has something to read.
async fn with_an_answer(app: &TestApp) -> Learning {
    let l = app.setup_learning(6).await;
    let nugget = app.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app.answer(&l.learner, &nugget, &["b"]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    l
}

#[actix_web::test]
async fn without_a_read_database_the_primary_answers() {
    let app = spawn_app().await;
    let l = with_an_answer(&app).await;
    for path in READS {
        let got = read(&app, &l.org.admin_token, path).await;
        assert_eq!(got, (StatusCode::OK, Some("primary".into())), "{path}");
    }
}

#[actix_web::test]
async fn views_and_exports_read_from_the_read_database() {
    // The primary's own database stands in for a replica: what matters here is the routing.
    let app = spawn_with(|s| s.read_database_url = Some(s.database_url.clone())).await;
    let l = with_an_answer(&app).await;
    for path in READS {
        let got = read(&app, &l.org.admin_token, path).await;
        assert_eq!(got, (StatusCode::OK, Some("replica".into())), "{path}");
    }
    // Everything else, reads included, is the primary's and says nothing about it.
    for path in ["/api/v1/me", "/api/v1/packs", "/api/v1/users"] {
        let got = read(&app, &l.org.admin_token, path).await;
        assert_eq!(got, (StatusCode::OK, None), "{path}");
    }
    // A team the view does not know is still a 404 (after asking the primary too).
    let got = read(
        &app,
        &l.org.admin_token,
        "/api/v1/analytics/proficiency?group_by=team&team_id=nope",
    )
    .await;
    assert_eq!(got.0, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn views_and_exports_fall_back_to_the_primary_when_the_read_database_is_down() {
    // Nothing listens on port 1: every connection attempt is refused.
    let app = spawn_with(|s| {
        s.read_database_url = Some("postgres://reprise:s3cret@127.0.0.1:1/reprise".into())
    })
    .await;
    let l = with_an_answer(&app).await;
    let started = std::time::Instant::now();
    for path in READS {
        let got = read(&app, &l.org.admin_token, path).await;
        assert_eq!(got, (StatusCode::OK, Some("primary".into())), "{path}");
    }
    // Only the first read waits for the replica; the others go straight to the primary.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "fallback took {:?}",
        started.elapsed()
    );
    // Writes are untouched.
    let nugget = app.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.answer(&l.learner, &nugget, &["b"]).await.status(),
        StatusCode::CREATED
    );
    let logs = captured_logs();
    let warning = logs
        .lines()
        .find(|line| line.contains("read replica unavailable"))
        .expect("a warning names the unavailable replica");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("127.0.0.1:1/reprise"), "{warning}");
    // PostgreSQL's own reason, not a generic one.
    assert!(warning.contains("Connection refused"), "{warning}");
    assert!(!logs.contains("s3cret"), "the replica's password is logged");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let fallbacks: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("reprise_read_replica_fallbacks_total "))
        .expect("fallback counter in /metrics")
        .parse()
        .unwrap();
    assert!(fallbacks >= READS.len() as u64, "{fallbacks}");
}
