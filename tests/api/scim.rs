//! Provisioning by SCIM 2.0: users and groups created, read, filtered, paged, patched in the
//! shapes Okta and Microsoft Entra ID send, deactivated; the organization's token; isolation
//! between organizations; SCIM's error documents.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const REPRISE: &str = "urn:ietf:params:scim:schemas:extension:reprise:2.0:User";

async fn scim_token(app: &TestApp, org: &Org) -> String {
    let res = app
        .post_json("/api/v1/org/scim-token", Some(&org.admin_token), &json!({}))
        .await;
    let body = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(body["scim_base_url"], "http://reprise.test/scim/v2");
    body["token"].as_str().unwrap().to_string()
}

/// A server with an organization whose SCIM token is issued.
async fn provisioned() -> (TestApp, Org, String) {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    let token = scim_token(&app, &org).await;
    (app, org, token)
}

async fn scim(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app
        .client
        .request(method, app.url(&format!("/scim/v2{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    req.send().await.expect("request")
}

/// Asserts a SCIM response with `status` and returns its body.
async fn expect_scim(res: Response, status: StatusCode) -> Value {
    expect_typed(res, status, "application/scim+json").await
}

/// Asserts a SCIM error document.
async fn expect_scim_error(res: Response, status: StatusCode, scim_type: Option<&str>) -> Value {
    let body = expect_scim(res, status).await;
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], status.as_u16().to_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    match scim_type {
        Some(t) => assert_eq!(body["scimType"], t, "{body}"),
        None => assert!(body.get("scimType").is_none(), "{body}"),
    }
    body
}

fn okta_user(user_name: &str, given: &str, family: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "externalId": external_id,
        "active": true,
        "password": "ignored-by-reprise",
    })
}

async fn create(app: &TestApp, token: &str, doc: Value) -> Value {
    let res = scim(app, Method::POST, "/Users", token, Some(doc)).await;
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = expect_scim(res, StatusCode::CREATED).await;
    assert_eq!(location.as_deref(), body["meta"]["location"].as_str());
    body
}

/// Ann, as Okta creates her.
async fn create_ann(app: &TestApp, token: &str) -> Value {
    create(
        app,
        token,
        okta_user("ann@acme.example", "Ann", "Lee", "00u1"),
    )
    .await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let path = format!("/Users?{query}");
    expect_scim(
        scim(app, Method::GET, &path, token, None).await,
        StatusCode::OK,
    )
    .await
}

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_string())
        .collect()
}

