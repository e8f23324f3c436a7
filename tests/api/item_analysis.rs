//! Item analysis over HTTP: four sellers answer the sample pack, the author reads figures worked
//! out by hand; other roles and organizations are kept out.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn close(got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
}

fn shares(nugget: &Value) -> Vec<(String, f64, bool)> {
    nugget["option_shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["share"].as_f64().unwrap(),
                o["correct"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn assert_shares(nugget: &Value, want: &[(&str, f64, bool)]) {
    let got = shares(nugget);
    assert_eq!(got.len(), want.len(), "{nugget}");
    for ((id, share, correct), (want_id, want_share, want_correct)) in got.iter().zip(want) {
        assert_eq!(
            (id.as_str(), *correct),
            (*want_id, *want_correct),
            "{nugget}"
        );
        assert!(
            (share - want_share).abs() < 1e-9,
            "{id}: got {share}, want {want_share}"
        );
    }
}

fn flags(nugget: &Value) -> Vec<&str> {
    nugget["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect()
}

/// First attempts (✓ right, ✗ wrong, – none) of the sample pack: q1…q5 have options a, b, c
/// with b right; `multi` has a and c right.
///
/// ```text
///          q1    q2      q3    q4      q5  multi
///   sam    b ✓   b ✓     a ✗   b ✓     –   a,c ✓
///   kim    b ✓   b ✓     a ✗   b ✓     –   a   ✗
///   lou    b ✓   a ✗     a ✗   c ✗     –   a,b,c ✗
///   max    b ✓   c ✗     b ✓   –       –   c   ✗
/// ```
/// A day later kim answers q2 again (a) and lou q3 (b): counted as attempts, not analysed.
///
/// Pack scores (right/answered): sam 4/5, kim 3/5, lou 1/5, max 2/4. Rest score for a nugget =
/// (right − this one) / (answered − 1). Point-biserial r = (M₁ − M₀)/s · √(pq), s the population
/// standard deviation of the rest scores:
/// - q1: everyone right → x does not vary → null.
/// - q2: x = (1,1,0,0), rest = (¾, ½, ¼, ⅔); mean 13/24; deviations (5,−1,−7,3)/24, s² = 21/576,
///   s = √21/24; M₁ − M₀ = 15/24 − 11/24 = 4/24; √pq = ½ → r = 2/√21 ≈ 0.4364358.
/// - q3: x = (0,0,0,1), rest = (1, ¾, ¼, ⅓); mean 7/12; deviations (5,2,−4,−3)/12, s² = 3/32;
///   M₁ − M₀ = ⅓ − ⅔ = −⅓; √pq = √3/4 → r = −⅓ · √(32/3) · √3/4 = −√2/3 ≈ −0.4714045.
/// - q4 (sam, kim, lou): x = (1,1,0), rest = (¾, ½, ¼); mean ½; s² = 1/24; M₁ − M₀ = ⅝ − ¼ = ⅜;
///   √pq = √2/3 → r = ⅜ · √24 · √2/3 = √3/2 ≈ 0.8660254.
/// - multi: x = (1,0,0,0), rest = (¾, ¾, ¼, ⅔); mean 29/48; deviations (7,7,−17,3)/48,
///   s² = 99/2304, s = √99/48; M₁ − M₀ = ¾ − 5/9 = 7/36; √pq = √3/4 → r = 7/(3√33) ≈ 0.4061812.
#[actix_web::test]
async fn authors_get_first_attempt_figures_per_nugget() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let kim = app.add_team_learner(&l, "kim@acme.example").await;
    let lou = app.add_team_learner(&l, "lou@acme.example").await;
    let max = app.add_team_learner(&l, "max@acme.example").await;
    let ids: Vec<String> = app.queue(&l.learner).await["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nugget_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 6);
    let (q1, q2, q3, q4, multi) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[5]);

    let answers: Vec<(&str, &String, &[&str], u32)> = vec![
        (&l.learner, q1, &["b"], 12000),
        (&kim, q1, &["b"], 12000),
        (&lou, q1, &["b"], 12000),
        (&max, q1, &["b"], 12000),
        (&l.learner, q2, &["b"], 4000),
        (&kim, q2, &["b"], 6000),
        (&lou, q2, &["a"], 10000),
        (&max, q2, &["c"], 20000),
        (&l.learner, q3, &["a"], 12000),
        (&kim, q3, &["a"], 12000),
        (&lou, q3, &["a"], 12000),
        (&max, q3, &["b"], 12000),
        (&l.learner, q4, &["b"], 5000),
        (&kim, q4, &["b"], 7000),
        (&lou, q4, &["c"], 30000),
        (&l.learner, multi, &["a", "c"], 12000),
        (&kim, multi, &["a"], 12000),
        (&lou, multi, &["a", "b", "c"], 12000),
        (&max, multi, &["c"], 12000),
    ];
    for (token, nugget, selected, ms) in answers {
        expect_json(
            app.answer_in(token, nugget, selected, ms).await,
            StatusCode::CREATED,
        )
        .await;
    }
    app.clock.advance(Duration::days(1));
    let kim = app.token("kim@acme.example").await;
    let lou = app.token("lou@acme.example").await;
    let again = expect_json(
        app.answer_in(&kim, q2, &["a"], 1000).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["correct"], false);
    let again = expect_json(
        app.answer_in(&lou, q3, &["b"], 1000).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["correct"], true);

    let author = app.token("lena@acme.example").await;
    let report = expect_json(
        app.get("/api/v1/packs/sample/analysis", Some(&author))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["slug"], "sample");
    assert_eq!(report["latest_version"], 1);
    assert_eq!(
        (report["learners"].as_u64(), report["attempts"].as_u64()),
        (Some(4), Some(20))
    );
    let n = report["nuggets"].as_array().unwrap();
    let keys: Vec<&str> = n.iter().map(|n| n["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["q1", "q2", "q3", "q4", "q5", "multi"]);
    let counts: Vec<(u64, u64)> = n
        .iter()
        .map(|n| {
            (
                n["attempts"].as_u64().unwrap(),
                n["learners"].as_u64().unwrap(),
            )
        })
        .collect();
    // kim's second answer to q2, right the day before and not yet due again, is practice: no
    // attempt. lou's second answer to q3, wrong the day before and so due, counts.
    assert_eq!(counts, [(4, 4), (4, 4), (5, 4), (3, 3), (0, 0), (4, 4)]);

    // q1: everyone right; four learners are too few for `too_easy`.
    close(&n[0]["first_attempt_correct_rate"], 1.0);
    assert!(n[0]["discrimination"].is_null());
    close(&n[0]["median_response_ms"], 12000.0);
    assert_shares(
        &n[0],
        &[("a", 0.0, false), ("b", 1.0, true), ("c", 0.0, false)],
    );
    assert_eq!(n[0]["option_shares"][1]["text"], "Right 1");
    assert_eq!(n[0]["topic"], "Discovery");
    assert_eq!(n[0]["prompt"], "Question 1?");
    assert_eq!(flags(&n[0]), Vec::<&str>::new());

    // q2: kim's practice answer (wrong, 1 s) changes nothing.
    close(&n[1]["first_attempt_correct_rate"], 0.5);
    close(&n[1]["discrimination"], 2.0 / 21f64.sqrt());
    close(&n[1]["median_response_ms"], 8000.0);
    assert_shares(
        &n[1],
        &[("a", 0.25, false), ("b", 0.5, true), ("c", 0.25, false)],
    );
    assert_eq!(flags(&n[1]), Vec::<&str>::new());

    // q3: lou's later right answer does not count; the one right first answer came from a
    // weaker seller.
    close(&n[2]["first_attempt_correct_rate"], 0.25);
    close(&n[2]["discrimination"], -(2f64.sqrt()) / 3.0);
    close(&n[2]["median_response_ms"], 12000.0);
    assert_shares(
        &n[2],
        &[("a", 0.75, false), ("b", 0.25, true), ("c", 0.0, false)],
    );
    assert_eq!(
        flags(&n[2]),
        ["distractor_beats_answer", "negative_discrimination"]
    );

    close(&n[3]["first_attempt_correct_rate"], 2.0 / 3.0);
    close(&n[3]["discrimination"], 3f64.sqrt() / 2.0);
    close(&n[3]["median_response_ms"], 7000.0);
    assert_shares(
        &n[3],
        &[
            ("a", 0.0, false),
            ("b", 2.0 / 3.0, true),
            ("c", 1.0 / 3.0, false),
        ],
    );
    assert_eq!(flags(&n[3]), Vec::<&str>::new());

    // q5: never answered.
    for field in [
        "first_attempt_correct_rate",
        "discrimination",
        "median_response_ms",
    ] {
        assert!(n[4][field].is_null(), "{field}: {}", n[4]);
    }
    assert_shares(
        &n[4],
        &[("a", 0.0, false), ("b", 0.0, true), ("c", 0.0, false)],
    );
    assert_eq!(flags(&n[4]), Vec::<&str>::new());

    // multi: a multi-select answer counts for every option it chose.
    close(&n[5]["first_attempt_correct_rate"], 0.25);
    close(&n[5]["discrimination"], 7.0 / (3.0 * 33f64.sqrt()));
    assert_shares(
        &n[5],
        &[("a", 0.75, true), ("b", 0.25, false), ("c", 0.75, true)],
    );
    assert_eq!(flags(&n[5]), Vec::<&str>::new());

    // Admins may read it too.
    let admin = app.token("ada@acme.example").await;
    let same = expect_json(
        app.get("/api/v1/packs/sample/analysis", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(same, report);
}

#[actix_web::test]
async fn only_authors_and_admins_of_the_pack_organization_see_it() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let res = app
        .get("/api/v1/packs/sample/analysis", Some(&l.learner))
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    let (_, analyst) = app.create_user(&l.org, "hr@acme.example", "analyst").await;
    let res = app
        .get("/api/v1/packs/sample/analysis", Some(&analyst))
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    let res = app.get("/api/v1/packs/sample/analysis", None).await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;

    let res = app
        .get("/api/v1/packs/nope/analysis", Some(&l.author))
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;

    // Another organization's author sees no pack called `sample`.
    let other = app.create_org("Globex", "gus@globex.example").await;
    let (_, other_author) = app
        .create_user(&other, "olga@globex.example", "author")
        .await;
    let res = app
        .get("/api/v1/packs/sample/analysis", Some(&other_author))
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .get("/api/v1/packs/sample/analysis", Some(&other.admin_token))
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;

    // With no answers yet every nugget is listed with empty figures.
    let report = expect_json(
        app.get("/api/v1/packs/sample/analysis", Some(&l.author))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (report["learners"].as_u64(), report["attempts"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(report["nuggets"].as_array().unwrap().len(), 6);
}

#[actix_web::test]
async fn nuggets_read_as_their_newest_version_and_retired_ones_stay() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let yaml = sample_pack_yaml("sample").replace("Question 1?", "Question one, reworded?");
    let start = yaml.find("  - key: q5").unwrap();
    let end = yaml.find("  - key: multi").unwrap();
    let without_q5 = format!("{}{}", &yaml[..start], &yaml[end..]);
    expect_json(
        app.upload_yaml(&l.author, &without_q5).await,
        StatusCode::OK,
    )
    .await;
    app.publish(&l.author, "sample").await;
    let report = expect_json(
        app.get("/api/v1/packs/sample/analysis", Some(&l.author))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["latest_version"], 2);
    let n = report["nuggets"].as_array().unwrap();
    let keys: Vec<(&str, bool)> = n
        .iter()
        .map(|n| (n["key"].as_str().unwrap(), n["retired"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [
            ("q1", false),
            ("q2", false),
            ("q3", false),
            ("q4", false),
            ("multi", false),
            ("q5", true)
        ]
    );
    assert_eq!(n[0]["prompt"], "Question one, reworded?");
    assert_eq!(n[5]["prompt"], "Question 5?");
}
