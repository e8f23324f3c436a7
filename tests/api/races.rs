//! Races: many writers at once on one database, and one answer sent to two servers at once.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn sixty_four_concurrent_writers_all_succeed() {
    let app = spawn_app().await;
    let l = app.setup_learning(6).await;
    let mut work = Vec::new();
    for i in 0..16 {
        let token = app
            .add_team_learner(&l, &format!("seller{i}@acme.example"))
            .await;
        let q = app.queue(&token).await;
        for n in q["nuggets"].as_array().unwrap().iter().take(4) {
            work.push((token.clone(), n["nugget_id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(work.len(), 64);
    let sends = work
        .iter()
        .map(|(token, nugget)| app.answer(token, nugget, &["b"]));
    let responses = futures_util::future::join_all(sends).await;
    for res in responses {
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(!body.contains("locked"), "{body}");
    }
    let counts = table_counts(&app.database_url);
    assert!(counts.contains(&("reviews", 64)), "{counts:?}");
    assert!(counts.contains(&("memory_states", 64)), "{counts:?}");
}

#[actix_web::test]
async fn one_answer_sent_to_two_servers_at_once_is_recorded_once() {
    let first = spawn_app().await;
    let l = first.setup_learning(3).await;
    let second = spawn_on(&first.database_url).await;
    let nugget = first.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"attempt_id": uuid::Uuid::new_v4(), "nugget_id": nugget, "selected": ["b"], "answered_at": first.clock.now(), "response_ms": 4000});
    let (a, b) = futures_util::join!(
        first.post_json("/api/v1/me/answers", Some(&l.learner), &body),
        second.post_json("/api/v1/me/answers", Some(&l.learner), &body),
    );
    let mut statuses = vec![a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CREATED]);
    let a: Value = a.json().await.unwrap();
    let b: Value = b.json().await.unwrap();
    assert_eq!(a["next_due"], b["next_due"]);
    let counts = table_counts(&first.database_url);
    assert!(
        counts.contains(&("reviews", 1)) && counts.contains(&("memory_states", 1)),
        "{counts:?}"
    );
}

/// Two answers to the same nugget at once end as if given one after the other: the first
/// counts, and the second, prepared again after losing the race, finds the nugget counted today
/// and is practice.
#[actix_web::test]
async fn simultaneous_answers_to_one_nugget_count_once() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = app.queue(&l.learner).await["nuggets"][0]["nugget_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (a, b) = futures_util::join!(
        app.answer(&l.learner, &nugget, &["b"]),
        app.answer(&l.learner, &nugget, &["a"])
    );
    let a = expect_json(a, StatusCode::CREATED).await;
    let b = expect_json(b, StatusCode::CREATED).await;
    let mut counted = [a["counted"].as_bool(), b["counted"].as_bool()];
    counted.sort();
    assert_eq!(counted, [Some(false), Some(true)]);
    let progress = expect_json(
        app.get("/api/v1/me/progress", Some(&l.learner)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(progress["overall"]["answers"], 1);
    assert_eq!(progress["overall"]["nuggets"], 1);
    let counts = table_counts(&app.database_url);
    assert!(
        counts.contains(&("reviews", 2)) && counts.contains(&("memory_states", 1)),
        "{counts:?}"
    );
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    sub: &'a str,
    org: &'a str,
    role: &'a str,
    ver: i64,
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

#[actix_web::test]
async fn tokens_for_another_audience_issuer_time_or_version_are_refused() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let me = expect_json(
        app.get("/api/v1/me", Some(&org.admin_token)).await,
        StatusCode::OK,
    )
    .await;
    let org_id = me["organization"]["id"].as_str().unwrap();
    let now = app.clock.now().timestamp();
    let key = EncodingKey::from_secret(
        reprise::config::Settings::for_tests(String::new())
            .jwt_secret
            .as_slice(),
    );
    let versioned = |ver: i64, iss: &str, aud: &str, nbf: i64, exp: i64| {
        let claims = Claims {
            sub: &org.admin_id,
            org: org_id,
            role: "admin",
            ver,
            iss,
            aud,
            iat: now,
            nbf,
            exp,
        };
        encode(&Header::default(), &claims, &key).unwrap()
    };
    let token = |iss: &str, aud: &str, nbf: i64, exp: i64| versioned(0, iss, aud, nbf, exp);
    // The same key with the right claims works, so each refusal below is about one claim.
    let good = token("reprise", "reprise-api", now, now + 600);
    expect_json(app.get("/api/v1/me", Some(&good)).await, StatusCode::OK).await;
    for (what, t) in [
        (
            "another issuer",
            token("someone-else", "reprise-api", now, now + 600),
        ),
        (
            "another audience",
            token("reprise", "other-api", now, now + 600),
        ),
        (
            "not yet valid",
            token("reprise", "reprise-api", now + 3600, now + 7200),
        ),
        (
            "expired",
            token("reprise", "reprise-api", now - 7200, now - 3600),
        ),
        (
            "another auth version",
            versioned(1, "reprise", "reprise-api", now, now + 600),
        ),
    ] {
        let res = app.get("/api/v1/me", Some(&t)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
}
