//! Roster imports: a CSV of people (`email,name,role,team,manager_email`) planned, reported as
//! a diff by a dry run, applied all or nothing, idempotent, with every error by line; and the
//! same from the command line.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::*;

const ROSTER: &str = "\
email,name,role,team,manager_email
ann@acme.example,Ann Lee,,EMEA/Benelux,mia@acme.example
bob@acme.example,Bob King,author,EMEA/Benelux,mia@acme.example
mia@acme.example,Mia Manager,manager,EMEA,
cal@acme.example,Cal Ng,analyst,,
";

async fn import(app: &TestApp, token: &str, query: &str, csv: &str) -> Response {
    app.client
        .post(app.url(&format!("/api/v1/users/import{query}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("request")
}

fn emails(list: &Value) -> Vec<String> {
    let mut e: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect();
    e.sort();
    e
}

async fn users(app: &TestApp, org: &Org) -> Vec<Value> {
    let list = expect_json(
        app.get("/api/v1/users", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    list.as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_dry_run_reports_the_diff_and_an_import_applies_it_once() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    let before = table_counts(&app.database_url);

    let diff = expect_json(
        import(&app, &org.admin_token, "?dry_run=true", ROSTER).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(diff["dry_run"], true);
    assert_eq!(
        emails(&diff["created"]),
        [
            "ann@acme.example",
            "bob@acme.example",
            "cal@acme.example",
            "mia@acme.example"
        ]
    );
    assert_eq!(diff["created"][0]["line"], 2);
    let teams: Vec<&str> = diff["teams_created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["path"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["EMEA", "EMEA/Benelux"]);
    assert_eq!(
        table_counts(&app.database_url),
        before,
        "a dry run changes nothing"
    );

    let done = expect_json(
        import(&app, &org.admin_token, "", ROSTER).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["created"].as_array().unwrap().len(), 4);
    let people = users(&app, &org).await;
    let role_of = |email: &str| {
        people
            .iter()
            .find(|u| u["email"] == email)
            .map(|u| u["role"].clone())
            .unwrap()
    };
    assert_eq!(role_of("ann@acme.example"), "learner");
    assert_eq!(role_of("bob@acme.example"), "author");
    assert_eq!(role_of("mia@acme.example"), "manager");

    // Nested teams, and the manager in her reports' team: she reaches Ann and Bob.
    let all_teams = expect_json(
        app.get("/api/v1/teams", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let emea = all_teams
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "EMEA")
        .unwrap()
        .clone();
    let benelux = all_teams
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Benelux")
        .unwrap()
        .clone();
    assert_eq!(benelux["parent_id"], emea["id"]);
    let members = expect_json(
        app.get(
            &format!("/api/v1/users?team_id={}", benelux["id"].as_str().unwrap()),
            Some(&org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        emails(&members),
        ["ann@acme.example", "bob@acme.example", "mia@acme.example"]
    );
    // Imported people have a password nobody knows until they are invited.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"email": "ann@acme.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The same roster again changes nothing.
    let after = table_counts(&app.database_url);
    let again = expect_json(
        import(&app, &org.admin_token, "", ROSTER).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["unchanged"].as_array().unwrap().len(), 4, "{again}");
    for list in ["created", "updated", "deactivated", "teams_created"] {
        assert!(
            again[list].as_array().unwrap().is_empty(),
            "{list}: {again}"
        );
    }
    assert_eq!(table_counts(&app.database_url), after);
}

#[actix_web::test]
async fn errors_are_listed_by_line_and_nothing_is_applied() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    let before = table_counts(&app.database_url);
    let bad = "\
email,name,role,team,manager_email
ann@acme.example,Ann Lee,,EMEA,
not-an-address,Bob,,,
cal@acme.example,Cal,wizard,,
dan@acme.example,Dan,,Sales,nobody@acme.example
ann@acme.example,Ann Again,,,
";
    let problem = expect_problem(
        import(&app, &org.admin_token, "", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let found: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (3, "email".to_string()),
            (4, "role".to_string()),
            (6, "email".to_string())
        ],
        "{problem}"
    );
    // A roster that reads well but names a manager nobody is: refused against the organization.
    let unknown_manager =
        "email,name,role,team,manager_email\ndan@acme.example,Dan,,Sales,nobody@acme.example\n";
    let problem = expect_problem(
        import(&app, &org.admin_token, "", unknown_manager).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["errors"][0]["line"], 2);
    assert_eq!(problem["errors"][0]["field"], "manager_email");
    // The admin importing cannot demote themselves.
    let demoted = "email,name,role\nadmin@acme.example,Ada Admin,learner\n";
    let problem = expect_problem(
        import(&app, &org.admin_token, "", demoted).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "role");
    assert_eq!(table_counts(&app.database_url), before);

    // Other methods on the import's path are refused, not taken for a user id.
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let res = app
            .client
            .request(method, app.url("/api/v1/users/import"))
            .bearer_auth(&org.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "POST");
        expect_problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
    }

    // Not CSV, or not an admin.
    let res = app
        .post_json(
            "/api/v1/users/import",
            Some(&org.admin_token),
            &serde_json::json!({}),
        )
        .await;
    expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let (_, analyst) = app.create_user(&org, "ana@acme.example", "analyst").await;
    expect_problem(
        import(&app, &analyst, "", ROSTER).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[actix_web::test]
async fn people_left_out_are_deactivated_when_asked_and_updates_are_reported() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    expect_json(
        import(&app, &org.admin_token, "", ROSTER).await,
        StatusCode::OK,
    )
    .await;
    let (_, cal_token) = {
        // Cal gets a password, signs in, then leaves the roster.
        let cal = users(&app, &org)
            .await
            .into_iter()
            .find(|u| u["email"] == "cal@acme.example")
            .unwrap();
        let id = cal["id"].as_str().unwrap().to_string();
        let res = app
            .patch_json(
                &format!("/api/v1/users/{id}"),
                &org.admin_token,
                &serde_json::json!({"password": PASSWORD}),
            )
            .await;
        expect_json(res, StatusCode::OK).await;
        let tokens = app.login("cal@acme.example", PASSWORD).await;
        (id, tokens["access_token"].as_str().unwrap().to_string())
    };
    let next = "\
email,name,role,team,manager_email
ann@acme.example,Ann Lee-Smith,,EMEA/Benelux,mia@acme.example
bob@acme.example,Bob King,author,EMEA,mia@acme.example
mia@acme.example,Mia Manager,manager,EMEA,
";
    let dry = expect_json(
        import(
            &app,
            &org.admin_token,
            "?dry_run=true&deactivate_missing=true",
            next,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        emails(&dry["deactivated"]),
        ["cal@acme.example"],
        "never the admin importing"
    );
    assert_eq!(dry["updated"][0]["changes"], serde_json::json!(["name"]));
    assert_eq!(dry["updated"][1]["changes"], serde_json::json!(["teams"]));
    assert_eq!(emails(&dry["unchanged"]), ["mia@acme.example"]);

    // Without deactivate_missing, Cal stays.
    let kept = expect_json(
        import(&app, &org.admin_token, "?dry_run=true", next).await,
        StatusCode::OK,
    )
    .await;
    assert!(kept["deactivated"].as_array().unwrap().is_empty());

    expect_json(
        import(&app, &org.admin_token, "?deactivate_missing=true", next).await,
        StatusCode::OK,
    )
    .await;
    let people = users(&app, &org).await;
    let cal = people
        .iter()
        .find(|u| u["email"] == "cal@acme.example")
        .unwrap();
    assert_eq!(cal["active"], false);
    assert!(
        people
            .iter()
            .find(|u| u["email"] == "admin@acme.example")
            .unwrap()["active"]
            == true
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&cal_token)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Each change is in the audit log by the admin, without names or addresses.
    let log = expect_json(
        app.get("/api/v1/audit?limit=200", Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    let text = log.to_string();
    assert!(text.contains("user.deactivated") && text.contains("team.member_removed"));
    for personal in ["cal@acme.example", "Lee-Smith", "Mia Manager"] {
        assert!(!text.contains(personal), "{personal} in the audit log");
    }
}

#[actix_web::test]
async fn the_command_line_imports_the_same_roster() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    std::fs::write(&file, ROSTER).unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_reprise"))
            .args(["users", "import"])
            .arg(&file)
            .args(["--org", "acme"])
            .args(extra)
            .env("REPRISE_DATABASE_URL", &app.database_url)
            .env("REPRISE_LOG", "error")
            .output()
            .expect("run reprise")
    };
    let dry = run(&["--dry-run"]);
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        out.contains("4 created") && out.contains("Dry run"),
        "{out}"
    );
    assert_eq!(users(&app, &org).await.len(), 1);

    let applied = run(&[]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(users(&app, &org).await.len(), 5);
    let again = run(&[]);
    assert!(String::from_utf8_lossy(&again.stdout)
        .contains("0 created, 0 updated, 0 deactivated, 4 unchanged"));

    std::fs::write(&file, "email,name\nnot-an-address,X\n").unwrap();
    let failed = run(&[]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("line 2: email"));
}

#[actix_web::test]
async fn imported_people_are_invited_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_with(|s| s.mail_dir = path.clone()).await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    let roster = "email,name\nann@acme.example,Ann Lee\nbob@acme.example,Bob King\n";
    let report = expect_json(
        import(&app, &org.admin_token, "?invite=true", roster).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["invited"], 2);
    assert!(report["not_invited"].as_array().unwrap().is_empty());
    let mut to: Vec<String> = mails_in(dir.path()).into_iter().map(|m| m.to).collect();
    to.sort();
    assert_eq!(to, ["ann@acme.example", "bob@acme.example"]);
    // Re-importing invites nobody again: nobody is created.
    let again = expect_json(
        import(&app, &org.admin_token, "?invite=true", roster).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["invited"], 0);
    assert_eq!(mails_in(dir.path()).len(), 2);
}
