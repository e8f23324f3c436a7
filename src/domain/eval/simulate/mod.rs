//! `reprise simulate`: a seeded referee that compares scheduling policies at equal effort.
//!
//! A population of learners is trained on every nugget on day 0 (the training event), then each
//! policy asks at most a daily budget of multiple-choice questions per learner. The learners'
//! true memory ([`truth`]) follows FSRS-6 with per-learner and per-nugget spread the policies do
//! not know; policies ([`policies`]) see only right/wrong answers, guesses included. [`run`]
//! measures what HR reads: mean true recall over a window of days, and the questions it cost;
//! [`report`] prints it. Why a referee: a policy that asks more will remember more, so only a
//! comparison at the same questions per nugget (`planner:Q`) says which spends attention better.

pub mod grid;
pub mod policies;
pub mod report;
pub mod run;
pub mod truth;

pub use policies::{parse_list, SimPolicy};
pub use report::{table, PolicyReport, RecallAt, Reports};
pub use run::{calibrate, run, SimConfig};
pub use truth::{fitted_groups, Truth, TruthGroup};

#[cfg(test)]
mod tests;
