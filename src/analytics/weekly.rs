//! What the week-by-week views (engagement, trends) share: their ISO weeks (UTC), their groups
//! (each visible team, then everyone in scope) and the learners counted in each.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::Scope;
use crate::domain::analytics::{recent_weeks, WeekActivity};

/// A group of learners a weekly view reports on: a team, or everyone in scope.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeeklyGroup {
    /// Null for everyone in scope.
    pub team_id: Option<String>,
    pub team: String,
}

/// The weeks of a view and, for each, the instant it is read at (its end, or now for the
/// current week).
pub struct Weeks {
    pub starts: Vec<NaiveDate>,
    pub ends: Vec<DateTime<Utc>>,
}

/// The `count` weeks ending with the current one, oldest first.
pub fn weeks(now: DateTime<Utc>, count: u32) -> Weeks {
    let starts = recent_weeks(now.date_naive(), count);
    let ends = starts
        .iter()
        .map(|d| (d.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::days(7)).min(now))
        .collect();
    Weeks { starts, ends }
}

/// Groups of a weekly view: each visible team, then everyone in scope (last index).
pub fn groups(s: &Scope) -> Vec<WeeklyGroup> {
    let mut g: Vec<WeeklyGroup> = s
        .teams
        .iter()
        .map(|t| WeeklyGroup {
            team_id: Some(t.id.clone()),
            team: t.name.clone(),
        })
        .collect();
    g.push(WeeklyGroup {
        team_id: None,
        team: "All in scope".into(),
    });
    g
}

/// Group indexes a learner counts in (their visible teams and "all").
fn groups_of(s: &Scope, learner: &str) -> Vec<usize> {
    let mut g = s.teams_of(learner).to_vec();
    g.push(s.teams.len());
    g
}

/// Learners in scope (role learner), each with the group indexes they count in.
pub fn learners_in_scope(s: &Scope) -> HashMap<String, Vec<usize>> {
    let in_teams: Option<HashSet<&str>> = s.filter.teams.as_ref().map(|teams| {
        s.directory
            .members
            .iter()
            .filter(|m| teams.contains(&m.team_id))
            .map(|m| m.user_id.as_str())
            .collect()
    });
    s.directory
        .users
        .keys()
        .filter(|id| s.is_learner(id))
        .filter(|id| {
            in_teams
                .as_ref()
                .is_none_or(|set| set.contains(id.as_str()))
        })
        .map(|id| (id.clone(), groups_of(s, id)))
        .collect()
}

/// The roll-up's weeks of the learners in scope summed per (group, week of `w`).
pub fn tallies(
    rows: &[(String, NaiveDate, WeekActivity)],
    learners: &HashMap<String, Vec<usize>>,
    w: &Weeks,
) -> HashMap<(usize, usize), WeekActivity> {
    let mut out: HashMap<(usize, usize), WeekActivity> = HashMap::new();
    for (learner, week, a) in rows {
        let (Some(gs), Some(i)) = (
            learners.get(learner),
            w.starts.iter().position(|s| s == week),
        ) else {
            continue;
        };
        for &g in gs {
            out.entry((g, i)).or_default().merge(a);
        }
    }
    out
}
