//! Authentication primitives: argon2id password hashes, signed access tokens, opaque refresh tokens.

pub mod jwt;
pub mod password;
pub mod refresh;
