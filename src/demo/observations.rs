//! Field observations in the demo: the demo manager's notes from ride-alongs over the last
//! weeks, placed so that the knowledge × application matrix shows every quadrant on first
//! start. The pairs are chosen from what the generated history left each seller knowing: some
//! who know a topic are seen applying it and some not, and likewise for those who do not.
//! Made through the same service the API calls, once: an organization that has observations
//! keeps what it has.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::ORG_SLUG;
use crate::analytics::knowledge_application::{knowledge_application, ApplicationCell};
use crate::analytics::scope::Narrowing;
use crate::auth::Caller;
use crate::domain::application::KNOWS_AT;
use crate::domain::calendar::local_day;
use crate::observations::{self, ObservationRequest};
use crate::store::observations as observation_store;
use crate::store::reader::Reader;
use crate::store::{accounts, DbConnection};

/// Observations of sellers who know a topic: (rating, days ago, note).
const OF_KNOWN: [(i64, i64, &str); 4] = [
    (
        4,
        3,
        "Opened with the customer's numbers and kept to them. Textbook.",
    ),
    (
        2,
        9,
        "Knew the answer when I asked afterwards, but pitched features in the meeting.",
    ),
    (3, 16, "Mostly there; needed a nudge at the end."),
    (1, 23, "Skipped it entirely under time pressure."),
];
/// Observations of sellers who do not (yet) know it.
const OF_UNKNOWN: [(i64, i64, &str); 4] = [
    (4, 5, "Did it naturally, though could not say why it works."),
    (1, 12, "Not applied; we talked it through in the car."),
    (3, 20, "Good instinct in the meeting."),
    (2, 30, "Tried, but lost the thread."),
];
/// How many pairs of each kind are observed.
const PER_KIND: usize = 8;

/// Seeds the demo manager's observations once; returns how many were made (none on a later
/// start, or without history to choose from).
pub fn seed(conn: &mut DbConnection, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    if observation_store::any(conn, &org.id)? {
        return Ok(0);
    }
    let login = accounts::find_logins(conn, "manager@demo.example", Some(ORG_SLUG), 1)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the demo organization has no manager"))?;
    let manager = Caller {
        user_id: login.user.id,
        org_id: org.id.clone(),
        role: login.user.role,
        request_id: None,
    };
    let view = knowledge_application(
        &mut Reader::alone(conn),
        &manager,
        now,
        &Narrowing::default(),
    )
    .map_err(|e| anyhow::anyhow!("demo knowledge × application: {e}"))?;
    let knows = |c: &&ApplicationCell| c.proficiency.is_some_and(|p| p >= KNOWS_AT);
    let known: Vec<&ApplicationCell> = view.cells.iter().filter(knows).collect();
    let unknown: Vec<&ApplicationCell> = view.cells.iter().filter(|c| !knows(c)).collect();
    let tz = org.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
    let today = local_day(tz, now).date;
    let mut made = 0;
    for (cells, pattern) in [(known, OF_KNOWN), (unknown, OF_UNKNOWN)] {
        // Spread over the sellers and topics: every `step`-th pair.
        let step = (cells.len() / PER_KIND).max(1);
        for (i, cell) in cells.iter().step_by(step).take(PER_KIND).enumerate() {
            let (applied, days_ago, note) = pattern[i % pattern.len()];
            let req = ObservationRequest {
                learner_id: cell.learner_id.as_str().into(),
                topic: cell.topic.clone(),
                applied,
                note: Some(note.to_string()),
                observed_on: today - Duration::days(days_ago + i as i64),
            };
            observations::create(conn, &manager, req, now)
                .map_err(|e| anyhow::anyhow!("demo observation: {e}"))?;
            made += 1;
        }
    }
    Ok(made)
}
