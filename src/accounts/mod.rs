//! Accounts as a service: signing up an organization, logging in, refresh-token rotation and
//! logout, user and team administration, and which teams a manager's role reaches.
//!
//! Apart from the brief per-instance cache of users' access (`access`), which every
//! authenticated request reads, nothing here is kept between requests, so the flows are plain
//! functions. Getting in and out
//! (sign-up, login, refresh, logout) and the flows that hash a password take the
//! [`Database`](crate::store::Database) and are async: a hash runs on the blocking pool without
//! holding a connection, then the writes take one. The others take a connection, like the store
//! functions they combine. Handlers parse the request into the types below, call one flow, and
//! render its result.

pub mod access;
pub mod credentials;
pub mod organization;
pub mod passwords;
pub mod personal_data;
pub mod provisioning;
pub mod roster;
pub mod scope;
pub mod sign_in;
pub mod teams;
pub mod tokens;
pub mod users;
