//! Single sign-on: each organization's identity provider and the e-mail domains routed to it,
//! sign-ins under way, one-time codes, and SAML assertion ids already used.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{
    saml_assertions_seen, sso_attempts, sso_codes, sso_configs, sso_domains, users,
};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::accounts::Role;
use crate::domain::ids::{OrgId, UserId};
use crate::domain::sso::{EmailDomain, Mapping, Protocol};

/// An organization's identity provider, as stored.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    pub protocol: Protocol,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// Sealed (`crate::secrets`) for [`client_secret_context`].
    pub client_secret: Option<String>,
    pub idp_metadata_xml: Option<String>,
    pub email_domains: Vec<String>,
    pub mapping: Mapping,
    pub allow_password_login: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_configs)]
struct ConfigRow {
    org_id: String,
    protocol: String,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    idp_metadata_xml: Option<String>,
    default_role: String,
    role_claim: Option<String>,
    role_map: Option<String>,
    team_claim: Option<String>,
    allow_password_login: bool,
    updated_at: NaiveDateTime,
}

impl ConfigRow {
    fn into_config(self, email_domains: Vec<String>) -> SsoConfig {
        let role_map: BTreeMap<String, String> = self
            .role_map
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default();
        SsoConfig {
            protocol: Protocol::parse(&self.protocol).unwrap_or(Protocol::Oidc),
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: self.client_secret,
            idp_metadata_xml: self.idp_metadata_xml,
            email_domains,
            mapping: Mapping {
                default_role: Role::parse(&self.default_role).unwrap_or(Role::Learner),
                role_claim: self.role_claim,
                role_map: role_map
                    .into_iter()
                    .filter_map(|(k, v)| Role::parse(&v).map(|r| (k, r)))
                    .collect(),
                team_claim: self.team_claim,
            },
            allow_password_login: self.allow_password_login,
            updated_at: self.updated_at.and_utc(),
        }
    }
}

/// What a client secret is sealed for: its organization's row, so a copy elsewhere does not open.
pub fn client_secret_context(org_id: &OrgId) -> String {
    format!("sso_configs/{org_id}/client_secret")
}

/// The organization's provider, if it has one.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn config(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Option<SsoConfig>> {
    let Some(row) = sso_configs::table
        .find(org_id)
        .select(ConfigRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut domains: Vec<String> = sso_domains::table
        .filter(sso_domains::org_id.eq(org_id))
        .select(sso_domains::domain)
        .load(conn)?;
    domains.sort();
    Ok(Some(row.into_config(domains)))
}

/// Why a configuration was not saved.
#[derive(Debug)]
pub enum SaveRefusal {
    /// Another organization routes this domain to its own provider.
    DomainTaken(String),
}

/// Replaces the organization's provider and domains; the caller holds the write transaction, so
/// a domain another organization claims refuses the whole change (also when two saves race for
/// one domain: the domain is the table's key).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn save_config(
    conn: &mut DbConnection,
    org_id: &OrgId,
    config: &SsoConfig,
    domains: &[EmailDomain],
    now: DateTime<Utc>,
) -> StoreResult<Result<(), SaveRefusal>> {
    let role_map: BTreeMap<&str, &str> = config
        .mapping
        .role_map
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let row = ConfigRow {
        org_id: org_id.to_string(),
        protocol: config.protocol.as_str().into(),
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
        idp_metadata_xml: config.idp_metadata_xml.clone(),
        default_role: config.mapping.default_role.as_str().into(),
        role_claim: config.mapping.role_claim.clone(),
        role_map: (!role_map.is_empty())
            .then(|| serde_json::to_string(&role_map).expect("strings serialize")),
        team_claim: config.mapping.team_claim.clone(),
        allow_password_login: config.allow_password_login,
        updated_at: now.naive_utc(),
    };
    {
        for domain in domains {
            let owner: Option<String> = sso_domains::table
                .find(domain.as_str())
                .select(sso_domains::org_id)
                .first(conn)
                .optional()?;
            if owner.is_some_and(|o| o != org_id.as_str()) {
                return Ok(Err(SaveRefusal::DomainTaken(domain.as_str().into())));
            }
        }
        diesel::delete(sso_domains::table.filter(sso_domains::org_id.eq(org_id))).execute(conn)?;
        for domain in domains {
            diesel::insert_into(sso_domains::table)
                .values((
                    sso_domains::domain.eq(domain.as_str()),
                    sso_domains::org_id.eq(org_id),
                ))
                .execute(conn)
                .map_err(|e| StoreError::unique_as(e, "the domain was claimed meanwhile"))?;
        }
        diesel::delete(sso_configs::table.find(org_id)).execute(conn)?;
        diesel::insert_into(sso_configs::table)
            .values(&row)
            .execute(conn)?;
        Ok(Ok(()))
    }
}

/// Turns single sign-on off: the provider, its domains and sign-ins under way (in the caller's
/// write transaction). Returns whether there was one.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn delete_config(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<bool> {
    diesel::delete(sso_domains::table.filter(sso_domains::org_id.eq(org_id))).execute(conn)?;
    diesel::delete(sso_attempts::table.filter(sso_attempts::org_id.eq(org_id))).execute(conn)?;
    Ok(diesel::delete(sso_configs::table.find(org_id)).execute(conn)? > 0)
}

