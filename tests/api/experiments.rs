//! Experiments: creation and its refusals by field, the stable split of learners by shares, each
//! arm scheduled by its own policy, probes about once a week recorded when answered, the
//! statistics against a generated truth, KPI uploads, who may see what, and stopping.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use reprise::domain::ids::{ExperimentId, OrgId};

fn two_arms(fsrs_share: f64) -> Value {
    json!([
        {"name": "FSRS", "policy": "fsrs", "control": true, "share": fsrs_share},
        {"name": "Qstream", "policy": "qstream", "share": 1.0 - fsrs_share},
    ])
}

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post_json("/api/v1/experiments", Some(token), body)
        .await
}

async fn start(app: &TestApp, l: &Learning, arms: Value) -> Value {
    let body = json!({"name": "Spacing trial", "assignment_id": l.assignment_id, "arms": arms});
    expect_json(create(app, &l.author, &body).await, StatusCode::CREATED).await
}

async fn report(app: &TestApp, token: &str, id: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/experiments/{id}"), Some(token))
            .await,
        StatusCode::OK,
    )
    .await
}

/// Learner id → arm, as recorded.
fn recorded(app: &TestApp, org: &OrgId, id: &str) -> std::collections::HashMap<String, String> {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    reprise::store::experiments::members(&mut conn, org, &ExperimentId::from(id))
        .unwrap()
        .into_iter()
        .map(|m| (m.learner_id.to_string(), m.arm))
        .collect()
}

/// Whether the interval [lo, hi] holds `x`, up to rounding of the sums that made its bounds.
fn covers(lo: f64, hi: f64, x: f64) -> bool {
    lo <= x + 1e-9 && x - 1e-9 <= hi
}

fn right(nugget: &Value) -> Vec<&'static str> {
    if nugget["multiple"] == true {
        vec!["a", "c"]
    } else {
        vec!["b"]
    }
}

