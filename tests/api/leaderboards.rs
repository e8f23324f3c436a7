//! Leaderboards: points for learning (on time, recall over a gap, knowledge gained; nothing for
//! extra answers or practice), teams ranked by their mean with non-starters as zero, pseudonyms,
//! the organization's switch, and the refusals.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn turn_on(app: &TestApp, l: &Learning) {
    let org = expect_json(
        app.patch_json(
            "/api/v1/org",
            &l.org.admin_token,
            &json!({"leaderboards": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(org["leaderboards"], true);
}

async fn board(app: &TestApp, token: &str, query: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/leaderboards?{query}"), Some(token))
            .await,
        StatusCode::OK,
    )
    .await
}

fn recall(days: f64) -> u64 {
    (5.0 * (1.0 + days).ln()).round() as u64
}

fn due_of(result: &Value) -> DateTime<Utc> {
    result["next_due"].as_str().unwrap().parse().unwrap()
}

async fn answered(app: &TestApp, token: &str, nugget: &str, selected: &[&str]) -> Value {
    expect_json(
        app.answer(token, nugget, selected).await,
        StatusCode::CREATED,
    )
    .await
}

#[actix_web::test]
async fn points_reward_answers_on_time_and_recall_and_nothing_for_extra_answers() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    turn_on(&app, &l).await;
    let all = ids(&app.queue(&l.learner).await);
    app.set_daily_cap(&l, 3).await;
    let start = app.clock.now();
    let queue = ids(&app.queue(&l.learner).await);
    assert_eq!(queue, all[..3].to_vec());
    // The first answer to each of the day's three nuggets is on time (one of them wrong).
    let first = answered(&app, &l.learner, &queue[0], &["b"]).await;
    let second = answered(&app, &l.learner, &queue[1], &["a"]).await;
    answered(&app, &l.learner, &queue[2], &["b"]).await;
    let whole = format!("period=assignment&assignment_id={}", l.assignment_id);
    let b = board(&app, &l.learner, "scope=team&period=month").await;
    assert_eq!(b["enabled"], true);
    assert_eq!(b["period"], "month");
    assert_eq!(
        b["me"]["points"],
        json!({"total": 30, "on_time": 30, "recall": 0, "knowledge_gained": 0, "answers": 3})
    );
    // Extra answers: the same nugget again today, and a new one past the daily cap. Both are
    // practice and earn nothing.
    let again = answered(&app, &l.learner, &queue[0], &["b"]).await;
    assert_eq!(again["practice"], "answered_today");
    let over = answered(&app, &l.learner, &all[3], &["b"]).await;
    assert_eq!(over["practice"], "over_daily_cap");
    let b = board(&app, &l.learner, &whole).await;
    assert_eq!(b["me"]["points"]["total"], 30, "{b}");
    assert_eq!(b["me"]["points"]["answers"], 3);

    // On its due day: on time, with recall for the gap.
    let due = due_of(&first);
    app.clock.advance(due - start + Duration::minutes(1));
    let sam = app.token("sam@acme.example").await;
    assert!(ids(&app.queue(&sam).await).contains(&queue[0]));
    answered(&app, &sam, &queue[0], &["b"]).await;
    let gap = (app.clock.now() - start).num_seconds() as f64 / 86_400.0;
    let b = board(&app, &sam, &whole).await;
    let p = &b["me"]["points"];
    assert_eq!(p["on_time"], 40, "{b}");
    assert_eq!(p["recall"], recall(gap), "{b}");

    // The nugget first answered wrong, answered right two days after the day it fell due: no
    // on-time points, but recall for the gap and knowledge gained.
    let late = due_of(&second).max(app.clock.now()) + Duration::days(2);
    app.clock.advance(late - app.clock.now());
    let sam = app.token("sam@acme.example").await;
    let result = answered(&app, &sam, &queue[1], &["b"]).await;
    assert_eq!(result["counted"], true);
    let gap2 = (app.clock.now() - start).num_seconds() as f64 / 86_400.0;
    let b = board(&app, &sam, &whole).await;
    let p = &b["me"]["points"];
    assert_eq!(p["answers"], 5, "{b}");
    assert_eq!(
        p["on_time"], 40,
        "a late answer earns no on-time points: {b}"
    );
    assert_eq!(p["knowledge_gained"], 15, "{b}");
    assert_eq!(p["recall"], recall(gap) + recall(gap2), "{b}");
    assert_eq!(p["total"], 40 + 15 + recall(gap) + recall(gap2));
}

#[actix_web::test]
async fn teams_rank_by_mean_points_with_non_starters_counting_as_zero() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    turn_on(&app, &l).await;
    let admin = &l.org.admin_token;
    // North: Sam and a seller who never starts. South: one seller.
    app.add_team_learner(&l, "idle@acme.example").await;
    let south = expect_json(
        app.post_json("/api/v1/teams", Some(admin), &json!({"name": "South"}))
            .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    expect_json(
        app.post_json(
            "/api/v1/users",
            Some(admin),
            &json!({"email": "sol@acme.example", "name": "Sol", "password": PASSWORD, "role": "learner", "team_ids": [south]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post_json(
            "/api/v1/assignments",
            Some(&l.author),
            &json!({"pack": "sample", "team_id": south, "starts_on": "2026-03-02", "daily_cap": 3}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    for n in ids(&app.queue(&l.learner).await) {
        answered(&app, &l.learner, &n, &["b"]).await;
    }
    let sol = app.token("sol@acme.example").await;
    for n in ids(&app.queue(&sol).await).iter().take(2) {
        answered(&app, &sol, n, &["b"]).await;
    }
    let b = board(&app, admin, "scope=org").await;
    let teams = b["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 2, "{b}");
    // Sam's 30 over two North sellers is 15; Sol's 20 alone is 20: South leads.
    assert_eq!(
        (
            teams[0]["name"].as_str(),
            teams[0]["mean_points"].as_f64(),
            teams[0]["rank"].as_u64()
        ),
        (Some("South"), Some(20.0), Some(1))
    );
    assert_eq!(
        (
            teams[1]["name"].as_str(),
            teams[1]["mean_points"].as_f64(),
            teams[1]["learners"].as_u64()
        ),
        (Some("North"), Some(15.0), Some(2))
    );
    // People: Sam first, then Sol, then the non-starter with zero.
    let people: Vec<(u64, u64)> = b["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["rank"].as_u64().unwrap(),
                p["points"]["total"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(people, vec![(1, 30), (2, 20), (3, 0)]);
    // Sam's own view: their rank in the team, and North's rank among the teams.
    let mine = board(&app, &l.learner, "").await;
    assert_eq!(mine["scope"], "team");
    assert_eq!(mine["people"].as_array().unwrap().len(), 2, "{mine}");
    assert_eq!(mine["me"]["rank"], 1);
    assert_eq!(mine["me"]["team"]["name"], "North");
    assert_eq!(mine["me"]["team"]["rank"], 2);
    assert_eq!(mine["me"]["team"]["of"], 2);
    // A team named: only its people.
    let south_board = board(&app, &l.learner, &format!("scope=team&team_id={south}")).await;
    assert_eq!(south_board["people"].as_array().unwrap().len(), 1);
    assert_eq!(south_board["me"], Value::Null);
}

#[actix_web::test]
async fn pseudonyms_are_shown_to_peers_and_real_names_to_managers_and_admins() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    turn_on(&app, &l).await;
    let peer = app.add_team_learner(&l, "pia@acme.example").await;
    let (_, manager) = app.add_team_manager(&l, "mia@acme.example").await;
    let (_, outside_manager) = app
        .create_user(&l.org, "otto@acme.example", "manager")
        .await;
    let put = |token: String, body: Value| {
        let app = &app;
        async move {
            app.client
                .put(app.url("/api/v1/me/notification-settings"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let set = expect_json(
        put(
            l.learner.clone(),
            json!({"push": false, "email": true, "remind_at": "08:00", "leaderboard_name": "Closer42"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["leaderboard_name"], "Closer42");
    // The reminders card's body, without the field, keeps the pseudonym.
    let kept = expect_json(
        put(
            l.learner.clone(),
            json!({"push": true, "email": true, "remind_at": "09:00"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["leaderboard_name"], "Closer42");
    let read = expect_json(
        app.get("/api/v1/me/notification-settings", Some(&l.learner))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (read["push"].as_bool(), read["leaderboard_name"].as_str()),
        (Some(true), Some("Closer42"))
    );
    // Nobody may take another person's name or pseudonym.
    let taken = expect_problem(
        put(peer.clone(), json!({"push": true, "email": true, "remind_at": "09:00", "leaderboard_name": "closer42"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&taken), vec!["leaderboard_name"]);
    let short = expect_problem(
        put(
            peer.clone(),
            json!({"push": true, "email": true, "remind_at": "9", "leaderboard_name": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem_fields(&short),
        vec!["remind_at", "leaderboard_name"]
    );

    let sam_row = |b: &Value| -> Value {
        b["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Closer42" || p["name"] == "Sam")
            .cloned()
            .unwrap()
    };
    let seen_by_peer = sam_row(&board(&app, &peer, "scope=org").await);
    assert_eq!(seen_by_peer["name"], "Closer42");
    assert_eq!(seen_by_peer["pseudonym"], true);
    assert!(seen_by_peer.get("user_id").is_none(), "{seen_by_peer}");
    let peer_text = app
        .get("/api/v1/leaderboards?scope=team", Some(&peer))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !peer_text.contains(&l.learner_id) && !peer_text.contains("\"Sam\""),
        "{peer_text}"
    );
    for token in [&manager, &l.org.admin_token] {
        let row = sam_row(&board(&app, token, "scope=org").await);
        assert_eq!(
            (row["name"].as_str(), row["pseudonym"].as_bool()),
            (Some("Sam"), Some(false))
        );
        assert_eq!(row["user_id"], l.learner_id.as_str());
    }
    // A manager of other teams sees the pseudonym, like a peer.
    let row = sam_row(&board(&app, &outside_manager, "scope=org").await);
    assert_eq!(row["name"], "Closer42");
    // The seller sees themself by their own name.
    let me = sam_row(&board(&app, &l.learner, "scope=org").await);
    assert_eq!(
        (me["name"].as_str(), me["me"].as_bool()),
        (Some("Sam"), Some(true))
    );
    // `null` shows the real name again.
    let cleared = expect_json(
        put(
            l.learner.clone(),
            json!({"push": true, "email": true, "remind_at": "09:00", "leaderboard_name": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["leaderboard_name"], Value::Null);
    assert_eq!(
        sam_row(&board(&app, &peer, "scope=org").await)["name"],
        "Sam"
    );
}

#[actix_web::test]
async fn leaderboards_are_off_until_the_organization_turns_them_on() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let org = expect_json(
        app.get("/api/v1/org", Some(&l.learner)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(org["leaderboards"], false);
    let off = board(&app, &l.learner, "scope=org").await;
    assert_eq!(
        (
            off["enabled"].as_bool(),
            off["people"].clone(),
            off["teams"].clone(),
            off["me"].clone()
        ),
        (Some(false), json!([]), json!([]), Value::Null)
    );
    // Only admins switch them.
    expect_problem(
        app.patch_json("/api/v1/org", &l.learner, &json!({"leaderboards": true}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    turn_on(&app, &l).await;
    let on = board(&app, &l.learner, "scope=org").await;
    assert_eq!(on["people"].as_array().unwrap().len(), 1);
    let audit = expect_json(
        app.get(
            "/api/v1/audit?action=organization.updated",
            Some(&l.org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit["events"][0]["after"]["leaderboards"], true);
}

#[actix_web::test]
async fn bad_parameters_and_other_organizations_ids_are_refused() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    turn_on(&app, &l).await;
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    turn_on(&app, &other).await;
    for (query, status, field) in [
        ("scope=planet", StatusCode::UNPROCESSABLE_ENTITY, "scope"),
        ("period=year", StatusCode::UNPROCESSABLE_ENTITY, "period"),
        (
            "period=assignment",
            StatusCode::UNPROCESSABLE_ENTITY,
            "assignment_id",
        ),
        (
            "period=week&assignment_id=x",
            StatusCode::UNPROCESSABLE_ENTITY,
            "assignment_id",
        ),
        (
            "scope=org&team_id=x",
            StatusCode::UNPROCESSABLE_ENTITY,
            "team_id",
        ),
        ("colour=red", StatusCode::UNPROCESSABLE_ENTITY, "colour"),
        (
            "period=assignment&assignment_id=nope",
            StatusCode::NOT_FOUND,
            "assignment_id",
        ),
        ("scope=team&team_id=nope", StatusCode::NOT_FOUND, "team_id"),
    ] {
        let res = app
            .get(&format!("/api/v1/leaderboards?{query}"), Some(&l.learner))
            .await;
        let problem = expect_problem(res, status).await;
        assert_eq!(problem_fields(&problem), vec![field], "{query}: {problem}");
    }
    // Another organization's team and assignment are unknown here.
    let res = app
        .get(
            &format!("/api/v1/leaderboards?scope=team&team_id={}", other.team_id),
            Some(&l.learner),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .get(
            &format!(
                "/api/v1/leaderboards?period=assignment&assignment_id={}",
                other.assignment_id
            ),
            Some(&l.learner),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    // And its people never appear.
    let text = app
        .get(
            "/api/v1/leaderboards?scope=org",
            Some(&other.org.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&l.learner_id), "{text}");
    // An admin in no team asks for the org, or names a team.
    let res = app
        .get("/api/v1/leaderboards", Some(&l.org.admin_token))
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), vec!["team_id"]);
}
