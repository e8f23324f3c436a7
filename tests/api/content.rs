//! Authoring: uploads in every format, precise errors, atomicity, publishing and exports.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const GIFT: &str = r#"// Moodle GIFT sample
$CATEGORY: $course$/Sales/Qualification

::q-budget::A prospect says there is no budget this year. What do you do next? {
  =Explore the cost of doing nothing and who else owns the problem.#Right: budget follows value.
  ~Close the opportunity.#Too early: budgets move when the problem is big enough.
  ~Offer a discount at once.#Discounting before value is shown trains the buyer to wait.
  ####Budget is an outcome of urgency; qualify the problem before the money.
}

::q-bant::BANT should be completed in the first call. {F#Wrong: qualification is gradual.#Right.####Qualify just in time, as the buyer learns.}

::q-multi::Which signal a buying process? {
  ~%50%A named decision date
  ~%50%A stakeholder asking for references
  ~%-100%A request for a brochure
  ####Dates and reference checks show commitment.
}
"#;

#[actix_web::test]
async fn yaml_upload_publish_and_immutable_versions() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    let yaml = sample_pack_yaml("sample");
    let created = expect_json(app.upload_yaml(&author, &yaml).await, StatusCode::CREATED).await;
    assert_eq!(created["outcome"], "created");
    assert_eq!(created["pack"]["has_draft"], true);
    let again = expect_json(app.upload_yaml(&author, &yaml).await, StatusCode::OK).await;
    assert_eq!(again["outcome"], "unchanged");

    let v1 = app.publish(&author, "sample").await;
    assert_eq!(
        (v1["version"].as_i64(), v1["nugget_count"].as_i64()),
        (Some(1), Some(6))
    );
    // Re-importing what is published is a no-op; publishing with no draft is a conflict.
    let same = expect_json(app.upload_yaml(&author, &yaml).await, StatusCode::OK).await;
    assert_eq!(same["outcome"], "unchanged");
    let res = app
        .post_json("/api/v1/packs/sample/publish", Some(&author), &json!({}))
        .await;
    expect_problem(res, StatusCode::CONFLICT).await;

    // A change makes a new draft; version 1 stays as it was.
    let changed = yaml.replace("Question 1?", "Question one, reworded?");
    let updated = expect_json(app.upload_yaml(&author, &changed).await, StatusCode::OK).await;
    assert_eq!(updated["outcome"], "updated");
    let v2 = app.publish(&author, "sample").await;
    assert_eq!(v2["version"], 2);
    let old = app
        .get(
            "/api/v1/packs/sample/export?format=yaml&version=1",
            Some(&author),
        )
        .await;
    let old = old.text().await.unwrap();
    assert!(
        old.contains("Question 1?") && !old.contains("reworded"),
        "{old}"
    );
    let new = app
        .get("/api/v1/packs/sample/export?format=yaml", Some(&author))
        .await
        .text()
        .await
        .unwrap();
    assert!(new.contains("reworded"));

    let detail = expect_json(
        app.get("/api/v1/packs/sample", Some(&author)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);
    assert_eq!(detail["pack"]["latest_version"], 2);
}

#[actix_web::test]
async fn broken_yaml_reports_lines_and_stores_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    let broken = sample_pack_yaml("sample")
        .replacen("        correct: true\n", "", 1)
        .replacen("key: q2", "key: q1", 1);
    let problem = expect_problem(
        app.upload_yaml(&author, &broken).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let errors = problem["errors"].as_array().unwrap();
    assert!(errors.len() >= 2, "{problem}");
    assert!(
        errors.iter().all(|e| e["line"].as_u64().is_some()),
        "{problem}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["field"].as_str().unwrap().starts_with("nuggets[0]")),
        "{problem}"
    );
    let packs = expect_json(
        app.get("/api/v1/packs", Some(&author)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(packs, json!([]));
}

#[actix_web::test]
async fn gift_imports_with_options_feedback_and_categories() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    let res = app
        .client
        .post(app.url("/api/v1/packs?format=gift&slug=qualify&title=Qualification"))
        .bearer_auth(&author)
        .header("content-type", "text/plain")
        .body(GIFT)
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::CREATED).await;
    let detail = expect_json(
        app.get("/api/v1/packs/qualify", Some(&author)).await,
        StatusCode::OK,
    )
    .await;
    let nuggets = detail["draft"]["nuggets"].as_array().unwrap();
    assert_eq!(nuggets.len(), 3);
    assert_eq!(nuggets[0]["key"], "q-budget");
    assert_eq!(nuggets[0]["topic"], "Qualification");
    assert_eq!(nuggets[0]["options"][0]["correct"], true);
    assert_eq!(
        nuggets[0]["options"][1]["feedback"],
        "Too early: budgets move when the problem is big enough."
    );
    assert!(nuggets[0]["explanation"]
        .as_str()
        .unwrap()
        .starts_with("Budget is an outcome"));
    let tf: Vec<(String, bool)> = nuggets[1]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["text"].as_str().unwrap().to_string(),
                o["correct"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        tf,
        vec![("True".to_string(), false), ("False".to_string(), true)]
    );
    let multi: Vec<bool> = nuggets[2]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["correct"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(multi, vec![true, true, false]);
}

#[actix_web::test]
async fn broken_gift_names_lines_and_imports_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    let broken = format!("{GIFT}\n::match::Match these {{ =a -> 1 =b -> 2 }}\n\n::open::Describe your process. {{}}\n");
    let res = app
        .client
        .post(app.url("/api/v1/packs?format=gift&slug=qualify&title=Qualification"))
        .bearer_auth(&author)
        .header("content-type", "text/plain")
        .body(broken)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let lines: Vec<u64> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["line"].as_u64())
        .collect();
    assert_eq!(lines.len(), 2, "{problem}");
    assert!(lines.iter().all(|&l| l >= 20), "{problem}");
    expect_problem(
        app.get("/api/v1/packs/qualify", Some(&author)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn exports_round_trip_through_every_format() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    expect_json(
        app.upload_yaml(&author, &sample_pack_yaml("sample")).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&author, "sample").await;
    let original = app
        .get("/api/v1/packs/sample/export?format=json", Some(&author))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    for (format, content_type) in [
        ("gift", "text/plain"),
        ("csv", "text/csv"),
        ("yaml", "application/yaml"),
    ] {
        let exported = app
            .get(
                &format!("/api/v1/packs/sample/export?format={format}"),
                Some(&author),
            )
            .await
            .text()
            .await
            .unwrap();
        let slug = format!("copy-{format}");
        let body = if format == "yaml" {
            exported.replace("slug: sample", &format!("slug: {slug}"))
        } else {
            exported
        };
        let res = app
            .client
            .post(app.url(&format!("/api/v1/packs?format={format}&slug={slug}&title=Sample%20pack%20sample&description=For%20tests.")))
            .bearer_auth(&author)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        expect_json(res, StatusCode::CREATED).await;
        app.publish(&author, &slug).await;
        let mut copy = app
            .get(
                &format!("/api/v1/packs/{slug}/export?format=json"),
                Some(&author),
            )
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap();
        copy["slug"] = json!("sample");
        assert_eq!(copy, original, "{format} round trip changed the pack");
    }
}

#[actix_web::test]
async fn only_authors_write_content_and_orgs_are_separate() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    let (_, learner) = app.create_user(&org, "sam@acme.example", "learner").await;
    expect_problem(
        app.upload_yaml(&learner, &sample_pack_yaml("x")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get("/api/v1/packs", Some(&learner)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_json(
        app.upload_yaml(&author, &sample_pack_yaml("sample")).await,
        StatusCode::CREATED,
    )
    .await;
    let other = app.create_org("Globex", "gus@globex.example").await;
    expect_problem(
        app.get("/api/v1/packs/sample", Some(&other.admin_token))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed = expect_json(
        app.get("/api/v1/packs", Some(&other.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
}

#[actix_web::test]
async fn assignments_check_their_references_and_manager_scope() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let body =
        |pack: &str, team: &str| json!({"pack": pack, "team_id": team, "starts_on": "2026-03-02"});
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &body("nope", &l.team_id),
        )
        .await;
    assert_eq!(
        problem_fields(&expect_problem(res, StatusCode::NOT_FOUND).await),
        vec!["pack"]
    );
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &body("sample", "nope"),
        )
        .await;
    assert_eq!(
        problem_fields(&expect_problem(res, StatusCode::NOT_FOUND).await),
        vec!["team_id"]
    );
    expect_json(
        app.upload_yaml(&l.author, &sample_pack_yaml("draft-only"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &body("draft-only", &l.team_id),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT).await;
    let res = app
        .post_json("/api/v1/assignments", Some(&l.author), &json!({"pack": "sample", "team_id": l.team_id, "starts_on": "2026-03-02", "daily_cap": 0, "desired_retention": 2}))
        .await;
    let mut fields = problem_fields(&expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await);
    fields.sort();
    assert_eq!(fields, vec!["daily_cap", "desired_retention"]);

    // A manager outside the team may neither assign to it nor see its assignments.
    let (_, manager) = app.create_user(&l.org, "mia@acme.example", "manager").await;
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&manager),
            &body("sample", &l.team_id),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
    let listed = expect_json(
        app.get("/api/v1/assignments", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
    let res = app
        .patch_json(
            &format!("/api/v1/assignments/{}", l.assignment_id),
            &manager,
            &json!({"daily_cap": 5}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .patch_json(
            &format!("/api/v1/assignments/{}", l.assignment_id),
            &l.author,
            &json!({"daily_cap": 5}),
        )
        .await;
    assert_eq!(expect_json(res, StatusCode::OK).await["daily_cap"], 5);
}
