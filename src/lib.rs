//! Reprise: reinforcement after sales training. The library builds the whole service so that the
//! binary and the integration tests start exactly the same thing.

pub mod analytics;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod catalog_files;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod forwarder;
pub mod http;
pub mod learning;
pub mod startup;
pub mod store;
pub mod telemetry;

/// [`analytics::recall_weeks`] at its earlier path, where `reprise bench` reaches the keeper.
#[doc(hidden)]
pub use analytics::recall_weeks as weekly_recall;
