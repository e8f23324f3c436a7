//! HR analytics under `/api/v1/analytics/…`: analysts and admins read the whole organization,
//! managers their own teams (and teams nested below them), everyone else gets 403.
//!
//! Every view answers JSON, or CSV with `?format=csv` / `Accept: text/csv`; the heatmap, the
//! retention curve and the trends also draw SVG (`?format=svg` / `Accept: image/svg+xml`).

pub mod activity;
pub mod charts;
pub mod kpi;
pub mod proficiency;
pub mod retention;
pub mod weekly_recall;

use foldhash::{HashMap, HashMapExt};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::read_replica::ReadSource;
use crate::domain::accounts::Role;
use crate::domain::analytics::{round6, NuggetIndex};
use crate::domain::scheduler::ForgettingCurve;
use crate::domain::teams::TeamTree;
use crate::error::{ApiError, ApiResult};
use crate::store::analytics::{self as analytics_store, Directory, Filter};
use crate::store::{accounts as account_store, learning, DbConnection};

pub const ANALYSTS: &[Role] = &[Role::Analyst, Role::Admin];
pub const READERS: &[Role] = &[Role::Manager, Role::Analyst, Role::Admin];

/// How a view is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Json,
    Csv,
    Svg,
}

/// The format asked for: `format` wins over `Accept`; JSON by default.
pub fn negotiate(
    req: &HttpRequest,
    format: Option<OutputFormat>,
    svg: bool,
) -> ApiResult<OutputFormat> {
    let wanted = format.unwrap_or_else(|| {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if accept.contains("text/csv") {
            OutputFormat::Csv
        } else if svg && accept.contains("image/svg+xml") {
            OutputFormat::Svg
        } else {
            OutputFormat::Json
        }
    });
    if wanted == OutputFormat::Svg && !svg {
        return Err(ApiError::field(
            "format",
            "svg is drawn for the heatmap, the retention curve and the trends; use json or csv",
        ));
    }
    Ok(wanted)
}

/// Rows for CSV output.
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A CSV cell: empty for a missing number.
pub fn cell(v: Option<f64>) -> String {
    v.map(|x| round6(x).to_string()).unwrap_or_default()
}

/// Renders a view in the negotiated format, saying which database answered.
pub fn respond<T: Serialize>(
    format: OutputFormat,
    source: ReadSource,
    body: &T,
    table: impl FnOnce(&T) -> Table,
    svg: impl FnOnce(&T) -> String,
    name: &str,
) -> HttpResponse {
    let mut ok = HttpResponse::Ok();
    ok.insert_header(source.header());
    match format {
        OutputFormat::Json => ok.json(body),
        OutputFormat::Csv => ok
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(table(body).to_csv()),
        OutputFormat::Svg => ok.content_type("image/svg+xml").body(svg(body)),
    }
}

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
    /// pack id → (slug, title).
    pub packs: HashMap<String, (String, String)>,
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
pub fn scope(
    conn: &mut DbConnection,
    caller: &Caller,
    now: DateTime<Utc>,
    narrowing: &Narrowing,
) -> ApiResult<Scope> {
    caller.require(READERS)?;
    let org = caller.org_id.as_str();
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
                .find(|(_, (s, _))| s == slug)
                .map(|(id, _)| id.clone())
                .ok_or_else(|| ApiError::NotFound(format!("no pack {slug}")))?,
        ),
        None => None,
    };
    if let Some(a) = &narrowing.assignment_id {
        crate::store::assignments::get(conn, org, a)
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
    let index: HashMap<&str, usize> = teams
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let directory = analytics_store::directory(conn, org)?;
    let mut learner_teams: HashMap<String, Vec<usize>> = HashMap::new();
    for (team, user) in &directory.members {
        let entry = learner_teams.entry(user.clone()).or_default();
        for t in tree.with_ancestors(std::slice::from_ref(team)) {
            if let Some(&i) = index.get(t) {
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
    }
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

impl Scope {
    /// A user's display name (their e-mail when the name is empty).
    pub fn learner_name(&self, id: &str) -> String {
        match self.directory.users.get(id) {
            Some((name, email, _)) if name.is_empty() => email.clone(),
            Some((name, _, _)) => name.clone(),
            None => id.to_string(),
        }
    }

    pub fn is_learner(&self, id: &str) -> bool {
        self.directory
            .users
            .get(id)
            .is_some_and(|(_, _, role)| role == "learner")
    }

    pub fn teams_of(&self, learner: &str) -> &[usize] {
        self.learner_teams
            .get(learner)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn topic_of(&self, nugget: &str) -> Option<usize> {
        self.catalog.get(nugget).map(|n| n.topic)
    }

    /// Whether the whole organization is in view (no team restriction).
    pub fn whole_org(&self) -> bool {
        self.filter.teams.is_none()
    }
}

/// Percent-free share for JSON: rounded to six decimals.
pub fn share(v: Option<f64>) -> Option<f64> {
    v.map(round6)
}
