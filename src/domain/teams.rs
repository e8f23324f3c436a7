//! The organization's team tree: teams nest, and what reaches a team (an assignment, a manager's
//! scope) reaches the teams below it. Every walk over the tree is here, so loops in stored data
//! (a parent that points back down) end the same way everywhere: each team is visited once.

use std::collections::HashMap;

/// Every team of an organization with its parent.
pub struct TeamTree {
    parents: HashMap<String, Option<String>>,
}

impl TeamTree {
    /// The tree from `(team, parent)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, Option<String>)>) -> TeamTree {
        TeamTree {
            parents: pairs.into_iter().collect(),
        }
    }

    /// The team's parent, if it has one.
    pub fn parent(&self, team: &str) -> Option<&str> {
        self.parents.get(team).and_then(|p| p.as_deref())
    }

    /// `teams` and every team above them, each once, nearest first per team.
    pub fn with_ancestors<'a>(&'a self, teams: &'a [String]) -> Vec<&'a str> {
        let mut reached: Vec<&str> = Vec::new();
        for team in teams {
            let mut cursor = Some(team.as_str());
            while let Some(t) = cursor {
                if reached.contains(&t) {
                    break;
                }
                reached.push(t);
                cursor = self.parent(t);
            }
        }
        reached
    }

    /// `roots` and every team nested below them, each once, roots first.
    pub fn with_descendants(&self, roots: &[String]) -> Vec<String> {
        let mut scope: Vec<String> = roots.to_vec();
        let mut i = 0;
        while i < scope.len() {
            let parent = scope[i].clone();
            for (id, p) in &self.parents {
                if p.as_deref() == Some(parent.as_str()) && !scope.contains(id) {
                    scope.push(id.clone());
                }
            }
            i += 1;
        }
        scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> TeamTree {
        TeamTree::new([
            ("emea".to_string(), None),
            ("benelux".to_string(), Some("emea".to_string())),
            ("nl".to_string(), Some("benelux".to_string())),
            ("apac".to_string(), None),
            // A loop in stored data ends the walk instead of spinning.
            ("a".to_string(), Some("b".to_string())),
            ("b".to_string(), Some("a".to_string())),
        ])
    }

    #[test]
    fn ancestors_reach_the_root_once() {
        let t = tree();
        let teams = vec!["nl".to_string(), "benelux".to_string()];
        assert_eq!(t.with_ancestors(&teams), vec!["nl", "benelux", "emea"]);
        let looped = vec!["a".to_string()];
        assert_eq!(t.with_ancestors(&looped), vec!["a", "b"]);
    }

    #[test]
    fn nested_teams_are_in_scope_roots_first() {
        let t = TeamTree::new([
            ("emea".to_string(), None),
            ("benelux".to_string(), Some("emea".to_string())),
            ("antwerp".to_string(), Some("benelux".to_string())),
            ("us".to_string(), None),
        ]);
        let scope = t.with_descendants(&["emea".to_string()]);
        assert_eq!(scope, vec!["emea", "benelux", "antwerp"]);
    }

    #[test]
    fn descendants_include_every_level() {
        let t = tree();
        let mut below = t.with_descendants(&["emea".to_string()]);
        below.sort();
        assert_eq!(below, vec!["benelux", "emea", "nl"]);
        assert_eq!(t.with_descendants(&["apac".to_string()]), vec!["apac"]);
        let mut looped = t.with_descendants(&["a".to_string()]);
        looped.sort();
        assert_eq!(looped, vec!["a", "b"]);
    }
}
