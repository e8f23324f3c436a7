//! A view's recall weeks: the mean predicted recall per group and week, read from the
//! snapshots where they are complete and current, and computed where they are not.
//!
//! - Ended weeks marked done for the organization's curve: the learners' snapshot rows.
//! - Learners a back-dated answer made stale (from their mark on), and rows of another curve:
//!   that learner's own answer log (one indexed read each).
//! - Ended weeks with no complete snapshot (right after an upgrade or a refit, or in the minutes
//!   after a week ends): one replay of the scope's answer log.
//! - The current week: the memory states now, which hold each nugget's last answer (its
//!   stability and time); a learner with an answer timed after `now` (a phone's clock slightly
//!   ahead) is read from the log, which leaves that answer out as the view always has.
//!
//! Everything is read in one transaction, so the snapshot rows, the marks and the log agree (the
//! current week's memory states are split over more connections; on SQLite those may read an
//! instant later, see `store::reader::in_parallel_slices`).
//! Nothing is written: the view may run on a read replica.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::analytics::scope::Scope;
use crate::analytics::weekly::Weeks;
use crate::domain::analytics::Mean;
use crate::domain::ids::OrgId;
use crate::domain::recall_weeks::week_end;
use crate::error::ApiResult;
use crate::store;
use crate::store::analytics::{fold_memory, Filter, MemoryFact, MemoryRead};
use crate::store::reader::Reader;
use crate::store::recall_weeks::{done_weeks, for_each_row, stale_learners, sums_from_log};

/// Mean recall per (group, week index) at the ends of `weeks` (the last may be the current
/// week, read at `s.now`), over the learners in `learners` (learner → group indexes).
#[tracing::instrument(level = "debug", skip_all, fields(org = %org, weeks = weeks.starts.len()))]
pub fn means(
    reader: &mut Reader<'_>,
    org: &OrgId,
    s: &Scope,
    weeks: &Weeks,
    learners: &HashMap<String, Vec<usize>>,
) -> ApiResult<HashMap<(usize, usize), Mean>> {
    let (starts, ends): (&[NaiveDate], &[DateTime<Utc>]) = (&weeks.starts, &weeks.ends);
    let (conn, pool) = reader.parts();
    store::read_tx(conn, |conn| {
        let mut means: HashMap<(usize, usize), Mean> = HashMap::new();
        let mut add = |gs: &[usize], i: usize, m: Mean| {
            for &g in gs {
                means.entry((g, i)).or_default().merge(m);
            }
        };
        let ended: Vec<usize> = (0..starts.len())
            .filter(|&i| week_end(starts[i]) <= s.now)
            .collect();
        let index: HashMap<NaiveDate, usize> = ended.iter().map(|&i| (starts[i], i)).collect();
        let done: HashSet<NaiveDate> = match starts.first() {
            Some(first) => done_weeks(conn, org, *first)?
                .into_iter()
                .filter(|(_, decay)| s.curve.is(*decay))
                .map(|(w, _)| w)
                .collect(),
            None => HashSet::new(),
        };
        let missing: Vec<usize> = ended
            .iter()
            .copied()
            .filter(|&i| !done.contains(&starts[i]))
            .collect();
        // Week indexes each learner needs from the log beside the missing weeks.
        let mut from_log: HashMap<String, Vec<usize>> = HashMap::new();
        for stale in stale_learners(conn, org)? {
            if learners.contains_key(&stale.learner_id) {
                let weeks = ended
                    .iter()
                    .copied()
                    .filter(|&i| starts[i] >= stale.from_week && done.contains(&starts[i]));
                from_log.entry(stale.learner_id).or_default().extend(weeks);
            }
        }
        if let (Some(&first), Some(&last)) = (ended.first(), ended.last()) {
            for_each_row(
                conn,
                org,
                starts[first],
                starts[last],
                |learner, week, decay, m| {
                    let (Some(gs), Some(&i)) = (learners.get(&learner), index.get(&week)) else {
                        return;
                    };
                    if !done.contains(&week) {
                        return;
                    }
                    if let Some(weeks) = from_log.get_mut(&learner) {
                        if weeks.contains(&i) {
                            return;
                        }
                        if !s.curve.is(decay) {
                            weeks.push(i);
                            return;
                        }
                    } else if !s.curve.is(decay) {
                        from_log.insert(learner, vec![i]);
                        return;
                    }
                    add(gs, i, m);
                },
            )?;
        }
        if let Some(current) = (0..starts.len()).find(|&i| week_end(starts[i]) > s.now) {
            // A learner is read whole from one source: a state answered after `now` sends all of
            // theirs to the log, whichever order the scan meets their states in.
            let mut now_sums: HashMap<String, Mean> = HashMap::new();
            // A learner's recall now, and whether a state was answered after `now`.
            let now_us = s.now.timestamp_micros();
            let fold = |(sum, ahead): &mut (Mean, bool), m: MemoryFact<'_>| {
                if m.last_review_us > now_us {
                    *ahead = true;
                } else {
                    sum.add(m.recall_at(&s.curve, now_us));
                }
            };
            fold_memory(
                &mut Reader::new(conn, pool),
                org,
                &s.filter,
                MemoryRead::Recall,
                fold,
                |learner, (m, ahead)| {
                    if !learners.contains_key(learner) {
                        return;
                    }
                    if ahead {
                        from_log
                            .entry(learner.to_string())
                            .or_default()
                            .push(current);
                    } else {
                        now_sums.entry(learner.to_string()).or_default().merge(m);
                    }
                },
            )?;
            for (learner, m) in now_sums {
                if !from_log.get(&learner).is_some_and(|w| w.contains(&current)) {
                    add(&learners[&learner], current, m);
                }
            }
        }
        let mut take = |learner: &str, sums: &[Mean], weeks: &mut dyn Iterator<Item = usize>| {
            if let Some(gs) = learners.get(learner) {
                for i in weeks {
                    add(gs, i, sums[i]);
                }
            }
        };
        if missing.is_empty() {
            for (learner, weeks) in &from_log {
                let filter = Filter {
                    learner_id: Some(learner.clone()),
                    ..s.filter.clone()
                };
                let sums = sums_from_log(conn, org, &filter, ends, &s.curve)?;
                if let Some(sums) = sums.get(learner) {
                    take(learner, sums, &mut weeks_once(weeks));
                }
            }
        } else {
            for (learner, sums) in sums_from_log(conn, org, &s.filter, ends, &s.curve)? {
                let extra = from_log.get(&learner).map(Vec::as_slice).unwrap_or(&[]);
                let weeks = missing.iter().chain(extra).copied().collect::<Vec<_>>();
                take(&learner, &sums, &mut weeks_once(&weeks));
            }
        }
        Ok(means)
    })
}

/// Each week index once (a learner can be marked for a week by both a stale mark and a row).
fn weeks_once(weeks: &[usize]) -> impl Iterator<Item = usize> {
    let set: std::collections::BTreeSet<usize> = weeks.iter().copied().collect();
    set.into_iter()
}
