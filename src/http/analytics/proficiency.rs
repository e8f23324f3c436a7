//! Views over memory states: proficiency (mean predicted recall now), the learner/team × topic
//! heatmap, knowledge gain (first attempts → now → 30 days on) and forgetting risk.

use crate::http::caller::{Authorized, Staff};
use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, BTreeSet};

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    cell, charts, negotiate, respond, scope, share, Narrowing, OutputFormat, Scope, Table,
};
use crate::domain::analytics::{rank_risks, suggestion, Mean, Risk, Slots};
use crate::domain::scheduler::ForgettingCurve;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::query::Query;
use crate::http::read_replica::ReadSource;
use crate::http::state::AppState;
use crate::store::analytics::{fold_memory, MemoryFact, MemoryRead};
use crate::store::reader::Reader;

/// What a view's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Learner,
    Team,
    Pack,
    Topic,
}

impl GroupBy {
    /// The proficiency view's rows when none are asked for: topics, the measure HR reads first.
    fn topic() -> GroupBy {
        GroupBy::Topic
    }

    fn as_str(self) -> &'static str {
        match self {
            GroupBy::Learner => "learner",
            GroupBy::Team => "team",
            GroupBy::Pack => "pack",
            GroupBy::Topic => "topic",
        }
    }
}

/// Days ahead knowledge gain predicts recall for, with no practice in between.
pub const GAIN_HORIZON_DAYS: i64 = 30;

/// Sums behind one group.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    now: Mean,
    later: Mean,
    first: Mean,
}

impl Acc {
    /// Adds one memory state: its recall at `now_us` and at `later_us` (microseconds since the
    /// Unix epoch), and its first attempt.
    fn add_state(
        &mut self,
        curve: &ForgettingCurve,
        f: &MemoryFact<'_>,
        now_us: i64,
        later_us: i64,
    ) {
        let now = f.recall_at(curve, now_us);
        self.now.add(now);
        self.later.add(if later_us == now_us {
            now
        } else {
            f.recall_at(curve, later_us)
        });
        if let Some(c) = f.first_correct {
            self.first.add(if c { 1.0 } else { 0.0 });
        }
    }

    fn merge(&mut self, other: Acc) {
        self.now.merge(other.now);
        self.later.merge(other.later);
        self.first.merge(other.first);
    }
}

/// Sums per (label, key), in label order.
type Groups = BTreeMap<(String, String), Acc>;

/// Streams the scope's memory states into groups: (key, label) → sums. `later` is predicted
/// recall at `now + horizon`; first attempts are summed when `reads` has them.
fn collect(
    reader: &mut Reader<'_>,
    org: &str,
    s: &Scope,
    group_by: GroupBy,
    topic: Option<&str>,
    horizon: Duration,
    reads: MemoryRead,
) -> ApiResult<(Groups, Acc)> {
    let mut groups: HashMap<String, Acc> = HashMap::new();
    let mut overall = Acc::default();
    let now_us = s.now.timestamp_micros();
    let later_us = (s.now + horizon).timestamp_micros();
    let topic = s.catalog.topic_filter(topic);
    // Millions of rows: look up by reference, allocate a key only for a new group.
    fn add(groups: &mut HashMap<String, Acc>, key: &str, acc: Acc) {
        match groups.get_mut(key) {
            Some(g) => g.merge(acc),
            None => {
                groups.insert(key.to_string(), acc);
            }
        }
    }
    // A learner's sums per pack or topic (one slot, 0, when grouping by learner or team).
    let fold = |sums: &mut Slots<Acc>, f: MemoryFact<'_>| {
        let Some(nugget) = s.catalog.get(f.nugget_id) else {
            return;
        };
        if !topic.keeps(nugget.topic) {
            return;
        }
        let slot = match group_by {
            GroupBy::Learner | GroupBy::Team => 0,
            GroupBy::Pack => nugget.pack,
            GroupBy::Topic => nugget.topic,
        };
        sums.at(slot).add_state(&s.curve, &f, now_us, later_us);
    };
    fold_memory(reader, org, &s.filter, reads, fold, |learner, sums| {
        for (slot, acc) in sums.into_filled() {
            overall.merge(acc);
            match group_by {
                GroupBy::Learner => add(&mut groups, learner, acc),
                GroupBy::Team => {
                    for &t in s.teams_of(learner) {
                        add(&mut groups, &s.teams[t].id, acc);
                    }
                }
                GroupBy::Pack => add(&mut groups, &s.catalog.pack_ids[slot], acc),
                GroupBy::Topic => add(&mut groups, &s.catalog.topics[slot], acc),
            }
        }
    })?;
    let label = |key: &str| -> String {
        match group_by {
            GroupBy::Learner => s.learner_name(key),
            GroupBy::Team => s
                .teams
                .iter()
                .find(|t| t.id == key)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            GroupBy::Pack => s
                .packs
                .get(key)
                .map(|(_, title)| title.clone())
                .unwrap_or_default(),
            GroupBy::Topic => key.to_string(),
        }
    };
    let mut out = BTreeMap::new();
    for (key, acc) in groups {
        let key_out = match group_by {
            GroupBy::Pack => s
                .packs
                .get(&key)
                .map(|(slug, _)| slug.clone())
                .unwrap_or(key.clone()),
            _ => key.clone(),
        };
        out.insert((label(&key), key_out), acc);
    }
    Ok((out, overall))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProficiencyQuery {
    /// What the rows are: `topic` (the default), `team`, `pack` or `learner`.
    #[serde(default = "GroupBy::topic")]
    #[param(default = "topic")]
    pub group_by: GroupBy,
    /// Only this team (and teams nested below it).
    pub team_id: Option<String>,
    /// Only this pack (slug).
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
}

