//! Web Push (RFC 8030) with VAPID (RFC 8292) and `aes128gcm` message encryption (RFC 8291).
//!
//! Encryption is the `web-push-native` crate's. The VAPID token is signed here with
//! `jsonwebtoken` (ES256) rather than by that crate, whose audience drops the endpoint's port:
//! the audience must be the endpoint's origin, port included when it is not the default.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;
use url::Url;

use crate::domain::validation::FieldError;

/// How long a push service keeps an undelivered nudge (it is about today).
pub const TTL_SECS: u64 = 12 * 3600;
/// A newer nudge replaces an undelivered older one at the push service (RFC 8030 §5.4), and a
/// nudge sent twice after a crash reaches the device once.
pub const TOPIC: &str = "reprise-nudge";

/// The server's VAPID key pair and the contact it signs with.
pub struct Vapid {
    encoding: EncodingKey,
    /// The public key, uncompressed and base64url: what browsers subscribe with.
    public: String,
    subject: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Key(String),
    #[error("the subscription's {}: {}", .0.field, .0.message)]
    Subscription(FieldError),
    #[error("the endpoint is not a URL")]
    Endpoint,
    #[error("could not encrypt: {0}")]
    Encrypt(String),
}

impl Vapid {
    /// From the private key as written in `REPRISE_VAPID_PRIVATE_KEY`: the 32-byte P-256 scalar
    /// in base64url (the form `web-push generate-vapid-keys` and most tools print).
    pub fn from_private_key(text: &str, subject: &str) -> Result<Vapid, PushError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| PushError::Key("the VAPID private key is not base64url".into()))?;
        let secret = p256::SecretKey::from_slice(&bytes)
            .map_err(|_| PushError::Key("the VAPID private key is not a P-256 scalar".into()))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| PushError::Key(e.to_string()))?;
        let public = secret.public_key().as_affine().to_encoded_point(false);
        Ok(Vapid {
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            public: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            subject: subject.to_string(),
        })
    }

    /// A new private key, base64url, for `REPRISE_VAPID_PRIVATE_KEY`.
    pub fn generate_private_key() -> String {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        URL_SAFE_NO_PAD.encode(secret.to_bytes())
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a request to `endpoint`: a token for the endpoint's
    /// origin, valid 12 hours (RFC 8292 allows at most 24).
    fn authorization(&self, endpoint: &Url, now: DateTime<Utc>) -> Result<String, PushError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: String,
            exp: i64,
            sub: &'a str,
        }
        let claims = Claims {
            aud: endpoint.origin().ascii_serialization(),
            exp: now.timestamp() + 12 * 3600,
            sub: &self.subject,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.encoding)
            .map_err(|e| PushError::Key(e.to_string()))?;
        Ok(format!("vapid t={token}, k={}", self.public))
    }

    /// The request that delivers `payload` to a subscription: its URL, headers and encrypted
    /// body.
    pub fn request(
        &self,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PushRequest, PushError> {
        let url = Url::parse(endpoint).map_err(|_| PushError::Endpoint)?;
        let uri: http::Uri = endpoint.parse().map_err(|_| PushError::Endpoint)?;
        let (key, secret) = subscription_keys(p256dh, auth).map_err(PushError::Subscription)?;
        let built = web_push_native::WebPushBuilder::new(uri, key, secret)
            .with_valid_duration(std::time::Duration::from_secs(TTL_SECS))
            .build(payload.to_vec())
            .map_err(|e| PushError::Encrypt(e.to_string()))?;
        let mut headers: Vec<(String, String)> = built
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        headers.push(("authorization".into(), self.authorization(&url, now)?));
        headers.push(("topic".into(), TOPIC.into()));
        headers.push(("urgency".into(), "normal".into()));
        Ok(PushRequest {
            url: endpoint.to_string(),
            headers,
            body: built.into_body(),
        })
    }
}

/// An encrypted push message, ready for the guarded client.
pub struct PushRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A subscription's keys as the browser sent them (base64url): `p256dh` a P-256 point, `auth`
/// 16 bytes. A bad one is a [`FieldError`] naming it as the subscription JSON does.
pub fn subscription_keys(
    p256dh: &str,
    auth: &str,
) -> Result<(p256::PublicKey, web_push_native::Auth), FieldError> {
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok();
    let key = decode(p256dh)
        .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
        .ok_or_else(|| FieldError::new("keys.p256dh", "is not a P-256 public key in base64url"))?;
    let secret = decode(auth)
        .filter(|a| a.len() == 16)
        .ok_or_else(|| FieldError::new("keys.auth", "is not 16 bytes in base64url"))?;
    Ok((key, *web_push_native::Auth::from_slice(&secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_reads_back_with_its_public_half() {
        let private = Vapid::generate_private_key();
        let vapid = Vapid::from_private_key(&private, "mailto:ops@example.com").unwrap();
        let public = URL_SAFE_NO_PAD.decode(vapid.public_key()).unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4, "uncompressed point");
        assert!(Vapid::from_private_key("not a key", "mailto:x@y.z").is_err());
    }

    #[test]
    fn the_vapid_audience_is_the_endpoints_origin() {
        let vapid =
            Vapid::from_private_key(&Vapid::generate_private_key(), "mailto:a@b.c").unwrap();
        let header = vapid
            .authorization(
                &Url::parse("https://push.example.com:8443/send/abc").unwrap(),
                Utc::now(),
            )
            .unwrap();
        let token = header
            .strip_prefix("vapid t=")
            .and_then(|h| h.split(',').next())
            .unwrap();
        let claims = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.com:8443");
        assert_eq!(claims["sub"], "mailto:a@b.c");
    }
}
