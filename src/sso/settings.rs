//! The organization's single sign-on settings: shown to admins without the secret, saved once
//! every part is checked (domains, the provider answering), removed; each change on the audit log.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{saml, Sso};
use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::domain::ids::OrgId;
use crate::domain::sso::{EmailDomain, Mapping, Protocol};
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::{self, accounts as account_store, sso as sso_store};

/// An organization's provider as an admin configures it, every field checked.
pub struct NewConfig {
    pub protocol: Protocol,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub idp_metadata_xml: Option<String>,
    pub email_domains: Vec<EmailDomain>,
    pub mapping: Mapping,
    pub allow_password_login: bool,
}

/// The organization's single sign-on, as shown to its admins: never the client secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoSettings {
    pub protocol: Protocol,
    /// OIDC: the provider's issuer URL.
    pub issuer: Option<String>,
    /// OIDC: Reprise's client id at the provider.
    pub client_id: Option<String>,
    /// OIDC: whether a client secret is stored (it is never shown).
    pub client_secret_set: bool,
    /// SAML: the provider's metadata as saved.
    pub idp_metadata_xml: Option<String>,
    pub email_domains: Vec<String>,
    pub default_role: Role,
    pub role_claim: Option<String>,
    pub role_map: BTreeMap<String, Role>,
    pub team_claim: Option<String>,
    pub allow_password_login: bool,
    /// OIDC: the redirect URI to register at the provider.
    pub redirect_uri: String,
    /// SAML: the assertion consumer service URL to register at the provider.
    pub acs_url: String,
    /// SAML: Reprise's entity id and metadata for this organization.
    pub sp_entity_id: String,
    pub sp_metadata_url: String,
    pub updated_at: DateTime<Utc>,
}

impl Sso {
    fn settings_of(&self, slug: &str, c: sso_store::SsoConfig) -> SsoSettings {
        SsoSettings {
            protocol: c.protocol,
            issuer: c.issuer,
            client_id: c.client_id,
            client_secret_set: c.client_secret.is_some(),
            idp_metadata_xml: c.idp_metadata_xml,
            email_domains: c.email_domains,
            default_role: c.mapping.default_role,
            role_claim: c.mapping.role_claim,
            role_map: c.mapping.role_map,
            team_claim: c.mapping.team_claim,
            allow_password_login: c.allow_password_login,
            redirect_uri: self.redirect_uri(),
            acs_url: self.acs_url(),
            sp_entity_id: self.sp_entity_id(slug),
            sp_metadata_url: self.sp_entity_id(slug),
            updated_at: c.updated_at,
        }
    }

    /// The organization's single sign-on, if configured.
    pub async fn settings(&self, org_id: &OrgId) -> ApiResult<Option<SsoSettings>> {
        let org = org_id.clone();
        let (slug, config) = self
            .database
            .run(move |conn| {
                let slug = account_store::get_org(conn, &org)?.slug;
                Ok::<_, ApiError>((slug, sso_store::config(conn, &org)?))
            })
            .await?;
        Ok(config.map(|c| self.settings_of(&slug, c)))
    }

