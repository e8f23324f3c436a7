//! Who may see what: the caller's scope in the organization, resolved once per view with the
//! names and maps the view groups by.
//!
//! Analysts and admins read the whole organization; managers read their own teams and every team
//! nested below them (a team's figures include its sub-teams' sellers). A view's `team_id`,
//! `pack` and `assignment_id` narrow that further; ids the caller may not see are 404s, like
//! another organization's.

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::analytics::{NuggetIndex, TopicFilter};
use crate::domain::ids::AssignmentId;
use crate::domain::scheduler::ForgettingCurve;
use crate::domain::teams::TeamTree;
use crate::error::{ApiError, ApiResult};
use crate::store::analytics::{self as analytics_store, Directory, Filter, PackName};
use crate::store::DbConnection;
use crate::store::{accounts as account_store, assignments as assignment_store, learning};

/// Who reads analytics.
pub const READERS: &[Role] = &[Role::Manager, Role::Analyst, Role::Admin];

/// A team that can be a group in a view.
#[derive(Debug, Clone)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
}

/// What the caller may see, with the names and maps views need.
pub struct Scope {
    pub now: DateTime<Utc>,
    pub curve: ForgettingCurve,
    /// The store filter: learners in these teams (`None`: the whole organization).
    pub filter: Filter,
    /// Teams that are groups, in name order.
    pub teams: Vec<TeamRef>,
    /// learner → indexes into `teams` of every visible team they count in: their own teams and
    /// every team above them (a region counts its branches' sellers).
    pub learner_teams: HashMap<String, Vec<usize>>,
    /// Every team of the organization, nested.
    pub tree: TeamTree,
    pub directory: Directory,
    /// The organization's nuggets with their topics and packs numbered.
    pub catalog: NuggetIndex,
    /// The organization's packs by id.
    pub packs: HashMap<String, PackName>,
}

/// Filters a view may take beside the caller's scope.
#[derive(Debug, Default, Clone)]
pub struct Narrowing {
    pub team_id: Option<String>,
    /// Pack slug.
    pub pack: Option<String>,
    pub assignment_id: Option<String>,
}

/// Checks the role and resolves the caller's scope and the view's filters. Unknown (or
/// out-of-scope) team, pack and assignment ids are 404s, like other organizations' ids.
#[tracing::instrument(level = "debug", skip_all, fields(org = %caller.org_id))]
pub fn scope(
    conn: &mut DbConnection,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
) -> ApiResult<Scope> {
    caller.require(READERS)?;
    let org = &caller.org_id;
    let all_teams = account_store::list_teams(conn, org)?;
    let tree = TeamTree::new(
        all_teams
            .iter()
            .map(|t| (t.id.clone(), t.parent_id.clone())),
    );
    let mut visible: Option<Vec<String>> = match caller.role {
        Role::Manager => Some(account_store::team_scope(conn, org, &caller.user_id)?),
        _ => None,
    };
    if let Some(team) = &narrowing.team_id {
        let allowed = all_teams.iter().any(|t| &t.id == team)
            && visible.as_ref().is_none_or(|v| v.contains(team));
        if !allowed {
            return Err(ApiError::NotFound(format!("no team {team}")));
        }
        visible = Some(tree.with_descendants(std::slice::from_ref(team)));
    }
    let packs = analytics_store::packs(conn, org)?;
    let pack_id = match &narrowing.pack {
        Some(slug) => Some(
            packs
                .iter()
                .find(|(_, p)| &p.slug == slug)
                .map(|(id, _)| id.clone())
                .ok_or_else(|| ApiError::NotFound(format!("no pack {slug}")))?,
        ),
        None => None,
    };
    if let Some(a) = &narrowing.assignment_id {
        assignment_store::get(conn, org, &AssignmentId::from(a.as_str()))
            .map_err(|_| ApiError::NotFound(format!("no assignment {a}")))?;
    }
    let mut teams: Vec<TeamRef> = all_teams
        .iter()
        .filter(|t| visible.as_ref().is_none_or(|v| v.contains(&t.id)))
        .map(|t| TeamRef {
            id: t.id.clone(),
            name: t.name.clone(),
        })
        .collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    let directory = analytics_store::directory(conn, org)?;
    let learner_teams = learner_teams(&directory, &tree, &teams);
    tracing::debug!(
        teams = teams.len(),
        whole_org = visible.is_none(),
        "scope resolved"
    );
    let parameters = learning::fsrs_parameters(conn, org)?;
    let catalog = analytics_store::nugget_catalog(conn, org)?;
    let catalog = NuggetIndex::new(
        catalog
            .iter()
            .map(|(id, n)| (id.as_str(), n.pack_id.as_str(), n.topic.as_str())),
    );
    Ok(Scope {
        now,
        curve: ForgettingCurve::new(&parameters),
        filter: Filter {
            teams: visible,
            pack_id,
            assignment_id: narrowing.assignment_id.clone(),
            learner_id: None,
        },
        teams,
        learner_teams,
        tree,
        catalog,
        packs,
        directory,
    })
}

/// learner → indexes into `teams` of the visible teams they count in: each team they are a
/// member of and every team above it.
fn learner_teams(
    directory: &Directory,
    tree: &TeamTree,
    teams: &[TeamRef],
) -> HashMap<String, Vec<usize>> {
    let index: HashMap<&str, usize> = teams
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut learner_teams: HashMap<String, Vec<usize>> = HashMap::new();
    for m in &directory.members {
        let entry = learner_teams.entry(m.user_id.clone()).or_default();
        for t in tree.with_ancestors(std::slice::from_ref(&m.team_id)) {
            if let Some(&i) = index.get(t) {
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
    }
    learner_teams
}

impl Scope {
    /// A user's display name (their e-mail when the name is empty).
    pub fn learner_name(&self, id: &str) -> String {
        match self.directory.users.get(id) {
            Some(p) if p.name.is_empty() => p.email.clone(),
            Some(p) => p.name.clone(),
            None => id.to_string(),
        }
    }

    pub fn is_learner(&self, id: &str) -> bool {
        self.directory
            .users
            .get(id)
            .is_some_and(|p| p.role == "learner")
    }

    pub fn teams_of(&self, learner: &str) -> &[usize] {
        self.learner_teams
            .get(learner)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The topic number of a nugget the view's `topic` filter keeps; `None` for one it leaves
    /// out or does not know.
    pub fn kept_topic(&self, nugget: &str, topic: TopicFilter) -> Option<usize> {
        self.catalog
            .get(nugget)
            .map(|n| n.topic)
            .filter(|&t| topic.keeps(t))
    }

    /// Whether the whole organization is in view (no team restriction).
    pub fn whole_org(&self) -> bool {
        self.filter.teams.is_none()
    }
}