#[actix_web::test]
async fn an_experiment_is_created_and_bad_designs_are_refused_by_field() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let with =
        |arms: Value| json!({"name": "Trial", "assignment_id": l.assignment_id, "arms": arms});
    let refused = [
        (
            with(
                two_arms(0.6)
                    .as_array()
                    .unwrap()
                    .iter()
                    .take(1)
                    .cloned()
                    .collect(),
            ),
            "arms",
        ),
        (
            with(
                json!([{"name": "A", "policy": "fsrs", "control": true, "share": 0.5},
                        {"name": "B", "policy": "qstream", "share": 0.6}]),
            ),
            "arms",
        ),
        (
            with(json!([{"name": "A", "policy": "fsrs", "share": 0.5},
                        {"name": "B", "policy": "qstream", "share": 0.5}])),
            "arms",
        ),
        (
            with(
                json!([{"name": "A", "policy": "fsrs", "control": true, "share": 0.5},
                        {"name": "B", "policy": "qstream", "control": true, "share": 0.5}]),
            ),
            "arms",
        ),
        (
            with(
                json!([{"name": "A", "policy": "fsrs", "control": true, "share": 0.0},
                        {"name": "B", "policy": "qstream", "share": 1.0}]),
            ),
            "arms[0].share",
        ),
        (
            with(
                json!([{"name": "A", "policy": "fsrs", "control": true, "share": 0.5},
                        {"name": "a", "policy": "qstream", "share": 0.5}]),
            ),
            "arms[1].name",
        ),
        (
            with(
                json!([{"name": "A", "policy": "fsrs", "control": true, "share": 0.5, "desired_retention": 1.5},
                        {"name": "B", "policy": "qstream", "share": 0.5}]),
            ),
            "arms[0].desired_retention",
        ),
        (
            json!({"name": "Trial", "assignment_id": l.assignment_id, "arms": two_arms(0.5), "probes_per_week": 0}),
            "probes_per_week",
        ),
    ];
    for (body, field) in refused {
        let problem = expect_problem(
            create(&app, &l.author, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            problem_fields(&problem).contains(&field.to_string()),
            "{field}: {problem}"
        );
    }
    // An unknown policy is refused while reading the body, naming the field.
    let bad_policy = with(
        json!([{"name": "A", "policy": "leitner", "control": true, "share": 0.5},
                                  {"name": "B", "policy": "fsrs", "share": 0.5}]),
    );
    let res = create(&app, &l.author, &bad_policy).await;
    assert!(res.status().is_client_error());
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem.to_string().contains("policy"), "{problem}");
    let unknown =
        json!({"name": "Trial", "assignment_id": "no-such-assignment", "arms": two_arms(0.5)});
    let problem = expect_problem(
        create(&app, &l.author, &unknown).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(problem_fields(&problem), vec!["assignment_id"]);
    // Nothing of the refused ones was kept.
    let list = expect_json(
        app.get("/api/v1/experiments", Some(&l.author)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    let created = start(&app, &l, two_arms(0.5)).await;
    assert_eq!(created["status"], "running");
    assert_eq!(created["probes_per_week"], 1);
    assert_eq!(created["arms"].as_array().unwrap().len(), 2);
    let learners: u64 = created["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["learners"].as_u64().unwrap())
        .sum();
    assert_eq!(
        learners, 1,
        "the assignment's learner is recorded in an arm"
    );
    assert_eq!(created["arms"][0]["control"], true);
    assert!(created["arms"][0]["probe_recall"]["difference"].is_null());
    // One experiment at a time per assignment.
    let again = json!({"name": "Again", "assignment_id": l.assignment_id, "arms": two_arms(0.5)});
    expect_problem(create(&app, &l.author, &again).await, StatusCode::CONFLICT).await;
    let list = expect_json(
        app.get("/api/v1/experiments", Some(&l.org.admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], created["id"]);
    let audit = expect_json(
        app.get(
            "/api/v1/audit?action=experiment.created",
            Some(&l.org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        audit.to_string().contains(created["id"].as_str().unwrap()),
        "{audit}"
    );
}

#[actix_web::test]
async fn learners_are_split_by_the_shares_and_stay_in_their_arm() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let org = app.org_id(&l.author).await;
    // 400 more learners in the assignment's team, written straight to the store (signing each
    // up through the API would hash 400 passwords).
    let now = app.clock.now().naive_utc();
    let rows: Vec<(String, String, String, String)> = (0..400)
        .map(|i| {
            let id = uuid::Uuid::now_v7().to_string();
            (
                id,
                format!("bulk{i}@acme.example"),
                format!("Bulk {i}"),
                "learner".to_string(),
            )
        })
        .collect();
    {
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        reprise::store::bulk::insert_users(&mut conn, &org, &rows, "not-a-hash", now).unwrap();
        let members: Vec<(String, String)> = rows
            .iter()
            .map(|r| (l.team_id.clone(), r.0.clone()))
            .collect();
        reprise::store::bulk::insert_members(&mut conn, &org, &members).unwrap();
    }
    let created = start(&app, &l, two_arms(0.25)).await;
    let id = created["id"].as_str().unwrap();
    let fsrs = created["arms"][0]["learners"].as_u64().unwrap();
    let qstream = created["arms"][1]["learners"].as_u64().unwrap();
    assert_eq!(fsrs + qstream, 401);
    // 25 % of 401 is 100; three standard deviations are 26.
    assert!((74..=126).contains(&fsrs), "{fsrs} in the 25 % arm");
    let before = recorded(&app, &org, id);
    assert_eq!(before.len(), 401);
    // A learner who joins later is recorded at their first answer; nobody else moves.
    let newcomer = app.add_team_learner(&l, "late@acme.example").await;
    let queue = app.queue(&newcomer).await;
    let first = &queue["nuggets"][0];
    let res = app
        .answer(
            &newcomer,
            first["nugget_id"].as_str().unwrap(),
            &right(first),
        )
        .await;
    expect_json(res, StatusCode::CREATED).await;
    let after = recorded(&app, &org, id);
    assert_eq!(after.len(), 402);
    assert!(before
        .iter()
        .all(|(learner, arm)| after.get(learner) == Some(arm)));
    let again = report(&app, &l.author, id).await;
    let total: u64 = again["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["learners"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 402);
    assert_eq!(
        again["arms"][0]["learners"].as_u64().unwrap()
            + again["arms"][1]["learners"].as_u64().unwrap(),
        402
    );
}

/// Starts experiments (stopping each) until both arms have a learner of `tokens`; returns the
/// experiment and the arm of each learner.
async fn split_until_both_arms(
    app: &TestApp,
    l: &Learning,
    ids: &[String],
) -> (String, Vec<String>) {
    let org = app.org_id(&l.author).await;
    for _ in 0..8 {
        let created = start(app, l, two_arms(0.5)).await;
        let id = created["id"].as_str().unwrap().to_string();
        let arms = recorded(app, &org, &id);
        let of: Vec<String> = ids.iter().map(|u| arms[u].clone()).collect();
        if of.iter().any(|a| a == "FSRS") && of.iter().any(|a| a == "Qstream") {
            return (id, of);
        }
        let res = app
            .post_json(
                &format!("/api/v1/experiments/{id}/stop"),
                Some(&l.author),
                &json!({}),
            )
            .await;
        expect_json(res, StatusCode::OK).await;
    }
    panic!(
        "eight experiments never split {} learners both ways",
        ids.len()
    );
}

#[actix_web::test]
async fn each_arm_is_scheduled_by_its_own_policy_until_the_experiment_stops() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let tokens = app.team_tokens(&l, 3).await;
    let mut ids = Vec::new();
    for t in &tokens {
        ids.push(
            expect_json(app.get("/api/v1/me", Some(t)).await, StatusCode::OK).await["user"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (id, arms) = split_until_both_arms(&app, &l, &ids).await;
    // The same right answer to the same first nugget: Qstream brings it back in 42 days, FSRS
    // after a few days.
    let mut due_in = std::collections::HashMap::new();
    for (t, arm) in tokens.iter().zip(&arms) {
        let q = app.queue(t).await;
        let n = &q["nuggets"][0];
        assert_eq!(n["reason"], "new");
        let res = expect_json(
            app.answer(t, n["nugget_id"].as_str().unwrap(), &right(n))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let next: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(res["next_due"].clone()).unwrap();
        due_in.insert(arm.clone(), (next - app.clock.now()).num_days());
    }
    assert_eq!(due_in["Qstream"], 42, "{due_in:?}");
    assert!(due_in["FSRS"] < 30, "{due_in:?}");
    let running = report(&app, &l.author, &id).await;
    let questions: f64 = running["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["questions_per_learner"].as_f64().unwrap())
        .sum();
    assert!(questions > 0.0, "{running}");
    // Stopped: everyone is back on the assignment's FSRS.
    let stopped = expect_json(
        app.post_json(
            &format!("/api/v1/experiments/{id}/stop"),
            Some(&l.author),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stopped["status"], "stopped");
    expect_problem(
        app.post_json(
            &format!("/api/v1/experiments/{id}/stop"),
            Some(&l.author),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let qstream = &tokens[arms.iter().position(|a| a == "Qstream").unwrap()];
    let q = app.queue(qstream).await;
    let n = q["nuggets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["reason"] == "new")
        .unwrap();
    let res = expect_json(
        app.answer(qstream, n["nugget_id"].as_str().unwrap(), &right(n))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(res["next_due"].clone()).unwrap();
    assert!(
        (next - app.clock.now()).num_days() < 30,
        "FSRS again after the stop: {res}"
    );
    let audit = expect_json(
        app.get(
            "/api/v1/audit?action=experiment.stopped",
            Some(&l.org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(audit.to_string().contains(&id), "{audit}");
}

#[actix_web::test]
async fn probes_come_about_once_a_week_and_are_recorded_when_answered() {
    // Tokens that outlive three weeks of the test clock.
    let app = spawn_with(|s| s.access_ttl_secs = 60 * 86_400).await;
    let l = app.setup_learning(6).await;
    // Day 0 (a Monday): every nugget met.
    let q = app.queue(&l.learner).await;
    for n in q["nuggets"].as_array().unwrap() {
        assert_ne!(n["reason"], "probe");
        expect_json(
            app.answer(&l.learner, n["nugget_id"].as_str().unwrap(), &right(n))
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    // Probes are drawn among nuggets met before the experiment started.
    app.clock.advance(Duration::minutes(1));
    let created = start(&app, &l, two_arms(0.5)).await;
    let id = created["id"].as_str().unwrap().to_string();
    let mut probes = Vec::new();
    for day in 0..21 {
        let token = l.learner.clone();
        let q = app.queue(&token).await;
        let today: Vec<&Value> = q["nuggets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["reason"] == "probe")
            .collect();
        assert!(today.len() <= 1, "day {day}: {q}");
        for n in today {
            assert_eq!(n["review"], true);
            let res = expect_json(
                app.answer(&token, n["nugget_id"].as_str().unwrap(), &right(n))
                    .await,
                StatusCode::CREATED,
            )
            .await;
            assert_eq!(res["counted"], true, "a probe counts: {res}");
            probes.push((day, n["nugget_id"].as_str().unwrap().to_string()));
            // Answered: gone from the queue for the rest of the week.
            let again = app.queue(&token).await;
            assert!(
                again["nuggets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|m| m["reason"] != "probe"),
                "{again}"
            );
        }
        app.clock.advance(Duration::days(1));
    }
    // Three ISO weeks, one probe in each.
    assert_eq!(probes.len(), 3, "{probes:?}");
    let weeks: Vec<i64> = probes.iter().map(|(d, _)| d / 7).collect();
    assert_eq!(weeks, vec![0, 1, 2], "{probes:?}");
    let r = report(&app, &l.author, &id).await;
    let arm = r["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["learners"] == 1)
        .unwrap();
    assert_eq!(arm["probes"], 3);
    assert_eq!(arm["probe_recall"]["learners"], 1);
    assert_eq!(arm["probe_recall"]["recall"], 1.0);
}

#[actix_web::test]
async fn the_demo_experiment_finds_a_true_difference_and_no_false_one() {
    use reprise::demo::experiment::{generate, ExperimentPlan};
    let app = spawn_app().await;
    let pool = app.pool();
    let real = generate(
        &mut pool.get().unwrap(),
        &ExperimentPlan::default(),
        app.clock.now(),
    )
    .unwrap();
    let none = ExperimentPlan {
        true_recall: [0.83, 0.83],
        seed: 7,
        ..ExperimentPlan::default()
    };
    let null = generate(&mut pool.get().unwrap(), &none, app.clock.now()).unwrap();
    let token = app
        .login("admin@demo.example", reprise::demo::PASSWORD)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let r = report(&app, &token, real.experiment_id.as_str()).await;
    eprintln!("real difference: {}", r["arms"][1]["probe_recall"]);
    assert_eq!(
        r["arms"][0]["learners"].as_u64().unwrap() + r["arms"][1]["learners"].as_u64().unwrap(),
        400
    );
    let control = &r["arms"][0]["probe_recall"];
    let [lo, hi] = [
        control["ci95"][0].as_f64().unwrap(),
        control["ci95"][1].as_f64().unwrap(),
    ];
    // Bootstrap bounds are means of probe shares: one landing on the truth itself may differ
    // from it in the last bits of the floating point sum.
    assert!(covers(lo, hi, 0.80), "control recall 0.80 in {control}");
    let d = &r["arms"][1]["probe_recall"]["difference"];
    let [lo, hi] = [
        d["ci95"][0].as_f64().unwrap(),
        d["ci95"][1].as_f64().unwrap(),
    ];
    assert!(
        covers(lo, hi, real.true_difference),
        "true {} in {d}",
        real.true_difference
    );
    assert!(d["p_value"].as_f64().unwrap() < 0.05, "{d}");
    // The same figures for the same data.
    assert_eq!(report(&app, &token, real.experiment_id.as_str()).await, r);

    let r = report(&app, &token, null.experiment_id.as_str()).await;
    eprintln!("no difference: {}", r["arms"][1]["probe_recall"]);
    let d = &r["arms"][1]["probe_recall"]["difference"];
    let [lo, hi] = [
        d["ci95"][0].as_f64().unwrap(),
        d["ci95"][1].as_f64().unwrap(),
    ];
    assert!(covers(lo, hi, 0.0), "{d}");
    assert!(d["p_value"].as_f64().unwrap() > 0.05, "{d}");
}

async fn upload(app: &TestApp, token: &str, id: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/experiments/{id}/kpis")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn kpis_are_uploaded_and_compared_per_arm() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    app.team_tokens(&l, 3).await;
    let created = start(&app, &l, two_arms(0.5)).await;
    let id = created["id"].as_str().unwrap();
    let mut csv = String::from("email,kpi,value\nsam@acme.example,quota,0.9\n");
    for i in 0..3 {
        csv.push_str(&format!(
            "seller{i}@acme.example,quota,{}\n",
            0.8 + f64::from(i) / 10.0
        ));
    }
    let uploaded = expect_json(upload(&app, &l.author, id, &csv).await, StatusCode::OK).await;
    assert_eq!(uploaded["rows"], 4);
    assert_eq!(uploaded["kpis"], json!(["quota"]));
    let r = report(&app, &l.author, id).await;
    assert_eq!(r["kpis"][0]["kpi"], "quota");
    let arms = r["kpis"][0]["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 2);
    let with_values: u64 = arms.iter().map(|a| a["learners"].as_u64().unwrap()).sum();
    assert_eq!(with_values, 4);
    // Refused whole: an unknown e-mail, staff who are not in the experiment, a bad value.
    let bad = "email,kpi,value\nnobody@acme.example,quota,1\nlena@acme.example,quota,1\nsam@acme.example,quota,x\n";
    let problem = expect_problem(
        upload(&app, &l.author, id, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), vec!["value"], "{problem}");
    let bad = "email,kpi,value\nnobody@acme.example,quota,1\nlena@acme.example,quota,1\n";
    let problem = expect_problem(
        upload(&app, &l.author, id, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem_fields(&problem),
        vec!["email", "email"],
        "{problem}"
    );
    let res = app
        .post_json(
            &format!("/api/v1/experiments/{id}/kpis"),
            Some(&l.author),
            &json!({}),
        )
        .await;
    expect_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let audit = expect_json(
        app.get(
            "/api/v1/audit?action=experiment.kpis_uploaded",
            Some(&l.org.admin_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(audit.to_string().contains(id), "{audit}");
}

#[actix_web::test]
async fn only_the_organizations_authors_and_admins_see_its_experiments() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    let created = start(&app, &l, two_arms(0.5)).await;
    let id = created["id"].as_str().unwrap();
    let body = json!({"name": "Trial", "assignment_id": l.assignment_id, "arms": two_arms(0.5)});
    for token in [&l.learner] {
        expect_problem(create(&app, token, &body).await, StatusCode::FORBIDDEN).await;
        expect_problem(
            app.get("/api/v1/experiments", Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        expect_problem(
            app.get(&format!("/api/v1/experiments/{id}"), Some(token))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let (_, manager) = app.create_user(&l.org, "max@acme.example", "manager").await;
    expect_problem(
        app.get(&format!("/api/v1/experiments/{id}"), Some(&manager))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Another organization: its own list is empty, this experiment does not exist for it, and
    // it cannot start one on this organization's assignment.
    let list = expect_json(
        app.get("/api/v1/experiments", Some(&other.author)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list, json!([]));
    expect_problem(
        app.get(&format!("/api/v1/experiments/{id}"), Some(&other.author))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let stop = app
        .post_json(
            &format!("/api/v1/experiments/{id}/stop"),
            Some(&other.org.admin_token),
            &json!({}),
        )
        .await;
    expect_problem(stop, StatusCode::NOT_FOUND).await;
    let res = upload(
        &app,
        &other.author,
        id,
        "email,kpi,value\nsam@globex.example,quota,1\n",
    )
    .await;
    expect_problem(res, StatusCode::NOT_FOUND).await;
    expect_problem(
        create(&app, &other.author, &body).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Unauthenticated: 401.
    expect_problem(
        app.get("/api/v1/experiments", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Still running, untouched.
    assert_eq!(report(&app, &l.author, id).await["status"], "running");
}
