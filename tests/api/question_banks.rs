//! Question banks as L&D exports them from an LMS (`tests/fixtures/question-banks/`): a Moodle
//! GIFT export with HTML questions, escapes, partial credit, general feedback on some questions
//! only and question types Reprise does not ask; an Aiken file; a CSV file without
//! explanations. They import with warnings by line, strictly on request, and a seller answering
//! a nugget without an explanation still learns the right answer.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_json, expect_problem, spawn_app, Org, TestApp};

const GIFT: &str = include_str!("../fixtures/question-banks/moodle-sales.gift");
const AIKEN: &str = include_str!("../fixtures/question-banks/objections.txt");
const CSV: &str = include_str!("../fixtures/question-banks/pricing-bank.csv");

async fn upload(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/packs?{query}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// `(line, message)` of each warning.
fn warnings(result: &Value) -> Vec<(Option<u64>, String)> {
    result["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["line"].as_u64(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn draft(app: &TestApp, token: &str, slug: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/packs/{slug}"), Some(token)).await,
        StatusCode::OK,
    )
    .await
}

async fn author_of(app: &TestApp) -> (Org, String) {
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, author) = app.create_user(&org, "lena@acme.example", "author").await;
    (org, author)
}

#[actix_web::test]
async fn a_moodle_bank_imports_what_reprise_asks_and_says_what_it_skipped() {
    let app = spawn_app().await;
    let (_, author) = author_of(&app).await;

    // Without asking to skip: each unsupported question is an error on its line, nothing kept.
    let problem = expect_problem(
        upload(
            &app,
            &author,
            "format=gift&slug=sales-academy",
            "text/plain",
            GIFT,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let refused: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (49, "unsupported GIFT question type: matching".to_string()),
            (56, "unsupported GIFT question type: numerical".into()),
            (59, "unsupported GIFT question type: short answer".into()),
            (62, "unsupported GIFT question type: essay".into()),
            (
                65,
                "unsupported GIFT question type: description (no answer block)".into()
            ),
        ],
        "{problem}"
    );
    expect_problem(
        app.get("/api/v1/packs/sales-academy", Some(&author)).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Skipping them: the rest imports, titled after the bank's first category.
    let result = expect_json(
        upload(
            &app,
            &author,
            "format=gift&slug=sales-academy&skip_unsupported=true",
            "text/plain",
            GIFT,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["pack"]["title"], "Discovery");
    let said = warnings(&result);
    assert_eq!(
        said[0],
        (
            None,
            "5 questions skipped (1 matching, 1 numerical, 1 short answer, 1 essay, 1 \
             description): Reprise asks multiple choice and true/false"
                .to_string()
        )
    );
    let no_explanation: Vec<u64> = said
        .iter()
        .filter(|(_, m)| m.starts_with("no explanation"))
        .filter_map(|(line, _)| *line)
        .collect();
    assert_eq!(no_explanation, [19, 22, 41, 68], "{said:?}");
    assert_eq!(
        said.iter()
            .filter(|(_, m)| m.starts_with("skipped"))
            .count(),
        5
    );

    let detail = draft(&app, &author, "sales-academy").await;
    let nuggets = detail["draft"]["nuggets"].as_array().unwrap();
    let keys: Vec<&str> = nuggets.iter().map(|n| n["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "pain-before-budget",
            "ratio-2-1",
            "open-questions",
            "curly-braces",
            "anchor",
            "walk-away"
        ]
    );
    // HTML read as text, feedback kept, general feedback as the explanation.
    let pain = &nuggets[0];
    assert_eq!(pain["topic"], "Discovery");
    assert_eq!(
        pain["prompt"],
        "In discovery, which do you establish first?"
    );
    assert_eq!(pain["options"][0]["text"], "The cost of the problem");
    assert_eq!(pain["options"][0]["correct"], true);
    assert_eq!(
        pain["options"][1]["feedback"],
        "Too early: budgets move when the problem is big enough."
    );
    let why = pain["explanation"].as_str().unwrap();
    assert!(why.starts_with("Budget is an outcome of pain."), "{why}");
    assert!(why.ends_with("Quantify the problem first."), "{why}");
    // Escapes and true/false with Moodle's two feedbacks.
    let ratio = &nuggets[1];
    assert!(ratio["prompt"]
        .as_str()
        .unwrap()
        .contains("about 2:1 = two thirds"));
    assert_eq!(ratio["options"][0]["text"], "True");
    assert_eq!(ratio["options"][0]["feedback"], "Right: ask, then listen.");
    assert_eq!(ratio["explanation"], "");
    // Partial credit: the positively weighted answers are the correct ones.
    let open = &nuggets[2];
    let correct: Vec<bool> = open["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["correct"].as_bool().unwrap())
        .collect();
    assert_eq!(correct, [true, true, false, false]);
    assert_eq!(open["options"][2]["feedback"], "Closed: yes or no.");
    assert_eq!(nuggets[3]["options"][0]["text"], "{");
    assert_eq!(
        nuggets[3]["explanation"],
        "The answer block is written between { and }."
    );
    // A multi-line markdown question keeps its lines, in the next category.
    assert_eq!(nuggets[4]["topic"], "Negotiation");
    assert_eq!(
        nuggets[4]["prompt"],
        "Who should **name a number first** in a negotiation\nwhere you know the market well?"
    );

    // A strict import refuses the same file, naming every warning as an error.
    let problem = expect_problem(
        upload(
            &app,
            &author,
            "format=gift&slug=sales-strict&skip_unsupported=true&strict=true",
            "text/plain",
            GIFT,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem["errors"].as_array().unwrap().len(),
        said.len(),
        "{problem}"
    );
}

#[actix_web::test]
async fn aiken_and_csv_banks_import_and_an_organization_can_insist_on_explanations() {
    let app = spawn_app().await;
    let (org, author) = author_of(&app).await;

    let aiken = expect_json(
        upload(
            &app,
            &author,
            "format=aiken&slug=objections",
            "text/plain",
            AIKEN,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(aiken["pack"]["title"], "Objections", "title from the slug");
    assert_eq!(warnings(&aiken), []);
    let nuggets = draft(&app, &author, "objections").await["draft"]["nuggets"].clone();
    assert_eq!(nuggets.as_array().unwrap().len(), 3);
    assert_eq!(nuggets[1]["options"][2]["correct"], true);
    assert_eq!(nuggets[1]["options"][0]["text"], "\"Just checking in.\"");

    let csv = expect_json(
        upload(&app, &author, "slug=pricing-bank", "text/csv", CSV).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(csv["pack"]["title"], "Pricing bank");
    let lines: Vec<Option<u64>> = warnings(&csv).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        lines,
        [Some(2), Some(3), Some(4)],
        "one per nugget, by line"
    );
    let nuggets = draft(&app, &author, "pricing-bank").await["draft"]["nuggets"].clone();
    assert_eq!(
        nuggets[2]["prompt"],
        "Which are ways to hold price?\n(Pick two.)"
    );

    // The organization asks for strictness: the same file is refused, nothing changes.
    let res = app
        .patch_json(
            "/api/v1/org",
            &org.admin_token,
            &json!({"strict_imports": true}),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["strict_imports"],
        true
    );
    let problem = expect_problem(
        upload(&app, &author, "slug=pricing-strict", "text/csv", CSV).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["explanation"; 3], "{problem}");
    expect_problem(
        app.get("/api/v1/packs/pricing-strict", Some(&author)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn a_seller_answering_a_nugget_without_explanation_sees_the_right_answer() {
    let app = spawn_app().await;
    let l = app.setup_learning(20).await;
    expect_json(
        upload(&app, &l.author, "slug=pricing-bank", "text/csv", CSV).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&l.author, "pricing-bank").await;
    let res = app
        .post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &json!({"pack": "pricing-bank", "team_id": l.team_id, "starts_on": "2026-03-02", "daily_cap": 20}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;

    let queue = app.queue(&l.learner).await;
    let item = queue["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["prompt"]
                .as_str()
                .unwrap()
                .starts_with("Your first proposal")
        })
        .expect("the pricing nugget is queued")
        .clone();
    let wrong = item["options"][1]["id"].as_str().unwrap();
    let result = expect_json(
        app.answer(&l.learner, item["nugget_id"].as_str().unwrap(), &[wrong])
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["correct"], false);
    assert_eq!(result["explanation"], "");
    let right: Vec<&str> = result["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["correct"] == true)
        .map(|o| o["text"].as_str().unwrap())
        .collect();
    assert_eq!(right, ["At the top of the range you can defend"]);
    assert_eq!(
        result["options"][1]["feedback"],
        "Goodwill rarely survives the next concession."
    );
}
