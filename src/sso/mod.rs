//! Single sign-on as a service: an organization's identity provider (OpenID Connect or SAML 2.0),
//! the round trip of a sign-in through it, and the one-time code that hands the finished sign-in
//! to the console, which exchanges it for the usual token pair.
//!
//! A sign-in starts from an e-mail address (its domain names the organization, see
//! `docs/adr/0017-sso-email-domains.md`) or an organization's slug, goes to the provider with
//! what makes its answer checkable (OIDC: `state`, `nonce`, PKCE; SAML: the request's ID), and
//! comes back to Reprise, which checks the answer, creates or updates the member from the mapped
//! claims, and redirects the browser to the console's `#/sso/<code>`. Tokens never travel in a
//! URL: the code is single use, short-lived and stored only as its hash.

pub mod oidc;
pub mod saml;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use serde_json::json;

use crate::accounts::access::AccessCache;
use crate::accounts::tokens::{Holder, Issuer, TokenPair};
use crate::auth::refresh;
use crate::auth::Caller;
use crate::domain::accounts::{Email, Role};
use crate::domain::ids::OrgId;
use crate::domain::sso::{EmailDomain, Identity, Mapping, Protocol};
use crate::error::{ApiError, ApiResult};
use crate::outbound::Outbound;
use crate::secrets::SecretBox;
use crate::store::audit::{self, Actor, Entry};
use crate::store::{self, accounts as account_store, sso as sso_store, Database};

/// How long a sign-in may stay at the provider before its answer is refused.
pub const ATTEMPT_TTL_SECS: i64 = 600;
/// How long the console has to exchange the code of a finished sign-in.
pub const CODE_TTL_SECS: i64 = 120;
/// The cookie that ties an OIDC answer to the browser that started the sign-in.
pub const STATE_COOKIE: &str = "reprise_sso_state";

/// The single sign-on service: shared by every request, keeps providers' discovery documents.
pub struct Sso {
    database: Database,
    outbound: Outbound,
    secrets: Arc<SecretBox>,
    public_url: String,
    providers: oidc::Providers,
}

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

/// Where a sign-in starts from.
pub enum StartFrom {
    Email(Email),
    Slug(String),
}

/// The browser's next stop, and the state cookie to set on the way (OIDC).
pub struct Redirect {
    pub location: String,
    pub state_cookie: Option<String>,
}

fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::Unauthorized(detail.into())
}

impl Sso {
    pub fn new(
        database: Database,
        outbound: Outbound,
        secrets: Arc<SecretBox>,
        public_url: String,
    ) -> Sso {
        Sso {
            database,
            outbound,
            secrets,
            public_url: public_url.trim_end_matches('/').to_string(),
            providers: oidc::Providers::default(),
        }
    }

    /// The OIDC redirect URI every organization registers at its provider.
    pub fn redirect_uri(&self) -> String {
        format!("{}/api/v1/auth/sso/callback", self.public_url)
    }

    /// The SAML assertion consumer service.
    pub fn acs_url(&self) -> String {
        format!("{}/api/v1/auth/saml/acs", self.public_url)
    }

    /// Reprise's SAML entity id for an organization (its metadata URL, as is customary).
    pub fn sp_entity_id(&self, slug: &str) -> String {
        format!("{}/api/v1/auth/saml/metadata?org={slug}", self.public_url)
    }

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

    /// The organization a sign-in starts for, with its configuration.
    async fn find(&self, from: StartFrom) -> ApiResult<(OrgId, String, sso_store::SsoConfig)> {
        let none = || {
            ApiError::NotFound(
                "no organization signs in with single sign-on for this address or name".into(),
            )
        };
        self.database
            .run(move |conn| {
                let org = match from {
                    StartFrom::Email(email) => {
                        let domain = EmailDomain::of_address(email.as_str()).ok_or_else(none)?;
                        sso_store::org_for_domain(conn, &domain)?.ok_or_else(none)?
                    }
                    StartFrom::Slug(slug) => match account_store::find_org_by_slug(conn, &slug) {
                        Ok(org) => org.id,
                        Err(store::StoreError::NotFound) => return Err(none()),
                        Err(e) => return Err(e.into()),
                    },
                };
                let slug = account_store::get_org(conn, &org)?.slug;
                let config = sso_store::config(conn, &org)?.ok_or_else(none)?;
                Ok((org, slug, config))
            })
            .await
    }

