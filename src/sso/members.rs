//! The member a provider vouched for: created at the first sign-in, brought in line with the
//! provider's claims at each one, with the one-time code that hands the sign-in to the console.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{refused, CODE_TTL_SECS};
use crate::domain::accounts::Email;
use crate::domain::ids::OrgId;
use crate::domain::sso::{EmailDomain, Identity};
use crate::error::ApiResult;
use crate::store::audit::{self, Actor, Entry};
use crate::store::{self, accounts as account_store, sso as sso_store};

/// Creates or updates the member the provider vouched for and stores the hash of a one-time
/// code for them, inside the caller's write transaction.
pub(super) fn provision(
    conn: &mut store::DbConnection,
    org: &OrgId,
    config: &sso_store::SsoConfig,
    identity: Identity,
    code_hash: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<account_store::Synced> {
    let email = Email::parse("email", &identity.email)
        .map_err(|_| refused("the provider sent no usable e-mail address"))?;
    let domain = EmailDomain::of_address(email.as_str());
    if !domain.is_some_and(|d| config.email_domains.iter().any(|c| c == d.as_str())) {
        return Err(refused(
            "the provider vouched for an address outside the organization's SSO domains",
        ));
    }
    // Without a role claim, roles are managed in Reprise: only new members get the default.
    let role = config
        .mapping
        .role_claim
        .as_ref()
        .map(|_| config.mapping.role_for(&identity.roles));
    let teams = config.mapping.teams_from(&identity.teams);
    let name = identity
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_string());
    let name: String = name.trim().chars().take(120).collect();
    let member = account_store::SyncedMember {
        email: email.as_str(),
        name: &name,
        role,
        default_role: config.mapping.default_role,
        teams: teams.as_deref(),
    };
    let synced = account_store::sync_member(conn, org, member, now)?
        .ok_or_else(|| refused("this account is deactivated"))?;
    let user = &synced.user;
    let actor = Actor::Sso {
        id: user.id.clone(),
        request_id,
    };
    // Ids, the role and team names only: audit records never hold names or addresses
    // (docs/adr/0017-audit-records-without-personal-data.md).
    let mut after = json!({"protocol": config.protocol, "role": user.role});
    if let Some(teams) = &teams {
        after["teams"] = json!(teams);
    }
    let entry = match &synced.previous {
        None => Entry::by(actor, "user.created", "user", user.id.as_str()).after(after),
        Some(before) => {
            let entry = Entry::by(actor, "user.signed_in", "user", user.id.as_str()).after(after);
            if before.role == user.role {
                entry
            } else {
                entry.before(json!({"role": before.role}))
            }
        }
    };
    audit::record(conn, org, &entry, now)?;
    sso_store::insert_code(
        conn,
        org,
        code_hash,
        &synced.user.id,
        now + Duration::seconds(CODE_TTL_SECS),
        now,
    )?;
    Ok(synced)
}

/// The string values of a claim: a string, or the strings of a list.
pub(super) fn claim_values(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: Option<&str>,
) -> Vec<String> {
    match name.and_then(|n| claims.get(n)) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}
