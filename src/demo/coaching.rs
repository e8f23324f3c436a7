//! The coaching loop in the demo: leaderboards on, a few sellers under pseudonyms, a refresher
//! from three days ago that two South sellers partly answered, one planned today for the North
//! team, and coaching notes (one already seen), so the leaderboard, refresher and notes views
//! show something on first start. Made through the same services the API calls, once: an
//! organization that has refreshers keeps what it has.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};

use super::ORG_SLUG;
use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::calendar::{local_day, local_midnight};
use crate::domain::coaching::NoteText;
use crate::domain::ids::{NuggetId, OrgId, UserId};
use crate::domain::scheduler::CardStatus;
use crate::learning::answer::{apply_with_retry, AnswerRequest};
use crate::learning::queue;
use crate::refreshers::{self, Learners, NewRefresher, Nuggets};
use crate::store::enrolments::EnrolmentCache;
use crate::store::{
    accounts, content, leaderboards as board_store, learning, refreshers as refresher_store,
    DbConnection,
};

/// Sellers who chose a pseudonym, and the names they chose.
pub const PSEUDONYMS: [(&str, &str); 3] = [
    ("seller03@demo.example", "Quota Crusher"),
    ("seller14@demo.example", "Night Owl"),
    ("seller17@demo.example", "The Closer"),
];

/// What was seeded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub refreshers: usize,
    pub notes: usize,
}

fn user(conn: &mut DbConnection, email: &str) -> anyhow::Result<(UserId, Role)> {
    let login = accounts::find_logins(conn, email, Some(ORG_SLUG), 1)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the demo organization has no {email}"))?;
    Ok((login.user.id, login.user.role))
}

fn caller(org: &OrgId, (user_id, role): (UserId, Role)) -> Caller {
    Caller {
        user_id,
        org_id: org.clone(),
        role,
        request_id: None,
    }
}

