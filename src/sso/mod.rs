//! Single sign-on as a service: an organization's identity provider (OpenID Connect or SAML 2.0),
//! the round trip of a sign-in through it, and the one-time code that hands the finished sign-in
//! to the console, which exchanges it for the usual token pair.
//!
//! A sign-in starts from an e-mail address (its domain names the organization, see
//! `docs/adr/0018-sso-email-domains.md`) or an organization's slug, goes to the provider with
//! what makes its answer checkable (OIDC: `state`, `nonce`, PKCE; SAML: the request's ID), and
//! comes back to Reprise, which checks the answer, creates or updates the member from the mapped
//! claims, and redirects the browser to the console's `#/sso/<code>`. Tokens never travel in a
//! URL: the code is single use, short-lived and stored only as its hash.

mod members;
pub mod oidc;
pub mod saml;
mod settings;

pub use settings::{NewConfig, SsoSettings};

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::accounts::access::AccessCache;
use crate::accounts::tokens::{Holder, Issuer, TokenPair};
use crate::auth::refresh;
use crate::domain::accounts::Email;
use crate::domain::ids::OrgId;
use crate::domain::sso::{EmailDomain, Identity, Protocol};
use crate::error::{ApiError, ApiResult};
use crate::outbound::Outbound;
use crate::secrets::SecretBox;
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
        // Each protocol makes its request and what its answer is checked against; the state
        // that ties the answer to this browser is kept hashed until the answer comes.
        let (attempt, state, location) = match config.protocol {
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
                (attempt, started.state, started.authorize_url)
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
                (attempt, relay_state, request.location)
            }
        };
        let id = refresh::digest(&state);
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
            location,
            state_cookie: Some(state),
        })
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
            roles: members::claim_values(&claims.other, config.mapping.role_claim.as_deref()),
            teams: members::claim_values(&claims.other, config.mapping.team_claim.as_deref()),
        };
        tracing::debug!(subject = %claims.subject, "ID token accepted");
        let code = refresh::generate(&org);
        let hash = code.hash.clone();
        let synced = self
            .database
            .run(move |conn| {
                store::write_tx(conn, |conn| {
                    members::provision(conn, &org, &config, identity, &hash, request_id, now)
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
                    members::provision(
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
