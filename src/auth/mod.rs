//! Authentication primitives: argon2id password hashes, signed access tokens, opaque refresh
//! tokens, and the caller a request acts for.

pub mod caller;
pub mod jwt;
pub mod password;
pub mod refresh;

pub use caller::Caller;
