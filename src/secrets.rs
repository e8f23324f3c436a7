//! Third-party secrets at rest (an organization's LRS password, its webhooks' signing secrets
//! and its identity provider's client secret), sealed with AES-256-GCM under a key from the environment
//! (`REPRISE_SECRET_KEY`), so a copy of the database or of a backup does not give them away.
//!
//! A sealed value reads `v1.<key id>.<nonce and ciphertext, base64url>`. The key id (the first
//! bytes of the key's SHA-256) says which key sealed it, so keys can be rotated: the new key goes
//! in `REPRISE_SECRET_KEY`, the old ones in `REPRISE_SECRET_KEY_PREVIOUS`, and
//! `reprise secrets rotate` seals every stored secret again under the new key. Each value is
//! bound to what it is (its `context`, e.g. the organization and field), so a sealed value copied
//! into another row does not open. Values stored before sealing existed (no `v1.` prefix) are
//! read as they are until the next rotation seals them.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1";
const NONCE_BYTES: usize = 12;

/// Why a stored secret could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("sealed with key {0}, which is neither REPRISE_SECRET_KEY nor in REPRISE_SECRET_KEY_PREVIOUS")]
    UnknownKey(String),
    #[error("a sealed secret is damaged or belongs elsewhere")]
    Damaged,
    #[error("{0}")]
    BadKey(String),
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Key, SecretError> {
        let cipher = Aes256Gcm::new_from_slice(bytes)
            .map_err(|_| SecretError::BadKey("a secret key must be 32 bytes".into()))?;
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        Ok(Key { id, cipher })
    }
}

/// The current key, and earlier ones that still open what they sealed.
pub struct SecretBox {
    current: Key,
    previous: Vec<Key>,
}

impl SecretBox {
    /// From 32-byte keys.
    pub fn new(current: &[u8], previous: &[Vec<u8>]) -> Result<SecretBox, SecretError> {
        Ok(SecretBox {
            current: Key::new(current)?,
            previous: previous
                .iter()
                .map(|k| Key::new(k))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Reads a key as written in the environment: 64 hex digits, or 32 bytes in base64.
    pub fn parse_key(text: &str) -> Result<Vec<u8>, SecretError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .or_else(|| URL_SAFE_NO_PAD.decode(text).ok())
            .ok_or_else(|| {
                SecretError::BadKey("write the key as 64 hex digits or 32 bytes of base64".into())
            })?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey(format!(
                "the key is {} bytes; it must be 32",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// A fresh random key, hex-encoded (what `REPRISE_SECRET_KEY` takes).
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// Seals `plain` under the current key, bound to `context`.
    pub fn seal(&self, context: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message of this size");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!(
            "{PREFIX}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// Opens a stored value sealed for `context` (a value stored before sealing is returned
    /// as it is).
    pub fn open(&self, context: &str, stored: &str) -> Result<String, SecretError> {
        let Some(rest) = stored.strip_prefix("v1.") else {
            return Ok(stored.to_string());
        };
        let (id, body) = rest.split_once('.').ok_or(SecretError::Damaged)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_string()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SecretError::Damaged)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SecretError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plain).map_err(|_| SecretError::Damaged)
    }

    /// Whether `stored` is sealed under the current key (else `reprise secrets rotate` seals it
    /// again).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix("v1.")
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(id, _)| id == self.current.id)
    }
}

/// Seals every stored secret again under the current key (`reprise secrets rotate`), in one
/// transaction: all or nothing. Returns how many were sealed again; those already under the
/// current key are left as they are.
pub fn reseal_all(
    conn: &mut crate::store::DbConnection,
    secrets: &SecretBox,
) -> anyhow::Result<usize> {
    use crate::store::{self, sso, webhooks, xapi};
    store::write_tx(conn, |conn| {
        let mut resealed = 0;
        for (org, stored) in xapi::stored_lrs_passwords(conn)? {
            if secrets.is_current(&stored) {
                continue;
            }
            let context = xapi::lrs_password_context(&org);
            let plain = secrets
                .open(&context, &stored)
                .map_err(|e| anyhow::anyhow!("organization {org}'s LRS password: {e}"))?;
            xapi::replace_lrs_password(conn, &org, &secrets.seal(&context, &plain))?;
            resealed += 1;
        }
        for (org, id, stored) in webhooks::stored_secrets(conn)? {
            if secrets.is_current(&stored) {
                continue;
            }
            let context = crate::webhooks::secret_context(&org, &id);
            let plain = secrets
                .open(&context, &stored)
                .map_err(|e| anyhow::anyhow!("organization {org}'s webhook {id}: {e}"))?;
            webhooks::replace_secret(conn, &org, &id, &secrets.seal(&context, &plain))?;
            resealed += 1;
        }
        for (org, stored) in sso::stored_client_secrets(conn)? {
            if secrets.is_current(&stored) {
                continue;
            }
            let context = sso::client_secret_context(&org);
            let plain = secrets
                .open(&context, &stored)
                .map_err(|e| anyhow::anyhow!("organization {org}'s SSO client secret: {e}"))?;
            sso::replace_client_secret(conn, &org, &secrets.seal(&context, &plain))?;
            resealed += 1;
        }
        Ok(resealed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Vec<u8> {
        vec![n; 32]
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let secrets = SecretBox::new(&key(1), &[]).unwrap();
        let sealed = secrets.seal("org-1:lrs_password", "hunter2");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            secrets.seal("org-1:lrs_password", "hunter2"),
            "fresh nonces"
        );
        assert_eq!(
            secrets.open("org-1:lrs_password", &sealed).unwrap(),
            "hunter2"
        );
        assert_eq!(
            secrets.open("org-2:lrs_password", &sealed),
            Err(SecretError::Damaged),
            "a value copied into another organization does not open"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            secrets.open("org-1:lrs_password", &tampered),
            Err(SecretError::Damaged)
        );
        let stranger = SecretBox::new(&key(9), &[]).unwrap();
        assert!(matches!(
            stranger.open("org-1:lrs_password", &sealed),
            Err(SecretError::UnknownKey(_))
        ));
        // Stored before sealing existed: read as it is.
        assert_eq!(
            secrets.open("x", "plain-password").unwrap(),
            "plain-password"
        );
    }

    #[test]
    fn rotated_keys_still_open_what_they_sealed() {
        let old = SecretBox::new(&key(1), &[]).unwrap();
        let sealed = old.seal("c", "s3cret");
        let rotated = SecretBox::new(&key(2), &[key(1)]).unwrap();
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open("c", &sealed).unwrap(), "s3cret");
        let again = rotated.seal("c", "s3cret");
        assert!(rotated.is_current(&again));
    }

    #[test]
    fn keys_are_read_as_hex_or_base64_of_32_bytes() {
        let hex_key = SecretBox::generate_key();
        assert_eq!(SecretBox::parse_key(&hex_key).unwrap().len(), 32);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(SecretBox::parse_key(&b64).unwrap(), vec![7u8; 32]);
        assert!(SecretBox::parse_key("abcd").is_err());
        assert!(SecretBox::parse_key("not a key").is_err());
    }
}
