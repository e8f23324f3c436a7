//! Reprise: reinforcement after sales training. The library builds the whole service so that the
//! binary and the integration tests start exactly the same thing.

pub mod accounts;
pub mod analytics;
pub mod answer_log;
pub mod assignments;
pub mod auth;
pub mod authoring;
pub mod backup;
pub mod blobs;
pub mod catalog_files;
pub mod clock;
pub mod coaching;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod experiments;
pub mod forwarder;
pub mod http;
pub mod leaderboards;
pub mod learning;
pub mod memory_model;
pub mod observations;
pub mod offload;
pub mod outbound;
pub mod pitches;
pub mod progress;
pub mod reach;
pub mod refreshers;
pub mod secrets;
pub mod sso;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod webhooks;
