//! HTTP integration tests: each test starts the real server on port 0 with its own database
//! (SQLite by default; PostgreSQL when `REPRISE_TEST_DATABASE_URL` is set).

mod helpers;

mod access;
mod accounts;
mod analytics;
mod audit;
mod console;
mod content;
mod crash;
mod credentials;
mod data_rights;
mod demo;
mod digest;
mod egress;
mod errors;
mod experiments;
mod extremes;
mod item_analysis;
mod leaderboards;
mod learner;
mod media;
mod observations;
mod openapi;
mod operations;
mod pitches;
mod planner;
mod practice;
mod progress;
mod question_banks;
mod races;
mod reach;
mod read_replica;
mod refreshers;
mod reviews;
mod roster;
mod scim;
mod security;
mod sso;
mod sso_saml;
mod storage;
mod webhooks;
mod xapi;