    /// Starts a sign-in: records it and returns the provider's sign-in page.
    pub async fn start(&self, from: StartFrom, now: DateTime<Utc>) -> ApiResult<Redirect> {
        let hint = match &from {
            StartFrom::Email(e) => Some(e.as_str().to_string()),
            StartFrom::Slug(_) => None,
        };
        let (org, slug, config) = self.find(from).await?;
        let expires = now + Duration::seconds(ATTEMPT_TTL_SECS);
        match config.protocol {
            Protocol::Oidc => {
                let secret = self.client_secret(&org, &config)?;
                let redirect_uri = self.redirect_uri();
                let rp = Self::relying(&config, &secret, &redirect_uri);
                let state = refresh::generate(&org).token;
                let started = self
                    .providers
                    .start(&self.outbound, &rp, state, hint.as_deref())
                    .await
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
                let attempt = sso_store::Attempt {
                    nonce: started.nonce,
                    pkce_verifier: started.pkce_verifier,
                };
                let id = refresh::digest(&started.state);
                self.database
                    .run(move |conn| {
                        store::write_tx(conn, |conn| {
                            Ok::<_, ApiError>(sso_store::insert_attempt(
                                conn, &org, &id, &attempt, expires, now,
                            )?)
                        })
                    })
                    .await?;
                Ok(Redirect {
                    location: started.authorize_url,
                    state_cookie: Some(started.state),
                })
            }
            Protocol::Saml => {
                let idp =
                    saml::IdpMetadata::parse(config.idp_metadata_xml.as_deref().unwrap_or(""))
                        .map_err(ApiError::Unavailable)?;
                let relay_state = short_state(&org);
                let request = saml::authn_request(
                    &idp,
                    &self.sp_entity_id(&slug),
                    &self.acs_url(),
                    &relay_state,
                )
                .map_err(ApiError::Unavailable)?;
                // The request's ID comes back as the answer's InResponseTo.
                let attempt = sso_store::Attempt {
                    nonce: request.id,
                    pkce_verifier: String::new(),
                };
                let id = refresh::digest(&relay_state);
                self.database
                    .run(move |conn| {
                        store::write_tx(conn, |conn| {
                            Ok::<_, ApiError>(sso_store::insert_attempt(
                                conn, &org, &id, &attempt, expires, now,
                            )?)
                        })
                    })
                    .await?;
                Ok(Redirect {
                    location: request.location,
                    state_cookie: Some(relay_state),
                })
            }
        }
    }

    fn client_secret(&self, org: &OrgId, config: &sso_store::SsoConfig) -> ApiResult<String> {
        let stored = config.client_secret.as_deref().unwrap_or_default();
        self.secrets
            .open(&sso_store::client_secret_context(org), stored)
            .map_err(|e| ApiError::Unavailable(format!("the client secret cannot be opened: {e}")))
    }

