//! Application evidence: every dated sign of a seller applying a topic that the knowledge ×
//! application view weighs (`domain::application::application_score`).
//!
//! Two sources: managers' field observations (`applied`, 1..4, on the day observed) and pitch
//! reviews (`pitch_reviews.mean_score`, the mean of the rubric's 1..4 scores, on the day
//! reviewed) for the pitch's learner and topic. Both are the same kind of evidence to the view,
//! so its decay and thresholds apply to each alike.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{observations, pitch_reviews};
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
/// field observations, then pitch review scores.
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
    let since_time = since.and_time(chrono::NaiveTime::MIN);
    let reviewed: Vec<(String, String, f64, chrono::NaiveDateTime)> = pitch_reviews::table
        .filter(pitch_reviews::org_id.eq(org_id))
        .filter(pitch_reviews::created_at.ge(since_time))
        .select((
            pitch_reviews::learner_id,
            pitch_reviews::topic,
            pitch_reviews::mean_score,
            pitch_reviews::created_at,
        ))
        .load(conn)?;
    let scored = reviewed
        .into_iter()
        .map(|(learner_id, topic, mean, at)| Applied {
            learner_id,
            topic,
            evidence: Evidence {
                rating: mean,
                on: at.date(),
            },
        });
    Ok(all.chain(scored).collect())
}
