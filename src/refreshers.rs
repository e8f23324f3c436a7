//! Refreshers as a service: a manager (for their own teams' people) or an admin puts nuggets
//! back into learners' queues over the next days, and reads when each was answered.
//!
//! A refresher plans each learner × nugget on a local day (`domain::refreshers::spread`, within
//! the learner's daily cap) and makes the nugget due that day by moving its memory state's due
//! time earlier: the queue then serves it like any due review, with no extra read per queue, and
//! the memory state's trigger moves the learner's queue counter so cached queues are rebuilt.
//! Whether an item was answered is read from the counted answers received after the refresher
//! was created; nothing else is written later. All checks come before the one transaction that
//! writes the refresher, its items, the memory states and the audit record.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::accounts::scope::TeamScope;
use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::calendar::{local_day, local_midnight};
use crate::domain::ids::{NuggetId, RefresherId, TeamId, UserId};
use crate::domain::refreshers::{eligibility, spread, Skipped};
use crate::domain::scheduler::CardStatus;
use crate::domain::teams::TeamTree;
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::refreshers::{self as refresher_store, ItemRow, RefresherRow};
use crate::store::{
    self, accounts as account_store, analytics as analytics_store, enrolments, learning, new_id,
    DbConnection, StoreError,
};

/// Who a refresher is for.
pub enum Learners {
    Ids(Vec<UserId>),
    Team(TeamId),
}

/// What a refresher asks again.
pub enum Nuggets {
    Ids(Vec<NuggetId>),
    /// Every nugget of this topic (compared without regard to case).
    Topic(String),
}

/// A refresher's request, checked for shape.
pub struct NewRefresher {
    pub learners: Learners,
    pub nuggets: Nuggets,
    pub days: u32,
}

/// One learner × nugget of a refresher.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefresherItem {
    pub learner_id: String,
    pub learner_name: String,
    pub nugget_id: String,
    pub topic: String,
    /// The learner's local day the nugget was made due on.
    pub planned_on: NaiveDate,
    /// When the learner first answered it (a counted answer) after the refresher was created.
    pub answered_at: Option<DateTime<Utc>>,
    pub correct: Option<bool>,
}

/// A learner × nugget left out, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedItem {
    pub learner_id: String,
    pub nugget_id: String,
    pub reason: Skipped,
}

/// A refresher with its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefresherSummary {
    #[schema(value_type = String)]
    pub id: RefresherId,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub days: u32,
    pub team_id: Option<String>,
    pub topic: Option<String>,
    pub learners: usize,
    pub nuggets: usize,
    /// Learner × nugget pairs planned.
    pub planned: usize,
    /// Pairs answered since the refresher was created.
    pub answered: usize,
    /// The last planned day.
    pub last_day: Option<NaiveDate>,
}

/// A refresher with every item.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefresherReport {
    #[serde(flatten)]
    pub summary: RefresherSummary,
    pub items: Vec<RefresherItem>,
    /// Pairs left out when it was created (only in the answer to the creation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedItem>,
}

