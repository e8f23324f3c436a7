//! SAML 2.0 service provider with the `saml-rs` crate (pure Rust; XML signatures through
//! `bergshamra`, so no libxml2 or xmlsec1): Reprise's metadata per organization, the
//! AuthnRequest sent by HTTP-Redirect, and the Response received by HTTP-POST at the assertion
//! consumer service. The crate checks the signature against the certificate of the metadata the
//! admin saved, the issuer, audience, destination, recipient, `InResponseTo` and the time window;
//! Reprise requires the assertion itself to be signed and keeps every assertion id until it
//! expires, so an assertion is accepted once.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use saml_rs::{
    AcsEndpoint, AssertionSignaturePolicy, AudienceValidationPolicy, BrowserInput, EntityId,
    FormField, IdpDescriptor, MetadataTrustPolicy, Pending, PendingSnapshot, RelayStateParam,
    ReplayCache, ReplayKey, ReplayPolicy, Saml, SamlError, SamlValidationContext, Sp, SpConfig,
    SpValidationPolicy, SsoResponse, StartSso,
};

use crate::domain::sso::Identity;

/// An identity provider's metadata as an admin pasted it, parsed.
pub struct IdpMetadata {
    descriptor: IdpDescriptor,
}

impl IdpMetadata {
    /// Parses the provider's metadata; the message says what is wrong with it.
    pub fn parse(xml: &str) -> Result<IdpMetadata, String> {
        if xml.trim().is_empty() {
            return Err("paste the identity provider's SAML metadata XML".into());
        }
        // The admin pastes the metadata from the provider's console: it is trusted as the admin's
        // own statement, the way a pasted certificate would be.
        let descriptor =
            IdpDescriptor::from_metadata_xml(xml, MetadataTrustPolicy::UnsignedForCompatibility)
                .map_err(|e| format!("is not usable SAML metadata: {e}"))?;
        Ok(IdpMetadata { descriptor })
    }

    pub fn entity_id(&self) -> &str {
        self.descriptor.entity_id().as_str()
    }
}

/// Reprise as the service provider of one organization.
pub fn service_provider(entity_id: &str, acs_url: &str) -> Result<Saml<Sp>, String> {
    let policy = SpValidationPolicy {
        assertions: AssertionSignaturePolicy::RequireSigned,
        audience: AudienceValidationPolicy::Validate,
        ..SpValidationPolicy::recommended()
    };
    let config = SpConfig::builder(EntityId::try_new(entity_id).map_err(text)?)
        .acs_endpoint(AcsEndpoint::post(acs_url).map_err(text)?)
        .validation(policy)
        .build()
        .map_err(text)?;
    Saml::sp(config).map_err(text)
}

fn text(e: SamlError) -> String {
    e.to_string()
}

/// Reprise's SP metadata for an organization.
pub fn sp_metadata(entity_id: &str, acs_url: &str) -> Result<String, String> {
    Ok(service_provider(entity_id, acs_url)?
        .metadata_xml()
        .to_string())
}

/// An AuthnRequest on its way: its ID (kept until the answer) and the provider URL carrying it.
pub struct AuthnRequest {
    pub id: String,
    pub location: String,
}

/// The AuthnRequest of a new sign-in, by HTTP-Redirect; `relay_state` comes back with the
/// answer and names the sign-in.
pub fn authn_request(
    idp: &IdpMetadata,
    sp_entity_id: &str,
    acs_url: &str,
    relay_state: &str,
) -> Result<AuthnRequest, String> {
    let sp = service_provider(sp_entity_id, acs_url)?;
    let relay = RelayStateParam::try_from_option(Some(relay_state.to_string())).map_err(text)?;
    let started = sp
        .start_sso(&idp.descriptor, StartSso::redirect().relay_state(relay))
        .map_err(text)?;
    Ok(AuthnRequest {
        id: started.pending.id().as_str().to_string(),
        location: started.outbound.redirect_url().map_err(text)?.to_string(),
    })
}

/// What the assertion consumer service needs to check an answer.
pub struct Answer<'a> {
    pub idp: &'a IdpMetadata,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub request_id: &'a str,
    pub relay_state: &'a str,
    pub saml_response: &'a str,
    pub now: DateTime<Utc>,
}

/// A verified answer: who signed in, and when their assertion expires.
pub struct Accepted {
    pub identity: Identity,
    pub name_id: String,
}

/// Checks a Response posted to the ACS against the request it answers; `seen` records the
/// assertion id (refusing one already recorded). The message of an error says why, for logs.
pub fn accept(
    answer: &Answer<'_>,
    seen: &mut dyn ReplayCache,
    role_attribute: Option<&str>,
    team_attribute: Option<&str>,
) -> Result<Accepted, String> {
    let sp = service_provider(answer.sp_entity_id, answer.acs_url)?;
    let relay =
        RelayStateParam::try_from_option(Some(answer.relay_state.to_string())).map_err(text)?;
    let snapshot = PendingSnapshot::<saml_rs::AuthnRequest>::authn_request(
        answer.request_id,
        relay,
        answer.idp.entity_id(),
        "post",
        answer.acs_url,
        "post",
    );
    let pending = Pending::<saml_rs::AuthnRequest>::from_snapshot(snapshot).map_err(text)?;
    let fields = vec![
        FormField::new("SAMLResponse", answer.saml_response),
        FormField::new("RelayState", answer.relay_state),
    ];
    let now = SystemTime::UNIX_EPOCH
        + Duration::from_millis(u64::try_from(answer.now.timestamp_millis()).unwrap_or(0));
    let validation = SamlValidationContext::new(now, ReplayPolicy::RequireCache(seen))
        .with_replay_retention(Duration::from_secs(crate::sso::ATTEMPT_TTL_SECS as u64));
    let session = sp
        .finish_sso(
            &answer.idp.descriptor,
            &pending,
            BrowserInput::<SsoResponse>::post(fields),
            validation,
        )
        .map_err(text)?;
    let values = |name: Option<&str>| -> Vec<String> {
        name.and_then(|n| session.attributes().get(n))
            .map(|a| a.values().iter().map(|v| v.as_str().to_string()).collect())
            .unwrap_or_default()
    };
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| values(Some(n)).into_iter().next())
    };
    let name_id = session.name_id().value().to_string();
    let email = first(&[
        "email",
        "mail",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ])
    .unwrap_or_else(|| name_id.clone());
    let name = first(&[
        "name",
        "displayName",
        "http://schemas.microsoft.com/identity/claims/displayname",
    ]);
    Ok(Accepted {
        identity: Identity {
            email,
            name,
            roles: values(role_attribute),
            teams: values(team_attribute),
        },
        name_id,
    })
}

/// Assertion ids seen, as the crate asks for them: the store keeps them (see
/// `store::sso::remember_assertion`); this adapter runs inside the ACS transaction.
pub struct SeenAssertions<F: FnMut(&str, DateTime<Utc>) -> Result<bool, String>> {
    pub remember: F,
}

impl<F: FnMut(&str, DateTime<Utc>) -> Result<bool, String>> ReplayCache for SeenAssertions<F> {
    fn check_and_store(&mut self, key: ReplayKey, expires_at: SystemTime) -> Result<(), SamlError> {
        let until: DateTime<Utc> = expires_at.into();
        match (self.remember)(&key.cache_key(), until) {
            Ok(true) => Ok(()),
            Ok(false) => Err(SamlError::ReplayDetected {
                key: key.cache_key(),
            }),
            Err(e) => Err(SamlError::Invalid(e)),
        }
    }
}
