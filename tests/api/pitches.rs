//! Pitch practice end to end: a seller records a pitch nugget once (a replay stores nothing
//! twice), the recording streams back with byte ranges to whoever may watch it, a manager scores
//! it and a weak score brings it back sooner, good ones are shared as exemplars. Refused uploads
//! (too big, too long, of a false type, replayed elsewhere, from another organization) leave no
//! row and no object behind.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const PITCH_PACK: &str = "slug: pitching
title: Pitching
nuggets:
  - key: price-objection
    kind: pitch
    topic: Discovery
    prompt: The buyer says your price is 20 % above the competitor's. Answer them.
    rubric:
      - criterion: Empathy
        description: Acknowledges the concern before answering it.
      - criterion: Value
        description: Ties the price to the value the buyer said they need.
    max_seconds: 10
";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/recordings/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("recording fixture")
}

/// A webm recording of a few seconds, as Chromium's MediaRecorder makes it.
fn webm() -> Vec<u8> {
    fixture("chromium-vp8-opus.webm")
}

/// The pitch pack published and assigned to the team of `l`; returns the pitch nugget's id.
async fn assign_pitch(app: &TestApp, l: &Learning) -> String {
    expect_json(
        app.upload_yaml(&l.author, PITCH_PACK).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&l.author, "pitching").await;
    expect_json(
        app.post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &json!({"pack": "pitching", "team_id": l.team_id, "starts_on": "2026-03-02", "daily_cap": 3}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let queue = app.queue(&l.learner).await;
    let pitch = queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "pitch")
        .unwrap_or_else(|| panic!("no pitch in the queue: {queue}"))
        .clone();
    assert_eq!(pitch["max_seconds"], 10);
    assert_eq!(pitch["rubric"][1]["criterion"], "Value");
    assert_eq!(pitch["options"], json!([]));
    pitch["nugget_id"].as_str().unwrap().to_string()
}

async fn upload(
    app: &TestApp,
    token: &str,
    nugget: &str,
    attempt: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!(
            "/api/v1/me/pitches?nugget_id={nugget}&attempt_id={attempt}"
        )))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Row counts of the tables an upload or an answer writes to (not those of accounts and
/// content, which the second organization of a test adds to).
fn activity_counts(counts: Vec<(&'static str, i64)>) -> Vec<(&'static str, i64)> {
    const SETUP: [&str; 11] = [
        "organizations",
        "users",
        "logins",
        "teams",
        "team_members",
        "packs",
        "pack_versions",
        "nuggets",
        "nugget_versions",
        "assignments",
        "refresh_tokens",
    ];
    counts
        .into_iter()
        .filter(|(t, _)| !SETUP.contains(t))
        .collect()
}

fn pitch_rows(app: &TestApp) -> i64 {
    table_counts(&app.database_url)
        .into_iter()
        .find(|(t, _)| *t == "pitches")
        .unwrap()
        .1
}

/// Keys kept in media storage under `prefix`.
async fn stored(app: &TestApp, prefix: &str) -> Vec<String> {
    app.blobs.keys(prefix).await.unwrap()
}

async fn recordings_of(app: &TestApp, l: &Learning) -> Vec<String> {
    let org = app.org_id(&l.learner).await;
    stored(
        app,
        &reprise::blobs::recordings_prefix(&org, &l.learner_id.as_str().into()),
    )
    .await
}

#[actix_web::test]
async fn a_seller_records_a_pitch_once_and_a_manager_reviews_it() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, manager) = app.add_team_manager(&l, "mia@acme.example").await;
    let nugget = assign_pitch(&app, &l).await;
    let attempt = uuid::Uuid::new_v4().to_string();
    let body = webm();

    let first = expect_json(
        upload(
            &app,
            &l.learner,
            &nugget,
            &attempt,
            "video/webm;codecs=vp8,opus",
            body.clone(),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["content_type"], "video/webm");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["bytes"], body.len());
    assert!(first["duration_ms"].as_i64().unwrap() > 1000, "{first}");
    let id = first["id"].as_str().unwrap().to_string();
    // The phone's outbox sends it again: the same pitch, nothing stored twice.
    let again = expect_json(
        upload(
            &app,
            &l.learner,
            &nugget,
            &attempt,
            "video/webm",
            body.clone(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(pitch_rows(&app), 1);
    assert_eq!(recordings_of(&app, &l).await.len(), 1);
    // Recorded: the pitch has left today's queue.
    let queue = app.queue(&l.learner).await;
    assert!(!ids(&queue).contains(&nugget), "{queue}");

    // The manager finds it pending and plays it, whole and by range.
    let pending = expect_json(
        app.get("/api/v1/pitches?status=pending", Some(&manager))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert!(pending[0]["prompt"]
        .as_str()
        .unwrap()
        .starts_with("The buyer"));
    let whole = app
        .get(&format!("/api/v1/pitches/{id}/recording"), Some(&manager))
        .await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["content-type"], "video/webm");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let cache = whole.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cache.contains("private") && cache.contains("no-store"),
        "{cache}"
    );
    assert_eq!(whole.bytes().await.unwrap().to_vec(), body);
    let part = app
        .client
        .get(app.url(&format!("/api/v1/pitches/{id}/recording")))
        .bearer_auth(&manager)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{}", body.len()).as_str()
    );
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        body[100..200].to_vec()
    );
    let outside = app
        .client
        .get(app.url(&format!("/api/v1/pitches/{id}/recording")))
        .bearer_auth(&manager)
        .header("range", format!("bytes={}-", body.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Scores name every criterion, 1 to 4.
    let missing = expect_problem(
        app.post_json(
            &format!("/api/v1/pitches/{id}/reviews"),
            Some(&manager),
            &json!({"scores": {"Empathy": 3}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "scores");
    let out_of_range = expect_problem(
        app.post_json(
            &format!("/api/v1/pitches/{id}/reviews"),
            Some(&manager),
            &json!({"scores": {"Empathy": 3, "Value": 5}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(out_of_range["errors"][0]["field"], "scores.Value");
    // The seller cannot score their own pitch.
    expect_problem(
        app.post_json(
            &format!("/api/v1/pitches/{id}/reviews"),
            Some(&l.learner),
            &json!({"scores": {"Empathy": 4, "Value": 4}}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let review = expect_json(
        app.post_json(
            &format!("/api/v1/pitches/{id}/reviews"),
            Some(&manager),
            &json!({"scores": {"empathy": 2, "Value": 4}, "comment": "Name their concern first."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(review["scores"], json!({"Empathy": 2, "Value": 4}));
    assert_eq!(review["mean_score"], 3.0);
    expect_problem(
        app.post_json(
            &format!("/api/v1/pitches/{id}/reviews"),
            Some(&manager),
            &json!({"scores": {"Empathy": 3, "Value": 4}}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let reviewed = expect_json(
        app.get("/api/v1/pitches?status=reviewed", Some(&manager))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(reviewed[0]["id"], id.as_str());

    // The review is application evidence: a mean of 3 of 4 on the pitch's topic.
    let matrix = expect_json(
        app.get("/api/v1/analytics/knowledge-application", Some(&manager))
            .await,
        StatusCode::OK,
    )
    .await;
    let cell = matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["learner_id"] == l.learner_id.as_str() && c["topic"] == "Discovery")
        .unwrap_or_else(|| panic!("no Discovery cell for the seller: {matrix}"))
        .clone();
    assert_eq!(cell["evidence"], 1, "{cell}");
    let application = cell["application"].as_f64().unwrap();
    assert!((application - 2.0 / 3.0).abs() < 1e-6, "{cell}");

    // A 2 brings the pitch back within two days, carrying the review.
    app.clock.advance(Duration::days(2));
    let sam = app.token("sam@acme.example").await;
    let queue = app.queue(&sam).await;
    let back = queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["nugget_id"] == nugget.as_str())
        .unwrap_or_else(|| panic!("the pitch did not come back: {queue}"))
        .clone();
    let carried: Vec<&Value> = queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.get("pitch_review"))
        .collect();
    assert_eq!(carried.len(), 1, "{queue}");
    assert_eq!(carried[0]["comment"], "Name their concern first.");
    assert_eq!(back["topic"], "Discovery");
    let review_id = carried[0]["id"].as_str().unwrap();
    let seen = app
        .client
        .post(app.url(&format!("/api/v1/me/pitch-reviews/{review_id}/seen")))
        .bearer_auth(&sam)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::NO_CONTENT);
    let queue = app.queue(&sam).await;
    assert!(queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n.get("pitch_review").is_none()));
    // Their own pitches show the review.
    let mine = expect_json(
        app.get("/api/v1/me/pitches", Some(&sam)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine[0]["reviews"][0]["scores"]["Empathy"], 2);
    assert_eq!(mine[0]["status"], "reviewed");
}

#[actix_web::test]
async fn recordings_are_private_until_shared_and_exemplars_reach_the_team() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, manager) = app.add_team_manager(&l, "mia@acme.example").await;
    let teammate = app.add_team_learner(&l, "tom@acme.example").await;
    let outsider = app
        .create_user(&l.org, "oscar@acme.example", "learner")
        .await
        .1;
    let (_, analyst) = app.create_user(&l.org, "ann@acme.example", "analyst").await;
    let nugget = assign_pitch(&app, &l).await;
    let pitch = expect_json(
        upload(
            &app,
            &l.learner,
            &nugget,
            &uuid::Uuid::new_v4().to_string(),
            "video/webm",
            webm(),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = pitch["id"].as_str().unwrap();
    let recording = format!("/api/v1/pitches/{id}/recording");
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    for token in [
        &teammate,
        &outsider,
        &analyst,
        &other.org.admin_token,
        &other.learner,
    ] {
        expect_problem(
            app.get(&recording, Some(token)).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    expect_problem(app.get(&recording, None).await, StatusCode::UNAUTHORIZED).await;
    let one = format!("/api/v1/pitches/{id}");
    expect_problem(app.get(&one, Some(&teammate)).await, StatusCode::NOT_FOUND).await;
    expect_problem(
        app.get(&one, Some(&other.org.admin_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let seen_by_manager = expect_json(app.get(&one, Some(&manager)).await, StatusCode::OK).await;
    assert_eq!(seen_by_manager["learner_name"], "Sam");
    assert_eq!(seen_by_manager["rubric"].as_array().unwrap().len(), 2);
    for token in [&l.learner, &manager, &l.org.admin_token] {
        assert_eq!(
            app.get(&recording, Some(token)).await.status(),
            StatusCode::OK
        );
    }
    // Sellers list nothing to review without peer review; the teammate cannot share.
    expect_problem(
        app.get("/api/v1/pitches", Some(&teammate)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.post_json(
            &format!("/api/v1/pitches/{id}/share"),
            Some(&teammate),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let shared = expect_json(
        app.post_json(
            &format!("/api/v1/pitches/{id}/share"),
            Some(&manager),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shared["shared"], true);
    assert_eq!(
        app.get(&recording, Some(&teammate)).await.status(),
        StatusCode::OK
    );
    expect_problem(
        app.get(&recording, Some(&outsider)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let exemplars = expect_json(
        app.get("/api/v1/me/exemplars", Some(&teammate)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(exemplars[0]["topic"], "Discovery");
    assert_eq!(exemplars[0]["pitches"][0]["id"], id);
    assert_eq!(exemplars[0]["pitches"][0]["reviews"], json!([]));
    let none = expect_json(
        app.get("/api/v1/me/exemplars", Some(&outsider)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none, json!([]));
    // With peer review on, a teammate may score it.
    expect_json(
        app.patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"peer_review": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let listed = expect_json(
        app.get("/api/v1/pitches", Some(&teammate)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    expect_json(
        app.post_json(
            &format!("/api/v1/pitches/{id}/reviews"),
            Some(&teammate),
            &json!({"scores": {"Empathy": 4, "Value": 3}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

#[actix_web::test]
async fn refused_uploads_leave_nothing_behind() {
    let app = spawn_with(|s| s.max_recording_bytes = 100_000).await;
    let l = app.setup_learning(3).await;
    let nugget = assign_pitch(&app, &l).await;
    let new_attempt = || uuid::Uuid::new_v4().to_string();
    let before = table_counts(&app.database_url);

    // Too big: refused before and while the body streams.
    let big = webm().repeat(4);
    assert!(big.len() > 100_000);
    let p = expect_problem(
        upload(&app, &l.learner, &nugget, &new_attempt(), "video/webm", big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("at most"), "{p}");
    // Too long: a 12-second recording for a 10-second pitch (11 s allowed).
    let p = expect_problem(
        upload(
            &app,
            &l.learner,
            &nugget,
            &new_attempt(),
            "audio/ogg",
            fixture("ffmpeg-opus-12s.ogg"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "body");
    assert!(p["detail"].as_str().unwrap().contains("allows 10 s"), "{p}");
    // A false type: a PNG sent as a video, an Ogg file sent as WebM, text.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let p = expect_problem(
        upload(&app, &l.learner, &nugget, &new_attempt(), "video/webm", png).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "body");
    expect_problem(
        upload(
            &app,
            &l.learner,
            &nugget,
            &new_attempt(),
            "video/webm",
            fixture("ffmpeg-opus-12s.ogg"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    expect_problem(
        upload(
            &app,
            &l.learner,
            &nugget,
            &new_attempt(),
            "text/plain",
            b"hello".to_vec(),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    expect_problem(
        upload(
            &app,
            &l.learner,
            &nugget,
            &new_attempt(),
            "video/webm",
            Vec::new(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Not a pitch, not assigned, another organization's seller.
    let question = ids(&app.queue(&l.learner).await)
        .into_iter()
        .find(|n| *n != nugget)
        .unwrap();
    let p = expect_problem(
        upload(
            &app,
            &l.learner,
            &question,
            &new_attempt(),
            "audio/ogg",
            fixture("ffmpeg-opus-12s.ogg"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "nugget_id");
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    expect_problem(
        upload(
            &app,
            &other.learner,
            &nugget,
            &new_attempt(),
            "audio/ogg",
            fixture("ffmpeg-opus-12s.ogg"),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let p = expect_problem(
        upload(
            &app,
            &l.learner,
            &nugget,
            "not-a-uuid",
            "audio/ogg",
            fixture("ffmpeg-opus-12s.ogg"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "attempt_id");
    // Answering a pitch as a question is refused too.
    let p = expect_problem(
        app.answer(&l.learner, &nugget, &["a"]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "nugget_id");

    // What setting up the other organization wrote aside, nothing changed.
    assert_eq!(
        activity_counts(table_counts(&app.database_url)),
        activity_counts(before)
    );
    assert_eq!(pitch_rows(&app), 0);
    assert!(recordings_of(&app, &l).await.is_empty());
    assert!(recordings_of(&app, &other).await.is_empty());
}

#[actix_web::test]
async fn erasing_a_seller_deletes_their_recordings() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = assign_pitch(&app, &l).await;
    expect_json(
        upload(
            &app,
            &l.learner,
            &nugget,
            &uuid::Uuid::new_v4().to_string(),
            "video/webm",
            webm(),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let export = expect_json(
        app.get(
            &format!("/api/v1/users/{}/data-export", l.learner_id),
            Some(&l.org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        export["held"]["pitches"].as_array().unwrap().len(),
        1,
        "{export}"
    );
    let org = app.org_id(&l.learner).await;
    let prefix = reprise::blobs::recordings_prefix(&org, &l.learner_id.as_str().into());
    assert_eq!(stored(&app, &prefix).await.len(), 1);
    let res = app
        .post_json(
            &format!("/api/v1/users/{}/erase", l.learner_id),
            Some(&l.org.admin_token),
            &json!({"confirm_email": "sam@acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(pitch_rows(&app), 0);
    assert!(stored(&app, &prefix).await.is_empty());
}

#[actix_web::test]
async fn pitch_nuggets_are_checked_in_packs() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let bad = PITCH_PACK
        .replace("max_seconds: 10", "max_seconds: 5")
        .replace("      - criterion: Value\n        description: Ties the price to the value the buyer said they need.\n", "");
    let p = expect_problem(
        app.upload_yaml(&l.author, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"nuggets[0].rubric"), "{p}");
    assert!(fields.contains(&"nuggets[0].max_seconds"), "{p}");
    // Published, it exports as YAML with its rubric, and GIFT refuses it by name.
    expect_json(
        app.upload_yaml(&l.author, PITCH_PACK).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&l.author, "pitching").await;
    let yaml = app
        .get("/api/v1/packs/pitching/export?format=yaml", Some(&l.author))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        yaml.contains("kind: pitch") && yaml.contains("criterion: Empathy"),
        "{yaml}"
    );
    let p = expect_problem(
        app.get("/api/v1/packs/pitching/export?format=gift", Some(&l.author))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "format");
}