/// Plans a refresher and makes its nuggets due, in one transaction.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    request: NewRefresher,
    now: DateTime<Utc>,
) -> ApiResult<RefresherReport> {
    let org = &caller.org_id;
    let (row, items, skipped) = store::write_tx(conn, |conn| {
        let scope = TeamScope::of(conn, caller)?;
        let (learners, team_id) = resolve_learners(conn, caller, &scope, &request.learners)?;
        let catalog = analytics_store::nugget_catalog(conn, org)?;
        let (nuggets, topic) = resolve_nuggets(conn, caller, &catalog, &request.nuggets)?;
        let retired: HashSet<NuggetId> = learning::retired(conn, org)?.into_iter().collect();
        let mut items = Vec::new();
        let mut skipped = Vec::new();
        let mut too_few: Option<(u32, usize, usize)> = None;
        for learner in &learners {
            let settings = learning::learner_settings(conn, org, learner)?;
            let tz = settings.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
            let today = local_day(tz, now).date;
            let enrolment = enrolments::enrolment(conn, org, learner, today)?;
            let states = learning::states(conn, org, learner)?;
            let mut eligible = Vec::new();
            for nugget in &nuggets {
                let state = states.iter().find(|s| &s.nugget_id == nugget).filter(|s| {
                    enrolment
                        .assignments
                        .iter()
                        .any(|a| a.id == s.assignment_id)
                });
                let assigned = state.is_some()
                    || catalog.get(nugget.as_str()).is_some_and(|n| {
                        enrolment
                            .assignments
                            .iter()
                            .any(|a| a.pack_id.as_str() == n.pack_id)
                    });
                let outcome = if assigned {
                    eligibility(state.map(|s| s.card.status), retired.contains(nugget))
                } else {
                    Err(Skipped::NotAssigned)
                };
                match (outcome, state) {
                    (Ok(()), Some(s)) => eligible.push(s),
                    (outcome, _) => skipped.push(SkippedItem {
                        learner_id: learner.to_string(),
                        nugget_id: nugget.to_string(),
                        reason: outcome.err().unwrap_or(Skipped::NotMet),
                    }),
                }
            }
            if eligible.is_empty() {
                continue;
            }
            // Within the smallest cap the learner's nuggets are served under.
            let cap = eligible
                .iter()
                .filter_map(|s| {
                    enrolment
                        .assignments
                        .iter()
                        .find(|a| a.id == s.assignment_id)
                        .map(|a| a.settings.daily_cap.max(1) as usize)
                })
                .min()
                .unwrap_or(1)
                .min(settings.daily_max.map_or(usize::MAX, |m| m.max(1) as usize));
            let days = match spread(eligible.len(), request.days, cap, today) {
                Ok(days) => days,
                Err(needed) => {
                    if too_few.is_none_or(|(n, _, _)| needed > n) {
                        too_few = Some((needed, eligible.len(), cap));
                    }
                    continue;
                }
            };
            for (state, day) in eligible.into_iter().zip(days) {
                let due = local_midnight(tz, day);
                let card = &state.card;
                let (status, due) = match (card.status, card.due) {
                    (CardStatus::Mastered, _) | (_, None) => (CardStatus::Review, due),
                    (status, Some(current)) => (status, current.min(due)),
                };
                if Some(due) != card.due || status != card.status {
                    refresher_store::make_due(
                        conn,
                        org,
                        learner,
                        &state.nugget_id,
                        card.reps,
                        status,
                        due,
                        now,
                    )?;
                }
                items.push(ItemRow {
                    org_id: org.to_string(),
                    refresher_id: String::new(),
                    learner_id: learner.to_string(),
                    nugget_id: state.nugget_id.to_string(),
                    assignment_id: state.assignment_id.to_string(),
                    planned_on: day,
                });
            }
        }
        if let Some((needed, count, cap)) = too_few {
            return Err(ApiError::field(
                "days",
                format!("{count} nuggets at a daily cap of {cap} need at least {needed} days"),
            ));
        }
        if items.is_empty() {
            let field = match request.nuggets {
                Nuggets::Ids(_) => "nugget_ids",
                Nuggets::Topic(_) => "topic",
            };
            return Err(ApiError::field(
                field,
                "none of these learners has met these nuggets in an assignment that reaches them now",
            ));
        }
        let row = RefresherRow {
            org_id: org.to_string(),
            id: new_id(),
            created_by: caller.user_id.to_string(),
            team_id: team_id.map(|t| t.to_string()),
            topic,
            days: request.days as i32,
            created_at: now.naive_utc(),
        };
        for item in &mut items {
            item.refresher_id = row.id.clone();
        }
        refresher_store::create(conn, &row, &items)?;
        let entry = Entry::by(caller, "refresher.created", "refresher", &row.id).after(json!({
            "learners": learners.len(),
            "nuggets": nuggets.len(),
            "items": items.len(),
            "days": request.days,
            "team_id": row.team_id,
            "topic": row.topic,
        }));
        audit::record(conn, org, &entry, now)?;
        Ok::<_, ApiError>((row, items, skipped))
    })?;
    tracing::info!(refresher_id = %row.id, items = items.len(), "refresher planned");
    let mut report = report_of(conn, caller, row, items)?;
    report.skipped = skipped;
    Ok(report)
}

