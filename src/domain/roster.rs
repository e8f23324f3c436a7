//! Roster files: the people of an organization as a CSV an HR system exports
//! (`email,name,role,team,manager_email`), and the changes that make the organization match it.
//!
//! The roster is read whole and every problem is reported with its line before anything is
//! planned, and the plan is made against the organization as it is, so an import is all or
//! nothing and a dry run shows exactly what applying would do. Rules:
//! - `email` and `name` are required; `role` is learner when empty; `team` is a path of team
//!   names (`EMEA/Benelux`), made where missing, nested by `/`; `manager_email` names the
//!   person who manages this one: they are put in this person's team (a manager reaches the
//!   teams they are a member of), so the row needs a team, and they must be in the file or in
//!   the organization already.
//! - For a person the roster gives any team to (their own, or the teams of the people they
//!   manage), those are their teams: memberships elsewhere end. A person with no team in the
//!   roster keeps their teams.
//! - A deactivated person listed again is reactivated; people of the organization the roster
//!   leaves out are deactivated only when asked (`deactivate_missing`).

use std::collections::{BTreeSet, HashMap};

use csv::{ReaderBuilder, Trim};
use serde::Serialize;
use utoipa::ToSchema;

use super::accounts::{person_name, Email, Role};
use super::ids::{TeamId, UserId};
use super::spreadsheet::restore_cell;
use super::validation::{text, FieldError};

const COLUMNS: [&str; 5] = ["email", "name", "role", "team", "manager_email"];

/// One person of the roster, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterRow {
    /// The line of the file (the header is line 1).
    pub line: usize,
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// Team names from the top down; empty for no team.
    pub team: Vec<String>,
    pub manager_email: Option<Email>,
}

fn at(line: usize, field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        line: Some(line),
    }
}

