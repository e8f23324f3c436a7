//! Opaque refresh tokens: `<org id>.<256 random bits>`. Only their SHA-256 is stored; the org
//! prefix lets the lookup stay inside one tenant's rows.

use crate::domain::ids::OrgId;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub struct NewRefreshToken {
    pub token: String,
    pub hash: String,
}

pub fn generate(org_id: &OrgId) -> NewRefreshToken {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{org_id}.{}", hex::encode(secret));
    let hash = digest(&token);
    NewRefreshToken { token, hash }
}

pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The organization a presented token claims to belong to, if it is shaped like one of ours.
pub fn org_of(token: &str) -> Option<&str> {
    let (org, secret) = token.split_once('.')?;
    (secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()) && org.len() <= 64)
        .then_some(org)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_carry_their_org_and_hash_stably() {
        let t = super::generate(&"org-1".into());
        assert_eq!(super::org_of(&t.token), Some("org-1"));
        assert_eq!(super::digest(&t.token), t.hash);
        assert_eq!(super::org_of("org-1.short"), None);
        assert_eq!(super::org_of("garbage"), None);
    }
}
