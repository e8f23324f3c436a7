//! Users and groups as SCIM documents, and SCIM documents read back as changes to them.
//!
//! A Reprise user has one e-mail address (their login), one display name, a role and an
//! active flag. A provider sends more: a userName that may not be an address, a name in parts,
//! several addresses. What Reprise does not model it keeps as sent (`profile`) and renders
//! back, so a provider reads what it wrote; what Reprise does model is derived from it:
//! - the **e-mail address** is the primary address of `emails`, else the first, else
//!   `userName` when it is one;
//! - the **name** is `displayName`, else `name.formatted`, else the given and family names;
//! - the **role** is the `role` of the Reprise extension (`REPRISE_USER`) when sent; a user
//!   created without one is a learner, and a change without one keeps the role, so roles
//!   given in Reprise survive a provider that does not manage them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::filter::get;
use super::{boolean, ScimError, CORE_GROUP, CORE_USER, REPRISE_USER};
use crate::domain::accounts::{self, Email, Role};
use crate::domain::ids::{TeamId, UserId};

/// A user as SCIM shows them.
#[derive(Debug, Clone)]
pub struct ScimUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub external_id: Option<String>,
    /// SCIM's userName when a provider gave one; the e-mail address stands for it otherwise.
    pub user_name: Option<String>,
    /// `name`, `displayName` and `emails` as the provider last sent them.
    pub profile: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A team as a SCIM group.
#[derive(Debug, Clone)]
pub struct ScimGroup {
    pub id: TeamId,
    pub name: String,
    pub external_id: Option<String>,
    pub members: Vec<UserId>,
    pub created_at: DateTime<Utc>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meta(kind: &str, location: String, created: DateTime<Utc>, modified: DateTime<Utc>) -> Value {
    json!({
        "resourceType": kind,
        "created": time(created),
        "lastModified": time(modified),
        "location": location,
    })
}

impl ScimUser {
    /// The User document; `base` is the SCIM base URL (`https://…/scim/v2`).
    pub fn render(&self, base: &str) -> Value {
        let mut doc = Map::new();
        doc.insert("schemas".into(), json!([CORE_USER, REPRISE_USER]));
        doc.insert("id".into(), json!(self.id));
        if let Some(external_id) = &self.external_id {
            doc.insert("externalId".into(), json!(external_id));
        }
        doc.insert(
            "userName".into(),
            json!(self.user_name.as_deref().unwrap_or(&self.email)),
        );
        let profile = self.profile.as_ref();
        let sent = |key: &str| profile.and_then(|p| get(p, key)).cloned();
        match profile {
            // Sent by a provider: rendered as sent, with Reprise's current name for
            // displayName (an admin may have changed it since).
            Some(_) => {
                if sent("displayName").is_some() {
                    doc.insert("displayName".into(), json!(self.name));
                }
                if let Some(name) = sent("name") {
                    doc.insert("name".into(), name);
                }
                if let Some(emails) = sent("emails") {
                    let current = chosen_address(&emails).is_some_and(|a| a == self.email);
                    let emails = if current {
                        emails
                    } else {
                        json!([{"value": self.email, "primary": true}])
                    };
                    doc.insert("emails".into(), emails);
                }
            }
            None => {
                doc.insert("displayName".into(), json!(self.name));
                doc.insert("name".into(), json!({"formatted": self.name}));
                doc.insert(
                    "emails".into(),
                    json!([{"value": self.email, "type": "work", "primary": true}]),
                );
            }
        }
        doc.insert("active".into(), json!(self.active));
        doc.insert(REPRISE_USER.into(), json!({"role": self.role}));
        doc.insert(
            "meta".into(),
            meta(
                "User",
                format!("{base}/Users/{}", self.id),
                self.created_at,
                self.updated_at,
            ),
        );
        Value::Object(doc)
    }
}

impl ScimGroup {
    pub fn render(&self, base: &str) -> Value {
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|id| json!({"value": id, "$ref": format!("{base}/Users/{id}"), "type": "User"}))
            .collect();
        let mut doc = json!({
            "schemas": [CORE_GROUP],
            "id": self.id,
            "displayName": self.name,
            "members": members,
            "meta": meta("Group", format!("{base}/Groups/{}", self.id), self.created_at, self.created_at),
        });
        if let Some(external_id) = &self.external_id {
            doc["externalId"] = json!(external_id);
        }
        doc
    }
}