/// Reads a roster: every row checked, every problem reported with its line and column.
pub fn parse(bytes: &[u8]) -> Result<Vec<RosterRow>, Vec<FieldError>> {
    let mut reader = ReaderBuilder::new()
        .trim(Trim::All)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![at(1, "header", e.to_string())]),
    };
    let mut errors = Vec::new();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            errors.push(at(
                1,
                "header",
                format!(
                    "unknown column {h:?}: the columns are {}",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    for required in ["email", "name"] {
        if !headers.iter().any(|h| h == required) {
            errors.push(at(
                1,
                "header",
                format!("the column {required} is required"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(at(line, "row", e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |name: &str| -> String {
            column(name)
                .and_then(|i| record.get(i))
                .map(|c| restore_cell(c).into_owned())
                .unwrap_or_default()
        };
        match parse_row(line, cell) {
            Ok(row) => {
                if let Some(first) = seen.insert(row.email.as_str().to_string(), line) {
                    errors.push(at(line, "email", format!("is also on line {first}")));
                }
                rows.push(row);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// The value of a check, or its error recorded with the line.
fn keep<T>(errors: &mut Vec<FieldError>, line: usize, result: Result<T, FieldError>) -> Option<T> {
    result
        .map_err(|e| {
            errors.push(FieldError {
                line: Some(line),
                ..e
            })
        })
        .ok()
}

fn parse_row(line: usize, cell: impl Fn(&str) -> String) -> Result<RosterRow, Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = keep(&mut errors, line, Email::parse("email", &cell("email")));
    let name = keep(&mut errors, line, person_name("name", &cell("name")));
    let role_cell = cell("role").to_lowercase();
    let role = if role_cell.is_empty() {
        Some(Role::Learner)
    } else {
        keep(
            &mut errors,
            line,
            Role::parse(&role_cell).ok_or_else(|| {
                FieldError::new("role", "must be learner, author, manager, analyst or admin")
            }),
        )
    };
    let team_cell = cell("team");
    let team: Option<Vec<String>> = if team_cell.is_empty() {
        Some(Vec::new())
    } else {
        team_cell
            .split('/')
            .map(|segment| keep(&mut errors, line, text("team", segment, 1, 120)))
            .collect()
    };
    let manager_cell = cell("manager_email");
    let manager_email = if manager_cell.is_empty() {
        Some(None)
    } else {
        keep(
            &mut errors,
            line,
            Email::parse("manager_email", &manager_cell),
        )
        .map(Some)
    };
    if let (Some(Some(_)), Some(team)) = (&manager_email, &team) {
        if team.is_empty() {
            errors.push(at(
                line,
                "manager_email",
                "needs a team: the manager is put in this person's team",
            ));
        }
    }
    if let (Some(Some(manager)), Some(email)) = (&manager_email, &email) {
        if manager == email {
            errors.push(at(line, "manager_email", "is this person's own address"));
        }
    }
    match (email, name, role, team, manager_email) {
        (Some(email), Some(name), Some(role), Some(team), Some(manager_email))
            if errors.is_empty() =>
        {
            Ok(RosterRow {
                line,
                email,
                name,
                role,
                team,
                manager_email,
            })
        }
        _ => Err(errors),
    }
}

/// A person of the organization as the plan sees them.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// The teams they are a direct member of.
    pub teams: BTreeSet<TeamId>,
}

/// A team of the organization as the plan sees it.
#[derive(Debug, Clone)]
pub struct ExistingTeam {
    pub id: TeamId,
    pub name: String,
    pub parent_id: Option<TeamId>,
}

/// A team the import makes: its name, and its parent as a path of the roster (an existing
/// team or one made before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NewTeam {
    /// The full path, e.g. `EMEA/Benelux`.
    pub path: String,
    pub name: String,
    /// The parent's path; none at the top.
    pub parent: Option<String>,
}

/// A person the import changes or keeps, by their line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Listed {
    /// The line of the roster; none for people the roster leaves out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub email: String,
    /// What changes: `name`, `role`, `active`, `teams`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// A team a person must be in: an existing team's id, or a path of a team the import makes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeamRef {
    Existing(TeamId),
    New(String),
}

/// One person's part of the plan.
#[derive(Debug, Clone)]
pub struct PersonPlan {
    pub line: usize,
    pub row: RosterRow,
    /// Their id when they exist.
    pub existing: Option<Member>,
    /// Their teams after the import, when the roster gives them any.
    pub teams: Option<BTreeSet<TeamRef>>,
    pub changes: Vec<String>,
}

/// What an import does.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub new_teams: Vec<NewTeam>,
    pub people: Vec<PersonPlan>,
    /// Active people the roster leaves out, to deactivate.
    pub deactivate: Vec<Member>,
}

/// The roster's effect on the organization, as a dry run shows and an import reports it.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RosterDiff {
    pub dry_run: bool,
    pub created: Vec<Listed>,
    pub updated: Vec<Listed>,
    pub deactivated: Vec<Listed>,
    pub unchanged: Vec<Listed>,
    /// Teams made for the roster's paths, parents first.
    pub teams_created: Vec<NewTeam>,
}

impl Plan {
    pub fn diff(&self, dry_run: bool) -> RosterDiff {
        let mut diff = RosterDiff {
            dry_run,
            teams_created: self.new_teams.clone(),
            ..Default::default()
        };
        for p in &self.people {
            let listed = Listed {
                line: Some(p.line),
                email: p.row.email.as_str().to_string(),
                changes: p.changes.clone(),
            };
            match (&p.existing, p.changes.is_empty()) {
                (None, _) => diff.created.push(Listed {
                    changes: Vec::new(),
                    ..listed
                }),
                (Some(_), true) => diff.unchanged.push(listed),
                (Some(_), false) => diff.updated.push(listed),
            }
        }
        diff.deactivated = self
            .deactivate
            .iter()
            .map(|m| Listed {
                line: None,
                email: m.email.clone(),
                changes: vec!["active".into()],
            })
            .collect();
        diff
    }
}

/// Plans the import of `rows` into an organization with `members` and `teams`. `keep` is a
/// person never deactivated for being left out (the admin importing). Errors name their line.
pub fn plan(
    rows: &[RosterRow],
    members: &[Member],
    teams: &[ExistingTeam],
    deactivate_missing: bool,
    keep: Option<&UserId>,
) -> Result<Plan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut plan = Plan::default();
    let by_email: HashMap<&str, &Member> = members.iter().map(|m| (m.email.as_str(), m)).collect();
    let by_name: HashMap<String, &ExistingTeam> =
        teams.iter().map(|t| (t.name.to_lowercase(), t)).collect();
    let mut new_paths: HashMap<String, String> = HashMap::new();
    let mut team_of_row: Vec<Option<TeamRef>> = Vec::new();

    for row in rows {
        if row.team.is_empty() {
            team_of_row.push(None);
            continue;
        }
        let mut parent: Option<TeamRef> = None;
        let mut path = String::new();
        let mut failed = false;
        for name in &row.team {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(name);
            let here = match by_name.get(&name.to_lowercase()) {
                Some(existing) => {
                    let parent_ok = match (&parent, &existing.parent_id) {
                        (None, _) => true,
                        (Some(TeamRef::Existing(p)), Some(actual)) => p == actual,
                        _ => false,
                    };
                    if !parent_ok {
                        errors.push(at(
                            row.line,
                            "team",
                            format!("the team {name:?} exists under another team; team names are unique in an organization"),
                        ));
                        failed = true;
                        break;
                    }
                    TeamRef::Existing(existing.id.clone())
                }
                None => {
                    let key = name.to_lowercase();
                    match new_paths.get(&key) {
                        Some(known) if known.to_lowercase() != path.to_lowercase() => {
                            errors.push(at(
                                row.line,
                                "team",
                                format!("the team {name:?} is also under another path ({known}); team names are unique in an organization"),
                            ));
                            failed = true;
                            break;
                        }
                        Some(known) => TeamRef::New(known.clone()),
                        None => {
                            new_paths.insert(key, path.clone());
                            plan.new_teams.push(NewTeam {
                                path: path.clone(),
                                name: name.clone(),
                                parent: match &parent {
                                    Some(TeamRef::New(p)) => Some(p.clone()),
                                    Some(TeamRef::Existing(id)) => {
                                        teams.iter().find(|t| &t.id == id).map(|t| t.name.clone())
                                    }
                                    None => None,
                                },
                            });
                            TeamRef::New(path.clone())
                        }
                    }
                }
            };
            parent = Some(here);
        }
        team_of_row.push(if failed { None } else { parent });
    }

    // Each person's teams: their own row's, and the teams of the people they manage.
    let in_file: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.email.as_str(), i))
        .collect();
    let mut teams_of: HashMap<String, BTreeSet<TeamRef>> = HashMap::new();
    for (row, team) in rows.iter().zip(&team_of_row) {
        let Some(team) = team else { continue };
        teams_of
            .entry(row.email.as_str().to_string())
            .or_default()
            .insert(team.clone());
        if let Some(manager) = &row.manager_email {
            if !in_file.contains_key(manager.as_str()) && !by_email.contains_key(manager.as_str()) {
                errors.push(at(
                    row.line,
                    "manager_email",
                    "names nobody in the file or in the organization",
                ));
                continue;
            }
            teams_of
                .entry(manager.as_str().to_string())
                .or_default()
                .insert(team.clone());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    for row in rows {
        let existing = by_email.get(row.email.as_str()).map(|m| (*m).clone());
        let teams = teams_of.remove(row.email.as_str());
        let mut changes = Vec::new();
        if let Some(m) = &existing {
            if m.name != row.name {
                changes.push("name".into());
            }
            if m.role != row.role {
                changes.push("role".into());
            }
            if !m.active {
                changes.push("active".into());
            }
            if let Some(teams) = &teams {
                let now: BTreeSet<TeamRef> =
                    m.teams.iter().cloned().map(TeamRef::Existing).collect();
                if &now != teams {
                    changes.push("teams".into());
                }
            }
        }
        plan.people.push(PersonPlan {
            line: row.line,
            row: row.clone(),
            existing,
            teams,
            changes,
        });
    }
    // Managers listed only as managers: their teams change too.
    for (email, teams) in teams_of {
        if let Some(m) = by_email.get(email.as_str()) {
            let now: BTreeSet<TeamRef> = m.teams.iter().cloned().map(TeamRef::Existing).collect();
            if now != teams {
                plan.people.push(PersonPlan {
                    line: 0,
                    row: RosterRow {
                        line: 0,
                        email: Email::parse("email", &m.email).expect("a stored address"),
                        name: m.name.clone(),
                        role: m.role,
                        team: Vec::new(),
                        manager_email: None,
                    },
                    existing: Some((*m).clone()),
                    teams: Some(teams),
                    changes: vec!["teams".into()],
                });
            }
        }
    }
    if deactivate_missing {
        plan.deactivate = members
            .iter()
            .filter(|m| m.active && !in_file.contains_key(m.email.as_str()))
            .filter(|m| keep != Some(&m.id))
            .cloned()
            .collect();
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "email,name,role,team,manager_email\n";

    fn rows(body: &str) -> Vec<RosterRow> {
        parse(format!("{HEADER}{body}").as_bytes()).unwrap()
    }

    fn member(id: &str, email: &str, role: Role, teams: &[&str]) -> Member {
        Member {
            id: id.into(),
            email: email.into(),
            name: "Same Name".into(),
            role,
            active: true,
            teams: teams.iter().map(|t| TeamId::from(*t)).collect(),
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let body = "not-an-address,Ann,,,\nbob@example.com,,king,EMEA//x,bob@example.com\nann@example.com,Ann,,,boss@example.com\ncal@example.com,Cal,,,\nCal@example.com,Cal again,,,\n";
        let errors = parse(format!("{HEADER}{body}").as_bytes()).unwrap_err();
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line.unwrap(), e.field.as_str()))
            .collect();
        assert!(found.contains(&(2, "email")), "{found:?}");
        assert!(found.contains(&(3, "name")));
        assert!(found.contains(&(3, "role")));
        assert!(found.contains(&(3, "team")));
        assert!(found.contains(&(3, "manager_email")));
        assert!(
            found.contains(&(4, "manager_email")),
            "a manager needs a team"
        );
        assert!(found.contains(&(6, "email")), "a repeated address");
        let header = parse(b"mail,name\n").unwrap_err();
        assert_eq!(header[0].line, Some(1));
    }

    #[test]
    fn the_plan_makes_nested_teams_and_puts_managers_in_their_reports_teams() {
        let rows = rows(
            "ann@example.com,Ann,,EMEA/Benelux,mia@example.com\nmia@example.com,Mia,manager,EMEA,\ncal@example.com,'=Cal,,,\n",
        );
        assert_eq!(rows[2].name, "=Cal", "the export's formula guard is undone");
        let plan = plan(&rows, &[], &[], false, None).unwrap();
        let paths: Vec<&str> = plan.new_teams.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(paths, ["EMEA", "EMEA/Benelux"]);
        assert_eq!(plan.new_teams[1].parent.as_deref(), Some("EMEA"));
        let mia = plan
            .people
            .iter()
            .find(|p| p.row.email.as_str() == "mia@example.com")
            .unwrap();
        assert_eq!(
            mia.teams.clone().unwrap(),
            [
                TeamRef::New("EMEA".into()),
                TeamRef::New("EMEA/Benelux".into())
            ]
            .into()
        );
        let diff = plan.diff(true);
        assert_eq!(diff.created.len(), 3);
    }

    #[test]
    fn existing_people_are_updated_kept_or_deactivated() {
        let teams = [ExistingTeam {
            id: "t1".into(),
            name: "EMEA".into(),
            parent_id: None,
        }];
        let members = [
            member("u1", "ann@example.com", Role::Learner, &["t1"]),
            member("u2", "bob@example.com", Role::Learner, &[]),
            member("u3", "gone@example.com", Role::Learner, &[]),
            member("me", "admin@example.com", Role::Admin, &[]),
        ];
        let rows = rows("ann@example.com,Same Name,,EMEA,\nbob@example.com,Bob,author,,\n");
        let diff = plan(&rows, &members, &teams, true, Some(&UserId::from("me")))
            .unwrap()
            .diff(false);
        assert_eq!(diff.unchanged.len(), 1);
        assert_eq!(diff.updated[0].changes, ["name", "role"]);
        let gone: Vec<&str> = diff.deactivated.iter().map(|l| l.email.as_str()).collect();
        assert_eq!(gone, ["gone@example.com"]);
    }

    #[test]
    fn a_team_under_another_parent_or_an_unknown_manager_is_an_error() {
        let teams = [
            ExistingTeam {
                id: "t1".into(),
                name: "EMEA".into(),
                parent_id: None,
            },
            ExistingTeam {
                id: "t2".into(),
                name: "Benelux".into(),
                parent_id: None,
            },
        ];
        let rows =
            rows("ann@example.com,Ann,,EMEA/Benelux,\nbob@example.com,Bob,,EMEA,who@example.com\n");
        let errors = plan(&rows, &[], &teams, false, None).unwrap_err();
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line.unwrap(), e.field.as_str()))
            .collect();
        assert_eq!(found, [(2, "team"), (3, "manager_email")]);
    }
}
