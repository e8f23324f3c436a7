//! The benchmark's figures: a table on stdout and `target/bench/latest.json`.

use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    #[serde(skip)]
    pub name: String,
    pub requests: u64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    /// Answers taken as practice rather than counted: 0 in a valid run (see `load::Outcome`).
    pub practice_answers: u64,
    /// What the baseline measures.
    pub baseline: String,
    pub baseline_per_s: f64,
    pub ratio_to_baseline: f64,
    pub peak_rss_bytes: u64,
    /// Server CPU time per request: less sensitive than throughput to other load on the machine.
    pub server_cpu_ms_per_request: f64,
}

pub fn print_table(results: &[ScenarioResult]) {
    println!(
        "{:<22} {:>10} {:>8} {:>8} {:>7} {:>12} {:>7} {:>9} {:>8}  baseline",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "baseline/s",
        "ratio",
        "peak RSS",
        "cpu ms"
    );
    for r in results {
        println!(
            "{:<22} {:>10.0} {:>8.2} {:>8.2} {:>7} {:>12.0} {:>6.0}% {:>6.1} MB {:>8.3}  {}",
            r.name,
            r.requests_per_s,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            r.baseline_per_s,
            r.ratio_to_baseline * 100.0,
            r.peak_rss_bytes as f64 / 1_048_576.0,
            r.server_cpu_ms_per_request,
            r.baseline
        );
    }
}

/// `$CARGO_TARGET_DIR/bench/latest.json`, else `target/bench/latest.json`.
pub fn json_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench").join("latest.json")
}

/// Writes one object per scenario, keyed by its name.
pub fn write_json(results: &[ScenarioResult]) -> anyhow::Result<PathBuf> {
    let mut map = serde_json::Map::new();
    for r in results {
        map.insert(r.name.clone(), serde_json::to_value(r)?);
    }
    let path = json_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&map)? + "\n")?;
    Ok(path)
}
