//! Which teams a caller's role reaches. Analysts, authors and admins act on the whole
//! organization; managers on their own teams and the teams nested below them. This is a check on
//! data, after the role itself was checked: every flow that scopes managers asks here.

use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::store::{accounts as account_store, DbConnection, StoreResult};

/// The teams a caller may see and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamScope {
    Organization,
    /// A manager's teams, with every team nested below them.
    Teams(Vec<String>),
}

impl TeamScope {
    /// The caller's scope: their teams when they are a manager, else the whole organization.
    pub fn of(conn: &mut DbConnection, caller: &Caller) -> StoreResult<TeamScope> {
        Ok(match caller.role {
            Role::Manager => TeamScope::Teams(account_store::team_scope(
                conn,
                &caller.org_id,
                &caller.user_id,
            )?),
            _ => TeamScope::Organization,
        })
    }

    /// The teams, or `None` for the whole organization.
    pub fn teams(&self) -> Option<&[String]> {
        match self {
            TeamScope::Organization => None,
            TeamScope::Teams(teams) => Some(teams),
        }
    }

    /// Whether the scope reaches what belongs to `team` (`None`: to no team, only learners).
    pub fn reaches(&self, team: Option<&str>) -> bool {
        match self {
            TeamScope::Organization => true,
            TeamScope::Teams(teams) => team.is_some_and(|t| teams.iter().any(|s| s == t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TeamScope;

    #[test]
    fn managers_reach_their_teams_only() {
        let scope = TeamScope::Teams(vec!["north".into(), "north-east".into()]);
        assert!(scope.reaches(Some("north-east")));
        assert!(!scope.reaches(Some("south")));
        assert!(!scope.reaches(None));
        assert!(TeamScope::Organization.reaches(None));
        assert!(TeamScope::Organization.reaches(Some("south")));
        assert_eq!(TeamScope::Organization.teams(), None);
    }
}