/// A User document read as what Reprise keeps of it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub email: Option<Email>,
    pub name: Option<String>,
    pub active: Option<bool>,
    pub role: Option<Role>,
    /// `name`, `displayName` and `emails` as sent, to render back.
    pub profile: Value,
}

/// Reads a User document (a POST or PUT body, or a document a PATCH produced). Read-only
/// attributes (`id`, `meta`, `groups`) are ignored, as RFC 7644 §3.5.1 asks; so is `password`:
/// people sign in with single sign-on or set their password from an invitation.
pub fn read_user(doc: &Value) -> Result<UserInput, ScimError> {
    if !doc.is_object() {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    }
    let user_name = match get(doc, "userName") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 254 => {
            s.trim().to_string()
        }
        Some(Value::String(s)) if !s.trim().is_empty() => {
            return Err(ScimError::invalid_value(
                "`userName` has more than 254 characters",
            ))
        }
        _ => return Err(ScimError::invalid_value("`userName` is required")),
    };
    let external_id = optional_text(doc, "externalId")?;
    let emails = get(doc, "emails").filter(|v| !v.is_null());
    let email = match emails.and_then(chosen_address) {
        Some(address) => Some(
            Email::parse("emails", &address)
                .map_err(|e| ScimError::invalid_value(format!("`emails`: {}", e.message)))?,
        ),
        None => Email::parse("userName", &user_name).ok(),
    };
    if let Some(list) = emails {
        if !list.is_array() {
            return Err(ScimError::invalid_value("`emails` must be a list"));
        }
    }
    let name = display_name(doc)?;
    let active = match get(doc, "active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolean("active", v)?),
    };
    let role = match get(doc, REPRISE_USER).and_then(|ext| get(ext, "role")) {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(Role::parse(&r.to_lowercase()).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "`{REPRISE_USER}:role` must be learner, author, manager, analyst or admin"
            ))
        })?),
        Some(_) => {
            return Err(ScimError::invalid_value(format!(
                "`{REPRISE_USER}:role` must be a string"
            )))
        }
    };
    let mut profile = Map::new();
    for key in ["name", "displayName", "emails"] {
        if let Some(v) = get(doc, key).filter(|v| !v.is_null()) {
            profile.insert(key.into(), v.clone());
        }
    }
    Ok(UserInput {
        user_name,
        external_id,
        email,
        name,
        active,
        role,
        profile: Value::Object(profile),
    })
}

fn optional_text(doc: &Value, key: &str) -> Result<Option<String>, ScimError> {
    match get(doc, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 254 && !s.chars().any(char::is_control) => {
            Ok(Some(s.trim().to_string()))
        }
        Some(_) => Err(ScimError::invalid_value(format!(
            "`{key}` must be text of at most 254 characters"
        ))),
    }
}

