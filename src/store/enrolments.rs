//! Enrolments: what reaches a learner on a day (their teams, and the running assignments of
//! those teams, of the teams above them, or naming them), read from the database and cached.
//!
//! The cache keeps an enrolment while its organization's counter is unchanged.
//! An enrolment changes only with the day and with the organization's
//! `queue_epochs` counter: triggers bump it on every change to teams, memberships, assignments and
//! their named learners. Every answer and every queue build needs the enrolment, and reading it
//! is four queries, two of them over the whole organization; cached, it costs one read of the
//! counter by primary key. The counter lives in the shared database, so a change made through any
//! server reaches every server's next read.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use diesel::prelude::*;
use quick_cache::{sync::Cache, Weighter};

use super::assignments::AssignmentRow;
use super::experiments::{recorded_arms, ExperimentRow};
use super::schema::{assignment_learners, assignments, experiments, team_members, teams};
use super::{learning, DbConnection, StoreResult};
use crate::domain::assignments::{PolicyName, Settings};
use crate::domain::experiments::{Enlisted, Experiment};
use crate::domain::ids::{AssignmentId, OrgId, PackId, UserId};
use crate::domain::teams::TeamTree;

/// An assignment as the learner's queue and answers use it.
#[derive(Debug, Clone)]
pub struct LearnerAssignment {
    pub id: AssignmentId,
    pub pack_id: PackId,
    /// The assignment's settings, or those of the learner's arm while an experiment runs on it.
    pub settings: Settings,
    /// The running experiment on this assignment the learner is in.
    pub experiment: Option<Enlisted>,
}

impl From<AssignmentRow> for LearnerAssignment {
    fn from(r: AssignmentRow) -> LearnerAssignment {
        LearnerAssignment {
            id: r.id.into(),
            pack_id: r.pack_id.into(),
            settings: Settings {
                daily_cap: r.daily_cap,
                desired_retention: r.desired_retention,
                policy: PolicyName::parse(&r.policy).unwrap_or(PolicyName::Fsrs),
                fast_ms: r.fast_ms,
                slow_ms: r.slow_ms,
                starts_on: r.starts_on,
                ends_on: r.ends_on,
                target_date: r.target_date,
            },
            experiment: None,
        }
    }
}

/// What reaches a learner today: the teams they are in, and the running assignments of those
/// teams, of the teams above them, or naming them.
pub struct Enrolment {
    pub teams: Vec<String>,
    /// Oldest first.
    pub assignments: Vec<LearnerAssignment>,
}

/// Every query here has a fixed shape, so each connection prepares it once: this runs for
/// every queue read and every answer. Filtering by team happens in memory, over the
/// organization's teams and running assignments (tens to hundreds of rows).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn enrolment(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    today: NaiveDate,
) -> StoreResult<Enrolment> {
    let teams: Vec<String> = team_members::table
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq(learner_id))
        .select(team_members::team_id)
        .load(conn)?;
    let org = OrgView::read(conn, org_id, today)?;
    let named: Vec<AssignmentId> = assignment_learners::table
        .filter(assignment_learners::org_id.eq(org_id))
        .filter(assignment_learners::learner_id.eq(learner_id))
        .select(assignment_learners::assignment_id)
        .load::<String>(conn)?
        .into_iter()
        .map(AssignmentId::from)
        .collect();
    let recorded = org.recorded_arms(conn, org_id, &[learner_id.as_str()])?;
    Ok(org.enrol(learner_id.as_str(), teams, &named, &recorded))
}

/// The enrolments of many learners at once: the organization's teams and running assignments
/// read once, memberships and named assignments in one query each. A pass over every learner
/// of a large organization reads in proportion to its size, not to its size times its teams.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id, learners = learners.len()))]
pub fn enrolments(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learners: &[&str],
    today: NaiveDate,
) -> StoreResult<HashMap<String, Enrolment>> {
    let org = OrgView::read(conn, org_id, today)?;
    let mut teams: HashMap<String, Vec<String>> = HashMap::new();
    for (user, team) in team_members::table
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq_any(learners))
        .select((team_members::user_id, team_members::team_id))
        .load::<(String, String)>(conn)?
    {
        teams.entry(user).or_default().push(team);
    }
    let mut named: HashMap<String, Vec<AssignmentId>> = HashMap::new();
    for (user, assignment) in assignment_learners::table
        .filter(assignment_learners::org_id.eq(org_id))
        .filter(assignment_learners::learner_id.eq_any(learners))
        .select((
            assignment_learners::learner_id,
            assignment_learners::assignment_id,
        ))
        .load::<(String, String)>(conn)?
    {
        named.entry(user).or_default().push(assignment.into());
    }
    let recorded = org.recorded_arms(conn, org_id, learners)?;
    Ok(learners
        .iter()
        .map(|l| {
            let enrolment = org.enrol(
                l,
                teams.remove(*l).unwrap_or_default(),
                named.get(*l).map_or(&[][..], Vec::as_slice),
                &recorded,
            );
            (l.to_string(), enrolment)
        })
        .collect())
}

