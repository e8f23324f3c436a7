//! OpenID Connect with the `openidconnect` crate: discovery, the authorization code flow with
//! PKCE, `state` and `nonce`, and ID tokens checked for issuer, audience, expiry, nonce and
//! signature. Every request to the provider goes through [`Outbound`], so the egress policy, the
//! time limits and the response cap hold for identity providers as for any customer URL.
//!
//! A provider's discovery document and key set are kept for [`METADATA_TTL`]; an ID token signed
//! with a key the kept set does not list makes one fresh fetch of the set, so a provider that
//! rotated its keys is followed at once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthenticationFlow, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, HttpRequest, HttpResponse, IdToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::outbound::{Outbound, OutboundError};

/// How long a provider's discovery document and keys are used before being fetched again.
pub const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Why an OpenID Connect step failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered something unusable.
    #[error("the identity provider: {0}")]
    Provider(String),
    /// The provider's answer was refused (a bad ID token, a refused code).
    #[error("{0}")]
    Refused(String),
}

/// The openidconnect crate's client trait, on top of the guarded client.
pub struct ViaOutbound<'a>(pub &'a Outbound);

impl<'c> AsyncHttpClient<'c> for ViaOutbound<'_> {
    type Error = OutboundError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, OutboundError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.0.send(request))
    }
}

/// Every claim of an ID token beyond the standard ones, so admins can map any of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type FullIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The claims of an ID token that passed every check.
pub struct VerifiedClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Where the browser goes, and what must be kept until it comes back.
pub struct Started {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A relying party's settings for one organization.
pub struct Relying<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// Discovery documents (with their key sets) by issuer.
#[derive(Default)]
pub struct Providers {
    cache: Mutex<HashMap<String, (CoreProviderMetadata, Instant)>>,
}

impl Providers {
    /// The provider's discovery document with its keys: kept, or fetched when absent or old.
    pub async fn metadata(
        &self,
        outbound: &Outbound,
        issuer: &str,
    ) -> Result<CoreProviderMetadata, OidcError> {
        if let Some((m, at)) = self.cache.lock().expect("not poisoned").get(issuer) {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let url =
            IssuerUrl::new(issuer.to_string()).map_err(|e| OidcError::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(url, &ViaOutbound(outbound))
            .await
            .map_err(|e| OidcError::Provider(describe(&e)))?;
        self.keep(issuer, &metadata);
        Ok(metadata)
    }

    fn keep(&self, issuer: &str, metadata: &CoreProviderMetadata) {
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(issuer.to_string(), (metadata.clone(), Instant::now()));
    }

    /// The authorization URL for a new sign-in, with a fresh `state`, `nonce` and PKCE pair.
    /// `state` is made by the caller (it names the organization, see `sso::start`).
    pub async fn start(
        &self,
        outbound: &Outbound,
        rp: &Relying<'_>,
        state: String,
        login_hint: Option<&str>,
    ) -> Result<Started, OidcError> {
        let metadata = self.metadata(outbound, rp.issuer).await?;
        let client = client(metadata, rp)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let given_state = state.clone();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(given_state),
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, _, nonce) = request.url();
        Ok(Started {
            authorize_url: url.to_string(),
            state,
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier) and checks the ID token it brings; a token
    /// signed with a key not in the kept set fetches the set once more before it is refused.
    pub async fn finish(
        &self,
        outbound: &Outbound,
        rp: &Relying<'_>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<VerifiedClaims, OidcError> {
        let http = ViaOutbound(outbound);
        let mut metadata = self.metadata(outbound, rp.issuer).await?;
        let client = client(metadata.clone(), rp)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&http)
            .await
            .map_err(|e| OidcError::Refused(format!("the code was refused: {}", describe(&e))))?;
        let raw = response
            .id_token()
            .ok_or_else(|| OidcError::Refused("the provider sent no ID token".into()))?
            .to_string();
        let token: FullIdToken = raw
            .parse()
            .map_err(|_| OidcError::Refused("the ID token is not a JWT".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        match verify(&token, &client, &nonce, now) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &http)
                    .await
                    .map_err(|e| OidcError::Provider(describe(&e)))?;
                metadata = metadata.set_jwks(keys);
                self.keep(rp.issuer, &metadata);
                let client = self::client(metadata, rp)?;
                verify(&token, &client, &nonce, now)
            }
            other => other,
        }
        .map_err(|e| OidcError::Refused(format!("the ID token was refused: {e}")))
    }
}

type DiscoveredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(metadata: CoreProviderMetadata, rp: &Relying<'_>) -> Result<DiscoveredClient, OidcError> {
    let redirect = RedirectUrl::new(rp.redirect_uri.to_string())
        .map_err(|e| OidcError::Provider(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.to_string()),
        Some(ClientSecret::new(rp.client_secret.to_string())),
    )
    .set_redirect_uri(redirect))
}

fn verify(
    token: &FullIdToken,
    client: &DiscoveredClient,
    nonce: &Nonce,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<VerifiedClaims, openidconnect::ClaimsVerificationError> {
    // Expiry is judged by the server's clock, like every other deadline here.
    let verifier = client.id_token_verifier().set_time_fn(move || now);
    let claims = token.claims(&verifier, nonce)?;
    Ok(VerifiedClaims {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        other: claims.additional_claims().claims.clone(),
    })
}

/// An error with its causes, which the crate keeps apart.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
