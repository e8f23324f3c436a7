//! Knowledge × application: per learner and topic, what the seller knows (predicted recall now,
//! as the heatmap computes it) beside what they were seen to apply (application evidence,
//! decayed with age: `domain::application`), the quadrant the two place them in, and the
//! manager's one next step.
//!
//! A pair is shown when the seller has memory states on the topic or evidence of applying it;
//! evidence on a topic the seller never studied counts as applying without knowing.

use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::heatmap::{cells, HeatmapRows};
use super::scope::{scope, Narrowing, Scope};
use crate::auth::Caller;
use crate::domain::analytics::{share, Mean};
use crate::domain::application::{
    advice, application_score, next_action, quadrant, Evidence, NextAction, Quadrant, APPLIES_AT,
    COUNTS_FOR_DAYS, HALF_LIFE_DAYS, KNOWS_AT,
};
use crate::error::ApiResult;
use crate::store::application::{evidence, Applied};
use crate::store::reader::Reader;

/// One learner × topic.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationCell {
    pub learner_id: String,
    pub learner: String,
    pub topic: String,
    /// Mean predicted recall now of the learner's nuggets of the topic, 0..=1; null when they
    /// have none.
    pub proficiency: Option<f64>,
    /// Memory states behind `proficiency`.
    pub n: u64,
    /// Decayed mean of the application evidence, 0..=1 (a rating of 1 is 0, 4 is 1); null when
    /// there is none that still counts.
    pub application: Option<f64>,
    /// Pieces of evidence behind `application`.
    pub evidence: u64,
    /// Day of the latest of them.
    pub latest_evidence_on: Option<NaiveDate>,
    pub quadrant: Quadrant,
    pub next_action: NextAction,
    /// The next step as a sentence for the manager.
    pub advice: String,
}

/// How many cells are in a quadrant.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuadrantCount {
    pub quadrant: Quadrant,
    pub cells: u64,
}

/// A learner with cells, for the matrix's rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct LearnerRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KnowledgeApplication {
    pub at: DateTime<Utc>,
    /// Predicted recall at or above which a seller knows a topic.
    pub knows_at: f64,
    /// Application score at or above which a seller applies a topic.
    pub applies_at: f64,
    /// Days after which a piece of evidence weighs half.
    pub half_life_days: f64,
    /// The matrix's columns, in order.
    pub topics: Vec<String>,
    /// The matrix's rows, by name.
    pub learners: Vec<LearnerRef>,
    /// Every quadrant with its number of cells, in the order of the enum.
    pub quadrants: Vec<QuadrantCount>,
    /// By learner name, then topic.
    pub cells: Vec<ApplicationCell>,
}

/// A learner × topic's evidence while it is gathered.
#[derive(Default)]
struct Gathered {
    evidence: Vec<Evidence>,
}

/// The knowledge × application view of the caller's scope narrowed by `narrowing` (`pack`
/// keeps the topics of the pack's nuggets).
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "knowledge-application"))]
pub fn knowledge_application(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
) -> ApiResult<KnowledgeApplication> {
    let s = scope(reader, caller, now, narrowing)?;
    let recall = cells(reader, &caller.org_id, &s, HeatmapRows::Learner, None)?;
    let today = s.now.date_naive();
    let since = today - Duration::days(COUNTS_FOR_DAYS);
    let applied = evidence(reader, &caller.org_id, since)?;
    let gathered = gather(&s, applied);

    // learner → topic → (knowledge, evidence).
    let mut pairs: BTreeMap<(String, String), (Option<Mean>, Vec<Evidence>)> = BTreeMap::new();
    for (learner, topics) in recall {
        for (topic, m) in topics {
            pairs.entry((learner.clone(), topic)).or_default().0 = Some(m);
        }
    }
    for ((learner, topic), g) in gathered {
        pairs.entry((learner, topic)).or_default().1 = g.evidence;
    }

    let mut names: HashMap<String, String> = HashMap::new();
    let mut cells_out: Vec<ApplicationCell> = pairs
        .into_iter()
        .map(|((learner_id, topic), (knowledge, evidence))| {
            let learner = names
                .entry(learner_id.clone())
                .or_insert_with(|| s.learner_name(&learner_id))
                .clone();
            let proficiency = share(knowledge.and_then(|m| m.value()));
            let application = share(application_score(&evidence, today));
            let q = quadrant(proficiency, application);
            ApplicationCell {
                advice: advice(q, &learner, &topic),
                quadrant: q,
                next_action: next_action(q),
                proficiency,
                n: knowledge.map_or(0, |m| m.n),
                application,
                evidence: evidence.len() as u64,
                latest_evidence_on: evidence.iter().map(|e| e.on).max(),
                learner_id,
                learner,
                topic,
            }
        })
        .collect();
    cells_out.sort_by(|a, b| {
        (a.learner.as_str(), a.learner_id.as_str(), a.topic.as_str()).cmp(&(
            b.learner.as_str(),
            b.learner_id.as_str(),
            b.topic.as_str(),
        ))
    });
    let topics: BTreeSet<&str> = cells_out.iter().map(|c| c.topic.as_str()).collect();
    let topics: Vec<String> = topics.into_iter().map(str::to_string).collect();
    let mut learners: Vec<LearnerRef> = Vec::new();
    for c in &cells_out {
        if learners.last().is_none_or(|l| l.id != c.learner_id) {
            learners.push(LearnerRef {
                id: c.learner_id.clone(),
                name: c.learner.clone(),
            });
        }
    }
    let quadrants = [
        Quadrant::KnowsAndApplies,
        Quadrant::KnowsNotApplied,
        Quadrant::AppliesWithoutKnowing,
        Quadrant::Neither,
        Quadrant::NotObserved,
    ]
    .into_iter()
    .map(|q| QuadrantCount {
        quadrant: q,
        cells: cells_out.iter().filter(|c| c.quadrant == q).count() as u64,
    })
    .collect();
    Ok(KnowledgeApplication {
        at: s.now,
        knows_at: KNOWS_AT,
        applies_at: APPLIES_AT,
        half_life_days: HALF_LIFE_DAYS,
        topics,
        learners,
        quadrants,
        cells: cells_out,
    })
}

/// The evidence of the learners and topics in scope, per learner × topic. A topic is written
/// as the content spells it now when it matches one without regard to case; with a `pack`,
/// only the pack's topics are kept.
fn gather(s: &Scope, applied: Vec<Applied>) -> BTreeMap<(String, String), Gathered> {
    let spelled: HashMap<String, usize> = s
        .catalog
        .topics
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_lowercase(), i))
        .collect();
    let pack_topics = s
        .filter
        .pack_id
        .as_deref()
        .map(|p| s.catalog.topics_of_pack(p));
    let mut out: BTreeMap<(String, String), Gathered> = BTreeMap::new();
    for a in applied {
        let in_scope = s.directory.users.contains_key(&a.learner_id)
            && (s.whole_org() || !s.teams_of(&a.learner_id).is_empty());
        if !in_scope {
            continue;
        }
        let number = spelled.get(&a.topic.to_lowercase()).copied();
        if let Some(kept) = &pack_topics {
            if !number.is_some_and(|n| kept.contains(&n)) {
                continue;
            }
        }
        let topic = number.map_or(a.topic, |n| s.catalog.topics[n].clone());
        out.entry((a.learner_id, topic))
            .or_default()
            .evidence
            .push(a.evidence);
    }
    out
}
