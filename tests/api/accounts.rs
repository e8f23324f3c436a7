//! Sign-up, login, token rotation, roles and organization isolation.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn signup_returns_a_working_token_pair() {
    let app = spawn_app().await;
    let org = app.create_org("Acme Sales", "ada@acme.example").await;
    let me = expect_json(
        app.get("/api/v1/me", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["user"]["email"], "ada@acme.example");
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["organization"]["slug"], "acme-sales");
}

#[actix_web::test]
async fn signup_can_be_switched_off() {
    let app = spawn_with(|s| s.allow_signup = false).await;
    let res = app
        .post_json(
            "/api/v1/orgs",
            None,
            &json!({"org_name": "Acme", "admin_email": "a@acme.example", "admin_password": PASSWORD, "admin_name": "A"}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;
}

/// Signs up an organization whose admin has `password`; returns the admin's token.
async fn sign_up(app: &TestApp, org_name: &str, email: &str, password: &str) -> String {
    let body = json!({"org_name": org_name, "admin_email": email, "admin_password": password, "admin_name": "A"});
    let created = expect_json(
        app.post_json("/api/v1/orgs", None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    created["tokens"]["access_token"].as_str().unwrap().into()
}

/// The slug of the organization a login with these credentials lands in.
async fn lands_in(app: &TestApp, login: Value) -> String {
    let res = app.post_json("/api/v1/auth/login", None, &login).await;
    let token = expect_json(res, StatusCode::OK).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = expect_json(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    me["organization"]["slug"].as_str().unwrap().into()
}

#[actix_web::test]
async fn an_address_taken_elsewhere_is_neither_revealed_nor_squatted() {
    let app = spawn_app().await;
    // Another tenant enters Ada's address before her employer signs up.
    let squatter = sign_up(&app, "Squat Co", "ada@acme.example", "squatters-password").await;
    // Acme's sign-up with the same address succeeds: nothing tells Acme the address is known.
    sign_up(&app, "Acme Sales", "ADA@acme.example", PASSWORD).await;
    // Ada's password lands in Acme, the squatter's in their own organization.
    let ada = json!({"email": "ada@acme.example", "password": PASSWORD});
    assert_eq!(lands_in(&app, ada).await, "acme-sales");
    let theirs = json!({"email": "ada@acme.example", "password": "squatters-password"});
    assert_eq!(lands_in(&app, theirs).await, "squat-co");
    // Naming the organization picks its account only.
    let named =
        json!({"email": "ada@acme.example", "password": PASSWORD, "organization": "acme-sales"});
    assert_eq!(lands_in(&app, named).await, "acme-sales");
    let wrong_org =
        json!({"email": "ada@acme.example", "password": PASSWORD, "organization": "squat-co"});
    expect_problem(
        app.post_json("/api/v1/auth/login", None, &wrong_org).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Creating a user whose address another organization has is no conflict either.
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&squatter),
            &json!({"email": "bob@acme.example", "name": "Bob", "password": PASSWORD, "role": "learner"}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let acme = app.login("ada@acme.example", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = json!({"email": "bob@acme.example", "name": "Bob", "password": "bobs-own-password", "role": "learner"});
    let res = app.post_json("/api/v1/users", Some(&acme), &bob).await;
    expect_json(res, StatusCode::CREATED).await;
    // Within one organization an address is still one account.
    let res = app.post_json("/api/v1/users", Some(&acme), &bob).await;
    expect_problem(res, StatusCode::CONFLICT).await;
    let login = json!({"email": "bob@acme.example", "password": "bobs-own-password"});
    assert_eq!(lands_in(&app, login).await, "acme-sales");
}

#[actix_web::test]
async fn a_taken_organization_name_conflicts_and_creates_nothing() {
    let app = spawn_app().await;
    app.create_org("Acme Sales", "ada@acme.example").await;
    let same_name = json!({"org_name": "Acme Sales", "admin_email": "bob@acme.example", "admin_password": PASSWORD, "admin_name": "B"});
    expect_problem(
        app.post_json("/api/v1/orgs", None, &same_name).await,
        StatusCode::CONFLICT,
    )
    .await;
    // The failed sign-up left no account behind.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "bob@acme.example", "password": PASSWORD}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn login_rejects_wrong_password_and_unknown_email_alike() {
    let app = spawn_app().await;
    app.create_org("Acme", "ada@acme.example").await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ada@acme.example", "password": "not-the-password"}),
        )
        .await;
    let wrong = expect_problem(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "nobody@acme.example", "password": "not-the-password"}),
        )
        .await;
    let unknown = expect_problem(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    let ok = app.login("ADA@acme.example", PASSWORD).await;
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 900);
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let first = org.refresh_token.clone();
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": first}),
        )
        .await;
    let second = expect_json(res, StatusCode::OK).await;
    let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first);
    let me = app.get("/api/v1/me", second["access_token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);

    // The rotated token presented again: refused, and the newer token of its family dies too.
    let reuse = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": first}),
        )
        .await;
    expect_problem(reuse, StatusCode::UNAUTHORIZED).await;
    let after = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": second_refresh}),
        )
        .await;
    expect_problem(after, StatusCode::UNAUTHORIZED).await;

    // Another login starts a new family that still works.
    let fresh = app.login("ada@acme.example", PASSWORD).await;
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": fresh["refresh_token"]}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let res = app
        .post_json(
            "/api/v1/auth/logout",
            None,
            &json!({"refresh_token": org.refresh_token}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": org.refresh_token}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn access_tokens_expire_and_refresh_tokens_too() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    app.clock.advance(Duration::seconds(901 + 5));
    let res = app.get("/api/v1/me", Some(&org.admin_token)).await;
    let problem = expect_problem(res, StatusCode::UNAUTHORIZED).await;
    assert!(problem["detail"].as_str().unwrap().contains("expired"));
    app.clock.advance(Duration::days(31));
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": org.refresh_token}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn only_admins_manage_users() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (_, learner) = app.create_user(&org, "sam@acme.example", "learner").await;
    let (_, manager) = app.create_user(&org, "mia@acme.example", "manager").await;
    let body =
        json!({"email": "x@acme.example", "name": "X", "password": PASSWORD, "role": "admin"});
    for token in [&learner, &manager] {
        expect_problem(
            app.post_json("/api/v1/users", Some(token), &body).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    expect_problem(
        app.get("/api/v1/users", Some(&learner)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A manager of no team reaches nobody; an analyst reads the whole organization.
    let (_, analyst) = app.create_user(&org, "ana@acme.example", "analyst").await;
    let listed = expect_json(
        app.get("/api/v1/users", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
    let listed = expect_json(
        app.get("/api/v1/users", Some(&analyst)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let learners = expect_json(
        app.get("/api/v1/users?role=learner", Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(learners.as_array().unwrap().len(), 1);
    assert_eq!(learners[0]["email"], "sam@acme.example");
}

#[actix_web::test]
async fn deactivated_users_cannot_log_in_or_refresh() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (sam, _) = app.create_user(&org, "sam@acme.example", "learner").await;
    let tokens = app.login("sam@acme.example", PASSWORD).await;
    let res = app
        .delete(&format!("/api/v1/users/{sam}"), &org.admin_token)
        .await;
    let user = expect_json(res, StatusCode::OK).await;
    assert_eq!(user["active"], false);
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "sam@acme.example", "password": PASSWORD}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED).await;
    // Reactivation restores login.
    let res = app
        .patch_json(
            &format!("/api/v1/users/{sam}"),
            &org.admin_token,
            &json!({"active": true}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    app.login("sam@acme.example", PASSWORD).await;
}

#[actix_web::test]
async fn organizations_never_see_each_other() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme", "ada@acme.example").await;
    let globex = app.create_org("Globex", "gus@globex.example").await;
    let (acme_user, _) = app.create_user(&acme, "sam@acme.example", "learner").await;
    let team = expect_json(
        app.post_json(
            "/api/v1/teams",
            Some(&acme.admin_token),
            &json!({"name": "North"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let team_id = team["id"].as_str().unwrap();

    let res = app
        .get(
            &format!("/api/v1/users/{acme_user}"),
            Some(&globex.admin_token),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .patch_json(
            &format!("/api/v1/users/{acme_user}"),
            &globex.admin_token,
            &json!({"name": "Hacked"}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .delete(&format!("/api/v1/users/{acme_user}"), &globex.admin_token)
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .post_json(
            &format!("/api/v1/teams/{team_id}/members"),
            Some(&globex.admin_token),
            &json!({"user_ids": [globex.admin_id]}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    // Nor can Acme put a Globex user in its own team: to Acme that id names nobody, the same
    // 422 on `user_ids` as an id that exists nowhere.
    let res = app
        .post_json(
            &format!("/api/v1/teams/{team_id}/members"),
            Some(&acme.admin_token),
            &json!({"user_ids": [globex.admin_id]}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["user_ids"]);

    let users = expect_json(
        app.get("/api/v1/users", Some(&globex.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let text = users.to_string();
    assert!(!text.contains("acme.example"), "{text}");
    let teams = expect_json(
        app.get("/api/v1/teams", Some(&globex.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(teams, json!([]));
}

#[actix_web::test]
async fn teams_nest_and_hold_members() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (sam, sam_token) = app.create_user(&org, "sam@acme.example", "learner").await;
    let emea = expect_json(
        app.post_json(
            "/api/v1/teams",
            Some(&org.admin_token),
            &json!({"name": "EMEA"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let benelux = expect_json(
        app.post_json(
            "/api/v1/teams",
            Some(&org.admin_token),
            &json!({"name": "Benelux", "parent_id": emea["id"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(benelux["parent_id"], emea["id"]);
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&org.admin_token),
            &json!({"name": "Orphan", "parent_id": "nope"}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::NOT_FOUND).await;
    assert_eq!(problem_fields(&problem), vec!["parent_id"]);
    let path = format!("/api/v1/teams/{}/members", benelux["id"].as_str().unwrap());
    let res = app
        .post_json(&path, Some(&org.admin_token), &json!({"user_ids": [sam]}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me = expect_json(
        app.get("/api/v1/me", Some(&sam_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["team_ids"], json!([benelux["id"]]));
    let res = app.delete(&format!("{path}/{sam}"), &org.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me = expect_json(
        app.get("/api/v1/me", Some(&sam_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["team_ids"], json!([]));
}

#[actix_web::test]
async fn admins_may_not_lock_themselves_out_and_missing_teams_are_404() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let me = expect_json(
        app.get("/api/v1/me", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let path = format!("/api/v1/users/{}", me["user"]["id"].as_str().unwrap());
    expect_problem(
        app.delete(&path, &org.admin_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for body in [json!({"active": false}), json!({"role": "learner"})] {
        let res = app.patch_json(&path, &org.admin_token, &body).await;
        expect_problem(res, StatusCode::FORBIDDEN).await;
    }
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&org.admin_token),
            &json!({"email": "sam@acme.example", "name": "Sam", "password": PASSWORD, "role": "learner", "team_ids": ["nope"]}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::NOT_FOUND).await;
    assert_eq!(problem_fields(&problem), vec!["team_ids"]);

    // Membership: 404 only for the team the path names; unknown users are a 422 on the body.
    let team = expect_json(
        app.post_json(
            "/api/v1/teams",
            Some(&org.admin_token),
            &json!({"name": "Benelux"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let members = format!("/api/v1/teams/{}/members", team["id"].as_str().unwrap());
    let res = app
        .post_json(
            &members,
            Some(&org.admin_token),
            &json!({"user_ids": ["nope"]}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["user_ids"]);
    let res = app
        .post_json(
            "/api/v1/teams/nope/members",
            Some(&org.admin_token),
            &json!({"user_ids": [me["user"]["id"]]}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn users_read_their_own_record_and_staff_read_anyones() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (sam_id, sam) = app.create_user(&org, "sam@acme.example", "learner").await;
    let (_, lee) = app.create_user(&org, "lee@acme.example", "learner").await;
    let (mia_id, mia) = app.create_user(&org, "mia@acme.example", "manager").await;
    let (_, ana) = app.create_user(&org, "ana@acme.example", "analyst").await;
    let path = format!("/api/v1/users/{sam_id}");
    for token in [&sam, &ana, &org.admin_token] {
        let user = expect_json(app.get(&path, Some(token)).await, StatusCode::OK).await;
        assert_eq!(user["email"], "sam@acme.example");
    }
    // Another learner is refused before anything is read: an unknown id is a 403 too.
    for path in [path.as_str(), "/api/v1/users/no-such-user"] {
        expect_problem(app.get(path, Some(&lee)).await, StatusCode::FORBIDDEN).await;
    }
    expect_problem(
        app.get("/api/v1/users/no-such-user", Some(&mia)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A manager reads themself, though in no team.
    let me = expect_json(
        app.get(&format!("/api/v1/users/{mia_id}"), Some(&mia))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email"], "mia@acme.example");
}

/// Creates a team (under `parent`) and returns its id.
async fn team(app: &TestApp, org: &Org, name: &str, parent: Option<&str>) -> String {
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&org.admin_token),
            &json!({"name": name, "parent_id": parent}),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a user with `role` in `teams`; returns their id and access token.
async fn member(
    app: &TestApp,
    org: &Org,
    email: &str,
    role: &str,
    teams: &[&str],
) -> (String, String) {
    let res = app
        .post_json(
            "/api/v1/users",
            Some(&org.admin_token),
            &json!({"email": email, "name": "Member", "password": PASSWORD, "role": role, "team_ids": teams}),
        )
        .await;
    let id = expect_json(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, app.token(email).await)
}

fn emails(list: &serde_json::Value) -> Vec<&str> {
    let mut emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    emails.sort();
    emails
}

fn team_names(list: &serde_json::Value) -> Vec<&str> {
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn managers_see_only_the_people_and_teams_they_manage() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let north = team(&app, &org, "North", None).await;
    let north_east = team(&app, &org, "North East", Some(&north)).await;
    let south = team(&app, &org, "South", None).await;
    let (_, mia) = member(&app, &org, "mia@acme.example", "manager", &[&north]).await;
    let (ann, _) = member(&app, &org, "ann@acme.example", "learner", &[&north]).await;
    let (cal, _) = member(&app, &org, "cal@acme.example", "learner", &[&north_east]).await;
    let (bob, _) = member(&app, &org, "bob@acme.example", "learner", &[&south]).await;

    let listed = expect_json(app.get("/api/v1/users", Some(&mia)).await, StatusCode::OK).await;
    assert_eq!(
        emails(&listed),
        vec!["ann@acme.example", "cal@acme.example", "mia@acme.example"]
    );
    for id in [&ann, &cal] {
        let path = format!("/api/v1/users/{id}");
        expect_json(app.get(&path, Some(&mia)).await, StatusCode::OK).await;
    }
    // Outside the manager's teams, a user is as absent as one who never existed.
    let outside = expect_problem(
        app.get(&format!("/api/v1/users/{bob}"), Some(&mia)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let unknown = expect_problem(
        app.get("/api/v1/users/no-such-user", Some(&mia)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(outside["detail"], unknown["detail"]);
    let by_team = app
        .get(&format!("/api/v1/users?team_id={south}"), Some(&mia))
        .await;
    assert_eq!(expect_json(by_team, StatusCode::OK).await, json!([]));
    let teams = expect_json(app.get("/api/v1/teams", Some(&mia)).await, StatusCode::OK).await;
    assert_eq!(team_names(&teams), vec!["North", "North East"]);

    // Admins keep the whole organization.
    let admin = &org.admin_token;
    let listed = expect_json(app.get("/api/v1/users", Some(admin)).await, StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), 5);
    let path = format!("/api/v1/users/{bob}");
    expect_json(app.get(&path, Some(admin)).await, StatusCode::OK).await;
    let teams = expect_json(app.get("/api/v1/teams", Some(admin)).await, StatusCode::OK).await;
    assert_eq!(team_names(&teams), vec!["North", "North East", "South"]);
}
