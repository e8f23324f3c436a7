//! Short-lived access tokens: HS256 only, with `exp`, `nbf`, `aud` and `iss` always checked.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::accounts::Role;
use crate::domain::ids::{OrgId, UserId};

pub const ISSUER: &str = "reprise";
pub const AUDIENCE: &str = "reprise-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub org: String,
    /// The role when the token was issued. Requests act with the user's current role, which
    /// equals it while `ver` is current (a change of role raises the version).
    pub role: Role,
    /// The user's auth version when the token was issued: the token stops working once the
    /// user's version differs (a change of role, activation or password).
    pub ver: i64,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Signing and verification keys, built once at start-up.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// For unsubscribe tokens: their own audience, no expiry.
    unsubscribe: Validation,
    pub ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        // `ver` is required too, being a field without a default: a token without it is invalid.
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        // Time claims are checked against the service clock in `verify`, not the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let mut unsubscribe = Validation::new(Algorithm::HS256);
        unsubscribe.set_audience(&[UNSUBSCRIBE_AUDIENCE]);
        unsubscribe.set_issuer(&[ISSUER]);
        unsubscribe.set_required_spec_claims(&["aud", "iss", "sub"]);
        unsubscribe.validate_exp = false;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            unsubscribe,
            ttl_secs,
        }
    }

    /// A token for the user with `role` at auth version `version`.
    pub fn issue(
        &self,
        user_id: &UserId,
        org_id: &OrgId,
        role: Role,
        version: i64,
        now: i64,
    ) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            org: org_id.to_string(),
            role,
            ver: version,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Verifies signature, algorithm, audience and issuer, then validity at `now` (5 s leeway).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        const LEEWAY: i64 = 5;
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if now > claims.exp + LEEWAY {
            return Err(TokenError::Expired);
        }
        if now + LEEWAY < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

/// Audience of the tokens in e-mails' one-click unsubscribe links.
pub const UNSUBSCRIBE_AUDIENCE: &str = "reprise-unsubscribe";

#[derive(Serialize, Deserialize)]
struct UnsubscribeClaims {
    sub: String,
    org: String,
    iss: String,
    aud: String,
    iat: i64,
}

impl TokenKeys {
    /// A token that turns off one user's e-mail nudges and nothing else. It does not expire: an
    /// unsubscribe link must work whenever the message is read (RFC 8058).
    pub fn unsubscribe_token(&self, user_id: &UserId, org_id: &OrgId, now: i64) -> String {
        let claims = UnsubscribeClaims {
            sub: user_id.to_string(),
            org: org_id.to_string(),
            iss: ISSUER.into(),
            aud: UNSUBSCRIBE_AUDIENCE.into(),
            iat: now,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The organization and user of an unsubscribe token.
    pub fn verify_unsubscribe(&self, token: &str) -> Result<(OrgId, UserId), TokenError> {
        let claims = decode::<UnsubscribeClaims>(token, &self.decoding, &self.unsubscribe)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        Ok((OrgId::new(claims.org), UserId::new(claims.sub)))
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is invalid")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribe_and_access_tokens_are_not_each_other() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 900);
        let unsubscribe = keys.unsubscribe_token(&"u1".into(), &"o1".into(), 1_000_000);
        let (org, user) = keys.verify_unsubscribe(&unsubscribe).unwrap();
        assert_eq!((org.as_str(), user.as_str()), ("o1", "u1"));
        assert_eq!(
            keys.verify(&unsubscribe, 1_000_000).err(),
            Some(TokenError::Invalid)
        );
        let access = keys.issue(&"u1".into(), &"o1".into(), Role::Learner, 1, 1_000_000);
        assert!(keys.verify_unsubscribe(&access).is_err());
    }

    #[test]
    fn tokens_verify_within_their_life_only() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 900);
        let t = keys.issue(&"u1".into(), &"o1".into(), Role::Learner, 3, 1_000_000);
        let claims = keys.verify(&t, 1_000_100).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role, claims.ver),
            ("u1", Role::Learner, 3)
        );
        assert_eq!(
            keys.verify(&t, 1_000_000 + 906).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            keys.verify(&t, 999_000).unwrap_err(),
            TokenError::NotYetValid
        );
        let other = TokenKeys::new(b"another-secret-another-secret-00", 900);
        assert_eq!(
            other.verify(&t, 1_000_100).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn tokens_without_a_version_are_invalid() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let keys = TokenKeys::new(secret, 900);
        let claims = serde_json::json!({
            "sub": "u1", "org": "o1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE,
            "iat": 1_000_000, "nbf": 1_000_000, "exp": 1_000_900,
        });
        let header = Header::new(Algorithm::HS256);
        let token = encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(
            keys.verify(&token, 1_000_100).unwrap_err(),
            TokenError::Invalid
        );
    }
}
