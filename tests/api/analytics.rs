//! HR analytics over a small org built through the API: two teams of one seller each, one pack
//! of six nuggets (three "Discovery", three "Closing"), answers on day 0 and day 1.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use reprise::domain::scheduler::{self, CardState, Policy, Rating, SchedulingContext};

use crate::helpers::*;

struct Fixture {
    learning: Learning,
    analyst: String,
    manager: String,
    south_id: String,
    /// nugget id → topic, in queue order.
    nuggets: Vec<(String, String)>,
}

const SAM: &str = "sam@acme.example";
const KIM: &str = "kim@acme.example";

/// The option ids that answer `topic`'s `i`-th nugget right (`multi` needs a and c).
fn right(nugget: &Value) -> Vec<&'static str> {
    if nugget["multiple"] == true {
        vec!["a", "c"]
    } else {
        vec!["b"]
    }
}

/// A wrong choice.
fn wrong(nugget: &Value) -> Vec<&'static str> {
    if nugget["multiple"] == true {
        vec!["b"]
    } else {
        vec!["a"]
    }
}

async fn answer(app: &TestApp, token: &str, nugget: &str, selected: &[&str]) -> Value {
    expect_json(
        app.answer(token, nugget, selected).await,
        StatusCode::CREATED,
    )
    .await
}

