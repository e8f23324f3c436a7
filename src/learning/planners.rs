//! The planner's tables, built once per settings and shared by every answer that needs them.
//!
//! Building the tables is a dynamic programme over a grid of memory states (a fraction of a
//! second in a release build, seconds in a debug one); answering with them is a handful of table
//! reads. The tables are a pure function of their settings (FSRS parameters, horizon, price,
//! option count), so one memo per process serves every worker, the demo's replays and the CLI
//! alike, and can never be stale: settings that change make a new key. Few distinct keys exist
//! (an organization's parameters × its assignments' horizons × option counts); the memo is
//! bounded anyway and starts afresh when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::domain::scheduler::{Horizon, Planner, PlannerSettings, DEFAULT_PRICE};

/// More distinct settings than this and the memo starts afresh.
const MAX_KEPT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    parameters: Vec<u32>,
    horizon: Horizon,
    options: u8,
}

fn memo() -> &'static Mutex<HashMap<Key, Arc<Planner>>> {
    static MEMO: OnceLock<Mutex<HashMap<Key, Arc<Planner>>>> = OnceLock::new();
    MEMO.get_or_init(Mutex::default)
}

/// The planner for `parameters` (empty: FSRS-6's defaults), `horizon` and questions with
/// `options` options, at the default price.
pub fn planner_for(parameters: &[f32], horizon: Horizon, options: u8) -> Arc<Planner> {
    let key = Key {
        parameters: parameters.iter().map(|p| p.to_bits()).collect(),
        horizon,
        options,
    };
    if let Some(p) = memo().lock().expect("memo lock").get(&key) {
        return Arc::clone(p);
    }
    // Built outside the lock: two workers may build the same tables once each, which is cheaper
    // than making every other answer wait behind one build.
    let planner = Arc::new(Planner::build(&PlannerSettings {
        parameters: parameters.to_vec(),
        horizon,
        price: DEFAULT_PRICE,
        options: vec![options],
    }));
    let mut memo = memo().lock().expect("memo lock");
    if memo.len() >= MAX_KEPT {
        memo.clear();
    }
    Arc::clone(memo.entry(key).or_insert(planner))
}