    /// Saves the organization's provider. Each domain must be one an active admin of the
    /// organization has an address at, and no other organization's; the provider must answer
    /// (OIDC discovery) or its metadata must parse (SAML), so a mistake is a 422 naming the field
    /// now rather than a failed sign-in later.
    pub async fn configure(
        &self,
        caller: &Caller,
        new: NewConfig,
        now: DateTime<Utc>,
    ) -> ApiResult<SsoSettings> {
        let org_id = &caller.org_id;
        let org = org_id.clone();
        let (admins, current) = self
            .database
            .run(move |conn| {
                Ok::<_, ApiError>((
                    sso_store::admin_addresses(conn, &org)?,
                    sso_store::config(conn, &org)?,
                ))
            })
            .await?;
        // A change to other settings of the same client keeps the stored secret.
        let kept_secret = current
            .filter(|c| {
                new.protocol == Protocol::Oidc
                    && c.protocol == Protocol::Oidc
                    && c.issuer == new.issuer
                    && c.client_id == new.client_id
            })
            .and_then(|c| c.client_secret);
        if new.protocol == Protocol::Oidc && new.client_secret.is_none() && kept_secret.is_none() {
            return Err(ApiError::field(
                "client_secret",
                "is required for OpenID Connect (it is kept only while issuer and client_id stay the same)",
            ));
        }
        let admin_domains: Vec<EmailDomain> = admins
            .iter()
            .filter_map(|a| EmailDomain::of_address(a))
            .collect();
        for domain in &new.email_domains {
            if !admin_domains.contains(domain) {
                return Err(ApiError::field(
                    "email_domains",
                    format!(
                        "no active admin of this organization has an address at {}; an admin \
                         of the organization must use each domain",
                        domain.as_str()
                    ),
                ));
            }
        }
        match new.protocol {
            Protocol::Oidc => {
                let issuer = new.issuer.as_deref().unwrap_or_default();
                self.outbound
                    .check_destination(issuer)
                    .await
                    .map_err(|e| ApiError::field("issuer", e.to_string()))?;
                self.providers
                    .metadata(&self.outbound, issuer)
                    .await
                    .map_err(|e| ApiError::field("issuer", format!("discovery failed: {e}")))?;
            }
            Protocol::Saml => {
                let xml = new.idp_metadata_xml.as_deref().unwrap_or_default();
                saml::IdpMetadata::parse(xml)
                    .map_err(|e| ApiError::field("idp_metadata_xml", e))?;
            }
        }
        let secret_given = new.client_secret.is_some();
        let config = sso_store::SsoConfig {
            protocol: new.protocol,
            issuer: new.issuer,
            client_id: new.client_id,
            client_secret: match new.client_secret {
                Some(s) => Some(
                    self.secrets
                        .seal(&sso_store::client_secret_context(org_id), &s),
                ),
                None => kept_secret,
            },
            idp_metadata_xml: new.idp_metadata_xml,
            email_domains: new
                .email_domains
                .iter()
                .map(|d| d.as_str().to_string())
                .collect(),
            mapping: new.mapping,
            allow_password_login: new.allow_password_login,
            updated_at: now,
        };
        let org = org_id.clone();
        let domains = new.email_domains;
        let actor = caller.clone();
        let (slug, saved) = self
            .database
            .run(move |conn| {
                store::write_tx(conn, |conn| {
                    let slug = account_store::get_org(conn, &org)?.slug;
                    let before = sso_store::config(conn, &org)?;
                    if let Err(sso_store::SaveRefusal::DomainTaken(d)) =
                        sso_store::save_config(conn, &org, &config, &domains, now)?
                    {
                        return Err(ApiError::field(
                            "email_domains",
                            format!("{d} signs in with another organization's provider"),
                        ));
                    }
                    let saved = sso_store::config(conn, &org)?;
                    let mut after = saved.as_ref().map(audited).unwrap_or_default();
                    after["client_secret_replaced"] = json!(secret_given);
                    let mut entry =
                        Entry::by(&actor, "sso.configured", "organization", org.as_str())
                            .after(after);
                    if let Some(before) = &before {
                        entry = entry.before(audited(before));
                    }
                    audit::record(conn, &org, &entry, now)?;
                    Ok((slug, saved))
                })
            })
            .await?;
        tracing::info!(
            protocol = new.protocol.as_str(),
            "single sign-on configured"
        );
        let saved = saved.ok_or_else(|| {
            ApiError::Concurrent("single sign-on was turned off meanwhile".into())
        })?;
        Ok(self.settings_of(&slug, saved))
    }

    /// Turns single sign-on off; members log in with passwords again. `false` when it was off.
    pub async fn remove(&self, caller: &Caller, now: DateTime<Utc>) -> ApiResult<bool> {
        let actor = caller.clone();
        let removed = self
            .database
            .run(move |conn| {
                store::write_tx(conn, |conn| {
                    let org = &actor.org_id;
                    let Some(before) = sso_store::config(conn, org)? else {
                        return Ok(false);
                    };
                    sso_store::delete_config(conn, org)?;
                    let entry = Entry::by(&actor, "sso.removed", "organization", org.as_str())
                        .before(audited(&before));
                    audit::record(conn, org, &entry, now)?;
                    Ok::<_, ApiError>(true)
                })
            })
            .await?;
        tracing::info!("single sign-on turned off");
        Ok(removed)
    }

    /// Reprise's SAML service provider metadata for the organization with this slug.
    pub async fn sp_metadata(&self, slug: &str) -> ApiResult<String> {
        let given = slug.to_string();
        let known = self
            .database
            .run(
                move |conn| match account_store::find_org_by_slug(conn, &given) {
                    Ok(_) => Ok(true),
                    Err(store::StoreError::NotFound) => Ok(false),
                    Err(e) => Err(ApiError::from(e)),
                },
            )
            .await?;
        if !known {
            return Err(ApiError::NotFound("no organization has this slug".into()));
        }
        saml::sp_metadata(&self.sp_entity_id(slug), &self.acs_url()).map_err(ApiError::Unavailable)
    }
}

/// What the audit log keeps of the settings: everything shown to admins, never the secret.
fn audited(c: &sso_store::SsoConfig) -> serde_json::Value {
    json!({
        "protocol": c.protocol,
        "issuer": c.issuer,
        "client_id": c.client_id,
        "idp_entity_id": c
            .idp_metadata_xml
            .as_deref()
            .and_then(|x| saml::IdpMetadata::parse(x).ok())
            .map(|m| m.entity_id().to_string()),
        "email_domains": c.email_domains,
        "default_role": c.mapping.default_role,
        "role_claim": c.mapping.role_claim,
        "role_map": c.mapping.role_map,
        "team_claim": c.mapping.team_claim,
        "allow_password_login": c.allow_password_login,
    })
}