/// The learners a request names, each in the caller's reach; unknown ones and those outside a
/// manager's teams are the same 404, naming the field.
fn resolve_learners(
    conn: &mut DbConnection,
    caller: &Caller,
    scope: &TeamScope,
    learners: &Learners,
) -> ApiResult<(Vec<UserId>, Option<TeamId>)> {
    let org = &caller.org_id;
    match learners {
        Learners::Ids(ids) => {
            let mut out: Vec<UserId> = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let missing = || ApiError::missing(&format!("learner_ids[{i}]"), "no such learner");
                let user = match account_store::get_user(conn, org, id) {
                    Err(StoreError::NotFound) => return Err(missing()),
                    other => other?,
                };
                if !user.active {
                    return Err(missing());
                }
                if scope.teams().is_some() {
                    let teams = account_store::list_user_teams(conn, org, id)?;
                    if !teams.iter().any(|t| scope.reaches(Some(t))) {
                        return Err(missing());
                    }
                }
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
            Ok((out, None))
        }
        Learners::Team(team) => {
            let missing = || ApiError::missing("team_id", "no such team");
            match account_store::get_team(conn, org, team) {
                Err(StoreError::NotFound) => return Err(missing()),
                other => other?,
            };
            if !scope.reaches(Some(team.as_str())) {
                return Err(missing());
            }
            let all = account_store::list_teams(conn, org)?;
            let tree = TeamTree::new(all.iter().map(|t| (t.id.clone(), t.parent_id.clone())));
            let below = tree.with_descendants(&[team.to_string()]);
            let directory = analytics_store::directory(conn, org)?;
            let mut ids: Vec<UserId> = directory
                .members
                .iter()
                .filter(|m| below.contains(&m.team_id))
                .filter(|m| {
                    directory
                        .users
                        .get(&m.user_id)
                        .is_some_and(|p| p.role == Role::Learner.as_str())
                })
                .map(|m| UserId::from(m.user_id.as_str()))
                .collect();
            ids.sort();
            ids.dedup();
            let active = refresher_store::active_users(conn, org, &ids)?;
            ids.retain(|id| active.contains(id.as_str()));
            if ids.is_empty() {
                return Err(ApiError::field(
                    "team_id",
                    "the team has no active learners",
                ));
            }
            Ok((ids, Some(team.clone())))
        }
    }
}

/// The nuggets a request names: each id known in the organization, or every nugget of a topic.
fn resolve_nuggets(
    conn: &mut DbConnection,
    caller: &Caller,
    catalog: &foldhash::HashMap<String, analytics_store::NuggetInfo>,
    nuggets: &Nuggets,
) -> ApiResult<(Vec<NuggetId>, Option<String>)> {
    match nuggets {
        Nuggets::Ids(ids) => {
            let texts: Vec<&str> = ids.iter().map(NuggetId::as_str).collect();
            let known = refresher_store::existing_nuggets(conn, &caller.org_id, &texts)?;
            let mut out: Vec<NuggetId> = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                if !known.contains(id.as_str()) {
                    return Err(ApiError::missing(
                        &format!("nugget_ids[{i}]"),
                        "no such nugget",
                    ));
                }
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
            Ok((out, None))
        }
        Nuggets::Topic(topic) => {
            let mut out: Vec<NuggetId> = catalog
                .iter()
                .filter(|(_, n)| n.topic.eq_ignore_ascii_case(topic))
                .map(|(id, _)| NuggetId::from(id.as_str()))
                .collect();
            if out.is_empty() {
                return Err(ApiError::field("topic", "no nugget has this topic"));
            }
            out.sort();
            Ok((out, Some(topic.clone())))
        }
    }
}

/// The refreshers the caller may read: an admin's organization's, a manager's own.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    limit: i64,
) -> ApiResult<Vec<RefresherSummary>> {
    let mine = (caller.role == Role::Manager).then_some(&caller.user_id);
    let rows = refresher_store::list(conn, &caller.org_id, mine, limit)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let items = refresher_store::items(conn, &caller.org_id, &ids)?;
    let since = rows.iter().map(|r| r.created_at.and_utc()).min();
    let settled = match since {
        Some(since) => settle(conn, caller, &items, since)?,
        None => HashMap::new(),
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine: Vec<&ItemRow> = items.iter().filter(|i| i.refresher_id == row.id).collect();
            let answered = mine
                .iter()
                .filter(|i| answered_after(&settled, i, row.created_at.and_utc()).is_some())
                .count();
            summary(&row, &mine, answered)
        })
        .collect())
}

