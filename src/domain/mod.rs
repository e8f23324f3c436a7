//! Pure domain logic: no actix, no diesel. Time and randomness come in as arguments.

pub mod accounts;
pub mod analytics;
pub mod assignments;
pub mod audit;
pub mod calendar;
pub mod catalog;
pub mod content;
pub mod egress;
pub mod eval;
pub mod grading;
pub mod ids;
pub mod item_analysis;
pub mod nudges;
pub mod numbers;
pub mod progress;
pub mod queue;
pub mod recall_weeks;
pub mod roster;
pub mod scheduler;
pub mod scim;
pub mod spreadsheet;
pub mod sso;
pub mod teams;
pub mod validation;
pub mod webhooks;
pub mod xapi;
