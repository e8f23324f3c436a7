//! Pitch practice in the demo: a pack of pitch nuggets assigned to five sellers of the South team,
//! their recordings (one pending, three reviewed, one shared as an exemplar), so the seller's
//! pitches and exemplars, the manager's review list and the knowledge × application view show
//! something on first start. Made through the same services the API calls, once.
//!
//! Every demo recording is the same short sample (a few seconds of Chromium's fake camera):
//! its bytes are written to media storage by [`store_recordings`] after the rows are made.

use chrono::{DateTime, Duration, Utc};

use super::ORG_SLUG;
use crate::auth::Caller;
use crate::blobs::Blobs;
use crate::domain::assignments::Settings;
use crate::domain::catalog::DraftOutcome;
use crate::domain::content::Pack;
use crate::domain::ids::{AssignmentId, NuggetId, OrgId, PitchId};
use crate::domain::recording;
use crate::learning::pitch_practice;
use crate::pitches::{self, ReviewInput};
use crate::store::enrolments::EnrolmentCache;
use crate::store::{accounts, assignments, content, new_id, DbConnection};

/// The demo's pitch pack.
const PACK: &str = include_str!("pitch-practice.yaml");
/// The recording every demo pitch plays.
pub const SAMPLE: &[u8] = include_bytes!("../../tests/fixtures/recordings/chromium-vp8-opus.webm");

/// One demo pitch: who recorded which nugget how many days ago, the manager's scores in rubric
/// order (none: still pending) and comment, and whether it was shared as an exemplar.
struct DemoPitch {
    seller: &'static str,
    nugget: &'static str,
    days_ago: i64,
    scores: Option<&'static [i64]>,
    comment: &'static str,
    share: bool,
}

const PITCHES: [DemoPitch; 5] = [
    DemoPitch {
        seller: "seller16@demo.example",
        nugget: "price-objection",
        days_ago: 9,
        scores: Some(&[4, 4, 3]),
        comment: "Calm, and you tied the price to their uptime goal. Share-worthy.",
        share: true,
    },
    DemoPitch {
        seller: "seller17@demo.example",
        nugget: "price-objection",
        days_ago: 6,
        scores: Some(&[2, 3, 2]),
        comment: "You defended the price before asking what worried them. Try naming their concern first.",
        share: false,
    },
    DemoPitch {
        seller: "seller18@demo.example",
        nugget: "why-change-now",
        days_ago: 5,
        scores: Some(&[3, 2]),
        comment: "Good insight on downtime costs; back it with the customer story from the workshop.",
        share: false,
    },
    DemoPitch {
        seller: "seller19@demo.example",
        nugget: "discovery-opening",
        days_ago: 3,
        scores: Some(&[3, 3, 4]),
        comment: "You let them talk. Two more open questions before the demo would make it a 4.",
        share: false,
    },
    DemoPitch {
        seller: "seller20@demo.example",
        nugget: "why-change-now",
        days_ago: 1,
        scores: None,
        comment: "",
        share: false,
    },
];

fn caller_of(conn: &mut DbConnection, org: &OrgId, email: &str) -> anyhow::Result<Caller> {
    let login = accounts::find_logins(conn, email, Some(ORG_SLUG), 1)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the demo organization has no {email}"))?;
    Ok(Caller {
        user_id: login.user.id,
        org_id: org.clone(),
        role: login.user.role,
        request_id: None,
    })
}

/// Publishes and assigns the pitch pack and records the demo pitches, once; returns the storage
/// keys the sample recording must be written to (none on a later start).
pub fn seed(conn: &mut DbConnection, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    let pack: Pack = serde_norway::from_str(PACK)?;
    let author = caller_of(conn, &org.id, "author@demo.example")?;
    let outcome = content::save_draft(conn, &org.id, &pack, now)?;
    if outcome == DraftOutcome::Unchanged {
        return Ok(Vec::new());
    }
    content::publish(conn, &org.id, &pack.slug, &author.user_id, now)?;
    // Assigned to the five sellers who record, not to whole teams: the other sellers' queues
    // stay as the rest of the demo (and the browser journeys that sign in as them) expect.
    let mut learner_ids = Vec::new();
    for pitch in &PITCHES {
        learner_ids.push(
            caller_of(conn, &org.id, pitch.seller)?
                .user_id
                .into_string(),
        );
    }
    let id = AssignmentId::new(new_id());
    let settings = Settings {
        daily_cap: 1,
        ..Settings::defaults(now.date_naive() - Duration::days(14))
    };
    let new = assignments::NewAssignment {
        id: &id,
        pack_slug: &pack.slug,
        team_id: None,
        learner_ids: &learner_ids,
        settings: &settings,
        created_by: &author.user_id,
    };
    assignments::create(conn, &org.id, new, now)?
        .map_err(|missing| anyhow::anyhow!("cannot assign the pitch pack: {missing:?}"))?;
    let manager = caller_of(conn, &org.id, "manager@demo.example")?;
    let nuggets = content::nugget_ids_by_key(conn, &org.id, &pack.slug)?;
    let probe = recording::probe(std::io::Cursor::new(SAMPLE))
        .map_err(|e| anyhow::anyhow!("the demo recording: {e}"))?;
    let enrolments = EnrolmentCache::new(1 << 20);
    let mut keys = Vec::new();
    for DemoPitch {
        seller: email,
        nugget: key,
        days_ago,
        scores,
        comment,
        share,
    } in PITCHES
    {
        let seller = caller_of(conn, &org.id, email)?;
        let nugget: NuggetId = nuggets
            .get(key)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the pitch pack has no {key}"))?;
        let at = now - Duration::days(days_ago) - Duration::hours(3);
        let assigned = pitch_practice::assigned_pitch(conn, &enrolments, &seller, &nugget, at)
            .map_err(|e| anyhow::anyhow!("{email} has no {key}: {e}"))?;
        let id = PitchId::new(new_id());
        let storage_key =
            pitches::recording_key(&org.id, &seller.user_id, &id, probe.kind.extension());
        let recorded = pitches::Recorded {
            id: id.clone(),
            attempt_id: uuid::Uuid::new_v4(),
            probe: probe.clone(),
            bytes: SAMPLE.len() as u64,
            key: storage_key.clone(),
        };
        pitches::keep(conn, &seller, &assigned, &recorded, at)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        keys.push(storage_key);
        if let Some(scores) = scores {
            let given = assigned
                .nugget
                .rubric
                .iter()
                .zip(scores)
                .map(|(c, s)| (c.criterion.clone(), serde_json::json!(s)))
                .collect();
            let input = ReviewInput {
                scores: given,
                comment: comment.to_string(),
            };
            // The demo manager leads both teams: every demo seller is theirs to review.
            let reviewer = &manager;
            pitches::review(conn, reviewer, &id, input, at + Duration::days(1))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if share {
                pitches::share(conn, reviewer, &id, at + Duration::days(1))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
    }
    Ok(keys)
}

/// Writes the sample recording for each key (after [`seed`] made their rows).
pub async fn store_recordings(blobs: &Blobs, keys: &[String]) -> anyhow::Result<()> {
    for key in keys {
        blobs
            .put_bytes(key, bytes::Bytes::from_static(SAMPLE))
            .await
            .map_err(|e| anyhow::anyhow!("storing the demo recording {key}: {e}"))?;
    }
    Ok(())
}
