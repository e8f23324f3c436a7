//! `reprise simulate --grid`: the whole equal-effort comparison the memory-model manual prints,
//! reproducibly (every truth × option count × daily budget × baseline, the planner held to each
//! baseline's questions per nugget), plus the target-date comparison.

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;

use super::policies::SimPolicy;
use super::report::PolicyReport;
use super::run::{calibrate, run, SimConfig};
use super::truth::Truth;

/// What the grid covers.
#[derive(Debug, Clone)]
pub struct GridSpec {
    pub base: SimConfig,
    pub truths: Vec<(String, Truth)>,
    pub baselines: Vec<SimPolicy>,
    pub options: Vec<u8>,
    pub budgets: Vec<usize>,
    /// The "ready by" day of the target-date comparison (run at the base options and budget).
    pub target_day: u32,
}

impl GridSpec {
    /// The grid: qstream-21-42, qstream-8-16 and fsrs:0.8; 2, 4 and 5 options; budgets
    /// of 2, 3 and 5 a day; target date day 60.
    pub fn standard(base: SimConfig, truths: Vec<(String, Truth)>) -> Self {
        Self {
            base,
            truths,
            baselines: ["qstream-21-42", "qstream-8-16", "fsrs:0.8"]
                .iter()
                .map(|p| p.parse().expect("known policy"))
                .collect(),
            options: vec![2, 4, 5],
            budgets: vec![2, 3, 5],
            target_day: 60,
        }
    }
}

/// One baseline and the planner at its effort.
#[derive(Debug, Clone)]
pub struct GridRow {
    pub truth: String,
    pub options: u8,
    pub budget: usize,
    pub baseline: PolicyReport,
    pub planner: PolicyReport,
}

#[derive(Debug, Clone, Default)]
pub struct GridResult {
    pub rows: Vec<GridRow>,
    /// Same rows, with the planner aiming at `target_day`.
    pub target_rows: Vec<GridRow>,
}

/// Runs the grid on two threads (rows are independent and seeded, so the result does not depend
/// on the order they finish in); `progress` gets a line per row.
pub fn run_grid(spec: &GridSpec, progress: impl Fn(&str) + Sync) -> GridResult {
    let mut jobs: Vec<(usize, SimConfig, bool, &SimPolicy)> = Vec::new();
    for (t, _) in spec.truths.iter().enumerate() {
        for &options in &spec.options {
            for &budget in &spec.budgets {
                for baseline in &spec.baselines {
                    let config = SimConfig {
                        options,
                        budget,
                        target_day: None,
                        ..spec.base.clone()
                    };
                    jobs.push((t, config, false, baseline));
                }
            }
        }
        for baseline in &spec.baselines {
            let config = SimConfig {
                target_day: Some(spec.target_day),
                ..spec.base.clone()
            };
            jobs.push((t, config, true, baseline));
        }
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<GridRow>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some((t, config, target, baseline)) = jobs.get(i) else {
                    break;
                };
                let (name, truth) = &spec.truths[*t];
                let row = versus(config, name, truth, baseline);
                let prefix = if *target {
                    format!("target day {}: ", spec.target_day)
                } else {
                    String::new()
                };
                progress(&format!(
                    "[{}/{}] {prefix}{}",
                    i + 1,
                    jobs.len(),
                    line(&row)
                ));
                done.lock().expect("no panics while holding the lock")[i] = Some(row);
            });
        }
    });
    let mut result = GridResult::default();
    let rows = done.into_inner().expect("no panics while holding the lock");
    for ((_, _, target, _), row) in jobs.iter().zip(rows) {
        let row = row.expect("every job ran");
        if *target {
            result.target_rows.push(row);
        } else {
            result.rows.push(row);
        }
    }
    result
}

fn versus(config: &SimConfig, name: &str, truth: &Truth, baseline: &SimPolicy) -> GridRow {
    let base = run(config, truth, baseline);
    let (_, mut planner) = calibrate(config, truth, base.questions_per_nugget);
    planner.policy = format!("planner:{:.2}", base.questions_per_nugget);
    GridRow {
        truth: name.to_owned(),
        options: config.options,
        budget: config.budget,
        baseline: base,
        planner,
    }
}

fn line(row: &GridRow) -> String {
    format!(
        "{} K={} budget={} {}: {:.3} q/nugget {:.4} | planner {:.3} q/nugget {:.4} ({:+.1} points)",
        row.truth,
        row.options,
        row.budget,
        row.baseline.policy,
        row.baseline.questions_per_nugget,
        row.baseline.mean_recall_window,
        row.planner.questions_per_nugget,
        row.planner.mean_recall_window,
        points(row)
    )
}

/// Planner minus baseline mean window recall, in percentage points.
pub fn points(row: &GridRow) -> f64 {
    100.0 * (row.planner.mean_recall_window - row.baseline.mean_recall_window)
}

/// The manual's tables.
pub fn markdown(spec: &GridSpec, result: &GridResult) -> String {
    let mut out = String::from(
        "| truth | options | budget | baseline | questions per nugget | baseline recall | planner questions | planner recall | difference (points) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &result.rows {
        out += &format!(
            "| {} | {} | {} | {} | {:.2} | {:.3} | {:.2} | {:.3} | {:+.1} |\n",
            r.truth,
            r.options,
            r.budget,
            r.baseline.policy,
            r.baseline.questions_per_nugget,
            r.baseline.mean_recall_window,
            r.planner.questions_per_nugget,
            r.planner.mean_recall_window,
            points(r)
        );
    }
    let day = spec.target_day;
    out += &format!(
        "\n| truth | baseline | questions per nugget | baseline recall on day {day} | planner (target day {day}) recall on day {day} | difference (points) |\n|---|---|---|---|---|---|\n"
    );
    for r in &result.target_rows {
        let at = |p: &PolicyReport| p.recall_at.get(day).unwrap_or(f64::NAN);
        out += &format!(
            "| {} | {} | {:.2} | {:.3} | {:.3} | {:+.1} |\n",
            r.truth,
            r.baseline.policy,
            r.baseline.questions_per_nugget,
            at(&r.baseline),
            at(&r.planner),
            100.0 * (at(&r.planner) - at(&r.baseline))
        );
    }
    out
}
