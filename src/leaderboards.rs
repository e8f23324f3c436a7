//! Leaderboards as a service: points for learning (`domain::leaderboards`) computed at read time
//! from the counted answers, ranked for people and for teams, with the names each viewer may see.
//!
//! Nothing is kept or written: the answer and queue paths do no work for leaderboards. Every
//! learner of the organization is scored, so a team's rank among all teams and a person's rank
//! in their team come from the same figures whatever the scope shown.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::calendar::local_midnight;
use crate::domain::ids::{AssignmentId, UserId};
use crate::domain::leaderboards::{self as rules, PeriodKind, Points};
use crate::domain::nudges::NotificationSettings;
use crate::domain::teams::TeamTree;
use crate::error::{ApiError, ApiResult};
use crate::store::leaderboards::{self as board_store, Entrant, Roster};
use crate::store::{
    self, accounts as account_store, assignments as assignment_store, nudges as nudge_store,
    DbConnection, StoreError,
};

/// Whose standings a leaderboard shows.
#[derive(Debug, Clone)]
pub enum Scope {
    /// One team and the teams below it; the caller's own teams when `None`.
    Team(Option<String>),
    Organization,
}

/// Which answers count.
#[derive(Debug, Clone)]
pub enum Period {
    Week,
    Month,
    /// Answers to an assignment's nuggets from its start.
    Assignment(AssignmentId),
}

/// A person's standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonStanding {
    pub rank: u32,
    /// Present when the viewer sees the person's real name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The real name, or the pseudonym the person chose when the viewer may not see it.
    pub name: String,
    /// `name` is the person's pseudonym.
    pub pseudonym: bool,
    /// This is the caller.
    pub me: bool,
    pub points: Points,
}

/// A team's standing: the mean of its learners' points (non-starters count as zero).
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamStanding {
    pub rank: u32,
    pub team_id: String,
    pub name: String,
    /// Active learners in the team and the teams below it.
    pub learners: usize,
    /// Mean points per learner, to one decimal.
    pub mean_points: f64,
    pub total_points: u32,
}

/// The caller's own team among all the organization's teams.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTeam {
    pub team_id: String,
    pub name: String,
    pub rank: u32,
    /// Teams ranked in the organization.
    pub of: usize,
    pub mean_points: f64,
}

/// The caller's own standing, when they are a ranked learner.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyStanding {
    pub points: Points,
    /// Rank among the people of this leaderboard.
    pub rank: u32,
    pub of: usize,
    /// Their first team (by name) with its rank among all teams.
    pub team: Option<MyTeam>,
}

/// A leaderboard as shown to one viewer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Leaderboard {
    /// Whether the organization shows leaderboards; when `false` every list is empty.
    pub enabled: bool,
    /// `team` or `org`.
    pub scope: String,
    /// `week`, `month` or `assignment`.
    pub period: String,
    /// Answers from this time (inclusive)…
    pub starts_at: Option<DateTime<Utc>>,
    /// …to this one (exclusive) count.
    pub ends_at: Option<DateTime<Utc>>,
    /// People, best first (ties share a rank, then by name).
    pub people: Vec<PersonStanding>,
    /// Teams, best mean first.
    pub teams: Vec<TeamStanding>,
    pub me: Option<MyStanding>,
}

