//! Business KPIs (sales figures per seller and period) and their correlation with proficiency:
//! the upload, all or nothing, and Pearson's and Spearman's coefficients per metric, period and
//! team.

use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::{scope, Narrowing};
use crate::auth::Caller;
use crate::domain::analytics::{pearson, share, spearman, KpiLine, Mean, MIN_CORRELATION_PAIRS};
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};
use crate::store::analytics::{
    self as analytics_store, fold_memory, KpiValue, MemoryFact, MemoryRead,
};
use crate::store::reader::Reader;
use crate::store::{self, DbConnection};

/// (proficiency, KPI value) of the sellers in one group.
type Pairs = (Vec<f64>, Vec<f64>);

#[derive(Serialize, ToSchema)]
pub struct KpiUpload {
    /// Values stored (each replaced any earlier value of the same seller, period and metric).
    pub rows: usize,
    pub sellers: usize,
    pub metrics: Vec<String>,
    pub periods: Vec<String>,
}

/// Stores the parsed `lines` of an upload for the caller's organization at `now`: every e-mail
/// must name a user of the organization (else nothing is stored and each unknown one is
/// reported with its line); a value replaces the earlier one of the same seller, period and
/// metric.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, lines = lines.len()))]
pub fn upload(
    conn: &mut DbConnection,
    caller: &Caller,
    lines: &[KpiLine],
    now: DateTime<Utc>,
) -> ApiResult<KpiUpload> {
    let org = &caller.org_id;
    let dir = analytics_store::directory(conn, org)?;
    let by_email: HashMap<&str, &str> = dir
        .users
        .iter()
        .map(|(id, person)| (person.email.as_str(), id.as_str()))
        .collect();
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(lines.len());
    for l in lines {
        match by_email.get(l.email.as_str()) {
            Some(id) => rows.push(KpiValue {
                user_id: id.to_string(),
                period: l.period.clone(),
                metric: l.metric.clone(),
                value: l.value,
            }),
            None => errors.push(FieldError {
                line: Some(l.line),
                ..FieldError::new("email", format!("no user {} in this organization", l.email))
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = now.naive_utc();
    store::write_tx(conn, |conn| {
        analytics_store::replace_kpis(conn, org, &rows, now)
    })?;
    let set = |f: fn(&KpiValue) -> &String| rows.iter().map(f).cloned().collect::<BTreeSet<_>>();
    Ok(KpiUpload {
        rows: rows.len(),
        sellers: set(|r| &r.user_id).len(),
        metrics: set(|r| &r.metric).into_iter().collect(),
        periods: set(|r| &r.period).into_iter().collect(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Correlation {
    pub metric: String,
    pub period: String,
    /// Null for everyone in scope.
    pub team_id: Option<String>,
    pub team: String,
    /// Sellers with both a proficiency and a value.
    pub n: usize,
    /// Pearson's r (null when fewer than two pairs or no variation).
    pub pearson: Option<f64>,
    /// Spearman's rho (ranks; ties averaged).
    pub spearman: Option<f64>,
    /// True when n < 8: too few sellers for the coefficients to mean much.
    pub too_small: bool,
}

#[derive(Serialize, ToSchema)]
pub struct KpiCorrelation {
    /// Below this many pairs a correlation is flagged `too_small`.
    pub min_pairs: usize,
    pub correlations: Vec<Correlation>,
}

/// Each seller's proficiency now against their KPI values (optionally one `metric` and/or
/// `period`), correlated per team of the caller's scope and for everyone in it.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id, view = "kpi-correlation"))]
pub fn correlation(
    reader: &mut Reader<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
    metric: Option<&str>,
    period: Option<&str>,
) -> ApiResult<KpiCorrelation> {
    let s = scope(reader, caller, now, narrowing)?;
    let org = &caller.org_id;
    let mut proficiency: HashMap<String, Mean> = HashMap::new();
    let now_us = s.now.timestamp_micros();
    let fold = |m: &mut Mean, f: MemoryFact<'_>| m.add(f.recall_at(&s.curve, now_us));
    fold_memory(
        reader,
        org,
        &s.filter,
        MemoryRead::Recall,
        fold,
        |learner, m| {
            proficiency.entry(learner.to_string()).or_default().merge(m);
        },
    )?;
    let values = analytics_store::kpis(reader, org, metric, period)?;
    // (metric, period) → group index → pairs; the last group is everyone in scope.
    let all = s.teams.len();
    let mut pairs: BTreeMap<(String, String), BTreeMap<usize, Pairs>> = BTreeMap::new();
    for v in values {
        let Some(p) = proficiency.get(&v.user_id).and_then(Mean::value) else {
            continue;
        };
        let groups = pairs.entry((v.metric, v.period)).or_default();
        for &g in s.teams_of(&v.user_id).iter().chain(std::iter::once(&all)) {
            let (xs, ys) = groups.entry(g).or_default();
            xs.push(p);
            ys.push(v.value);
        }
    }
    let mut correlations = Vec::new();
    for ((metric, period), groups) in pairs {
        for (g, (xs, ys)) in groups {
            let (team_id, team) = match s.teams.get(g) {
                Some(t) => (Some(t.id.clone()), t.name.clone()),
                None => (None, "All in scope".to_string()),
            };
            correlations.push(Correlation {
                metric: metric.clone(),
                period: period.clone(),
                team_id,
                team,
                n: xs.len(),
                pearson: share(pearson(&xs, &ys)),
                spearman: share(spearman(&xs, &ys)),
                too_small: xs.len() < MIN_CORRELATION_PAIRS,
            });
        }
    }
    Ok(KpiCorrelation {
        min_pairs: MIN_CORRELATION_PAIRS,
        correlations,
    })
}
