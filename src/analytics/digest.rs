//! The weekly digest: for a manager's teams (or the whole organization), how proficiency moved
//! over the last seven days, who took part, and who is about to forget what. It is made of the
//! views the console shows (trends, engagement, forgetting risk), read at one instant, so the
//! figures in a Monday e-mail are the ones a click on its links opens.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::engagement::engagement;
use super::forgetting_risk::{forgetting_risk, RiskLimits};
use super::scope::Narrowing;
use super::trends::trends;
use crate::auth::Caller;
use crate::domain::analytics::Risk;
use crate::error::ApiResult;
use crate::store::reader::Reader;

/// Learners named in a digest at most; the rest are counted.
const AT_RISK_SHOWN: usize = 10;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DigestGroup {
    /// Null for everyone in scope.
    pub team_id: Option<String>,
    pub team: String,
    /// Learners reached by an assignment.
    pub learners: usize,
    /// Of those, learners who answered in the last 7 days.
    pub active_learners: usize,
    /// `active_learners / learners`.
    pub participation: Option<f64>,
    /// Mean predicted recall now.
    pub proficiency: Option<f64>,
    /// `proficiency` minus its value at the end of the week before last.
    pub proficiency_change: Option<f64>,
}

/// One learner and the topics they are about to forget.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LearnerAtRisk {
    pub learner_id: String,
    pub learner: String,
    /// Most urgent first.
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Digest {
    pub at: DateTime<Utc>,
    /// Monday of the week the digest opens.
    pub week_start: NaiveDate,
    /// Everyone in scope: the same figures as each team's.
    pub everyone: DigestGroup,
    /// Teams in name order.
    pub teams: Vec<DigestGroup>,
    /// Learners with a topic below 0.8 predicted recall within 7 days, most urgent first.
    pub at_risk: Vec<LearnerAtRisk>,
    /// Learners at risk in all, named or not.
    pub at_risk_total: usize,
}

/// The digest of the caller's scope at `now`.
pub fn digest(reader: &mut Reader<'_>, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Digest> {
    let everything = Narrowing::default();
    // Three weeks: the current one (read now) and the end of the week before last, seven days
    // and a little before it on a Monday.
    let trend = trends(reader, caller, now, &everything, 3)?;
    let engaged = engagement(reader, caller, now, &everything, 1)?;
    let risks = forgetting_risk(
        reader,
        caller,
        now,
        &everything,
        RiskLimits::new(None, None, Some(10_000))?,
        None,
    )?;
    let week_start = trend.rows.last().map_or(now.date_naive(), |r| r.week_start);
    let mut groups: Vec<DigestGroup> = engaged
        .rows
        .iter()
        .map(|e| {
            let weeks: Vec<_> = trend
                .rows
                .iter()
                .filter(|t| t.group.team_id == e.group.team_id)
                .collect();
            let now_p = weeks.last().and_then(|t| t.proficiency);
            let before = weeks.first().and_then(|t| t.proficiency);
            DigestGroup {
                team_id: e.group.team_id.clone(),
                team: e.group.team.clone(),
                learners: e.invited,
                active_learners: e.active_7d,
                participation: (e.invited > 0).then(|| e.active_7d as f64 / e.invited as f64),
                proficiency: now_p,
                proficiency_change: now_p.zip(before).map(|(a, b)| a - b),
            }
        })
        .collect();
    let everyone = match groups.iter().position(|g| g.team_id.is_none()) {
        Some(i) => groups.remove(i),
        None => DigestGroup {
            team_id: None,
            team: "Everyone".into(),
            learners: 0,
            active_learners: 0,
            participation: None,
            proficiency: None,
            proficiency_change: None,
        },
    };
    let at_risk = by_learner(risks.risks);
    Ok(Digest {
        at: now,
        week_start,
        everyone,
        teams: groups,
        at_risk_total: at_risk.len(),
        at_risk: at_risk.into_iter().take(AT_RISK_SHOWN).collect(),
    })
}

/// Risks (most urgent first) gathered per learner, in the order of each one's most urgent.
pub fn by_learner(risks: Vec<Risk>) -> Vec<LearnerAtRisk> {
    let mut out: Vec<LearnerAtRisk> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in risks {
        match index.get(&r.learner_id) {
            Some(&i) => out[i].topics.push(r.topic),
            None => {
                index.insert(r.learner_id.clone(), out.len());
                out.push(LearnerAtRisk {
                    learner_id: r.learner_id,
                    learner: r.learner,
                    topics: vec![r.topic],
                });
            }
        }
    }
    out
}