/// The organization an e-mail domain signs in with.
pub fn org_for_domain(conn: &mut DbConnection, domain: &EmailDomain) -> StoreResult<Option<OrgId>> {
    Ok(sso_domains::table
        .find(domain.as_str())
        .select(sso_domains::org_id)
        .first::<String>(conn)
        .optional()?
        .map(OrgId::from))
}

/// Whether members of the organization may still log in with a password (true without SSO).
pub fn password_login_allowed(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<bool> {
    Ok(sso_configs::table
        .find(org_id)
        .select(sso_configs::allow_password_login)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(true))
}

/// The addresses of the organization's active admins: the domains they use are the ones it may
/// claim.
pub fn admin_addresses(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<String>> {
    Ok(users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .select(users::email)
        .load(conn)?)
}

/// A sign-in sent to the provider.
pub struct Attempt {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Records a sign-in sent to the provider under `id`, and forgets the organization's expired
/// ones.
pub fn insert_attempt(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &str,
    attempt: &Attempt,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::delete(
        sso_attempts::table
            .filter(sso_attempts::org_id.eq(org_id))
            .filter(sso_attempts::expires_at.le(now.naive_utc())),
    )
    .execute(conn)?;
    diesel::insert_into(sso_attempts::table)
        .values((
            sso_attempts::org_id.eq(org_id),
            sso_attempts::id.eq(id),
            sso_attempts::nonce.eq(&attempt.nonce),
            sso_attempts::pkce_verifier.eq(&attempt.pkce_verifier),
            sso_attempts::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes a sign-in under way: deleted as it is read, so the provider's answer is used once
/// even when it arrives twice at once. `None` when unknown, taken or expired.
pub fn take_attempt(
    conn: &mut DbConnection,
    org_id: &OrgId,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Attempt>> {
    super::write_tx(conn, |conn| {
        let found: Option<(String, String, NaiveDateTime)> = sso_attempts::table
            .find((org_id, id))
            .select((
                sso_attempts::nonce,
                sso_attempts::pkce_verifier,
                sso_attempts::expires_at,
            ))
            .first(conn)
            .optional()?;
        let Some((nonce, pkce_verifier, expires_at)) = found else {
            return Ok(None);
        };
        let deleted = diesel::delete(sso_attempts::table.find((org_id, id))).execute(conn)?;
        Ok(
            (deleted == 1 && expires_at > now.naive_utc()).then_some(Attempt {
                nonce,
                pkce_verifier,
            }),
        )
    })
}

/// Stores the hash of a one-time code for `user_id`.
pub fn insert_code(
    conn: &mut DbConnection,
    org_id: &OrgId,
    hash: &str,
    user_id: &UserId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::delete(
        sso_codes::table
            .filter(sso_codes::org_id.eq(org_id))
            .filter(sso_codes::expires_at.le(now.naive_utc())),
    )
    .execute(conn)?;
    diesel::insert_into(sso_codes::table)
        .values((
            sso_codes::org_id.eq(org_id),
            sso_codes::hash.eq(hash),
            sso_codes::user_id.eq(user_id),
            sso_codes::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a one-time code used and returns its user, if it was unused and alive. The update
/// itself checks both, so of two concurrent uses only one gets the user.
pub fn use_code(
    conn: &mut DbConnection,
    org_id: &OrgId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserId>> {
    let now = now.naive_utc();
    let marked = diesel::update(
        sso_codes::table
            .find((org_id, hash))
            .filter(sso_codes::used_at.is_null())
            .filter(sso_codes::expires_at.gt(now)),
    )
    .set(sso_codes::used_at.eq(now))
    .execute(conn)?;
    if marked == 0 {
        return Ok(None);
    }
    Ok(Some(UserId::from(
        sso_codes::table
            .find((org_id, hash))
            .select(sso_codes::user_id)
            .first::<String>(conn)?,
    )))
}

/// Records a SAML assertion id until `expires_at`; `false` when it was already recorded (a
/// replay). Ids past their expiry are forgotten first: such an assertion is refused anyway.
pub fn remember_assertion(
    conn: &mut DbConnection,
    org_id: &OrgId,
    assertion_id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    diesel::delete(
        saml_assertions_seen::table
            .filter(saml_assertions_seen::org_id.eq(org_id))
            .filter(saml_assertions_seen::expires_at.le(now.naive_utc())),
    )
    .execute(conn)?;
    let seen = saml_assertions_seen::table
        .find((org_id, assertion_id))
        .count()
        .get_result::<i64>(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    match diesel::insert_into(saml_assertions_seen::table)
        .values((
            saml_assertions_seen::org_id.eq(org_id),
            saml_assertions_seen::assertion_id.eq(assertion_id),
            saml_assertions_seen::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) => match StoreError::unique_as(e, "replayed") {
            StoreError::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}

/// Every stored client secret, as stored: (organization, value).
pub fn stored_client_secrets(conn: &mut DbConnection) -> StoreResult<Vec<(OrgId, String)>> {
    Ok(sso_configs::table
        .filter(sso_configs::client_secret.is_not_null())
        .select((sso_configs::org_id, sso_configs::client_secret))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(org, s)| s.map(|s| (OrgId::from(org), s)))
        .collect())
}

/// Replaces an organization's stored client secret (sealed again under a new key).
pub fn replace_client_secret(
    conn: &mut DbConnection,
    org_id: &OrgId,
    stored: &str,
) -> StoreResult<()> {
    diesel::update(sso_configs::table.find(org_id))
        .set(sso_configs::client_secret.eq(stored))
        .execute(conn)?;
    Ok(())
}
