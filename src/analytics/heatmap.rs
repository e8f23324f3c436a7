//! The heatmap: learners or teams × topics, the mean predicted recall now in each cell with the
//! memory states behind it.

use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scope::{scope, Narrowing, Scope};
use crate::auth::Caller;
use crate::domain::analytics::{share, Mean, Slots};
use crate::domain::ids::OrgId;
use crate::error::ApiResult;
use crate::store::analytics::{fold_memory, MemoryFact, MemoryRead};
use crate::store::reader::Reader;

/// Heatmap rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeatmapRows {
    Learner,
    Team,
}

#[derive(Serialize, ToSchema)]
pub struct HeatmapCell {
    pub topic: String,
    /// Mean predicted recall now; null when no state is behind the cell.
    pub value: Option<f64>,
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct HeatmapRow {
    pub key: String,
    pub label: String,
    /// One cell per topic, in the order of `topics`.
    pub cells: Vec<HeatmapCell>,
}

#[derive(Serialize, ToSchema)]
pub struct Heatmap {
    pub at: DateTime<Utc>,
    pub rows_by: HeatmapRows,
    pub topics: Vec<String>,
    pub rows: Vec<HeatmapRow>,
}

/// row key → topic → mean.
pub(super) type Cells = HashMap<String, HashMap<String, Mean>>;

/// The heatmap of the caller's scope narrowed by `narrowing` and `topic`, one row per
/// `rows_by`.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "heatmap"))]
pub fn heatmap(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    rows_by: HeatmapRows,
    topic: Option<&str>,
) -> ApiResult<Heatmap> {
    let s = scope(reader, caller, now, narrowing)?;
    let cells = cells(reader, &caller.org_id, &s, rows_by, topic)?;
    let topics: BTreeSet<&String> = cells.values().flat_map(|c| c.keys()).collect();
    let topics: Vec<String> = topics.into_iter().cloned().collect();
    let mut row_keys: Vec<(String, String)> = match rows_by {
        HeatmapRows::Team => s
            .teams
            .iter()
            .map(|t| (t.name.clone(), t.id.clone()))
            .collect(),
        HeatmapRows::Learner => {
            let ids: BTreeSet<&String> = cells.keys().collect();
            ids.into_iter()
                .map(|id| (s.learner_name(id), id.clone()))
                .collect()
        }
    };
    row_keys.sort();
    let rows = row_keys
        .into_iter()
        .map(|(label, key)| HeatmapRow {
            cells: topics
                .iter()
                .map(|t| {
                    let m = cells.get(&key).and_then(|c| c.get(t)).copied();
                    HeatmapCell {
                        topic: t.clone(),
                        value: share(m.and_then(|m| m.value())),
                        n: m.map_or(0, |m| m.n),
                    }
                })
                .collect(),
            key,
            label,
        })
        .collect();
    Ok(Heatmap {
        at: s.now,
        rows_by,
        topics,
        rows,
    })
}

/// Streams the scope's memory states into cells: recall now summed per row and topic (the
/// knowledge × application view reads it per learner).
#[tracing::instrument(level = "debug", skip_all)]
pub(super) fn cells(
    reader: &mut Reader<'_>,
    org: &OrgId,
    s: &Scope,
    rows_by: HeatmapRows,
    topic: Option<&str>,
) -> ApiResult<Cells> {
    // Looked up by reference (millions of rows).
    let mut cells: Cells = HashMap::new();
    let mut add = |row: &str, topic: &str, m: Mean| {
        let row = match cells.get_mut(row) {
            Some(c) => c,
            None => cells.entry(row.to_string()).or_default(),
        };
        match row.get_mut(topic) {
            Some(cell) => cell.merge(m),
            None => {
                row.insert(topic.to_string(), m);
            }
        }
    };
    let topic = s.catalog.topic_filter(topic);
    let now_us = s.now.timestamp_micros();
    let fold = |topics: &mut Slots<Mean>, f: MemoryFact<'_>| {
        let Some(t) = s.kept_topic(f.nugget_id, topic) else {
            return;
        };
        topics.at(t).add(f.recall_at(&s.curve, now_us));
    };
    fold_memory(
        reader,
        org,
        &s.filter,
        MemoryRead::Recall,
        fold,
        |learner, topics| {
            for (t, m) in topics.into_filled() {
                let t = s.catalog.topics[t].as_str();
                match rows_by {
                    HeatmapRows::Learner => add(learner, t, m),
                    HeatmapRows::Team => {
                        for &i in s.teams_of(learner) {
                            add(&s.teams[i].id, t, m);
                        }
                    }
                }
            }
        },
    )?;
    Ok(cells)
}
