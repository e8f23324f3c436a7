//! The demo sellers' business figures, so the KPI view has something to correlate on first
//! start: one quarter of win rate, quota attainment and average deal size per seller, seeded,
//! and tied loosely to each seller's proficiency (the model's mean recall of their nuggets now)
//! with a good share of noise, as real figures are.

use chrono::{DateTime, Datelike, Utc};
use rand::{Rng, SeedableRng};

use super::ORG_SLUG;
use crate::domain::scheduler;
use crate::store::analytics::{self as analytics_store, KpiValue};
use crate::store::{accounts, learning, DbConnection};

/// The quarter the figures are for, e.g. `2026-Q4`.
pub fn quarter(now: DateTime<Utc>) -> String {
    format!("{}-Q{}", now.year(), (now.month() - 1) / 3 + 1)
}

/// Writes the figures once (an organization that has KPIs keeps them); returns how many values
/// were written.
pub fn seed(conn: &mut DbConnection, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    if !analytics_store::kpis(conn, &org.id, None, None)?.is_empty() {
        return Ok(0);
    }
    let learners = super::sellers(conn, &org.id)?;
    let params = learning::fsrs_parameters(conn, &org.id)?;
    let period = quarter(now);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2027);
    let mut sellers = Vec::new();
    for learner in &learners {
        let recalls: Vec<f64> = learning::states(conn, &org.id, &learner.id)?
            .iter()
            .filter_map(|s| scheduler::retrievability(&s.card, now, &params))
            .collect();
        if !recalls.is_empty() {
            sellers.push((
                learner.id.to_string(),
                recalls.iter().sum::<f64>() / recalls.len() as f64,
            ));
        }
    }
    // Sellers' proficiencies lie close together; the figures follow where each stands among
    // them (a standard score), so the tie shows through the noise.
    let n = sellers.len().max(1) as f64;
    let mean = sellers.iter().map(|(_, p)| p).sum::<f64>() / n;
    let sd = (sellers.iter().map(|(_, p)| (p - mean).powi(2)).sum::<f64>() / n)
        .sqrt()
        .max(1e-9);
    let mut rows = Vec::new();
    for (user_id, proficiency) in &sellers {
        let z = (proficiency - mean) / sd;
        let value = |metric: &str, v: f64| KpiValue {
            user_id: user_id.clone(),
            period: period.clone(),
            metric: metric.to_string(),
            value: (v * 100.0).round() / 100.0,
        };
        let win_rate = (0.25 + 0.05 * z + rng.gen_range(-0.06..0.06)).clamp(0.02, 0.9);
        let quota = (0.95 + 0.15 * z + rng.gen_range(-0.2..0.2)).max(0.1);
        let deal = 24_000.0 + 4_000.0 * z + rng.gen_range(-6_000.0..6_000.0);
        rows.push(value("win_rate", win_rate));
        rows.push(value("quota_attainment", quota));
        rows.push(value("average_deal_size", deal.round()));
    }
    analytics_store::replace_kpis(conn, &org.id, &rows, now.naive_utc())?;
    Ok(rows.len())
}
