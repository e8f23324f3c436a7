//! The demo organization "Demo Sales Co": one account per role and twenty sellers in two teams,
//! all with the password `demo-password`, so a newcomer can try every view at once.

use chrono::{DateTime, Utc};

use crate::auth::password;
use crate::domain::accounts::Role;
use crate::http::auth::new_id;
use crate::store::{accounts, DbConnection, StoreError, StoreResult};

pub const ORG_NAME: &str = "Demo Sales Co";
pub const ORG_SLUG: &str = "demo-sales-co";
pub const PASSWORD: &str = "demo-password";
pub const TEAMS: [&str; 2] = ["Field Sales North", "Field Sales South"];

/// E-mail and role of every demo account, staff first.
pub fn accounts() -> Vec<(String, Role)> {
    let mut list: Vec<(String, Role)> = [
        ("admin", Role::Admin),
        ("author", Role::Author),
        ("manager", Role::Manager),
        ("analyst", Role::Analyst),
    ]
    .into_iter()
    .map(|(name, role)| (format!("{name}@demo.example"), role))
    .collect();
    list.extend((1..=20).map(|i| (format!("seller{i:02}@demo.example"), Role::Learner)));
    list
}

fn display_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    let mut chars = local.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => local.to_string(),
    }
}

/// Creates the demo organization unless it exists; returns whether it was created.
pub fn ensure(conn: &mut DbConnection, now: DateTime<Utc>) -> StoreResult<bool> {
    match accounts::find_org_by_slug(conn, ORG_SLUG) {
        Ok(_) => return Ok(false),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e),
    }
    // One hash for all demo accounts: they share a published password anyway, and argon2 is
    // deliberately slow.
    let hash = password::hash(PASSWORD);
    let all = accounts();
    let (admin_email, _) = &all[0];
    let new_user = |email: &str, role: Role| accounts::NewUser {
        id: new_id(),
        email: email.to_string(),
        name: display_name(email),
        password_hash: hash.clone(),
        role,
        timezone: None,
    };
    let (org, _) = accounts::create_org_with_admin(
        conn,
        accounts::NewOrg {
            id: new_id(),
            slug: ORG_SLUG.into(),
            name: ORG_NAME.into(),
            timezone: "Europe/Brussels".into(),
        },
        new_user(admin_email, Role::Admin),
        now,
    )?;
    let teams: Vec<String> = TEAMS
        .iter()
        .map(|name| accounts::create_team(conn, &org.id, &new_id(), name, None, now).map(|t| t.id))
        .collect::<StoreResult<_>>()?;
    for (i, (email, role)) in all.iter().enumerate().skip(1) {
        let team_ids = match role {
            Role::Manager => teams.clone(),
            // Sellers 01–10 in the first team, 11–20 in the second.
            Role::Learner => vec![teams[usize::from(i - 4 >= 10)].clone()],
            _ => Vec::new(),
        };
        accounts::create_user(conn, &org.id, new_user(email, *role), &team_ids, now)?;
    }
    Ok(true)
}
