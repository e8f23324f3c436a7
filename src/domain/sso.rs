//! Single sign-on rules that need no network or database: which e-mail domains an organization
//! may claim, and how an identity provider's claims become a Reprise role and teams.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::accounts::Role;
use super::validation::FieldError;

/// How the organization's identity provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Oidc,
    Saml,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Oidc => "oidc",
            Protocol::Saml => "saml",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "oidc" => Some(Protocol::Oidc),
            "saml" => Some(Protocol::Saml),
            _ => None,
        }
    }
}

/// Mail services anyone can have an address at: claiming one would send strangers to the
/// organization's provider, so none can be an SSO domain.
const SHARED_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "yandex.com",
    "zoho.com",
];

/// Most domains one organization may route to its provider.
pub const MAX_DOMAINS: usize = 20;

/// A lower-cased DNS name that e-mail addresses end with after the `@`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(field: &str, raw: &str) -> Result<EmailDomain, FieldError> {
        let s = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if s.len() > 253 || !s.contains('.') || !s.split('.').all(label_ok) {
            return Err(FieldError::new(
                field,
                format!(
                    "`{}` is not a domain name like example.com",
                    super::validation::elide(raw, 20)
                ),
            ));
        }
        if SHARED_MAIL_DOMAINS.contains(&s.as_str()) {
            return Err(FieldError::new(
                field,
                format!(
                    "{s} is a public mail service; only the organization's own domains can be used"
                ),
            ));
        }
        Ok(EmailDomain(s))
    }

    /// The domain of an address (already parsed as an e-mail address, so it has one `@`).
    pub fn of_address(address: &str) -> Option<EmailDomain> {
        address
            .rsplit_once('@')
            .map(|(_, d)| EmailDomain(d.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the provider's claims (OIDC) or attributes (SAML) set a user's role and teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The role of anyone whose role claim maps to nothing.
    pub default_role: Role,
    /// The claim holding role names (a string or a list of strings); without one, roles are
    /// managed in Reprise and new members get `default_role`.
    pub role_claim: Option<String>,
    /// Values of the role claim (e.g. an Okta group name) and the role they give.
    pub role_map: BTreeMap<String, Role>,
    /// The claim holding team names; when set, the provider decides every team membership.
    pub team_claim: Option<String>,
}

/// Longest team name taken from a claim, and most teams a sign-in can put someone in.
pub const MAX_TEAM_NAME: usize = 120;
pub const MAX_TEAMS: usize = 50;

impl Mapping {
    /// The role given by the most powerful mapped value among `values`, else the default: a
    /// person in both "Sales" and "Sales managers" gets the manager role.
    pub fn role_for(&self, values: &[String]) -> Role {
        values
            .iter()
            .filter_map(|v| self.role_map.get(v.trim()))
            .copied()
            .max_by_key(|r| rank(*r))
            .unwrap_or(self.default_role)
    }

    /// Team names from the team claim's values: trimmed, without blanks and repeats, at most
    /// [`MAX_TEAMS`] of at most [`MAX_TEAM_NAME`] characters. `None` when no team claim is
    /// mapped (memberships are then managed in Reprise).
    pub fn teams_from(&self, values: &[String]) -> Option<Vec<String>> {
        self.team_claim.as_ref()?;
        let mut names: Vec<String> = Vec::new();
        for v in values {
            let name: String = v.trim().chars().take(MAX_TEAM_NAME).collect();
            if !name.is_empty() && !names.contains(&name) && names.len() < MAX_TEAMS {
                names.push(name);
            }
        }
        Some(names)
    }
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Learner => 0,
        Role::Author => 1,
        Role::Manager => 2,
        Role::Analyst => 3,
        Role::Admin => 4,
    }
}

/// Who the provider says signed in, read from a verified ID token or assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub email: String,
    pub name: Option<String>,
    /// Values of the mapped role claim.
    pub roles: Vec<String>,
    /// Values of the mapped team claim.
    pub teams: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping {
            default_role: Role::Learner,
            role_claim: Some("groups".into()),
            role_map: [
                ("Sales".to_string(), Role::Learner),
                ("Sales managers".to_string(), Role::Manager),
            ]
            .into(),
            team_claim: Some("teams".into()),
        }
    }

    #[test]
    fn the_most_powerful_mapped_role_wins() {
        let m = mapping();
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(m.role_for(&v(&["Sales", "Sales managers"])), Role::Manager);
        assert_eq!(m.role_for(&v(&["Other"])), Role::Learner);
        assert_eq!(m.role_for(&[]), Role::Learner);
    }

    #[test]
    fn teams_are_cleaned_and_only_read_when_mapped() {
        let mut m = mapping();
        let v = vec![
            " East ".to_string(),
            "East".into(),
            "".into(),
            "West".into(),
        ];
        assert_eq!(m.teams_from(&v), Some(vec!["East".into(), "West".into()]));
        m.team_claim = None;
        assert_eq!(m.teams_from(&v), None);
    }

    #[test]
    fn domains_are_dns_names_of_the_organization() {
        assert_eq!(
            EmailDomain::parse("d", " @Example.COM").unwrap().as_str(),
            "example.com"
        );
        for bad in ["example", "-a.com", "a..com", "exa mple.com", "gmail.com"] {
            assert!(EmailDomain::parse("d", bad).is_err(), "{bad}");
        }
    }
}