/// The address Reprise signs the user in with: the primary one, else the first.
fn chosen_address(emails: &Value) -> Option<String> {
    let items = emails.as_array()?;
    let primary = items.iter().find(|e| {
        get(e, "primary")
            .and_then(|p| boolean("primary", p).ok())
            .unwrap_or(false)
    });
    primary
        .or(items.first())
        .and_then(|e| get(e, "value"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn display_name(doc: &Value) -> Result<Option<String>, ScimError> {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = get(doc, "name");
    let parts = || {
        let joined = [
            text(name.and_then(|n| get(n, "givenName"))),
            text(name.and_then(|n| get(n, "familyName"))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        (!joined.is_empty()).then_some(joined)
    };
    let chosen = text(get(doc, "displayName"))
        .or_else(|| text(name.and_then(|n| get(n, "formatted"))))
        .or_else(parts);
    chosen
        .map(|n| {
            accounts::person_name("displayName", &n)
                .map_err(|e| ScimError::invalid_value(format!("the name: {}", e.message)))
        })
        .transpose()
}

/// A Group document read as a team and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub name: String,
    pub external_id: Option<String>,
    /// User ids, each once, in the order sent.
    pub members: Vec<UserId>,
}

pub fn read_group(doc: &Value) -> Result<GroupInput, ScimError> {
    if !doc.is_object() {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    }
    let name = match get(doc, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            crate::domain::validation::text("displayName", s, 1, 120)
                .map_err(|e| ScimError::invalid_value(format!("`displayName` {}", e.message)))?
        }
        _ => return Err(ScimError::invalid_value("`displayName` is required")),
    };
    let external_id = optional_text(doc, "externalId")?;
    let mut members: Vec<UserId> = Vec::new();
    match get(doc, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                if let Some(kind) = get(item, "type").and_then(Value::as_str) {
                    if !kind.eq_ignore_ascii_case("User") {
                        return Err(ScimError::invalid_value(
                            "a group's members are users: Reprise does not nest groups by membership",
                        ));
                    }
                }
                let id = get(item, "value")
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
                    .ok_or_else(|| {
                        ScimError::invalid_value("each member needs a `value`, a user id")
                    })?;
                let id = UserId::new(id);
                if !members.contains(&id) {
                    members.push(id);
                }
            }
        }
        Some(_) => return Err(ScimError::invalid_value("`members` must be a list")),
    }
    Ok(GroupInput {
        name,
        external_id,
        members,
    })
}

/// Keeps only the attributes a client asked for (`attributes`) or drops those it asked not to
/// see (`excludedAttributes`), RFC 7644 §3.4.2.5; `id` and `schemas` always stay. Names are
/// top-level attributes, sub-attributes (`name.givenName`) or extension attributes with their
/// URN.
pub fn project(doc: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut map) = doc else {
        return doc;
    };
    let always = |k: &str| k == "id" || k == "schemas";
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for (key, value) in map {
            if always(&key) {
                kept.insert(key, value);
                continue;
            }
            let wanted: Vec<Option<String>> = attributes
                .iter()
                .filter_map(|a| wanted_under(a, &key))
                .collect();
            if wanted.iter().any(Option::is_none) {
                kept.insert(key, value);
            } else if !wanted.is_empty() {
                if let Value::Object(inner) = value {
                    let subs: Map<String, Value> = inner
                        .into_iter()
                        .filter(|(k, _)| wanted.iter().flatten().any(|w| w.eq_ignore_ascii_case(k)))
                        .collect();
                    kept.insert(key, Value::Object(subs));
                } else {
                    kept.insert(key, value);
                }
            }
        }
        map = kept;
    }
    for name in excluded {
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            if always(&key) {
                continue;
            }
            match wanted_under(name, &key) {
                Some(None) => {
                    map.remove(&key);
                }
                Some(Some(sub)) => {
                    if let Some(Value::Object(inner)) = map.get_mut(&key) {
                        inner.retain(|k, _| !k.eq_ignore_ascii_case(&sub));
                    }
                }
                None => {}
            }
        }
    }
    Value::Object(map)
}