/// One refresher with every item; a manager reads only their own (others are a 404).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, refresher_id = %id))]
pub fn get(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &RefresherId,
) -> ApiResult<RefresherReport> {
    let row = refresher_store::get(conn, &caller.org_id, id)?;
    if caller.role == Role::Manager && row.created_by != caller.user_id.as_str() {
        return Err(StoreError::NotFound.into());
    }
    let items = refresher_store::items(conn, &caller.org_id, &[row.id.as_str()])?;
    report_of(conn, caller, row, items)
}

type Settled = HashMap<(String, String), Vec<(DateTime<Utc>, DateTime<Utc>, bool)>>;

/// Counted answers to the items' learner × nugget pairs received since `since`.
fn settle(
    conn: &mut DbConnection,
    caller: &Caller,
    items: &[ItemRow],
    since: DateTime<Utc>,
) -> ApiResult<Settled> {
    let learners: Vec<&str> = items
        .iter()
        .map(|i| i.learner_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let nuggets: Vec<&str> = items
        .iter()
        .map(|i| i.nugget_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut settled: Settled = HashMap::new();
    if items.is_empty() {
        return Ok(settled);
    }
    for a in refresher_store::answers_since(conn, &caller.org_id, &learners, &nuggets, since)? {
        settled
            .entry((a.learner_id, a.nugget_id))
            .or_default()
            .push((a.received_at, a.answered_at, a.correct));
    }
    Ok(settled)
}

/// The first counted answer to an item received after `created`.
fn answered_after(
    settled: &Settled,
    item: &ItemRow,
    created: DateTime<Utc>,
) -> Option<(DateTime<Utc>, bool)> {
    settled
        .get(&(item.learner_id.clone(), item.nugget_id.clone()))?
        .iter()
        .filter(|(received, _, _)| *received >= created)
        .min_by_key(|(_, answered, _)| *answered)
        .map(|(_, answered, correct)| (*answered, *correct))
}

fn summary(row: &RefresherRow, items: &[&ItemRow], answered: usize) -> RefresherSummary {
    RefresherSummary {
        id: RefresherId::from(row.id.as_str()),
        created_by: row.created_by.clone(),
        created_at: row.created_at.and_utc(),
        days: row.days.max(1) as u32,
        team_id: row.team_id.clone(),
        topic: row.topic.clone(),
        learners: items
            .iter()
            .map(|i| &i.learner_id)
            .collect::<HashSet<_>>()
            .len(),
        nuggets: items
            .iter()
            .map(|i| &i.nugget_id)
            .collect::<HashSet<_>>()
            .len(),
        planned: items.len(),
        answered,
        last_day: items.iter().map(|i| i.planned_on).max(),
    }
}

fn report_of(
    conn: &mut DbConnection,
    caller: &Caller,
    row: RefresherRow,
    items: Vec<ItemRow>,
) -> ApiResult<RefresherReport> {
    let created = row.created_at.and_utc();
    let settled = settle(conn, caller, &items, created)?;
    let catalog = analytics_store::nugget_catalog(conn, &caller.org_id)?;
    let directory = analytics_store::directory(conn, &caller.org_id)?;
    let shown: Vec<RefresherItem> = items
        .iter()
        .map(|i| {
            let answer = answered_after(&settled, i, created);
            RefresherItem {
                learner_id: i.learner_id.clone(),
                learner_name: directory
                    .users
                    .get(&i.learner_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                nugget_id: i.nugget_id.clone(),
                topic: catalog
                    .get(&i.nugget_id)
                    .map(|n| n.topic.clone())
                    .unwrap_or_default(),
                planned_on: i.planned_on,
                answered_at: answer.map(|a| a.0),
                correct: answer.map(|a| a.1),
            }
        })
        .collect();
    let answered = shown.iter().filter(|i| i.answered_at.is_some()).count();
    let refs: Vec<&ItemRow> = items.iter().collect();
    Ok(RefresherReport {
        summary: summary(&row, &refs, answered),
        items: shown,
        skipped: Vec::new(),
    })
}