/// Reads a leaderboard for `caller` at `now`.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn read(
    conn: &mut DbConnection,
    caller: &Caller,
    scope: &Scope,
    period: &Period,
    now: DateTime<Utc>,
) -> ApiResult<Leaderboard> {
    let org = &caller.org_id;
    let roster = board_store::roster(conn, org)?;
    let (scope_name, period_name) = (
        match scope {
            Scope::Team(_) => "team",
            Scope::Organization => "org",
        },
        match period {
            Period::Week => "week",
            Period::Month => "month",
            Period::Assignment(_) => "assignment",
        },
    );
    let mut board = Leaderboard {
        enabled: roster.enabled,
        scope: scope_name.into(),
        period: period_name.into(),
        starts_at: None,
        ends_at: None,
        people: Vec::new(),
        teams: Vec::new(),
        me: None,
    };
    let org_tz = roster.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
    let (start, end, assignment) = match period {
        Period::Week => with_none(rules::period_bounds(PeriodKind::Week, org_tz, now)),
        Period::Month => with_none(rules::period_bounds(PeriodKind::Month, org_tz, now)),
        Period::Assignment(id) => {
            let a = match assignment_store::get(conn, org, id) {
                Err(StoreError::NotFound) => {
                    return Err(ApiError::missing("assignment_id", "no such assignment"))
                }
                other => other?,
            };
            let end = match a.ends_on {
                Some(last) => local_midnight(org_tz, last + Duration::days(1)),
                None => now + Duration::days(1),
            };
            (local_midnight(org_tz, a.starts_on), end, Some(id))
        }
    };
    let tree = TeamTree::new(
        roster
            .teams
            .iter()
            .map(|t| (t.id.clone(), t.parent_id.clone())),
    );
    let shown_teams: Vec<String> = match scope {
        Scope::Organization => roster.teams.iter().map(|t| t.id.clone()).collect(),
        Scope::Team(Some(team)) => {
            if !roster.teams.iter().any(|t| &t.id == team) {
                return Err(ApiError::missing("team_id", "no such team"));
            }
            tree.with_descendants(std::slice::from_ref(team))
        }
        Scope::Team(None) => {
            let own = own_teams(&roster, &caller.user_id);
            if own.is_empty() {
                return Err(ApiError::field(
                    "team_id",
                    "you are in no team: name one with team_id, or ask for scope=org",
                ));
            }
            tree.with_descendants(&own)
        }
    };
    if !roster.enabled {
        return Ok(board);
    }
    board.starts_at = Some(start);
    board.ends_at = Some(end);

    let learners: Vec<&Entrant> = roster
        .people
        .iter()
        .filter(|p| p.active && p.role == Role::Learner.as_str())
        .collect();
    let ids: Vec<&str> = learners.iter().map(|p| p.id.as_str()).collect();
    let mut answers = board_store::counted_answers(conn, org, &ids, start, end, assignment)?;
    let points: HashMap<&str, Points> = learners
        .iter()
        .map(|p| {
            let tz = p
                .timezone
                .as_deref()
                .and_then(|z| z.parse::<Tz>().ok())
                .unwrap_or(org_tz);
            let mine = answers
                .get_mut(&UserId::from(p.id.as_str()))
                .map(|a| rules::points(a, tz, start, end))
                .unwrap_or_default();
            (p.id.as_str(), mine)
        })
        .collect();

    // Teams: every learner below a team counts in it.
    let learner_set: HashSet<&str> = ids.iter().copied().collect();
    let mut team_learners: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (team, user) in &roster.members {
        if !learner_set.contains(user.as_str()) {
            continue;
        }
        for t in tree.with_ancestors(std::slice::from_ref(team)) {
            team_learners.entry(t).or_default().insert(user.as_str());
        }
    }
    let all_teams = rank_teams(&roster, &team_learners, &points, None);
    board.teams = rank_teams(&roster, &team_learners, &points, Some(&shown_teams));

    // People in scope.
    let in_scope: Vec<&Entrant> = match scope {
        Scope::Organization => learners.clone(),
        Scope::Team(_) => {
            let members: HashSet<&str> = shown_teams
                .iter()
                .filter_map(|t| team_learners.get(t.as_str()))
                .flatten()
                .copied()
                .collect();
            learners
                .iter()
                .filter(|p| members.contains(p.id.as_str()))
                .copied()
                .collect()
        }
    };
    let visible = real_names_visible(conn, caller, &roster)?;
    let mut people: Vec<(&Entrant, Points)> = in_scope
        .into_iter()
        .map(|p| (p, points[p.id.as_str()]))
        .collect();
    let shown = |p: &Entrant| -> (String, bool, bool) {
        let me = p.id == caller.user_id.as_str();
        match (&p.pseudonym, me || visible.sees(&p.id)) {
            (Some(alias), false) => (alias.clone(), true, me),
            _ => (p.name.clone(), false, me),
        }
    };
    people.sort_by(|a, b| {
        b.1.total
            .cmp(&a.1.total)
            .then_with(|| shown(a.0).0.cmp(&shown(b.0).0))
    });
    let scores: Vec<f64> = people.iter().map(|(_, p)| p.total as f64).collect();
    let ranks = rules::ranks(&scores);
    board.people = people
        .iter()
        .zip(ranks)
        .map(|((p, pts), rank)| {
            let (name, pseudonym, me) = shown(p);
            PersonStanding {
                rank,
                user_id: (!pseudonym).then(|| p.id.clone()),
                name,
                pseudonym,
                me,
                points: *pts,
            }
        })
        .collect();

    if let Some(mine) = board.people.iter().find(|p| p.me) {
        let team = own_teams(&roster, &caller.user_id)
            .into_iter()
            .find_map(|t| all_teams.iter().find(|s| s.team_id == t))
            .map(|s| MyTeam {
                team_id: s.team_id.clone(),
                name: s.name.clone(),
                rank: s.rank,
                of: all_teams.len(),
                mean_points: s.mean_points,
            });
        board.me = Some(MyStanding {
            points: mine.points,
            rank: mine.rank,
            of: board.people.len(),
            team,
        });
    }
    Ok(board)
}

