//! The demo organization as `reprise serve --demo` makes it, with nothing but the binary: the
//! sample packs built in, a history of answers, and KPI figures the correlation view can read.

use reqwest::StatusCode;

use crate::helpers::{expect_json, spawn_app, TestApp};

/// An access token of a demo account.
async fn demo_token(app: &TestApp, email: &str) -> String {
    app.login(email, reprise::demo::PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn the_demo_needs_no_content_folder_and_fills_the_kpi_view() {
    let app = spawn_app().await;
    let pool = app.pool();
    let now = app.clock.now();
    let (packs, kpis, observations, recordings) = actix_web::web::block(move || {
        let mut conn = pool.get().unwrap();
        reprise::demo::ensure(&mut conn, now).unwrap();
        let samples = reprise::demo::sample_packs(None).unwrap();
        let packs = reprise::demo::load_content(&mut conn, &samples, now).unwrap();
        assert!(reprise::demo::start_experiment(&mut conn, now).unwrap());
        reprise::demo::generate_history(&mut conn, now).unwrap();
        assert!(
            !reprise::demo::start_experiment(&mut conn, now).unwrap(),
            "once"
        );
        let kpis = reprise::demo::kpis::seed(&mut conn, now).unwrap();
        let again = reprise::demo::kpis::seed(&mut conn, now).unwrap();
        assert_eq!(again, 0, "a restart keeps the figures");
        let coaching = reprise::demo::coaching::seed(&mut conn, now).unwrap();
        assert_eq!((coaching.refreshers, coaching.notes), (2, 2));
        let again = reprise::demo::coaching::seed(&mut conn, now).unwrap();
        assert_eq!(
            again,
            Default::default(),
            "a restart keeps the coaching loop"
        );
        let recordings = reprise::demo::pitches::seed(&mut conn, now).unwrap();
        assert_eq!(recordings.len(), 5, "five demo pitches");
        assert!(
            reprise::demo::pitches::seed(&mut conn, now)
                .unwrap()
                .is_empty(),
            "a restart keeps the pitches"
        );
        let observations = reprise::demo::observations::seed(&mut conn, now).unwrap();
        assert!(
            (8..=16).contains(&observations),
            "up to eight sellers × topics known, eight not: {observations}"
        );
        assert_eq!(
            reprise::demo::observations::seed(&mut conn, now).unwrap(),
            0,
            "a restart keeps the observations"
        );
        (packs, kpis, observations, recordings)
    })
    .await
    .unwrap();
    reprise::demo::pitches::store_recordings(&app.blobs, &recordings)
        .await
        .unwrap();
    assert_eq!(packs, 8, "every sample pack, from the binary");
    assert_eq!(kpis, 60, "three figures for each of the twenty sellers");

    // Pitch practice: pitches to review, reviews, an exemplar, and recordings that play.
    let admin_token = demo_token(&app, "admin@demo.example").await;
    let pitches = expect_json(
        app.get("/api/v1/pitches", Some(&admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let pitches = pitches.as_array().unwrap();
    assert_eq!(pitches.len(), 5);
    assert_eq!(
        pitches.iter().filter(|p| p["status"] == "pending").count(),
        1
    );
    let shared: Vec<_> = pitches.iter().filter(|p| p["shared"] == true).collect();
    assert_eq!(shared.len(), 1);
    let recording = app
        .get(
            shared[0]["recording_url"].as_str().unwrap(),
            Some(&admin_token),
        )
        .await;
    assert_eq!(recording.status(), StatusCode::OK);
    assert_eq!(
        recording.bytes().await.unwrap().len(),
        reprise::demo::pitches::SAMPLE.len()
    );
    let teammate = demo_token(&app, "seller11@demo.example").await;
    let exemplars = expect_json(
        app.get("/api/v1/me/exemplars", Some(&teammate)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        exemplars[0]["pitches"].as_array().unwrap().len(),
        1,
        "{exemplars}"
    );

    let admin = demo_token(&app, "admin@demo.example").await;
    let view = expect_json(
        app.get("/api/v1/analytics/kpi-correlation", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    let everyone: Vec<_> = view["correlations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["team_id"].is_null())
        .collect();
    let metrics: Vec<&str> = everyone
        .iter()
        .map(|c| c["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        metrics.len(),
        3,
        "win rate, quota attainment and deal size: {view}"
    );
    for c in &everyone {
        assert_eq!(c["n"], 20, "{c}");
        assert!(
            c["pearson"].as_f64().unwrap() > 0.0,
            "tied to proficiency: {c}"
        );
    }

    // The coaching loop's views show something: a refresher partly answered, one planned
    // today, leaderboards on with pseudonyms, a note waiting in a seller's queue.
    let manager = demo_token(&app, "manager@demo.example").await;
    let refreshers = expect_json(
        app.get("/api/v1/refreshers", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    let list = refreshers.as_array().unwrap();
    assert_eq!(list.len(), 2, "{refreshers}");
    let answered: Vec<u64> = list
        .iter()
        .map(|r| r["answered"].as_u64().unwrap())
        .collect();
    assert!(answered.iter().any(|&a| a > 0), "{refreshers}");
    assert!(
        list.iter()
            .any(|r| r["answered"].as_u64() < r["planned"].as_u64()),
        "{refreshers}"
    );
    let seller = demo_token(&app, "seller01@demo.example").await;
    let board = expect_json(
        app.get("/api/v1/leaderboards?scope=org", Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(board["enabled"], true);
    assert_eq!(board["people"].as_array().unwrap().len(), 20);
    assert!(board["people"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "Quota Crusher"));
    let queue = expect_json(
        app.get("/api/v1/me/queue", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        queue["nuggets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.get("coach_note").is_some()),
        "{queue}"
    );

    // Field observations by the manager: the knowledge × application matrix shows every
    // quadrant, and at least two.
    let matrix = expect_json(
        app.get("/api/v1/analytics/knowledge-application", Some(&manager))
            .await,
        StatusCode::OK,
    )
    .await;
    let filled: Vec<&str> = matrix["quadrants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["cells"].as_u64() > Some(0))
        .map(|q| q["quadrant"].as_str().unwrap())
        .collect();
    assert!(filled.len() >= 2, "{filled:?}");
    assert_eq!(
        filled,
        [
            "knows_and_applies",
            "knows_not_applied",
            "applies_without_knowing",
            "neither",
            "not_observed"
        ],
        "every quadrant"
    );
    let observed: Vec<&serde_json::Value> = matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["evidence"].as_u64() > Some(0))
        .collect();
    // Each observation is a cell of its own; the four reviewed pitches add theirs.
    assert!(
        (observations..=observations + 4).contains(&observed.len()),
        "{} cells with evidence for {observations} observations",
        observed.len()
    );
    let someone = observed[0]["learner_id"].as_str().unwrap();
    let list = expect_json(
        app.get(
            &format!("/api/v1/users/{someone}/observations"),
            Some(&manager),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list[0]["observer_name"], "Manager", "{list}");

    // A running experiment, FSRS against the planner, with probes answered in both arms.
    let list = expect_json(
        app.get("/api/v1/experiments", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let id = list[0]["id"].as_str().unwrap();
    let report = expect_json(
        app.get(&format!("/api/v1/experiments/{id}"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    let arms = report["arms"].as_array().unwrap();
    let policies: Vec<&str> = arms.iter().map(|a| a["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, ["fsrs", "planner"], "{report}");
    for a in arms {
        assert!(a["learners"].as_u64().unwrap() > 0, "{a}");
        assert!(a["probes"].as_u64().unwrap() > 0, "{a}");
    }

    // A folder that does not exist is named, not an empty demo.
    let missing = reprise::demo::sample_packs(Some(std::path::Path::new("/no/such/folder")))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/no/such/folder"), "{missing}");
}