/// Whether the requested attribute `name` is under the document's top-level `key`: `Some(None)`
/// for the whole attribute, `Some(Some(sub))` for one of its sub-attributes.
fn wanted_under(name: &str, key: &str) -> Option<Option<String>> {
    let name = [CORE_USER, CORE_GROUP]
        .iter()
        .find_map(|urn| {
            name.get(..urn.len() + 1)
                .filter(|p| p.eq_ignore_ascii_case(&format!("{urn}:")))
                .map(|_| &name[urn.len() + 1..])
        })
        .unwrap_or(name);
    if key.starts_with("urn:") {
        let rest = name.get(key.len()..)?;
        if !name[..key.len()].eq_ignore_ascii_case(key) {
            return None;
        }
        return match rest.strip_prefix(':') {
            None if rest.is_empty() => Some(None),
            Some(sub) => Some(Some(sub.to_string())),
            None => None,
        };
    }
    let (head, sub) = match name.split_once('.') {
        Some((head, sub)) => (head, Some(sub.to_string())),
        None => (name, None),
    };
    head.eq_ignore_ascii_case(key).then_some(sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    #[test]
    fn a_user_is_read_from_what_providers_send() {
        let okta = json!({
            "schemas": [CORE_USER], "userName": "00u1@okta", "externalId": "00u1",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "home@example.org"}, {"value": "Ann@Example.com", "primary": true}],
            "active": true, "password": "ignored"
        });
        let input = read_user(&okta).unwrap();
        assert_eq!(input.email.unwrap().as_str(), "ann@example.com");
        assert_eq!(input.name.as_deref(), Some("Ann Lee"));
        assert_eq!(input.role, None);
        assert_eq!(input.external_id.as_deref(), Some("00u1"));

        let entra = json!({
            "schemas": [CORE_USER, REPRISE_USER], "userName": "ann@example.com",
            "displayName": "Ann L.", "active": "False",
            REPRISE_USER: {"role": "Manager"}
        });
        let input = read_user(&entra).unwrap();
        assert_eq!(input.email.unwrap().as_str(), "ann@example.com");
        assert_eq!(input.name.as_deref(), Some("Ann L."));
        assert_eq!(input.active, Some(false));
        assert_eq!(input.role, Some(Role::Manager));
    }

    #[test]
    fn bad_users_are_invalid_values() {
        for doc in [
            json!({}),
            json!({"userName": ""}),
            json!({"userName": "a@b.co", "emails": [{"value": "not an address"}]}),
            json!({"userName": "a@b.co", "active": "maybe"}),
            json!({"userName": "a@b.co", REPRISE_USER: {"role": "king"}}),
        ] {
            assert_eq!(
                read_user(&doc).unwrap_err().scim_type,
                Some("invalidValue"),
                "{doc}"
            );
        }
    }

    #[test]
    fn users_render_back_what_providers_sent() {
        let user = ScimUser {
            id: "u1".into(),
            email: "ann@example.com".into(),
            name: "Ann Lee".into(),
            role: Role::Learner,
            active: true,
            external_id: Some("00u1".into()),
            user_name: Some("00u1@okta".into()),
            profile: Some(json!({"name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@example.com", "type": "work"}]})),
            created_at: at(),
            updated_at: at(),
        };
        let doc = user.render("http://x/scim/v2");
        assert_eq!(doc["userName"], "00u1@okta");
        assert!(doc.get("displayName").is_none());
        assert_eq!(doc["emails"][0]["type"], "work");
        assert_eq!(doc[REPRISE_USER]["role"], "learner");
        assert_eq!(doc["meta"]["location"], "http://x/scim/v2/Users/u1");
        let created_in_reprise = ScimUser {
            profile: None,
            user_name: None,
            ..user
        };
        let doc = created_in_reprise.render("http://x/scim/v2");
        assert_eq!(doc["userName"], "ann@example.com");
        assert_eq!(doc["displayName"], "Ann Lee");
    }

    #[test]
    fn groups_list_user_members_once() {
        let input = read_group(&json!({"displayName": "EMEA", "members": [
            {"value": "u1"}, {"value": "u2", "type": "User"}, {"value": "u1"}]}))
        .unwrap();
        assert_eq!(input.members, vec![UserId::from("u1"), UserId::from("u2")]);
        assert!(read_group(
            &json!({"displayName": "x", "members": [{"value": "g", "type": "Group"}]})
        )
        .is_err());
        assert!(read_group(&json!({"members": []})).is_err());
    }

    #[test]
    fn projections_keep_or_drop_attributes() {
        let doc = json!({"schemas": [CORE_USER], "id": "u1", "userName": "a",
            "name": {"givenName": "A", "familyName": "B"}, REPRISE_USER: {"role": "learner"}});
        let only = project(
            doc.clone(),
            &["userName".into(), "name.givenName".into()],
            &[],
        );
        assert_eq!(
            only,
            json!({"schemas": [CORE_USER], "id": "u1", "userName": "a", "name": {"givenName": "A"}})
        );
        let without = project(
            doc.clone(),
            &[],
            &[format!("{REPRISE_USER}:role"), "name".into()],
        );
        assert_eq!(
            without,
            json!({"schemas": [CORE_USER], "id": "u1", "userName": "a", REPRISE_USER: {}})
        );
        let core = project(doc, &[format!("{CORE_USER}:userName")], &[]);
        assert_eq!(core["userName"], "a");
        assert!(core.get("name").is_none());
    }
}