fn with_none<'a>(
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> (DateTime<Utc>, DateTime<Utc>, Option<&'a AssignmentId>) {
    (start, end, None)
}

/// The teams a user is a direct member of, in name order.
fn own_teams(roster: &Roster, user: &UserId) -> Vec<String> {
    roster
        .teams
        .iter()
        .filter(|t| {
            roster
                .members
                .iter()
                .any(|(team, u)| team == &t.id && u == user.as_str())
        })
        .map(|t| t.id.clone())
        .collect()
}

/// Teams with learners, ranked by mean points (all teams, or only `only`).
fn rank_teams(
    roster: &Roster,
    team_learners: &HashMap<&str, HashSet<&str>>,
    points: &HashMap<&str, Points>,
    only: Option<&[String]>,
) -> Vec<TeamStanding> {
    let mut teams: Vec<(String, String, usize, f64, u32)> = roster
        .teams
        .iter()
        .filter(|t| only.is_none_or(|o| o.contains(&t.id)))
        .filter_map(|t| {
            let members = team_learners.get(t.id.as_str())?;
            let totals: Vec<u32> = members.iter().map(|m| points[m].total).collect();
            let mean = rules::team_mean(&totals)?;
            Some((
                t.id.clone(),
                t.name.clone(),
                totals.len(),
                (mean * 10.0).round() / 10.0,
                totals.iter().sum(),
            ))
        })
        .collect();
    teams.sort_by(|a, b| b.3.total_cmp(&a.3).then_with(|| a.1.cmp(&b.1)));
    let scores: Vec<f64> = teams.iter().map(|t| t.3).collect();
    teams
        .into_iter()
        .zip(rules::ranks(&scores))
        .map(
            |((team_id, name, learners, mean_points, total_points), rank)| TeamStanding {
                rank,
                team_id,
                name,
                learners,
                mean_points,
                total_points,
            },
        )
        .collect()
}

/// Whose real names the caller sees: everyone's for admins and analysts, their own people's for
/// managers (the teams they manage and those below), nobody else's.
enum RealNames {
    All,
    Of(HashSet<String>),
}

impl RealNames {
    fn sees(&self, user: &str) -> bool {
        match self {
            RealNames::All => true,
            RealNames::Of(people) => people.contains(user),
        }
    }
}

fn real_names_visible(
    conn: &mut DbConnection,
    caller: &Caller,
    roster: &Roster,
) -> ApiResult<RealNames> {
    Ok(match caller.role {
        Role::Admin | Role::Analyst => RealNames::All,
        Role::Manager => {
            let teams = account_store::team_scope(conn, &caller.org_id, &caller.user_id)?;
            RealNames::Of(
                roster
                    .members
                    .iter()
                    .filter(|(t, _)| teams.contains(t))
                    .map(|(_, u)| u.clone())
                    .collect(),
            )
        }
        _ => RealNames::Of(HashSet::new()),
    })
}

/// Saves the caller's reminder choices and, when given, their pseudonym (`Some(None)` removes
/// it), in one transaction; returns what is stored. A pseudonym may not be another person's
/// name or pseudonym in the organization (compared without regard to case), so nobody appears
/// as someone else.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn save_settings(
    conn: &mut DbConnection,
    caller: &Caller,
    settings: &NotificationSettings,
    pseudonym: Option<Option<String>>,
    now: DateTime<Utc>,
) -> ApiResult<(NotificationSettings, Option<String>)> {
    let org = &caller.org_id;
    store::write_tx(conn, |conn| {
        nudge_store::put_settings(conn, org, &caller.user_id, settings, now)?;
        if let Some(name) = pseudonym {
            if let Some(wanted) = &name {
                let roster = board_store::roster(conn, org)?;
                let taken = roster.people.iter().any(|p| {
                    p.id != caller.user_id.as_str()
                        && (p.name.to_lowercase() == wanted.to_lowercase()
                            || p.pseudonym
                                .as_ref()
                                .is_some_and(|q| q.to_lowercase() == wanted.to_lowercase()))
                });
                if taken {
                    return Err(ApiError::field(
                        "leaderboard_name",
                        "another person in the organization has this name; choose another",
                    ));
                }
            }
            board_store::set_pseudonym(conn, org, &caller.user_id, name.as_deref())?;
        }
        let stored = board_store::pseudonym(conn, org, &caller.user_id)?;
        Ok::<_, ApiError>((*settings, stored))
    })
}
