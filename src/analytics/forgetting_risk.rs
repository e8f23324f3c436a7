//! Forgetting risk: the learner × topic pairs whose mean predicted recall falls below a
//! threshold within a horizon without practice, most urgent first, each with a suggestion
//! (a refresher, or coaching when the topic was never learnt).

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::memory::Acc;
use super::scope::{scope, Narrowing, Scope};
use crate::auth::Caller;
use crate::domain::analytics::{rank_risks, round6, share, suggestion, Risk, Slots};
use crate::domain::ids::OrgId;
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};
use crate::store::analytics::{fold_memory, MemoryFact, MemoryRead};
use crate::store::reader::Reader;

/// What the view looks for: pairs below `threshold` within `days`, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct RiskLimits {
    pub threshold: f64,
    pub days: i64,
    pub limit: usize,
}

impl RiskLimits {
    /// The limits asked for (defaults: 0.8, 7 days, 500 pairs), every one out of range named.
    pub fn new(threshold: Option<f64>, days: Option<i64>, limit: Option<usize>) -> ApiResult<Self> {
        let limits = RiskLimits {
            threshold: threshold.unwrap_or(0.8),
            days: days.unwrap_or(7),
            limit: limit.unwrap_or(500),
        };
        let mut errors = Vec::new();
        if !(limits.threshold > 0.0 && limits.threshold < 1.0) {
            errors.push(FieldError::new(
                "threshold",
                "must be between 0 and 1 (exclusive)",
            ));
        }
        if !(1..=365).contains(&limits.days) {
            errors.push(FieldError::new("days", "must be 1 to 365"));
        }
        if !(1..=10_000).contains(&limits.limit) {
            errors.push(FieldError::new("limit", "must be 1 to 10000"));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(limits)
    }
}

#[derive(Serialize, ToSchema)]
pub struct ForgettingRisk {
    pub at: DateTime<Utc>,
    pub threshold: f64,
    pub days: i64,
    /// Pairs at risk before `limit` was applied.
    pub total: usize,
    /// Lowest predicted recall at the horizon first.
    pub risks: Vec<Risk>,
}

/// The pairs at risk in the caller's scope narrowed by `narrowing` and `topic`.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "forgetting-risk"))]
pub fn forgetting_risk(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    limits: RiskLimits,
    topic: Option<&str>,
) -> ApiResult<ForgettingRisk> {
    let s = scope(reader, caller, now, narrowing)?;
    let pairs = pairs(reader, &caller.org_id, &s, limits.days, topic)?;
    let topics = &s.catalog.topics;
    let risks: Vec<Risk> = pairs
        .into_iter()
        .filter(|(learner, _)| s.is_learner(learner))
        .flat_map(|(learner, sums)| {
            sums.into_filled()
                .map(move |(t, acc)| (learner.clone(), topics[t].clone(), acc))
        })
        .map(|(learner, topic, acc)| {
            let initial = acc.first.value();
            Risk {
                learner: s.learner_name(&learner),
                learner_id: learner,
                suggestion: suggestion(&topic, initial),
                topic,
                recall_now: share(acc.now.value()).unwrap_or_default(),
                recall_at_horizon: acc.later.value().unwrap_or_default(),
                initial_proficiency: share(initial),
                n: acc.now.n,
            }
        })
        .collect();
    let mut risks = rank_risks(risks, limits.threshold);
    let total = risks.len();
    risks.truncate(limits.limit);
    for r in &mut risks {
        r.recall_at_horizon = round6(r.recall_at_horizon);
    }
    Ok(ForgettingRisk {
        at: s.now,
        threshold: limits.threshold,
        days: limits.days,
        total,
        risks,
    })
}

/// learner → topic → sums of recall now, recall `days` on and first attempts.
#[tracing::instrument(level = "debug", skip_all)]
fn pairs(
    reader: &mut Reader<'_>,
    org: &OrgId,
    s: &Scope,
    days: i64,
    topic: Option<&str>,
) -> ApiResult<HashMap<String, Slots<Acc>>> {
    let now_us = s.now.timestamp_micros();
    let horizon_us = (s.now + Duration::days(days)).timestamp_micros();
    let topic = s.catalog.topic_filter(topic);
    let mut pairs: HashMap<String, Slots<Acc>> = HashMap::new();
    let fold = |topics: &mut Slots<Acc>, f: MemoryFact<'_>| {
        let Some(t) = s.kept_topic(f.nugget_id, topic) else {
            return;
        };
        topics.at(t).add_state(&s.curve, &f, now_us, horizon_us);
    };
    fold_memory(
        reader,
        org,
        &s.filter,
        MemoryRead::WithFirstAttempt,
        fold,
        |learner, topics| {
            let into = pairs.entry(learner.to_string()).or_default();
            for (t, acc) in topics.into_filled() {
                into.at(t).merge(acc);
            }
        },
    )?;
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_name_every_value_out_of_range() {
        let d = RiskLimits::new(None, None, None).unwrap();
        assert_eq!((d.threshold, d.days, d.limit), (0.8, 7, 500));
        let fields = |e: ApiError| -> Vec<String> {
            match e {
                ApiError::Validation { errors, .. } => {
                    errors.into_iter().map(|e| e.field).collect()
                }
                other => panic!("{other:?}"),
            }
        };
        let all = RiskLimits::new(Some(1.0), Some(366), Some(0)).unwrap_err();
        assert_eq!(fields(all), vec!["threshold", "days", "limit"]);
        let one = RiskLimits::new(Some(0.5), Some(365), Some(10_001)).unwrap_err();
        assert_eq!(fields(one), vec!["limit"]);
    }
}