/// What every enrolment in an organization is made from on a day: its team tree and running
/// assignments (oldest first), indexed by team and by id, so making one learner's enrolment
/// costs in proportion to what reaches them.
struct OrgView {
    tree: TeamTree,
    running: Vec<LearnerAssignment>,
    /// The experiment running on each running assignment that has one, by its index.
    experiments: HashMap<usize, Experiment>,
    by_team: HashMap<String, Vec<usize>>,
    by_id: HashMap<AssignmentId, usize>,
}

impl OrgView {
    fn read(conn: &mut DbConnection, org_id: &OrgId, today: NaiveDate) -> StoreResult<OrgView> {
        let tree = TeamTree::new(
            teams::table
                .filter(teams::org_id.eq(org_id))
                .select((teams::id, teams::parent_id))
                .load::<(String, Option<String>)>(conn)?,
        );
        let mut view = OrgView {
            tree,
            running: Vec::new(),
            experiments: HashMap::new(),
            by_team: HashMap::new(),
            by_id: HashMap::new(),
        };
        for (i, running) in running(conn, org_id, today)?.into_iter().enumerate() {
            let a = running.assignment;
            if let Some(team) = running.team {
                view.by_team.entry(team).or_default().push(i);
            }
            if let Some(e) = running.experiment {
                view.experiments.insert(i, e);
            }
            view.by_id.insert(a.id.clone(), i);
            view.running.push(a);
        }
        Ok(view)
    }

    /// The arms recorded for `learners` in the running experiments: none to read (and no query)
    /// when no experiment runs.
    fn recorded_arms(
        &self,
        conn: &mut DbConnection,
        org_id: &OrgId,
        learners: &[&str],
    ) -> StoreResult<HashMap<(String, String), String>> {
        if self.experiments.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<&str> = self.experiments.values().map(|e| e.id.as_str()).collect();
        recorded_arms(conn, org_id, &ids, learners)
    }

    /// The enrolment of `learner` in `teams` and named by the assignments `named`; an
    /// assignment with a running experiment carries the learner's arm (`recorded`, else drawn).
    fn enrol(
        &self,
        learner: &str,
        teams: Vec<String>,
        named: &[AssignmentId],
        recorded: &HashMap<(String, String), String>,
    ) -> Enrolment {
        let mut reached: Vec<usize> = self
            .tree
            .with_ancestors(&teams)
            .into_iter()
            .filter_map(|t| self.by_team.get(t))
            .flatten()
            .copied()
            .chain(named.iter().filter_map(|id| self.by_id.get(id).copied()))
            .collect();
        reached.sort_unstable();
        reached.dedup();
        let assignments = reached
            .into_iter()
            .map(|i| {
                let a = self.running[i].clone();
                match self.experiments.get(&i) {
                    Some(e) => {
                        let key = (e.id.to_string(), learner.to_string());
                        let (arm, enlisted) = Enlisted::of(e, learner, recorded.get(&key));
                        LearnerAssignment {
                            settings: arm.settings(&a.settings),
                            experiment: Some(enlisted),
                            ..a
                        }
                    }
                    None => a,
                }
            })
            .collect();
        Enrolment { teams, assignments }
    }
}

/// A running assignment, the team it is for, and the experiment running on it.
struct Running {
    team: Option<String>,
    assignment: LearnerAssignment,
    experiment: Option<Experiment>,
}

