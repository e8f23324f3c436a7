//! The demo organization "Demo Sales Co": one account per role and twenty sellers in two teams,
//! all with the password `demo-password`, so a newcomer can try every view at once.

use chrono::{DateTime, Utc};

use crate::auth::password;
use crate::domain::accounts::Role;
use crate::domain::catalog::DraftOutcome;
use crate::http::auth::new_id;
use crate::store::{accounts, assignments, content, DbConnection, StoreError, StoreResult};

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

/// Publishes every pack under `content_dir` into the demo organization and assigns each to both
/// demo teams from `today`, one nugget a day per pack.
pub fn load_content(
    conn: &mut DbConnection,
    content_dir: &std::path::Path,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let files = crate::catalog_files::collect(&[content_dir.to_path_buf()])?;
    let packs = crate::catalog_files::parse_all(&files).map_err(|errors| {
        anyhow::anyhow!(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"))
    })?;
    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    let author = accounts::find_login(conn, "author@demo.example")?
        .map(|(u, _)| u.id)
        .unwrap_or_default();
    let teams = accounts::list_teams(conn, &org.id)?;
    let settings = crate::domain::assignments::Settings {
        daily_cap: 1,
        ..crate::domain::assignments::Settings::defaults(now.date_naive())
    };
    crate::store::write_tx(conn, |conn| -> anyhow::Result<()> {
        for pack in &packs {
            if content::save_draft(conn, &org.id, pack, now)? == DraftOutcome::Unchanged {
                continue;
            }
            content::publish(conn, &org.id, &pack.slug, &author, now)?;
            if assignments::list(conn, &org.id, None)?
                .iter()
                .any(|a| a.pack_slug == pack.slug)
            {
                continue;
            }
            for team in &teams {
                let id = new_id();
                let new = assignments::NewAssignment {
                    id: &id,
                    pack_slug: &pack.slug,
                    team_id: Some(&team.id),
                    learner_ids: &[],
                    settings: &settings,
                    created_by: &author,
                };
                assignments::create(conn, &org.id, new, now)?.map_err(|missing| {
                    anyhow::anyhow!("cannot assign {}: {missing:?}", pack.slug)
                })?;
            }
        }
        Ok(())
    })?;
    Ok(packs.len())
}

pub mod scale;
