//! `reprise bench --analytics`: every analytics view timed over HTTP on a generated organization
//! at scale, against a 1 s budget per view and a baseline measured in the same run.
//!
//! For each engine (SQLite, and PostgreSQL when `REPRISE_BENCH_DATABASE_URL` names a server):
//! the organization of `reprise demo` (the same generator), one pass of the database over its
//! answers through the store layer (the baseline: no view that reads every answer can beat it),
//! then `reprise serve` as a child process on it and each view requested `repeat` times one after
//! the other on one keep-alive connection as the organization's analyst.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{load, server, PgDatabase};
use reprise::analytics::recall_weeks;
use reprise::auth::jwt::TokenKeys;
use reprise::demo::scale;
use reprise::domain::accounts::Role;
use reprise::domain::ids::{OrgId, UserId};
use reprise::store::accounts::FIRST_AUTH_VERSION;
use reprise::store::{self, analytics as analytics_store, SqliteSync};

pub struct Options {
    pub learners: usize,
    pub nuggets: usize,
    pub days: u32,
    /// Requests per view.
    pub repeat: usize,
    /// Skip the SQLite run.
    pub postgres_only: bool,
}

/// The budget of one view (issue: "< 1 s per view" at 10,000 learners × 200 nuggets).
pub const TARGET_MS: f64 = 1000.0;
/// Slow views at scale take tens of seconds; only a hung server should hit this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(900);
/// Requests of the `GET /api/v1/me` reference.
const ME_REQUESTS: usize = 20;

/// The views timed: name in the report, and the request.
const VIEWS: &[(&str, &str)] = &[
    (
        "proficiency_team",
        "/api/v1/analytics/proficiency?group_by=team",
    ),
    (
        "proficiency_learner",
        "/api/v1/analytics/proficiency?group_by=learner",
    ),
    ("heatmap", "/api/v1/analytics/heatmap?rows=team"),
    (
        "knowledge_gain",
        "/api/v1/analytics/knowledge-gain?group_by=pack",
    ),
    ("retention_curve", "/api/v1/analytics/retention-curve"),
    (
        "forgetting_risk",
        "/api/v1/analytics/forgetting-risk?threshold=0.8&days=7",
    ),
    ("engagement", "/api/v1/analytics/engagement?weeks=8"),
    ("trends", "/api/v1/analytics/trends?weeks=12"),
    ("kpi_correlation", "/api/v1/analytics/kpi-correlation"),
    (
        "heatmap_learner_csv",
        "/api/v1/analytics/heatmap?rows=learner&format=csv",
    ),
];

/// One view's figures, as written to `latest.json` under `analytics_<name>`.
#[derive(Debug, Clone, Serialize)]
pub struct ViewResult {
    #[serde(skip)]
    pub name: String,
    pub path: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Size of the response body.
    pub bytes: usize,
    pub target_ms: f64,
    pub within_target: bool,
    /// Median over the budget: 0.42 is 42 % of the 1 s.
    pub share_of_target: f64,
    pub baseline: String,
    pub baseline_ms: f64,
    pub ratio_to_baseline: f64,
    pub peak_rss_bytes: u64,
    pub errors: u64,
}

/// One engine's run: the organization and the baselines, written under `analytics_run`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    #[serde(skip)]
    pub name: String,
    pub engine: String,
    pub learners: usize,
    pub nuggets: usize,
    pub days: u32,
    pub repeat: usize,
    pub generation_s: f64,
    pub memory_states: usize,
    pub reviews: usize,
    /// Median of one in-database pass over the organization's answers (store layer, in-process).
    pub scan_baseline_ms: f64,
    /// Median of `GET /api/v1/me` as the analyst over HTTP.
    pub me_baseline_ms: f64,
    /// `/proc/loadavg` (1, 5, 15 min) at the end of the run.
    pub load_average: String,
}

/// Median of the samples (mean of the middle two for an even count); 0 for none.
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// How much of the budget a time uses, for the report: "0.42 of budget", "3.10 of budget, OVER".
pub fn budget_note(ms: f64, target_ms: f64) -> String {
    let share = ms / target_ms;
    if ms <= target_ms {
        format!("{share:.2} of budget")
    } else {
        format!("{share:.2} of budget, OVER")
    }
}

