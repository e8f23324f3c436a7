//! Folds over the memory states in a scope, shared by the views that read them (proficiency,
//! knowledge gain, forgetting risk): per state, the predicted recall now and at a later instant
//! and whether the first attempt was right, summed per learner on the scan's threads and then
//! per group.

use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scope::Scope;
use crate::domain::analytics::{Mean, Slots};
use crate::domain::ids::OrgId;
use crate::domain::scheduler::ForgettingCurve;
use crate::error::ApiResult;
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
    pub fn topic() -> GroupBy {
        GroupBy::Topic
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Learner => "learner",
            GroupBy::Team => "team",
            GroupBy::Pack => "pack",
            GroupBy::Topic => "topic",
        }
    }
}

/// Sums behind one group.
#[derive(Debug, Default, Clone, Copy)]
pub struct Acc {
    pub now: Mean,
    pub later: Mean,
    pub first: Mean,
}

impl Acc {
    /// Adds one memory state: its recall at `now_us` and at `later_us` (microseconds since the
    /// Unix epoch), and its first attempt.
    pub fn add_state(
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

    pub fn merge(&mut self, other: Acc) {
        self.now.merge(other.now);
        self.later.merge(other.later);
        self.first.merge(other.first);
    }
}

/// Sums per (label, key), in label order.
pub type Groups = BTreeMap<(String, String), Acc>;

/// Streams the scope's memory states into groups: (key, label) → sums. `later` is predicted
/// recall at `now + horizon`; first attempts are summed when `reads` has them.
#[tracing::instrument(level = "debug", skip_all, fields(group_by = group_by.as_str()))]
pub fn collect(
    reader: &mut Reader<'_>,
    org: &OrgId,
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
                .map(|p| p.title.clone())
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
                .map(|p| p.slug.clone())
                .unwrap_or(key.clone()),
            _ => key.clone(),
        };
        out.insert((label(&key), key_out), acc);
    }
    Ok((out, overall))
}

/// Everything in scope together (key `all`), then each group in label order, as a view shows
/// them: `row(key, label, sums)`.
pub fn rows<T>(
    (groups, overall): (Groups, Acc),
    row: impl Fn(String, String, Acc) -> T,
) -> (T, Vec<T>) {
    let all = row("all".into(), "All in scope".into(), overall);
    let groups = groups
        .into_iter()
        .map(|((label, key), acc)| row(key, label, acc))
        .collect();
    (all, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_start_with_everything_in_scope_then_groups_by_label() {
        let acc = |n: u64| Acc {
            now: Mean { sum: 0.5, n },
            ..Acc::default()
        };
        let mut groups = Groups::new();
        groups.insert(("Zoe".into(), "id-z".into()), acc(2));
        groups.insert(("Ann".into(), "id-a".into()), acc(1));
        let (all, rows) = rows((groups, acc(3)), |key, label, a| (key, label, a.now.n));
        assert_eq!(all, ("all".into(), "All in scope".into(), 3));
        assert_eq!(
            rows,
            vec![
                ("id-a".to_string(), "Ann".to_string(), 1),
                ("id-z".to_string(), "Zoe".to_string(), 2)
            ]
        );
    }
}
