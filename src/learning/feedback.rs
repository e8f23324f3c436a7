//! What an answer's result shows the learner: right or wrong with the correct options and the
//! explanation, how their team and the organization answered, their proficiency now, and when
//! the nugget comes back.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::answer::{Applied, LearnerView};
use crate::auth::Caller;
use crate::domain::catalog::{StoredNugget, StoredOption};
use crate::domain::ids::{NuggetId, PackVersionId};
use crate::domain::queue::PracticeReason;
use crate::domain::scheduler::{self, CardStatus};
use crate::error::{ApiResult, Problem};
use crate::store::{content as content_store, reviews, DbConnection};

#[derive(Serialize, ToSchema)]
pub struct OptionFeedback {
    pub id: String,
    pub text: String,
    pub correct: bool,
    pub chosen: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionShare {
    pub id: String,
    /// Share of answers that chose this option, 0..=1.
    pub share: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PeerAnswers {
    /// How many answers the shares are computed from.
    pub answers: usize,
    /// Every option of the nugget, in its order.
    pub options: Vec<OptionShare>,
}

#[derive(Serialize, ToSchema)]
pub struct Proficiency {
    /// Predicted recall of this nugget now.
    pub nugget: f64,
    pub topic: String,
    /// Mean predicted recall over the learner's nuggets of this topic.
    pub topic_proficiency: f64,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerResult {
    pub attempt_id: String,
    pub nugget_id: String,
    pub correct: bool,
    pub partial_credit: f64,
    pub correct_option_ids: Vec<String>,
    /// Why the correct answer is correct; empty for a nugget imported without one (its
    /// options' feedback and the correct options then say it).
    pub explanation: String,
    pub options: Vec<OptionFeedback>,
    /// How the learner's teams answered this nugget (answers given while in them; summed over
    /// several teams).
    pub team: PeerAnswers,
    /// How the whole organization answered it.
    pub org: PeerAnswers,
    pub proficiency: Proficiency,
    /// When the nugget comes back; absent once mastered.
    pub next_due: Option<DateTime<Utc>>,
    pub status: CardStatus,
    /// `future` or `before_start`/`before_previous` when the phone's clock was not trusted.
    pub clock_flag: Option<String>,
    /// Whether the answer counted: moved the nugget's memory state and schedule and every
    /// figure (proficiency, retention, weekly activity, how others answered). Only the first
    /// answer of the learner's day to a nugget the queue serves that day (due, or new within
    /// the day's caps) counts; any other answer is practice, graded and kept but changing
    /// nothing, and `next_due`, `status` and `proficiency` show the nugget as it stands.
    pub counted: bool,
    /// Why the answer is practice; absent when it counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub practice: Option<PracticeReason>,
    /// True when this attempt id was already recorded: the stored result, nothing applied again.
    pub replayed: bool,
}

/// Shares of each option of `options` among the counted answers, in the nugget's order.
fn shares(counts: &reviews::ChoiceCounts, options: &[StoredOption]) -> PeerAnswers {
    PeerAnswers {
        answers: counts.answers as usize,
        options: options
            .iter()
            .map(|o| OptionShare {
                id: o.id.clone(),
                share: match counts.answers {
                    0 => 0.0,
                    total => counts.options.get(&o.id).copied().unwrap_or(0) as f64 / total as f64,
                },
            })
            .collect(),
    }
}

/// Renders the response of a recorded answer (new or replayed) as of `now`: a new answer's
/// shares were read as it was counted, a replayed one's are read here. Outside a transaction: the
/// shares and topic figures are informative, and a concurrent answer landing between two of its
/// reads changes nothing the learner relies on.
pub fn render(
    conn: &mut DbConnection,
    caller: &Caller,
    applied: Applied,
    now: DateTime<Utc>,
) -> ApiResult<AnswerResult> {
    let org = &caller.org_id;
    let (row, view, (org_counts, team_counts), replayed) = match applied {
        Applied::New(row, view, counts) => (row, view, counts, false),
        Applied::Replayed(row) => {
            let view = LearnerView::read(conn, caller)?;
            let counts =
                reviews::choice_counts(conn, org, &row.nugget_id.as_str().into(), &view.teams)?;
            (row, view, counts, true)
        }
    };
    let (nugget_id, version_id) = (
        NuggetId::from(row.nugget_id.as_str()),
        PackVersionId::from(row.pack_version_id.as_str()),
    );
    let nugget = content_store::nugget_in_version(conn, org, &nugget_id, &version_id)?;
    let chosen: Vec<String> = serde_json::from_str(&row.selected).unwrap_or_default();
    let team = shares(&team_counts, &nugget.options);
    let everyone = shares(&org_counts, &nugget.options);
    let (params, states) = (&view.parameters, &view.states);
    let mut topic_sum = 0.0;
    let mut topic_n = 0usize;
    let mut nugget_recall = 0.0;
    let mut versions: HashMap<&PackVersionId, Arc<Vec<StoredNugget>>> = HashMap::new();
    for s in states {
        let Some(r) = scheduler::retrievability(&s.card, now, params) else {
            continue;
        };
        let version = match versions.get(&s.pack_version_id) {
            Some(v) => v.clone(),
            None => {
                let v = content_store::version_nuggets_shared(conn, org, &s.pack_version_id)?;
                versions.insert(&s.pack_version_id, v.clone());
                v
            }
        };
        let same_topic = version
            .iter()
            .find(|n| n.nugget_id == s.nugget_id)
            .is_some_and(|n| n.topic == nugget.topic);
        if same_topic {
            topic_sum += r;
            topic_n += 1;
        }
        if s.nugget_id == row.nugget_id {
            nugget_recall = r;
        }
    }
    Ok(AnswerResult {
        attempt_id: row.attempt_id,
        nugget_id: row.nugget_id,
        correct: row.correct,
        partial_credit: row.partial_credit,
        correct_option_ids: nugget
            .options
            .iter()
            .filter(|o| o.correct)
            .map(|o| o.id.clone())
            .collect(),
        explanation: nugget.explanation,
        options: nugget
            .options
            .into_iter()
            .map(|o| OptionFeedback {
                chosen: chosen.contains(&o.id),
                id: o.id,
                text: o.text,
                correct: o.correct,
                feedback: o.feedback,
            })
            .collect(),
        team,
        org: everyone,
        proficiency: Proficiency {
            nugget: nugget_recall,
            topic: nugget.topic,
            topic_proficiency: if topic_n == 0 {
                0.0
            } else {
                topic_sum / topic_n as f64
            },
        },
        next_due: row.due_after.map(|d| d.and_utc()),
        status: CardStatus::parse(&row.status_after).unwrap_or(CardStatus::Review),
        clock_flag: row.clock_flag,
        counted: row.practice.is_none(),
        practice: row.practice.as_deref().and_then(PracticeReason::parse),
        replayed,
    })
}

/// One answer of a synced batch: its result, or the problem that refused it.
#[derive(Serialize, ToSchema)]
pub struct BatchItem {
    pub attempt_id: String,
    /// 201 recorded, 200 already recorded, or the 4xx of its problem.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<AnswerResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

impl BatchItem {
    pub(super) fn of(attempt_id: uuid::Uuid, outcome: ApiResult<AnswerResult>) -> BatchItem {
        let attempt_id = attempt_id.to_string();
        match outcome {
            Ok(result) => BatchItem {
                attempt_id,
                status: if result.replayed { 200 } else { 201 },
                result: Some(result),
                problem: None,
            },
            Err(e) => {
                let problem = e.problem();
                BatchItem {
                    attempt_id,
                    status: problem.status,
                    result: None,
                    problem: Some(problem),
                }
            }
        }
    }
}