#[derive(Serialize, ToSchema)]
pub struct ProficiencyGroup {
    /// Learner or team id, pack slug, or topic.
    pub key: String,
    pub label: String,
    /// Mean predicted recall now, 0..=1.
    pub proficiency: Option<f64>,
    /// Learner × nugget memory states behind the value.
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ProficiencyReport {
    /// The instant recall is predicted for.
    pub at: DateTime<Utc>,
    pub group_by: GroupBy,
    /// Every state in scope together.
    pub overall: ProficiencyGroup,
    /// In label order.
    pub groups: Vec<ProficiencyGroup>,
}

/// Proficiency: mean predicted recall now (FSRS retrievability) of the learner × nugget memory
/// states in scope, per learner, team, pack or topic, with the number of states behind each.
#[utoipa::path(
    tag = "analytics",
    params(ProficiencyQuery),
    responses(
        (status = 200, content((ProficiencyReport = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown team, pack or assignment", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/proficiency")]
pub async fn proficiency(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<ProficiencyQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let group_by = q.group_by;
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let st = state.clone();
    let (report, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let (groups, overall) = collect(
                conn,
                &caller.org_id,
                &s,
                group_by,
                q.topic.as_deref(),
                Duration::zero(),
                MemoryRead::Recall,
            )?;
            let group = |key: String, label: String, acc: Acc| ProficiencyGroup {
                key,
                label,
                proficiency: share(acc.now.value()),
                n: acc.now.n,
            };
            Ok(ProficiencyReport {
                at: s.now,
                group_by,
                overall: group("all".into(), "All in scope".into(), overall),
                groups: groups
                    .into_iter()
                    .map(|((label, key), acc)| group(key, label, acc))
                    .collect(),
            })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &report,
        |r| {
            let mut t = Table::new(&["group_by", "key", "label", "proficiency", "n"]);
            for g in &r.groups {
                t.push(vec![
                    r.group_by.as_str().into(),
                    g.key.clone(),
                    g.label.clone(),
                    cell(g.proficiency),
                    g.n.to_string(),
                ]);
            }
            t
        },
        |_| String::new(),
        "proficiency",
    ))
}

/// Heatmap rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeatmapRows {
    Learner,
    Team,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HeatmapQuery {
    /// `team` (default) or `learner`.
    pub rows: Option<HeatmapRows>,
    pub team_id: Option<String>,
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// `json` (default), `csv` or `svg`.
    pub format: Option<OutputFormat>,
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

/// Learners or teams × topics: mean predicted recall now per cell, with the states behind it.
#[utoipa::path(
    tag = "analytics",
    params(HeatmapQuery),
    responses(
        (status = 200, content((Heatmap = "application/json"), (String = "text/csv"), (String = "image/svg+xml")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/heatmap")]
pub async fn heatmap(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<HeatmapQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, true)?;
    let rows_by = q.rows.unwrap_or(HeatmapRows::Team);
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let topic = q.topic;
    let st = state.clone();
    let (map, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            // row key → topic → mean; looked up by reference (millions of rows).
            let mut cells: HashMap<String, HashMap<String, Mean>> = HashMap::new();
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
            let topic = s.catalog.topic_filter(topic.as_deref());
            let now_us = s.now.timestamp_micros();
            let fold = |topics: &mut Slots<Mean>, f: MemoryFact<'_>| {
                let Some(t) = s.topic_of(f.nugget_id) else {
                    return;
                };
                if !topic.keeps(t) {
                    return;
                }
                topics.at(t).add(f.recall_at(&s.curve, now_us));
            };
            fold_memory(
                conn,
                &caller.org_id,
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
        })
        .await?;
    Ok(respond(
        format,
        source,
        &map,
        |m| {
            let mut t = Table::new(&["row_key", "row_label", "topic", "value", "n"]);
            for r in &m.rows {
                for c in &r.cells {
                    t.push(vec![
                        r.key.clone(),
                        r.label.clone(),
                        c.topic.clone(),
                        cell(c.value),
                        c.n.to_string(),
                    ]);
                }
            }
            t
        },
        |m| charts::grid(&heatmap_chart(m)),
        "heatmap",
    ))
}

/// The heatmap as drawn: rows × topics, cells coloured by predicted recall.
fn heatmap_chart(m: &Heatmap) -> charts::Grid {
    charts::Grid {
        title: "Predicted recall now by topic".to_string(),
        columns: m.topics.clone(),
        rows: m
            .rows
            .iter()
            .map(|r| charts::GridRow {
                label: r.label.clone(),
                cells: r.cells.iter().map(|c| (c.value, c.n)).collect(),
            })
            .collect(),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GainQuery {
    /// `pack` (default), `team`, `topic` or `learner`.
    pub group_by: Option<GroupBy>,
    pub team_id: Option<String>,
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<OutputFormat>,
}

#[derive(Serialize, ToSchema)]
pub struct GainGroup {
    pub key: String,
    pub label: String,
    /// Share of first attempts answered right.
    pub initial_proficiency: Option<f64>,
    /// Mean predicted recall now.
    pub proficiency: Option<f64>,
    /// Mean predicted recall 30 days from now with no practice.
    pub predicted_proficiency_30d: Option<f64>,
    /// `proficiency - initial_proficiency`.
    pub knowledge_gain: Option<f64>,
    /// Memory states behind the figures.
    pub n: u64,
}

#[derive(Serialize, ToSchema)]
pub struct KnowledgeGain {
    pub at: DateTime<Utc>,
    pub group_by: GroupBy,
    pub overall: GainGroup,
    pub groups: Vec<GainGroup>,
}

fn gain_group(key: String, label: String, acc: Acc) -> GainGroup {
    let initial = acc.first.value();
    let now = acc.now.value();
    GainGroup {
        key,
        label,
        initial_proficiency: share(initial),
        proficiency: share(now),
        predicted_proficiency_30d: share(acc.later.value()),
        knowledge_gain: share(now.zip(initial).map(|(n, i)| n - i)),
        n: acc.now.n,
    }
}

/// Knowledge gain: initial proficiency (first attempts right) against proficiency now and the
/// proficiency predicted 30 days on without practice.
#[utoipa::path(
    tag = "analytics",
    params(GainQuery),
    responses(
        (status = 200, content((KnowledgeGain = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/knowledge-gain")]
pub async fn knowledge_gain(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<GainQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let group_by = q.group_by.unwrap_or(GroupBy::Pack);
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let st = state.clone();
    let (report, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let (groups, overall) = collect(
                conn,
                &caller.org_id,
                &s,
                group_by,
                q.topic.as_deref(),
                Duration::days(GAIN_HORIZON_DAYS),
                MemoryRead::WithFirstAttempt,
            )?;
            Ok(KnowledgeGain {
                at: s.now,
                group_by,
                overall: gain_group("all".into(), "All in scope".into(), overall),
                groups: groups
                    .into_iter()
                    .map(|((label, key), acc)| gain_group(key, label, acc))
                    .collect(),
            })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &report,
        |r| {
            let mut t = Table::new(&[
                "group_by",
                "key",
                "label",
                "initial_proficiency",
                "proficiency",
                "predicted_proficiency_30d",
                "knowledge_gain",
                "n",
            ]);
            for g in &r.groups {
                t.push(vec![
                    r.group_by.as_str().into(),
                    g.key.clone(),
                    g.label.clone(),
                    cell(g.initial_proficiency),
                    cell(g.proficiency),
                    cell(g.predicted_proficiency_30d),
                    cell(g.knowledge_gain),
                    g.n.to_string(),
                ]);
            }
            t
        },
        |_| String::new(),
        "knowledge-gain",
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RiskQuery {
    /// Report learner × topic pairs whose predicted recall falls below this (0..1, default 0.8).
    pub threshold: Option<f64>,
    /// Horizon in days (1..=365, default 7).
    pub days: Option<i64>,
    pub team_id: Option<String>,
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
    pub topic: Option<String>,
    /// Most pairs returned (1..=10000, default 500), most urgent first.
    pub limit: Option<usize>,
    pub format: Option<OutputFormat>,
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

/// Forgetting risk: learner × topic pairs whose mean predicted recall falls below `threshold`
/// within `days` without practice, most urgent first, each with a suggestion.
#[utoipa::path(
    tag = "analytics",
    params(RiskQuery),
    responses(
        (status = 200, content((ForgettingRisk = "application/json"), (String = "text/csv")), headers(("x-reprise-read-source" = ReadSource, description = "Which database answered: `replica` (the read replica) or `primary`"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/analytics/forgetting-risk")]
pub async fn forgetting_risk(
    state: web::Data<AppState>,
    caller: Authorized<Staff>,
    req: HttpRequest,
    q: Query<RiskQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(&req, q.format, false)?;
    let threshold = q.threshold.unwrap_or(0.8);
    let days = q.days.unwrap_or(7);
    let limit = q.limit.unwrap_or(500);
    let mut errors = Vec::new();
    if !(threshold > 0.0 && threshold < 1.0) {
        errors.push(crate::domain::validation::FieldError::new(
            "threshold",
            "must be between 0 and 1 (exclusive)",
        ));
    }
    if !(1..=365).contains(&days) {
        errors.push(crate::domain::validation::FieldError::new(
            "days",
            "must be 1 to 365",
        ));
    }
    if !(1..=10_000).contains(&limit) {
        errors.push(crate::domain::validation::FieldError::new(
            "limit",
            "must be 1 to 10000",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let narrowing = Narrowing {
        team_id: q.team_id,
        pack: q.pack,
        assignment_id: q.assignment_id,
    };
    let topic = q.topic;
    let st = state.clone();
    let (report, source) = state
        .read_db(move |conn| {
            let s = scope(conn, &caller, st.clock.now(), &narrowing)?;
            let now_us = s.now.timestamp_micros();
            let horizon_us = (s.now + Duration::days(days)).timestamp_micros();
            let topic = s.catalog.topic_filter(topic.as_deref());
            // learner → topic → sums.
            let mut pairs: HashMap<String, Slots<Acc>> = HashMap::new();
            let fold = |topics: &mut Slots<Acc>, f: MemoryFact<'_>| {
                let Some(t) = s.topic_of(f.nugget_id) else {
                    return;
                };
                if !topic.keeps(t) {
                    return;
                }
                topics.at(t).add_state(&s.curve, &f, now_us, horizon_us);
            };
            fold_memory(
                conn,
                &caller.org_id,
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
            let mut risks = rank_risks(risks, threshold);
            let total = risks.len();
            risks.truncate(limit);
            for r in &mut risks {
                r.recall_at_horizon = crate::domain::analytics::round6(r.recall_at_horizon);
            }
            Ok(ForgettingRisk {
                at: s.now,
                threshold,
                days,
                total,
                risks,
            })
        })
        .await?;
    Ok(respond(
        format,
        source,
        &report,
        |r| {
            let mut t = Table::new(&[
                "learner_id",
                "learner",
                "topic",
                "recall_now",
                "recall_at_horizon",
                "initial_proficiency",
                "n",
                "suggestion",
            ]);
            for k in &r.risks {
                t.push(vec![
                    k.learner_id.clone(),
                    k.learner.clone(),
                    k.topic.clone(),
                    cell(Some(k.recall_now)),
                    cell(Some(k.recall_at_horizon)),
                    cell(k.initial_proficiency),
                    k.n.to_string(),
                    k.suggestion.clone(),
                ]);
            }
            t
        },
        |_| String::new(),
        "forgetting-risk",
    ))
}
