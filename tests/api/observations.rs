//! Field observations and the knowledge × application view: managers record what their people
//! applied (every field checked, nothing stored for someone else's people), and the view places
//! each seller × topic in a quadrant from predicted recall and decayed observations, with the
//! manager's next step, in JSON and CSV, scoped like the other analytics views.

use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const OBSERVATIONS: &str = "/api/v1/observations";
const VIEW: &str = "/api/v1/analytics/knowledge-application";
const SAM: &str = "sam@acme.example";

/// Acme with Sam and Lou in North (their manager Mia), Kim in South, an analyst, the sample
/// pack (Discovery, Closing) assigned to both teams, and a second pack "other" (topic
/// Objections) published but assigned to nobody.
struct World {
    l: Learning,
    mia: String,
    analyst: String,
    lou_id: String,
    kim_id: String,
    south_id: String,
}

async fn user(
    app: &TestApp,
    admin: &str,
    email: &str,
    name: &str,
    role: &str,
    team: &str,
) -> String {
    let res = app
        .post_json(
            "/api/v1/users",
            Some(admin),
            &json!({"email": email, "name": name, "password": PASSWORD, "role": role, "team_ids": [team]}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Right answers are options `b` (and `a`+`c` for the multi-select); wrong ones `a` (`b`).
fn choice(nugget: &Value, right: bool) -> Vec<&'static str> {
    match (nugget["multiple"] == true, right) {
        (true, true) => vec!["a", "c"],
        (true, false) => vec!["b"],
        (false, true) => vec!["b"],
        (false, false) => vec!["a"],
    }
}

/// Answers every nugget of the learner's queue, all right or all wrong.
async fn answer_all(app: &TestApp, token: &str, right: bool) {
    let queue = app.queue(token).await;
    let nuggets = queue["nuggets"].as_array().unwrap().clone();
    assert_eq!(nuggets.len(), 6, "{queue}");
    for n in &nuggets {
        let id = n["nugget_id"].as_str().unwrap();
        expect_json(
            app.answer(token, id, &choice(n, right)).await,
            StatusCode::CREATED,
        )
        .await;
    }
}

async fn world(app: &TestApp) -> World {
    let l = app.setup_learning(6).await;
    let admin = l.org.admin_token.clone();
    let (_, mia) = app.add_team_manager(&l, "mia@acme.example").await;
    let lou_id = user(
        app,
        &admin,
        "lou@acme.example",
        "Lou",
        "learner",
        &l.team_id,
    )
    .await;
    let south = expect_json(
        app.post_json("/api/v1/teams", Some(&admin), &json!({"name": "South"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let south_id = south["id"].as_str().unwrap().to_string();
    let kim_id = user(app, &admin, "kim@acme.example", "Kim", "learner", &south_id).await;
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &json!({"pack": "sample", "team_id": south_id, "starts_on": "2026-03-02", "daily_cap": 6}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let other = sample_pack_yaml("other")
        .replace("Discovery", "Objections")
        .replace("Closing", "Objections");
    expect_json(
        app.upload_yaml(&l.author, &other).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&l.author, "other").await;
    let (_, analyst) = app.create_user(&l.org, "ana@acme.example", "analyst").await;
    World {
        l,
        mia,
        analyst,
        lou_id,
        kim_id,
        south_id,
    }
}

fn day(app: &TestApp, days_ago: i64) -> String {
    (app.clock.now().date_naive() - Duration::days(days_ago)).to_string()
}

async fn observe(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json(OBSERVATIONS, Some(token), &body).await
}

fn cell<'a>(view: &'a Value, learner: &str, topic: &str) -> &'a Value {
    view["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["learner"] == learner && c["topic"] == topic)
        .unwrap_or_else(|| panic!("no cell {learner} × {topic} in {view}"))
}

fn learners(view: &Value) -> Vec<String> {
    view["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn a_manager_records_observations_of_their_people_and_every_bad_field_is_named() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let sam = w.l.learner_id.clone();
    let ok = json!({"learner_id": sam, "topic": "discovery", "applied": 3, "note": "Asked about the budget first.", "observed_on": day(&app, 1)});
    let created = expect_json(observe(&app, &w.mia, ok.clone()).await, StatusCode::CREATED).await;
    assert_eq!(
        created["topic"], "Discovery",
        "stored as the content spells it"
    );
    assert_eq!(created["applied"], 3);
    assert_eq!(created["learner_id"], sam.as_str());
    assert_eq!(created["observer_name"], "Mia");
    assert_eq!(created["observed_on"], day(&app, 1));
    assert_eq!(created["note"], "Asked about the budget first.");

    let before = table_counts(&app.database_url);
    let refused = |field: &'static str, body: Value| (field, body);
    let cases = [
        refused(
            "applied",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 0, "observed_on": day(&app, 1)}),
        ),
        refused(
            "applied",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 5, "observed_on": day(&app, 1)}),
        ),
        refused(
            "applied",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 2.5, "observed_on": day(&app, 1)}),
        ),
        refused(
            "observed_on",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 2, "observed_on": day(&app, -1)}),
        ),
        refused(
            "observed_on",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 2, "observed_on": day(&app, 366)}),
        ),
        refused(
            "observed_on",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 2, "observed_on": "yesterday"}),
        ),
        refused(
            "topic",
            json!({"learner_id": sam, "topic": "Negotiation", "applied": 2, "observed_on": day(&app, 1)}),
        ),
        refused(
            "topic",
            json!({"learner_id": sam, "topic": "  ", "applied": 2, "observed_on": day(&app, 1)}),
        ),
        refused(
            "note",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 2, "note": "x".repeat(2001), "observed_on": day(&app, 1)}),
        ),
        refused(
            "note",
            json!({"learner_id": sam, "topic": "Discovery", "applied": 2, "note": "a\u{0}b", "observed_on": day(&app, 1)}),
        ),
        refused(
            "learner_id",
            json!({"topic": "Discovery", "applied": 2, "observed_on": day(&app, 1)}),
        ),
    ];
    for (field, body) in cases {
        let p = expect_problem(
            observe(&app, &w.mia, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            problem_fields(&p).contains(&field.to_string()),
            "{field} for {body}: {p}"
        );
    }
    // Every field of the domain's checks at once.
    let p = expect_problem(
        observe(
            &app,
            &w.mia,
            json!({"learner_id": sam, "topic": "", "applied": 9, "note": "y".repeat(2001), "observed_on": day(&app, -2)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem_fields(&p),
        ["topic", "applied", "note", "observed_on"]
    );
    assert_eq!(table_counts(&app.database_url), before, "nothing stored");
    // Not of oneself.
    let mia_id = expect_json(app.get("/api/v1/me", Some(&w.mia)).await, StatusCode::OK).await
        ["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = expect_problem(
        observe(&app, &w.mia, json!({"learner_id": mia_id, "topic": "Discovery", "applied": 2, "observed_on": day(&app, 1)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&p), ["learner_id"]);

    // Another organization's seller is nobody here; Kim is not one of Mia's people.
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    let res = observe(&app, &w.mia, json!({"learner_id": other.learner_id, "topic": "Discovery", "applied": 2, "observed_on": day(&app, 1)})).await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    // Globex's setup added rows of its own: compare from here on.
    let before = table_counts(&app.database_url);
    let res = observe(
        &app,
        &other.org.admin_token,
        json!({"learner_id": sam, "topic": "Discovery", "applied": 2, "observed_on": day(&app, 1)}),
    )
    .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = observe(&app, &w.mia, json!({"learner_id": w.kim_id, "topic": "Discovery", "applied": 2, "observed_on": day(&app, 1)})).await;
    let p = expect_problem(res, StatusCode::FORBIDDEN).await;
    assert!(
        p["detail"].as_str().unwrap().contains("not in your teams"),
        "{p}"
    );
    // Sellers and analysts record nothing.
    for token in [&w.l.learner, &w.analyst] {
        let res = observe(&app, token, json!({"learner_id": w.lou_id, "topic": "Discovery", "applied": 2, "observed_on": day(&app, 1)})).await;
        expect_problem(res, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(table_counts(&app.database_url), before, "nothing stored");

    // Admins observe anyone in their organization.
    let res = observe(&app, &w.l.org.admin_token, json!({"learner_id": w.kim_id, "topic": "Closing", "applied": 1, "observed_on": day(&app, 0)})).await;
    expect_json(res, StatusCode::CREATED).await;

    // Reading them back: the coach within reach, the seller themself, nobody else.
    let sams = format!("/api/v1/users/{sam}/observations");
    let list = expect_json(app.get(&sams, Some(&w.mia)).await, StatusCode::OK).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], created["id"]);
    let own = expect_json(app.get(&sams, Some(&w.l.learner)).await, StatusCode::OK).await;
    assert_eq!(own, list);
    let kims = format!("/api/v1/users/{}/observations", w.kim_id);
    expect_problem(app.get(&kims, Some(&w.mia)).await, StatusCode::FORBIDDEN).await;
    expect_problem(
        app.get(&kims, Some(&w.analyst)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get(&kims, Some(&w.l.learner)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let kim_list = expect_json(
        app.get(&kims, Some(&w.l.org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kim_list[0]["topic"], "Closing");
    let globex = format!("/api/v1/users/{}/observations", other.learner_id);
    expect_problem(app.get(&globex, Some(&w.mia)).await, StatusCode::NOT_FOUND).await;

    // The person's data export lists them; erasure removes them.
    let export = expect_json(
        app.get(
            &format!("/api/v1/users/{sam}/data-export"),
            Some(&w.l.org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let held = export["held"]["observations"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{export}");
    assert_eq!(held[0][1], "Discovery");
    let res = app
        .post_json(
            &format!("/api/v1/users/{sam}/erase"),
            Some(&w.l.org.admin_token),
            &json!({"confirm_email": "sam@acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list = expect_json(
        app.get(&sams, Some(&w.l.org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list, json!([]));
}

#[actix_web::test]
async fn the_view_places_each_seller_and_topic_in_a_quadrant_with_a_next_step() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Sam answers everything right, Lou everything wrong, Kim everything right; two days on,
    // Sam still knows both topics and Lou knows neither.
    answer_all(&app, &w.l.learner, true).await;
    let lou = app.token("lou@acme.example").await;
    answer_all(&app, &lou, false).await;
    let kim = app.token("kim@acme.example").await;
    answer_all(&app, &kim, true).await;
    app.clock.advance(Duration::days(2));
    let mia = app.token("mia@acme.example").await;
    let analyst = app.token("ana@acme.example").await;
    let sam = w.l.learner_id.clone();

    let before = expect_json(app.get(VIEW, Some(&mia)).await, StatusCode::OK).await;
    assert_eq!(
        learners(&before),
        ["Lou", "Sam"],
        "Mia's people only: {before}"
    );
    for c in before["cells"].as_array().unwrap() {
        assert_eq!(c["quadrant"], "not_observed", "{c}");
        assert_eq!(c["next_action"], "ride_along", "{c}");
        assert!(c["advice"].as_str().unwrap().contains("ride-along"), "{c}");
        assert_eq!(c["evidence"], 0);
        assert!(c["application"].is_null());
    }
    assert!(
        cell(&before, "Sam", "Discovery")["proficiency"]
            .as_f64()
            .unwrap()
            >= 0.8
    );
    assert!(
        cell(&before, "Lou", "Discovery")["proficiency"]
            .as_f64()
            .unwrap()
            < 0.8
    );
    assert_eq!(cell(&before, "Sam", "Discovery")["n"], 3);

    let record = |learner: &str, topic: &str, applied: i32, days_ago: i64| json!({"learner_id": learner, "topic": topic, "applied": applied, "observed_on": day(&app, days_ago)});
    // Sam applies Discovery (an old 1 long outweighed by a fresh 4) but not Closing (an old 4
    // outweighed by a fresh 1); Lou applies Discovery without knowing it, and neither knows nor
    // applies Closing.
    for body in [
        record(&sam, "Discovery", 1, 240),
        record(&sam, "Discovery", 4, 1),
        record(&sam, "Closing", 4, 240),
        record(&sam, "Closing", 1, 1),
        record(&w.lou_id, "Discovery", 3, 3),
        record(&w.lou_id, "Closing", 2, 10),
        record(&sam, "Objections", 4, 0),
    ] {
        expect_json(observe(&app, &mia, body).await, StatusCode::CREATED).await;
    }
    let view = expect_json(app.get(VIEW, Some(&mia)).await, StatusCode::OK).await;
    let expect = |learner: &str, topic: &str, quadrant: &str, action: &str| {
        let c = cell(&view, learner, topic);
        assert_eq!(c["quadrant"], quadrant, "{c}");
        assert_eq!(c["next_action"], action, "{c}");
        assert!(c["advice"].as_str().unwrap().contains(learner), "{c}");
        assert!(c["advice"].as_str().unwrap().contains(topic), "{c}");
    };
    expect("Sam", "Discovery", "knows_and_applies", "none");
    expect("Sam", "Closing", "knows_not_applied", "pitch");
    expect("Lou", "Discovery", "applies_without_knowing", "refresher");
    expect("Lou", "Closing", "neither", "refresher");
    // A topic never studied but applied: no proficiency, applies without knowing.
    expect("Sam", "Objections", "applies_without_knowing", "refresher");
    assert!(cell(&view, "Sam", "Objections")["proficiency"].is_null());
    assert_eq!(cell(&view, "Sam", "Objections")["n"], 0);
    assert_eq!(
        view["topics"],
        json!(["Closing", "Discovery", "Objections"])
    );
    assert_eq!(
        (view["knows_at"].as_f64(), view["applies_at"].as_f64()),
        (Some(0.8), Some(0.6))
    );
    assert_eq!(view["half_life_days"], 60.0);
    let counts: Vec<(String, u64)> = view["quadrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["quadrant"].as_str().unwrap().to_string(),
                q["cells"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("knows_and_applies".to_string(), 1),
            ("knows_not_applied".to_string(), 1),
            ("applies_without_knowing".to_string(), 2),
            ("neither".to_string(), 1),
            ("not_observed".to_string(), 0),
        ]
    );

    // Decay: a 240-day-old observation weighs 1/16 of a fresh one (60-day half-life).
    let fresh = 0.5f64.powf(1.0 / 60.0);
    let old = 0.5f64.powf(240.0 / 60.0);
    let discovery = cell(&view, "Sam", "Discovery");
    let expected = fresh / (fresh + old);
    assert!(
        (discovery["application"].as_f64().unwrap() - expected).abs() < 1e-6,
        "{discovery}"
    );
    let closing = cell(&view, "Sam", "Closing");
    assert!(
        (closing["application"].as_f64().unwrap() - old / (fresh + old)).abs() < 1e-6,
        "{closing}"
    );
    assert_eq!(closing["evidence"], 2);
    assert_eq!(closing["latest_evidence_on"], day(&app, 1));
    // Lou's 3 from three days ago: (3-1)/3.
    let lou_d = cell(&view, "Lou", "Discovery");
    assert!(
        (lou_d["application"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-6,
        "{lou_d}"
    );

    // Analysts see the organization: Kim too, never observed.
    let org = expect_json(app.get(VIEW, Some(&analyst)).await, StatusCode::OK).await;
    assert_eq!(learners(&org), ["Kim", "Lou", "Sam"]);
    let k = cell(&org, "Kim", "Closing");
    assert_eq!(
        (k["quadrant"].as_str(), k["next_action"].as_str()),
        (Some("not_observed"), Some("ride_along"))
    );
    // The team filter; a manager's view of another team is a 404, like an unknown team.
    let south = expect_json(
        app.get(&format!("{VIEW}?team_id={}", w.south_id), Some(&analyst))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(learners(&south), ["Kim"]);
    let north = expect_json(
        app.get(&format!("{VIEW}?team_id={}", w.l.team_id), Some(&mia))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(learners(&north), ["Lou", "Sam"]);
    expect_problem(
        app.get(&format!("{VIEW}?team_id={}", w.south_id), Some(&mia))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The pack filter keeps its topics, on both sides.
    let sample = expect_json(
        app.get(&format!("{VIEW}?pack=sample"), Some(&mia)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(sample["topics"], json!(["Closing", "Discovery"]));
    let other = expect_json(
        app.get(&format!("{VIEW}?pack=other"), Some(&mia)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(other["topics"], json!(["Objections"]));
    assert_eq!(learners(&other), ["Sam"]);
    expect_problem(
        app.get(&format!("{VIEW}?pack=nowhere"), Some(&mia)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Sellers read no analytics.
    let sam_token = app.token(SAM).await;
    expect_problem(app.get(VIEW, Some(&sam_token)).await, StatusCode::FORBIDDEN).await;

    // CSV, by Accept or format: one row per cell.
    for (path, accept) in [
        (VIEW.to_string(), "text/csv"),
        (format!("{VIEW}?format=csv"), "*/*"),
    ] {
        let res = app
            .client
            .get(app.url(&path))
            .bearer_auth(&mia)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = res.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(
            header,
            [
                "learner_id",
                "learner",
                "topic",
                "proficiency",
                "n",
                "application",
                "evidence",
                "latest_evidence_on",
                "quadrant",
                "next_action",
                "advice"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), view["cells"].as_array().unwrap().len());
        let sam_closing = rows
            .iter()
            .find(|r| &r[1] == "Sam" && &r[2] == "Closing")
            .unwrap();
        assert_eq!(&sam_closing[8], "knows_not_applied");
        assert_eq!(&sam_closing[9], "pitch");
        assert_eq!(&sam_closing[7], day(&app, 1));
        assert!(NaiveDate::parse_from_str(&sam_closing[7], "%Y-%m-%d").is_ok());
    }

    // Months later, with no new observation, the same evidence still counts (it is the only
    // evidence), but a fresh 1 on Discovery outweighs the aging 4.
    app.clock.advance(Duration::days(120));
    let mia = app.token("mia@acme.example").await;
    expect_json(
        observe(&app, &mia, record(&sam, "Discovery", 1, 0)).await,
        StatusCode::CREATED,
    )
    .await;
    let later = expect_json(app.get(VIEW, Some(&mia)).await, StatusCode::OK).await;
    let d = cell(&later, "Sam", "Discovery");
    assert!(
        d["application"].as_f64().unwrap() < 0.6,
        "an old 4 weighs less than a fresh 1: {d}"
    );
}
