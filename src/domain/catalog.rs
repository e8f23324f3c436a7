//! Read models of the content catalogue: packs, their versions and nuggets as stored.

use super::ids::{NuggetId, PackId, PackVersionId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackSummary {
    pub id: String,
    pub slug: String,
    pub title: String,
    /// Newest published version, if any.
    pub latest_version: Option<i32>,
    /// Whether unpublished changes wait in a draft.
    pub has_draft: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackVersionInfo {
    pub id: String,
    pub version: i32,
    pub title: String,
    pub content_hash: String,
    pub nugget_count: i64,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
}

/// One answer option as stored: options get stable ids `a`…`f` by position within a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredOption {
    pub id: String,
    pub text: String,
    pub correct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// Option ids by position.
pub const OPTION_IDS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// A nugget of one published version, with everything grading needs.
#[derive(Debug, Clone)]
pub struct StoredNugget {
    pub nugget_id: NuggetId,
    pub pack_id: PackId,
    pub pack_version_id: PackVersionId,
    pub key: String,
    pub position: i32,
    pub topic: String,
    pub tags: Vec<String>,
    pub prompt: String,
    pub options: Vec<StoredOption>,
    pub explanation: String,
    pub media_url: Option<String>,
    pub kind: crate::domain::pitch::NuggetKind,
    /// A pitch's rubric (empty for a choice nugget).
    pub rubric: Vec<crate::domain::pitch::RubricCriterion>,
    /// A pitch's recording time limit, seconds.
    pub max_seconds: Option<u32>,
}

impl StoredNugget {
    /// The recording time a pitch allows: its own, or the default.
    pub fn pitch_seconds(&self) -> u32 {
        self.max_seconds
            .unwrap_or(crate::domain::pitch::DEFAULT_MAX_SECONDS)
    }
}

/// What saving a draft did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DraftOutcome {
    /// A new pack with this draft.
    Created,
    /// The draft of an existing pack changed.
    Updated,
    /// Identical to the current draft or, with no draft, to the newest published version.
    Unchanged,
}
