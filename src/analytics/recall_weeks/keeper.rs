//! Keeps the recall weeks' snapshots the trends view reads: at start and every few minutes, for
//! every organization, completes each kept week (see
//! [`crate::domain::recall_weeks::kept_weeks`]) that has no complete snapshot for the current
//! forgetting curve with one replay of the answer log, then recomputes learners a back-dated
//! answer marked stale from their own log.
//!
//! Runs in every instance; two instances doing the same work at once are harmless (the store's
//! writes only fill gaps and clear marks they have answered, see [`crate::store::recall_weeks`]),
//! and a write that loses a race fails on a unique key and is redone on the next pass.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::analytics::Mean;
use crate::domain::ids::OrgId;
use crate::domain::recall_weeks::{kept_weeks, missing_weeks, week_end};
use crate::domain::scheduler::ForgettingCurve;
use crate::error::ApiError;
use crate::store::analytics::Filter;
use crate::store::recall_weeks::{
    complete_week, done_weeks, organization_ids, replace_learner, stale_learners, sums_from_log,
};
use crate::store::{self, learning, Database, DbConnection, StoreResult};

/// Between passes: a new week is snapshotted within minutes of settling, and a pass with
/// nothing to do is two small reads per organization.
const INTERVAL: Duration = Duration::from_secs(300);

/// The task: a pass over every organization of `database` now, and again every 5 minutes.
pub async fn run(database: Database, clock: Clock) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        let clock = clock.clone();
        let pass = database
            .run(move |conn| Ok::<_, ApiError>(refresh(conn, clock.now())))
            .await;
        match pass {
            Ok(done) if done.weeks + done.learners > 0 => {
                tracing::info!(
                    weeks = done.weeks,
                    learners = done.learners,
                    "recall snapshots"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "recall snapshot pass failed"),
        }
    }
}

/// What one pass wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Refreshed {
    /// Organization weeks completed.
    pub weeks: usize,
    /// Stale learners recomputed.
    pub learners: usize,
}

/// One pass over every organization at `now`. An organization that fails is logged and tried
/// again on the next pass; the others go on.
#[tracing::instrument(level = "debug", skip_all)]
pub fn refresh(conn: &mut DbConnection, now: DateTime<Utc>) -> Refreshed {
    let mut total = Refreshed::default();
    let orgs = match organization_ids(conn) {
        Ok(orgs) => orgs,
        Err(e) => {
            tracing::warn!(error = %e, "recall snapshots: no organization list");
            return total;
        }
    };
    for org in orgs {
        match refresh_org(conn, &org, now) {
            Ok(r) => {
                total.weeks += r.weeks;
                total.learners += r.learners;
            }
            Err(e) => tracing::warn!(org = %org, error = %e, "recall snapshots of an organization"),
        }
    }
    total
}

/// Completes an organization's missing weeks, then recomputes its stale learners.
#[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
pub fn refresh_org(
    conn: &mut DbConnection,
    org: &OrgId,
    now: DateTime<Utc>,
) -> StoreResult<Refreshed> {
    let curve = ForgettingCurve::new(&learning::fsrs_parameters(conn, org)?);
    let kept = kept_weeks(now);
    let done = done_weeks(conn, org, kept[0])?;
    let missing = missing_weeks(now, &done, &curve);
    let mut out = Refreshed::default();
    if !missing.is_empty() {
        let ends: Vec<_> = missing.iter().map(|w| week_end(*w)).collect();
        let sums = sums_from_log(conn, org, &Filter::default(), &ends, &curve)?;
        for (i, week) in missing.iter().enumerate() {
            let rows: Vec<(String, Mean)> = sums
                .iter()
                .filter(|(_, s)| s[i].n > 0)
                .map(|(learner, s)| (learner.clone(), s[i]))
                .collect();
            store::write_tx(conn, |conn| {
                complete_week(conn, org, *week, curve.decay(), &rows)
            })?;
            out.weeks += 1;
        }
    }
    for stale in stale_learners(conn, org)? {
        let weeks: Vec<_> = kept
            .iter()
            .copied()
            .filter(|w| *w >= stale.from_week)
            .collect();
        let ends: Vec<_> = weeks.iter().map(|w| week_end(*w)).collect();
        let filter = Filter {
            learner_id: Some(stale.learner_id.clone()),
            ..Filter::default()
        };
        let sums = sums_from_log(conn, org, &filter, &ends, &curve)?;
        let rows: Vec<_> = match sums.get(&stale.learner_id) {
            Some(s) => weeks
                .iter()
                .zip(s)
                .filter(|(_, m)| m.n > 0)
                .map(|(w, m)| (*w, *m))
                .collect(),
            None => Vec::new(),
        };
        store::write_tx(conn, |conn| {
            replace_learner(conn, org, &stale, curve.decay(), &rows)
        })?;
        out.learners += 1;
    }
    Ok(out)
}