/// Seeds the coaching loop once; returns what it made (nothing on a later start).
pub fn seed(conn: &mut DbConnection, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    if !refresher_store::list(conn, &org.id, None, 1)?.is_empty() {
        return Ok(Seeded::default());
    }
    accounts::update_org(
        conn,
        &org.id,
        accounts::OrgUpdate {
            leaderboards: Some(true),
            ..Default::default()
        },
    )?;
    for (email, alias) in PSEUDONYMS {
        let (id, _) = user(conn, email)?;
        board_store::set_pseudonym(conn, &org.id, &id, Some(alias))?;
    }
    let tz = org.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
    let today = local_day(tz, now).date;
    let manager = caller(&org.id, user(conn, "manager@demo.example")?);
    let mut seeded = Seeded::default();

    // Three days ago: a refresher for two South sellers, answered in the evenings since.
    let created = local_midnight(tz, today - Duration::days(3)) + Duration::hours(7);
    let first = caller(&org.id, user(conn, "seller12@demo.example")?);
    let second = caller(&org.id, user(conn, "seller13@demo.example")?);
    let quiet: Vec<NuggetId> = learning::states(conn, &org.id, &first.user_id)?
        .into_iter()
        .filter(|s| matches!(s.card.status, CardStatus::Review | CardStatus::Learning))
        .filter(|s| {
            s.card
                .last_review
                .is_some_and(|t| t < created - Duration::days(1))
        })
        .map(|s| s.nugget_id)
        .take(3)
        .collect();
    if !quiet.is_empty() {
        let request = NewRefresher {
            learners: Learners::Ids(vec![first.user_id.clone(), second.user_id.clone()]),
            nuggets: Nuggets::Ids(quiet),
            days: 3,
        };
        let report = refreshers::create(conn, &manager, request, created)
            .map_err(|e| anyhow::anyhow!("demo refresher: {e}"))?;
        seeded.refreshers += 1;
        let enrolments = EnrolmentCache::new(1 << 20);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2028);
        for item in &report.items {
            // The first seller answers every item on its day; the second only the first one.
            let learner = if item.learner_id == first.user_id.as_str() {
                &first
            } else if item.planned_on == report.items[0].planned_on {
                &second
            } else {
                continue;
            };
            let at = local_midnight(tz, item.planned_on)
                + Duration::hours(19)
                + Duration::minutes(rng.gen_range(0..90));
            let nugget = NuggetId::from(item.nugget_id.as_str());
            let Some(state) = learning::state(conn, &org.id, &learner.user_id, &nugget)? else {
                continue;
            };
            let stored =
                content::nugget_in_version(conn, &org.id, &nugget, &state.pack_version_id)?;
            let right = rng.gen_bool(0.8);
            let mut selected: Vec<String> = stored
                .options
                .iter()
                .filter(|o| o.correct == right)
                .map(|o| o.id.clone())
                .collect();
            if !right {
                selected.truncate(1);
            }
            if selected.is_empty() {
                selected.push(stored.options[0].id.clone());
            }
            let req = AnswerRequest {
                attempt_id: uuid::Uuid::from_u128(rng.gen()),
                nugget_id: nugget,
                selected,
                answered_at: at,
                response_ms: rng.gen_range(4_000..20_000),
                confidence: None,
            };
            apply_with_retry(conn, None, &enrolments, learner, &req, at)
                .map_err(|e| anyhow::anyhow!("demo refresher answer: {e}"))?;
        }
    }

    // Today: one for the North team, on a topic its sellers have met.
    let north_seller = caller(&org.id, user(conn, "seller02@demo.example")?);
    let topic = learning::states(conn, &org.id, &north_seller.user_id)?
        .into_iter()
        .filter(|s| s.card.status == CardStatus::Review)
        .find_map(|s| {
            content::nugget_in_version(conn, &org.id, &s.nugget_id, &s.pack_version_id)
                .ok()
                .map(|n| n.topic)
        });
    let north = accounts::list_teams(conn, &org.id)?
        .into_iter()
        .find(|t| t.name == super::TEAMS[0]);
    if let (Some(topic), Some(team)) = (topic, north) {
        let request = NewRefresher {
            learners: Learners::Team(team.id.clone().into()),
            nuggets: Nuggets::Topic(topic),
            days: 5,
        };
        match refreshers::create(conn, &manager, request, now) {
            Ok(_) => seeded.refreshers += 1,
            Err(e) => tracing::warn!(error = %e, "no demo refresher for the North team"),
        }
    }

    // Notes: one on the topic of seller01's first nugget today, one already seen.
    let enrolments = EnrolmentCache::new(1 << 20);
    let seller01 = caller(&org.id, user(conn, "seller01@demo.example")?);
    let (_, queue) = queue::build(conn, &enrolments, &seller01, now)
        .map_err(|e| anyhow::anyhow!("demo queue: {e}"))?;
    let notes = [
        (
            &seller01,
            queue.nuggets.first().map(|n| n.topic.clone()),
            "Good progress this week. On this one, lead with the customer's numbers before our features.",
            false,
        ),
        (
            &first,
            None,
            "Nice recovery on the refresher. Keep the discovery questions open-ended.",
            true,
        ),
    ];
    for (learner, topic, body, seen) in notes {
        let topic = match topic {
            Some(t) => t,
            None => match learning::states(conn, &org.id, &learner.user_id)?.first() {
                Some(s) => {
                    content::nugget_in_version(conn, &org.id, &s.nugget_id, &s.pack_version_id)?
                        .topic
                }
                None => continue,
            },
        };
        let text = NoteText::parse(&topic, body).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let note = crate::coaching::create(conn, &manager, &learner.user_id, text, now)
            .map_err(|e| anyhow::anyhow!("demo note: {e}"))?;
        if seen {
            crate::coaching::mark_seen(conn, learner, &note.id, now)
                .map_err(|e| anyhow::anyhow!("demo note seen: {e}"))?;
        }
        seeded.notes += 1;
    }
    Ok(seeded)
}