/// One answer synced from a phone that was offline, given at `answered_at`: recorded (201) at
/// that time, not moved by the server's clock checks.
async fn sync_answer(
    app: &TestApp,
    token: &str,
    nugget: &str,
    selected: &[&str],
    answered_at: chrono::DateTime<chrono::Utc>,
) {
    let batch = json!({"answers": [{
        "attempt_id": uuid::Uuid::new_v4(),
        "nugget_id": nugget,
        "selected": selected,
        "answered_at": answered_at,
        "response_ms": 9000,
    }]});
    let res = expect_json(
        app.post_json("/api/v1/me/answers/batch", Some(token), &batch)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(res["results"][0]["status"], 201, "{res}");
    assert_eq!(res["results"][0]["result"]["clock_flag"], Value::Null);
}

/// Day 0: Sam (North) answers 4 of 6 right at first attempt, Kim (South) 1 of 6.
/// Day 1 (exactly 24 h later): Sam answers his 2 wrong ones right; Kim answers her 5 wrong
/// ones, 3 right and 2 wrong.
async fn fixture(app: &TestApp) -> Fixture {
    let l = app.setup_learning(6).await;
    let admin = l.org.admin_token.clone();
    let south = expect_json(
        app.post_json("/api/v1/teams", Some(&admin), &json!({"name": "South"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let south_id = south["id"].as_str().unwrap().to_string();
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": KIM, "name": "Kim", "password": PASSWORD, "role": "learner", "team_ids": [south_id]}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "max@acme.example", "name": "Max", "password": PASSWORD, "role": "manager", "team_ids": [l.team_id]}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    app.create_user(&l.org, "ana@acme.example", "analyst").await;
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &json!({"pack": "sample", "team_id": south_id, "starts_on": "2026-03-02", "daily_cap": 6}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let kim = app.token(KIM).await;

    let q = app.queue(&l.learner).await;
    let items: Vec<Value> = q["nuggets"].as_array().unwrap().clone();
    assert_eq!(items.len(), 6);
    let nuggets: Vec<(String, String)> = items
        .iter()
        .map(|n| {
            (
                n["nugget_id"].as_str().unwrap().to_string(),
                n["topic"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Sam: wrong on items 2 and 4; Kim: right on item 0 only.
    for (i, n) in items.iter().enumerate() {
        let id = n["nugget_id"].as_str().unwrap();
        let sam_sel = if i == 2 || i == 4 { wrong(n) } else { right(n) };
        answer(app, &l.learner, id, &sam_sel).await;
        let kim_sel = if i == 0 { right(n) } else { wrong(n) };
        answer(app, &kim, id, &kim_sel).await;
    }
    app.clock.advance(Duration::days(1));
    let sam = app.token(SAM).await;
    let kim = app.token(KIM).await;
    for i in [2, 4] {
        answer(app, &sam, &nuggets[i].0, &right(&items[i])).await;
    }
    for (i, n) in items.iter().enumerate().skip(1) {
        let sel = if i <= 3 { right(n) } else { wrong(n) };
        answer(app, &kim, &nuggets[i].0, &sel).await;
    }
    Fixture {
        analyst: app.token("ana@acme.example").await,
        manager: app.token("max@acme.example").await,
        learning: l,
        south_id,
        nuggets,
    }
}

async fn get_ok(app: &TestApp, path: &str, token: &str) -> Value {
    expect_json(app.get(path, Some(token)).await, StatusCode::OK).await
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-6)
}

/// A median response time read from the weekly histogram: within a quarter octave (2^¼) of the
/// exact one.
fn near_median(a: &Value, exact: f64) -> bool {
    let bound = 2f64.powf(0.25);
    a.as_f64()
        .is_some_and(|a| a / exact < bound && exact / a < bound)
}

fn group<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["label"] == label)
        .unwrap_or_else(|| panic!("no group {label} in {report}"))
}

#[actix_web::test]
async fn proficiency_and_knowledge_gain_per_team_learner_and_topic() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    app.clock.advance(Duration::days(3));
    let analyst = app.token("ana@acme.example").await;
    let sam = app.token(SAM).await;

    let by_team = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=team",
        &analyst,
    )
    .await;
    let labels: Vec<&str> = by_team["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["North", "South"]);
    assert_eq!(group(&by_team, "North")["n"], 6);
    assert_eq!(group(&by_team, "South")["n"], 6);
    assert_eq!(by_team["overall"]["n"], 12);

    // The learner's own progress page computes the same predicted recall.
    let progress = get_ok(&app, "/api/v1/me/progress", &sam).await;
    let sam_now = progress["overall"]["proficiency"].as_f64().unwrap();
    assert!(close(&group(&by_team, "North")["proficiency"], sam_now));
    let by_learner = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=learner",
        &analyst,
    )
    .await;
    assert!(close(&group(&by_learner, "Sam")["proficiency"], sam_now));
    let sam_topics = get_ok(
        &app,
        &format!(
            "/api/v1/analytics/proficiency?group_by=topic&team_id={}",
            f.learning.team_id
        ),
        &analyst,
    )
    .await;
    for t in progress["packs"][0]["topics"].as_array().unwrap() {
        let label = t["topic"].as_str().unwrap();
        assert!(close(
            &group(&sam_topics, label)["proficiency"],
            t["proficiency"].as_f64().unwrap()
        ));
        assert_eq!(group(&sam_topics, label)["n"], 3);
    }
    let one_topic = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=pack&topic=Closing",
        &analyst,
    )
    .await;
    assert_eq!(group(&one_topic, "Sample pack sample")["key"], "sample");
    assert_eq!(group(&one_topic, "Sample pack sample")["n"], 6);
    let no_topic = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=topic&topic=Nowhere",
        &analyst,
    )
    .await;
    assert_eq!(no_topic["groups"], serde_json::json!([]));
    assert_eq!(no_topic["overall"]["n"], 0);

    // Knowledge gain: first attempts 4/6 (North) and 1/6 (South).
    let gain = get_ok(
        &app,
        "/api/v1/analytics/knowledge-gain?group_by=team",
        &analyst,
    )
    .await;
    let north = group(&gain, "North");
    assert!(close(&north["initial_proficiency"], 4.0 / 6.0));
    assert!(close(
        &group(&gain, "South")["initial_proficiency"],
        1.0 / 6.0
    ));
    assert!(close(&gain["overall"]["initial_proficiency"], 5.0 / 12.0));
    let now = north["proficiency"].as_f64().unwrap();
    assert!(close(&north["knowledge_gain"], now - 4.0 / 6.0));
    assert!(north["predicted_proficiency_30d"].as_f64().unwrap() < now);
    let by_pack = get_ok(&app, "/api/v1/analytics/knowledge-gain", &analyst).await;
    assert_eq!(by_pack["group_by"], "pack");
    assert_eq!(by_pack["groups"][0]["n"], 12);

    // Back to day 1: Kim's heatmap cells are her progress page's topics.
    app.clock.advance(Duration::days(-3));
    let analyst = app.token("ana@acme.example").await;
    let kim = app.token(KIM).await;
    let heat = get_ok(
        &app,
        &format!(
            "/api/v1/analytics/heatmap?rows=learner&team_id={}",
            f.south_id
        ),
        &analyst,
    )
    .await;
    assert_eq!(heat["topics"], json!(["Closing", "Discovery"]));
    assert_eq!(heat["rows"].as_array().unwrap().len(), 1);
    assert_eq!(heat["rows"][0]["label"], "Kim");
    let progress = get_ok(&app, "/api/v1/me/progress", &kim).await;
    for (j, topic) in ["Closing", "Discovery"].iter().enumerate() {
        let cell = &heat["rows"][0]["cells"][j];
        assert_eq!(cell["topic"], *topic);
        assert_eq!(cell["n"], 3);
        let expected = progress["packs"][0]["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == *topic)
            .unwrap()["proficiency"]
            .as_f64()
            .unwrap();
        assert!(close(&cell["value"], expected));
    }
    let _ = f.nuggets;
}

#[actix_web::test]
async fn retention_curve_compares_observed_with_predicted_recall() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    // Every repeat answer came exactly one day after a wrong first answer: the model predicted
    // recall of a first-"Again" memory one day on.
    let t0 = start_time();
    let after_again = scheduler::review(
        &CardState::default(),
        Rating::Again,
        t0,
        &SchedulingContext::default(),
        &Policy::Fsrs,
        0,
    );
    let s = after_again.memory.unwrap().stability;
    let predicted = scheduler::recall_after(s, 1.0, &[]);

    let curve = get_ok(&app, "/api/v1/analytics/retention-curve", &f.analyst).await;
    let buckets = curve["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 8);
    assert_eq!(buckets[0]["label"], "0-1");
    let b = &buckets[1];
    assert_eq!(b["label"], "1-2");
    assert_eq!(b["n"], 7);
    assert!(close(&b["observed_recall"], 5.0 / 7.0));
    assert!(close(&b["predicted_recall"], predicted));
    for (i, other) in buckets.iter().enumerate() {
        if i != 1 {
            assert_eq!(other["n"], 0);
            assert_eq!(other["observed_recall"], Value::Null);
        }
    }
    // A team scope is computed from the answers themselves: North is Sam's 2 right repeats.
    let north = get_ok(&app, "/api/v1/analytics/retention-curve", &f.manager).await;
    assert_eq!(north["buckets"][1]["n"], 2);
    assert!(close(&north["buckets"][1]["observed_recall"], 1.0));
    assert!(close(&north["buckets"][1]["predicted_recall"], predicted));
    let south = get_ok(
        &app,
        &format!("/api/v1/analytics/retention-curve?team_id={}", f.south_id),
        &f.analyst,
    )
    .await;
    assert_eq!(south["buckets"][1]["n"], 5);
    assert!(close(&south["buckets"][1]["observed_recall"], 0.6));
    let by_pack = get_ok(
        &app,
        "/api/v1/analytics/retention-curve?pack=sample",
        &f.analyst,
    )
    .await;
    assert_eq!(by_pack["buckets"][1]["n"], 7);
    expect_problem(
        app.get(
            "/api/v1/analytics/retention-curve?pack=nope",
            Some(&f.analyst),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let svg = app
        .get(
            "/api/v1/analytics/retention-curve?format=svg",
            Some(&f.analyst),
        )
        .await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let body = svg.text().await.unwrap();
    assert!(body.starts_with("<svg"), "{}", &body[..80.min(body.len())]);
    for label in [
        "Retention curve",
        "observed recall",
        "predicted recall",
        "1-2 d (n=7)",
    ] {
        assert!(body.contains(label), "svg lacks {label}");
    }
    let csv = app
        .client
        .get(app.url("/api/v1/analytics/retention-curve"))
        .bearer_auth(&f.analyst)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "bucket,from_days,to_days,n,observed_recall,predicted_recall"
    );
    assert_eq!(lines.len(), 9);
    assert!(lines[2].starts_with("1-2,1,2,7,0.714286,"));
}

#[actix_web::test]
async fn managers_see_their_teams_learners_nothing_and_other_orgs_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mine = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=team",
        &f.manager,
    )
    .await;
    assert_eq!(mine["groups"].as_array().unwrap().len(), 1);
    assert_eq!(mine["groups"][0]["label"], "North");
    assert_eq!(mine["overall"]["n"], 6);
    let learners = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=learner",
        &f.manager,
    )
    .await;
    assert_eq!(learners["groups"].as_array().unwrap().len(), 1);
    assert_eq!(learners["groups"][0]["label"], "Sam");
    let heat = get_ok(&app, "/api/v1/analytics/heatmap", &f.manager).await;
    assert_eq!(heat["rows"].as_array().unwrap().len(), 1);
    expect_problem(
        app.get(
            &format!("/api/v1/analytics/heatmap?team_id={}", f.south_id),
            Some(&f.manager),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let engagement = get_ok(&app, "/api/v1/analytics/engagement?weeks=1", &f.manager).await;
    let teams: Vec<&str> = engagement["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["team"].as_str().unwrap())
        .collect();
    assert_eq!(teams, vec!["North", "All in scope"]);

    let sam = app.token(SAM).await;
    for path in [
        "/api/v1/analytics/proficiency?group_by=team",
        "/api/v1/analytics/heatmap",
        "/api/v1/analytics/knowledge-gain",
        "/api/v1/analytics/retention-curve",
        "/api/v1/analytics/forgetting-risk",
        "/api/v1/analytics/engagement",
        "/api/v1/analytics/trends",
        "/api/v1/analytics/kpi-correlation",
    ] {
        expect_problem(app.get(path, Some(&sam)).await, StatusCode::FORBIDDEN).await;
    }
    let author = app.token("lena@acme.example").await;
    expect_problem(
        app.get("/api/v1/analytics/heatmap", Some(&author)).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let other = app.create_org("Globex", "gus@globex.example").await;
    let (_, outsider) = app
        .create_user(&other, "hr@globex.example", "analyst")
        .await;
    let nothing = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=learner",
        &outsider,
    )
    .await;
    assert_eq!(nothing["groups"], json!([]));
    assert_eq!(nothing["overall"]["n"], 0);
    let curve = get_ok(&app, "/api/v1/analytics/retention-curve", &outsider).await;
    assert!(curve["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["n"] == 0));
    expect_problem(
        app.get(
            &format!("/api/v1/analytics/heatmap?team_id={}", f.south_id),
            Some(&outsider),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Bad input is a 422 naming the field, never a 500.
    let bad = expect_problem(
        app.get(
            "/api/v1/analytics/proficiency?group_by=planet",
            Some(&f.analyst),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&bad), vec!["group_by"]);
    // Every enum-valued parameter is checked the same way, and names itself.
    for (path, field) in [
        ("/api/v1/analytics/heatmap?rows=diagonal", "rows"),
        ("/api/v1/analytics/knowledge-gain?format=xml", "format"),
        ("/api/v1/analytics/retention-curve?format=pdf", "format"),
        ("/api/v1/analytics/forgetting-risk?limit=many", "limit"),
    ] {
        let bad = expect_problem(
            app.get(path, Some(&f.analyst)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem_fields(&bad), vec![field], "{path}");
    }
    // Without `group_by`, proficiency is read by topic.
    let by_topic = app
        .get("/api/v1/analytics/proficiency", Some(&f.analyst))
        .await;
    assert_eq!(by_topic.status(), StatusCode::OK);
    let by_topic: serde_json::Value = by_topic.json().await.unwrap();
    assert_eq!(by_topic["group_by"], "topic");
    let bad = expect_problem(
        app.get(
            "/api/v1/analytics/forgetting-risk?threshold=1.5&days=0",
            Some(&f.analyst),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&bad), vec!["threshold", "days"]);
    let bad = expect_problem(
        app.get(
            "/api/v1/analytics/proficiency?group_by=team&format=svg",
            Some(&f.analyst),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&bad), vec!["format"]);
}

#[actix_web::test]
async fn csv_and_svg_outputs() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let res = app
        .get(
            "/api/v1/analytics/proficiency?group_by=team&format=csv",
            Some(&f.analyst),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "group_by,key,label,proficiency,n");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with(&format!("team,{},North,", f.learning.team_id)));
    assert!(lines[1].ends_with(",6"));

    let res = app
        .get("/api/v1/analytics/heatmap?format=csv", Some(&f.analyst))
        .await;
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row_key,row_label,topic,value,n");
    assert_eq!(lines.len(), 5, "2 teams × 2 topics: {text}");

    let res = app
        .client
        .get(app.url("/api/v1/analytics/heatmap"))
        .bearer_auth(&f.analyst)
        .header("accept", "image/svg+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(svg.starts_with("<svg"));
    for label in ["North", "South", "Closing", "Discovery", "n=3"] {
        assert!(svg.contains(label), "heatmap svg lacks {label}");
    }
    let res = app
        .get(
            "/api/v1/analytics/trends?weeks=2&format=svg",
            Some(&f.analyst),
        )
        .await;
    let svg = res.text().await.unwrap();
    assert!(svg.starts_with("<svg"));
    for label in [
        "Proficiency at week end",
        "North",
        "South",
        "All in scope",
        "2026-W10",
    ] {
        assert!(svg.contains(label), "trends svg lacks {label}");
    }
    for path in [
        "/api/v1/analytics/knowledge-gain?format=csv",
        "/api/v1/analytics/forgetting-risk?format=csv",
        "/api/v1/analytics/engagement?format=csv",
        "/api/v1/analytics/trends?format=csv",
        "/api/v1/analytics/kpi-correlation?format=csv",
    ] {
        let res = app.get(path, Some(&f.analyst)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = res.text().await.unwrap();
        assert!(text.lines().next().unwrap().contains(','), "{path}: {text}");
    }
}

#[actix_web::test]
async fn forgetting_risk_lists_fading_topics_lowest_first() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let risk = get_ok(
        &app,
        "/api/v1/analytics/forgetting-risk?threshold=0.8&days=7",
        &f.analyst,
    )
    .await;
    let risks = risk["risks"].as_array().unwrap();
    assert!(!risks.is_empty());
    assert_eq!(risk["total"], risks.len());
    let horizon: Vec<f64> = risks
        .iter()
        .map(|r| r["recall_at_horizon"].as_f64().unwrap())
        .collect();
    assert!(horizon.windows(2).all(|w| w[0] <= w[1]), "{horizon:?}");
    assert!(horizon.iter().all(|h| *h < 0.8));
    for r in risks {
        assert!(r["recall_now"].as_f64().unwrap() >= r["recall_at_horizon"].as_f64().unwrap());
        assert_eq!(r["n"], 3);
    }
    // Kim got every Closing nugget wrong at first: coach rather than refresh.
    let kim_closing = risks
        .iter()
        .find(|r| r["learner"] == "Kim" && r["topic"] == "Closing")
        .expect("Kim's Closing at risk");
    assert!(close(&kim_closing["initial_proficiency"], 0.0));
    assert_eq!(
        kim_closing["suggestion"],
        "coach on Closing: most first answers were wrong"
    );
    if let Some(sam) = risks.iter().find(|r| r["learner"] == "Sam") {
        assert!(sam["suggestion"]
            .as_str()
            .unwrap()
            .starts_with("assign a refresher on"));
    }
    let top = get_ok(
        &app,
        "/api/v1/analytics/forgetting-risk?threshold=0.99&days=30&limit=1",
        &f.analyst,
    )
    .await;
    assert_eq!(top["risks"].as_array().unwrap().len(), 1);
    assert_eq!(
        top["total"], 4,
        "two learners × two topics all fade below 99 %"
    );
    let mine = get_ok(
        &app,
        "/api/v1/analytics/forgetting-risk?threshold=0.99&days=30",
        &f.manager,
    )
    .await;
    assert!(mine["risks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["learner"] == "Sam"));
}

fn row<'a>(report: &'a Value, team: &str, week: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team"] == team && r["week"] == week)
        .unwrap_or_else(|| panic!("no row {team} {week}"))
}

#[actix_web::test]
async fn engagement_and_trends_per_team_and_week() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    // Day 5: Kim answers a nugget that fell due on day 2: late.
    app.clock.advance(Duration::days(4));
    let kim = app.token(KIM).await;
    answer(&app, &kim, &f.nuggets[4].0, &["a", "b", "c"]).await;
    let analyst = app.token("ana@acme.example").await;

    let e = get_ok(&app, "/api/v1/analytics/engagement?weeks=2", &analyst).await;
    assert_eq!(e["rows"].as_array().unwrap().len(), 6, "3 groups × 2 weeks");
    let before = row(&e, "North", "2026-W09");
    assert_eq!(before["invited"], 0);
    assert_eq!(before["answers"], 0);
    assert_eq!(before["correct_rate"], Value::Null);
    let north = row(&e, "North", "2026-W10");
    assert_eq!(north["week_start"], "2026-03-02");
    assert_eq!(north["invited"], 1);
    assert_eq!(north["started"], 1);
    assert_eq!(north["active_7d"], 1);
    assert_eq!(north["answers"], 8);
    assert!(close(&north["correct_rate"], 6.0 / 8.0));
    assert!(near_median(&north["median_response_ms"], 12000.0));
    assert!(close(&north["on_time_rate"], 1.0));
    let south = row(&e, "South", "2026-W10");
    assert_eq!(south["answers"], 12);
    assert!(close(&south["correct_rate"], 4.0 / 12.0));
    assert!(close(&south["on_time_rate"], 11.0 / 12.0));
    let all = row(&e, "All in scope", "2026-W10");
    assert_eq!(all["team_id"], Value::Null);
    assert_eq!(all["invited"], 2);
    assert_eq!(all["answers"], 20);

    let t = get_ok(&app, "/api/v1/analytics/trends?weeks=2", &analyst).await;
    let north = row(&t, "North", "2026-W10");
    assert_eq!(north["answers"], 8);
    assert!(close(&north["correct_rate"], 0.75));
    assert_eq!(north["n"], 6);
    // The current week is read now: the same figure as proficiency now.
    let now = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=team",
        &analyst,
    )
    .await;
    assert!(close(
        &north["proficiency"],
        group(&now, "North")["proficiency"].as_f64().unwrap()
    ));
    assert_eq!(row(&t, "North", "2026-W09")["n"], 0);
    expect_problem(
        app.get("/api/v1/analytics/trends?weeks=0", Some(&analyst))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[actix_web::test]
async fn answers_count_in_the_week_they_were_given() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    app.create_user(&l.org, "ana@acme.example", "analyst").await;
    let q = app.queue(&l.learner).await;
    let items = q["nuggets"].as_array().unwrap();
    let nuggets: Vec<&str> = items
        .iter()
        .map(|n| n["nugget_id"].as_str().unwrap())
        .collect();
    // Monday of 2026-W10: a wrong first answer, due again within days.
    expect_json(
        app.answer_in(&l.learner, nuggets[0], &wrong(&items[0]), 4000)
            .await,
        StatusCode::CREATED,
    )
    .await;
    // Tuesday of W11: synced from offline, an answer given on the Sunday before (W10), then
    // the first nugget again, days after it fell due.
    app.clock.advance(Duration::days(8));
    let sam = app.token(SAM).await;
    let sunday = app.clock.now() - Duration::days(2) + Duration::hours(12);
    let batch = json!({"answers": [
        {"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nuggets[1], "selected": right(&items[1]), "answered_at": sunday, "response_ms": 6000},
        {"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nuggets[0], "selected": right(&items[0]), "answered_at": app.clock.now(), "response_ms": 30000},
    ]});
    let res = expect_json(
        app.post_json("/api/v1/me/answers/batch", Some(&sam), &batch)
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(res["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == 201 && r["result"]["clock_flag"].is_null()));
    let analyst = app.token("ana@acme.example").await;

    let e = get_ok(&app, "/api/v1/analytics/engagement?weeks=3", &analyst).await;
    let w09 = row(&e, "All in scope", "2026-W09");
    assert_eq!(
        (w09["answers"].as_u64(), w09["started"].as_u64()),
        (Some(0), Some(0))
    );
    let w10 = row(&e, "All in scope", "2026-W10");
    assert_eq!(w10["answers"], 2);
    assert_eq!(w10["started"], 1);
    assert_eq!(w10["active_7d"], 1);
    assert!(close(&w10["correct_rate"], 0.5));
    assert!(close(&w10["on_time_rate"], 1.0));
    assert!(near_median(&w10["median_response_ms"], 5000.0));
    let w11 = row(&e, "All in scope", "2026-W11");
    assert_eq!(w11["answers"], 1);
    assert_eq!(w11["started"], 1);
    // Tuesday's answer, and Sunday's within the last 7 days.
    assert_eq!(w11["active_7d"], 1);
    assert_eq!(w11["active_30d"], 1);
    assert!(close(&w11["correct_rate"], 1.0));
    assert!(close(&w11["on_time_rate"], 0.0));
    assert!(near_median(&w11["median_response_ms"], 30000.0));

    let t = get_ok(&app, "/api/v1/analytics/trends?weeks=3", &analyst).await;
    assert_eq!(row(&t, "All in scope", "2026-W10")["answers"], 2);
    assert!(close(
        &row(&t, "All in scope", "2026-W11")["correct_rate"],
        1.0
    ));
}

/// A phone clock a few minutes ahead: the answer counts from the moment it was given, and until
/// then the current week reads that learner's recall once (not from both the states and the log).
#[actix_web::test]
async fn an_answer_timed_ahead_of_now_leaves_this_weeks_recall_as_it_was() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let analyst = app.token("ana@acme.example").await;
    let path = "/api/v1/analytics/trends?weeks=1";
    let before = get_ok(&app, path, &analyst).await;
    let sam = app.token(SAM).await;
    let ahead = app.clock.now() + Duration::minutes(3);
    sync_answer(&app, &sam, &f.nuggets[1].0, &["a"], ahead).await;
    let after = get_ok(&app, path, &analyst).await;
    let (was, now) = (
        row(&before, "North", "2026-W10"),
        row(&after, "North", "2026-W10"),
    );
    assert_eq!(now["n"], 6, "Sam's six nuggets, each once: {after}");
    assert!(close(
        &now["proficiency"],
        was["proficiency"].as_f64().unwrap()
    ));
    assert_eq!(
        row(&after, "South", "2026-W10"),
        row(&before, "South", "2026-W10")
    );
}

async fn upload_kpis(app: &TestApp, token: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/kpis"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn kpis_upload_all_or_nothing_and_correlate_with_proficiency() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let bad = expect_problem(
        upload_kpis(
            &app,
            &f.analyst,
            "email,period,metric,value\nsam@acme.example,2026-Q1,revenue,100\nnobody@acme.example,2026-Q1,revenue,5\nkim@acme.example,2026-Q1,revenue,lots\n",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        bad["errors"],
        json!([{"field": "value", "message": "must be a number", "line": 4}])
    );
    let bad = expect_problem(
        upload_kpis(
            &app,
            &f.analyst,
            "email,period,metric,value\nnobody@acme.example,2026-Q1,revenue,5\n",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["line"], 2);
    assert_eq!(bad["errors"][0]["field"], "email");
    expect_problem(
        upload_kpis(&app, &f.manager, "email,period,metric,value\n").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let none = get_ok(&app, "/api/v1/analytics/kpi-correlation", &f.analyst).await;
    assert_eq!(none["correlations"], json!([]), "nothing was stored");

    let ok = expect_json(
        upload_kpis(
            &app,
            &f.analyst,
            "email,period,metric,value\nsam@acme.example,2026-Q1,revenue,50\nkim@acme.example,2026-Q1,revenue,100\n",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ok["rows"], 2);
    // Uploading again replaces Sam's value.
    let ok = expect_json(
        upload_kpis(
            &app,
            &f.analyst,
            "email,period,metric,value\nsam@acme.example,2026-Q1,revenue,300\n",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ok["metrics"], json!(["revenue"]));
    let c = get_ok(
        &app,
        "/api/v1/analytics/kpi-correlation?metric=revenue",
        &f.analyst,
    )
    .await;
    assert_eq!(c["min_pairs"], 8);
    let all = c["correlations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team_id"].is_null())
        .unwrap();
    assert_eq!(all["n"], 2);
    assert_eq!(all["too_small"], true);
    // Sam knows more and now sells more: a perfect (if tiny) positive relation.
    let prof = get_ok(
        &app,
        "/api/v1/analytics/proficiency?group_by=learner",
        &f.analyst,
    )
    .await;
    let sign = if group(&prof, "Sam")["proficiency"].as_f64()
        > group(&prof, "Kim")["proficiency"].as_f64()
    {
        1.0
    } else {
        -1.0
    };
    assert!(close(&all["pearson"], sign));
    assert!(close(&all["spearman"], sign));
    let north = c["correlations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team"] == "North")
        .unwrap();
    assert_eq!(north["n"], 1);
    assert_eq!(north["pearson"], Value::Null);
    let mine = get_ok(&app, "/api/v1/analytics/kpi-correlation", &f.manager).await;
    assert!(mine["correlations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["n"] == 1));
}

#[actix_web::test]
async fn the_scale_generator_fills_an_org_the_views_can_read() {
    let url = fresh_database_url();
    let settings = reprise::config::Settings::for_tests(url);
    let pool = reprise::startup::open_database(&settings).unwrap();
    let plan = reprise::demo::scale::Plan {
        learners: 60,
        nuggets: 30,
        days: 12,
        org_slug: "gen-test".into(),
        seed: 7,
    };
    let now = start_time() + Duration::days(12);
    let out =
        actix_web::web::block(move || reprise::demo::scale::generate(&pool, &plan, now, |_, _| {}))
            .await
            .unwrap()
            .unwrap();
    // 60 learners in 3 teams of 25 under one region; 2 packs; every nugget met by day 4.
    assert_eq!((out.teams, out.packs), (4, 2));
    assert_eq!(out.memory_states, 60 * 30);
    assert!(out.reviews > out.memory_states, "{} answers", out.reviews);
    assert_eq!(out.analyst_email, "analyst@gen-test.example");
}

/// The trends' weekly recall read from snapshots: the same report before the snapshot task ran
/// (the answer log replayed), after it, after an answer back-dated into an ended week (the
/// learner's own log for the weeks it changed) and with every snapshot gone again.
#[actix_web::test]
async fn trends_are_the_same_from_snapshots_and_after_a_back_dated_answer() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    // Tuesday of the second week after: W10 and W11 have ended.
    app.clock.advance(Duration::days(14));
    let analyst = app.token("ana@acme.example").await;
    let path = "/api/v1/analytics/trends?weeks=4";
    let pool =
        reprise::store::connect(&app.database_url, 1, reprise::store::SqliteSync::Normal).unwrap();
    let mut conn = pool.get().unwrap();
    let snapshot = |conn: &mut reprise::store::DbConnection| {
        reprise::analytics::recall_weeks::refresh(conn, app.clock.now())
    };

    let from_log = get_ok(&app, path, &analyst).await;
    assert_eq!(row(&from_log, "North", "2026-W10")["n"], 6);
    assert_eq!(row(&from_log, "North", "2026-W11")["n"], 6);
    let filled = snapshot(&mut conn);
    assert!(filled.weeks >= 2, "{filled:?}");
    assert_eq!(
        snapshot(&mut conn),
        Default::default(),
        "nothing left to do"
    );
    assert_eq!(get_ok(&app, path, &analyst).await, from_log);

    // Sam's phone syncs an answer it took offline on Friday of W10: wrong this time.
    let sam = app.token(SAM).await;
    let friday = reprise::domain::recall_weeks::week_end(
        chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
    ) - Duration::days(3)
        + Duration::hours(10);
    sync_answer(&app, &sam, &f.nuggets[0].0, &["a"], friday).await;

    let stale = get_ok(&app, path, &analyst).await;
    for week in ["2026-W10", "2026-W11"] {
        let (was, now) = (row(&from_log, "North", week), row(&stale, "North", week));
        assert_eq!(now["n"], 6, "the same nuggets");
        assert_ne!(now["proficiency"], was["proficiency"], "{week} changed");
        assert_eq!(row(&stale, "South", week), row(&from_log, "South", week));
    }
    assert_eq!(
        row(&stale, "North", "2026-W10")["answers"],
        row(&from_log, "North", "2026-W10")["answers"]
            .as_u64()
            .unwrap()
            + 1
    );
    assert_eq!(
        row(&stale, "North", "2026-W09"),
        row(&from_log, "North", "2026-W09")
    );

    let redone = snapshot(&mut conn);
    assert_eq!(redone.learners, 1, "{redone:?}");
    assert_eq!(get_ok(&app, path, &analyst).await, stale);

    use diesel::RunQueryDsl;
    for table in ["recall_weeks_stale", "recall_weeks_done", "recall_weeks"] {
        diesel::sql_query(format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_eq!(get_ok(&app, path, &analyst).await, stale, "the log agrees");
}
/// A view's log lines name its organization and view: the handler's span holds the service's,
/// though the service reads on a blocking thread.
#[actix_web::test]
async fn a_views_log_lines_name_its_organization_and_view() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let me = get_ok(&app, "/api/v1/me", &f.analyst).await;
    let org = me["organization"]["id"].as_str().unwrap().to_string();
    get_ok(&app, "/api/v1/analytics/heatmap?rows=learner", &f.analyst).await;
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains("scope resolved") && l.contains(&org))
        .unwrap_or_else(|| panic!("no scope of {org} logged"));
    let handler = format!("heatmap{{org={org} view=\"heatmap\"}}");
    let service = format!("{handler}:{handler}:scope{{org={org}}}");
    assert!(line.contains(&service), "{line}");
}
