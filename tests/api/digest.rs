//! The managers' weekly digest: on Monday at their reminder time, one e-mail per manager with
//! their teams' proficiency, participation and who is about to forget what, linking into the
//! console; nothing for a manager with nobody to follow, nothing twice.

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn managers_get_their_teams_digest_on_monday_once() {
    let mail_dir = tempfile::tempdir().unwrap();
    let dir = mail_dir.path().to_path_buf();
    let app = spawn_with(|s| s.mail_dir = dir.clone()).await;
    let l = app.setup_learning(6).await;
    let (manager_id, _) = app.create_user(&l.org, "mia@acme.example", "manager").await;
    app.create_user(&l.org, "max@acme.example", "manager").await;
    let res = app
        .post_json(
            &format!("/api/v1/teams/{}/members", l.team_id),
            Some(&l.org.admin_token),
            &json!({"user_ids": [manager_id]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Sam answers on Monday 2 March: one right, one wrong.
    let q = app.queue(&l.learner).await;
    let ids = ids(&q);
    app.answer(&l.learner, &ids[0], &["b"]).await;
    app.answer(&l.learner, &ids[1], &["a"]).await;

    // Tuesday 3 March: no digest.
    let tuesday = Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap();
    let report = app.reach.pass(tuesday).await.unwrap();
    assert_eq!(report.sent.get("digest"), None, "{report}");
    // Monday 9 March, before and after 09:00.
    let early = Utc.with_ymd_and_hms(2026, 3, 9, 8, 0, 0).unwrap();
    assert_eq!(
        app.reach.pass(early).await.unwrap().sent.get("digest"),
        None
    );
    let monday = Utc.with_ymd_and_hms(2026, 3, 9, 9, 30, 0).unwrap();
    let report = app.reach.pass(monday).await.unwrap();
    assert_eq!(
        report.sent.get("digest"),
        Some(&1),
        "Max has no team: {report}"
    );
    let again = app
        .reach
        .pass(monday + chrono::Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(again.sent.get("digest"), None);

    let parsed: Vec<_> = mails_in(mail_dir.path())
        .into_iter()
        .map(|m| (m.to, m.subject, m.text, m.html, m.list_unsubscribe))
        .filter(|(to, ..)| to.starts_with("mi") || to.starts_with("max"))
        .collect();
    assert_eq!(parsed.len(), 1, "one digest, to Mia");
    let (to, subject, text, html, unsubscribe) = &parsed[0];
    assert_eq!(to, "mia@acme.example");
    assert!(
        subject.starts_with("Your teams this week: proficiency "),
        "{subject}"
    );
    assert!(text.contains("week of 2026-03-09"), "{text}");
    assert!(text.contains("North: proficiency "), "{text}");
    assert!(text.contains("1 of 1 learners active"), "{text}");
    // The wrong answer a week ago is fading: Sam is about to forget Discovery.
    assert!(text.contains("- Sam: Discovery"), "{text}");
    assert!(
        text.contains("http://reprise.test/#/hr"),
        "a link into the console's analytics: {text}"
    );
    assert!(html.contains("<li>North: proficiency"), "{html}");
    assert!(unsubscribe);
}