    fn relying<'a>(
        config: &'a sso_store::SsoConfig,
        secret: &'a str,
        redirect_uri: &'a str,
    ) -> oidc::Relying<'a> {
        oidc::Relying {
            issuer: config.issuer.as_deref().unwrap_or_default(),
            client_id: config.client_id.as_deref().unwrap_or_default(),
            client_secret: secret,
            redirect_uri,
        }
    }

    /// Finishes an OIDC sign-in: `state` must be one this server started, for this browser
    /// (`cookie_state`), not answered before and not expired; the code is exchanged and the ID
    /// token checked; the member is created or updated; the console gets a one-time code.
    pub async fn finish_oidc(
        &self,
        code: &str,
        state: &str,
        cookie_state: Option<&str>,
        access: &AccessCache,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        same_browser(state, cookie_state)?;
        let (org, _, attempt, config) = self.take_attempt(state, Protocol::Oidc, now).await?;
        let secret = self.client_secret(&org, &config)?;
        let redirect_uri = self.redirect_uri();
        let rp = Self::relying(&config, &secret, &redirect_uri);
        let claims = self
            .providers
            .finish(
                &self.outbound,
                &rp,
                code,
                &attempt.nonce,
                &attempt.pkce_verifier,
                now,
            )
            .await
            .map_err(|e| {
                tracing::info!(reason = %e, "OpenID Connect answer refused");
                match e {
                    oidc::OidcError::Provider(m) => ApiError::Unavailable(m),
                    oidc::OidcError::Refused(m) => refused(m),
                }
            })?;
        if claims.email_verified == Some(false) {
            return Err(refused(
                "the provider has not verified this person's e-mail address",
            ));
        }
        let identity = Identity {
            email: claims.email.unwrap_or_default(),
            name: claims.name,
            roles: claim_values(&claims.other, config.mapping.role_claim.as_deref()),
            teams: claim_values(&claims.other, config.mapping.team_claim.as_deref()),
        };
        tracing::debug!(subject = %claims.subject, "ID token accepted");
        let code = refresh::generate(&org);
        let hash = code.hash.clone();
        let synced = self
            .database
            .run(move |conn| {
                store::write_tx(conn, |conn| {
                    provision(conn, &org, &config, identity, &hash, request_id, now)
                })
            })
            .await?;
        Ok(self.signed_in(synced, access, &code.token))
    }

    /// Finishes a SAML sign-in at the assertion consumer service: the RelayState must name a
    /// sign-in this server started for this browser; the Response must answer its request and
    /// pass every check (see [`saml`]). The assertion id is recorded, the member created or
    /// updated and the one-time code stored in one transaction: a refused answer changes nothing.
    pub async fn finish_saml(
        &self,
        saml_response: String,
        relay_state: String,
        cookie_state: Option<&str>,
        access: &AccessCache,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        same_browser(&relay_state, cookie_state)?;
        let (org, slug, attempt, config) =
            self.take_attempt(&relay_state, Protocol::Saml, now).await?;
        let idp = saml::IdpMetadata::parse(config.idp_metadata_xml.as_deref().unwrap_or(""))
            .map_err(ApiError::Unavailable)?;
        let (sp_entity_id, acs_url) = (self.sp_entity_id(&slug), self.acs_url());
        let code = refresh::generate(&org);
        let hash = code.hash.clone();
        let synced = self
            .database
            .run(move |conn| {
                store::write_tx(conn, |conn| {
                    let answer = saml::Answer {
                        idp: &idp,
                        sp_entity_id: &sp_entity_id,
                        acs_url: &acs_url,
                        request_id: &attempt.nonce,
                        relay_state: &relay_state,
                        saml_response: &saml_response,
                        now,
                    };
                    let mut seen = saml::SeenAssertions {
                        remember: |key: &str, until: DateTime<Utc>| {
                            sso_store::remember_assertion(conn, &org, key, until, now)
                                .map_err(|e| e.to_string())
                        },
                    };
                    let accepted = saml::accept(
                        &answer,
                        &mut seen,
                        config.mapping.role_claim.as_deref(),
                        config.mapping.team_claim.as_deref(),
                    )
                    .map_err(|e| {
                        tracing::info!(reason = %e, "SAML response refused");
                        refused(format!("the SAML response was refused: {e}"))
                    })?;
                    tracing::debug!(name_id = %accepted.name_id, "SAML assertion accepted");
                    provision(
                        conn,
                        &org,
                        &config,
                        accepted.identity,
                        &hash,
                        request_id,
                        now,
                    )
                })
            })
            .await?;
        Ok(self.signed_in(synced, access, &code.token))
    }

    /// Takes the sign-in a `state` (OIDC) or RelayState (SAML) names: once, unexpired, for an
    /// organization whose provider still speaks `protocol`.
    async fn take_attempt(
        &self,
        state: &str,
        protocol: Protocol,
        now: DateTime<Utc>,
    ) -> ApiResult<(OrgId, String, sso_store::Attempt, sso_store::SsoConfig)> {
        let unknown =
            || refused("this sign-in is unknown, already finished or expired; start again");
        let org = OrgId::new(
            state
                .split_once('.')
                .map(|(o, _)| o)
                .filter(|o| o.len() <= 64)
                .ok_or_else(unknown)?,
        );
        let id = refresh::digest(state);
        let o = org.clone();
        let found = self
            .database
            .run(move |conn| {
                let attempt = sso_store::take_attempt(conn, &o, &id, now)?;
                let config = sso_store::config(conn, &o)?;
                let slug = match account_store::get_org(conn, &o) {
                    Ok(org) => Some(org.slug),
                    Err(store::StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                };
                Ok::<_, ApiError>((attempt, config, slug))
            })
            .await?;
        match found {
            (Some(attempt), Some(config), Some(slug)) if config.protocol == protocol => {
                Ok((org, slug, attempt, config))
            }
            _ => Err(unknown()),
        }
    }

    /// The console address carrying the code of a finished sign-in.
    fn signed_in(&self, synced: account_store::Synced, access: &AccessCache, code: &str) -> String {
        if synced.ended_logins {
            // This instance's cache still holds the old role.
            access.forget(&synced.user.org_id, &synced.user.id);
        }
        tracing::info!(
            user_id = %synced.user.id,
            created = synced.created,
            "signed in with single sign-on"
        );
        format!("{}/#/sso/{code}", self.public_url)
    }

    /// Exchanges a one-time code for a new login's token pair: once, within its life, while the
    /// account is active. The code is marked used in the transaction that issues the pair.
    pub async fn exchange(
        &self,
        issuer: &Issuer,
        code: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<TokenPair> {
        let invalid = || refused("the sign-in code is invalid, used or expired; sign in again");
        let org = OrgId::new(refresh::org_of(code).ok_or_else(invalid)?);
        let hash = refresh::digest(code);
        let issuer = issuer.clone();
        let pair = self
            .database
            .run(move |conn| {
                store::write_tx(conn, |conn| {
                    let Some(user) = sso_store::use_code(conn, &org, &hash, now)? else {
                        return Ok(None);
                    };
                    let access = account_store::user_access(conn, &org, &user)?;
                    let Some(access) = access.filter(|a| a.active) else {
                        return Ok(None);
                    };
                    let holder = Holder {
                        user_id: &user,
                        org_id: &org,
                        role: access.role,
                        version: access.version,
                    };
                    Ok::<_, ApiError>(Some(issuer.issue(conn, holder, None, now)?))
                })
            })
            .await?;
        pair.ok_or_else(invalid)
    }
}

/// Creates or updates the member the provider vouched for and stores the hash of a one-time
/// code for them, inside the caller's write transaction.
fn provision(
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
    // `teams` is null when the provider does not decide them.
    let after = json!({
        "email": user.email, "name": user.name, "role": user.role, "teams": teams,
        "protocol": config.protocol,
    });
    let entry = match &synced.previous {
        None => Entry::by(actor, "user.created", "user", user.id.as_str()).after(after),
        Some(before) => Entry::by(actor, "user.signed_in", "user", user.id.as_str())
            .before(json!({"name": before.name, "role": before.role}))
            .after(after),
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

/// The answer must come back to the browser that started the sign-in: its state cookie carries
/// the same value (a sign-in started elsewhere cannot be finished here, so nobody can sign a
/// victim in to the attacker's account).
fn same_browser(state: &str, cookie_state: Option<&str>) -> ApiResult<()> {
    if cookie_state != Some(state) {
        return Err(refused(
            "this sign-in was not started in this browser (its state does not match); start again",
        ));
    }
    Ok(())
}

/// A RelayState naming a sign-in: `<org id>.<128 random bits>`, within SAML's 80 bytes.
fn short_state(org: &OrgId) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{org}.{}", hex::encode(bytes))
}

/// The string values of a claim: a string, or the strings of a list.
fn claim_values(
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
