//! Accounts: roles, e-mail addresses, passwords, time zones and slugs, each parsed once at the edge.

use super::ids::{OrgId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::{text, FieldError};

/// What a user may do. Managers see their own teams; analysts (HR) see the whole organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Learner,
    Author,
    Manager,
    Analyst,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Learner => "learner",
            Role::Author => "author",
            Role::Manager => "manager",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "learner" => Some(Role::Learner),
            "author" => Some(Role::Author),
            "manager" => Some(Role::Manager),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A syntactically valid, lower-cased e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Email, FieldError> {
        let s = raw.trim().to_lowercase();
        let invalid = || FieldError::new(field, "must be an e-mail address like name@example.com");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy: at least 10 characters, at most 256, not the e-mail address.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_LEN: usize = 10;

    pub fn parse(field: &str, raw: &str, email: Option<&Email>) -> Result<NewPassword, FieldError> {
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(FieldError::new(
                field,
                format!("must have at least {} characters", Self::MIN_LEN),
            ));
        }
        if len > 256 {
            return Err(FieldError::new(field, "must have at most 256 characters"));
        }
        if passwords::analyzer::is_common_password(raw) {
            return Err(FieldError::new(
                field,
                "is one of the most common passwords: choose another",
            ));
        }
        if let Some(email) = email {
            let lower = raw.to_lowercase();
            let local = email.as_str().split('@').next().unwrap_or_default();
            if lower == email.as_str() || lower == local {
                return Err(FieldError::new(field, "must not be the e-mail address"));
            }
        }
        Ok(NewPassword(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A password nobody knows, for an account whose owner will set their own (an invitation,
    /// single sign-on): 32 random characters.
    pub fn unguessable() -> NewPassword {
        use rand::distributions::{Alphanumeric, DistString};
        NewPassword(Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32))
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// What a one-time link sent by e-mail lets its holder do, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Sign in (a reminder's one-tap link), for 24 hours.
    SignIn,
    /// Set a first password (an invitation), for 7 days.
    Invite,
    /// Choose a new password, for an hour.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::SignIn => "sign_in",
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    /// How long a link of this purpose works.
    pub fn ttl(self) -> chrono::Duration {
        match self {
            LinkPurpose::SignIn => chrono::Duration::hours(24),
            LinkPurpose::Invite => chrono::Duration::days(7),
            LinkPurpose::Reset => chrono::Duration::hours(1),
        }
    }
}

/// A person's display name.
pub fn person_name(field: &str, raw: &str) -> Result<String, FieldError> {
    text(field, raw, 1, 120)
}

/// An IANA time zone name such as `Europe/Brussels`.
pub fn time_zone(field: &str, raw: &str) -> Result<chrono_tz::Tz, FieldError> {
    raw.parse::<chrono_tz::Tz>()
        .map_err(|_| FieldError::new(field, "must be an IANA time zone name like Europe/Paris"))
}

/// A URL-safe identifier derived from a name: lowercase ASCII letters, digits and hyphens.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let trimmed = slug.trim_end_matches('-');
    trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// An organization (tenant). Its time zone is the default for its users' days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Organization {
    #[schema(value_type = String)]
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    /// Weekdays with no nuggets (e.g. `["sat", "sun"]`).
    pub quiet_weekdays: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// How learners are reminded until they choose for themselves.
    pub notification_defaults: super::nudges::NotificationChoice,
    /// Pack imports refuse what is otherwise a warning (a nugget without an explanation, a
    /// question type Reprise does not ask); an upload can also ask for it with `strict=true`.
    pub strict_imports: bool,
    /// Leaderboards of points for learning are shown (`GET /api/v1/leaderboards`); off by
    /// default.
    pub leaderboards: bool,
    /// Teammates may review each other's pitches (`POST /api/v1/pitches/{id}/reviews`); off by
    /// default, when managers and admins review.
    pub peer_review: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    #[schema(value_type = String)]
    pub id: UserId,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// IANA time zone; the organization's when absent.
    pub timezone: Option<String>,
    /// Most nuggets a day over all assignments; unlimited beyond each assignment's cap when absent.
    pub daily_max: Option<i32>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("e", " Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a b@x.com",
            "ann@x..com",
            "a@b@c.com",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn password_policy_rejects_short_and_email_passwords() {
        let email = Email::parse("e", "ann.smith@example.com").unwrap();
        assert!(NewPassword::parse("p", "short", Some(&email)).is_err());
        assert!(NewPassword::parse("p", "ANN.SMITH@example.com", Some(&email)).is_err());
        assert!(NewPassword::parse("p", "ann.smith", Some(&email)).is_err());
        assert!(NewPassword::parse("p", "correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Demo Sales Co"), "demo-sales-co");
        assert_eq!(slugify("  Ünïcode & Co!! "), "n-code-co");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn roles_round_trip() {
        for r in [
            Role::Learner,
            Role::Author,
            Role::Manager,
            Role::Analyst,
            Role::Admin,
        ] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
