//! Pure domain logic: no actix, no diesel. Time and randomness come in as arguments.

pub mod accounts;
pub mod validation;
