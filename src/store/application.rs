//! Application evidence: every dated sign of a seller applying a topic that the knowledge ×
//! application view weighs (`domain::application::application_score`).
//!
//! The one source today is managers' field observations. Pitch review scores join here as a
//! second source: a reviewed pitch (`pitch_reviews.mean_score`, 1..4, on the review's day) is
//! evidence for the pitch's learner and topic, read by a second query whose rows are appended
//! to the same list, so the view and its decay stay as they are.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::observations;
use super::{DbConnection, StoreResult};
use crate::domain::application::Evidence;
use crate::domain::ids::OrgId;

/// One piece of evidence: whose, on which topic (as the content spells it), and the rating
/// with its day. Learner ids are plain strings, as in the other rows analytics views fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub learner_id: String,
    pub topic: String,
    pub evidence: Evidence,
}

/// The organization's application evidence dated `since` or later, every source chained:
/// field observations now, pitch review scores once pitches are reviewed (see the module).
#[tracing::instrument(level = "debug", skip_all, fields(org = %org_id))]
pub fn evidence(
    conn: &mut DbConnection,
    org_id: &OrgId,
    since: NaiveDate,
) -> StoreResult<Vec<Applied>> {
    let observed: Vec<(String, String, i32, NaiveDate)> = observations::table
        .filter(observations::org_id.eq(org_id))
        .filter(observations::observed_on.ge(since))
        .select((
            observations::learner_id,
            observations::topic,
            observations::applied,
            observations::observed_on,
        ))
        .load(conn)?;
    let all = observed
        .into_iter()
        .map(|(learner_id, topic, applied, on)| Applied {
            learner_id,
            topic,
            evidence: Evidence {
                rating: f64::from(applied),
                on,
            },
        });
    // Pitch review scores chain in here: `all.chain(pitch_scores(conn, org_id, since)?)`.
    Ok(all.collect())
}