fn filter(f: &str) -> String {
    format!("filter={}", urlencode(f))
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn users_are_created_read_filtered_and_paged() {
    let (app, org, token) = provisioned().await;

    let ann = create_ann(&app, &token).await;
    assert_eq!(ann["userName"], "ann@acme.example");
    assert_eq!(ann["active"], true);
    assert_eq!(
        ann[REPRISE]["role"], "learner",
        "a SCIM user is a learner by default"
    );
    assert_eq!(ann["externalId"], "00u1");
    assert!(ann.get("password").is_none());
    let mut bob = okta_user("bob.k", "Bob", "King", "00u2");
    bob["emails"] = json!([{"value": "bob@acme.example", "type": "work"}]);
    bob[REPRISE] = json!({"role": "manager"});
    bob["schemas"] = json!([USER, REPRISE]);
    let bob = create(&app, &token, bob).await;
    assert_eq!(bob[REPRISE]["role"], "manager");
    create(
        &app,
        &token,
        okta_user("cat@acme.example", "Cat", "Ng", "00u3"),
    )
    .await;

    // Read back by id, as the REST API sees it too.
    let id = ann["id"].as_str().unwrap();
    let got = expect_scim(
        scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["name"]["familyName"], "Lee");
    let rest = expect_json(
        app.get(&format!("/api/v1/users/{id}"), Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["email"], "ann@acme.example");
    assert_eq!(rest["name"], "Ann Lee");
    assert_eq!(rest["role"], "learner");

    // Filters: eq (any case), co, sw, and/or, on userName, externalId, emails and displayName.
    assert_eq!(
        user_names(&list(&app, &token, &filter(r#"userName eq "ANN@acme.example""#)).await),
        ["ann@acme.example"]
    );
    assert_eq!(
        user_names(&list(&app, &token, &filter(r#"externalId eq "00u2""#)).await),
        ["bob.k"]
    );
    assert_eq!(
        user_names(
            &list(
                &app,
                &token,
                &filter(r#"emails.value eq "bob@acme.example""#)
            )
            .await
        ),
        ["bob.k"]
    );
    assert_eq!(
        user_names(&list(&app, &token, &filter(r#"displayName co "at n""#)).await),
        ["cat@acme.example"]
    );
    assert_eq!(
        user_names(
            &list(
                &app,
                &token,
                &filter(r#"userName sw "ann" or userName sw "cat""#)
            )
            .await
        ),
        ["ann@acme.example", "cat@acme.example"]
    );
    assert_eq!(
        user_names(
            &list(
                &app,
                &token,
                &filter(r#"emails co "acme.example" and active eq true and externalId pr"#)
            )
            .await
        ),
        ["ann@acme.example", "bob.k", "cat@acme.example"]
    );
    assert!(user_names(&list(&app, &token, &filter(r#"userName eq "nobody""#)).await).is_empty());

    // Pages: 1-based, totalResults counts every match (the admin too).
    let page = list(&app, &token, "startIndex=2&count=2").await;
    assert_eq!(page["totalResults"], 4);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(user_names(&page), ["ann@acme.example", "bob.k"]);
    let only_names = list(&app, &token, "attributes=userName&count=1").await;
    let first = &only_names["Resources"][0];
    assert_eq!(first["userName"], "admin@acme.example");
    assert!(first.get("emails").is_none() && first["id"].is_string());

    // Discovery.
    let spc = expect_scim(
        scim(&app, Method::GET, "/ServiceProviderConfig", &token, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    let types = expect_scim(
        scim(&app, Method::GET, "/ResourceTypes", &token, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(types["totalResults"], 2);
    let schema = expect_scim(
        scim(
            &app,
            Method::GET,
            &format!("/Schemas/{REPRISE}"),
            &token,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(schema["attributes"][0]["name"], "role");
}

#[actix_web::test]
async fn okta_and_entra_patches_change_users_and_deactivation_ends_logins() {
    let (app, org, token) = provisioned().await;
    let ann = create_ann(&app, &token).await;
    let id = ann["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    // Ann gets a password from the admin and signs in.
    let res = app
        .patch_json(
            &format!("/api/v1/users/{id}"),
            &org.admin_token,
            &json!({"password": PASSWORD}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    let session = app.login("ann@acme.example", PASSWORD).await;
    let ann_token = session["access_token"].as_str().unwrap();
    expect_json(app.get("/api/v1/me", Some(ann_token)).await, StatusCode::OK).await;

    // Entra: `Replace` without a path, attribute paths as keys, booleans as strings.
    let entra = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "value": {"name.familyName": "Smith", "displayName": "Ann Smith"}},
        {"op": "Add", "path": format!("{REPRISE}:role"), "value": "author"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann.smith@acme.example"}
    ]});
    let patched = expect_scim(
        scim(&app, Method::PATCH, &path, &token, Some(entra)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["name"]["familyName"], "Smith");
    assert_eq!(patched[REPRISE]["role"], "author");
    assert_eq!(patched["emails"][0]["value"], "ann.smith@acme.example");
    let rest = expect_json(
        app.get(&format!("/api/v1/users/{id}"), Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["email"], "ann.smith@acme.example");
    assert_eq!(rest["name"], "Ann Smith");
    assert_eq!(rest["role"], "author");
    // A new role ended Ann's logins, as it does from the users API.
    let res = app.get("/api/v1/me", Some(ann_token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let session = app.login("ann.smith@acme.example", PASSWORD).await;
    let ann_token = session["access_token"].as_str().unwrap();

    // Entra deactivates with a string boolean.
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let patched = expect_scim(
        scim(&app, Method::PATCH, &path, &token, Some(off)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["active"], false);
    assert_eq!(
        app.get("/api/v1/me", Some(ann_token)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Okta reactivates by replacing the whole resource's attributes, its read-only id included.
    let okta = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"id": id, "active": true}}]});
    let patched = expect_scim(
        scim(&app, Method::PATCH, &path, &token, Some(okta)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["active"], true);
    assert_eq!(patched["id"], id.as_str());

    // PUT replaces: no extension keeps the role.
    let mut put = okta_user("ann.smith@acme.example", "Ann", "Smith", "00u1");
    put["displayName"] = json!("Ann S.");
    let replaced = expect_scim(
        scim(&app, Method::PUT, &path, &token, Some(put)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(replaced["displayName"], "Ann S.");
    assert_eq!(replaced[REPRISE]["role"], "author");

    // DELETE deactivates; the user and their history stay readable.
    let res = scim(&app, Method::DELETE, &path, &token, None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let got = expect_scim(
        scim(&app, Method::GET, &path, &token, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["active"], false);
    let rest = expect_json(
        app.get(&format!("/api/v1/users/{id}"), Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["active"], false);

    // Every change is in the audit log by the scim actor, without names or addresses.
    let log = expect_json(
        app.get("/api/v1/audit?limit=100", Some(&org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    let scim_events: Vec<&Value> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_kind"] == "scim")
        .collect();
    let actions: Vec<&str> = scim_events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "user.created",
        "user.updated",
        "user.identity_changed",
        "user.deactivated",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let text = log.to_string();
    for personal in ["ann@acme.example", "ann.smith@", "Smith", "Ann S."] {
        assert!(!text.contains(personal), "{personal} in the audit log");
    }
}

#[actix_web::test]
async fn groups_are_teams_and_their_members_follow_okta_and_entra_patches() {
    let (app, org, token) = provisioned().await;
    let mut ids = Vec::new();
    for (i, name) in ["ann", "bob", "cat"].iter().enumerate() {
        let user = create(
            &app,
            &token,
            okta_user(&format!("{name}@acme.example"), name, "X", &format!("e{i}")),
        )
        .await;
        ids.push(user["id"].as_str().unwrap().to_string());
    }
    let res = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({
            "schemas": [GROUP], "displayName": "EMEA Sales", "externalId": "g1",
            "members": [{"value": ids[0]}]
        })),
    )
    .await;
    let group = expect_scim(res, StatusCode::CREATED).await;
    let gid = group["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{gid}");
    let members = |g: &Value| -> Vec<String> {
        let mut m: Vec<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect();
        m.sort();
        m
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(members(&group), [ids[0].clone()]);

    // Okta adds members.
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
        "value": [{"value": ids[1], "display": "bob"}, {"value": ids[2], "display": "cat"}]}]});
    let g = expect_scim(
        scim(&app, Method::PATCH, &path, &token, Some(add)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(members(&g), sorted(ids.clone()));
    // Okta removes one by filter; Entra removes one listed in `value`.
    let okta = json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]});
    expect_scim(
        scim(&app, Method::PATCH, &path, &token, Some(okta)).await,
        StatusCode::OK,
    )
    .await;
    let entra = json!({"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": ids[2]}]},
        {"op": "Replace", "path": "displayName", "value": "EMEA Field Sales"}]});
    let g = expect_scim(
        scim(&app, Method::PATCH, &path, &token, Some(entra)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(members(&g), [ids[0].clone()]);
    assert_eq!(g["displayName"], "EMEA Field Sales");

    // The team in the REST API, with its members.
    let teams = expect_json(
        app.get("/api/v1/teams", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(teams[0]["name"], "EMEA Field Sales");
    let in_team = expect_json(
        app.get(
            &format!("/api/v1/users?team_id={gid}"),
            Some(&org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(in_team.as_array().unwrap().len(), 1);

    // Filters and PUT.
    let found = expect_scim(
        scim(
            &app,
            Method::GET,
            &format!("/Groups?{}", filter(r#"displayName eq "emea field sales""#)),
            &token,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let put = json!({"schemas": [GROUP], "displayName": "EMEA", "members": [{"value": ids[1]}, {"value": ids[2]}]});
    let g = expect_scim(
        scim(&app, Method::PUT, &path, &token, Some(put)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(members(&g), sorted(vec![ids[1].clone(), ids[2].clone()]));

    // A member that is nobody is the provider's error; nothing changed.
    let bad = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]});
    expect_scim_error(
        scim(&app, Method::PATCH, &path, &token, Some(bad)).await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;

    // DELETE removes the team; its people stay.
    assert_eq!(
        scim(&app, Method::DELETE, &path, &token, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_scim_error(
        scim(&app, Method::GET, &path, &token, None).await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    let users = list(&app, &token, "").await;
    assert_eq!(users["totalResults"], 4);
}

/// A SCIM request that must be refused with `status` and `scim_type`.
async fn refused(
    app: &TestApp,
    (method, path): (Method, &str),
    token: &str,
    body: Option<Value>,
    (status, scim_type): (StatusCode, Option<&str>),
) {
    let res = scim(app, method, path, token, body).await;
    expect_scim_error(res, status, scim_type).await;
}

fn operations(ops: Value) -> Option<Value> {
    Some(json!({"schemas": [PATCH], "Operations": ops}))
}

#[actix_web::test]
async fn errors_are_scim_documents_with_their_scim_type() {
    let (app, _, token) = provisioned().await;
    let ann = create_ann(&app, &token).await;
    let ann_path = format!("/Users/{}", ann["id"].as_str().unwrap());
    let bad_request = |t| (StatusCode::BAD_REQUEST, Some(t));
    let not_found = (StatusCode::NOT_FOUND, None);
    let unauthorized = (StatusCode::UNAUTHORIZED, None);

    // Taken userName (any case), externalId, or the address of a user made in Reprise.
    for doc in [
        okta_user("ANN@acme.example", "Ann", "Two", "00u9"),
        okta_user("other@acme.example", "Ann", "Three", "00u1"),
        okta_user("admin@acme.example", "Ad", "Min", "00u8"),
    ] {
        let conflict = (StatusCode::CONFLICT, Some("uniqueness"));
        refused(&app, (Method::POST, "/Users"), &token, Some(doc), conflict).await;
    }
    // The organization's last active admin stays one.
    let admins = list(&app, &token, &filter(r#"userName eq "admin@acme.example""#)).await;
    let admin_path = format!("/Users/{}", admins["Resources"][0]["id"].as_str().unwrap());
    let mutability = bad_request("mutability");
    refused(
        &app,
        (Method::DELETE, &admin_path),
        &token,
        None,
        mutability,
    )
    .await;
    let demote = operations(
        json!([{"op": "replace", "path": format!("{REPRISE}:role"), "value": "learner"}]),
    );
    refused(
        &app,
        (Method::PATCH, &admin_path),
        &token,
        demote,
        mutability,
    )
    .await;

    let bad_filter = format!("/Users?{}", filter("userName zz 1"));
    let cases = [
        (
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "just-a-name"})),
            bad_request("invalidValue"),
        ),
        (
            Method::GET,
            bad_filter.as_str(),
            None,
            bad_request("invalidFilter"),
        ),
        (
            Method::PATCH,
            &ann_path,
            operations(json!([{"op": "replace", "path": "emails[type", "value": "x"}])),
            bad_request("invalidPath"),
        ),
        (
            Method::PATCH,
            &ann_path,
            operations(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            bad_request("invalidValue"),
        ),
        (Method::GET, "/Users/no-such-id", None, not_found),
        (Method::GET, "/Nothing", None, not_found),
        (
            Method::PUT,
            "/Users",
            Some(json!({})),
            (StatusCode::METHOD_NOT_ALLOWED, None),
        ),
    ];
    for (method, path, body, expected) in cases {
        refused(&app, (method, path), &token, body, expected).await;
    }
    let res = app
        .client
        .post(app.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_scim_error(res, StatusCode::BAD_REQUEST, Some("invalidSyntax")).await;
    refused(
        &app,
        (Method::GET, "/Users"),
        "not-a-token",
        None,
        unauthorized,
    )
    .await;
    let res = app
        .client
        .get(app.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    expect_scim_error(res, StatusCode::UNAUTHORIZED, None).await;
    // Nothing of the refused requests was applied.
    assert_eq!(list(&app, &token, "").await["totalResults"], 2);
}

#[actix_web::test]
async fn a_new_token_replaces_the_old_one_and_only_admins_issue_them() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "admin@acme.example").await;
    let first = scim_token(&app, &org).await;
    assert_eq!(
        scim(&app, Method::GET, "/Users", &first, None)
            .await
            .status(),
        StatusCode::OK
    );
    let second = scim_token(&app, &org).await;
    assert_ne!(first, second);
    expect_scim_error(
        scim(&app, Method::GET, "/Users", &first, None).await,
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;
    assert_eq!(
        scim(&app, Method::GET, "/Users", &second, None)
            .await
            .status(),
        StatusCode::OK
    );

    let (_, analyst) = app.create_user(&org, "ana@acme.example", "analyst").await;
    let res = app
        .post_json("/api/v1/org/scim-token", Some(&analyst), &json!({}))
        .await;
    expect_problem(res, StatusCode::FORBIDDEN).await;

    assert_eq!(
        app.delete("/api/v1/org/scim-token", &org.admin_token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_scim_error(
        scim(&app, Method::GET, "/Users", &second, None).await,
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;
    expect_problem(
        app.delete("/api/v1/org/scim-token", &org.admin_token).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Only hashes were ever stored, and none is left.
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let conn = &mut *app.pool().get().unwrap();
    let left: Count = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT COUNT(*) AS n FROM scim_tokens"),
        conn,
    )
    .unwrap();
    assert_eq!(left.n, 0);
}

#[actix_web::test]
async fn a_token_reaches_only_its_own_organization() {
    let app = spawn_app().await;
    let a = app.create_org("Acme", "admin@acme.example").await;
    let b = app.create_org("Bigcorp", "admin@bigcorp.example").await;
    let token_a = scim_token(&app, &a).await;
    let token_b = scim_token(&app, &b).await;
    let bob = create(
        &app,
        &token_b,
        okta_user("bob@bigcorp.example", "Bob", "B", "x1"),
    )
    .await;
    let bob_id = bob["id"].as_str().unwrap();
    let group = expect_scim(
        scim(
            &app,
            Method::POST,
            "/Groups",
            &token_b,
            Some(json!({"schemas": [GROUP], "displayName": "B team"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let group_id = group["id"].as_str().unwrap();

    let seen = list(&app, &token_a, "").await;
    assert_eq!(user_names(&seen), ["admin@acme.example"]);
    assert!(user_names(
        &list(
            &app,
            &token_a,
            &filter(r#"userName eq "bob@bigcorp.example""#)
        )
        .await
    )
    .is_empty());
    for (method, path, body) in [
        (Method::GET, format!("/Users/{bob_id}"), None),
        (
            Method::PUT,
            format!("/Users/{bob_id}"),
            Some(okta_user("bob@bigcorp.example", "B", "B", "x1")),
        ),
        (
            Method::PATCH,
            format!("/Users/{bob_id}"),
            Some(
                json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
        ),
        (Method::DELETE, format!("/Users/{bob_id}"), None),
        (Method::GET, format!("/Groups/{group_id}"), None),
        (Method::DELETE, format!("/Groups/{group_id}"), None),
    ] {
        let res = scim(&app, method.clone(), &path, &token_a, body).await;
        expect_scim_error(res, StatusCode::NOT_FOUND, None).await;
    }
    // A's token cannot add B's user to A's team either.
    let res = scim(
        &app,
        Method::POST,
        "/Groups",
        &token_a,
        Some(json!({"schemas": [GROUP], "displayName": "A team", "members": [{"value": bob_id}]})),
    )
    .await;
    expect_scim_error(res, StatusCode::BAD_REQUEST, Some("invalidValue")).await;
    // A token naming B's organization with A's secret is refused.
    let (_, secret) = token_a.split_once('.').unwrap();
    let (b_org, _) = token_b.split_once('.').unwrap();
    let forged = format!("{b_org}.{secret}");
    expect_scim_error(
        scim(&app, Method::GET, "/Users", &forged, None).await,
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;
    let still = expect_scim(
        scim(
            &app,
            Method::GET,
            &format!("/Users/{bob_id}"),
            &token_b,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(still["active"], true);
}

#[actix_web::test]
async fn what_the_provider_sent_is_exported_and_erased_with_the_person() {
    let (app, org, token) = provisioned().await;
    let ann = create_ann(&app, &token).await;
    let id = ann["id"].as_str().unwrap();
    let export = expect_json(
        app.get(
            &format!("/api/v1/users/{id}/data-export"),
            Some(&org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(export.to_string().contains("00u1"), "{export}");
    let res = app
        .post_json(
            &format!("/api/v1/users/{id}/erase"),
            Some(&org.admin_token),
            &json!({"confirm_email": "ann@acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let after = expect_scim(
        scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await,
        StatusCode::OK,
    )
    .await;
    let text = after.to_string();
    for personal in ["00u1", "ann@acme.example", "Lee", "Ann"] {
        assert!(
            !text.contains(personal),
            "{personal} left after erasure: {text}"
        );
    }
    assert_eq!(after["active"], false);
}