/// The organization's assignments running on `today`, oldest first, each with the team it is
/// for and the experiment running on it (a fixed-shape statement: it runs for every queue read
/// and answer, so the experiments come in the same statement, not another).
fn running(conn: &mut DbConnection, org_id: &OrgId, today: NaiveDate) -> StoreResult<Vec<Running>> {
    let rows: Vec<(AssignmentRow, Option<ExperimentRow>)> = assignments::table
        .left_join(
            experiments::table.on(experiments::org_id
                .eq(assignments::org_id)
                .and(experiments::assignment_id.eq(assignments::id))
                .and(experiments::stopped_at.is_null())),
        )
        .filter(assignments::org_id.eq(org_id))
        .filter(assignments::ended_at.is_null())
        .filter(assignments::starts_on.le(today))
        .filter(
            assignments::ends_on
                .is_null()
                .or(assignments::ends_on.ge(today)),
        )
        .order(assignments::created_at.asc())
        .select((
            AssignmentRow::as_select(),
            Option::<ExperimentRow>::as_select(),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(r, e)| {
            Ok(Running {
                team: r.team_id.clone(),
                assignment: r.into(),
                experiment: e.map(ExperimentRow::into_domain).transpose()?,
            })
        })
        .collect()
}

/// One assignment as a learner's answers use it, running or not (a memory state keeps the
/// assignment it started under).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn assignment_for_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &AssignmentId,
) -> StoreResult<LearnerAssignment> {
    let row: AssignmentRow = assignments::table
        .find((org_id, id))
        .select(AssignmentRow::as_select())
        .first(conn)?;
    Ok(row.into())
}

struct Cached {
    /// The organization's counter, read before the enrolment.
    org_epoch: i64,
    day: NaiveDate,
    enrolment: Arc<Enrolment>,
}

#[derive(Clone)]
struct Size;

impl Weighter<(String, String), Arc<Cached>> for Size {
    fn weight(&self, key: &(String, String), cached: &Arc<Cached>) -> u64 {
        let e = &cached.enrolment;
        let teams: usize = e.teams.iter().map(|t| t.len() + 24).sum();
        let assignments: usize = e
            .assignments
            .iter()
            .map(|a| a.id.as_str().len() + a.pack_id.as_str().len() + 160)
            .sum();
        (key.0.len() + key.1.len() + teams + assignments + 128) as u64
    }
}

/// A cache by (organization, learner) holding at most `max_bytes` as `weighter` counts them, the
/// least used dropped first; its table is sized up front for entries of `typical_bytes`.
pub(crate) fn per_learner_cache<V: Clone, W: Weighter<(String, String), V> + Clone>(
    max_bytes: usize,
    typical_bytes: usize,
    weighter: W,
) -> Cache<(String, String), V, W> {
    Cache::with_weighter(
        (max_bytes / typical_bytes).max(16),
        max_bytes.max(1) as u64,
        weighter,
    )
}

/// Enrolments by (organization, learner), the least used dropped first past `max_bytes`.
pub struct EnrolmentCache(Cache<(String, String), Arc<Cached>, Size>);

impl EnrolmentCache {
    /// Expected size of an enrolment, to size the table up front.
    const TYPICAL_BYTES: usize = 512;

    pub fn new(max_bytes: usize) -> Self {
        EnrolmentCache(per_learner_cache(max_bytes, Self::TYPICAL_BYTES, Size))
    }

    /// The learner's enrolment on `day`. The counter is read before the enrolment, so a change
    /// committed between the two reads only makes a cached enrolment newer than its counter (read
    /// again next time), never older; inside one snapshot the two agree exactly.
    pub fn enrolment(
        &self,
        conn: &mut DbConnection,
        org_id: &OrgId,
        learner_id: &UserId,
        day: NaiveDate,
    ) -> StoreResult<Arc<Enrolment>> {
        let (org_epoch, _) =
            learning::queue_epochs(conn, &[(org_id.as_str(), learner_id.as_str())])?[0];
        let key = (org_id.to_string(), learner_id.to_string());
        if let Some(cached) = self.0.get(&key) {
            if cached.org_epoch == org_epoch && cached.day == day {
                return Ok(cached.enrolment.clone());
            }
        }
        let enrolment = Arc::new(enrolment(conn, org_id, learner_id, day)?);
        self.0.insert(
            key,
            Arc::new(Cached {
                org_epoch,
                day,
                enrolment: enrolment.clone(),
            }),
        );
        Ok(enrolment)
    }
}