/// A byte count for people: "812 B", "12.3 kB", "4.1 MB".
pub fn human_bytes(n: usize) -> String {
    let n = n as f64;
    if n < 1000.0 {
        format!("{n:.0} B")
    } else if n < 1_000_000.0 {
        format!("{:.1} kB", n / 1000.0)
    } else {
        format!("{:.1} MB", n / 1_000_000.0)
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Runs the views on every engine, prints the table and adds the figures to
/// `target/bench/latest.json`. Returns false when any request failed.
pub fn run(opts: &Options) -> anyhow::Result<bool> {
    let dir = tempfile::Builder::new()
        .prefix("reprise-bench-analytics-")
        .tempdir()?;
    println!(
        "reprise bench --analytics: {} learners × {} nuggets, {} days of answers, {} requests per \
         view, target {:.0} ms per view, {} cores, load average {}",
        opts.learners,
        opts.nuggets,
        opts.days,
        opts.repeat,
        TARGET_MS,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    let mut views = Vec::new();
    let mut runs = Vec::new();
    let postgres = std::env::var("REPRISE_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if opts.postgres_only && postgres.is_none() {
        anyhow::bail!("--postgres-only needs REPRISE_BENCH_DATABASE_URL");
    }
    if !opts.postgres_only {
        let sqlite_url = dir.path().join("analytics.db").display().to_string();
        let (v, r) = engine(opts, &sqlite_url, dir.path(), "")?;
        views.extend(v);
        runs.push(r);
    }
    if let Some(admin) = postgres {
        let db = PgDatabase::create(&admin)?;
        let (v, r) = engine(opts, &db.url, dir.path(), "_postgres")?;
        views.extend(v);
        runs.push(r);
    }
    println!();
    print_table(&views, &runs);
    let path = write_json(&views, &runs)?;
    println!("\nadded to {}", path.display());
    let over = views.iter().filter(|v| !v.within_target).count();
    if over > 0 {
        println!(
            "{over} of {} views over the {TARGET_MS:.0} ms target",
            views.len()
        );
    }
    let failed: u64 = views.iter().map(|v| v.errors).sum();
    if failed > 0 {
        eprintln!("{failed} requests failed");
    }
    Ok(failed == 0)
}

/// The organization, the baselines and the views on one engine.
fn engine(
    opts: &Options,
    url: &str,
    dir: &std::path::Path,
    suffix: &str,
) -> anyhow::Result<(Vec<ViewResult>, RunSummary)> {
    let engine = match store::Backend::of_url(url) {
        store::Backend::Sqlite => "SQLite",
        store::Backend::Postgres => "PostgreSQL",
    };
    let pool = store::connect(url, 2, SqliteSync::Normal)?;
    store::migrate(&mut *pool.get()?)?;
    let plan = scale::Plan {
        learners: opts.learners,
        nuggets: opts.nuggets,
        days: opts.days,
        org_slug: "bench-analytics".into(),
        seed: 2024,
    };
    let started = Instant::now();
    let mut last = 0;
    let org = scale::generate(&pool, &plan, chrono::Utc::now(), |done, total| {
        if done * 10 / total != last {
            last = done * 10 / total;
            eprintln!(
                "  {engine}: {done}/{total} learners ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    let generation_s = started.elapsed().as_secs_f64();
    println!(
        "{engine}: generated {} learners × {} nuggets × {} days in {generation_s:.1} s: \
         {} memory states, {} answers",
        opts.learners, opts.nuggets, opts.days, org.memory_states, org.reviews
    );

    let mut scans = Vec::new();
    {
        let conn = &mut pool.get()?;
        // The trends view reads weekly recall snapshots, which the server's background task
        // keeps; the generator writes them complete, and this pass (what the task would do)
        // makes sure, so the timings are of the steady state and not of a first replay.
        let t = Instant::now();
        let filled =
            recall_weeks::refresh_org(conn, &OrgId::from(org.org_id.as_str()), chrono::Utc::now())?;
        println!(
            "{engine}: weekly recall snapshots complete ({} weeks and {} learners filled in \
             {:.1} s)",
            filled.weeks,
            filled.learners,
            t.elapsed().as_secs_f64()
        );
        for _ in 0..opts.repeat {
            let t = Instant::now();
            analytics_store::count_correct_answers(conn, &OrgId::from(org.org_id.as_str()))?;
            scans.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    drop(pool);
    let scan_ms = median(&scans);
    println!("{engine}: baseline, one in-database pass over the answers: {scan_ms:.1} ms");

    let secret = hex::encode(rand::random::<[u8; 32]>());
    let mut server = server::Server::start(
        url,
        &secret,
        &dir.join(format!("analytics-server{suffix}.log")),
    )?;
    let keys = TokenKeys::new(secret.as_bytes(), 24 * 3600);
    let token = keys.issue(
        &UserId::from(org.analyst_id.as_str()),
        &OrgId::from(org.org_id.as_str()),
        Role::Analyst,
        FIRST_AUTH_VERSION,
        chrono::Utc::now().timestamp(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let addr = server.addr;
    let mut sender = None;
    let mut get = |path: &str| -> anyhow::Result<(f64, hyper::StatusCode, bytes::Bytes)> {
        let t = Instant::now();
        let (status, body) = rt
            .block_on(async {
                tokio::time::timeout(
                    REQUEST_TIMEOUT,
                    load::send(
                        addr,
                        &mut sender,
                        hyper::Method::GET,
                        path,
                        Some(&token),
                        None,
                    ),
                )
                .await
            })
            .map_err(|_| anyhow::anyhow!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))??;
        Ok((t.elapsed().as_secs_f64() * 1000.0, status, body))
    };

    let mut me = Vec::new();
    for _ in 0..ME_REQUESTS {
        let (ms, status, body) = get("/api/v1/me")?;
        if !status.is_success() {
            anyhow::bail!(
                "GET /api/v1/me as the analyst: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        me.push(ms);
    }
    let me_ms = median(&me);
    println!("{engine}: reference, GET /api/v1/me over HTTP: {me_ms:.2} ms");

    let baseline = "in-database pass over the answers".to_string();
    let mut results = Vec::new();
    for (name, path) in VIEWS {
        server.reset_peak_rss();
        let mut times = Vec::new();
        let mut bytes = 0;
        let mut errors = 0;
        for _ in 0..opts.repeat {
            match get(path) {
                Ok((ms, status, body)) if status.is_success() => {
                    times.push(ms);
                    bytes = body.len();
                }
                Ok((_, status, body)) => {
                    errors += 1;
                    let text = String::from_utf8_lossy(&body);
                    eprintln!(
                        "{engine}: GET {path}: {status} {}",
                        text.chars().take(300).collect::<String>()
                    );
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("{engine}: GET {path}: {e}");
                }
            }
        }
        let median_ms = median(&times);
        let r = ViewResult {
            name: format!("analytics_{name}{suffix}"),
            path: path.to_string(),
            runs: times.len(),
            median_ms,
            min_ms: times.iter().copied().reduce(f64::min).unwrap_or(0.0),
            max_ms: times.iter().copied().fold(0.0, f64::max),
            bytes,
            target_ms: TARGET_MS,
            within_target: errors == 0 && median_ms <= TARGET_MS,
            share_of_target: median_ms / TARGET_MS,
            baseline: baseline.clone(),
            baseline_ms: scan_ms,
            ratio_to_baseline: median_ms / scan_ms.max(0.001),
            peak_rss_bytes: server.peak_rss_bytes(),
            errors,
        };
        if r.runs == 0 {
            println!("{engine}: {name:<22} failed");
        } else {
            println!(
                "{engine}: {name:<22} median {:>9.1} ms (min {:.1}), {:>9}, {:.1}× baseline, \
                 peak RSS {:.0} MB, {}",
                r.median_ms,
                r.min_ms,
                human_bytes(r.bytes),
                r.ratio_to_baseline,
                r.peak_rss_bytes as f64 / 1_048_576.0,
                budget_note(r.median_ms, TARGET_MS)
            );
        }
        results.push(r);
    }
    if results.iter().any(|r| r.errors > 0) {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    let summary = RunSummary {
        name: format!("analytics_run{suffix}"),
        engine: engine.into(),
        learners: opts.learners,
        nuggets: opts.nuggets,
        days: opts.days,
        repeat: opts.repeat,
        generation_s,
        memory_states: org.memory_states,
        reviews: org.reviews,
        scan_baseline_ms: scan_ms,
        me_baseline_ms: me_ms,
        load_average: load_average(),
    };
    Ok((results, summary))
}

fn print_table(views: &[ViewResult], runs: &[RunSummary]) {
    for r in runs {
        println!(
            "{:<12} {} memory states, {} answers, generated in {:.1} s; baseline {:.1} ms \
             (answer pass), GET /api/v1/me {:.2} ms; load average {}",
            r.engine,
            r.memory_states,
            r.reviews,
            r.generation_s,
            r.scan_baseline_ms,
            r.me_baseline_ms,
            r.load_average
        );
    }
    println!(
        "{:<40} {:>10} {:>10} {:>10} {:>10} {:>9}  budget",
        "view", "median ms", "min ms", "size", "×baseline", "peak RSS"
    );
    for v in views {
        println!(
            "{:<40} {:>10.1} {:>10.1} {:>10} {:>10.1} {:>6.0} MB  {}",
            v.name,
            v.median_ms,
            v.min_ms,
            human_bytes(v.bytes),
            v.ratio_to_baseline,
            v.peak_rss_bytes as f64 / 1_048_576.0,
            if v.errors > 0 {
                format!("{} errors", v.errors)
            } else {
                budget_note(v.median_ms, v.target_ms)
            }
        );
    }
}

/// Adds the figures to `latest.json` (keeping the load scenarios of an earlier run, replacing
/// any earlier analytics figures).
fn write_json(views: &[ViewResult], runs: &[RunSummary]) -> anyhow::Result<std::path::PathBuf> {
    let path = super::report::json_path();
    let mut map = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s).ok())
        .unwrap_or_default();
    map.retain(|k, _| !k.starts_with("analytics_"));
    for r in runs {
        map.insert(r.name.clone(), serde_json::to_value(r)?);
    }
    for v in views {
        map.insert(v.name.clone(), serde_json::to_value(v)?);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&map)? + "\n")?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_no_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.5]), 7.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn budget_note_flags_views_over_target() {
        assert_eq!(budget_note(420.0, 1000.0), "0.42 of budget");
        assert_eq!(budget_note(1000.0, 1000.0), "1.00 of budget");
        assert_eq!(budget_note(3100.0, 1000.0), "3.10 of budget, OVER");
    }

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(12_345), "12.3 kB");
        assert_eq!(human_bytes(4_100_000), "4.1 MB");
    }
}
