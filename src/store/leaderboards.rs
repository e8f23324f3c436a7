//! What leaderboards read: the organization's people with the names they appear under, its
//! teams, and learners' counted answers (never practice) over a period, with the earlier answers
//! to the same nuggets that the points rules look back on.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{organizations, reviews, team_members, teams, users};
use super::{DbConnection, StoreResult};
use crate::domain::ids::{AssignmentId, OrgId, UserId};
use crate::domain::leaderboards::CountedAnswer;

/// A user as leaderboards show and rank them.
#[derive(Debug, Clone)]
pub struct Entrant {
    pub id: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    /// Their own time zone, if set.
    pub timezone: Option<String>,
    /// The name they chose to appear under.
    pub pseudonym: Option<String>,
}

/// A team with its parent.
#[derive(Debug, Clone)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
}

/// Everyone a leaderboard may rank, and the organization's settings it needs.
pub struct Roster {
    pub enabled: bool,
    /// The organization's time zone.
    pub timezone: String,
    pub people: Vec<Entrant>,
    pub teams: Vec<TeamRow>,
    /// (team, user) direct memberships.
    pub members: Vec<(String, String)>,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn roster(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Roster> {
    let (enabled, timezone): (bool, String) = organizations::table
        .find(org_id)
        .select((organizations::leaderboards, organizations::timezone))
        .first(conn)?;
    let people = users::table
        .filter(users::org_id.eq(org_id))
        .select((
            users::id,
            users::name,
            users::role,
            users::active,
            users::timezone,
            users::leaderboard_name,
        ))
        .load::<(String, String, String, bool, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, role, active, timezone, pseudonym)| Entrant {
            id,
            name,
            role,
            active,
            timezone,
            pseudonym,
        })
        .collect();
    let teams = teams::table
        .filter(teams::org_id.eq(org_id))
        .order(teams::name.asc())
        .select((teams::id, teams::name, teams::parent_id))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, parent_id)| TeamRow {
            id,
            name,
            parent_id,
        })
        .collect();
    let members = team_members::table
        .filter(team_members::org_id.eq(org_id))
        .select((team_members::team_id, team_members::user_id))
        .load(conn)?;
    Ok(Roster {
        enabled,
        timezone,
        people,
        teams,
        members,
    })
}

/// Learners' ids in slices of this many per query.
const SLICE: usize = 500;

type AnswerRow = (String, String, NaiveDateTime, bool, Option<NaiveDateTime>);

/// The counted answers of `learners` that the points of `[start, end)` depend on, by learner:
/// every counted answer up to `end` to a nugget the learner answered (counted) in the period,
/// optionally only answers within `assignment`. Practice answers are never read.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id, learners = learners.len()))]
pub fn counted_answers(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learners: &[&str],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    assignment: Option<&AssignmentId>,
) -> StoreResult<HashMap<UserId, Vec<CountedAnswer>>> {
    let mut out: HashMap<UserId, Vec<CountedAnswer>> = HashMap::new();
    for slice in learners.chunks(SLICE) {
        let mut in_period = reviews::table
            .filter(reviews::org_id.eq(org_id))
            .filter(reviews::learner_id.eq_any(slice))
            .filter(reviews::answered_at.ge(start.naive_utc()))
            .filter(reviews::answered_at.lt(end.naive_utc()))
            .filter(reviews::practice.is_null())
            .select((reviews::learner_id, reviews::nugget_id))
            .distinct()
            .into_boxed();
        if let Some(a) = assignment {
            in_period = in_period.filter(reviews::assignment_id.eq(a.as_str()));
        }
        let pairs: HashSet<(String, String)> = in_period.load(conn)?.into_iter().collect();
        if pairs.is_empty() {
            continue;
        }
        let active: Vec<&str> = pairs
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let nuggets: Vec<&str> = pairs
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut history = reviews::table
            .filter(reviews::org_id.eq(org_id))
            .filter(reviews::learner_id.eq_any(&active))
            .filter(reviews::nugget_id.eq_any(&nuggets))
            .filter(reviews::answered_at.lt(end.naive_utc()))
            .filter(reviews::practice.is_null())
            .select((
                reviews::learner_id,
                reviews::nugget_id,
                reviews::answered_at,
                reviews::correct,
                reviews::due_after,
            ))
            .into_boxed();
        if let Some(a) = assignment {
            history = history.filter(reviews::assignment_id.eq(a.as_str()));
        }
        for (learner, nugget, at, correct, due) in history.load::<AnswerRow>(conn)? {
            if !pairs.contains(&(learner.clone(), nugget.clone())) {
                continue;
            }
            out.entry(UserId::from(learner))
                .or_default()
                .push(CountedAnswer {
                    nugget_id: nugget,
                    answered_at: at.and_utc(),
                    correct,
                    due_after: due.map(|d| d.and_utc()),
                });
        }
    }
    Ok(out)
}

/// Sets (or with `None` clears) the name a user appears under on leaderboards.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn set_pseudonym(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
    pseudonym: Option<&str>,
) -> StoreResult<()> {
    diesel::update(users::table.find((org_id, user_id)))
        .set(users::leaderboard_name.eq(pseudonym))
        .execute(conn)?;
    Ok(())
}

/// The name a user appears under on leaderboards, if they chose one.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn pseudonym(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user_id: &UserId,
) -> StoreResult<Option<String>> {
    Ok(users::table
        .find((org_id, user_id))
        .select(users::leaderboard_name)
        .first(conn)?)
}
